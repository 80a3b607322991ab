package wecom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Token is an access token and the time WeCom stops accepting it.
type Token struct {
	AccessToken string
	ExpiresAt   time.Time
}

// String returns a description of the token without its value, so that a
// Token printed with %v or %+v does not leak.
func (t Token) String() string {
	return fmt.Sprintf("wecom.Token{AccessToken:%s, ExpiresAt:%s}", redacted, t.ExpiresAt.Format(time.RFC3339))
}

// GoString is the %#v form of the token, also without its value.
func (t Token) GoString() string { return t.String() }

// TokenSource supplies access tokens. Implementations must be safe for
// concurrent use. The client caches what Token returns until shortly before
// ExpiresAt, so a source is called once per token lifetime, plus once after
// each token WeCom rejects. Clients that share a [TokenStore] that is also
// a [TokenLocker] call their sources that often between them.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenInvalidator is implemented by a [TokenSource] that wants to know when
// WeCom rejected one of its tokens with errcode 40014 or 42001.
type TokenInvalidator interface {
	InvalidateToken(ctx context.Context, accessToken string)
}

// TokenSourceFunc adapts a function to the [TokenSource] interface, for
// companies that run a central token service.
type TokenSourceFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// TokenKey returns the cache key of the token of one app: the corp ID and a
// SHA-256 prefix of the secret. Two apps of one corp get different keys, and
// the key never contains the secret itself.
func TokenKey(corpID, secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return corpID + ":" + hex.EncodeToString(sum[:8])
}

// cachedToken is a token with the time the cache starts fetching a new one.
type cachedToken struct {
	Token
	refreshAt time.Time
	rejected  bool // WeCom rejected the token, so only another value replaces it
}

// replacedBy reports whether tok, read from the store, may take the place
// of t. After a rejection only another token may. Before expiry the same
// token with a later expiry may too, because WeCom may hand it out again.
func (t *cachedToken) replacedBy(tok Token) bool {
	switch {
	case t == nil:
		return true
	case t.rejected:
		return tok.AccessToken != t.AccessToken
	default:
		return tok.AccessToken != t.AccessToken || !tok.ExpiresAt.Equal(t.ExpiresAt)
	}
}

// Timing of the shared refresh. A client that finds the refresh lock taken
// polls the store every pollMin, doubling up to pollMax, for at most
// lockWait. The wait is longer than lockTTL, so when a holder dies, one
// waiter takes the lock over before the others give up and fetch on their
// own.
const (
	storeTimeout = 2 * time.Second
	lockTTL      = 10 * time.Second
	lockWait     = lockTTL + 2*time.Second
	pollMin      = 10 * time.Millisecond
	pollMax      = 200 * time.Millisecond

	// badCredentialsHold is how long the cache returns a fetch error that a
	// new attempt cannot fix, such as a wrong secret, before it calls the
	// source again. WeCom blocks an IP for an hour after repeated
	// wrong-secret calls.
	badCredentialsHold = time.Minute
)

// tokenCache serves a token from memory and refreshes it once it is close
// to expiry or after WeCom rejected it. A refresh first reads the store,
// where another client may have put a newer token, and otherwise fetches
// one from source under the store's refresh lock. Concurrent callers in a
// process share one refresh.
type tokenCache struct {
	source  TokenSource
	store   TokenStore
	key     string
	logger  *slog.Logger
	current atomic.Pointer[cachedToken]
	failure atomic.Pointer[fetchFailure]
	fetches singleflight.Group
	now     func() time.Time // nil for the real clock
	sleep   func(ctx context.Context, d time.Duration) error
	onFetch func(Token) // observes each fetch from source, for logging
}

// fetchFailure is a fetch error that the cache returns until a given time.
type fetchFailure struct {
	err   error
	until time.Time
}

func newTokenCache(source TokenSource, store TokenStore, key string, logger *slog.Logger) *tokenCache {
	return &tokenCache{
		source: source,
		store:  store,
		key:    key,
		logger: logger,
		sleep:  sleepContext,
	}
}

