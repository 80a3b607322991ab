package wecomtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// testEpoch is the manual clock's start in tests: 2025-03-01 10:00 UTC.
var testEpoch = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// Paths of the calls, as the spec names them.
const (
	pathGetToken         = "/cgi-bin/gettoken"
	pathExternalList     = "/cgi-bin/externalcontact/list"
	pathGroupChatList    = "/cgi-bin/externalcontact/groupchat/list"
	pathTransferCustomer = "/cgi-bin/externalcontact/transfer_customer"
	pathTransferResult   = "/cgi-bin/externalcontact/transfer_result"
	pathOnJobChats       = "/cgi-bin/externalcontact/groupchat/onjob_transfer"
	pathUnassignedList   = "/cgi-bin/externalcontact/get_unassigned_list"
	pathResignedTransfer = "/cgi-bin/externalcontact/resigned/transfer_customer"
	pathResignedResult   = "/cgi-bin/externalcontact/resigned/transfer_result"
	pathResignedChats    = "/cgi-bin/externalcontact/groupchat/transfer"
)

// testClient calls a sandbox over HTTP and checks every response against
// the spec.
type testClient struct {
	t     testing.TB
	srv   *Server
	hc    *http.Client
	token string
}

// startServer starts a sandbox on a manual clock at testEpoch, closed when
// the test ends.
func startServer(t testing.TB, corp *Corp, opts ...Option) (*Server, *testClient) {
	t.Helper()
	opts = append([]Option{WithClock(NewManualClock(testEpoch))}, opts...)
	srv := NewServer(corp, opts...)
	t.Cleanup(srv.Close)
	return srv, &testClient{t: t, srv: srv, hc: newSpecCheckClient(t)}
}

// newSpecCheckClient returns an HTTP client that checks every response
// against the spec.
func newSpecCheckClient(t testing.TB) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: specCheckTransport{t: t, base: http.DefaultTransport}}
}

// specCheckTransport fails the test when a response breaks the spec.
type specCheckTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (tr specCheckTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	tr.t.Helper()
	if err := validateResponse(req, resp, body); err != nil {
		tr.t.Errorf("%s %s: response breaks the spec: %v\nbody: %s", req.Method, req.URL.Path, err, body)
	}
	return resp, nil
}

func validateResponse(req *http.Request, resp *http.Response, body []byte) error {
	router, err := loadRouter()
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		return err
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(req.Context(), in)
}

// getToken fetches a token with the server's credentials and keeps it for
// later calls.
func (c *testClient) getToken() string {
	c.t.Helper()
	var resp struct {
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
		AccessToken string `json:"access_token"`
	}
	c.get(pathGetToken, url.Values{"corpid": {c.srv.CorpID}, "corpsecret": {c.srv.Secret}}, &resp)
	if resp.ErrCode != 0 || resp.AccessToken == "" {
		c.t.Fatalf("gettoken: errcode %d, errmsg %q", resp.ErrCode, resp.ErrMsg)
	}
	c.token = resp.AccessToken
	return c.token
}

// get sends a GET with the query and decodes the JSON response into out.
func (c *testClient) get(path string, query url.Values, out any) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.srv.URL+path+"?"+query.Encode(), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.do(req, out)
}

// post sends body as JSON with the kept token and decodes the response
// into out. Like a real client, it fetches a new token and sends the call
// again once when the token expired or was revoked, since tests move the
// sandbox clock past the token lifetime.
func (c *testClient) post(path string, body, out any) {
	c.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	var resp json.RawMessage
	c.postRaw(path, url.Values{"access_token": {c.token}}, string(raw), &resp)
	var env envelopeResp
	if err := json.Unmarshal(resp, &env); err != nil {
		c.t.Fatalf("%s: decode envelope: %v", path, err)
	}
	if env.ErrCode == 40014 || env.ErrCode == 42001 {
		c.getToken()
		c.postRaw(path, url.Values{"access_token": {c.token}}, string(raw), &resp)
	}
	if err := json.Unmarshal(resp, out); err != nil {
		c.t.Fatalf("%s: decode response: %v", path, err)
	}
}

// postRaw sends body as is with the given query.
func (c *testClient) postRaw(path string, query url.Values, body string, out any) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.srv.URL+path+"?"+query.Encode(), strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.do(req, out)
}

func (c *testClient) do(req *http.Request, out any) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s %s: HTTP status %d, want 200", req.Method, req.URL.Path, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		c.t.Fatalf("%s %s: decode response: %v", req.Method, req.URL.Path, err)
	}
}

// envelopeResp is the part of every response that the checks of call-level
// errors read.
type envelopeResp struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// outcomeCodes maps each requested customer to its per-customer errcode.
func outcomeCodes(t testing.TB, resp transferResp) map[string]int {
	t.Helper()
	codes := make(map[string]int, len(resp.Customer))
	for _, c := range resp.Customer {
		codes[c.ExternalUserID] = c.ErrCode
	}
	return codes
}

