package wecom_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

func TestInvalidInputSendsNothing(t *testing.T) {
	t.Parallel()
	transfer := func(req wecom.TransferRequest) func(context.Context, *wecom.Client) error {
		return func(ctx context.Context, c *wecom.Client) error {
			_, err := c.TransferCustomers(ctx, req)
			return err
		}
	}
	ids := []string{customerA}
	tests := []struct {
		name      string
		call      func(context.Context, *wecom.Client) error
		wantField string
		wantValue string
	}{
		{"no customers", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi"}), "external_userid", ""},
		{"blank customer id", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi",
			ExternalUserIDs: []string{customerA, "  "}}), "external_userid[1]", "  "},
		{"empty customer id", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi",
			ExternalUserIDs: []string{""}}), "external_userid[0]", ""},
		{"padded customer id", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi",
			ExternalUserIDs: []string{" " + customerA}}), "external_userid[0]", " " + customerA},
		{"empty handover", transfer(wecom.TransferRequest{TakeoverUserID: "lisi", ExternalUserIDs: ids}), "handover_userid", ""},
		{"blank takeover", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: " ", ExternalUserIDs: ids}),
			"takeover_userid", " "},
		{"handover equals takeover", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "zhangsan",
			ExternalUserIDs: ids}), "takeover_userid", "zhangsan"},
		{"ASCII message of 201 characters", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi",
			ExternalUserIDs: ids, SuccessMessage: strings.Repeat("a", 201)}), "success message", strings.Repeat("a", 20) + "…"},
		{"Chinese message of 201 characters", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi",
			ExternalUserIDs: ids, SuccessMessage: strings.Repeat("您", 201)}), "success message", strings.Repeat("您", 20) + "…"},
		{"message not UTF-8", transfer(wecom.TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi",
			ExternalUserIDs: ids, SuccessMessage: "\xff\xfe"}), "success message", ""},
		{"resigned handover equals takeover", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.TransferResignedCustomers(ctx, wecom.ResignedTransferRequest{HandoverUserID: "lisi", TakeoverUserID: "lisi", ExternalUserIDs: ids})
			return err
		}, "takeover_userid", "lisi"},
		{"resigned without customers", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.TransferResignedCustomers(ctx, wecom.ResignedTransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi"})
			return err
		}, "external_userid", ""},
		{"group chats without owner", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.TransferGroupChats(ctx, wecom.GroupChatTransferRequest{ChatIDs: []string{chatA}})
			return err
		}, "new_owner", ""},
		{"group chats without chats", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.TransferResignedGroupChats(ctx, wecom.GroupChatTransferRequest{NewOwner: "lisi"})
			return err
		}, "chat_id_list", ""},
		{"blank chat id", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.TransferGroupChats(ctx, wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: []string{chatA, ""}})
			return err
		}, "chat_id_list[1]", ""},
		{"transfer result without handover", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.TransferResultPage(ctx, "", "lisi", "")
			return err
		}, "handover_userid", ""},
		{"resigned result with same members", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.ResignedTransferResultPage(ctx, "lisi", "lisi", "")
			return err
		}, "takeover_userid", "lisi"},
		{"negative page size", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.UnassignedPage(ctx, "", -1)
			return err
		}, "page size", "-1"},
		{"page size 1001", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.UnassignedPage(ctx, "", 1001)
			return err
		}, "page size", "1001"},
		{"group chat limit 0", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.GroupChatPage(ctx, wecom.GroupChatFilter{}, "", 0)
			return err
		}, "limit", "0"},
		{"group chat limit 1001", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.GroupChatPage(ctx, wecom.GroupChatFilter{}, "", 1001)
			return err
		}, "limit", "1001"},
		{"101 owners", func(ctx context.Context, c *wecom.Client) error {
			owners := make([]string, 101)
			for i := range owners {
				owners[i] = "owner"
			}
			_, err := c.GroupChatPage(ctx, wecom.GroupChatFilter{Owners: owners}, "", 100)
			return err
		}, "owners", ""},
		{"blank owner", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.GroupChatPage(ctx, wecom.GroupChatFilter{Owners: []string{"zhangsan", " "}}, "", 100)
			return err
		}, "owners[1]", " "},
		{"status filter 4", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.GroupChatPage(ctx, wecom.GroupChatFilter{Status: 4}, "", 100)
			return err
		}, "status filter", "4"},
		{"list without userid", func(ctx context.Context, c *wecom.Client) error {
			_, err := c.ListCustomers(ctx, "")
			return err
		}, "userid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)

			err := tt.call(t.Context(), h.client)

			inputErr, ok := errors.AsType[*wecom.InputError](err)
			if !ok {
				t.Fatalf("error = %v (%T), want *wecom.InputError", err, err)
			}
			if inputErr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", inputErr.Field, tt.wantField)
			}
			if inputErr.Value != tt.wantValue {
				t.Errorf("Value = %q, want %q", inputErr.Value, tt.wantValue)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name the field %q", err.Error(), tt.wantField)
			}
			if tt.wantValue != "" && !strings.Contains(err.Error(), tt.wantValue) {
				t.Errorf("error %q does not name the value %q", err.Error(), tt.wantValue)
			}
			if n := h.mt.GetTotalCallCount(); n != 0 {
				t.Errorf("HTTP calls = %d, want 0", n)
			}
		})
	}
}

