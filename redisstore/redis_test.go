package redisstore

import (
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wecom-transfer/wecom-transfer/internal/redistest"
	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// redisServer is a redis-server process that a test started.
type redisServer struct{ *redistest.Server }

// startRedis starts a redis-server for the test; see [redistest.Start].
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	return &redisServer{redistest.Start(t)}
}

// Client returns a go-redis client of the server that the test closes.
func (s *redisServer) Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

// Open returns a token store of the server through [Open], which the test
// closes.
func (s *redisServer) Open(t testing.TB) *TokenStore {
	t.Helper()
	store, err := Open(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// sandboxMember is the member whose customers the tests list.
const sandboxMember = "zhangsan"

// newSandbox starts a WeCom sandbox on loopback with one member who has a
// few customers, and closes it when the test ends.
func newSandbox(t testing.TB, opts ...wecomtest.Option) *wecomtest.Server {
	t.Helper()
	corp := wecomtest.NewCorp()
	corp.AddMember(wecomtest.Member{UserID: sandboxMember})
	for i := range 3 {
		corp.AddCustomer(sandboxMember, "wmcustomer"+strconv.Itoa(i))
	}
	srv := wecomtest.NewServer(corp, opts...)
	t.Cleanup(srv.Close)
	return srv
}

// newSandboxClient returns a client of the sandbox.
func newSandboxClient(t testing.TB, srv *wecomtest.Server, opts ...wecom.Option) *wecom.Client {
	t.Helper()
	opts = append([]wecom.Option{wecom.WithBaseURL(srv.URL)}, opts...)
	c, err := wecom.New(srv.CorpID, srv.Secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
