package wecomtest

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTransferCallErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		path               string
		handover, takeover string
		ext                string
		want               int
	}{
		{"on-job same member", pathTransferCustomer, employedA, employedA, "wmTestA0000", 40130},
		{"on-job unknown handover", pathTransferCustomer, "nobody", employedB, "wmTestA0000", 60111},
		{"on-job resigned handover", pathTransferCustomer, resignedR, employedB, "wmTestR0000", 60111},
		{"on-job unknown takeover", pathTransferCustomer, employedA, "nobody", "wmTestA0000", 60111},
		{"on-job resigned takeover", pathTransferCustomer, employedA, resignedR2, "wmTestA0000", 60111},
		{"resigned same member", pathResignedTransfer, resignedR, resignedR, "wmTestR0000", 40130},
		{"resigned employed handover", pathResignedTransfer, employedA, employedB, "wmTestA0000", 40097},
		{"resigned unknown handover", pathResignedTransfer, "nobody", employedB, "wmTestR0000", 60111},
		{"resigned unknown takeover", pathResignedTransfer, resignedR, "nobody", "wmTestR0000", 60111},
		{"resigned resigned takeover", pathResignedTransfer, resignedR, resignedR2, "wmTestR0000", 60111},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newTestCorp())
			c.getToken()
			var resp transferResp
			c.post(tt.path, transferBody{Handover: tt.handover, Takeover: tt.takeover, ExternalID: []string{tt.ext}}, &resp)
			if resp.ErrCode != tt.want {
				t.Errorf("errcode = %d, want %d (errmsg %q)", resp.ErrCode, tt.want, resp.ErrMsg)
			}
			if len(resp.Customer) != 0 {
				t.Errorf("customer list %v on a call-level error, want none", resp.Customer)
			}
			if starts := srv.Stats().TransferStarts; len(starts) != 0 {
				t.Errorf("TransferStarts = %v after a failed call, want none", starts)
			}
		})
	}
}

