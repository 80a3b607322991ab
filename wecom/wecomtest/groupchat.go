package wecomtest

import (
	"time"

	"github.com/wecom-transfer/wecom-transfer/generated/server"
)

// dailyChatLimit is the number of one owner's group chats that may get a new
// owner per natural day, by either group transfer call.
const dailyChatLimit = 300

// chinaTime is UTC+8 without a zoneinfo lookup. WeCom's natural days are
// days in China Standard Time, which has no daylight saving.
var chinaTime = time.FixedZone("CST", 8*60*60)

// chatTransferRequest is the body of groupchat/onjob_transfer or
// groupchat/transfer.
type chatTransferRequest struct {
	resigned bool // groupchat/transfer
	chatIDs  []string
	newOwner string
}

// transferGroupChats runs a group chat transfer at now. It returns a
// call-level error or the chats that failed; chats that moved are left out,
// as WeCom does. Chats move at once: WeCom documents no delay for them.
func (c *Corp) transferGroupChats(now time.Time, req chatTransferRequest) ([]server.GroupChatFailure, *apiError) {
	c.mu.Lock()
	defer c.mu.Unlock()

	owner := c.members[req.newOwner]
	if owner == nil {
		return nil, newAPIErrorf(codeUserNotFound, "new_owner %s", req.newOwner)
	}
	if owner.resigned() {
		return nil, newAPIErrorf(codeUserNotFound, "new_owner %s has resigned", req.newOwner)
	}

	failed := []server.GroupChatFailure{}
	for _, id := range req.chatIDs {
		g := c.chats[id]
		code := c.checkChat(now, g, req)
		if code != codeOK {
			failed = append(failed, server.GroupChatFailure{ChatID: id, ErrCode: code, ErrMsg: errorText(code)})
			continue
		}
		c.chatDaily[dailyKey{owner: g.Owner, day: now.In(chinaTime).Format(time.DateOnly)}]++
		g.TransferredAt = append(g.TransferredAt, now)
		g.Owner = req.newOwner
		g.inherited = req.resigned
	}
	return failed, nil
}

// checkChat returns the per-chat errcode of one requested chat.
func (c *Corp) checkChat(now time.Time, g *groupChat, req chatTransferRequest) int {
	if g == nil || g.NotCustomerGroup {
		// An id the corp does not know cannot be a customer group either;
		// WeCom documents no separate code for it.
		return codeNotCustomerGroup
	}
	ownerResigned := c.members[g.Owner].resigned()
	switch {
	case req.resigned && !ownerResigned && g.inherited:
		return codeChatInherited
	case req.resigned && !ownerResigned:
		return codeOwnerNotResigned
	case !req.resigned && ownerResigned:
		return codeOwnerResigned
	case g.Owner == req.newOwner:
		return codeOwnerUnchanged
	case !req.resigned && countSince(g.TransferredAt, now.Add(-repeatWindow)) >= repeatLimit:
		// WeCom documents the two-per-90-days rule for chats without its
		// errcode. The sandbox uses the customer rule's 40128 (unconfirmed).
		return codeTransferTooOften
	case c.chatDaily[dailyKey{owner: g.Owner, day: now.In(chinaTime).Format(time.DateOnly)}] >= dailyChatLimit:
		// Unconfirmed: WeCom documents the cap of 300 chats per owner per
		// day without its errcode. The sandbox reports 45009 (call
		// frequency exceeded) on each chat over the cap.
		return codeRateLimited
	}
	return codeOK
}

// groupChatOwner returns the chat's owner and status.
func (c *Corp) groupChatOwner(chatID string) (owner string, status server.GroupChatStatus, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.chats[chatID]
	if g == nil {
		return "", 0, false
	}
	return g.Owner, c.chatStatus(g), true
}
