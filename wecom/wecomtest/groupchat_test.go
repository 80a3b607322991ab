package wecomtest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecom-transfer/wecom-transfer/generated/server"
)

// Chats of the corp that newChatCorp builds.
const (
	chatActive           = "wrTestActive0"   // employed owner
	chatActive2          = "wrTestActive1"   // employed owner
	chatInternal         = "wrTestInternal0" // employed owner, not a customer group
	chatTwice            = "wrTestTwice0"    // employed owner, two transfers in 90 days
	chatResigned         = "wrTestResigned0" // resigned owner
	chatResigned2        = "wrTestResigned1" // resigned owner
	chatResignedInternal = "wrTestResigned2" // resigned owner, not a customer group
	chatUnknown          = "wrTestNoSuchChat"
)

// newChatCorp returns newTestCorp with group chats: employedA owns the
// chatActive ones, resignedR the chatResigned ones.
func newChatCorp() *Corp {
	c := newTestCorp()
	day := 24 * time.Hour
	c.AddGroupChat(GroupChat{ChatID: chatActive, Owner: employedA})
	c.AddGroupChat(GroupChat{ChatID: chatActive2, Owner: employedA})
	c.AddGroupChat(GroupChat{ChatID: chatInternal, Owner: employedA, NotCustomerGroup: true})
	c.AddGroupChat(GroupChat{ChatID: chatTwice, Owner: employedA, TransferredAt: []time.Time{testEpoch.Add(-80 * day), testEpoch.Add(-day)}})
	c.AddGroupChat(GroupChat{ChatID: chatResigned, Owner: resignedR})
	c.AddGroupChat(GroupChat{ChatID: chatResigned2, Owner: resignedR})
	c.AddGroupChat(GroupChat{ChatID: chatResignedInternal, Owner: resignedR, NotCustomerGroup: true})
	return c
}

func TestGroupChatTransferRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		path      string
		newOwner  string
		chats     []string
		wantCall  int
		wantFails map[string]int
		wantOwner map[string]string // owners afterwards
	}{
		{
			name: "on-job moves employed owner's chat", path: pathOnJobChats, newOwner: employedB,
			chats: []string{chatActive}, wantFails: map[string]int{},
			wantOwner: map[string]string{chatActive: employedB},
		},
		{
			name: "on-job resigned owner", path: pathOnJobChats, newOwner: employedB,
			chats: []string{chatResigned, chatActive}, wantFails: map[string]int{chatResigned: 90502},
			wantOwner: map[string]string{chatResigned: resignedR, chatActive: employedB},
		},
		{
			name: "on-job not a customer group", path: pathOnJobChats, newOwner: employedB,
			chats: []string{chatInternal, chatUnknown}, wantFails: map[string]int{chatInternal: 90501, chatUnknown: 90501},
			wantOwner: map[string]string{chatInternal: employedA},
		},
		{
			name: "on-job twice in 90 days", path: pathOnJobChats, newOwner: employedB,
			chats: []string{chatTwice}, wantFails: map[string]int{chatTwice: 40128},
			wantOwner: map[string]string{chatTwice: employedA},
		},
		{
			name: "on-job same owner", path: pathOnJobChats, newOwner: employedA,
			chats: []string{chatActive}, wantFails: map[string]int{chatActive: 90504},
		},
		{
			name: "on-job unknown new owner", path: pathOnJobChats, newOwner: "nobody",
			chats: []string{chatActive}, wantCall: 60111,
			wantOwner: map[string]string{chatActive: employedA},
		},
		{
			name: "on-job resigned new owner", path: pathOnJobChats, newOwner: resignedR2,
			chats: []string{chatActive}, wantCall: 60111,
		},
		{
			name: "resigned moves resigned owner's chat", path: pathResignedChats, newOwner: employedB,
			chats: []string{chatResigned}, wantFails: map[string]int{},
			wantOwner: map[string]string{chatResigned: employedB},
		},
		{
			name: "resigned employed owner", path: pathResignedChats, newOwner: employedB,
			chats: []string{chatActive, chatResigned}, wantFails: map[string]int{chatActive: 90500},
			wantOwner: map[string]string{chatActive: employedA, chatResigned: employedB},
		},
		{
			name: "resigned not a customer group", path: pathResignedChats, newOwner: employedB,
			chats: []string{chatResignedInternal, chatUnknown}, wantFails: map[string]int{chatResignedInternal: 90501, chatUnknown: 90501},
		},
		{
			name: "resigned same chat twice", path: pathResignedChats, newOwner: employedB,
			chats: []string{chatResigned, chatResigned}, wantFails: map[string]int{chatResigned: 90508},
			wantOwner: map[string]string{chatResigned: employedB},
		},
		{
			name: "resigned resigned new owner", path: pathResignedChats, newOwner: resignedR2,
			chats: []string{chatResigned}, wantCall: 60111,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newChatCorp())
			c.getToken()
			var resp chatTransferResp
			c.post(tt.path, chatTransferBody{ChatIDs: tt.chats, NewOwner: tt.newOwner}, &resp)
			if resp.ErrCode != tt.wantCall {
				t.Fatalf("errcode = %d, want %d (errmsg %q)", resp.ErrCode, tt.wantCall, resp.ErrMsg)
			}
			if tt.wantFails != nil {
				if diff := cmp.Diff(tt.wantFails, resp.failedCodes()); diff != "" {
					t.Errorf("failed chats (-want +got):\n%s", diff)
				}
			}
			for _, f := range resp.Failed {
				if f.ErrMsg == "" {
					t.Errorf("failed chat %s has no errmsg", f.ChatID)
				}
			}
			for chat, want := range tt.wantOwner {
				if got, _, _ := srv.GroupChatOwner(chat); got != want {
					t.Errorf("owner of %s = %q, want %q", chat, got, want)
				}
			}
		})
	}
}

