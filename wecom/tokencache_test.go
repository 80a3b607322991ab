package wecom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/internal/syncbuf"
)

// countingSource hands out numbered tokens and counts the calls.
type countingSource struct {
	calls    atomic.Int64
	delay    time.Duration
	lifetime time.Duration
	now      func() time.Time
	err      error
}

func (s *countingSource) Token(ctx context.Context) (Token, error) {
	n := s.calls.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if s.err != nil {
		return Token{}, s.err
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	lifetime := s.lifetime
	if lifetime == 0 {
		lifetime = 2 * time.Hour
	}
	return Token{AccessToken: fmt.Sprintf("test-token-%d", n), ExpiresAt: now().Add(lifetime)}, nil
}

// testClock is a manual clock for the token cache and the memory store.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a buffer safe for one writer and one reader.
type syncBuffer = syncbuf.Buffer

// faultyStore is a memory store whose operations fail on demand with an
// error that quotes its arguments, as a careless store might.
type faultyStore struct {
	MemoryTokenStore
	failLoad, failStore, failDelete, failLock atomic.Bool
	loads                                     atomic.Int64
}

func (s *faultyStore) Load(ctx context.Context, key string) (Token, bool, error) {
	s.loads.Add(1)
	if s.failLoad.Load() {
		return Token{}, false, errors.New("store down")
	}
	return s.MemoryTokenStore.Load(ctx, key)
}

func (s *faultyStore) Store(ctx context.Context, key string, tok Token) error {
	if s.failStore.Load() {
		return fmt.Errorf("store down, dropped access_token=%s value %s", tok.AccessToken, tok.AccessToken)
	}
	return s.MemoryTokenStore.Store(ctx, key, tok)
}

func (s *faultyStore) Delete(ctx context.Context, key, accessToken string) error {
	if s.failDelete.Load() {
		return fmt.Errorf("store down, kept %s", accessToken)
	}
	return s.MemoryTokenStore.Delete(ctx, key, accessToken)
}

func (s *faultyStore) TryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if s.failLock.Load() {
		return nil, false, errors.New("store down")
	}
	return s.MemoryTokenStore.TryLock(ctx, key, ttl)
}

func newTestClient(t *testing.T, source TokenSource, opts ...Option) *Client {
	t.Helper()
	c, err := NewWithTokenSource(source, opts...)
	if err != nil {
		t.Fatalf("NewWithTokenSource: %v", err)
	}
	return c
}

func mustToken(t *testing.T, c *Client) Token {
	t.Helper()
	tok, err := c.Token(t.Context())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

func TestTokenHotPathAllocatesNothing(t *testing.T) {
	c := newTestClient(t, &countingSource{})
	mustToken(t, c)

	ctx := t.Context()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.tokens.Token(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("cached Token allocated %v times per call, want 0", allocs)
	}
}

func BenchmarkTokenCached(b *testing.B) {
	c, err := NewWithTokenSource(&countingSource{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.tokens.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestTokenSharedStoreOneFetch(t *testing.T) {
	t.Parallel()
	source := &countingSource{delay: 50 * time.Millisecond}
	store := NewMemoryTokenStore()

	const clients, callers = 8, 25
	var wg sync.WaitGroup
	tokens := make(chan string, clients*callers)
	for range clients {
		c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("wwtest:app"))
		for range callers {
			wg.Go(func() {
				tok, err := c.Token(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				tokens <- tok.AccessToken
			})
		}
	}
	wg.Wait()
	close(tokens)

	if got := source.calls.Load(); got != 1 {
		t.Errorf("source called %d times by %d clients, want 1", got, clients)
	}
	for tok := range tokens {
		if tok != "test-token-1" {
			t.Errorf("caller got %q, want test-token-1", tok)
		}
	}
}

func TestTokenRefreshLoadsNewerFromStore(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	source := &countingSource{now: clock.Now}
	store := &MemoryTokenStore{now: clock.Now}
	a := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))
	b := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))
	a.tokens.now, b.tokens.now = clock.Now, clock.Now

	if tok := mustToken(t, a); tok.AccessToken != "test-token-1" {
		t.Fatalf("a got %q, want test-token-1", tok.AccessToken)
	}
	if tok := mustToken(t, b); tok.AccessToken != "test-token-1" {
		t.Fatalf("b got %q, want test-token-1 from the store", tok.AccessToken)
	}

	// Past the latest refresh time: a fifth of 2 h plus a quarter of that.
	clock.Advance(2*time.Hour - 4*time.Minute)
	if tok := mustToken(t, a); tok.AccessToken != "test-token-2" {
		t.Errorf("a after refresh got %q, want test-token-2", tok.AccessToken)
	}
	if tok := mustToken(t, b); tok.AccessToken != "test-token-2" {
		t.Errorf("b after refresh got %q, want test-token-2 from the store", tok.AccessToken)
	}
	if got := source.calls.Load(); got != 2 {
		t.Errorf("source called %d times, want 2", got)
	}
}

