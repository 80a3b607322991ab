package wecomtest

import (
	"log/slog"
	"net/http/httptest"
)

// Server is a [Sandbox] listening on a loopback port, for tests and demos.
type Server struct {
	*Sandbox

	// URL is the base URL, such as http://127.0.0.1:41235, to use in place
	// of https://qyapi.weixin.qq.com.
	URL string

	// CorpID and Secret are the corp's gettoken credentials.
	CorpID, Secret string

	ts *httptest.Server
}

// NewServer starts a sandbox for corp on 127.0.0.1. The caller must call
// Close when done.
func NewServer(corp *Corp, opts ...Option) *Server {
	sb := NewHandler(corp, opts...)
	ts := httptest.NewUnstartedServer(sb)
	// net/http logs to the standard logger by default; keep the sandbox
	// silent unless it was given a logger.
	ts.Config.ErrorLog = slog.NewLogLogger(sb.log.Handler(), slog.LevelWarn)
	ts.Start()
	corpID, secret := corp.Credentials()
	return &Server{Sandbox: sb, URL: ts.URL, CorpID: corpID, Secret: secret, ts: ts}
}

// Close shuts the server down and blocks until every request in flight has
// ended.
func (s *Server) Close() { s.ts.Close() }