func TestSuccessMessageCountsCharacters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferCustomer, jsonFixture(t, "transfer_customer_ok.json"))
	// 200 Chinese characters are 600 bytes of UTF-8 and within the limit.
	msg := strings.Repeat("您", 200)

	_, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA, customerB}, SuccessMessage: msg,
	})
	if err != nil {
		t.Fatalf("TransferCustomers: %v", err)
	}

	reqs := rec.all()
	if len(reqs) != 1 {
		t.Fatalf("calls = %d, want 1", len(reqs))
	}
	if got := reqs[0].body.(map[string]any)["transfer_success_msg"]; got != msg {
		t.Errorf("transfer_success_msg = %q, want the 200 characters unchanged", got)
	}
}

func TestSuccessMessageReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	_, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA}, SuccessMessage: strings.Repeat("您", 201),
	})

	inputErr, ok := errors.AsType[*wecom.InputError](err)
	if !ok {
		t.Fatalf("error = %v, want *wecom.InputError", err)
	}
	if !strings.Contains(inputErr.Reason, "201 characters") || !strings.Contains(inputErr.Reason, "200") {
		t.Errorf("Reason = %q, want the count 201 and the limit 200", inputErr.Reason)
	}
}

func TestNewRejectsInvalidSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		new       func() (*wecom.Client, error)
		wantField string
	}{
		{"empty corp ID", func() (*wecom.Client, error) { return wecom.New("", testSecret) }, "corp ID"},
		{"blank secret", func() (*wecom.Client, error) { return wecom.New(testCorpID, "  ") }, "secret"},
		{"nil token source", func() (*wecom.Client, error) { return wecom.NewWithTokenSource(nil) }, "token source"},
		{"zero workers", func() (*wecom.Client, error) { return wecom.New(testCorpID, testSecret, wecom.WithWorkers(0)) }, "workers"},
		{"relative base URL", func() (*wecom.Client, error) {
			return wecom.New(testCorpID, testSecret, wecom.WithBaseURL("qyapi.weixin.qq.com"))
		}, "base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, err := tt.new()

			if client != nil {
				t.Errorf("client = %v, want nil", client)
			}
			inputErr, ok := errors.AsType[*wecom.InputError](err)
			if !ok {
				t.Fatalf("error = %v (%T), want *wecom.InputError", err, err)
			}
			if inputErr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", inputErr.Field, tt.wantField)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q contains the secret", err.Error())
			}
		})
	}
}