func TestTokenInvalidateKeepsNewerToken(t *testing.T) {
	t.Parallel()
	source := &countingSource{}
	store := NewMemoryTokenStore()
	slow := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))
	fast := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))

	old := mustToken(t, slow)
	if tok := mustToken(t, fast); tok.AccessToken != old.AccessToken {
		t.Fatalf("fast got %q, want %q from the store", tok.AccessToken, old.AccessToken)
	}
	fast.tokens.Invalidate(t.Context(), old.AccessToken)
	fresh := mustToken(t, fast)
	if fresh.AccessToken == old.AccessToken {
		t.Fatalf("fast kept the rejected token %q", old.AccessToken)
	}

	// The slow client learns of the rejection only now.
	slow.tokens.Invalidate(t.Context(), old.AccessToken)
	if tok, ok, _ := store.Load(t.Context(), "k"); !ok || tok.AccessToken != fresh.AccessToken {
		t.Errorf("store holds %q, %v after a late invalidation, want %q", tok.AccessToken, ok, fresh.AccessToken)
	}
	if tok := mustToken(t, slow); tok.AccessToken != fresh.AccessToken {
		t.Errorf("slow got %q, want %q from the store", tok.AccessToken, fresh.AccessToken)
	}
	if got := source.calls.Load(); got != 2 {
		t.Errorf("source called %d times, want 2", got)
	}
}

func TestTokenRejectedNotReloadedFromStore(t *testing.T) {
	t.Parallel()
	source := &countingSource{}
	store := &faultyStore{}
	c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))

	old := mustToken(t, c)
	store.failDelete.Store(true)
	c.tokens.Invalidate(t.Context(), old.AccessToken)

	// The store still holds the rejected token, because the delete failed.
	tok := mustToken(t, c)
	if tok.AccessToken == old.AccessToken {
		t.Errorf("client reused the rejected token %q from the store", old.AccessToken)
	}
	if got := source.calls.Load(); got != 2 {
		t.Errorf("source called %d times, want 2", got)
	}
}

func TestTokenStoreReadFailureIsMiss(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	source := &countingSource{}
	store := &faultyStore{}
	store.failLoad.Store(true)
	store.failLock.Store(true)
	c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	for range 10 {
		if tok := mustToken(t, c); tok.AccessToken != "test-token-1" {
			t.Fatalf("got %q, want test-token-1", tok.AccessToken)
		}
	}
	if got := source.calls.Load(); got != 1 {
		t.Errorf("source called %d times, want 1", got)
	}
	if got := store.loads.Load(); got != 1 {
		t.Errorf("store read %d times, want 1: a cached token needs no store", got)
	}
	if !strings.Contains(logs.String(), "token store read failed") {
		t.Errorf("log lacks the read failure:\n%s", logs.String())
	}
}

func TestTokenStoreWriteFailureLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	source := &countingSource{}
	store := &faultyStore{}
	store.failStore.Store(true)
	c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	tok := mustToken(t, c)
	if tok.AccessToken != "test-token-1" {
		t.Fatalf("got %q, want test-token-1", tok.AccessToken)
	}
	mustToken(t, c)
	if got := source.calls.Load(); got != 1 {
		t.Errorf("source called %d times, want 1", got)
	}

	out := logs.String()
	if !strings.Contains(out, "token store write failed") {
		t.Errorf("log lacks the write failure:\n%s", out)
	}
	if strings.Contains(out, tok.AccessToken) {
		t.Errorf("log contains the token value:\n%s", out)
	}
}

