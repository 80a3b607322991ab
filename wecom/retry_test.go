package wecom_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/wecom-transfer/wecom-transfer/internal/spectest"
	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// errDialRefused is the error net/http returns when nothing listens on the
// port.
var errDialRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func TestReadRetriedAfterSystemBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferResult, jsonFixture(t, "error_busy.json").Once().Then(jsonFixture(t, "resigned_transfer_result.json")))

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

func TestSystemBusyRetriesLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferResult, jsonFixture(t, "error_busy.json"))

	_, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", "")

	apiErr, ok := errors.AsType[*wecom.APIError](err)
	if !ok || apiErr.Code != wecom.CodeSystemBusy {
		t.Errorf("error = %v, want *wecom.APIError with errcode -1", err)
	}
	if n := rec.count(); n != 1+fastRetry.MaxRetries {
		t.Errorf("calls = %d, want %d", n, 1+fastRetry.MaxRetries)
	}
}

func TestWriteRetriedAfterSystemBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferCustomer, jsonFixture(t, "error_busy.json").Once().Then(jsonFixture(t, "transfer_customer_40129.json")))

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA, customerB},
	})
	if err != nil {
		t.Fatalf("TransferCustomers: %v", err)
	}

	// On the re-sent request, 40129 "being transferred" counts as started,
	// while other codes still fail.
	want := []wecom.ItemResult{
		{ID: customerA, Outcome: wecom.OutcomeStarted, ErrCode: wecom.CodeInTransfer},
		{ID: customerB, Outcome: wecom.OutcomeFailed, ErrCode: 40096},
	}
	if diff := cmp.Diff(want, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("calls = %d, want 2", len(reqs))
	}
	if reqs[0].raw != reqs[1].raw {
		t.Errorf("re-sent body %s differs from the first %s", reqs[1].raw, reqs[0].raw)
	}
}

func TestFirstSend40129CountsAsFailed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(pathTransferCustomer, jsonFixture(t, "transfer_customer_40129.json"))

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA},
	})
	if err != nil {
		t.Fatalf("TransferCustomers: %v", err)
	}

	want := []wecom.ItemResult{{ID: customerA, Outcome: wecom.OutcomeFailed, ErrCode: wecom.CodeInTransfer}}
	if diff := cmp.Diff(want, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
}

func TestTransportErrorOnWriteNotRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferCustomer, httpmock.NewErrorResponder(errors.New("read tcp 192.0.2.1:51234->203.0.113.9:443: read: connection reset by peer")))

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA, customerB},
	})

	unknown, ok := errors.AsType[*wecom.UnknownOutcomeError](err)
	if !ok {
		t.Fatalf("error = %v (%T), want *wecom.UnknownOutcomeError", err, err)
	}
	if unknown.Endpoint != pathTransferCustomer {
		t.Errorf("Endpoint = %q, want %q", unknown.Endpoint, pathTransferCustomer)
	}
	if _, ok := errors.AsType[*wecom.TransportError](err); !ok {
		t.Errorf("error = %v, want it to wrap a *wecom.TransportError", err)
	}
	for _, item := range report.Items {
		if item.Outcome != wecom.OutcomeUnknown {
			t.Errorf("item %s: outcome %v, want unknown", item.ID, item.Outcome)
		}
	}
	if n := rec.count(); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestTransportErrorOnReadRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferResult, httpmock.NewErrorResponder(errors.New("connection reset by peer")).Once().
		Then(jsonFixture(t, "resigned_transfer_result.json")))

	if _, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", ""); err != nil {
		t.Fatalf("TransferResultPage: %v", err)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

func TestDialFailureOnWriteRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathOnJobGroupTransfer, httpmock.NewErrorResponder(errDialRefused).Once().
		Then(jsonFixture(t, "groupchat_onjob_transfer_ok.json")))

	report, err := h.client.TransferGroupChats(t.Context(), wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: []string{chatA}})
	if err != nil {
		t.Fatalf("TransferGroupChats: %v", err)
	}

	if diff := cmp.Diff([]wecom.ItemResult{started(chatA)}, report.Items); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

// countingTransport counts the requests that pass through it.
type countingTransport struct {
	next  http.RoundTripper
	count atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.count.Add(1)
	return c.next.RoundTrip(req)
}

