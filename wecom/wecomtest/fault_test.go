package wecomtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/internal/syncbuf"
)

// faultOn returns a FaultFunc that injects f into every call of op.
func faultOn(op string, f Fault) FaultFunc {
	return func(got string, _ int64) Fault {
		if got == op {
			return f
		}
		return Fault{}
	}
}

// rawTransfer sends one on-job transfer of wmTestA0000 with a plain client
// that does not check the response against the spec.
func rawTransfer(t *testing.T, srv *Server, token string) (*http.Response, []byte, error) {
	t.Helper()
	body := `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":["wmTestA0000"]}`
	u := srv.URL + pathTransferCustomer + "?access_token=" + url.QueryEscape(token)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

func TestFaultErrCode(t *testing.T) {
	t.Parallel()
	for _, code := range []int{-1, 6000, 45009, 45033} {
		t.Run(fmt.Sprint("errcode ", code), func(t *testing.T) {
			t.Parallel()
			srv, c := startServer(t, newTestCorp(), WithFaults(faultOn(OpTransferCustomer, Fault{ErrCode: code})))
			c.getToken()
			var resp transferResp
			c.post(pathTransferCustomer, transferBody{Handover: employedA, Takeover: employedB, ExternalID: []string{"wmTestA0000"}}, &resp)
			if resp.ErrCode != code {
				t.Errorf("errcode = %d, want %d", resp.ErrCode, code)
			}
			if !strings.Contains(resp.ErrMsg, "hint: [") {
				t.Errorf("errmsg %q lacks the hint", resp.ErrMsg)
			}
			st := srv.Stats()
			if len(st.TransferStarts) != 0 {
				t.Errorf("TransferStarts = %v, want none: the fault replaces the call", st.TransferStarts)
			}
			if st.Faults != 1 || st.Calls[OpTransferCustomer] != 1 {
				t.Errorf("Faults %d, transfer calls %d; want 1 and 1", st.Faults, st.Calls[OpTransferCustomer])
			}
		})
	}
}

func TestFaultDropBefore(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newTestCorp(), WithFaults(faultOn(OpTransferCustomer, Fault{DropBefore: true})))
	token := c.getToken()
	if _, _, err := rawTransfer(t, srv, token); err == nil {
		t.Fatal("transfer got a response, want the connection dropped")
	}
	if starts := srv.Stats().TransferStarts; len(starts) != 0 {
		t.Errorf("TransferStarts = %v, want none", starts)
	}
	if recs := srv.TransferRecords(employedA, employedB); len(recs) != 0 {
		t.Errorf("TransferRecords = %+v, want none", recs)
	}
}

func TestFaultDropAfter(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newTestCorp(), WithFaults(faultOn(OpTransferCustomer, Fault{DropAfter: true})))
	token := c.getToken()
	if _, _, err := rawTransfer(t, srv, token); err == nil {
		t.Fatal("transfer got a response, want the connection dropped")
	}
	if got := srv.Stats().TransferStarts["wmTestA0000"]; got != 1 {
		t.Errorf("TransferStarts of the customer = %d, want 1: the call took effect", got)
	}
	recs := srv.TransferRecords(employedA, employedB)
	if len(recs) != 1 || recs[0].Status != 2 {
		t.Errorf("TransferRecords = %+v, want one waiting record", recs)
	}
}

func TestFaultBadGateway(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newTestCorp(), WithFaults(faultOn(OpTransferCustomer, Fault{BadGateway: true})))
	token := c.getToken()
	resp, body, err := rawTransfer(t, srv, token)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("HTTP status %d, want 502", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html" {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	if !bytes.Contains(body, []byte("502 Bad Gateway")) {
		t.Errorf("body %q is not a gateway page", body)
	}
	if starts := srv.Stats().TransferStarts; len(starts) != 0 {
		t.Errorf("TransferStarts = %v, want none", starts)
	}
}