func TestTokenStoreDeleteFailureHidesToken(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	store := &faultyStore{}
	c := newTestClient(t, &countingSource{}, WithTokenStore(store), WithTokenKey("k"),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	tok := mustToken(t, c)
	store.failDelete.Store(true)
	c.tokens.Invalidate(t.Context(), tok.AccessToken)

	out := logs.String()
	if !strings.Contains(out, "token store delete failed") {
		t.Errorf("log lacks the delete failure:\n%s", out)
	}
	if strings.Contains(out, tok.AccessToken) {
		t.Errorf("log contains the token value:\n%s", out)
	}
}

func TestTokenWaiterPollsStore(t *testing.T) {
	t.Parallel()
	source := &countingSource{}
	store := NewMemoryTokenStore()
	c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))

	// Another process holds the refresh lock and stores its token later.
	unlock, acquired, _ := store.TryLock(t.Context(), "k", time.Minute)
	if !acquired {
		t.Fatal("could not take the lock")
	}
	winner := Token{AccessToken: "winner-token", ExpiresAt: time.Now().Add(time.Hour)}
	go func() {
		time.Sleep(100 * time.Millisecond)
		store.Store(context.Background(), "k", winner)
		unlock(context.Background())
	}()

	if tok := mustToken(t, c); tok.AccessToken != winner.AccessToken {
		t.Errorf("got %q, want the lock holder's %q", tok.AccessToken, winner.AccessToken)
	}
	if got := source.calls.Load(); got != 0 {
		t.Errorf("source called %d times while another holder fetched, want 0", got)
	}
}

func TestTokenWaiterTakesOverExpiredLock(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	source := &countingSource{now: clock.Now}
	store := &MemoryTokenStore{now: clock.Now}
	c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))
	c.tokens.now = clock.Now
	var slept atomic.Int64
	c.tokens.sleep = func(_ context.Context, d time.Duration) error {
		slept.Add(int64(d))
		clock.Advance(d)
		return nil
	}

	// A holder took the lock and died without storing a token.
	if _, acquired, _ := store.TryLock(t.Context(), "k", lockTTL); !acquired {
		t.Fatal("could not take the lock")
	}

	if tok := mustToken(t, c); tok.AccessToken != "test-token-1" {
		t.Errorf("got %q, want test-token-1", tok.AccessToken)
	}
	if got := source.calls.Load(); got != 1 {
		t.Errorf("source called %d times, want 1", got)
	}
	if waited := time.Duration(slept.Load()); waited < lockTTL || waited > lockWait {
		t.Errorf("waited %v, want between the lock TTL %v and %v", waited, lockTTL, lockWait)
	}
}

func TestTokenLockFailureFetchesOnce(t *testing.T) {
	t.Parallel()
	source := &countingSource{}
	store := &faultyStore{}
	store.failLock.Store(true)
	c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))

	if tok := mustToken(t, c); tok.AccessToken != "test-token-1" {
		t.Errorf("got %q, want test-token-1", tok.AccessToken)
	}
	if tok, ok, _ := store.Load(t.Context(), "k"); !ok || tok.AccessToken != "test-token-1" {
		t.Errorf("store holds %q, %v, want test-token-1", tok.AccessToken, ok)
	}
}

func TestTokenBadCredentialsPausesFetches(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	source := &countingSource{now: clock.Now, err: &APIError{Endpoint: endpointGetToken, Code: CodeInvalidSecret}}
	c := newTestClient(t, source)
	c.tokens.now = clock.Now

	for range 5 {
		if _, err := c.Token(t.Context()); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("Token error = %v, want ErrBadCredentials", err)
		}
	}
	if got := source.calls.Load(); got != 1 {
		t.Errorf("source called %d times within the pause, want 1", got)
	}

	clock.Advance(badCredentialsHold)
	c.Token(t.Context())
	if got := source.calls.Load(); got != 2 {
		t.Errorf("source called %d times after the pause, want 2", got)
	}
}

func TestTokenOtherErrorsNotPaused(t *testing.T) {
	t.Parallel()
	source := &countingSource{err: errors.New("connection reset")}
	c := newTestClient(t, source)

	for range 3 {
		if _, err := c.Token(t.Context()); err == nil {
			t.Fatal("Token succeeded, want the source's error")
		}
	}
	if got := source.calls.Load(); got != 3 {
		t.Errorf("source called %d times, want 3", got)
	}
}

func TestTokenCallerContextEnds(t *testing.T) {
	t.Parallel()
	source := &countingSource{delay: 200 * time.Millisecond}
	c := newTestClient(t, source)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token error = %v, want context.DeadlineExceeded", err)
	}

	// The shared refresh went on and serves the next caller.
	if tok := mustToken(t, c); tok.AccessToken != "test-token-1" {
		t.Errorf("got %q, want test-token-1", tok.AccessToken)
	}
	if got := source.calls.Load(); got != 1 {
		t.Errorf("source called %d times, want 1", got)
	}
}