func TestDialFailureClosedPort(t *testing.T) {
	t.Parallel()
	// A loopback port that was just closed refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	counter := &countingTransport{next: http.DefaultTransport}
	source := &staticTokens{tokens: []wecom.Token{{AccessToken: testToken, ExpiresAt: time.Now().Add(time.Hour)}}}
	client, err := wecom.NewWithTokenSource(source,
		wecom.WithBaseURL("http://"+addr),
		wecom.WithHTTPClient(&http.Client{Transport: spectest.Transport(t, counter)}),
		wecom.WithRetryPolicy(fastRetry), wecom.WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}

	report, err := client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA},
	})

	if _, ok := errors.AsType[*wecom.UnknownOutcomeError](err); ok {
		t.Errorf("error = %v: a refused connection sent nothing, so the outcome is known", err)
	}
	if _, ok := errors.AsType[*wecom.TransportError](err); !ok {
		t.Errorf("error = %v (%T), want *wecom.TransportError", err, err)
	}
	if opErr, ok := errors.AsType[*net.OpError](err); !ok || opErr.Op != "dial" {
		t.Errorf("error = %v, want it to wrap a dial *net.OpError", err)
	}
	if len(report.Items) != 1 || report.Items[0].Outcome != wecom.OutcomeNotSent {
		t.Errorf("items = %+v, want one with outcome not_sent", report.Items)
	}
	if n := counter.count.Load(); n != int64(1+fastRetry.MaxRetries) {
		t.Errorf("attempts = %d, want %d", n, 1+fastRetry.MaxRetries)
	}
}

func TestRateLimitedPausesThenFails(t *testing.T) {
	t.Parallel()
	for _, fixtureName := range []string{"error_45009.json", "error_45033.json"} {
		t.Run(fixtureName, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			rec := h.on(pathTransferResult, jsonFixture(t, fixtureName))

			start := time.Now()
			_, err := h.client.TransferResultPage(t.Context(), "zhangsan", "lisi", "")

			if !errors.Is(err, wecom.ErrRateLimited) {
				t.Errorf("errors.Is(%v, ErrRateLimited) = false, want true", err)
			}
			if n := rec.count(); n != 1+fastRetry.MaxRateLimitWaits {
				t.Errorf("calls = %d, want %d", n, 1+fastRetry.MaxRateLimitWaits)
			}
			// Each pause lasts RateLimitWait.
			if elapsed := time.Since(start); elapsed < time.Duration(fastRetry.MaxRateLimitWaits)*fastRetry.RateLimitWait {
				t.Errorf("returned after %v, want at least %d pauses of %v", elapsed, fastRetry.MaxRateLimitWaits, fastRetry.RateLimitWait)
			}
		})
	}
}

func TestRateLimitedWriteResentAfterPause(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.on(pathTransferCustomer, jsonFixture(t, "error_45009.json").Once().Then(jsonFixture(t, "transfer_customer_ok.json")))

	report, err := h.client.TransferCustomers(t.Context(), wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA, customerB},
	})
	if err != nil {
		t.Fatalf("TransferCustomers: %v", err)
	}

	if n := report.Count(wecom.OutcomeStarted); n != 2 {
		t.Errorf("started = %d, want 2", n)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

func TestCancelStopsRetryAtOnce(t *testing.T) {
	t.Parallel()
	slow := wecom.RetryPolicy{
		MaxRetries: 3, BaseDelay: time.Hour, MaxDelay: time.Hour,
		RateLimitWait: time.Hour, MaxRateLimitWaits: 3,
	}
	for _, fixtureName := range []string{"error_busy.json", "error_45009.json"} {
		t.Run(fixtureName, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, wecom.WithRetryPolicy(slow))
			rec := h.on(pathTransferResult, jsonFixture(t, fixtureName))
			ctx, cancel := context.WithCancel(t.Context())
			timer := time.AfterFunc(20*time.Millisecond, cancel)
			defer timer.Stop()

			start := time.Now()
			_, err := h.client.TransferResultPage(ctx, "zhangsan", "lisi", "")

			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("returned after %v, want soon after the cancel", elapsed)
			}
			if n := rec.count(); n != 1 {
				t.Errorf("calls = %d, want 1", n)
			}
		})
	}
}

func TestCanceledContextSendsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	report, err := h.client.TransferCustomers(ctx, wecom.TransferRequest{
		HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: []string{customerA},
	})

	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if len(report.Items) != 1 || report.Items[0].Outcome != wecom.OutcomeNotSent {
		t.Errorf("items = %+v, want one with outcome not_sent", report.Items)
	}
	if n := h.mt.GetTotalCallCount(); n != 0 {
		t.Errorf("HTTP calls = %d, want 0", n)
	}
}
