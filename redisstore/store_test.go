package redisstore

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	store := startRedis(t).Open(t)
	ctx := t.Context()

	if _, ok, err := store.Load(ctx, "wwcorp:app"); ok || err != nil {
		t.Fatalf("Load of an empty store = %v, %v; want a miss", ok, err)
	}

	want := wecom.Token{AccessToken: "test-token-1", ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
	if err := store.Store(ctx, "wwcorp:app", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := store.Load(ctx, "wwcorp:app")
	if err != nil || !ok {
		t.Fatalf("Load = %v, %v; want the stored token", ok, err)
	}
	if got.AccessToken != want.AccessToken || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("Load = %v, want %v", got, want)
	}
	if _, ok, _ := store.Load(ctx, "wwcorp:other-app"); ok {
		t.Error("another key read the token")
	}
}

func TestStoreKeyExpiresWithToken(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	store := srv.Open(t)
	ctx := t.Context()

	tok := wecom.Token{AccessToken: "test-token-1", ExpiresAt: time.Now().Add(time.Minute)}
	if err := store.Store(ctx, "k", tok); err != nil {
		t.Fatal(err)
	}
	ttl, err := srv.Client(t).PTTL(ctx, DefaultPrefix+"token:k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("key TTL = %v, want about a minute", ttl)
	}
}

// Compare-and-delete: a worker that learns late of a rejected token must not
// remove the newer token another worker stored.
func TestDeleteKeepsNewerToken(t *testing.T) {
	t.Parallel()
	store := startRedis(t).Open(t)
	ctx := t.Context()

	newer := wecom.Token{AccessToken: "test-token-2", ExpiresAt: time.Now().Add(time.Hour)}
	if err := store.Store(ctx, "k", newer); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, "k", "test-token-1"); err != nil {
		t.Fatal(err)
	}
	got, ok, err := store.Load(ctx, "k")
	if err != nil || !ok || got.AccessToken != newer.AccessToken {
		t.Fatalf("after deleting the old token the store holds %q, %v, %v; want %q", got.AccessToken, ok, err, newer.AccessToken)
	}

	if err := store.Delete(ctx, "k", newer.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := store.Load(ctx, "k"); ok {
		t.Error("deleting the stored token kept it")
	}
}

func TestStoreKeepsLaterExpiry(t *testing.T) {
	t.Parallel()
	store := startRedis(t).Open(t)
	ctx := t.Context()

	later := wecom.Token{AccessToken: "later", ExpiresAt: time.Now().Add(2 * time.Hour)}
	earlier := wecom.Token{AccessToken: "earlier", ExpiresAt: time.Now().Add(time.Hour)}
	store.Store(ctx, "k", later)
	store.Store(ctx, "k", earlier)
	if got, _, _ := store.Load(ctx, "k"); got.AccessToken != "later" {
		t.Errorf("store holds %q, want later", got.AccessToken)
	}
}

func TestLoadMalformedEntry(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	store := srv.Open(t)
	ctx := t.Context()

	srv.Client(t).HSet(ctx, DefaultPrefix+"token:k", "token", "test-token-1", "expires_at", "soon")
	_, ok, err := store.Load(ctx, "k")
	if ok || err == nil {
		t.Fatalf("Load = %v, %v; want an error", ok, err)
	}
	if !strings.Contains(err.Error(), "malformed") {
		t.Errorf("error %q does not say the entry is malformed", err)
	}
	if strings.Contains(err.Error(), "test-token-1") {
		t.Errorf("error %q contains the token", err)
	}
}

func TestLockOwnerOnlyReleases(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	store := srv.Open(t)
	ctx := t.Context()

	unlockFirst, acquired, err := store.TryLock(ctx, "k", 100*time.Millisecond)
	if err != nil || !acquired {
		t.Fatalf("first TryLock = %v, %v", acquired, err)
	}
	if _, acquired, _ := store.TryLock(ctx, "k", time.Minute); acquired {
		t.Fatal("second TryLock took a held lock")
	}

	time.Sleep(150 * time.Millisecond)
	unlockSecond, acquired, err := store.TryLock(ctx, "k", time.Minute)
	if err != nil || !acquired {
		t.Fatalf("TryLock after expiry = %v, %v", acquired, err)
	}
	// The first holder's lock expired: its unlock must not free the second's.
	if err := unlockFirst(ctx); err != nil {
		t.Fatal(err)
	}
	if _, acquired, _ := store.TryLock(ctx, "k", time.Minute); acquired {
		t.Error("an expired holder released the current holder's lock")
	}

	if err := unlockSecond(ctx); err != nil {
		t.Fatal(err)
	}
	if _, acquired, _ := store.TryLock(ctx, "k", time.Minute); !acquired {
		t.Error("the lock is still held after its holder released it")
	}
}

