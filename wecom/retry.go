package wecom

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RetryPolicy sets how a call recovers from WeCom's transient failures.
//
// Reads are retried after errcode -1 or 6000, a transport error or an HTTP
// 5xx answer. Writes are retried only after errcode -1, which WeCom returns
// for requests it did not apply, and after a connection that could not be
// opened. Every call waits out 45009 and 45033 answers.
type RetryPolicy struct {
	// MaxRetries is the number of re-sends after busy or transport failures.
	// WeCom asks for at most 3 after errcode -1.
	MaxRetries int
	// BaseDelay is the wait before the first re-send; each later one doubles
	// it, up to MaxDelay, with full jitter.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// RateLimitWait is how long all calls of the client pause after a 45009
	// or 45033 answer. WeCom blocks a minute-limit breach for 60 seconds.
	RateLimitWait time.Duration
	// MaxRateLimitWaits is how many pauses one call sits out before it
	// returns the rate-limit error.
	MaxRateLimitWaits int
}

// DefaultRetryPolicy retries 3 times from 500 ms up to 8 s, and pauses 60
// seconds after a rate-limit answer, up to 5 times a call.
var DefaultRetryPolicy = RetryPolicy{
	MaxRetries:        3,
	BaseDelay:         500 * time.Millisecond,
	MaxDelay:          8 * time.Second,
	RateLimitWait:     60 * time.Second,
	MaxRateLimitWaits: 5,
}

// backoff returns the wait before re-send number attempt, counted from 1.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	ceiling := p.BaseDelay << min(attempt-1, 30)
	if ceiling > p.MaxDelay || ceiling <= 0 {
		ceiling = p.MaxDelay
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// DefaultCallsPerMinute is the client-side limit per API endpoint: below
// WeCom's published 10,000 calls a minute per corp and API, so that a
// handover leaves room for the corp's other services.
const DefaultCallsPerMinute = 6000

// WithRateLimit sets the client-side limit of calls a minute to each API
// endpoint. Zero or less turns the limit off.
func WithRateLimit(callsPerMinute int) Option {
	return func(s *settings) { s.callsPerMinute = callsPerMinute }
}

// throttle holds the client-side limiters and the pause that follows a
// rate-limit answer from WeCom.
type throttle struct {
	perMinute int
	mu        sync.Mutex
	limiters  map[string]*rate.Limiter
	until     time.Time
}

func (t *throttle) limiter(endpoint string) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.limiters == nil {
		t.limiters = make(map[string]*rate.Limiter)
	}
	l, ok := t.limiters[endpoint]
	if !ok {
		perSecond := rate.Limit(float64(t.perMinute) / 60)
		l = rate.NewLimiter(perSecond, max(1, t.perMinute/60))
		t.limiters[endpoint] = l
	}
	return l
}

// waitTurn blocks until the client may send to endpoint: past any pause
// after a rate-limit answer, and within the client-side limit.
func (c *Client) waitTurn(ctx context.Context, endpoint string) error {
	c.throttle.mu.Lock()
	pause := time.Until(c.throttle.until)
	c.throttle.mu.Unlock()
	if pause > 0 {
		if err := c.settings.sleep(ctx, pause); err != nil {
			return err
		}
	}
	if c.throttle.perMinute <= 0 {
		return nil
	}
	return c.throttle.limiter(endpoint).Wait(ctx)
}

// pauseForRateLimit makes every call of the client wait out WeCom's block
// window, and logs the wait once per window.
func (c *Client) pauseForRateLimit(ctx context.Context, endpoint string, code, attempt int) {
	wait := c.settings.retry.RateLimitWait
	c.throttle.mu.Lock()
	until := time.Now().Add(wait)
	extended := until.Sub(c.throttle.until) > wait/2
	if extended {
		c.throttle.until = until
	}
	c.throttle.mu.Unlock()

	if extended {
		c.settings.logger.LogAttrs(ctx, slog.LevelWarn, "wecom: rate limited by WeCom, pausing all calls",
			slog.String("endpoint", endpoint), slog.Int("errcode", code),
			slog.Int("attempt", attempt), slog.Duration("delay", wait))
	}
}
