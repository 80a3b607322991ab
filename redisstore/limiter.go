package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// Limiter keeps the calls of all workers that share a Redis server and a
// key prefix under a number of calls a minute to each API. It is a
// [wecom.Limiter], safe for concurrent use.
//
// It counts calls in a sliding window: the count of the current minute plus
// the count of the previous minute weighted by the part of it that is still
// inside the window. The minutes follow the Redis server's clock, so the
// workers need not agree on the time. The weighting assumes calls spread
// evenly over the previous minute, so a burst at its end can let a window
// hold slightly more calls than the limit.
type Limiter struct {
	client  redis.UniversalClient
	prefix  string
	limit   int
	window  time.Duration
	maxWait time.Duration // maximum sleep between two tries
}

// NewLimiter returns a limiter of callsPerMinute calls to each API, counted
// under keyPrefix followed by the API path. Use one prefix per corp,
// because WeCom counts calls per corp and API, such as
// "wecom-transfer:rate:" followed by the corp ID and a colon. A
// callsPerMinute of zero or less turns the limit off.
func NewLimiter(client redis.UniversalClient, keyPrefix string, callsPerMinute int) *Limiter {
	return &Limiter{
		client:  client,
		prefix:  keyPrefix,
		limit:   callsPerMinute,
		window:  time.Minute,
		maxWait: 5 * time.Second,
	}
}

// limitScript counts one call in the sliding window of KEYS[1] if it fits
// under ARGV[1] calls per ARGV[2] milliseconds. It returns 0 when the call
// was counted, and otherwise the milliseconds until one may fit. The hash
// holds the index of the current window (w) and the counts of the current
// (c) and previous (p) windows.
var limitScript = redis.NewScript(`
if redis.replicate_commands then
	redis.replicate_commands()
end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local index = math.floor(now / window)

local state = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local stored = tonumber(state[1])
local current = tonumber(state[2]) or 0
local previous = tonumber(state[3]) or 0
if stored ~= index then
	if stored == index - 1 then
		previous = current
	else
		previous = 0
	end
	current = 0
end

local elapsed = now - index * window
local wait = 0
if current + 1 > limit then
	wait = window - elapsed
elseif previous * (window - elapsed) / window + current + 1 > limit then
	wait = math.ceil(window - elapsed - (limit - current - 1) * window / previous)
else
	current = current + 1
end

redis.call('HSET', KEYS[1], 'w', index, 'c', current, 'p', previous)
redis.call('PEXPIRE', KEYS[1], 2 * window)
if wait ~= 0 and wait < 1 then
	wait = 1
end
return wait
`)

// Wait blocks until a call to endpoint fits under the limit, and counts it.
// It returns ctx's error if ctx ends first, and a Redis error as is.
func (l *Limiter) Wait(ctx context.Context, endpoint string) error {
	if l.limit <= 0 {
		return nil
	}
	key := l.prefix + endpoint
	for {
		wait, err := limitScript.Run(ctx, l.client, []string{key}, l.limit, l.window.Milliseconds()).Int64()
		if err != nil {
			return fmt.Errorf("redisstore: rate limit %s: %w", key, err)
		}
		if wait == 0 {
			return nil
		}

		// Spread the retries of waiting workers over a tenth of the wait.
		delay := time.Duration(wait) * time.Millisecond
		delay = min(delay+rand.N(delay/10+1), l.maxWait)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

var _ wecom.Limiter = (*Limiter)(nil)
