package spectest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/wecom-transfer/wecom-transfer/internal/spectest"
)

const (
	apiHost          = "https://qyapi.weixin.qq.com"
	transferCustomer = "/cgi-bin/externalcontact/transfer_customer"
	validTransfer    = `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":["woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"]}`
	validAnswer      = `{"errcode":0,"errmsg":"ok","customer":[{"external_userid":"woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA","errcode":0}]}`
)

// recordingTB captures Errorf calls instead of failing the test.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// send posts body to path through a Validator in front of a mock transport
// that replies with responder, and returns the body the client reads.
func send(t *testing.T, tb testing.TB, path, query, body string, responder httpmock.Responder) (*spectest.Validator, string) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(responder)
	v := spectest.Transport(tb, mt)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, apiHost+path+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: v}).Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return v, string(got)
}

func jsonResponder(status int, contentType, body string) httpmock.Responder {
	return httpmock.NewStringResponder(status, body).HeaderSet(http.Header{"Content-Type": {contentType}})
}

func TestTransportReportsViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		query    string
		body     string
		response httpmock.Responder
		want     []string // substrings of the reported errors, one per error
	}{
		{
			name:     "valid call",
			path:     transferCustomer,
			query:    "?access_token=tok",
			body:     validTransfer,
			response: jsonResponder(200, "application/json; charset=UTF-8", validAnswer),
		},
		{
			name:     "text/plain JSON is checked",
			path:     transferCustomer,
			query:    "?access_token=tok",
			body:     validTransfer,
			response: jsonResponder(200, "text/plain", `{"errcode":"0","errmsg":"ok"}`),
			want:     []string{"response breaks the spec"},
		},
		{
			name:     "missing access_token",
			path:     transferCustomer,
			body:     validTransfer,
			response: jsonResponder(200, "application/json", validAnswer),
			want:     []string{`missing query "access_token"`},
		},
		{
			name:     "missing required field",
			path:     transferCustomer,
			query:    "?access_token=tok",
			body:     `{"handover_userid":"zhangsan","external_userid":["wm1"]}`,
			response: jsonResponder(200, "application/json", validAnswer),
			want:     []string{"takeover_userid"},
		},
		{
			name:     "null in an optional field",
			path:     transferCustomer,
			query:    "?access_token=tok",
			body:     `{"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":["wm1"],"transfer_success_msg":null}`,
			response: jsonResponder(200, "application/json", validAnswer),
			want:     []string{"transfer_success_msg"},
		},
		{
			name:     "unknown path",
			path:     "/cgi-bin/externalcontact/transfer",
			query:    "?access_token=tok",
			body:     validTransfer,
			response: jsonResponder(200, "application/json", validAnswer),
			want:     []string{"no operation in the spec"},
		},
		{
			name:     "undocumented status is not checked",
			path:     transferCustomer,
			query:    "?access_token=tok",
			body:     validTransfer,
			response: jsonResponder(503, "application/json", `{"message":"unavailable"}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := &recordingTB{TB: t}
			v, _ := send(t, tb, tt.path, tt.query, tt.body, tt.response)

			got := tb.messages()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors %q, want %d matching %q", len(got), got, len(tt.want), tt.want)
			}
			for i, want := range tt.want {
				if !strings.Contains(got[i], want) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], want)
				}
			}
			if v.Requests() != 1 {
				t.Errorf("Requests() = %d, want 1", v.Requests())
			}
		})
	}
}

func TestTransportSkipsNonJSONBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"HTML page", "<html><body><h1>502 Bad Gateway</h1></body></html>"},
		{"empty body", ""},
		{"truncated JSON", `{"errcode":0,"errmsg":"ok","customer":[{"external_`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := &recordingTB{TB: t}
			v, got := send(t, tb, transferCustomer, "?access_token=tok", validTransfer,
				jsonResponder(200, "text/html", tt.body))

			if errs := tb.messages(); len(errs) != 0 {
				t.Errorf("errors = %q, want none", errs)
			}
			if got != tt.body {
				t.Errorf("client read %q, want the body unchanged: %q", got, tt.body)
			}
			skipped := v.Skipped()
			if len(skipped) != 1 {
				t.Fatalf("Skipped() = %+v, want one entry", skipped)
			}
			if skipped[0].Operation != "transferCustomer" || skipped[0].Status != 200 {
				t.Errorf("Skipped()[0] = %+v, want transferCustomer with status 200", skipped[0])
			}
		})
	}
}

func TestTransportAllowBadResponses(t *testing.T) {
	t.Parallel()
	tb := &recordingTB{TB: t}
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(jsonResponder(200, "application/json", `{"errcode":0,"errmsg":"ok","customer":[{"external_userid":7}]}`))
	v := spectest.Transport(tb, mt).AllowBadResponses()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, apiHost+transferCustomer+"?access_token=tok", strings.NewReader(validTransfer))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: v}).Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp.Body.Close()

	if errs := tb.messages(); len(errs) != 0 {
		t.Errorf("errors = %q, want none", errs)
	}
	if n := len(v.ResponseViolations()); n != 1 {
		t.Errorf("ResponseViolations() has %d entries, want 1", n)
	}
}

func TestTransportLoopbackServer(t *testing.T) {
	t.Parallel()
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/cgi-bin/gettoken" {
			io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"accesstoken000001","expires_in":7200}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		io.WriteString(w, validAnswer)
	}))
	t.Cleanup(srv.Close)
	tb := &recordingTB{TB: t}
	client := &http.Client{Transport: spectest.Transport(tb, srv.Client().Transport)}

	resp, err := client.Get(srv.URL + "/cgi-bin/gettoken?corpid=ww1&corpsecret=s")
	if err != nil {
		t.Fatalf("gettoken: %v", err)
	}
	resp.Body.Close()
	resp, err = client.Post(srv.URL+transferCustomer+"?access_token=tok", "application/json", strings.NewReader(validTransfer))
	if err != nil {
		t.Fatalf("transfer_customer: %v", err)
	}
	resp.Body.Close()
	resp, err = client.Get(srv.URL + "/cgi-bin/gettoken?corpid=ww1")
	if err != nil {
		t.Fatalf("gettoken without secret: %v", err)
	}
	resp.Body.Close()

	errs := tb.messages()
	if len(errs) != 1 || !strings.Contains(errs[0], "corpsecret") {
		t.Errorf("errors = %q, want one about the missing corpsecret", errs)
	}
	if gotBody != validTransfer {
		t.Errorf("server got body %q, want %q", gotBody, validTransfer)
	}
}