func TestTransferPerCustomerRules(t *testing.T) {
	t.Parallel()
	const a0, a1 = "wmTestA0000", "wmTestA0001"
	day := 24 * time.Hour
	tests := []struct {
		name  string
		path  string
		setup func(t *testing.T, srv *Server, c *testClient)
		from  string
		to    string
		ids   []string
		want  []int
	}{
		{
			name: "accepted", path: pathTransferCustomer, from: employedA, to: employedB,
			ids: []string{a0, a1}, want: []int{0, 0},
		},
		{
			name: "unknown id", path: pathTransferCustomer, from: employedA, to: employedB,
			ids: []string{"wmNoSuchCustomer", a0}, want: []int{40096, 0},
		},
		{
			name: "customer of another member", path: pathTransferCustomer, from: employedA, to: employedB,
			ids: []string{"wmTestR0000"}, want: []int{40131},
		},
		{
			name: "same id twice in one call", path: pathTransferCustomer, from: employedA, to: employedB,
			ids: []string{a0, a0}, want: []int{0, 40129},
		},
		{
			name: "pending from an earlier call", path: pathTransferCustomer, from: employedA, to: limitedL,
			setup: func(t *testing.T, srv *Server, c *testClient) {
				c.transferAll(pathTransferCustomer, employedA, employedB, []string{a0})
				srv.Advance(day - time.Second)
			},
			ids: []string{a0}, want: []int{40129},
		},
		{
			name: "moved away after the takeover", path: pathTransferCustomer, from: employedA, to: limitedL,
			setup: func(t *testing.T, srv *Server, c *testClient) {
				c.transferAll(pathTransferCustomer, employedA, employedB, []string{a0})
				srv.Advance(day)
			},
			ids: []string{a0}, want: []int{40131},
		},
		{
			name: "two transfers in 90 days from history", path: pathTransferCustomer, from: employedA, to: employedB,
			setup: func(t *testing.T, srv *Server, c *testClient) {
				srv.Corp().AddTransferHistory(a0, testEpoch.Add(-89*day), testEpoch.Add(-day))
			},
			ids: []string{a0, a1}, want: []int{40128, 0},
		},
		{
			name: "older transfer out of the window", path: pathTransferCustomer, from: employedA, to: employedB,
			setup: func(t *testing.T, srv *Server, c *testClient) {
				srv.Corp().AddTransferHistory(a0, testEpoch.Add(-90*day-time.Second), testEpoch.Add(-day))
			},
			ids: []string{a0}, want: []int{0},
		},
		{
			name: "third on-job transfer", path: pathTransferCustomer, from: employedA, to: employedB,
			setup: func(t *testing.T, srv *Server, c *testClient) {
				c.transferAll(pathTransferCustomer, employedA, employedB, []string{a0})
				srv.Advance(day)
				c.transferAll(pathTransferCustomer, employedB, employedA, []string{a0})
				srv.Advance(day)
			},
			ids: []string{a0}, want: []int{40128},
		},
		{
			name: "resigned accepted", path: pathResignedTransfer, from: resignedR, to: employedB,
			ids: []string{"wmTestR0000", "wmNoSuchCustomer", a0}, want: []int{0, 40096, 40131},
		},
		{
			name: "resigned same id twice", path: pathResignedTransfer, from: resignedR, to: employedB,
			ids: []string{"wmTestR0001", "wmTestR0001"}, want: []int{0, 40129},
		},
		{
			name: "resigned ignores the 90-day rule", path: pathResignedTransfer, from: resignedR, to: employedB,
			setup: func(t *testing.T, srv *Server, c *testClient) {
				srv.Corp().AddTransferHistory("wmTestR0002", testEpoch.Add(-2*day), testEpoch.Add(-day))
			},
			ids: []string{"wmTestR0002"}, want: []int{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newTestCorp())
			c.getToken()
			if tt.setup != nil {
				tt.setup(t, srv, c)
			}
			var resp transferResp
			c.post(tt.path, transferBody{Handover: tt.from, Takeover: tt.to, ExternalID: tt.ids}, &resp)
			if resp.ErrCode != 0 {
				t.Fatalf("errcode = %d, want 0 (errmsg %q)", resp.ErrCode, resp.ErrMsg)
			}
			var got []int
			for i, o := range resp.Customer {
				if i < len(tt.ids) && o.ExternalUserID != tt.ids[i] {
					t.Errorf("customer[%d] = %q, want %q", i, o.ExternalUserID, tt.ids[i])
				}
				got = append(got, o.ErrCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("per-customer errcodes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTakeoverAfter24Hours(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		transfer   string
		result     string
		handover   string
		ext        string
		unassigned bool // whether the customer was on get_unassigned_list before
	}{
		{"on-job", pathTransferCustomer, pathTransferResult, employedA, "wmTestA0003", false},
		{"resigned", pathResignedTransfer, pathResignedResult, resignedR, "wmTestR0003", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newTestCorp())
			c.getToken()
			if got := unassignedIDs(c)[tt.ext]; got != tt.unassigned {
				t.Fatalf("on unassigned list before the transfer = %v, want %v", got, tt.unassigned)
			}
			c.transferAll(tt.transfer, tt.handover, employedB, []string{tt.ext})
			due := testEpoch.Add(24 * time.Hour).Unix()

			checkResult(t, c, tt.result, tt.handover, tt.ext, 2, due)
			if got := srv.Followers(tt.ext); !slices.Equal(got, []string{tt.handover}) {
				t.Errorf("followers while waiting = %v, want [%s]", got, tt.handover)
			}
			if unassignedIDs(c)[tt.ext] {
				t.Errorf("customer still on the unassigned list while its transfer waits")
			}

			srv.Advance(24*time.Hour - time.Second)
			checkResult(t, c, tt.result, tt.handover, tt.ext, 2, due)

			srv.Advance(time.Second)
			checkResult(t, c, tt.result, tt.handover, tt.ext, 1, due)
			if got := srv.Followers(tt.ext); !slices.Equal(got, []string{employedB}) {
				t.Errorf("followers after the takeover = %v, want [%s]", got, employedB)
			}
			if unassignedIDs(c)[tt.ext] {
				t.Errorf("customer back on the unassigned list after the takeover")
			}
			var list struct {
				ErrCode int      `json:"errcode"`
				IDs     []string `json:"external_userid"`
			}
			c.get(pathExternalList, url.Values{"access_token": {c.token}, "userid": {employedB}}, &list)
			if !slices.Contains(list.IDs, tt.ext) {
				t.Errorf("externalcontact/list of the takeover member = %v, missing %s", list.IDs, tt.ext)
			}
			recs := srv.TransferRecords(tt.handover, employedB)
			if len(recs) != 1 || !recs[0].StartedAt.Equal(testEpoch) || recs[0].Status != 1 {
				t.Errorf("TransferRecords = %+v, want one complete record started at the epoch", recs)
			}
		})
	}
}

// checkResult fails the test unless the pair's result row of ext has the
// status and takeover time.
func checkResult(t *testing.T, c *testClient, path, handover, ext string, status int, takeoverTime int64) {
	t.Helper()
	var resp resultResp
	c.post(path, resultBody{Handover: handover, Takeover: employedB}, &resp)
	if resp.ErrCode != 0 || len(resp.Customer) != 1 {
		t.Fatalf("result: errcode %d, %d rows; want 0 and 1 row (errmsg %q)", resp.ErrCode, len(resp.Customer), resp.ErrMsg)
	}
	row := resp.Customer[0]
	if row.ExternalUserID != ext || row.Status != status || row.TakeoverTime != takeoverTime {
		t.Errorf("result row = %+v, want %s with status %d at %d", row, ext, status, takeoverTime)
	}
}

// unassignedIDs returns the customers on get_unassigned_list.
func unassignedIDs(c *testClient) map[string]bool {
	c.t.Helper()
	ids := make(map[string]bool)
	cursor := ""
	for range 100 {
		var resp unassignedResp
		c.post(pathUnassignedList, map[string]any{"cursor": cursor}, &resp)
		if resp.ErrCode != 0 {
			c.t.Fatalf("get_unassigned_list: errcode %d, errmsg %q", resp.ErrCode, resp.ErrMsg)
		}
		for _, row := range resp.Info {
			ids[row.ExternalUserID] = true
		}
		if resp.NextCursor == "" {
			return ids
		}
		cursor = resp.NextCursor
	}
	c.t.Fatal("get_unassigned_list: more than 100 pages")
	return nil
}

func TestTakeoverLimitReached(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		transfer, result   string
		handover           string
		first, second      string
		backOnUnassignList bool
	}{
		{"on-job", pathTransferCustomer, pathTransferResult, employedA, "wmTestA0004", "wmTestA0005", false},
		{"resigned", pathResignedTransfer, pathResignedResult, resignedR, "wmTestR0004", "wmTestR0005", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newTestCorp())
			c.getToken()
			// limitedL follows one customer and may follow two: the first
			// takeover fits, the second does not.
			c.transferAll(tt.transfer, tt.handover, limitedL, []string{tt.first})
			srv.Advance(time.Minute)
			c.transferAll(tt.transfer, tt.handover, limitedL, []string{tt.second})
			srv.Advance(24 * time.Hour)

			statuses, _ := c.allResults(tt.result, tt.handover, limitedL)
			want := map[string]int{tt.first: 1, tt.second: 4}
			if diff := cmp.Diff(want, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if got := srv.Followers(tt.second); !slices.Equal(got, []string{tt.handover}) {
				t.Errorf("followers of the customer over the limit = %v, want [%s]", got, tt.handover)
			}
			if got := unassignedIDs(c)[tt.second]; got != tt.backOnUnassignList {
				t.Errorf("customer over the limit on the unassigned list = %v, want %v", got, tt.backOnUnassignList)
			}
		})
	}
}

func TestTakeoverRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		transfer, result string
		handover         string
		ext              string
		wantFollowers    []string
	}{
		// An employed member keeps a customer who rejects the transfer.
		{"on-job", pathTransferCustomer, pathTransferResult, employedA, "wmTestA0006", []string{employedA}},
		// A resigned member's customer who rejects is lost.
		{"resigned", pathResignedTransfer, pathResignedResult, resignedR, "wmTestR0006", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newTestCorp())
			srv.Corp().SetRefusesTransfer(tt.ext, true)
			c.getToken()
			c.transferAll(tt.transfer, tt.handover, employedB, []string{tt.ext})
			srv.Advance(24 * time.Hour)

			var resp resultResp
			c.post(tt.result, resultBody{Handover: tt.handover, Takeover: employedB}, &resp)
			if len(resp.Customer) != 1 || resp.Customer[0].Status != 3 || resp.Customer[0].TakeoverTime != 0 {
				t.Errorf("result rows = %+v, want one with status 3 and no takeover time", resp.Customer)
			}
			if diff := cmp.Diff(tt.wantFollowers, srv.Followers(tt.ext)); diff != "" {
				t.Errorf("followers (-want +got):\n%s", diff)
			}
			if unassignedIDs(c)[tt.ext] {
				t.Errorf("refusing customer on the unassigned list")
			}
		})
	}
}