func TestGroupChatThirdOnJobTransfer(t *testing.T) {
	t.Parallel()
	_, c := startServer(t, newChatCorp())
	c.getToken()
	steps := []struct {
		newOwner string
		want     map[string]int
	}{
		{employedB, map[string]int{}},
		{employedA, map[string]int{}},
		{employedB, map[string]int{chatActive: 40128}},
	}
	for i, step := range steps {
		var resp chatTransferResp
		c.post(pathOnJobChats, chatTransferBody{ChatIDs: []string{chatActive}, NewOwner: step.newOwner}, &resp)
		if diff := cmp.Diff(step.want, resp.failedCodes()); diff != "" {
			t.Errorf("transfer %d: failed chats (-want +got):\n%s", i+1, diff)
		}
	}
}

func TestGroupChatDailyLimit(t *testing.T) {
	t.Parallel()
	corp := newTestCorp()
	var chats []string
	for i := range 301 {
		id := fmt.Sprintf("wrTestDaily%04d", i)
		chats = append(chats, id)
		corp.AddGroupChat(GroupChat{ChatID: id, Owner: resignedR})
	}
	srv, c := startServer(t, corp)
	c.getToken()

	failed := map[string]int{}
	for batch := range slices.Chunk(chats[:300], 100) {
		var resp chatTransferResp
		c.post(pathResignedChats, chatTransferBody{ChatIDs: batch, NewOwner: employedB}, &resp)
		for id, code := range resp.failedCodes() {
			failed[id] = code
		}
	}
	if len(failed) != 0 {
		t.Fatalf("first 300 chats: failures %v, want none", failed)
	}
	var resp chatTransferResp
	c.post(pathResignedChats, chatTransferBody{ChatIDs: chats[300:], NewOwner: employedB}, &resp)
	if diff := cmp.Diff(map[string]int{chats[300]: 45009}, resp.failedCodes()); diff != "" {
		t.Errorf("301st chat (-want +got):\n%s", diff)
	}

	// testEpoch is 18:00 in China; the natural day ends six hours later.
	srv.Advance(6 * time.Hour)
	var nextDay chatTransferResp
	c.post(pathResignedChats, chatTransferBody{ChatIDs: chats[300:], NewOwner: employedB}, &nextDay)
	if len(nextDay.Failed) != 0 {
		t.Errorf("301st chat on the next day: failures %v, want none", nextDay.failedCodes())
	}
}

func TestListGroupChats(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newChatCorp())
	c.getToken()
	var moved chatTransferResp
	c.post(pathResignedChats, chatTransferBody{ChatIDs: []string{chatResigned2}, NewOwner: employedB}, &moved)
	if len(moved.Failed) != 0 {
		t.Fatalf("setup transfer failed: %v", moved.failedCodes())
	}
	if _, status, _ := srv.GroupChatOwner(chatResigned2); status != server.GroupChatStatusInherited {
		t.Errorf("status of an inherited chat = %d, want 3", status)
	}

	tests := []struct {
		name string
		body map[string]any
		want map[string]int // chat to status
	}{
		{
			name: "all",
			body: map[string]any{"limit": 100},
			want: map[string]int{
				chatActive: 0, chatActive2: 0, chatInternal: 0, chatTwice: 0,
				chatResigned: 1, chatResigned2: 3, chatResignedInternal: 1,
			},
		},
		{
			name: "resigned owner",
			body: map[string]any{"limit": 100, "owner_filter": map[string]any{"userid_list": []string{resignedR}}},
			want: map[string]int{chatResigned: 1, chatResignedInternal: 1},
		},
		{
			name: "waiting for inheritance",
			body: map[string]any{"limit": 100, "status_filter": 1},
			want: map[string]int{chatResigned: 1, chatResignedInternal: 1},
		},
		{
			name: "inherited",
			body: map[string]any{"limit": 100, "status_filter": 3},
			want: map[string]int{chatResigned2: 3},
		},
		{
			name: "unknown owner",
			body: map[string]any{"limit": 100, "owner_filter": map[string]any{"userid_list": []string{"nobody"}}},
			want: map[string]int{},
		},
		{
			name: "pages of two",
			body: map[string]any{"limit": 2, "owner_filter": map[string]any{"userid_list": []string{employedA, employedB}}},
			want: map[string]int{chatActive: 0, chatActive2: 0, chatInternal: 0, chatTwice: 0, chatResigned2: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]int{}
			limit := tt.body["limit"].(int)
			for page := 0; ; page++ {
				var resp struct {
					ErrCode int `json:"errcode"`
					Chats   []struct {
						ChatID string `json:"chat_id"`
						Status int    `json:"status"`
					} `json:"group_chat_list"`
					NextCursor string `json:"next_cursor"`
				}
				c.post(pathGroupChatList, tt.body, &resp)
				if resp.ErrCode != 0 {
					t.Fatalf("errcode %d, want 0", resp.ErrCode)
				}
				if len(resp.Chats) > limit {
					t.Errorf("page %d has %d chats, limit %d", page, len(resp.Chats), limit)
				}
				for _, chat := range resp.Chats {
					got[chat.ChatID] = chat.Status
				}
				if resp.NextCursor == "" {
					break
				}
				if page > 10 {
					t.Fatal("more than 10 pages")
				}
				tt.body["cursor"] = resp.NextCursor
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("chats (-want +got):\n%s", diff)
			}
		})
	}

	var resp envelopeResp
	c.post(pathGroupChatList, map[string]any{"limit": 10, "cursor": "bad-cursor"}, &resp)
	if resp.ErrCode != 40058 {
		t.Errorf("bad cursor: errcode %d, want 40058", resp.ErrCode)
	}
}
