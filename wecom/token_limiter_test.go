package wecom

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLimiter counts waits by endpoint and fails when err is set.
type fakeLimiter struct {
	mu    sync.Mutex
	waits map[string]int
	err   error
}

func (l *fakeLimiter) Wait(ctx context.Context, endpoint string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.waits == nil {
		l.waits = make(map[string]int)
	}
	l.waits[endpoint]++
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.err
}

func TestWithLimiterReplacesRateLimit(t *testing.T) {
	t.Parallel()
	limiter := &fakeLimiter{}
	// One call a minute: the client-side limit would block the second call.
	c := newTestClient(t, &countingSource{}, WithRateLimit(1), WithLimiter(limiter))

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	for range 5 {
		if err := c.waitTurn(ctx, endpointListCustomers); err != nil {
			t.Fatalf("waitTurn: %v", err)
		}
	}
	if got := limiter.waits[endpointListCustomers]; got != 5 {
		t.Errorf("limiter saw %d waits, want 5", got)
	}
}

func TestLimiterFailureFallsBack(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	limiter := &fakeLimiter{err: errors.New("connection refused")}
	c := newTestClient(t, &countingSource{}, WithRateLimit(60), WithLimiter(limiter),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	// 60 calls a minute allow one call now and the next a second later.
	if err := c.waitTurn(t.Context(), endpointListCustomers); err != nil {
		t.Fatalf("first waitTurn: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := c.waitTurn(ctx, endpointListCustomers); err == nil {
		t.Error("second waitTurn passed at once, want the client-side limit to hold it")
	}
	c.waitTurn(ctx, endpointListCustomers)

	out := logs.String()
	if got := strings.Count(out, "limiter failed"); got != 1 {
		t.Errorf("logged %d limiter failures for 3 failed waits, want 1:\n%s", got, out)
	}
	if !strings.Contains(out, "connection refused") {
		t.Errorf("log lacks the limiter's error:\n%s", out)
	}
}

func TestLimiterContextEndStopsCall(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	c := newTestClient(t, &countingSource{}, WithLimiter(&fakeLimiter{}),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.waitTurn(ctx, endpointListCustomers); !errors.Is(err, context.Canceled) {
		t.Errorf("waitTurn = %v, want context.Canceled", err)
	}
	if strings.Contains(logs.String(), "limiter failed") {
		t.Errorf("logged the end of ctx as a limiter failure:\n%s", logs.String())
	}
}
