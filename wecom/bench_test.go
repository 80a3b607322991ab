package wecom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// The benchmarks send every request to an in-memory RoundTripper, so that
// they measure the client and not a network. docs/benchmarks.md records how
// to run them and what they measured.

const (
	benchBase     = "http://wecom.bench.invalid"
	benchCorpID   = "wwBENCHCORP000001"
	benchSecret   = "BENCH-ONLY-SECRET"
	benchToken    = "BENCH-ONLY-TOKEN-0123456789abcdef0123456789abcdef"
	benchHandover = "zhangwei"
	benchTakeover = "wangfang"
)

// cannedTransport responds to each request with the body its path maps
// to, as WeCom does: HTTP 200, a JSON Content-Type and a Content-Length. It reads
// the request body first, as a real transport sends it.
type cannedTransport struct {
	bodies map[string][]byte
	header http.Header
}

func newCannedTransport(bodies map[string][]byte) *cannedTransport {
	return &cannedTransport{
		bodies: bodies,
		header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
	}
}

func (t *cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	body, ok := t.bodies[req.URL.Path]
	if !ok {
		return nil, fmt.Errorf("cannedTransport: no body for %s", req.URL.Path)
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        t.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

func benchTokenBody(expiresIn int) []byte {
	return fmt.Appendf(nil, `{"errcode":0,"errmsg":"ok","access_token":%q,"expires_in":%d}`, benchToken, expiresIn)
}

// benchIDs returns n external_userids of WeCom's length.
func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("woAJ2GCAAAXtWyujaWJHDDGi0mA%05d", i)
	}
	return ids
}

// transferCustomerBody is a transfer_customer response accepting ids.
func transferCustomerBody(ids []string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"errcode":0,"errmsg":"ok","customer":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_userid":%q,"errcode":0}`, id)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// transferResultBody is a transfer_result page of the given ids, waiting
// for takeover, with a next cursor.
func transferResultBody(ids []string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"errcode":0,"errmsg":"ok","customer":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_userid":%q,"status":2,"takeover_time":%d}`, id, 1588482400+i)
	}
	b.WriteString(`],"next_cursor":"NEXT_CURSOR"}`)
	return b.Bytes()
}

