package wecom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
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
// each token WeCom rejects.
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
}

// tokenCache serves a token from memory and fetches a new one through
// source once it is close to expiry or after it was invalidated. Concurrent
// callers share one fetch.
type tokenCache struct {
	source  TokenSource
	current atomic.Pointer[cachedToken]
	fetches singleflight.Group
	now     func() time.Time
	onFetch func(Token) // observes each fetch, for logging
}

func newTokenCache(source TokenSource) *tokenCache {
	return &tokenCache{source: source, now: time.Now}
}

// Token returns the cached token or waits for a fresh one. A caller whose
// ctx ends stops waiting, while the shared fetch goes on for the others.
func (c *tokenCache) Token(ctx context.Context) (Token, error) {
	if cached := c.current.Load(); cached != nil && c.now().Before(cached.refreshAt) {
		return cached.Token, nil
	}

	results := c.fetches.DoChan("token", func() (any, error) {
		// Another caller may have stored a token while this one waited.
		if cached := c.current.Load(); cached != nil && c.now().Before(cached.refreshAt) {
			return cached.Token, nil
		}
		tok, err := c.source.Token(context.WithoutCancel(ctx))
		if err != nil {
			return Token{}, err
		}
		c.current.Store(&cachedToken{Token: tok, refreshAt: refreshTime(c.now(), tok.ExpiresAt)})
		if c.onFetch != nil {
			c.onFetch(tok)
		}
		return tok, nil
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

// Invalidate drops accessToken if it is still the cached token. A token
// fetched by another caller in the meantime stays.
func (c *tokenCache) Invalidate(ctx context.Context, accessToken string) {
	cached := c.current.Load()
	if cached != nil && cached.AccessToken == accessToken {
		c.current.CompareAndSwap(cached, nil)
	}
	if inv, ok := c.source.(TokenInvalidator); ok {
		inv.InvalidateToken(ctx, accessToken)
	}
}

// refreshTime returns when to fetch a new token: a fifth of its lifetime
// before expiry, at most five minutes before, with up to a quarter of that
// margin of jitter so that many processes do not refresh at the same moment.
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
