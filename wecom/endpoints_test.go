package wecom_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

const successMessage = "您好，您的服务已升级，后续将由我的同事李四@腾讯接替我的工作，继续为您服务。"

const (
	customerA = "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"
	customerB = "woAJ2GCAAAXtWyujaWJHDDGi0mACBBBB"
	chatA     = "wrOgQhDgAAcwMTB7YmDkbeBsgT_KAAAA"
	chatB     = "wrOgQhDgAAMYQiS5ol9G7gK9JVQUAAAA"
)

func started(id string) wecom.ItemResult {
	return wecom.ItemResult{ID: id, Outcome: wecom.OutcomeStarted}
}

func TestEndpointsHappyPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		fixture  string
		call     func(ctx context.Context, c *wecom.Client) (any, error)
		wantBody string
		want     any
	}{
		{
			name:    "transfer customers",
			path:    pathTransferCustomer,
			fixture: "transfer_customer_ok.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.TransferCustomers(ctx, wecom.TransferRequest{
					HandoverUserID:  "zhangsan",
					TakeoverUserID:  "lisi",
					ExternalUserIDs: []string{customerA, customerB},
					SuccessMessage:  successMessage,
				})
			},
			wantBody: `{"handover_userid":"zhangsan","takeover_userid":"lisi",
				"external_userid":["` + customerA + `","` + customerB + `"],
				"transfer_success_msg":"` + successMessage + `"}`,
			want: &wecom.TransferReport{Kind: "customers", Items: []wecom.ItemResult{started(customerA), started(customerB)}},
		},
		{
			name:    "transfer customers without success message",
			path:    pathTransferCustomer,
			fixture: "transfer_customer_ok.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.TransferCustomers(ctx, wecom.TransferRequest{
					HandoverUserID:  "zhangsan",
					TakeoverUserID:  "lisi",
					ExternalUserIDs: []string{customerA, customerB},
				})
			},
			wantBody: `{"handover_userid":"zhangsan","takeover_userid":"lisi",
				"external_userid":["` + customerA + `","` + customerB + `"]}`,
			want: &wecom.TransferReport{Kind: "customers", Items: []wecom.ItemResult{started(customerA), started(customerB)}},
		},
		{
			name:    "transfer resigned customers",
			path:    pathResignedTransfer,
			fixture: "resigned_transfer_customer_ok.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.TransferResignedCustomers(ctx, wecom.ResignedTransferRequest{
					HandoverUserID:  "zhangsan",
					TakeoverUserID:  "lisi",
					ExternalUserIDs: []string{customerB, customerA},
				})
			},
			wantBody: `{"handover_userid":"zhangsan","takeover_userid":"lisi",
				"external_userid":["` + customerB + `","` + customerA + `"]}`,
			want: &wecom.TransferReport{Kind: "customers", Items: []wecom.ItemResult{started(customerB), started(customerA)}},
		},
		{
			name:    "transfer group chats",
			path:    pathOnJobGroupTransfer,
			fixture: "groupchat_onjob_transfer_ok.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.TransferGroupChats(ctx, wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: []string{chatA, chatB}})
			},
			wantBody: `{"chat_id_list":["` + chatA + `","` + chatB + `"],"new_owner":"lisi"}`,
			want:     &wecom.TransferReport{Kind: "group chats", Items: []wecom.ItemResult{started(chatA), started(chatB)}},
		},
		{
			name:    "transfer resigned group chats",
			path:    pathResignedGroupTransfer,
			fixture: "groupchat_onjob_transfer_ok.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.TransferResignedGroupChats(ctx, wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: []string{chatB}})
			},
			wantBody: `{"chat_id_list":["` + chatB + `"],"new_owner":"lisi"}`,
			want:     &wecom.TransferReport{Kind: "group chats", Items: []wecom.ItemResult{started(chatB)}},
		},
		{
			name:    "transfer result first page",
			path:    pathTransferResult,
			fixture: "transfer_result_page1.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.TransferResultPage(ctx, "zhangsan", "lisi", "")
			},
			wantBody: `{"handover_userid":"zhangsan","takeover_userid":"lisi"}`,
			want: &wecom.TakeoverPage{
				Customers: []wecom.Takeover{
					{ExternalUserID: customerB, Status: wecom.StatusComplete, TakeoverTime: time.Unix(1588262400, 0)},
					{ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACCCCC", Status: wecom.StatusWaiting, TakeoverTime: time.Unix(1588482400, 0)},
					{ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACDDDD", Status: wecom.StatusRefused},
				},
				NextCursor: "NEXT_CURSOR",
			},
		},
		{
			name:    "resigned transfer result with cursor",
			path:    pathResignedTransferResult,
			fixture: "resigned_transfer_result.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.ResignedTransferResultPage(ctx, "zhangsan", "lisi", "CURSOR")
			},
			wantBody: `{"handover_userid":"zhangsan","takeover_userid":"lisi","cursor":"CURSOR"}`,
			want: &wecom.TakeoverPage{Customers: []wecom.Takeover{
				{ExternalUserID: "wmckGjJwAA2m9rTtJQ7L_uAy4Zus_RPQ", Status: wecom.StatusComplete, TakeoverTime: time.Unix(1664612338, 0)},
			}},
		},
		{
			name:    "unassigned list with defaults",
			path:    pathUnassignedList,
			fixture: "get_unassigned_list_page1.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.UnassignedPage(ctx, "", 0)
			},
			wantBody: `{}`,
			want: &wecom.UnassignedPage{
				Customers: []wecom.UnassignedCustomer{
					{HandoverUserID: "zhangsan", ExternalUserID: "woAJ2GCAAAd4uL12hdfsdasassdDmAAAAA", DimissionTime: time.Unix(1550838571, 0)},
					{HandoverUserID: "lisi", ExternalUserID: "wmAJ2GCAAAzLTI123ghsdfoGZNqqAAAA", DimissionTime: time.Unix(1550661468, 0)},
				},
				NextCursor: "aSfwejksvhToiMMfFeIGZZ",
			},
		},
		{
			name:    "unassigned list with cursor and page size",
			path:    pathUnassignedList,
			fixture: "get_unassigned_list_page2.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.UnassignedPage(ctx, "aSfwejksvhToiMMfFeIGZZ", 100)
			},
			wantBody: `{"cursor":"aSfwejksvhToiMMfFeIGZZ","page_size":100}`,
			want: &wecom.UnassignedPage{
				Customers: []wecom.UnassignedCustomer{
					{HandoverUserID: "wangwu", ExternalUserID: "wmAJ2GCAAAzLTI123ghsdfoGZNqqBBBB", DimissionTime: time.Unix(1550661468, 0)},
				},
				IsLast: true,
			},
		},
		{
			name:    "group chat list without filter",
			path:    pathGroupChatList,
			fixture: "groupchat_list_page2.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				return c.GroupChatPage(ctx, wecom.GroupChatFilter{}, "", 1000)
			},
			wantBody: `{"limit":1000}`,
			want: &wecom.GroupChatPage{GroupChats: []wecom.GroupChat{
				{ChatID: "wrOgQhDgAAMYQiS5ol9G7gK9JVBBBB", Status: wecom.GroupChatOwnerResigned},
			}},
		},
		{
			name:    "group chat list with filter",
			path:    pathGroupChatList,
			fixture: "groupchat_list_page1.json",
			call: func(ctx context.Context, c *wecom.Client) (any, error) {
				filter := wecom.GroupChatFilter{Owners: []string{"zhangsan", "wangwu"}, Status: wecom.GroupChatOwnerResigned}
				return c.GroupChatPage(ctx, filter, "r9FqSqsI8fgNbHLHE5QoCP50UIg2cFQbfma3l2QsmwI", 100)
			},
			wantBody: `{"status_filter":1,"owner_filter":{"userid_list":["zhangsan","wangwu"]},
				"cursor":"r9FqSqsI8fgNbHLHE5QoCP50UIg2cFQbfma3l2QsmwI","limit":100}`,
			want: &wecom.GroupChatPage{
				GroupChats: []wecom.GroupChat{
					{ChatID: "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", Status: wecom.GroupChatOwnerResigned},
					{ChatID: "wrOgQhDgAAcwMTB7YmDkbeBsAAAA", Status: wecom.GroupChatOwnerResigned},
				},
				NextCursor: "tJzlB9tdqfh-g7i_J-ehOz_TWcd7dSKa39_AqCIeMFw",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			rec := h.on(tt.path, jsonFixture(t, tt.fixture))

			got, err := tt.call(t.Context(), h.client)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}

			reqs := rec.all()
			if len(reqs) != 1 {
				t.Fatalf("%s got %d requests, want 1", tt.path, len(reqs))
			}
			checkBody(t, reqs[0].raw, tt.wantBody)
			if reqs[0].contentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", reqs[0].contentType)
			}
			if diff := cmp.Diff(url.Values{"access_token": {testToken}}, reqs[0].query); diff != "" {
				t.Errorf("query mismatch (-want +got):\n%s", diff)
			}
			if n := h.gettoken.count(); n != 1 {
				t.Errorf("gettoken calls = %d, want 1", n)
			}
		})
	}
}

func TestListCustomers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		want    []string
	}{
		{"two customers", "list_ok.json", []string{customerA, "wmqfasd1e1927831123109rBAAAA"}},
		{"no customers 84061", "list_84061.json", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			rec := &recorder{}
			query := url.Values{"access_token": {testToken}, "userid": {"zhangsan"}}
			h.mt.RegisterResponderWithQuery(http.MethodGet, apiBase+pathList, query, rec.wrap(jsonFixture(t, tt.fixture)))

			got, err := h.client.ListCustomers(t.Context(), "zhangsan")
			if err != nil {
				t.Fatalf("ListCustomers: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListCustomers mismatch (-want +got):\n%s", diff)
			}
			if got == nil {
				t.Error("ListCustomers returned nil, want a non-nil slice")
			}
			if n := rec.count(); n != 1 {
				t.Errorf("list calls = %d, want 1", n)
			}
			if raw := rec.all()[0].raw; raw != "" {
				t.Errorf("GET body = %q, want none", raw)
			}
		})
	}
}
