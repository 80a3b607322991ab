package wecom_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

func withContentType(r httpmock.Responder, contentType string) httpmock.Responder {
	return r.HeaderSet(http.Header{"Content-Type": {contentType}})
}

func TestJSONDecodedWhateverContentType(t *testing.T) {
	t.Parallel()
	for _, contentType := range []string{"text/plain", "text/plain; charset=utf-8", "text/html", ""} {
		t.Run(contentType, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			r := httpmock.NewStringResponder(http.StatusOK, fixture(t, "resigned_transfer_result.json"))
			if contentType != "" {
				r = withContentType(r, contentType)
			}
			h.on(pathResignedTransferResult, r)

			page, err := h.client.ResignedTransferResultPage(t.Context(), "zhangsan", "lisi", "")
			if err != nil {
				t.Fatalf("ResignedTransferResultPage: %v", err)
			}
			want := &wecom.TakeoverPage{Customers: []wecom.Takeover{
				{ExternalUserID: "wmckGjJwAA2m9rTtJQ7L_uAy4Zus_RPQ", Status: wecom.StatusComplete, TakeoverTime: time.Unix(1664612338, 0)},
			}}
			if diff := cmp.Diff(want, page); diff != "" {
				t.Errorf("page mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONWithLeadingWhitespaceDecoded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(pathResignedTransferResult, jsonBody("\r\n  "+fixture(t, "resigned_transfer_result.json")))

	page, err := h.client.ResignedTransferResultPage(t.Context(), "zhangsan", "lisi", "")
	if err != nil {
		t.Fatalf("ResignedTransferResultPage: %v", err)
	}
	if len(page.Customers) != 1 {
		t.Errorf("got %d customers, want 1", len(page.Customers))
	}
}

// TestMalformedResponses sends bodies that are not WeCom envelopes to a
// read, which is retried only after a 5xx status.
func TestMalformedResponses(t *testing.T) {
	t.Parallel()
	huge := `{"errcode":0,"errmsg":"ok","next_cursor":"` + strings.Repeat("a", 16<<20) + `"}`
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantCalls   int
		wantCause   func(error) bool // nil when the error has no cause
		wantExcerpt string           // prefix of ResponseError.Excerpt
		wantMessage string           // substring of the error text
	}{
		{
			name: "HTML 502 page", status: 502, contentType: "text/html", body: fixture(t, "gateway_502.html"),
			wantCalls: 1 + fastRetry.MaxRetries, wantCause: anyError,
			wantExcerpt: "<html>\n<head><title>502 Bad Gateway</title></head>", wantMessage: "HTTP 502, text/html",
		},
		{
			name: "HTML page with status 200", status: 200, contentType: "text/html", body: fixture(t, "gateway_502.html"),
			wantCalls: 1, wantCause: anyError, wantExcerpt: "<html>", wantMessage: "not a WeCom JSON envelope",
		},
		{
			name: "empty body", status: 200, contentType: "application/json", body: "",
			wantCalls: 1, wantMessage: "empty body",
		},
		{
			name: "blank body", status: 200, contentType: "application/json", body: " \r\n",
			wantCalls: 1, wantMessage: "empty body",
		},
		{
			name: "truncated JSON", status: 200, contentType: "application/json",
			body:      `{"errcode":0,"errmsg":"ok","customer":[{"external_userid":"wmckGjJwAA2m9rTtJQ7L_uAy4Zus_RPQ","sta`,
			wantCalls: 1, wantCause: isSyntaxError, wantExcerpt: `{"errcode":0,"errmsg":"ok","customer":[{`,
		},
		{
			name: "string where a number belongs", status: 200, contentType: "application/json",
			body:      `{"errcode":0,"errmsg":"ok","customer":[{"external_userid":"wm1","status":"1","takeover_time":1664612338}],"next_cursor":""}`,
			wantCalls: 1, wantCause: isTypeError, wantExcerpt: `{"errcode":0`,
		},
		{
			name: "string errcode", status: 200, contentType: "application/json",
			body:      `{"errcode":"40014","errmsg":"invalid access_token"}`,
			wantCalls: 1, wantCause: isTypeError, wantExcerpt: `{"errcode":"40014"`,
		},
		{
			name: "JSON array", status: 200, contentType: "application/json", body: `[{"errcode":0}]`,
			wantCalls: 1, wantCause: anyError, wantMessage: "not a WeCom JSON envelope",
		},
		{
			name: "JSON without errcode", status: 200, contentType: "application/json", body: `{"message":"ok"}`,
			wantCalls: 1, wantCause: anyError, wantMessage: "not a WeCom JSON envelope",
		},
		{
			name: "errcode 0 with status 503", status: 503, contentType: "application/json", body: `{"errcode":0,"errmsg":"ok"}`,
			wantCalls: 1 + fastRetry.MaxRetries, wantCause: anyError, wantMessage: "HTTP status 503",
		},
		{
			name: "body over the size limit", status: 200, contentType: "application/json", body: huge,
			wantCalls: 1, wantCause: anyError, wantMessage: "over the size limit",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.spec.AllowBadResponses()
			rec := h.on(pathTransferResult, withContentType(httpmock.NewStringResponder(tt.status, tt.body), tt.contentType))

			page, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", "")

			if page != nil {
				t.Errorf("page = %+v, want nil", page)
			}
			respErr, ok := errors.AsType[*wecom.ResponseError](err)
			if !ok {
				t.Fatalf("error = %v (%T), want *wecom.ResponseError", err, err)
			}
			if respErr.Endpoint != pathTransferResult || respErr.HTTPStatus != tt.status || respErr.ContentType != tt.contentType {
				t.Errorf("ResponseError = {%s %d %q}, want {%s %d %q}", respErr.Endpoint, respErr.HTTPStatus,
					respErr.ContentType, pathTransferResult, tt.status, tt.contentType)
			}
			if !strings.HasPrefix(respErr.Excerpt, tt.wantExcerpt) {
				t.Errorf("Excerpt = %q, want prefix %q", respErr.Excerpt, tt.wantExcerpt)
			}
			if len(respErr.Excerpt) > 130 {
				t.Errorf("Excerpt has %d bytes, want at most about 120", len(respErr.Excerpt))
			}
			if tt.wantCause == nil && respErr.Err != nil {
				t.Errorf("Err = %v, want nil", respErr.Err)
			}
			if tt.wantCause != nil && !tt.wantCause(respErr.Err) {
				t.Errorf("Err = %v (%T), not the expected cause", respErr.Err, respErr.Err)
			}
			if !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("error = %q, want it to contain %q", err.Error(), tt.wantMessage)
			}
			if n := rec.count(); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func anyError(err error) bool { return err != nil }

func isSyntaxError(err error) bool {
	_, ok := errors.AsType[*json.SyntaxError](err)
	return ok
}

func isTypeError(err error) bool {
	_, ok := errors.AsType[*json.UnmarshalTypeError](err)
	return ok
}

func TestHTMLPageOnWriteIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferCustomer, withContentType(httpmock.NewStringResponder(502, fixture(t, "gateway_502.html")), "text/html"))

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA},
	})

	if _, ok := errors.AsType[*wecom.UnknownOutcomeError](err); !ok {
		t.Errorf("error = %v (%T), want *wecom.UnknownOutcomeError", err, err)
	}
	if respErr, ok := errors.AsType[*wecom.ResponseError](err); !ok || respErr.HTTPStatus != 502 {
		t.Errorf("error = %v, want it to wrap a *wecom.ResponseError with HTTP 502", err)
	}
	if report == nil || len(report.Items) != 1 || report.Items[0].Outcome != wecom.OutcomeUnknown {
		t.Fatalf("report = %+v, want one item with outcome unknown", report)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("calls = %d, want 1: a write with an unknown outcome is never re-sent", n)
	}
}