// Token returns the cached token or waits for a fresh one. A caller whose
// ctx ends stops waiting, while the shared refresh goes on for the others.
// The path through a fresh cached token neither locks nor allocates.
func (c *tokenCache) Token(ctx context.Context) (Token, error) {
	if cached := c.current.Load(); c.fresh(cached) {
		return cached.Token, nil
	}

	results := c.fetches.DoChan("token", func() (tok any, err error) {
		// singleflight re-panics on a goroutine of its own, where no caller
		// could recover, so a panic of the source or the store becomes an
		// error here.
		defer func() {
			if r := recover(); r != nil {
				err = c.recoverRefresh(ctx, r)
			}
		}()
		return c.refresh(context.WithoutCancel(ctx))
	})

	select {
	case res := <-results:
		if res.Err != nil {
			return Token{}, res.Err
		}
		return res.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// recoverRefresh logs a panic of a refresh with its stack and returns it as
// an error.
func (c *tokenCache) recoverRefresh(ctx context.Context, r any) error {
	msg := redactString(fmt.Sprint(r))
	c.logger.LogAttrs(ctx, slog.LevelError, "wecom: token refresh panicked",
		slog.String("key", c.key), slog.String("panic", msg), slog.String("stack", string(debug.Stack())))
	return fmt.Errorf("wecom: token refresh panicked: %s", msg)
}

// refresh replaces the held token with a newer one from the store or, if
// the store has none, with one fetched from source.
func (c *tokenCache) refresh(ctx context.Context) (Token, error) {
	held := c.current.Load()
	if c.fresh(held) {
		// Another caller refreshed while this one waited.
		return held.Token, nil
	}
	if failure := c.failure.Load(); failure != nil && c.clock().Before(failure.until) {
		return Token{}, failure.err
	}

	tok, found, err := c.loadNewer(ctx, held)
	switch {
	case found:
		c.logger.LogAttrs(ctx, slog.LevelDebug, "wecom: loaded access token from the token store",
			slog.String("key", c.key), slog.Time("expires_at", tok.ExpiresAt))
	case err != nil:
		// The store is unreachable, so a lock is too: fetch without one.
		tok, err = c.fetchAndStore(ctx)
	default:
		tok, err = c.fetchShared(ctx, held)
	}
	if err != nil {
		return Token{}, err
	}

	c.keep(tok)
	return tok, nil
}

func (c *tokenCache) keep(tok Token) {
	c.current.Store(&cachedToken{Token: tok, refreshAt: refreshTime(c.clock(), tok.ExpiresAt)})
}

// loadNewer reads the store and returns its token if it is unexpired and
// may replace held. A read error is logged and returned as a miss.
func (c *tokenCache) loadNewer(ctx context.Context, held *cachedToken) (Token, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()

	tok, ok, err := c.store.Load(ctx, c.key)
	if err != nil {
		c.logStoreError(ctx, "read", err, "")
		return Token{}, false, err
	}
	if !ok || !c.clock().Before(tok.ExpiresAt) || !held.replacedBy(tok) {
		return Token{}, false, nil
	}
	return tok, true, nil
}

// fetchShared fetches a token while holding the store's refresh lock. A
// client that finds the lock taken polls the store for the holder's token.
func (c *tokenCache) fetchShared(ctx context.Context, held *cachedToken) (Token, error) {
	locker, ok := c.store.(TokenLocker)
	if !ok {
		return c.fetchAndStore(ctx)
	}

	deadline := c.clock().Add(lockWait)
	poll := pollMin
	for {
		unlock, acquired, err := c.tryLock(ctx, locker)
		if err != nil {
			return c.fetchAndStore(ctx)
		}
		if acquired {
			return c.fetchLocked(ctx, held, unlock)
		}

		if c.clock().After(deadline) {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "wecom: token refresh lock still held, fetching without it",
				slog.String("key", c.key), slog.Duration("waited", lockWait))
			return c.fetchAndStore(ctx)
		}
		if err := c.sleep(ctx, jitter(poll)); err != nil {
			return Token{}, err
		}
		poll = min(2*poll, pollMax)

		if tok, found, _ := c.loadNewer(ctx, held); found {
			return tok, nil
		}
	}
}

// fetchLocked fetches a token unless the store got one while this client
// took the lock, and releases the lock.
func (c *tokenCache) fetchLocked(ctx context.Context, held *cachedToken, unlock func(context.Context) error) (Token, error) {
	defer func() {
		ctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if err := unlock(ctx); err != nil {
			c.logStoreError(ctx, "unlock", err, "")
		}
	}()

	if tok, found, _ := c.loadNewer(ctx, held); found {
		return tok, nil
	}
	return c.fetchAndStore(ctx)
}

func (c *tokenCache) tryLock(ctx context.Context, locker TokenLocker) (func(context.Context) error, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()

	unlock, acquired, err := locker.TryLock(ctx, c.key, lockTTL)
	if err != nil {
		c.logStoreError(ctx, "lock", err, "")
	}
	return unlock, acquired, err
}

// fetchAndStore fetches a token from source and saves it in the store. A
// failed save is logged and the token is used all the same.
func (c *tokenCache) fetchAndStore(ctx context.Context) (Token, error) {
	tok, err := c.source.Token(ctx)
	if errors.Is(err, ErrBadCredentials) {
		c.failure.Store(&fetchFailure{err: err, until: c.clock().Add(badCredentialsHold)})
		c.logger.LogAttrs(ctx, slog.LevelError, "wecom: token fetch rejected the credentials, pausing fetches",
			slog.String("key", c.key), slog.Duration("pause", badCredentialsHold), slog.String("error", err.Error()))
	}
	if err != nil {
		return Token{}, err
	}
	c.failure.Store(nil)
	if c.onFetch != nil {
		c.onFetch(tok)
	}

	storeCtx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := c.store.Store(storeCtx, c.key, tok); err != nil {
		c.logStoreError(ctx, "write", err, tok.AccessToken)
	}
	return tok, nil
}

// Invalidate marks accessToken as rejected if it is still the cached token,
// removes it from the store unless the store already holds another, and
// passes the rejection on to the source. Only the first of the callers that report one token
// does so. A token fetched by another caller in the meantime stays.
func (c *tokenCache) Invalidate(ctx context.Context, accessToken string) {
	cached := c.current.Load()
	if cached == nil || cached.rejected || cached.AccessToken != accessToken {
		return
	}
	if !c.current.CompareAndSwap(cached, &cachedToken{Token: cached.Token, rejected: true}) {
		return
	}

	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := c.store.Delete(storeCtx, c.key, accessToken); err != nil {
		c.logStoreError(ctx, "delete", err, accessToken)
	}

	if inv, ok := c.source.(TokenInvalidator); ok {
		inv.InvalidateToken(ctx, accessToken)
	}
}

// logStoreError logs a failed store operation. It removes accessToken from
// the message in case the store quoted it.
func (c *tokenCache) logStoreError(ctx context.Context, op string, err error, accessToken string) {
	msg := err.Error()
	if accessToken != "" {
		msg = strings.ReplaceAll(msg, accessToken, redacted)
	}
	c.logger.LogAttrs(ctx, slog.LevelWarn, "wecom: token store "+op+" failed, going on without it",
		slog.String("key", c.key), slog.String("error", redactString(msg)))
}

// jitter returns d plus or minus up to a quarter, so that waiting clients
// do not poll the store in step.
func jitter(d time.Duration) time.Duration {
	if d < 4 {
		return d
	}
	return d - d/4 + rand.N(d/2)
}

// refreshTime returns when to fetch a new token: a fifth of its lifetime
// before expiry, and at most five minutes before. Up to a quarter of that
// margin is added as jitter, so that many processes do not refresh at once.
func refreshTime(now, expiresAt time.Time) time.Time {
	lifetime := expiresAt.Sub(now)
	if lifetime <= 0 {
		return now
	}
	margin := min(lifetime/5, 5*time.Minute)
	jitter := time.Duration(0)
	if margin >= 4 {
		jitter = rand.N(margin / 4)
	}
	return expiresAt.Add(-margin - jitter)
}

// clock returns the time of c.now, or of the real clock when it is nil.
func (c *tokenCache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// fresh reports whether t may be used now without a refresh. With the real
// clock it calls time.Until, which reads only the monotonic clock when
// refreshAt has a monotonic reading, at about half the cost of time.Now.
func (c *tokenCache) fresh(t *cachedToken) bool {
	if t == nil {
		return false
	}
	if c.now == nil {
		return time.Until(t.refreshAt) > 0
	}
	return c.now().Before(t.refreshAt)
}
