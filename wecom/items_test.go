package wecom_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

func TestTransferCustomersItemFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(pathTransferCustomer, jsonFixture(t, "transfer_customer_partial.json"))
	ids := []string{customerA, customerB, "wmqfasd1e1927831123109rBCCCC", "wmqfasd1e1927831123109rBDDDD"}

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: ids,
	})
	if err != nil {
		t.Fatalf("TransferCustomers: %v", err)
	}

	want := []wecom.ItemResult{
		started(customerA),
		{ID: customerB, Outcome: wecom.OutcomeFailed, ErrCode: 40096},
		{ID: ids[2], Outcome: wecom.OutcomeFailed, ErrCode: wecom.CodeTransferTooOften},
		{ID: ids[3], Outcome: wecom.OutcomeFailed, ErrCode: wecom.CodeInTransfer},
	}
	if diff := cmp.Diff(want, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	if n := report.Count(wecom.OutcomeFailed); n != 3 {
		t.Errorf("Count(failed) = %d, want 3", n)
	}

	itemsErr, ok := errors.AsType[*wecom.ItemsError](report.Err())
	if !ok {
		t.Fatalf("Err() = %v, want *wecom.ItemsError", report.Err())
	}
	wantErr := &wecom.ItemsError{Kind: "customers", Failed: map[int]int{40096: 1, 40128: 1, 40129: 1}, Count: 3, Total: 4}
	if diff := cmp.Diff(wantErr, itemsErr); diff != "" {
		t.Errorf("ItemsError mismatch (-want +got):\n%s", diff)
	}
	const wantMsg = "wecom: 3 of 4 customers failed (errcode 40096 x1, errcode 40128 x1, errcode 40129 x1)"
	if itemsErr.Error() != wantMsg {
		t.Errorf("Err() = %q, want %q", itemsErr.Error(), wantMsg)
	}
}

func TestTransferGroupChatsItemFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(pathResignedGroupTransfer, jsonFixture(t, "groupchat_transfer_failed.json"))
	const chatC = "wrOgQhDgAAMYQiS5ol9G7gK9JVQUCCCC"

	report, err := h.client.TransferResignedGroupChats(t.Context(), wecom.GroupChatTransferRequest{
		NewOwner: "lisi", ChatIDs: []string{chatA, chatB, chatC},
	})
	if err != nil {
		t.Fatalf("TransferResignedGroupChats: %v", err)
	}

	want := []wecom.ItemResult{
		{ID: chatA, Outcome: wecom.OutcomeFailed, ErrCode: 90500, ErrMsg: "the owner of this chat is not resigned"},
		{ID: chatB, Outcome: wecom.OutcomeFailed, ErrCode: 90501, ErrMsg: "chat is not external group chat"},
		started(chatC),
	}
	if diff := cmp.Diff(want, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	const wantMsg = "wecom: 2 of 3 group chats failed (errcode 90500 x1, errcode 90501 x1)"
	if err := report.Err(); err == nil || err.Error() != wantMsg {
		t.Errorf("Err() = %v, want %q", err, wantMsg)
	}
}

func TestTransferOnJobGroupChatsItemFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(pathOnJobGroupTransfer, jsonFixture(t, "groupchat_onjob_transfer_failed.json"))

	report, err := h.client.TransferGroupChats(t.Context(), wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: []string{chatA, chatB}})
	if err != nil {
		t.Fatalf("TransferGroupChats: %v", err)
	}

	want := []wecom.ItemResult{
		{ID: chatA, Outcome: wecom.OutcomeFailed, ErrCode: 90501, ErrMsg: "chat is not external group chat"},
		started(chatB),
	}
	if diff := cmp.Diff(want, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	if err := report.Err(); err == nil || err.Error() != "wecom: 1 of 2 group chats failed (errcode 90501 x1)" {
		t.Errorf("Err() = %v", err)
	}
}