func TestFaultTextPlain(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newTestCorp(), WithFaults(faultOn(OpTransferCustomer, Fault{TextPlain: true})))
	token := c.getToken()
	resp, body, err := rawTransfer(t, srv, token)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	var out transferResp
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if out.ErrCode != 0 || len(out.Customer) != 1 || out.Customer[0].ErrCode != 0 {
		t.Errorf("response %s, want a normal success", body)
	}
	if got := srv.Stats().TransferStarts["wmTestA0000"]; got != 1 {
		t.Errorf("TransferStarts of the customer = %d, want 1", got)
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"fault latency", []Option{WithFaults(faultOn(OpTransferCustomer, Fault{Latency: 60 * time.Millisecond}))}, 60 * time.Millisecond},
		{"global latency", []Option{WithLatency(40 * time.Millisecond)}, 40 * time.Millisecond},
		{"both", []Option{WithLatency(20 * time.Millisecond), WithFaults(faultOn(OpTransferCustomer, Fault{Latency: 30 * time.Millisecond}))}, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c := startServer(t, newTestCorp(), tt.opts...)
			c.getToken()
			start := time.Now()
			var resp transferResp
			c.post(pathTransferCustomer, transferBody{Handover: employedA, Takeover: employedB, ExternalID: []string{"wmTestA0000"}}, &resp)
			if elapsed := time.Since(start); elapsed < tt.want {
				t.Errorf("call took %v, want at least %v", elapsed, tt.want)
			}
			if resp.ErrCode != 0 {
				t.Errorf("errcode = %d, want 0", resp.ErrCode)
			}
		})
	}
}

func TestFaultFuncArguments(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	record := func(op string, seq int64) Fault {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s#%d", op, seq))
		return Fault{}
	}
	_, c := startServer(t, newTestCorp(), WithFaults(record))
	c.getToken()
	var resp resultResp
	c.post(pathTransferResult, resultBody{Handover: employedA, Takeover: employedB}, &resp)
	c.post(pathUnassignedList, map[string]any{}, &unassignedResp{})

	want := []string{OpGetToken + "#1", OpTransferResult + "#2", OpGetUnassignedList + "#3"}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("FaultFunc calls = %v, want %v", got, want)
	}
}

func TestRevokeEvery(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newTestCorp(), WithRevokeEvery(3))
	token := c.getToken() // call 1
	body := `{"handover_userid":"zhangsan","takeover_userid":"lisi"}`
	want := []int{0, 40014} // calls 2 and 3; tokens are revoked before call 3
	for i, code := range want {
		var resp envelopeResp
		c.postRaw(pathTransferResult, url.Values{"access_token": {token}}, body, &resp)
		if resp.ErrCode != code {
			t.Errorf("call %d: errcode %d, want %d", i+2, resp.ErrCode, code)
		}
	}
	if got := srv.Stats().TokensIssued; got != 1 {
		t.Errorf("TokensIssued = %d, want 1", got)
	}
}

func TestRevokeTokensKeepsNewOnes(t *testing.T) {
	t.Parallel()
	srv, c := startServer(t, newTestCorp())
	old := c.getToken()
	srv.RevokeTokens()
	fresh := c.getToken()
	body := `{"handover_userid":"zhangsan","takeover_userid":"lisi"}`
	for token, want := range map[string]int{old: 40014, fresh: 0} {
		var resp envelopeResp
		c.postRaw(pathTransferResult, url.Values{"access_token": {token}}, body, &resp)
		if resp.ErrCode != want {
			t.Errorf("errcode %d, want %d", resp.ErrCode, want)
		}
	}
}

func TestLoggerGetsFaultsAndCalls(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, c := startServer(t, newTestCorp(), WithLogger(logger), WithFaults(faultOn(OpTransferResult, Fault{ErrCode: -1})))
	token := c.getToken()
	var resp envelopeResp
	c.postRaw(pathTransferResult, url.Values{"access_token": {token}}, `{"handover_userid":"zhangsan","takeover_userid":"lisi"}`, &resp)

	out := buf.String()
	for _, want := range []string{"op=getToken", "injecting fault", "op=transferResult", "errcode=-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, token) || strings.Contains(out, DefaultSecret) {
		t.Errorf("log contains the token or the secret:\n%s", out)
	}
}

// syncBuffer is a buffer safe for one writer and one reader.
type syncBuffer = syncbuf.Buffer
