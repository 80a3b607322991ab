package wecom_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

func TestTokenNotShownInBadGettokenBody(t *testing.T) {
	t.Parallel()
	h := newMockOnly(t)
	h.spec.AllowBadResponses()
	// Pretty-printed, with a string where expires_in needs a number, so
	// decoding fails on a body that holds a token.
	h.onGetToken(httpmock.NewStringResponder(200, "{\n  \"errcode\" : 0,\n  \"access_token\" : \""+testToken+"\",\n  \"expires_in\" : \"7200\"\n}"))
	client, err := wecom.New(testCorpID, testSecret,
		wecom.WithHTTPClient(&http.Client{Transport: h.spec}), wecom.WithRetryPolicy(fastRetry), wecom.WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}

	_, err = client.Token(t.Context())
	if _, ok := errors.AsType[*wecom.ResponseError](err); !ok {
		t.Fatalf("error = %v (%T), want *wecom.ResponseError", err, err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", err, err), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
	if !strings.Contains(err.Error(), "not shown") {
		t.Errorf("error = %v, want it to say the body is not shown", err)
	}
}

func TestTokenScrubbedFromExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"bare token in gateway page", "<html>502 Bad Gateway for token " + testToken + "</html>"},
		{"json with spaces", `{"errcode" : 0, "echo": {"access_token" : "` + testToken + `"}, "customer": "x"}`},
		{"python dict", `{'access_token': '` + testToken + `'} not json`},
		{"escaped equals", `<p>access_token&#61;` + testToken + `</p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, wecom.WithRetryPolicy(wecom.RetryPolicy{}))
			h.spec.AllowBadResponses()
			h.on(pathTransferResult, httpmock.NewStringResponder(502, tt.body))

			_, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", "")
			if err == nil {
				t.Fatal("no error for a bad body")
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestClientStringHidesProxyPassword(t *testing.T) {
	t.Parallel()
	client, err := wecom.New(testCorpID, testSecret, wecom.WithBaseURL("http://proxyuser:PROXY-PASS-test@127.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(format, client); strings.Contains(got, "PROXY-PASS-test") {
			t.Errorf("%s of the client = %q, shows the password", format, got)
		}
	}
}

func TestNewRejectsBadBaseURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want string
	}{
		{"ftp://127.0.0.1:1", "http or https"},
		{"https://qyapi.weixin.qq.com/cgi-bin", "ends in /cgi-bin"},
		{"https://qyapi.weixin.qq.com/cgi-bin/", "ends in /cgi-bin"},
		{"https://proxy.example.test/?a=1", "query or fragment"},
	}
	for _, tt := range tests {
		_, err := wecom.New(testCorpID, testSecret, wecom.WithBaseURL(tt.url))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New with base URL %q: error = %v, want it to contain %q", tt.url, err, tt.want)
		}
	}
}

func TestHugeExpiresInCapped(t *testing.T) {
	t.Parallel()
	h := newMockOnly(t)
	h.onGetToken(jsonBody(`{"errcode":0,"errmsg":"ok","access_token":"` + testToken + `","expires_in":99999999999}`))
	client, err := wecom.New(testCorpID, testSecret,
		wecom.WithHTTPClient(&http.Client{Transport: h.spec}), wecom.WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}

	tok, err := client.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if life := time.Until(tok.ExpiresAt); life > 24*time.Hour || life < 23*time.Hour {
		t.Errorf("token lifetime = %s, want it capped at 24h", life)
	}
}

func TestRateLimitPastDeadlineIsDeadlineError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, wecom.WithRateLimit(60)) // one call a second, burst 1
	h.on(pathTransferResult, jsonFixture(t, "transfer_result_page1.json"))

	if _, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := h.client.TransferResultPage(ctx, "zhangsan", "lisi", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want it to match context.DeadlineExceeded", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "wecom: ") {
		t.Errorf("error = %q, want the wecom: prefix", err)
	}
}

func TestOnBatchPanicReachesCaller(t *testing.T) {
	t.Parallel()
	h := newHarness(t, wecom.WithWorkers(2))
	h.on(pathTransferCustomer, echoCustomers(t))
	ids := make([]string, 350)
	for i := range ids {
		ids[i] = fmt.Sprintf("wmPanicTest%04d", i)
	}

	recovered := func() (p any) {
		defer func() { p = recover() }()
		h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
			HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: ids,
			OnBatch: func([]wecom.ItemResult) { panic("callback failed") },
		})
		return nil
	}()
	if recovered != "callback failed" {
		t.Errorf("recovered %v, want the callback's panic value", recovered)
	}
}

func TestUnassignedLastPageHasNoCursor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(pathUnassignedList, jsonBody(`{"errcode":0,"errmsg":"ok","info":[],"is_last":true,"next_cursor":"stale"}`))

	page, err := h.client.UnassignedPage(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if page.NextCursor != "" {
		t.Errorf("NextCursor = %q on the last page, want empty", page.NextCursor)
	}
}