// newBenchClient returns a client over rt whose first call fetched its
// token, so that the loop measures cached-token calls only.
func newBenchClient(b *testing.B, rt http.RoundTripper, opts ...wecom.Option) *wecom.Client {
	b.Helper()
	base := []wecom.Option{
		wecom.WithBaseURL(benchBase),
		wecom.WithHTTPClient(&http.Client{Transport: rt}),
	}
	client, err := wecom.New(benchCorpID, benchSecret, append(base, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := client.Token(b.Context()); err != nil {
		b.Fatal(err)
	}
	return client
}

// processCPU returns the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// reportCPU reports the process CPU time per op since start, GC included.
// Unlike ns/op it leaves out the time other processes held the CPU, which
// makes it steadier on a shared machine.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// The baseline is the request a careful caller writes by hand with
// net/http and encoding/json: the same URL, body and response fields, and
// a check of errcode.

type baselineTransferRequest struct {
	HandoverUserID  string   `json:"handover_userid"`
	TakeoverUserID  string   `json:"takeover_userid"`
	ExternalUserIDs []string `json:"external_userid"`
}

type baselineTransferResponse struct {
	ErrCode  int    `json:"errcode"`
	ErrMsg   string `json:"errmsg"`
	Customer []struct {
		ExternalUserID string `json:"external_userid"`
		ErrCode        int    `json:"errcode"`
	} `json:"customer"`
}

type baselineResultRequest struct {
	HandoverUserID string `json:"handover_userid"`
	TakeoverUserID string `json:"takeover_userid"`
	Cursor         string `json:"cursor,omitempty"`
}

type baselineResultResponse struct {
	ErrCode  int    `json:"errcode"`
	ErrMsg   string `json:"errmsg"`
	Customer []struct {
		ExternalUserID string `json:"external_userid"`
		Status         int    `json:"status"`
		TakeoverTime   int64  `json:"takeover_time"`
	} `json:"customer"`
	NextCursor string `json:"next_cursor"`
}

// baselinePost marshals in, posts it to path with the access token and
// decodes the response into out, which must start with errcode and errmsg.
func baselinePost(ctx context.Context, hc *http.Client, path string, in, out any) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return err
	}
	u := benchBase + path + "?access_token=" + url.QueryEscape(benchToken)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP status %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func BenchmarkTransferCustomers(b *testing.B) {
	ids := benchIDs(wecom.MaxBatch)
	rt := newCannedTransport(map[string][]byte{
		"/cgi-bin/gettoken":                          benchTokenBody(7200),
		"/cgi-bin/externalcontact/transfer_customer": transferCustomerBody(ids),
	})
	req := wecom.TransferRequest{HandoverUserID: benchHandover, TakeoverUserID: benchTakeover, ExternalUserIDs: ids}

	sdk := func(opts ...wecom.Option) func(b *testing.B) {
		return func(b *testing.B) {
			client := newBenchClient(b, rt, opts...)
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				report, err := client.TransferCustomers(b.Context(), req)
				if err != nil {
					b.Fatal(err)
				}
				if len(report.Items) != len(ids) {
					b.Fatalf("%d items, want %d", len(report.Items), len(ids))
				}
			}
			reportCPU(b, start)
		}
	}
	b.Run("impl=nethttp", func(b *testing.B) {
		hc := &http.Client{Transport: rt}
		in := baselineTransferRequest{HandoverUserID: benchHandover, TakeoverUserID: benchTakeover, ExternalUserIDs: ids}
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			var out baselineTransferResponse
			if err := baselinePost(b.Context(), hc, "/cgi-bin/externalcontact/transfer_customer", in, &out); err != nil {
				b.Fatal(err)
			}
			if out.ErrCode != 0 {
				b.Fatalf("errcode %d: %s", out.ErrCode, out.ErrMsg)
			}
			if len(out.Customer) != len(ids) {
				b.Fatalf("%d customers, want %d", len(out.Customer), len(ids))
			}
		}
		reportCPU(b, start)
	})
	// The default limit of 6000 calls a minute would hold a tight loop to
	// 100 calls a second, so the rows measure the client with the limiter
	// off, and with one so high that it never waits.
	b.Run("impl=sdk", sdk(wecom.WithRateLimit(0)))
	b.Run("impl=sdk-limiter", sdk(wecom.WithRateLimit(1<<30)))
}

func BenchmarkTransferResultPage(b *testing.B) {
	ids := benchIDs(wecom.MaxPageSize)
	rt := newCannedTransport(map[string][]byte{
		"/cgi-bin/gettoken":                        benchTokenBody(7200),
		"/cgi-bin/externalcontact/transfer_result": transferResultBody(ids),
	})

	sdk := func(opts ...wecom.Option) func(b *testing.B) {
		return func(b *testing.B) {
			client := newBenchClient(b, rt, opts...)
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				page, err := client.TransferResultPage(b.Context(), benchHandover, benchTakeover, "")
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Customers) != len(ids) {
					b.Fatalf("%d rows, want %d", len(page.Customers), len(ids))
				}
			}
			reportCPU(b, start)
		}
	}
	b.Run("impl=nethttp", func(b *testing.B) {
		hc := &http.Client{Transport: rt}
		in := baselineResultRequest{HandoverUserID: benchHandover, TakeoverUserID: benchTakeover}
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			var out baselineResultResponse
			if err := baselinePost(b.Context(), hc, "/cgi-bin/externalcontact/transfer_result", in, &out); err != nil {
				b.Fatal(err)
			}
			if out.ErrCode != 0 {
				b.Fatalf("errcode %d: %s", out.ErrCode, out.ErrMsg)
			}
			if len(out.Customer) != len(ids) {
				b.Fatalf("%d rows, want %d", len(out.Customer), len(ids))
			}
		}
		reportCPU(b, start)
	})
	b.Run("impl=sdk", sdk(wecom.WithRateLimit(0)))
	b.Run("impl=sdk-limiter", sdk(wecom.WithRateLimit(1<<30)))
}