func TestTokenKeyOptions(t *testing.T) {
	t.Parallel()
	store := NewMemoryTokenStore()

	if _, err := NewWithTokenSource(&countingSource{}, WithTokenStore(store)); err == nil {
		t.Error("NewWithTokenSource with a store and no key succeeded, want an error")
	}
	if _, err := NewWithTokenSource(&countingSource{}, WithTokenStore(store), WithTokenKey("k")); err != nil {
		t.Errorf("NewWithTokenSource with a store and a key: %v", err)
	}
	if _, err := New("wwcorp", "test-secret", WithTokenKey("k")); err == nil {
		t.Error("New with WithTokenKey succeeded, want an error")
	}

	c, err := New("wwcorp", "test-secret", WithTokenStore(store))
	if err != nil {
		t.Fatalf("New with a store: %v", err)
	}
	if want := TokenKey("wwcorp", "test-secret"); c.tokens.key != want {
		t.Errorf("key = %q, want %q", c.tokens.key, want)
	}
}

func TestTokenKeySeparatesApps(t *testing.T) {
	t.Parallel()
	a, b := TokenKey("wwcorp", "secret-a"), TokenKey("wwcorp", "secret-b")
	if a == b {
		t.Errorf("two secrets share key %q", a)
	}
	if strings.Contains(a, "secret-a") {
		t.Errorf("key %q contains the secret", a)
	}
}

func TestMemoryTokenStoreKeepsLaterExpiry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := NewMemoryTokenStore()
	later := Token{AccessToken: "later", ExpiresAt: time.Now().Add(2 * time.Hour)}
	earlier := Token{AccessToken: "earlier", ExpiresAt: time.Now().Add(time.Hour)}

	store.Store(ctx, "k", later)
	store.Store(ctx, "k", earlier)
	if tok, _, _ := store.Load(ctx, "k"); tok.AccessToken != "later" {
		t.Errorf("store holds %q, want later", tok.AccessToken)
	}

	store.Delete(ctx, "k", "earlier")
	if _, ok, _ := store.Load(ctx, "k"); !ok {
		t.Error("deleting another value removed the token")
	}
	store.Delete(ctx, "k", "later")
	if _, ok, _ := store.Load(ctx, "k"); ok {
		t.Error("deleting the stored value kept the token")
	}
}

func TestMemoryTokenStoreUnlockOwnerOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	store := &MemoryTokenStore{now: clock.Now}

	unlockFirst, acquired, _ := store.TryLock(ctx, "k", time.Second)
	if !acquired {
		t.Fatal("first TryLock failed")
	}
	if _, acquired, _ := store.TryLock(ctx, "k", time.Second); acquired {
		t.Fatal("second TryLock took a held lock")
	}

	clock.Advance(2 * time.Second)
	_, acquired, _ = store.TryLock(ctx, "k", time.Second)
	if !acquired {
		t.Fatal("TryLock after expiry failed")
	}
	unlockFirst(ctx) // the first holder's lock expired: this must not release the second's
	if _, acquired, _ := store.TryLock(ctx, "k", time.Second); acquired {
		t.Error("an expired holder released the current holder's lock")
	}
}

func TestTokenSourcePanicBecomesError(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	source := TokenSourceFunc(func(context.Context) (Token, error) { panic("token source failed") })
	c := newTestClient(t, source, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	_, err := c.Token(t.Context())
	if err == nil || !strings.Contains(err.Error(), "token source failed") {
		t.Errorf("Token error = %v, want the panic as an error", err)
	}
	if !strings.Contains(logs.String(), "token refresh panicked") {
		t.Errorf("log lacks the panic:\n%s", logs.String())
	}
}

// countingInvalidator is a source that counts the rejections reported to it.
type countingInvalidator struct {
	countingSource
	invalidations atomic.Int64
}

func (s *countingInvalidator) InvalidateToken(context.Context, string) { s.invalidations.Add(1) }

// countingDeletes is a memory store that counts deletes.
type countingDeletes struct {
	MemoryTokenStore
	deletes atomic.Int64
}

func (s *countingDeletes) Delete(ctx context.Context, key, accessToken string) error {
	s.deletes.Add(1)
	return s.MemoryTokenStore.Delete(ctx, key, accessToken)
}

func TestTokenInvalidateOncePerToken(t *testing.T) {
	t.Parallel()
	source := &countingInvalidator{}
	store := &countingDeletes{}
	c := newTestClient(t, source, WithTokenStore(store), WithTokenKey("k"))
	old := mustToken(t, c)

	// Every call in flight with the token reports the rejection.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { c.tokens.Invalidate(t.Context(), old.AccessToken) })
	}
	wg.Wait()

	if got := store.deletes.Load(); got != 1 {
		t.Errorf("store deleted %d times, want 1", got)
	}
	if got := source.invalidations.Load(); got != 1 {
		t.Errorf("source got %d rejection reports, want 1", got)
	}
	if tok := mustToken(t, c); tok.AccessToken == old.AccessToken {
		t.Errorf("client kept the rejected token %q", old.AccessToken)
	}
}