func TestTransferCustomerMissingFromResponse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The response lists customerA and customerB, but not the third id.
	h.on(pathTransferCustomer, jsonFixture(t, "transfer_customer_ok.json"))
	const missing = "wmqfasd1e1927831123109rBZZZZ"

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA, missing, customerB},
	})
	if err != nil {
		t.Fatalf("TransferCustomers: %v", err)
	}

	want := []wecom.ItemResult{
		started(customerA),
		{ID: missing, Outcome: wecom.OutcomeUnknown, ErrMsg: "missing from the WeCom response"},
		started(customerB),
	}
	if diff := cmp.Diff(want, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	if err := report.Err(); err == nil || err.Error() != "wecom: 1 of 3 customers failed (outcome unknown x1)" {
		t.Errorf("Err() = %v", err)
	}
}

// echoCustomers responds to a customer transfer call with errcode 0 for
// every customer of the request.
func echoCustomers(t *testing.T) func(req *http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		var body struct {
			ExternalUserIDs []string `json:"external_userid"`
		}
		if err := decodeBody(req, &body); err != nil {
			t.Errorf("decode request: %v", err)
			return nil, err
		}
		type outcome struct {
			ExternalUserID string `json:"external_userid"`
			ErrCode        int    `json:"errcode"`
		}
		resp := struct {
			ErrCode  int       `json:"errcode"`
			ErrMsg   string    `json:"errmsg"`
			Customer []outcome `json:"customer"`
		}{ErrMsg: "ok"}
		for _, id := range body.ExternalUserIDs {
			resp.Customer = append(resp.Customer, outcome{ExternalUserID: id})
		}
		b, err := json.Marshal(resp)
		if err != nil {
			return nil, err
		}
		return jsonBody(string(b))(req)
	}
}

func TestTransferCustomersBatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferCustomer, echoCustomers(t))

	var ids, wantDuplicates []string
	for i := range 250 {
		ids = append(ids, fmt.Sprintf("wmBATCH%04d", i))
	}
	// Ten ids given twice, spread over the list.
	for i := 0; i < 250; i += 25 {
		ids = append(ids, ids[i])
		wantDuplicates = append(wantDuplicates, ids[i])
	}
	slices.Reverse(wantDuplicates)
	slices.Reverse(ids)

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: ids,
	})
	if err != nil {
		t.Fatalf("TransferCustomers: %v", err)
	}

	var sizes []int
	sent := map[string]int{}
	for _, r := range rec.all() {
		list := r.body.(map[string]any)["external_userid"].([]any)
		sizes = append(sizes, len(list))
		for _, id := range list {
			sent[id.(string)]++
		}
	}
	slices.Sort(sizes)
	if diff := cmp.Diff([]int{50, 100, 100}, sizes); diff != "" {
		t.Errorf("call sizes mismatch (-want +got):\n%s", diff)
	}
	if len(sent) != 250 {
		t.Errorf("sent %d distinct ids, want 250", len(sent))
	}
	for id, n := range sent {
		if n != 1 {
			t.Errorf("id %s sent %d times, want once", id, n)
		}
	}

	// Items follow the input order, first occurrences only.
	var wantItems []wecom.ItemResult
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			wantItems = append(wantItems, started(id))
		}
	}
	if diff := cmp.Diff(wantItems, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantDuplicates, report.Duplicates); diff != "" {
		t.Errorf("duplicates mismatch (-want +got):\n%s", diff)
	}
	if err := report.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestTransferGroupChatsBatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathOnJobGroupTransfer, jsonFixture(t, "groupchat_onjob_transfer_ok.json"))
	var ids []string
	for i := range 201 {
		ids = append(ids, fmt.Sprintf("wrBATCH%04d", i))
	}

	report, err := h.client.TransferGroupChats(t.Context(), wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: ids})
	if err != nil {
		t.Fatalf("TransferGroupChats: %v", err)
	}

	var sizes []int
	for _, r := range rec.all() {
		sizes = append(sizes, len(r.body.(map[string]any)["chat_id_list"].([]any)))
	}
	slices.Sort(sizes)
	if diff := cmp.Diff([]int{1, 100, 100}, sizes); diff != "" {
		t.Errorf("call sizes mismatch (-want +got):\n%s", diff)
	}
	if n := report.Count(wecom.OutcomeStarted); n != 201 {
		t.Errorf("started = %d, want 201", n)
	}
}
