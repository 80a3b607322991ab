package wecomtest

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGetToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query url.Values
		want  int
	}{
		{"valid", url.Values{"corpid": {DefaultCorpID}, "corpsecret": {DefaultSecret}}, 0},
		{"wrong secret", url.Values{"corpid": {DefaultCorpID}, "corpsecret": {"other-secret"}}, 40001},
		{"wrong corpid", url.Values{"corpid": {"wwother"}, "corpsecret": {DefaultSecret}}, 40013},
		{"missing corpid", url.Values{"corpsecret": {DefaultSecret}}, 41002},
		{"empty corpid", url.Values{"corpid": {""}, "corpsecret": {DefaultSecret}}, 41002},
		{"missing secret", url.Values{"corpid": {DefaultCorpID}}, 41004},
		{"missing both", url.Values{}, 41002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, NewCorp())
			var resp struct {
				ErrCode     int    `json:"errcode"`
				ErrMsg      string `json:"errmsg"`
				AccessToken string `json:"access_token"`
				ExpiresIn   int64  `json:"expires_in"`
			}
			c.get(pathGetToken, tt.query, &resp)
			if resp.ErrCode != tt.want {
				t.Fatalf("errcode = %d, want %d (errmsg %q)", resp.ErrCode, tt.want, resp.ErrMsg)
			}
			wantIssued := 0
			if tt.want == 0 {
				wantIssued = 1
				if resp.AccessToken == "" || resp.ExpiresIn != 7200 {
					t.Errorf("access_token %q, expires_in %d; want a token and 7200", resp.AccessToken, resp.ExpiresIn)
				}
			} else {
				if resp.AccessToken != "" {
					t.Errorf("access_token = %q on errcode %d, want none", resp.AccessToken, resp.ErrCode)
				}
				if !strings.Contains(resp.ErrMsg, "more info at https://open.work.weixin.qq.com/devtool/query?e=") {
					t.Errorf("errmsg %q lacks WeCom's help link", resp.ErrMsg)
				}
				if strings.Contains(resp.ErrMsg, "other-secret") {
					t.Errorf("errmsg %q repeats the secret", resp.ErrMsg)
				}
			}
			if got := srv.Stats().TokensIssued; got != wantIssued {
				t.Errorf("TokensIssued = %d, want %d", got, wantIssued)
			}
		})
	}
}

func TestGetTokenTTLAndFreshTokens(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, NewCorp(), WithTokenTTL(90*time.Minute))
	var first, second struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	q := url.Values{"corpid": {srv.CorpID}, "corpsecret": {srv.Secret}}
	c.get(pathGetToken, q, &first)
	c.get(pathGetToken, q, &second)
	if first.ExpiresIn != 5400 {
		t.Errorf("expires_in = %d, want 5400", first.ExpiresIn)
	}
	if first.AccessToken == second.AccessToken {
		t.Errorf("two gettoken calls returned the same token")
	}
	if strings.Contains(first.AccessToken, srv.Secret) {
		t.Errorf("token %q contains the secret", first.AccessToken)
	}
	if got := srv.Stats().TokensIssued; got != 2 {
		t.Errorf("TokensIssued = %d, want 2", got)
	}
}

func TestAccessTokenChecks(t *testing.T) {
	t.Parallel()
	body := `{"handover_userid":"zhangsan","takeover_userid":"lisi","cursor":""}`
	tests := []struct {
		name  string
		query func(srv *Server, token string) url.Values
		body  string
		want  int
	}{
		{
			name:  "valid",
			query: func(_ *Server, token string) url.Values { return url.Values{"access_token": {token}} },
			want:  0,
		},
		{
			name:  "missing",
			query: func(*Server, string) url.Values { return url.Values{} },
			want:  41001,
		},
		{
			name:  "in body",
			query: func(*Server, string) url.Values { return url.Values{} },
			body:  `{"access_token":"sandbox-token.X","handover_userid":"zhangsan","takeover_userid":"lisi"}`,
			want:  41001,
		},
		{
			name:  "unknown",
			query: func(*Server, string) url.Values { return url.Values{"access_token": {"sandbox-token.UNKNOWN"}} },
			want:  40014,
		},
		{
			name: "revoked",
			query: func(srv *Server, token string) url.Values {
				if n := srv.RevokeTokens(); n != 1 {
					t.Errorf("RevokeTokens = %d, want 1", n)
				}
				return url.Values{"access_token": {token}}
			},
			want: 40014,
		},
		{
			name: "expired",
			query: func(srv *Server, token string) url.Values {
				srv.Advance(DefaultTokenTTL)
				return url.Values{"access_token": {token}}
			},
			want: 42001,
		},
		{
			name: "one second before expiry",
			query: func(srv *Server, token string) url.Values {
				srv.Advance(DefaultTokenTTL - time.Second)
				return url.Values{"access_token": {token}}
			},
			want: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newTestCorp())
			token := c.getToken()
			reqBody := tt.body
			if reqBody == "" {
				reqBody = body
			}
			var resp envelopeResp
			c.postRaw(pathTransferResult, tt.query(srv, token), reqBody, &resp)
			if resp.ErrCode != tt.want {
				t.Errorf("errcode = %d, want %d (errmsg %q)", resp.ErrCode, tt.want, resp.ErrMsg)
			}
		})
	}
}

func TestAccessTokenCheckedBeforeBody(t *testing.T) {
	t.Parallel()
	_, c := startServer(t, newTestCorp())
	var resp envelopeResp
	c.postRaw(pathTransferCustomer, url.Values{}, `{not json`, &resp)
	if resp.ErrCode != 41001 {
		t.Errorf("errcode = %d, want 41001 (errmsg %q)", resp.ErrCode, resp.ErrMsg)
	}
}
