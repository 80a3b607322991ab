package wecomtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSpecViolations(t *testing.T) {
	t.Parallel()
	ids := func(n int) string {
		b, _ := json.Marshal(testIDs("A", n))
		return string(b)
	}
	tests := []struct {
		name     string
		path     string
		body     string
		want     int
		wantText string // in errmsg when want is 40058
	}{
		{
			name:     "101 ids",
			path:     pathTransferCustomer,
			body:     `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":` + ids(101) + `}`,
			want:     40058,
			wantText: "external_userid",
		},
		{
			name: "100 ids",
			path: pathTransferCustomer,
			body: `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":` + ids(100) + `}`,
			want: 0,
		},
		{
			name:     "101 ids resigned",
			path:     pathResignedTransfer,
			body:     `{"handover_userid":"wangwu","takeover_userid":"lisi","external_userid":` + ids(101) + `}`,
			want:     40058,
			wantText: "external_userid",
		},
		{
			name:     "empty id list",
			path:     pathTransferCustomer,
			body:     `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":[]}`,
			want:     40058,
			wantText: "external_userid",
		},
		{
			name:     "ids as a string",
			path:     pathTransferCustomer,
			body:     `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":"wmTestA0000"}`,
			want:     40058,
			wantText: "external_userid",
		},
		{
			name:     "missing handover",
			path:     pathTransferCustomer,
			body:     `{"takeover_userid":"lisi","external_userid":["wmTestA0000"]}`,
			want:     40058,
			wantText: "handover_userid",
		},
		{
			name:     "empty takeover",
			path:     pathResignedTransfer,
			body:     `{"handover_userid":"wangwu","takeover_userid":"","external_userid":["wmTestR0000"]}`,
			want:     40058,
			wantText: "takeover_userid",
		},
		{
			name:     "success message of 201 characters",
			path:     pathTransferCustomer,
			body:     `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":["wmTestA0000"],"transfer_success_msg":"` + strings.Repeat("您", 201) + `"}`,
			want:     40058,
			wantText: "transfer_success_msg",
		},
		{
			name: "success message of 200 characters",
			path: pathTransferCustomer,
			body: `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":["wmTestA0000"],"transfer_success_msg":"` + strings.Repeat("您", 200) + `"}`,
			want: 0,
		},
		{
			name: "unknown field",
			path: pathTransferCustomer,
			body: `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":["wmTestA0000"],"new_field":1}`,
			want: 0,
		},
		{
			name:     "bad json",
			path:     pathTransferCustomer,
			body:     `{"handover_userid":"zhangsan",`,
			want:     40058,
			wantText: "Warning: wrong json format.",
		},
		{
			name:     "empty body",
			path:     pathTransferCustomer,
			body:     ``,
			want:     40058,
			wantText: "Warning: wrong json format.",
		},
		{
			name:     "page_size 0",
			path:     pathUnassignedList,
			body:     `{"page_size":0}`,
			want:     40058,
			wantText: "page_size",
		},
		{
			name:     "page_size 1001",
			path:     pathUnassignedList,
			body:     `{"page_size":1001}`,
			want:     40058,
			wantText: "page_size",
		},
		{
			name: "page_size 1000",
			path: pathUnassignedList,
			body: `{"page_size":1000}`,
			want: 0,
		},
		{
			name: "unassigned list without fields",
			path: pathUnassignedList,
			body: `{}`,
			want: 0,
		},
		{
			name:     "group list without limit",
			path:     pathGroupChatList,
			body:     `{"cursor":""}`,
			want:     40058,
			wantText: "limit",
		},
		{
			name:     "group list with 101 owners",
			path:     pathGroupChatList,
			body:     `{"limit":10,"owner_filter":{"userid_list":` + ids(101) + `}}`,
			want:     40058,
			wantText: "owner_filter.userid_list",
		},
		{
			name:     "group list with status 4",
			path:     pathGroupChatList,
			body:     `{"limit":10,"status_filter":4}`,
			want:     40058,
			wantText: "status_filter",
		},
		{
			name:     "chat transfer without chats",
			path:     pathOnJobChats,
			body:     `{"chat_id_list":[],"new_owner":"lisi"}`,
			want:     40058,
			wantText: "chat_id_list",
		},
		{
			name:     "chat transfer without new owner",
			path:     pathResignedChats,
			body:     `{"chat_id_list":["wrTest"]}`,
			want:     40058,
			wantText: "new_owner",
		},
		{
			name:     "result without takeover",
			path:     pathResignedResult,
			body:     `{"handover_userid":"wangwu"}`,
			want:     40058,
			wantText: "takeover_userid",
		},
		{
			name:     "array body",
			path:     pathTransferResult,
			body:     `[]`,
			want:     40058,
			wantText: "request body",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c := startServer(t, newTestCorp())
			c.getToken()
			var resp envelopeResp
			c.postRaw(tt.path, url.Values{"access_token": {c.token}}, tt.body, &resp)
			if resp.ErrCode != tt.want {
				t.Fatalf("errcode = %d, want %d (errmsg %q)", resp.ErrCode, tt.want, resp.ErrMsg)
			}
			if !strings.Contains(resp.ErrMsg, tt.wantText) {
				t.Errorf("errmsg %q does not contain %q", resp.ErrMsg, tt.wantText)
			}
			if tt.want != 0 && !strings.Contains(resp.ErrMsg, "from ip: 127.0.0.1, more info at") {
				t.Errorf("errmsg %q lacks WeCom's diagnostic tail", resp.ErrMsg)
			}
		})
	}
}

func TestListExternalContactsWithoutUserID(t *testing.T) {
	t.Parallel()
	_, c := startServer(t, newTestCorp())
	c.getToken()
	var resp envelopeResp
	c.get(pathExternalList, url.Values{"access_token": {c.token}}, &resp)
	if resp.ErrCode != 40058 || !strings.Contains(resp.ErrMsg, "userid") {
		t.Errorf("errcode %d, errmsg %q; want 40058 naming userid", resp.ErrCode, resp.ErrMsg)
	}
}

func TestWrongMethodAndUnknownPath(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newTestCorp())
	c.getToken()

	resp, err := http.Get(srv.URL + pathTransferCustomer + "?access_token=" + url.QueryEscape(c.token))
	if err != nil {
		t.Fatal(err)
	}
	var env envelopeResp
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || env.ErrCode != 40058 {
		t.Errorf("GET on a POST call: HTTP %d, errcode %d; want 200 and 40058", resp.StatusCode, env.ErrCode)
	}

	resp, err = http.Get(srv.URL + "/cgi-bin/no/such/call")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: HTTP %d, want 404", resp.StatusCode)
	}
}
