package wecomtest

import (
	"sort"
	"time"

	"github.com/wecom-transfer/wecom-transfer/generated/server"
)

// defaultUnassignedPageSize is the get_unassigned_list page size when the
// request leaves page_size out; it is also the maximum.
const defaultUnassignedPageSize = 1000

// externalContacts returns every customer of an employed member, for
// externalcontact/list.
func (c *Corp) externalContacts(now time.Time, userID string) ([]string, *apiError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settle(now)

	m := c.members[userID]
	if m == nil {
		return nil, newAPIErrorf(codeUserNotFound, "userid %s", userID)
	}
	if m.resigned() {
		// Unconfirmed: WeCom's 60111 text includes members who left the
		// corp, so the sandbox treats a resigned member as unknown here.
		// Their customers are listed by get_unassigned_list.
		return nil, newAPIErrorf(codeUserNotFound, "userid %s has resigned", userID)
	}
	rels := m.liveRelations()
	if len(rels) == 0 {
		return nil, newAPIError(codeNoExternalContacts)
	}
	ids := make([]string, len(rels))
	for i, r := range rels {
		ids[i] = r.ext
	}
	return ids, nil
}

// unassignedCursor is the position after the last row of a
// get_unassigned_list page: rows are ordered by member userid, then by the
// member's relation seq.
type unassignedCursor struct {
	userID string
	seq    int64
}

// unassigned returns up to pageSize (resigned member, customer) pairs after
// the cursor for get_unassigned_list. A customer drops out of the list while
// a transfer of it is pending and after it completes. One whose takeover hit
// the member limit comes back. next is nil after the last page.
//
// A key cursor, not an offset, keeps paging correct while a client assigns
// the customers of earlier pages between calls.
func (c *Corp) unassigned(now time.Time, after unassignedCursor, pageSize int) (rows []server.UnassignedCustomer, next *unassignedCursor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settle(now)

	ids := c.sortedMemberIDs((*member).resigned)
	start := sort.SearchStrings(ids, after.userID)
	for _, id := range ids[start:] {
		m := c.members[id]
		rels := m.relations
		if id == after.userID {
			rels = rels[sort.Search(len(rels), func(i int) bool { return rels[i].seq > after.seq }):]
		}
		for _, r := range rels {
			if r.removed || c.customers[r.ext].transfer != nil {
				continue
			}
			if len(rows) == pageSize {
				// after is the last row returned, and one more row exists.
				return rows, &after
			}
			rows = append(rows, server.UnassignedCustomer{
				HandoverUserID: id,
				ExternalUserID: r.ext,
				DimissionTime:  m.ResignedAt.Unix(),
			})
			after = unassignedCursor{userID: id, seq: r.seq}
		}
	}
	return rows, nil
}

// chatStatus returns the inheritance state that groupchat/list reports.
// The sandbox moves chats at once, so it never reports 2 (in progress).
func (c *Corp) chatStatus(g *groupChat) server.GroupChatStatus {
	switch {
	case c.members[g.Owner].resigned():
		return server.GroupChatStatusOwnerResigned
	case g.inherited:
		return server.GroupChatStatusInherited
	}
	return server.GroupChatStatusNormal
}

// groupChatFilter is the body of groupchat/list without its cursor.
type groupChatFilter struct {
	owners []string // empty lists every owner
	status server.GroupChatStatus
	limit  int
}

// groupChats returns a page of chats starting at offset, in the order they
// were added. next is the offset of the following page, or -1 after the last
// one.
//
// WeCom lists customer group chats only. The sandbox lists the chats marked
// NotCustomerGroup too, so a client that transfers every listed chat meets
// errcode 90501 as it would for chat ids taken from elsewhere.
func (c *Corp) groupChats(f groupChatFilter, offset int) (rows []server.GroupChatSummary, next int, err *apiError) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if offset > len(c.chatOrder) {
		return nil, 0, newAPIErrorf(codeInvalidParameter, "cursor")
	}
	owners := make(map[string]bool, len(f.owners))
	for _, id := range f.owners {
		owners[id] = true
	}
	for i := offset; i < len(c.chatOrder); i++ {
		g := c.chatOrder[i]
		status := c.chatStatus(g)
		if len(owners) > 0 && !owners[g.Owner] {
			continue
		}
		if f.status != server.GroupChatStatusNormal && status != f.status {
			continue
		}
		if len(rows) == f.limit {
			return rows, i, nil
		}
		rows = append(rows, server.GroupChatSummary{ChatID: g.ChatID, Status: status})
	}
	return rows, -1, nil
}
