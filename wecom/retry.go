package wecom

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RetryPolicy sets how a call recovers from WeCom's transient failures.
//
// Reads are retried after errcode -1 or 6000, a transport error or an HTTP
// 5xx response. Writes are retried only after errcode -1, which WeCom returns
// for requests it did not apply, and after a connection that could not be
// opened. Every call waits out 45009 and 45033 responses.
type RetryPolicy struct {
	// MaxRetries is the number of re-sends after busy or transport failures.
	// WeCom advises at most 3 after errcode -1.
	MaxRetries int
	// BaseDelay is the wait before the first re-send; each later one doubles
	// it, up to MaxDelay, with full jitter.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// RateLimitWait is how long all calls of the client pause after a 45009
	// or 45033 response. WeCom blocks a minute-limit breach for 60 seconds.
	RateLimitWait time.Duration
	// MaxRateLimitWaits is how many pauses one call sits out before it
	// returns the rate-limit error.
	MaxRateLimitWaits int
}

// DefaultRetryPolicy retries 3 times from 500 ms up to 8 s, and pauses 60
// seconds after a rate-limit response, up to 5 times a call.
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

// Limiter spaces out calls to WeCom in place of the client-side limit of
// [WithRateLimit], for example to keep the workers of one corp together
// under WeCom's limit per corp and API. Implementations must be safe for
// concurrent use.
type Limiter interface {
	// Wait blocks until a call to endpoint, such as
	// "/cgi-bin/externalcontact/list", may be sent, or until ctx ends.
	Wait(ctx context.Context, endpoint string) error
}

// WithLimiter makes the client wait for l before each call, in place of
// the limit of [WithRateLimit]. When Wait fails for another reason than the
// end of ctx, the client logs the failure and falls back to the limit of
// [WithRateLimit] for that call. The pause after a rate-limit response from
// WeCom applies either way.
func WithLimiter(l Limiter) Option {
	return func(s *settings) { s.limiter = l }
}

// throttle holds the client-side limiters and the pause that follows a
// rate-limit response from WeCom.
type throttle struct {
	perMinute int
	mu        sync.Mutex
	limiters  map[string]*rate.Limiter
	until     time.Time

	// Limiter failures since the last log line about them.
	limiterFailures int
	limiterLoggedAt time.Time
	// limiterSkipUntil is when to try a failed [Limiter] again. Until then
	// calls use the client-side limit, so a backend that hangs costs one
	// timeout per interval instead of one per call.
	limiterSkipUntil time.Time
}

// limiterRetryInterval is how long the client uses its own limit after a
// [Limiter] failed, before it tries the Limiter again.
const limiterRetryInterval = 10 * time.Second

// limiterLogInterval is the least time between two log lines about a
// failing [Limiter], which may fail on every call while its backend is down.
const limiterLogInterval = 30 * time.Second

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
// after a rate-limit response, and within the limit of the [Limiter] or, when
// there is none or it fails, the client-side limit.
func (c *Client) waitTurn(ctx context.Context, endpoint string) error {
	c.throttle.mu.Lock()
	pause := time.Until(c.throttle.until)
	c.throttle.mu.Unlock()
	if pause > 0 {
		if err := c.settings.sleep(ctx, pause); err != nil {
			return err
		}
	}
	if c.settings.limiter != nil && c.limiterUsable() {
		err := c.settings.limiter.Wait(ctx, endpoint)
		if err == nil || ctx.Err() != nil {
			return err
		}
		c.logLimiterFailure(ctx, endpoint, err)
	}
	if c.throttle.perMinute <= 0 {
		return nil
	}
	if err := c.throttle.limiter(endpoint).Wait(ctx); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		// rate.Limiter fails at once when the wait would outlast the
		// context's deadline.
		return fmt.Errorf("wecom: %s: the client-side rate limit would delay the call past the context deadline: %w",
			endpoint, context.DeadlineExceeded)
	}
	return nil
}

// limiterUsable reports whether the [Limiter] is outside the pause that
// follows its failures.
func (c *Client) limiterUsable() bool {
	c.throttle.mu.Lock()
	defer c.throttle.mu.Unlock()
	return !time.Now().Before(c.throttle.limiterSkipUntil)
}

// logLimiterFailure logs a failed [Limiter] at most once per
// limiterLogInterval, with the number of failures since the last line.
func (c *Client) logLimiterFailure(ctx context.Context, endpoint string, err error) {
	c.throttle.mu.Lock()
	c.throttle.limiterFailures++
	failures := c.throttle.limiterFailures
	now := time.Now()
	c.throttle.limiterSkipUntil = now.Add(limiterRetryInterval)
	due := now.Sub(c.throttle.limiterLoggedAt) >= limiterLogInterval
	if due {
		c.throttle.limiterFailures = 0
		c.throttle.limiterLoggedAt = now
	}
	c.throttle.mu.Unlock()

	if due {
		c.settings.logger.LogAttrs(ctx, slog.LevelWarn, "wecom: limiter failed, using the client-side limit",
			slog.String("endpoint", endpoint), slog.Int("failures", failures),
			slog.String("error", err.Error()))
	}
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