func TestRejectedIDsInOnJobResults(t *testing.T) {
	t.Parallel()
	_, c := startServer(t, newTestCorp())
	c.getToken()
	c.transferAll(pathTransferCustomer, employedA, employedB, []string{"wmTestA0007", "wmNoSuchCustomer"})
	c.transferAll(pathResignedTransfer, resignedR, employedB, []string{"wmTestR0007", "wmNoSuchCustomer"})

	onJob, _ := c.allResults(pathTransferResult, employedA, employedB)
	want := map[string]int{"wmTestA0007": 2, "wmNoSuchCustomer": 5}
	if diff := cmp.Diff(want, onJob); diff != "" {
		t.Errorf("on-job statuses (-want +got):\n%s", diff)
	}
	resigned, _ := c.allResults(pathResignedResult, resignedR, employedB)
	if diff := cmp.Diff(map[string]int{"wmTestR0007": 2}, resigned); diff != "" {
		t.Errorf("resigned statuses (-want +got):\n%s", diff)
	}
}

func TestTransferResultPaging(t *testing.T) {
	t.Parallel()
	const bulk = "bulkmember"
	corp := newTestCorp()
	corp.AddMember(Member{UserID: bulk})
	ids := testIDs("B", 1100)
	for _, ext := range ids {
		corp.AddCustomer(bulk, ext)
	}
	_, c := startServer(t, corp)
	c.getToken()
	codes := c.transferAll(pathTransferCustomer, bulk, employedB, ids)
	if n := countCodes(codes)[0]; n != len(ids) {
		t.Fatalf("%d customers accepted, want %d", n, len(ids))
	}

	var first resultResp
	c.post(pathTransferResult, resultBody{Handover: bulk, Takeover: employedB}, &first)
	if len(first.Customer) != 1000 || first.NextCursor == "" {
		t.Fatalf("first page: %d rows, next_cursor %q; want 1000 rows and a cursor", len(first.Customer), first.NextCursor)
	}
	var second resultResp
	c.post(pathTransferResult, resultBody{Handover: bulk, Takeover: employedB, Cursor: first.NextCursor}, &second)
	if len(second.Customer) != 100 || second.NextCursor != "" {
		t.Fatalf("second page: %d rows, next_cursor %q; want 100 rows and none", len(second.Customer), second.NextCursor)
	}
	var got []string
	for _, row := range append(first.Customer, second.Customer...) {
		got = append(got, row.ExternalUserID)
		if row.Status != 2 || row.TakeoverTime != testEpoch.Add(24*time.Hour).Unix() {
			t.Fatalf("row %+v, want status 2 with the future takeover time", row)
		}
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("rows across pages (-want +got):\n%s", diff)
	}

	for _, cursor := range []string{"not-a-cursor", encodeOffsetCursor(cursorGroupChats, 0), encodeOffsetCursor(cursorResults, 5000)} {
		var resp resultResp
		c.post(pathTransferResult, resultBody{Handover: bulk, Takeover: employedB, Cursor: cursor}, &resp)
		if resp.ErrCode != 40058 {
			t.Errorf("cursor %q: errcode %d, want 40058", cursor, resp.ErrCode)
		}
	}
}

func TestTransferResultCallErrors(t *testing.T) {
	t.Parallel()
	_, c := startServer(t, newTestCorp())
	c.getToken()
	tests := []struct {
		handover, takeover string
		want               int
	}{
		{"nobody", employedB, 60111},
		{employedA, "nobody", 60111},
		{employedA, employedA, 40130},
		{employedA, employedB, 0},
	}
	for _, tt := range tests {
		var resp resultResp
		c.post(pathTransferResult, resultBody{Handover: tt.handover, Takeover: tt.takeover}, &resp)
		if resp.ErrCode != tt.want {
			t.Errorf("%s to %s: errcode %d, want %d", tt.handover, tt.takeover, resp.ErrCode, tt.want)
		}
		if len(resp.Customer) != 0 || resp.NextCursor != "" {
			t.Errorf("%s to %s: rows %v, next_cursor %q; want none", tt.handover, tt.takeover, resp.Customer, resp.NextCursor)
		}
	}
}

