package wecom

import (
	"context"
	"sync"
	"time"
)

// TokenStore keeps access tokens where several clients can share them, so
// that clients of one app, in one process or in many, fetch one token per
// lifetime between them. Keys come from [TokenKey] or [WithTokenKey].
// Implementations must be safe for concurrent use.
//
// The client keeps its token in memory and reads the store only when that
// token is missing, due for refresh or rejected by WeCom. A failed Load
// counts as a miss, and a failed Store or Delete is logged. Either way the
// client goes on with the token it holds or fetches. Errors must not
// contain token values.
type TokenStore interface {
	// Load returns the token stored under key. It returns ok false when
	// there is none or the stored one has expired.
	Load(ctx context.Context, key string) (tok Token, ok bool, err error)

	// Store saves tok under key until tok.ExpiresAt, unless the store holds
	// a token that expires later, which it keeps.
	Store(ctx context.Context, key string, tok Token) error

	// Delete removes the token under key only if its value is accessToken,
	// so that a client cannot remove a newer token another client stored.
	Delete(ctx context.Context, key, accessToken string) error
}

// TokenLocker is implemented by a [TokenStore] that can make clients take
// turns to fetch a token, so that one client fetches while the others wait
// for it to appear in the store.
type TokenLocker interface {
	// TryLock takes the refresh lock of key for at most ttl without
	// waiting. It returns acquired false when another holder has the lock.
	// unlock releases the lock only if this holder still owns it.
	TryLock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, acquired bool, err error)
}

// WithTokenStore makes the client share its token through store, such as
// the Redis store of package redisstore, so that clients of one app in
// several processes fetch one token between them. A client made by [New]
// stores its token under [TokenKey] of its corp ID and secret; one made by
// [NewWithTokenSource] needs [WithTokenKey]. Without this option each client
// keeps its token in a [MemoryTokenStore] of its own.
func WithTokenStore(store TokenStore) Option {
	return func(s *settings) { s.tokenStore = store }
}

// WithTokenKey sets the key under which a client made by
// [NewWithTokenSource] shares its token in the store of [WithTokenStore].
// Give every app its own key, because a token works only for the app that
// fetched it. [New] derives the key itself and rejects this option.
func WithTokenKey(key string) Option {
	return func(s *settings) { s.tokenKey = key }
}

// MemoryTokenStore is a [TokenStore] and [TokenLocker] that keeps tokens in
// the memory of one process. Every client has one of its own unless
// [WithTokenStore] gives it another. Several clients of one app in a
// process can share one, so that they fetch one token between them. Its
// zero value is ready to use.
type MemoryTokenStore struct {
	mu     sync.Mutex
	tokens map[string]Token
	locks  map[string]memoryLock
	owners uint64           // the last lock owner handed out
	now    func() time.Time // time.Now when nil
}

type memoryLock struct {
	owner uint64
	until time.Time
}

// NewMemoryTokenStore returns an empty [MemoryTokenStore].
func NewMemoryTokenStore() *MemoryTokenStore {
	return &MemoryTokenStore{}
}

func (s *MemoryTokenStore) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Load returns the unexpired token stored under key.
func (s *MemoryTokenStore) Load(_ context.Context, key string) (Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[key]
	if !ok || !s.clock().Before(tok.ExpiresAt) {
		return Token{}, false, nil
	}
	return tok, true, nil
}

// Store saves tok under key unless the stored token expires later.
func (s *MemoryTokenStore) Store(_ context.Context, key string, tok Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.tokens[key]; ok && old.ExpiresAt.After(tok.ExpiresAt) {
		return nil
	}
	if s.tokens == nil {
		s.tokens = make(map[string]Token)
	}
	s.tokens[key] = tok
	return nil
}

// Delete removes the token under key if its value is accessToken.
func (s *MemoryTokenStore) Delete(_ context.Context, key, accessToken string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.tokens[key]; ok && old.AccessToken == accessToken {
		delete(s.tokens, key)
	}
	return nil
}

// TryLock takes the refresh lock of key for at most ttl.
func (s *MemoryTokenStore) TryLock(_ context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if held, ok := s.locks[key]; ok && now.Before(held.until) {
		return nil, false, nil
	}
	if s.locks == nil {
		s.locks = make(map[string]memoryLock)
	}
	s.owners++
	owner := s.owners
	s.locks[key] = memoryLock{owner: owner, until: now.Add(ttl)}

	unlock := func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if held, ok := s.locks[key]; ok && held.owner == owner {
			delete(s.locks, key)
		}
		return nil
	}
	return unlock, true, nil
}

var (
	_ TokenStore  = (*MemoryTokenStore)(nil)
	_ TokenLocker = (*MemoryTokenStore)(nil)
)
