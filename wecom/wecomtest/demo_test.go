package wecomtest

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDemoFixturesStable(t *testing.T) {
	t.Parallel()
	ids := DemoFixtures()
	if diff := cmp.Diff(ids, DemoFixtures()); diff != "" {
		t.Fatalf("DemoFixtures differs between calls (-first +second):\n%s", diff)
	}
	// Pinned so that a change of the generator, which would move every id
	// in demos and docs, fails here.
	pinned := map[string]string{
		"ResignedCustomers[0]": ids.ResignedCustomers[0],
		"ActiveCustomers[0]":   ids.ActiveCustomers[0],
		"ResignedChats[0]":     ids.ResignedChats[0],
	}
	wantPinned := map[string]string{
		"ResignedCustomers[0]": "wmDemoz84rtUEDv40nCjUVGWnMMF",
		"ActiveCustomers[0]":   "wmDemoAg7MCwYvbHhgDFW2I1TRH0",
		"ResignedChats[0]":     "wrDemo0Z6VpxEkWvRxLweLaZ3photIpy",
	}
	if diff := cmp.Diff(wantPinned, pinned); diff != "" {
		t.Errorf("pinned ids (-want +got):\n%s", diff)
	}

	sizes := map[string]int{
		"ResignedCustomers":       len(ids.ResignedCustomers),
		"SecondResignedCustomers": len(ids.SecondResignedCustomers),
		"ActiveCustomers":         len(ids.ActiveCustomers),
		"TransferredTwice":        len(ids.TransferredTwice),
		"Pending":                 len(ids.Pending),
		"RefusingActive":          len(ids.RefusingActive),
		"RefusingResigned":        len(ids.RefusingResigned),
		"OverLimit":               len(ids.OverLimit),
		"ResignedChats":           len(ids.ResignedChats),
		"ActiveChats":             len(ids.ActiveChats),
		"NotCustomerGroupChats":   len(ids.NotCustomerGroupChats),
	}
	wantSizes := map[string]int{
		"ResignedCustomers": 1250, "SecondResignedCustomers": 60, "ActiveCustomers": 420,
		"TransferredTwice": 6, "Pending": 5, "RefusingActive": 4, "RefusingResigned": 8, "OverLimit": 5,
		"ResignedChats": 40, "ActiveChats": 12, "NotCustomerGroupChats": 6,
	}
	if diff := cmp.Diff(wantSizes, sizes); diff != "" {
		t.Errorf("list sizes (-want +got):\n%s", diff)
	}

	seen := map[string]bool{}
	for _, list := range [][]string{ids.ResignedCustomers, ids.SecondResignedCustomers, ids.ActiveCustomers, ids.ResignedChats, ids.ActiveChats} {
		for _, id := range list {
			if seen[id] {
				t.Errorf("id %s appears twice", id)
			}
			seen[id] = true
		}
	}
	for _, id := range ids.RefusingResigned {
		if slices.Contains(ids.OverLimit, id) {
			t.Errorf("refusing customer %s is also in OverLimit", id)
		}
	}
}

// startDemo starts a sandbox on the demo corp with a manual clock at
// testEpoch.
func startDemo(t *testing.T) (*Server, *testClient) {
	t.Helper()
	srv, c := startServer(t, DemoCorpAt(testEpoch))
	if srv.CorpID != DemoCorpID || srv.Secret != DemoSecret {
		t.Fatalf("server credentials %q/%q, want the demo ones", srv.CorpID, srv.Secret)
	}
	c.getToken()
	return srv, c
}

func TestDemoCorpLists(t *testing.T) {
	t.Parallel()
	_, c := startDemo(t)
	ids := DemoFixtures()

	unassigned := unassignedIDs(c)
	if len(unassigned) != 1310 {
		t.Errorf("unassigned list has %d customers, want 1310", len(unassigned))
	}
	for _, ext := range ids.ResignedCustomers {
		if !unassigned[ext] {
			t.Fatalf("resigned member's customer %s is not on the unassigned list", ext)
		}
	}

	contacts := map[string]int{DemoActiveMember: 420, DemoTakeoverMember: 150, DemoUnlimitedTakeoverMember: 35, DemoPendingTakeoverMember: 12}
	for member, want := range contacts {
		var resp struct {
			ErrCode int      `json:"errcode"`
			IDs     []string `json:"external_userid"`
		}
		c.get(pathExternalList, url.Values{"access_token": {c.token}, "userid": {member}}, &resp)
		if len(resp.IDs) != want {
			t.Errorf("%s has %d customers, want %d (errcode %d)", member, len(resp.IDs), want, resp.ErrCode)
		}
	}
	var empty envelopeResp
	c.get(pathExternalList, url.Values{"access_token": {c.token}, "userid": {DemoMemberWithoutCustomers}}, &empty)
	if empty.ErrCode != 84061 {
		t.Errorf("%s: errcode %d, want 84061", DemoMemberWithoutCustomers, empty.ErrCode)
	}

	var chats struct {
		Chats []struct {
			ChatID string `json:"chat_id"`
			Status int    `json:"status"`
		} `json:"group_chat_list"`
	}
	c.post(pathGroupChatList, map[string]any{"limit": 1000, "status_filter": 1}, &chats)
	if len(chats.Chats) != 40 {
		t.Errorf("%d chats wait for inheritance, want the resigned member's 40", len(chats.Chats))
	}
}

