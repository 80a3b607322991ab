package redisstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// newTestLimiter returns a limiter with a short window, so that tests see
// several windows in a few seconds.
func newTestLimiter(t *testing.T, srv *redisServer, limit int, window time.Duration) *Limiter {
	t.Helper()
	l := NewLimiter(srv.Client(t), "test:rate:wwcorp:", limit)
	l.window = window
	return l
}

func TestLimiterWaitsWhenFull(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	const limit = 5
	l := newTestLimiter(t, srv, limit, time.Second)
	ctx := t.Context()

	start := time.Now()
	for range limit {
		if err := l.Wait(ctx, "/cgi-bin/externalcontact/list"); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("%d calls under the limit took %v, want no wait", limit, took)
	}

	// Another endpoint has its own count.
	if err := l.Wait(ctx, "/cgi-bin/externalcontact/transfer_customer"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("a call to another endpoint waited until %v", took)
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(short, "/cgi-bin/externalcontact/list"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait over the limit = %v, want context.DeadlineExceeded", err)
	}
	if err := l.Wait(ctx, "/cgi-bin/externalcontact/list"); err != nil {
		t.Fatal(err)
	}
}

// Several limiters, as separate workers would have, share one count.
func TestLimiterSharedAcrossClients(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	const (
		limit   = 40
		window  = 500 * time.Millisecond
		workers = 4
		run     = 2 * time.Second
	)
	ctx, cancel := context.WithTimeout(t.Context(), run)
	defer cancel()

	var calls atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		l := newTestLimiter(t, srv, limit, window)
		for range 8 {
			wg.Go(func() {
				for l.Wait(ctx, "/cgi-bin/externalcontact/list") == nil {
					calls.Add(1)
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Each window holds at most limit calls, plus the weighted part of the
	// previous window that the sliding estimate lets through when calls
	// bunch up at a window's end: at most one window's worth in all.
	windows := int64(elapsed/window) + 1
	got := calls.Load()
	if maxCalls := limit * (windows + 1); got > maxCalls {
		t.Errorf("%d workers made %d calls in %v, want at most %d", workers, got, elapsed, maxCalls)
	}
	if minCalls := limit * (windows - 2); got < minCalls {
		t.Errorf("%d workers made %d calls in %v, want at least %d: the limiter stalls", workers, got, elapsed, minCalls)
	}
	t.Logf("%d calls in %v with %d calls per %v", got, elapsed, limit, window)
}

func TestLimiterOffWhenZero(t *testing.T) {
	t.Parallel()
	l := NewLimiter(nil, "test:rate:", 0)
	if err := l.Wait(t.Context(), "/cgi-bin/externalcontact/list"); err != nil {
		t.Errorf("Wait of a limiter without a limit = %v", err)
	}
}

// A client whose limiter fails because Redis stopped falls back to its own
// limit and its calls succeed.
func TestClientLimiterRedisDown(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	sandbox := newSandbox(t)
	store := srv.Open(t)
	client := newSandboxClient(t, sandbox,
		wecom.WithTokenStore(store),
		wecom.WithLimiter(NewLimiter(store.Client(), "test:rate:wwcorp:", 6000)))

	if _, err := client.ListCustomers(t.Context(), sandboxMember); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for range 5 {
		if _, err := client.ListCustomers(t.Context(), sandboxMember); err != nil {
			t.Fatalf("call with Redis stopped: %v", err)
		}
	}
}
