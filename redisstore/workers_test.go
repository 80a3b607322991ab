package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// workerEnv, when set, makes the test binary run as one worker process of
// the multi-process tests instead of running tests. Its value is the JSON
// of a workerConfig.
const workerEnv = "REDISSTORE_TEST_WORKER"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(workerEnv); cfg != "" {
		os.Exit(runWorker(cfg))
	}
	os.Exit(m.Run())
}

// workerConfig is what a worker process calls and for how long.
type workerConfig struct {
	SandboxURL string
	CorpID     string
	Secret     string
	RedisURL   string
	Goroutines int
	Duration   time.Duration

	// CallsPerMinute is the client-side limit of each worker.
	CallsPerMinute int
}

// workerReport is what a worker process prints on stdout when it ends.
type workerReport struct {
	Calls         int64
	Failures      map[string]int // failureKind to count
	TokenFailures int64          // calls that failed with 40014, 42001 or 41001
	Fetches       int64          // gettoken calls that returned a token
	StoreFailures int64          // log lines about a failed token store operation
}

// runWorker calls the sandbox from cfg.Goroutines goroutines with one
// client that shares its token through Redis, and prints a workerReport.
func runWorker(rawConfig string) int {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(rawConfig), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker: bad config:", err)
		return 2
	}
	store, err := Open(cfg.RedisURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer store.Close()

	counter := &logCounter{}
	client, err := wecom.New(cfg.CorpID, cfg.Secret,
		wecom.WithBaseURL(cfg.SandboxURL),
		wecom.WithTokenStore(store),
		wecom.WithRateLimit(cfg.CallsPerMinute),
		wecom.WithLogger(slog.New(counter)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}

	report := callUntil(client, cfg.Goroutines, cfg.Duration)
	report.Fetches = counter.fetches.Load()
	report.StoreFailures = counter.storeFailures.Load()
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	return 0
}

// callUntil lists the sandbox member's customers from n goroutines for d.
func callUntil(client *wecom.Client, n int, d time.Duration) workerReport {
	// A deadline would make the client's rate limiter fail calls that it
	// cannot fit in before it, so the run ends by cancellation instead.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(d, cancel)

	var (
		mu     sync.Mutex
		report = workerReport{Failures: make(map[string]int)}
		wg     sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := client.ListCustomers(ctx, sandboxMember)
				if err != nil && ctx.Err() != nil {
					return // the run ended during the call
				}
				mu.Lock()
				report.Calls++
				if err != nil {
					report.Failures[failureKind(err)]++
					if isTokenFailure(err) {
						report.TokenFailures++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return report
}

// failureKind groups errors by errcode, because WeCom's messages differ in
// every call.
func failureKind(err error) string {
	if apiErr, ok := errors.AsType[*wecom.APIError](err); ok {
		return fmt.Sprintf("%s: errcode %d", apiErr.Endpoint, apiErr.Code)
	}
	return err.Error()
}

func isTokenFailure(err error) bool {
	apiErr, ok := errors.AsType[*wecom.APIError](err)
	if !ok {
		return false
	}
	switch apiErr.Code {
	case wecom.CodeInvalidToken, wecom.CodeTokenExpired, wecom.CodeTokenMissing:
		return true
	}
	return false
}

// logCounter is a slog handler that counts the client's token fetches and
// token store failures.
type logCounter struct {
	fetches       atomic.Int64
	storeFailures atomic.Int64
}

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	switch {
	case r.Message == "wecom: fetched access token":
		h.fetches.Add(1)
	case strings.HasPrefix(r.Message, "wecom: token store "):
		h.storeFailures.Add(1)
	}
	return nil
}

func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *logCounter) WithGroup(string) slog.Handler { return h }

// startWorkers runs n worker processes of the test binary and returns a
// function that waits for them and returns their reports.
func startWorkers(t *testing.T, n int, cfg workerConfig) func() []workerReport {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	type process struct {
		cmd            *exec.Cmd
		stdout, stderr bytes.Buffer
	}
	procs := make([]*process, n)
	for i := range procs {
		p := &process{cmd: exec.CommandContext(t.Context(), exe)}
		p.cmd.Env = append(os.Environ(), workerEnv+"="+string(raw))
		p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start worker %d: %v", i, err)
		}
		procs[i] = p
	}

	return func() []workerReport {
		reports := make([]workerReport, n)
		for i, p := range procs {
			if err := p.cmd.Wait(); err != nil {
				t.Fatalf("worker %d: %v\nstderr:\n%s", i, err, p.stderr.String())
			}
			if err := json.Unmarshal(p.stdout.Bytes(), &reports[i]); err != nil {
				t.Fatalf("worker %d printed %q: %v\nstderr:\n%s", i, p.stdout.String(), err, p.stderr.String())
			}
		}
		return reports
	}
}

// sumReports adds up the worker reports and logs each, and fails the test
// for every failed call.
func sumReports(t *testing.T, reports []workerReport) workerReport {
	t.Helper()
	var total workerReport
	for i, r := range reports {
		t.Logf("worker %d: %d calls, %d failed, %d token fetches, %d token store failures",
			i, r.Calls, len(r.Failures), r.Fetches, r.StoreFailures)
		total.Calls += r.Calls
		total.TokenFailures += r.TokenFailures
		total.Fetches += r.Fetches
		total.StoreFailures += r.StoreFailures
		for msg, count := range r.Failures {
			t.Errorf("worker %d: %d calls failed: %s", i, count, msg)
		}
		if r.Calls == 0 {
			t.Errorf("worker %d made no call", i)
		}
	}
	if total.TokenFailures != 0 {
		t.Errorf("%d calls failed for a token reason, want 0", total.TokenFailures)
	}
	return total
}

// Multi-process test timing. Tokens live tokenTTL. A client refreshes its
// token between a fifth and a fourth of its lifetime before expiry, so no
// token is replaced for expiry before refreshShare of its lifetime.
const (
	workerProcesses  = 4
	workerGoroutines = 50

	// workerCallsPerMinute keeps the four workers at 200 calls a second in
	// all, which the sandbox keeps up with under the race detector on two
	// cores. An overloaded sandbox responds so late that tokens expire in
	// flight.
	workerCallsPerMinute = 3000
	tokenTTL             = 3 * time.Second
	refreshShare         = 0.75
)

// maxExpiryFetches returns how many tokens expiry alone calls for in a run
// of d: the first one and then at most one per refreshShare of a lifetime,
// because the earliest refresh of a token comes that long after its fetch.
func maxExpiryFetches(d time.Duration) int {
	return 1 + int(float64(d)/(refreshShare*float64(tokenTTL)))
}

// Four worker processes of 50 goroutines share one Redis: between them they
// fetch one token per expiry or revocation, and no call fails.
func TestWorkersShareTokens(t *testing.T) {
	srv := startRedis(t)
	issues := &issueWatcher{}
	sandbox := newSandbox(t, wecomtest.WithTokenTTL(tokenTTL), wecomtest.WithLogger(slog.New(issues)))
	const run = 12 * time.Second

	start := time.Now()
	wait := startWorkers(t, workerProcesses, workerConfig{
		SandboxURL: sandbox.URL,
		CorpID:     sandbox.CorpID,
		Secret:     sandbox.Secret,
		RedisURL:   srv.URL,
		Goroutines: workerGoroutines,
		Duration:   run,

		CallsPerMinute: workerCallsPerMinute,
	})
	revocations := revokeAtRandom(sandbox, issues, start.Add(time.Second), start.Add(run-tokenTTL))
	reports := wait()
	elapsed := time.Since(start)

	total := sumReports(t, reports)
	issued := sandbox.Stats().TokensIssued
	expiries := maxExpiryFetches(elapsed)
	t.Logf("%d processes x %d goroutines, %v: %d calls, %d tokens issued, at most %d for expiry, %d revocations",
		workerProcesses, workerGoroutines, elapsed.Round(time.Millisecond), total.Calls, issued, expiries, revocations)

	if issued > expiries+revocations {
		t.Errorf("sandbox issued %d tokens, want at most %d for expiry plus %d for revocations", issued, expiries, revocations)
	}
	if issued < revocations+1 {
		t.Errorf("sandbox issued %d tokens, want at least one per revocation plus the first", issued)
	}
	checkFetchCount(t, total.Fetches, issued)
	if total.StoreFailures != 0 {
		t.Errorf("workers logged %d token store failures with Redis up, want 0", total.StoreFailures)
	}
}

// issueWatcher is a slog handler for the sandbox that records when the
// sandbox last issued a token. The sandbox logs each call as it handles
// it, so the time is exact whatever the test's own goroutines are doing.
type issueWatcher struct {
	last atomic.Int64 // Unix nanoseconds
}

func (w *issueWatcher) Enabled(context.Context, slog.Level) bool { return true }

func (w *issueWatcher) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "wecomtest: call" {
		return nil
	}
	var op string
	code := int64(-1)
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "op":
			op = a.Value.String()
		case "errcode":
			code = a.Value.Int64()
		}
		return true
	})
	if op == wecomtest.OpGetToken && code == 0 {
		w.last.Store(r.Time.UnixNano())
	}
	return nil
}

