package handover_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/handover"
	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

const (
	benchCustomers = 100_000
	benchLatency   = 20 * time.Millisecond
	benchLeaver    = "leaver"
	benchMover     = "mover"
	benchHeir      = "heir"
)

// benchCorp returns a corp whose resigned member benchLeaver and employed
// member benchMover each have benchCustomers customers, and benchHeir to
// take them over.
func benchCorp() *wecomtest.Corp {
	corp := wecomtest.NewCorp()
	corp.AddMember(wecomtest.Member{UserID: benchLeaver, ResignedAt: time.Now().Add(-24 * time.Hour)})
	corp.AddMember(wecomtest.Member{UserID: benchMover})
	corp.AddMember(wecomtest.Member{UserID: benchHeir})
	for i := range benchCustomers {
		corp.AddCustomer(benchLeaver, fmt.Sprintf("wmBench%07d", i))
		corp.AddCustomer(benchMover, fmt.Sprintf("wmMove%07d", i))
	}
	return corp
}

// BenchmarkRunResigned hands over 100,000 customers of a resigned member
// on a sandbox that responds to every call after 20 ms, collecting them from
// the unassigned list and transferring them. It reports the wall time
// against the least time the calls can take:
//
//   - bound-s: the pages of the unassigned list one after another, since
//     each needs the cursor of the one before, then the transfer calls
//     spread over the workers. With a rate limit, the transfer calls beyond
//     the limiter's burst go no faster than the limit.
//   - naive-bound-s: every call spread over the workers.
//   - efficiency: bound-s over the wall time.
//   - collect-s: the time until the first transfer call.
//   - transfer-p50-ms: the median transfer call, to its response header.
func BenchmarkRunResigned(b *testing.B) {
	runBenchCases(b, true)
}

// BenchmarkRunOnJob is BenchmarkRunResigned for an employed member, whose
// customers come from one externalcontact/list call, so every call but
// that one and gettoken can run on the workers: bound-s and naive-bound-s
// differ by those two calls only.
func BenchmarkRunOnJob(b *testing.B) {
	runBenchCases(b, false)
}

func runBenchCases(b *testing.B, resigned bool) {
	for _, tc := range []struct {
		workers, perMinute int
	}{
		{workers: 4},
		{workers: 16},
		// 10,000 calls a minute per API is WeCom's limit, as the doc of
		// wecom.DefaultCallsPerMinute gives it.
		{workers: 16, perMinute: 10_000},
	} {
		name := fmt.Sprintf("workers=%d/limit=off", tc.workers)
		if tc.perMinute > 0 {
			name = fmt.Sprintf("workers=%d/limit=%d", tc.workers, tc.perMinute)
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				runHandover(b, resigned, tc.workers, tc.perMinute)
			}
		})
	}
}

func runHandover(b *testing.B, resigned bool, workers, perMinute int) {
	b.StopTimer()
	sandbox := wecomtest.NewServer(benchCorp(), wecomtest.WithLatency(benchLatency))
	defer sandbox.Close()
	// The client's default transport, timed.
	timing := &timingTransport{base: http.DefaultTransport}
	client, err := wecom.New(sandbox.CorpID, sandbox.Secret,
		wecom.WithBaseURL(sandbox.URL), wecom.WithWorkers(workers), wecom.WithRateLimit(perMinute),
		wecom.WithHTTPClient(&http.Client{Transport: timing, Timeout: 30 * time.Second}))
	if err != nil {
		b.Fatal(err)
	}
	runner := &handover.Runner{Client: client}
	cfg := handover.Config{From: benchLeaver, To: benchHeir, Resigned: true}
	if !resigned {
		cfg = handover.Config{From: benchMover, To: benchHeir}
	}

	start := time.Now()
	b.StartTimer()
	summary, err := runner.Run(b.Context(), cfg)
	b.StopTimer()
	wall := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if got := summary.Customers.Started; got != benchCustomers {
		b.Fatalf("started %d customers, want %d (failed %v)", got, benchCustomers, summary.Customers.ByCode)
	}

	calls := sandbox.Stats().Calls
	serial := calls[wecomtest.OpGetToken] + calls[wecomtest.OpGetUnassignedList] + calls[wecomtest.OpListExternalContacts]
	transfers := calls[wecomtest.OpTransferResignedCustomer] + calls[wecomtest.OpTransferCustomer]
	parallel := time.Duration(transfers) * benchLatency / time.Duration(workers)
	if perMinute > 0 {
		// The client's limiter starts with a burst of a second's calls.
		perSecond := float64(perMinute) / 60
		burst := max(1, perMinute/60)
		limited := time.Duration(float64(max(0, transfers-burst)) / perSecond * float64(time.Second))
		parallel = max(parallel, limited)
	}
	bound := time.Duration(serial)*benchLatency + parallel
	naive := time.Duration(serial+transfers) * benchLatency / time.Duration(workers)

	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(bound.Seconds(), "bound-s")
	b.ReportMetric(naive.Seconds(), "naive-bound-s")
	b.ReportMetric(bound.Seconds()/wall.Seconds(), "efficiency")
	b.ReportMetric(float64(serial+transfers), "calls")
	b.ReportMetric(timing.firstTransfer.Sub(start).Seconds(), "collect-s")
	b.ReportMetric(float64(timing.transferMedian())/float64(time.Millisecond), "transfer-p50-ms")
	b.StartTimer()
}

// timingTransport records when the first transfer call starts and how long
// each transfer call takes, from sending the request to its response
// header, so that a run splits into collection and transfer.
type timingTransport struct {
	base http.RoundTripper

	mu            sync.Mutex
	firstTransfer time.Time
	transfers     []time.Duration
}

func (t *timingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if !strings.HasSuffix(req.URL.Path, "/transfer_customer") {
		return resp, err
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.firstTransfer.IsZero() || start.Before(t.firstTransfer) {
		t.firstTransfer = start
	}
	t.transfers = append(t.transfers, time.Since(start))
	return resp, err
}

func (t *timingTransport) transferMedian() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.transfers) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(t.transfers))
	return sorted[len(sorted)/2]
}
