package wecom_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// pages responds to a paged call by the cursor in its request body, with
// next[cursor] as the next cursor. Each page is a transfer_result response
// with one customer named after the page's cursor.
func pages(t *testing.T, next map[string]string) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		cursor := cursorOf(t, req)
		nextCursor, ok := next[cursor]
		if !ok {
			t.Errorf("request for unknown cursor %q", cursor)
		}
		body := fmt.Sprintf(`{"errcode":0,"errmsg":"ok","customer":[{"external_userid":"wm-page-%s","status":1,"takeover_time":1588262400}],"next_cursor":%q}`, cursor, nextCursor)
		return jsonBody(body)(req)
	}
}

// collect ranges over seq and returns the ids and errors it yields.
func collect(seq func(yield func(wecom.Takeover, error) bool)) (ids []string, errs []error) {
	for tk, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, tk.ExternalUserID)
	}
	return ids, errs
}

func cursorsOf(rec *recorder) []string {
	var out []string
	for _, r := range rec.all() {
		cursor, _ := r.body.(map[string]any)["cursor"].(string)
		out = append(out, cursor)
	}
	return out
}

func TestTransferResultsPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferResult, pages(t, map[string]string{"": "c2", "c2": "c3", "c3": ""}))

	seq := h.client.TransferResults(t.Context(), "zhangsan", "lisi")
	if n := rec.count(); n != 0 {
		t.Fatalf("%d requests before ranging, want 0", n)
	}

	for round := range 2 {
		ids, errs := collect(seq)
		if len(errs) != 0 {
			t.Fatalf("round %d: errors %v", round, errs)
		}
		if diff := cmp.Diff([]string{"wm-page-", "wm-page-c2", "wm-page-c3"}, ids); diff != "" {
			t.Errorf("round %d: ids mismatch (-want +got):\n%s", round, diff)
		}
	}

	// Each range starts again from the first page.
	want := []string{"", "c2", "c3", "", "c2", "c3"}
	if diff := cmp.Diff(want, cursorsOf(rec)); diff != "" {
		t.Errorf("cursors sent mismatch (-want +got):\n%s", diff)
	}
	for i, r := range rec.all() {
		if _, has := r.body.(map[string]any)["cursor"]; has && i%3 == 0 {
			t.Errorf("request %d sent a cursor on the first page: %s", i, r.raw)
		}
	}
}

func TestTransferResultsBreakEarly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferResult, jsonFixture(t, "transfer_result_page1.json"))

	var got []string
	for tk, err := range h.client.TransferResults(t.Context(), "zhangsan", "lisi") {
		if err != nil {
			t.Fatalf("yielded error: %v", err)
		}
		got = append(got, tk.ExternalUserID)
		if len(got) == 2 {
			break
		}
	}

	if len(got) != 2 {
		t.Errorf("got %d items, want 2", len(got))
	}
	if n := rec.count(); n != 1 {
		t.Errorf("requests = %d, want 1: the iterator fetched past the break", n)
	}
}

func TestTransferResultsRepeatedCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		next   map[string]string
		want   []string
		cursor string
	}{
		{"same cursor again", map[string]string{"": "c1", "c1": "c1"}, []string{"wm-page-", "wm-page-c1"}, "c1"},
		{"earlier cursor", map[string]string{"": "c1", "c1": "c2", "c2": "c1"}, []string{"wm-page-", "wm-page-c1", "wm-page-c2"}, "c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			rec := h.on(pathResignedTransferResult, pages(t, tt.next))

			ids, errs := collect(h.client.ResignedTransferResults(t.Context(), "zhangsan", "lisi"))

			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want exactly one", errs)
			}
			repeated, ok := errors.AsType[*wecom.RepeatedCursorError](errs[0])
			if !ok {
				t.Fatalf("error = %v (%T), want *wecom.RepeatedCursorError", errs[0], errs[0])
			}
			if repeated.Cursor != tt.cursor || repeated.Endpoint != pathResignedTransferResult {
				t.Errorf("RepeatedCursorError = %+v, want cursor %q on %s", repeated, tt.cursor, pathResignedTransferResult)
			}
			if n := rec.count(); n != len(tt.want) {
				t.Errorf("requests = %d, want %d", n, len(tt.want))
			}
		})
	}
}