func TestUnknownTakeoverStatusKept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.spec.AllowBadResponses()
	h.on(pathTransferResult, jsonFixture(t, "transfer_result_status7.json"))

	page, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", "")
	if err != nil {
		t.Fatalf("TransferResultPage: %v", err)
	}

	if len(page.Customers) != 1 {
		t.Fatalf("got %d customers, want 1", len(page.Customers))
	}
	if got := page.Customers[0].Status; got != 7 {
		t.Errorf("Status = %d, want 7", got)
	}
	if got := wecom.StatusName(page.Customers[0].Status); got != "status_7" {
		t.Errorf("StatusName = %q, want status_7", got)
	}
	// The spec lists the known values as an enum, so the response breaks it.
	if n := len(h.spec.ResponseViolations()); n != 1 {
		t.Errorf("spec violations = %d, want 1", n)
	}
}

func TestErrorEnvelopeOnHTTPError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferResult, withContentType(httpmock.NewStringResponder(500, fixture(t, "error_busy.json")), "application/json").Once().
		Then(jsonFixture(t, "resigned_transfer_result.json")))

	page, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", "")
	if err != nil {
		t.Fatalf("TransferResultPage: %v", err)
	}

	if len(page.Customers) != 1 {
		t.Errorf("got %d customers, want 1", len(page.Customers))
	}
	if n := rec.count(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

func TestTopLevelErrorOnWrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathResignedTransfer, jsonBody(`{"errcode":40097,"errmsg":"member not resigned"}`))

	report, err := h.client.TransferResignedCustomers(t.Context(), wecom.ResignedTransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA, customerB},
	})

	apiErr, ok := errors.AsType[*wecom.APIError](err)
	if !ok || apiErr.Code != wecom.CodeNotResigned || apiErr.Endpoint != pathResignedTransfer {
		t.Fatalf("error = %v, want *wecom.APIError with errcode 40097 from %s", err, pathResignedTransfer)
	}
	want := []wecom.ItemResult{
		{ID: customerA, Outcome: wecom.OutcomeFailed, ErrCode: 40097, ErrMsg: "member not resigned", CallFailed: true},
		{ID: customerB, Outcome: wecom.OutcomeFailed, ErrCode: 40097, ErrMsg: "member not resigned", CallFailed: true},
	}
	if diff := cmp.Diff(want, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}