type transferResp struct {
	ErrCode  int    `json:"errcode"`
	ErrMsg   string `json:"errmsg"`
	Customer []struct {
		ExternalUserID string `json:"external_userid"`
		ErrCode        int    `json:"errcode"`
	} `json:"customer"`
}

type transferBody struct {
	Handover   string   `json:"handover_userid"`
	Takeover   string   `json:"takeover_userid"`
	ExternalID []string `json:"external_userid"`
	SuccessMsg string   `json:"transfer_success_msg,omitempty"`
}

type resultResp struct {
	ErrCode  int    `json:"errcode"`
	ErrMsg   string `json:"errmsg"`
	Customer []struct {
		ExternalUserID string `json:"external_userid"`
		Status         int    `json:"status"`
		TakeoverTime   int64  `json:"takeover_time"`
	} `json:"customer"`
	NextCursor string `json:"next_cursor"`
}

type resultBody struct {
	Handover string `json:"handover_userid"`
	Takeover string `json:"takeover_userid"`
	Cursor   string `json:"cursor,omitempty"`
}

type unassignedResp struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	Info    []struct {
		HandoverUserID string `json:"handover_userid"`
		ExternalUserID string `json:"external_userid"`
		DimissionTime  int64  `json:"dimission_time"`
	} `json:"info"`
	IsLast     bool   `json:"is_last"`
	NextCursor string `json:"next_cursor"`
}

type chatTransferResp struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	Failed  []struct {
		ChatID  string `json:"chat_id"`
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	} `json:"failed_chat_list"`
}

// failedCodes maps each failed chat to its errcode.
func (r chatTransferResp) failedCodes() map[string]int {
	codes := make(map[string]int, len(r.Failed))
	for _, f := range r.Failed {
		codes[f.ChatID] = f.ErrCode
	}
	return codes
}

type chatTransferBody struct {
	ChatIDs  []string `json:"chat_id_list"`
	NewOwner string   `json:"new_owner"`
}

// transferAll sends ids in batches of 100 and returns every per-customer
// errcode.
func (c *testClient) transferAll(path, handover, takeover string, ids []string) map[string]int {
	c.t.Helper()
	codes := make(map[string]int, len(ids))
	for batch := range slices.Chunk(ids, 100) {
		var resp transferResp
		c.post(path, transferBody{Handover: handover, Takeover: takeover, ExternalID: batch}, &resp)
		if resp.ErrCode != 0 {
			c.t.Fatalf("%s: errcode %d, errmsg %q", path, resp.ErrCode, resp.ErrMsg)
		}
		for _, o := range resp.Customer {
			codes[o.ExternalUserID] = o.ErrCode
		}
	}
	return codes
}

// allResults pages through a pair's takeover records and returns the
// status of each customer and the number of pages.
func (c *testClient) allResults(path, handover, takeover string) (map[string]int, int) {
	c.t.Helper()
	statuses := make(map[string]int)
	cursor := ""
	for pages := 1; ; pages++ {
		var resp resultResp
		c.post(path, resultBody{Handover: handover, Takeover: takeover, Cursor: cursor}, &resp)
		if resp.ErrCode != 0 {
			c.t.Fatalf("%s: errcode %d, errmsg %q", path, resp.ErrCode, resp.ErrMsg)
		}
		for _, row := range resp.Customer {
			statuses[row.ExternalUserID] = row.Status
		}
		if resp.NextCursor == "" {
			return statuses, pages
		}
		if pages > 100 {
			c.t.Fatalf("%s: more than 100 pages", path)
		}
		cursor = resp.NextCursor
	}
}

// countCodes returns how many customers got each errcode.
func countCodes(codes map[string]int) map[int]int {
	n := make(map[int]int)
	for _, code := range codes {
		n[code]++
	}
	return n
}

// testIDs returns n external ids with the given tag: wmTestA0000 and on.
func testIDs(tag string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("wmTest%s%04d", tag, i)
	}
	return ids
}

// Members of the corp that newTestCorp builds.
const (
	employedA  = "zhangsan" // employed; customers testIDs("A", 10)
	employedB  = "lisi"     // employed, no customers
	resignedR  = "wangwu"   // resigned 10 days before testEpoch; customers testIDs("R", 10)
	limitedL   = "zhaoliu"  // employed, customer limit 2, follows wmTestL0000
	resignedR2 = "sunqi"    // resigned, no customers
)

// newTestCorp returns a small corp for rule tests.
func newTestCorp() *Corp {
	c := NewCorp()
	c.AddMember(Member{UserID: employedA})
	c.AddMember(Member{UserID: employedB})
	c.AddMember(Member{UserID: resignedR, ResignedAt: testEpoch.Add(-10 * 24 * time.Hour)})
	c.AddMember(Member{UserID: limitedL, CustomerLimit: 2})
	c.AddMember(Member{UserID: resignedR2, ResignedAt: testEpoch.Add(-time.Hour)})
	for _, ext := range testIDs("A", 10) {
		c.AddCustomer(employedA, ext)
	}
	for _, ext := range testIDs("R", 10) {
		c.AddCustomer(resignedR, ext)
	}
	c.AddCustomer(limitedL, "wmTestL0000")
	return c
}