func TestTransferResultsErrorMidway(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := pages(t, map[string]string{"": "c2"})
	rec := h.on(pathTransferResult, first.Once().Then(jsonFixture(t, "error_40058.json")))

	var ids []string
	var errs []error
	yields := 0
	for tk, err := range h.client.TransferResults(t.Context(), "zhangsan", "lisi") {
		yields++
		if err != nil {
			errs = append(errs, err)
			continue // a well-behaved iterator stops by itself
		}
		ids = append(ids, tk.ExternalUserID)
	}

	if diff := cmp.Diff([]string{"wm-page-"}, ids); diff != "" {
		t.Errorf("ids mismatch (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || yields != 2 {
		t.Fatalf("yields = %d with errors %v, want one item then one error", yields, errs)
	}
	if apiErr, ok := errors.AsType[*wecom.APIError](errs[0]); !ok || apiErr.Code != wecom.CodeInvalidParameter {
		t.Errorf("error = %v, want *wecom.APIError with errcode 40058", errs[0])
	}
	if n := rec.count(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

func TestUnassignedCustomersPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathUnassignedList, jsonFixture(t, "get_unassigned_list_page1.json").Once().
		Then(jsonFixture(t, "get_unassigned_list_page2.json")))

	seq := h.client.UnassignedCustomers(t.Context())
	if n := rec.count(); n != 0 {
		t.Fatalf("%d requests before ranging, want 0", n)
	}
	var got []string
	for row, err := range seq {
		if err != nil {
			t.Fatalf("yielded error: %v", err)
		}
		got = append(got, row.HandoverUserID+"/"+row.ExternalUserID)
	}

	want := []string{
		"zhangsan/woAJ2GCAAAd4uL12hdfsdasassdDmAAAAA",
		"lisi/wmAJ2GCAAAzLTI123ghsdfoGZNqqAAAA",
		"wangwu/wmAJ2GCAAAzLTI123ghsdfoGZNqqBBBB",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2", len(reqs))
	}
	checkBody(t, reqs[0].raw, `{"page_size":1000}`)
	checkBody(t, reqs[1].raw, `{"cursor":"aSfwejksvhToiMMfFeIGZZ","page_size":1000}`)
}

func TestUnassignedCustomersStopsOnIsLast(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// is_last wins over a non-empty cursor.
	rec := h.on(pathUnassignedList, jsonBody(`{"errcode":0,"errmsg":"ok","info":[{"handover_userid":"zhangsan","external_userid":"wm1","dimission_time":1550838571}],"is_last":true,"next_cursor":"MORE"}`))

	n := 0
	for _, err := range h.client.UnassignedCustomers(t.Context()) {
		if err != nil {
			t.Fatalf("yielded error: %v", err)
		}
		n++
	}

	if n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	if c := rec.count(); c != 1 {
		t.Errorf("requests = %d, want 1", c)
	}
}

func TestGroupChatsPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathGroupChatList, jsonFixture(t, "groupchat_list_page1.json").Once().
		Then(jsonFixture(t, "groupchat_list_page2.json")))
	filter := wecom.GroupChatFilter{Owners: []string{"zhangsan"}, Status: wecom.GroupChatOwnerResigned}

	var got []wecom.GroupChat
	for chat, err := range h.client.GroupChats(t.Context(), filter) {
		if err != nil {
			t.Fatalf("yielded error: %v", err)
		}
		got = append(got, chat)
	}

	want := []wecom.GroupChat{
		{ChatID: "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", Status: wecom.GroupChatOwnerResigned},
		{ChatID: "wrOgQhDgAAcwMTB7YmDkbeBsAAAA", Status: wecom.GroupChatOwnerResigned},
		{ChatID: "wrOgQhDgAAMYQiS5ol9G7gK9JVBBBB", Status: wecom.GroupChatOwnerResigned},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chats mismatch (-want +got):\n%s", diff)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2", len(reqs))
	}
	checkBody(t, reqs[0].raw, `{"status_filter":1,"owner_filter":{"userid_list":["zhangsan"]},"limit":1000}`)
	checkBody(t, reqs[1].raw, `{"status_filter":1,"owner_filter":{"userid_list":["zhangsan"]},"limit":1000,
		"cursor":"tJzlB9tdqfh-g7i_J-ehOz_TWcd7dSKa39_AqCIeMFw"}`)
}
