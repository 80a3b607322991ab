// Package redistest starts throwaway redis-server processes on loopback for
// tests that need a real Redis.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wecom-transfer/wecom-transfer/internal/syncbuf"
)

// Server is a redis-server process that a test started on a free
// loopback port, without persistence.
type Server struct {
	URL  string
	Addr string

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	output   *lockedBuffer
	stopOnce sync.Once
}

// Start starts a redis-server for the test and stops it when the test
// ends. Without redis-server on PATH the test is skipped, or fails when the
// CI variable is set, because CI must run these tests.
func Start(t testing.TB) *Server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		const install = "redis-server is not on PATH; install it with apt-get install -y redis-server"
		if os.Getenv("CI") != "" {
			t.Fatal(install + " (CI is set, so the Redis tests may not be skipped)")
		}
		t.Skip(install + " to run the Redis tests")
	}

	// A port found free may be taken before redis-server binds it, so try
	// a few.
	var lastOutput string
	for range 3 {
		srv, ok := tryStartRedis(t, path)
		if ok {
			t.Cleanup(srv.Stop)
			return srv
		}
		lastOutput = srv.output.String()
	}
	t.Fatalf("redis-server did not start:\n%s", lastOutput)
	return nil
}

func tryStartRedis(t testing.TB, path string) (*Server, bool) {
	t.Helper()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := &Server{
		URL:    "redis://" + addr + "/0",
		Addr:   addr,
		output: &lockedBuffer{},
	}
	srv.cmd = exec.Command(path,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", t.TempDir(),
		"--loglevel", "warning")
	srv.cmd.Stdout = srv.output
	srv.cmd.Stderr = srv.output
	if err := srv.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}

	srv.exited = make(chan struct{})
	go func() {
		srv.cmd.Wait()
		close(srv.exited)
	}()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-srv.exited:
			return srv, false
		default:
		}
		if client.Ping(context.Background()).Err() == nil {
			return srv, true
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.cmd.Process.Kill()
	<-srv.exited
	return srv, false
}

// Stop kills the server, as a crash would, and waits for it to exit.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.cmd.Process.Kill()
		<-s.exited
	})
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer is a buffer safe for one writer and one reader.
type lockedBuffer = syncbuf.Buffer
