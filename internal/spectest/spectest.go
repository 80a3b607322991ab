// Package spectest checks HTTP traffic against the project's OpenAPI spec in
// tests. [Transport] wraps any [http.RoundTripper], such as an httpmock
// transport or the default transport in front of a loopback server, and
// fails the test through [testing.TB.Errorf] when a request or a response
// breaks the spec.
//
// The spec's servers are dropped, so requests to any host match by path.
// Responses are checked whatever their Content-Type, because WeCom may send
// JSON as text/plain. A response body that is not JSON at all, such as a
// gateway's HTML page or a truncated body that a test sends on purpose, is
// recorded as skipped instead of failing the test.
package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/wecom-transfer/wecom-transfer/internal/specload"
)

// MaxCheckedBody is the largest response body the validator checks. Larger
// bodies pass through unchecked and are recorded as skipped, so that a test
// of the client's size limit stays fast.
const MaxCheckedBody = 4 << 20

// Load parses the embedded spec into a new document without servers, so
// that its router matches requests to any host. Each call returns a copy
// that the caller may change.
func Load() (*openapi3.T, error) {
	doc, err := specload.Load()
	if err != nil {
		return nil, fmt.Errorf("spectest: %w", err)
	}
	doc.Servers = nil
	return doc, nil
}

// shared is the document and router that every Validator reads. Neither
// is changed after loading, so tests running in parallel share them.
var shared = sync.OnceValues(func() (routers.Router, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// Skip is a response that the validator let through unchecked.
type Skip struct {
	Operation string // operationId, such as "transferCustomer"
	Status    int
	Reason    string
}

// Validator is an [http.RoundTripper] that checks every request before
// passing it on and every response before returning it. It is safe for
// concurrent use.
type Validator struct {
	tb   testing.TB
	next http.RoundTripper

	mu                 sync.Mutex
	allowBadResponses  bool
	requests           int
	skipped            []Skip
	responseViolations []error
}

// Transport returns a Validator that sends requests through next, or
// through [http.DefaultTransport] when next is nil, and reports every spec
// violation to tb.
func Transport(tb testing.TB, next http.RoundTripper) *Validator {
	tb.Helper()
	if _, err := shared(); err != nil {
		tb.Fatalf("spectest: %v", err)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &Validator{tb: tb, next: next}
}

// AllowBadResponses makes v record response violations, readable with
// [Validator.ResponseViolations], instead of failing the test. Use it in
// tests that send malformed responses on purpose. Request violations still
// fail the test.
func (v *Validator) AllowBadResponses() *Validator {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.allowBadResponses = true
	return v
}

// Requests returns the number of requests v has checked.
func (v *Validator) Requests() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.requests
}

// Skipped returns the responses v let through unchecked, in arrival order.
func (v *Validator) Skipped() []Skip {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]Skip(nil), v.skipped...)
}

// ResponseViolations returns the response violations recorded after
// [Validator.AllowBadResponses].
func (v *Validator) ResponseViolations() []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]error(nil), v.responseViolations...)
}

// RoundTrip checks req, sends a copy of it through the wrapped transport
// and checks the response. It reads and closes req.Body, as any transport
// does, and changes no other field of req.
func (v *Validator) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := drain(req.Body)
	if err != nil {
		return nil, fmt.Errorf("spectest: read request body: %w", err)
	}
	outgoing := withBody(req, body)

	input, err := CheckRequest(withBody(req, body))
	v.mu.Lock()
	v.requests++
	v.mu.Unlock()
	if err != nil {
		v.tb.Errorf("spectest: %s %s: request breaks the spec: %v", req.Method, req.URL.Path, err)
	}

	resp, err := v.next.RoundTrip(outgoing)
	if err != nil || input == nil {
		return resp, err
	}
	v.checkResponse(input, resp)
	return resp, nil
}