func TestUnassignedListPaging(t *testing.T) {
	t.Parallel()
	corp := NewCorp()
	resignedAt := testEpoch.Add(-48 * time.Hour)
	corp.AddMember(Member{UserID: "a_resigned", ResignedAt: resignedAt})
	corp.AddMember(Member{UserID: "b_resigned", ResignedAt: resignedAt.Add(time.Hour)})
	corp.AddMember(Member{UserID: "employed"})
	var want []string
	for _, ext := range testIDs("X", 1500) {
		corp.AddCustomer("a_resigned", ext)
		want = append(want, "a_resigned/"+ext)
	}
	for _, ext := range testIDs("Y", 30) {
		corp.AddCustomer("b_resigned", ext)
		want = append(want, "b_resigned/"+ext)
	}
	corp.AddCustomer("employed", "wmTestE0000")
	_, c := startServer(t, corp)
	c.getToken()

	t.Run("default page size", func(t *testing.T) {
		var first, second unassignedResp
		c.post(pathUnassignedList, map[string]any{}, &first)
		if len(first.Info) != 1000 || first.IsLast || first.NextCursor == "" {
			t.Fatalf("first page: %d rows, is_last %v, next_cursor %q", len(first.Info), first.IsLast, first.NextCursor)
		}
		c.post(pathUnassignedList, map[string]any{"cursor": first.NextCursor}, &second)
		if len(second.Info) != 530 || !second.IsLast || second.NextCursor != "" {
			t.Fatalf("second page: %d rows, is_last %v, next_cursor %q", len(second.Info), second.IsLast, second.NextCursor)
		}
		var got []string
		for _, row := range append(first.Info, second.Info...) {
			got = append(got, row.HandoverUserID+"/"+row.ExternalUserID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		if first.Info[0].DimissionTime != resignedAt.Unix() {
			t.Errorf("dimission_time = %d, want %d", first.Info[0].DimissionTime, resignedAt.Unix())
		}
	})

	t.Run("exact last page", func(t *testing.T) {
		var first, page unassignedResp
		c.post(pathUnassignedList, map[string]any{"page_size": 1000}, &first)
		c.post(pathUnassignedList, map[string]any{"page_size": 530, "cursor": first.NextCursor}, &page)
		if len(page.Info) != 530 || !page.IsLast || page.NextCursor != "" {
			t.Errorf("page: %d rows, is_last %v, next_cursor %q; want 530, true, empty", len(page.Info), page.IsLast, page.NextCursor)
		}
	})

	t.Run("bad cursor", func(t *testing.T) {
		var page unassignedResp
		c.post(pathUnassignedList, map[string]any{"cursor": encodeOffsetCursor(cursorResults, 1)}, &page)
		if page.ErrCode != 40058 {
			t.Errorf("errcode %d, want 40058", page.ErrCode)
		}
	})
}

// A client that assigns each page before it requests the next must still see
// every row once.
func TestUnassignedListPagingWhileAssigning(t *testing.T) {
	t.Parallel()
	corp := NewCorp()
	corp.AddMember(Member{UserID: "resigned", ResignedAt: testEpoch.Add(-time.Hour)})
	corp.AddMember(Member{UserID: "employed"})
	ids := testIDs("P", 250)
	for _, ext := range ids {
		corp.AddCustomer("resigned", ext)
	}
	srv, c := startServer(t, corp)
	c.getToken()

	var seen []string
	cursor := ""
	for range 10 {
		var page unassignedResp
		c.post(pathUnassignedList, map[string]any{"page_size": 100, "cursor": cursor}, &page)
		var batch []string
		for _, row := range page.Info {
			batch = append(batch, row.ExternalUserID)
		}
		seen = append(seen, batch...)
		if len(batch) > 0 {
			c.transferAll(pathResignedTransfer, "resigned", "employed", batch)
		}
		srv.Advance(time.Hour)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if diff := cmp.Diff(ids, seen); diff != "" {
		t.Errorf("rows seen (-want +got):\n%s", diff)
	}
	if left := unassignedIDs(c); len(left) != 0 {
		t.Errorf("%d rows left on the unassigned list, want none", len(left))
	}
}

func TestListExternalContacts(t *testing.T) {
	t.Parallel()
	_, c := startServer(t, newTestCorp())
	c.getToken()
	tests := []struct {
		userID string
		want   int
		count  int
	}{
		{employedA, 0, 10},
		{employedB, 84061, 0},
		{"nobody", 60111, 0},
		{resignedR, 60111, 0},
	}
	for _, tt := range tests {
		var resp struct {
			ErrCode int      `json:"errcode"`
			ErrMsg  string   `json:"errmsg"`
			IDs     []string `json:"external_userid"`
		}
		c.get(pathExternalList, url.Values{"access_token": {c.token}, "userid": {tt.userID}}, &resp)
		if resp.ErrCode != tt.want || len(resp.IDs) != tt.count {
			t.Errorf("%s: errcode %d with %d ids, want %d with %d (errmsg %q)", tt.userID, resp.ErrCode, len(resp.IDs), tt.want, tt.count, resp.ErrMsg)
		}
	}
}
