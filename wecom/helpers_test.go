package wecom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/wecom-transfer/wecom-transfer/internal/spectest"
	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// Fake credentials. They look nothing like real ones so that a leak is easy
// to spot, and the secrets test searches every output for them.
const (
	testCorpID = "wwTESTCORP0000001"
	testSecret = "TEST-ONLY-SECRET-abc"
	testToken  = "TEST-ONLY-TOKEN-xyz"
)

const apiBase = "https://qyapi.weixin.qq.com"

// Endpoint paths.
const (
	pathGetToken               = "/cgi-bin/gettoken"
	pathList                   = "/cgi-bin/externalcontact/list"
	pathGroupChatList          = "/cgi-bin/externalcontact/groupchat/list"
	pathTransferCustomer       = "/cgi-bin/externalcontact/transfer_customer"
	pathTransferResult         = "/cgi-bin/externalcontact/transfer_result"
	pathOnJobGroupTransfer     = "/cgi-bin/externalcontact/groupchat/onjob_transfer"
	pathUnassignedList         = "/cgi-bin/externalcontact/get_unassigned_list"
	pathResignedTransfer       = "/cgi-bin/externalcontact/resigned/transfer_customer"
	pathResignedTransferResult = "/cgi-bin/externalcontact/resigned/transfer_result"
	pathResignedGroupTransfer  = "/cgi-bin/externalcontact/groupchat/transfer"
)

// fastRetry keeps every retry and rate-limit pause of a test to a few
// milliseconds.
var fastRetry = wecom.RetryPolicy{
	MaxRetries:        3,
	BaseDelay:         time.Millisecond,
	MaxDelay:          2 * time.Millisecond,
	RateLimitWait:     2 * time.Millisecond,
	MaxRateLimitWaits: 2,
}

// harness is a client whose requests go through spectest to a mock
// transport of its own.
type harness struct {
	mt       *httpmock.MockTransport
	spec     *spectest.Validator
	client   *wecom.Client
	gettoken *recorder
}

// newHarness returns a client for testCorpID and testSecret. Its gettoken
// issues testToken, and every other endpoint must be registered with on.
// The options come after the harness's own, so they win.
func newHarness(t *testing.T, opts ...wecom.Option) *harness {
	t.Helper()
	h := newMockOnly(t)
	base := []wecom.Option{
		wecom.WithHTTPClient(&http.Client{Transport: h.spec}),
		wecom.WithRetryPolicy(fastRetry),
		wecom.WithRateLimit(0),
	}
	client, err := wecom.New(testCorpID, testSecret, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.client = client
	h.onGetToken(jsonFixture(t, "gettoken_ok.json"))
	return h
}

// newMockOnly returns a harness without a client, for tests that build
// their own.
func newMockOnly(t *testing.T) *harness {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", req.Method, req.URL.Path)
		return nil, errors.New("no responder for this request")
	})
	return &harness{mt: mt, spec: spectest.Transport(t, mt), gettoken: &recorder{}}
}

// onGetToken makes gettoken with testCorpID and testSecret respond with r.
func (h *harness) onGetToken(r httpmock.Responder) {
	query := url.Values{"corpid": {testCorpID}, "corpsecret": {testSecret}}
	h.mt.RegisterResponderWithQuery(http.MethodGet, apiBase+pathGetToken, query, h.gettoken.wrap(r))
}

// on makes POST path with access_token=testToken respond with r and returns
// the recorder of those requests. A request with another token, or any
// other query parameter, finds no responder and fails the test.
func (h *harness) on(path string, r httpmock.Responder) *recorder {
	return h.onToken(path, testToken, r)
}

// onToken is on for another access token.
func (h *harness) onToken(path, token string, r httpmock.Responder) *recorder {
	rec := &recorder{}
	h.mt.RegisterResponderWithQuery(http.MethodPost, apiBase+path, url.Values{"access_token": {token}}, rec.wrap(r))
	return rec
}

// recorded is one request seen by a recorder.
type recorded struct {
	query       url.Values
	contentType string
	raw         string // the body as sent
	body        any    // the body decoded from JSON, nil if there is none
}

// recorder keeps the requests that reach a responder.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
}

func (r *recorder) wrap(next httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		rec := recorded{query: req.URL.Query(), contentType: req.Header.Get("Content-Type")}
		if req.Body != nil {
			raw, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			req.Body = io.NopCloser(bytes.NewReader(raw))
			rec.raw = string(raw)
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &rec.body); err != nil {
					return nil, err
				}
			}
		}
		r.mu.Lock()
		r.requests = append(r.requests, rec)
		r.mu.Unlock()
		return next(req)
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.requests...)
}

// decodeBody decodes the JSON body of req into v and leaves the body
// readable for the next responder.
func decodeBody(req *http.Request, v any) error {
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	return json.Unmarshal(raw, v)
}

// fixture returns the text of testdata/name.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return string(b)
}

// jsonFixture responds with testdata/name as WeCom does, with HTTP 200 and
// a JSON Content-Type.
func jsonFixture(t testing.TB, name string) httpmock.Responder {
	t.Helper()
	return jsonBody(fixture(t, name))
}

func jsonBody(body string) httpmock.Responder {
	return httpmock.NewStringResponder(http.StatusOK, body).
		HeaderSet(http.Header{"Content-Type": {"application/json; charset=UTF-8"}})
}

// tokenBody returns a gettoken response that issues token.
func tokenBody(t testing.TB, token string) httpmock.Responder {
	t.Helper()
	return jsonBody(strings.Replace(fixture(t, "gettoken_ok.json"), testToken, token, 1))
}

// checkBody fails the test unless raw is the JSON object want, with the
// same keys and values and no null anywhere.
func checkBody(t *testing.T, raw, want string) {
	t.Helper()
	var got, wantValue any
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("request body %q is not JSON: %v", raw, err)
	}
	if err := json.Unmarshal([]byte(want), &wantValue); err != nil {
		t.Fatalf("bad expected body %q: %v", want, err)
	}
	if diff := cmp.Diff(wantValue, got); diff != "" {
		t.Errorf("request body mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(raw, "null") {
		t.Errorf("request body %s contains null", raw)
	}
}

// staticTokens is a TokenSource that hands out the next token of a list
// on every call and counts the calls.
type staticTokens struct {
	mu     sync.Mutex
	tokens []wecom.Token
	calls  int
}

func (s *staticTokens) Token(ctx context.Context) (wecom.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.tokens) == 0 {
		return wecom.Token{}, errors.New("staticTokens: no token left")
	}
	tok := s.tokens[0]
	if len(s.tokens) > 1 {
		s.tokens = s.tokens[1:]
	}
	return tok, nil
}

func (s *staticTokens) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