// BenchmarkToken reads a cached token from all Ps at once.
func BenchmarkToken(b *testing.B) {
	rt := newCannedTransport(map[string][]byte{"/cgi-bin/gettoken": benchTokenBody(7200)})
	client := newBenchClient(b, rt, wecom.WithRateLimit(0))
	ctx := b.Context()

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok, err := client.Token(ctx)
			if err != nil || tok.AccessToken != benchToken {
				b.Errorf("Token = %q, %v", tok.AccessToken, err)
				return
			}
		}
	})
}

// countingTokenTransport serves gettoken, counts the calls and holds each
// for a moment, so that concurrent callers overlap with the fetch.
type countingTokenTransport struct {
	calls     atomic.Int64
	expiresIn func(call int64) int // expires_in of the n-th call, from 1
}

func (t *countingTokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/cgi-bin/gettoken" {
		return nil, fmt.Errorf("countingTokenTransport: unexpected %s", req.URL.Path)
	}
	n := t.calls.Add(1)
	time.Sleep(5 * time.Millisecond)
	body := benchTokenBody(t.expiresIn(n))
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// TestTokenRefreshStorm starts 1000 callers at once, on an empty cache and
// once the cached token is due, and counts the gettoken calls they cause.
func TestTokenRefreshStorm(t *testing.T) {
	t.Parallel()
	const callers = 1000

	for _, tc := range []struct {
		name    string
		expired bool
	}{
		{"empty cache", false},
		{"token due", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The first token lives 1 second, the shortest expires_in in
			// whole seconds, so that it falls due during the test. Later
			// ones live 2 hours.
			rt := &countingTokenTransport{expiresIn: func(n int64) int {
				if n == 1 && tc.expired {
					return 1
				}
				return 7200
			}}
			client, err := wecom.New(benchCorpID, benchSecret,
				wecom.WithBaseURL(benchBase), wecom.WithHTTPClient(&http.Client{Transport: rt}))
			if err != nil {
				t.Fatal(err)
			}
			var want int64 = 1
			if tc.expired {
				if _, err := client.Token(t.Context()); err != nil {
					t.Fatal(err)
				}
				// After the full second the token has expired, so it is due
				// whatever margin the cache refreshes ahead of expiry.
				time.Sleep(time.Second)
				want = 2
			}

			start := make(chan struct{})
			var wg sync.WaitGroup
			var failures atomic.Int64
			for range callers {
				wg.Go(func() {
					<-start
					if _, err := client.Token(t.Context()); err != nil {
						failures.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()

			if n := failures.Load(); n != 0 {
				t.Errorf("%d of %d callers failed", n, callers)
			}
			if got := rt.calls.Load(); got != want {
				t.Errorf("gettoken calls = %d, want %d", got, want)
			}
		})
	}
}

// unassignedTransport serves get_unassigned_list pages of pageSize rows,
// numbered by their cursor, the last one marked is_last. It writes each
// body row by row as the client reads it, so that, as on a network, the
// transport holds no page. On every sampleEvery-th page it calls sample
// when the request arrives, when the client has read the whole body and
// when the client closes it.
type unassignedTransport struct {
	pages, pageSize, sampleEvery int
	sample                       func()
}

func (t *unassignedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Path {
	case "/cgi-bin/gettoken":
		body := benchTokenBody(7200)
		return &http.Response{
			StatusCode:    http.StatusOK,
			Header:        http.Header{"Content-Type": {"application/json"}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	case "/cgi-bin/externalcontact/get_unassigned_list":
	default:
		return nil, fmt.Errorf("unassignedTransport: unexpected %s", req.URL.Path)
	}

	var in struct {
		Cursor string `json:"cursor"`
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		return nil, err
	}
	req.Body.Close()
	page := 0
	if in.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.Cursor, "page-"))
		if err != nil {
			return nil, err
		}
		page = n
	}

	body := &pageBody{page: page, rows: t.pageSize, last: page == t.pages-1}
	if page%t.sampleEvery == 0 {
		t.sample()
		body.onEOF, body.onClose = t.sample, t.sample
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          body,
		ContentLength: body.size(),
		Request:       req,
	}, nil
}

// pageBody writes a get_unassigned_list page one row at a time. Every row
// has the same length, so the body's length is known up front.
type pageBody struct {
	page, rows, next int // next is the row to write, rows+1 once done
	last             bool
	buf              []byte // written but not yet read
	onEOF, onClose   func()
}

const pageBodyHead = `{"errcode":0,"errmsg":"ok","info":[`

func (b *pageBody) row(i int) []byte {
	return fmt.Appendf(nil, `{"handover_userid":"member%03d","external_userid":"woAJ2GCAAAXtWyujaWJHDD%010d","dimission_time":1550838571}`,
		b.page%1000, b.page*b.rows+i)
}

func (b *pageBody) tail() []byte {
	if b.last {
		// WeCom sends an empty cursor on the last page.
		return []byte(`],"is_last":true,"next_cursor":""}`)
	}
	return fmt.Appendf(nil, `],"is_last":false,"next_cursor":"page-%d"}`, b.page+1)
}

func (b *pageBody) size() int64 {
	return int64(len(pageBodyHead) + b.rows*len(b.row(0)) + b.rows - 1 + len(b.tail()))
}

func (b *pageBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		switch {
		case b.next > b.rows:
			if b.onEOF != nil {
				b.onEOF()
				b.onEOF = nil
			}
			return 0, io.EOF
		case b.next == b.rows:
			b.buf = b.tail()
		default:
			if b.next == 0 {
				b.buf = append(b.buf, pageBodyHead...)
			} else {
				b.buf = append(b.buf, ',')
			}
			b.buf = append(b.buf, b.row(b.next)...)
		}
		b.next++
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *pageBody) Close() error {
	if b.onClose != nil {
		b.onClose()
	}
	return nil
}

// liveHeap forces a GC and returns the bytes of heap objects it kept.
func liveHeap() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// BenchmarkUnassignedCustomersMemory ranges over 1,000,000 unassigned
// customers served as 1000 pages and reports the largest live heap seen,
// less the heap before the range, next to the live size of one page as
// UnassignedPage returns it. It samples every 10th page at four points:
// when the request is sent, when the body has been read, when it has been
// decoded and closed, and when the range reaches the page's first
// customer. The samples miss the moment the decoding ends, when the body
// and the decoded response are both live.
func BenchmarkUnassignedCustomersMemory(b *testing.B) {
	const pages, pageSize, sampleEvery = 1000, wecom.MaxPageSize, 10
	var peak uint64
	rt := &unassignedTransport{pages: pages, pageSize: pageSize, sampleEvery: sampleEvery}
	rt.sample = func() { peak = max(peak, liveHeap()) }
	client := newBenchClient(b, rt, wecom.WithRateLimit(0))
	ctx := b.Context()

	// The live size of one page, averaged over several held at once.
	const held = 10
	var kept [held]*wecom.UnassignedPage
	before := liveHeap()
	for i := range kept {
		page, err := client.UnassignedPage(ctx, "", pageSize)
		if err != nil {
			b.Fatal(err)
		}
		kept[i] = page
	}
	pageBytes := float64(liveHeap()-before) / held
	runtime.KeepAlive(kept)

	b.ResetTimer()
	for b.Loop() {
		base := liveHeap()
		peak = base
		n := 0
		for _, err := range client.UnassignedCustomers(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			if n%(pageSize*sampleEvery) == 0 {
				rt.sample()
			}
			n++
		}
		if n != pages*pageSize {
			b.Fatalf("ranged over %d customers, want %d", n, pages*pageSize)
		}
		b.ReportMetric(float64(peak-base), "peak-live-B")
		b.ReportMetric(pageBytes, "page-B")
		b.ReportMetric(float64(peak-base)/pageBytes, "peak/page")
	}
}