// Many clients, as separate processes would have, share one Redis: one
// gettoken between them.
func TestClientsShareOneGettoken(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	sandbox := newSandbox(t, wecomtest.WithLatency(50*time.Millisecond))

	const clients, callers = 16, 10
	var wg sync.WaitGroup
	for range clients {
		store := srv.Open(t)
		client := newSandboxClient(t, sandbox, wecom.WithTokenStore(store))
		for range callers {
			wg.Go(func() {
				if _, err := client.ListCustomers(t.Context(), sandboxMember); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()

	if got := sandbox.Stats().TokensIssued; got != 1 {
		t.Errorf("sandbox issued %d tokens to %d clients, want 1", got, clients)
	}
}

func TestClientsFetchOnceAfterRevocation(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	sandbox := newSandbox(t)

	const clients = 8
	var list []*wecom.Client
	for range clients {
		list = append(list, newSandboxClient(t, sandbox, wecom.WithTokenStore(srv.Open(t))))
	}
	for _, c := range list {
		if _, err := c.ListCustomers(t.Context(), sandboxMember); err != nil {
			t.Fatal(err)
		}
	}

	sandbox.RevokeTokens()
	var wg sync.WaitGroup
	for _, c := range list {
		wg.Go(func() {
			if _, err := c.ListCustomers(t.Context(), sandboxMember); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	if got := sandbox.Stats().TokensIssued; got != 2 {
		t.Errorf("sandbox issued %d tokens for one revocation, want 2", got)
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, want string
	}{
		{"empty", "", "empty"},
		{"scheme", "http://127.0.0.1:6379/0", "invalid URL scheme"},
		{"database", "redis://127.0.0.1:6379/zero", "invalid database number"},
		{"option", "redis://127.0.0.1:6379/0?colour=red", "unexpected option"},
		{"unparsable with password", "redis://user:test-password@127.0.0.1:port/0", "invalid port"},
		{"password in bad database", "redis://:test-password@127.0.0.1:6379/x", "invalid database number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(tt.url)
			if err == nil {
				t.Fatalf("Open(%q) succeeded, want an error", tt.url)
			}
			if _, ok := errors.AsType[*URLError](err); !ok {
				t.Errorf("error %T is not a *URLError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q lacks %q", msg, tt.want)
			}
			if !strings.Contains(msg, "redis://127.0.0.1:6379/0") {
				t.Errorf("error %q does not show a valid URL", msg)
			}
			if strings.Contains(msg, "test-password") {
				t.Errorf("error %q contains the password", msg)
			}
		})
	}
}

func TestOpenAcceptsURLs(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"redis://127.0.0.1:6379/0",
		"redis://:test-password@127.0.0.1:6379/2",
		"redis://127.0.0.1",
		"rediss://127.0.0.1:6380/1?dial_timeout=3s",
		"unix:///run/redis/redis.sock?db=1",
	} {
		store, err := Open(url)
		if err != nil {
			t.Errorf("Open(%q): %v", url, err)
			continue
		}
		if s := store.String(); strings.Contains(s, "test-password") {
			t.Errorf("String of %q = %q, which contains the password", url, s)
		}
		store.Close()
	}
}

func TestPingNamesServer(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	store := srv.Open(t)
	if err := store.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of a running server: %v", err)
	}

	srv.Stop()
	err := store.Ping(t.Context())
	if err == nil {
		t.Fatal("Ping of a stopped server succeeded")
	}
	if !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error %q does not name %s", err, srv.Addr)
	}
}

// A Redis address that accepts connections and never responds delays the
// first token by the store timeouts, and the client still gets a token.
func TestClientWithUnresponsiveRedis(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()

	store, err := Open("redis://" + l.Addr().String() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sandbox := newSandbox(t)
	client := newSandboxClient(t, sandbox, wecom.WithTokenStore(store))

	start := time.Now()
	if _, err := client.ListCustomers(t.Context(), sandboxMember); err != nil {
		t.Fatalf("call with an unresponsive Redis: %v", err)
	}
	took := time.Since(start)
	// A read and a write, each ended by the 1-second read timeout of Open,
	// or at the latest by the client's 2-second store timeout.
	if took > 5*time.Second {
		t.Errorf("first call took %v, want at most the store timeouts of a read and a write", took)
	}
	t.Logf("first call took %v", took)

	start = time.Now()
	if _, err := client.ListCustomers(t.Context(), sandboxMember); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("second call took %v, want the cached token without the store", took)
	}
	if got := sandbox.Stats().TokensIssued; got != 1 {
		t.Errorf("sandbox issued %d tokens, want 1", got)
	}
}

func TestOpenHidesQueryPassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"redis://127.0.0.1:6379/0?password=TEST-ONLY-pw&pool_size=bad",
		"redis://127.0.0.1:6379/notadb?password=TEST-ONLY-pw",
	} {
		_, err := Open(raw)
		if err == nil {
			t.Errorf("Open(%q) succeeded, want an error", raw)
			continue
		}
		if strings.Contains(err.Error(), "TEST-ONLY-pw") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}