func (w *issueWatcher) WithAttrs([]slog.Attr) slog.Handler { return w }

func (w *issueWatcher) WithGroup(string) slog.Handler { return w }

// lastIssue returns when the sandbox last issued a token.
func (w *issueWatcher) lastIssue() time.Time { return time.Unix(0, w.last.Load()) }

// revokeAtRandom revokes the sandbox's tokens at random times between from
// and to, and returns how many times it revoked. It revokes about two
// tokens in three, each at a random point in the middle of its life:
// between revokeFrom and revokeTo of its lifetime after the sandbox issued
// it.
//
// NOTE: the middle is chosen because the client re-sends a call only once
// after a token rejection. A revocation that lands while a newly issued
// token is still replacing the old one in the workers' memory kills both:
// a call that got the old token rejected then meets the new one, also
// rejected, and fails. Near expiry the new token takes up to a quarter of
// a lifetime to spread, because each worker switches at its own refresh
// time. A second re-send for a token other than the rejected one would
// remove the restriction.
func revokeAtRandom(sandbox *wecomtest.Server, issues *issueWatcher, from, to time.Time) int {
	const (
		revokeFrom = 0.35
		revokeTo   = 0.6
	)
	inWindow := func(now time.Time) bool {
		age := float64(now.Sub(issues.lastIssue())) / float64(tokenTTL)
		return age >= revokeFrom && age <= revokeTo
	}

	revocations := 0
	var seen, target time.Time
	for now := time.Now(); now.Before(to); now = time.Now() {
		if issued := issues.lastIssue(); !issued.Equal(seen) {
			seen, target = issued, time.Time{}
			if rand.N(3) != 0 {
				share := revokeFrom + rand.Float64()*(revokeTo-revokeFrom)
				target = issued.Add(time.Duration(share * float64(tokenTTL)))
			}
		}
		// A late wake-up skips the revocation rather than moving it out
		// of the window.
		if !target.IsZero() && !now.Before(target) && !now.Before(from) && inWindow(now) {
			sandbox.RevokeTokens()
			revocations++
			target = time.Time{}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return revocations
}

// With Redis stopped mid-run, the workers go on with the tokens they hold
// and fetch new ones on their own: no call fails and gettoken is called
// about once per expiry and process.
func TestWorkersSurviveRedisStop(t *testing.T) {
	srv := startRedis(t)
	sandbox := newSandbox(t, wecomtest.WithTokenTTL(tokenTTL))
	const (
		run    = 8 * time.Second
		stopAt = 3 * time.Second
	)

	start := time.Now()
	wait := startWorkers(t, workerProcesses, workerConfig{
		SandboxURL: sandbox.URL,
		CorpID:     sandbox.CorpID,
		Secret:     sandbox.Secret,
		RedisURL:   srv.URL,
		Goroutines: workerGoroutines,
		Duration:   run,

		CallsPerMinute: workerCallsPerMinute,
	})
	time.Sleep(stopAt)
	issuedBefore := sandbox.Stats().TokensIssued
	srv.Stop()
	stopped := time.Now()
	reports := wait()
	end := time.Now()

	total := sumReports(t, reports)
	issuedAfter := sandbox.Stats().TokensIssued - issuedBefore
	// Each process fetches on its own after the stop, and a refresh that
	// was under way when Redis stopped may add one more.
	maxAfter := workerProcesses * (maxExpiryFetches(end.Sub(stopped)) + 1)
	t.Logf("%d processes x %d goroutines, Redis stopped after %v of %v: %d calls, tokens issued %d before the stop and %d after, at most %d allowed; %d token store failures logged",
		workerProcesses, workerGoroutines, stopped.Sub(start).Round(time.Millisecond), end.Sub(start).Round(time.Millisecond),
		total.Calls, issuedBefore, issuedAfter, maxAfter, total.StoreFailures)

	if maxBefore := maxExpiryFetches(stopped.Sub(start)); issuedBefore > maxBefore {
		t.Errorf("sandbox issued %d tokens before the stop, want at most %d", issuedBefore, maxBefore)
	}
	if issuedAfter > maxAfter {
		t.Errorf("sandbox issued %d tokens after the stop, want at most %d", issuedAfter, maxAfter)
	}
	if total.StoreFailures == 0 {
		t.Error("workers logged no token store failure, so Redis was not missed")
	}
	checkFetchCount(t, total.Fetches, issuedBefore+issuedAfter)
}

// checkFetchCount compares the fetches the workers logged with the tokens
// the sandbox issued. A worker may print its report while a refresh it
// started goes on, so the sandbox may count one more token per process.
func checkFetchCount(t *testing.T, fetches int64, issued int) {
	t.Helper()
	if fetches > int64(issued) || int64(issued)-fetches > workerProcesses {
		t.Errorf("workers logged %d token fetches, sandbox issued %d tokens", fetches, issued)
	}
}