func TestDemoResignedHandover(t *testing.T) {
	t.Parallel()
	srv, c := startDemo(t)
	ids := DemoFixtures()

	codes := c.transferAll(pathResignedTransfer, DemoResignedMember, DemoTakeoverMember, ids.ResignedCustomers)
	if diff := cmp.Diff(map[int]int{0: 1250}, countCodes(codes)); diff != "" {
		t.Errorf("per-customer errcodes (-want +got):\n%s", diff)
	}
	srv.Advance(24 * time.Hour)

	statuses, pages := c.allResults(pathResignedResult, DemoResignedMember, DemoTakeoverMember)
	if pages != 2 {
		t.Errorf("results took %d pages, want 2", pages)
	}
	if diff := cmp.Diff(map[int]int{1: 1237, 3: 8, 4: 5}, countCodes(statuses)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	for _, ext := range ids.RefusingResigned {
		if statuses[ext] != 3 {
			t.Errorf("refusing customer %s has status %d, want 3", ext, statuses[ext])
		}
	}
	for _, ext := range ids.OverLimit {
		if statuses[ext] != 4 {
			t.Errorf("customer %s over the limit has status %d, want 4", ext, statuses[ext])
		}
	}

	left := unassignedIDs(c)
	if len(left) != 65 {
		t.Errorf("%d customers left on the unassigned list, want 5 over the limit and 60 of the other member", len(left))
	}
	for _, ext := range ids.OverLimit {
		if !left[ext] {
			t.Errorf("customer %s over the limit is not back on the unassigned list", ext)
		}
	}
}

func TestDemoActiveHandover(t *testing.T) {
	t.Parallel()
	srv, c := startDemo(t)
	ids := DemoFixtures()

	codes := c.transferAll(pathTransferCustomer, DemoActiveMember, DemoUnlimitedTakeoverMember, ids.ActiveCustomers)
	if diff := cmp.Diff(map[int]int{0: 409, 40128: 6, 40129: 5}, countCodes(codes)); diff != "" {
		t.Errorf("per-customer errcodes (-want +got):\n%s", diff)
	}
	for _, ext := range ids.TransferredTwice {
		if codes[ext] != 40128 {
			t.Errorf("customer %s transferred twice got %d, want 40128", ext, codes[ext])
		}
	}
	for _, ext := range ids.Pending {
		if codes[ext] != 40129 {
			t.Errorf("pending customer %s got %d, want 40129", ext, codes[ext])
		}
	}

	srv.Advance(24 * time.Hour)
	statuses, _ := c.allResults(pathTransferResult, DemoActiveMember, DemoUnlimitedTakeoverMember)
	if diff := cmp.Diff(map[int]int{1: 405, 3: 4, 5: 11}, countCodes(statuses)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	for _, ext := range ids.Pending {
		if got := srv.Followers(ext); !slices.Equal(got, []string{DemoPendingTakeoverMember}) {
			t.Errorf("pending customer %s follows %v after 24h, want [%s]", ext, got, DemoPendingTakeoverMember)
		}
	}
	for _, ext := range ids.RefusingActive {
		if got := srv.Followers(ext); !slices.Equal(got, []string{DemoActiveMember}) {
			t.Errorf("refusing customer %s follows %v, want [%s]", ext, got, DemoActiveMember)
		}
	}
}

func TestDemoGroupChats(t *testing.T) {
	t.Parallel()
	_, c := startDemo(t)
	ids := DemoFixtures()

	var resigned chatTransferResp
	c.post(pathResignedChats, chatTransferBody{ChatIDs: ids.ResignedChats, NewOwner: DemoTakeoverMember}, &resigned)
	if diff := cmp.Diff(map[int]int{90501: 4}, countCodes(resigned.failedCodes())); diff != "" {
		t.Errorf("resigned chat failures (-want +got):\n%s", diff)
	}

	var onJob chatTransferResp
	c.post(pathOnJobChats, chatTransferBody{ChatIDs: ids.ActiveChats, NewOwner: DemoUnlimitedTakeoverMember}, &onJob)
	want := map[string]int{ids.ChatTransferredTwice: 40128}
	for _, id := range ids.NotCustomerGroupChats {
		if slices.Contains(ids.ActiveChats, id) {
			want[id] = 90501
		}
	}
	if diff := cmp.Diff(want, onJob.failedCodes()); diff != "" {
		t.Errorf("on-job chat failures (-want +got):\n%s", diff)
	}
}
