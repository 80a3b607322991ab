package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// fuzzResponseTypes returns a new value of every generated response type
// that the client decodes.
func fuzzResponseTypes() []any {
	return []any{
		&generated.GetTokenResponse{},
		&generated.ListExternalContactsResponse{},
		&generated.ListGroupChatsResponse{},
		&generated.TransferCustomerResponse{},
		&generated.TransferResultResponse{},
		&generated.GroupChatTransferResponse{},
		&generated.GetUnassignedListResponse{},
		&generated.Envelope{},
	}
}

// FuzzDecodeResponse feeds arbitrary bodies and HTTP statuses to
// decodeEnvelope for every response type, then to every client method
// through a fake transport. Nothing may panic, and every result must agree
// with its error.
func FuzzDecodeResponse(f *testing.F) {
	f.Add(200, []byte(`{"errcode":0,"errmsg":"ok"}`))
	f.Add(502, []byte("<html><body>502 Bad Gateway</body></html>"))

	f.Fuzz(func(t *testing.T, status int, body []byte) {
		for _, out := range fuzzResponseTypes() {
			checkDecodeEnvelope(t, status, body, out)
		}
		checkClientMethods(t, status, body)
	})
}

func checkDecodeEnvelope(t *testing.T, status int, body []byte, out any) {
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"text/plain"}}}
	env, err := decodeEnvelope("/cgi-bin/fuzz", resp, body, out)

	if err != nil {
		respErr, ok := errors.AsType[*ResponseError](err)
		if !ok {
			t.Fatalf("%T: error %v (%T), want *ResponseError", out, err, err)
		}
		if respErr.Endpoint != "/cgi-bin/fuzz" || respErr.HTTPStatus != status || respErr.ContentType != "text/plain" {
			t.Fatalf("%T: ResponseError %+v does not describe the response", out, respErr)
		}
		if env != (envelope{}) {
			t.Fatalf("%T: envelope %+v returned with error %v", out, env, err)
		}
		if n := utf8.RuneCountInString(respErr.Excerpt); n > 200 {
			t.Fatalf("%T: excerpt of %d characters", out, n)
		}
		if err.Error() == "" {
			t.Fatalf("%T: empty error message", out)
		}
		return
	}

	// Without an error, the body is a JSON object whose errcode is the
	// envelope's, whatever Go type the rest decoded into.
	var generic struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if jsonErr := json.Unmarshal(body, &generic); jsonErr != nil {
		t.Fatalf("%T: decodeEnvelope accepted a body encoding/json rejects: %v", out, jsonErr)
	}
	if generic.ErrCode != env.code || generic.ErrMsg != env.msg {
		t.Fatalf("%T: envelope %+v, but the body has errcode %d errmsg %q", out, env, generic.ErrCode, generic.ErrMsg)
	}
	if status != http.StatusOK && env.code == CodeOK {
		t.Fatalf("%T: HTTP %d accepted as success", out, status)
	}
	if status == http.StatusOK && env.code == CodeOK {
		fresh := reflect.New(reflect.TypeOf(out).Elem()).Interface()
		if jsonErr := json.Unmarshal(body, fresh); jsonErr != nil {
			t.Fatalf("%T: success without a decodable body: %v", out, jsonErr)
		}
		if code, msg := envelopeOf(out); code != env.code || msg != env.msg {
			t.Fatalf("%T: decoded errcode %d errmsg %q, envelope %+v", out, code, msg, env)
		}
	}
}

// fuzzTransport returns the same response to every request.
type fuzzTransport struct {
	status int
	body   []byte
}

func (f fuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: f.status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(f.body)),
		Request:    req,
	}, nil
}

type fixedTokenSource struct{}

func (fixedTokenSource) Token(context.Context) (Token, error) {
	return Token{AccessToken: "TEST-ONLY-TOKEN-fuzz", ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func checkClientMethods(t *testing.T, status int, body []byte) {
	// Map the status into 100 to 599, the range a response on the wire has.
	if status < 100 || status > 599 {
		status = 100 + (status%500+500)%500
	}
	client, err := NewWithTokenSource(fixedTokenSource{},
		WithHTTPClient(&http.Client{Transport: fuzzTransport{status: status, body: body}}),
		WithRetryPolicy(RetryPolicy{}),
		WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ids := []string{"wmFUZZ0001", "wmFUZZ0002", "wmFUZZ0001"}

	report, err := client.TransferCustomers(ctx, TransferRequest{HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: ids})
	checkReport(t, "TransferCustomers", report, err)
	report, err = client.TransferResignedGroupChats(ctx, GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: ids})
	checkReport(t, "TransferResignedGroupChats", report, err)

	takeovers, err := client.TransferResultPage(ctx, "zhangsan", "lisi", "")
	checkPage(t, "TransferResultPage", takeovers, err)
	unassigned, err := client.UnassignedPage(ctx, "", 0)
	checkPage(t, "UnassignedPage", unassigned, err)
	chats, err := client.GroupChatPage(ctx, GroupChatFilter{}, "", 10)
	checkPage(t, "GroupChatPage", chats, err)
	customers, err := client.ListCustomers(ctx, "zhangsan")
	if err != nil && customers != nil {
		t.Fatalf("ListCustomers: %d customers with error %v", len(customers), err)
	}
	// Every page is the same body, so the iterator ends after one page or
	// on a repeated cursor, and yields an error at most once, last.
	failed := false
	for _, err := range client.ResignedTransferResults(ctx, "zhangsan", "lisi") {
		if failed {
			t.Fatal("ResignedTransferResults: yielded after an error")
		}
		failed = err != nil
	}
}

// checkReport checks that every distinct id has exactly one result, in
// input order, with a known outcome.
func checkReport(t *testing.T, method string, report *TransferReport, err error) {
	if report == nil {
		t.Fatalf("%s: nil report with error %v", method, err)
	}
	want := []string{"wmFUZZ0001", "wmFUZZ0002"}
	if len(report.Items) != len(want) {
		t.Fatalf("%s: %d items, want %d", method, len(report.Items), len(want))
	}
	for i, item := range report.Items {
		if item.ID != want[i] {
			t.Fatalf("%s: item %d has id %q, want %q", method, i, item.ID, want[i])
		}
		if item.Outcome < OutcomeStarted || item.Outcome > OutcomeNotSent {
			t.Fatalf("%s: item %s has outcome %v", method, item.ID, item.Outcome)
		}
		if err == nil && item.Outcome == OutcomeNotSent {
			t.Fatalf("%s: item %s not sent, but the call returned no error", method, item.ID)
		}
	}
	if len(report.Duplicates) != 1 || report.Duplicates[0] != "wmFUZZ0001" {
		t.Fatalf("%s: duplicates %q, want [wmFUZZ0001]", method, report.Duplicates)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "wecom: ") {
		t.Fatalf("%s: error %q lacks the package prefix", method, err)
	}
}

func checkPage[P any](t *testing.T, method string, page *P, err error) {
	if (page == nil) == (err == nil) {
		t.Fatalf("%s: page %v with error %v", method, page, err)
	}
}