// checkResponse reads resp's body, checks it and puts it back.
func (v *Validator) checkResponse(input *openapi3filter.RequestValidationInput, resp *http.Response) {
	operation := input.Route.Operation.OperationID
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxCheckedBody+1))
	resp.Body = rearmedBody{Reader: io.MultiReader(bytes.NewReader(body), errorReader{readErr}, resp.Body), closer: resp.Body}

	switch {
	case readErr != nil:
		v.skip(operation, resp.StatusCode, "reading the body failed: "+readErr.Error())
		return
	case len(body) > MaxCheckedBody:
		v.skip(operation, resp.StatusCode, fmt.Sprintf("body over %d bytes", MaxCheckedBody))
		return
	case !json.Valid(body):
		v.skip(operation, resp.StatusCode, "body is not JSON: "+excerpt(body))
		return
	}

	if err := CheckResponse(input, resp.StatusCode, resp.Header, body); err != nil {
		v.mu.Lock()
		allow := v.allowBadResponses
		if allow {
			v.responseViolations = append(v.responseViolations, err)
		}
		v.mu.Unlock()
		if !allow {
			v.tb.Errorf("spectest: %s %s: response breaks the spec: %v", input.Request.Method, input.Request.URL.Path, err)
		}
	}
}

func (v *Validator) skip(operation string, status int, reason string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.skipped = append(v.skipped, Skip{Operation: operation, Status: status, Reason: reason})
}

// CheckRequest checks req against the spec: its route, query parameters,
// access_token and body. It consumes req.Body. The returned input, non-nil
// whenever a route matched, is what [CheckResponse] needs.
func CheckRequest(req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	router, err := shared()
	if err != nil {
		return nil, err
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		return nil, fmt.Errorf("no operation in the spec: %w", err)
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    options(),
	}
	return input, openapi3filter.ValidateRequest(req.Context(), input)
}

// CheckResponse checks a JSON response to the request of input. The body
// is checked as JSON whatever its Content-Type header.
func CheckResponse(input *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	header = header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if !strings.Contains(header.Get("Content-Type"), "json") {
		header.Set("Content-Type", "application/json")
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 status,
		Header:                 header,
		Options:                input.Options,
	}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), out)
}

func options() *openapi3filter.Options {
	opts := &openapi3filter.Options{MultiError: true, AuthenticationFunc: checkAPIKey}
	opts.WithCustomSchemaErrorFunc(shortSchemaError)
	return opts
}

// shortSchemaError names the failing field and the reason, leaving out the
// schema and value dumps that kin-openapi prints by default.
func shortSchemaError(err *openapi3.SchemaError) string {
	msg := fmt.Sprintf("%q: %s", "/"+strings.Join(err.JSONPointer(), "/"), err.Reason)
	if err.Origin != nil {
		msg += ": " + err.Origin.Error()
	}
	return msg
}

// checkAPIKey requires a non-empty value for an apiKey scheme, such as
// access_token in the query string, which is where WeCom expects it.
func checkAPIKey(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme := in.SecurityScheme
	if scheme.Type != "apiKey" {
		return fmt.Errorf("security scheme %q: type %q is not supported by spectest", in.SecuritySchemeName, scheme.Type)
	}
	req := in.RequestValidationInput.Request
	var value string
	switch scheme.In {
	case "query":
		value = req.URL.Query().Get(scheme.Name)
	case "header":
		value = req.Header.Get(scheme.Name)
	case "cookie":
		if c, err := req.Cookie(scheme.Name); err == nil {
			value = c.Value
		}
	}
	if value == "" {
		return fmt.Errorf("missing %s %q", scheme.In, scheme.Name)
	}
	return nil
}

// drain reads and closes a request body, which may be nil.
func drain(body io.ReadCloser) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	defer body.Close()
	return io.ReadAll(body)
}

// withBody returns a shallow copy of req that reads body.
func withBody(req *http.Request, body []byte) *http.Request {
	out := req.Clone(req.Context())
	if body == nil {
		out.Body = http.NoBody
		out.GetBody = nil
		return out
	}
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body)), nil
	}
	out.ContentLength = int64(len(body))
	return out
}

// rearmedBody replays the bytes the validator read, then the rest of the
// original body, and closes the original.
type rearmedBody struct {
	io.Reader
	closer io.Closer
}

func (b rearmedBody) Close() error { return b.closer.Close() }

// errorReader returns err once the bytes before it are read, so that a
// read failure reaches the client at the same point it happened.
type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) {
	if r.err == nil {
		return 0, io.EOF
	}
	return 0, r.err
}

func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "(empty)"
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return fmt.Sprintf("%q", s)
}
