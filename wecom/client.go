package wecom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// DefaultBaseURL is the WeCom API host.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

// Client calls the WeCom customer transfer API. It adds the access token to
// every call, fetches a new one when WeCom rejects it, checks every errcode
// and splits large batches. A Client is safe for concurrent use.
type Client struct {
	api      *generated.Client
	tokens   *tokenCache
	settings settings
	throttle throttle
}

type settings struct {
	baseURL        string
	httpClient     *http.Client
	logger         *slog.Logger
	retry          RetryPolicy
	workers        int
	callsPerMinute int
	maxBodySize    int64
	sleep          func(ctx context.Context, d time.Duration) error
	tokenStore     TokenStore
	tokenKey       string
	limiter        Limiter
}

// Option configures a [Client]. Options may be given in any order.
type Option func(*settings)

// WithBaseURL replaces the API host, for a proxy with a fixed egress IP, the
// sandbox or tests. The URL holds scheme and host, and optionally a path
// prefix, without /cgi-bin.
func WithBaseURL(baseURL string) Option {
	return func(s *settings) { s.baseURL = baseURL }
}

// WithHTTPClient sets the HTTP client. The default has a 30-second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) { s.httpClient = hc }
}

// WithLogger sets the logger for retries, token fetches and rate-limit
// waits. The client logs nothing without one.
func WithLogger(logger *slog.Logger) Option {
	return func(s *settings) { s.logger = logger }
}

// WithWorkers sets how many calls of one batch run at the same time. The
// default is 4.
func WithWorkers(n int) Option {
	return func(s *settings) { s.workers = n }
}

// WithRetryPolicy replaces [DefaultRetryPolicy].
func WithRetryPolicy(p RetryPolicy) Option {
	return func(s *settings) { s.retry = p }
}

// New returns a client that fetches tokens with gettoken for the app that
// owns secret. The secret is kept only inside the token fetcher and never
// printed.
func New(corpID, secret string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(corpID) == "" {
		return nil, &InputError{Field: "corp ID", Reason: "empty; set it to the corp ID (企业ID) from the WeCom admin console"}
	}
	if strings.TrimSpace(secret) == "" {
		return nil, &InputError{Field: "secret", Reason: "empty; set it to the secret of the app that may call the customer transfer API"}
	}
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	if c.settings.tokenKey != "" {
		return nil, &InputError{Field: "token key", Value: c.settings.tokenKey,
			Reason: "New derives the key from the corp ID and secret; WithTokenKey is for NewWithTokenSource"}
	}
	c.setTokenSource(&gettokenSource{client: c, corpID: corpID, secret: secret}, TokenKey(corpID, secret))
	return c, nil
}

// NewWithTokenSource returns a client that takes its tokens from source,
// for tokens issued by a central token service or by another flow, such as
// a third-party app's. The client caches each token until shortly before
// its expiry.
//
// With [WithTokenStore], the client reads the store before it calls source
// and saves what source returns there, under the key set by [WithTokenKey],
// which is then required. When WeCom rejects a token, the client removes it
// from the store and then calls the source's InvalidateToken method if it
// has one (see [TokenInvalidator]).
func NewWithTokenSource(source TokenSource, opts ...Option) (*Client, error) {
	if source == nil {
		return nil, &InputError{Field: "token source", Reason: "nil"}
	}
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	if c.settings.tokenStore != nil && c.settings.tokenKey == "" {
		return nil, &InputError{Field: "token key",
			Reason: "missing; a client with WithTokenStore needs WithTokenKey to name the token it shares"}
	}
	c.setTokenSource(source, c.settings.tokenKey)
	return c, nil
}

// setTokenSource makes the client cache tokens from source under key in
// its token store, a memory store of its own by default.
func (c *Client) setTokenSource(source TokenSource, key string) {
	store := c.settings.tokenStore
	if store == nil {
		store = NewMemoryTokenStore()
	}
	c.tokens = newTokenCache(source, store, key, c.settings.logger)
	c.tokens.onFetch = c.logTokenFetch
}

func newClient(opts []Option) (*Client, error) {
	s := settings{
		baseURL:        DefaultBaseURL,
		retry:          DefaultRetryPolicy,
		workers:        4,
		callsPerMinute: DefaultCallsPerMinute,
		maxBodySize:    16 << 20,
		sleep:          sleepContext,
	}
	for _, opt := range opts {
		opt(&s)
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.workers < 1 {
		return nil, &InputError{Field: "workers", Value: fmt.Sprint(s.workers), Reason: "must be at least 1"}
	}
	base, err := url.Parse(s.baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		shown := redactString(s.baseURL)
		if err == nil {
			shown = base.Redacted()
		}
		return nil, &InputError{Field: "base URL", Value: shown, Reason: "want an absolute http or https URL such as https://qyapi.weixin.qq.com"}
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, &InputError{Field: "base URL", Value: base.Redacted(), Reason: "has a query or fragment; give scheme, host and an optional path prefix only"}
	}
	if strings.HasSuffix(strings.TrimSuffix(base.Path, "/"), "/cgi-bin") {
		return nil, &InputError{Field: "base URL", Value: base.Redacted(), Reason: "ends in /cgi-bin, which every call path already starts with; drop it"}
	}

	api, err := generated.NewClient(strings.TrimSuffix(s.baseURL, "/"), generated.WithHTTPClient(s.httpClient))
	if err != nil {
		return nil, fmt.Errorf("wecom: create client: %w", err)
	}
	return &Client{api: api, settings: s, throttle: throttle{perMinute: s.callsPerMinute}}, nil
}

// String describes the client without any credential.
func (c *Client) String() string {
	shown := c.settings.baseURL
	if u, err := url.Parse(shown); err == nil {
		shown = u.Redacted()
	}
	return fmt.Sprintf("wecom.Client{BaseURL:%s}", shown)
}

// GoString is the %#v form of the client, also without credentials.
func (c *Client) GoString() string { return c.String() }

// Generated returns the generated client with the access token added to
// every request, for calls this package does not wrap. Its methods return
// the raw *http.Response: check the errcode in the body yourself.
func (c *Client) Generated() *generated.Client {
	api := *c.api
	api.Client = redactingDoer{next: c.settings.httpClient}
	api.RequestEditors = append([]generated.RequestEditorFn{c.addToken}, api.RequestEditors...)
	return &api
}

// Token returns the current access token, fetching one if needed. Keep it
// server-side: it grants the app's permissions.
func (c *Client) Token(ctx context.Context) (Token, error) {
	return c.tokens.Token(ctx)
}

// InvalidateToken drops accessToken from the cache, and from a shared
// token store, if it is still the current token, so the next call fetches
// a new one. Call it when a request sent through [Client.Generated] gets
// errcode 40014 or 42001; the client's own methods do this themselves.
func (c *Client) InvalidateToken(ctx context.Context, accessToken string) {
	c.tokens.Invalidate(ctx, accessToken)
}

func (c *Client) addToken(ctx context.Context, req *http.Request) error {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return err
	}
	setAccessToken(req, tok.AccessToken)
	return nil
}

func (c *Client) logTokenFetch(tok Token) {
	c.settings.logger.Debug("wecom: fetched access token",
		"expires_at", tok.ExpiresAt.Format(time.RFC3339))
}

// maxTokenLifetime is the longest lifetime the client believes from
// gettoken's expires_in.
const maxTokenLifetime = 24 * time.Hour

// gettokenSource fetches tokens with /cgi-bin/gettoken.
type gettokenSource struct {
	client *Client
	corpID string
	secret string
}

func (s *gettokenSource) String() string { return "wecom.gettokenSource{corpsecret:" + redacted + "}" }

func (s *gettokenSource) GoString() string { return s.String() }

func (s *gettokenSource) Token(ctx context.Context) (Token, error) {
	var out generated.GetTokenResponse
	params := &generated.GetTokenParams{CorpID: s.corpID, CorpSecret: s.secret}
	// The lifetime counts from the last request, because WeCom issued the
	// token after it was sent and a slow response must not stretch it.
	var sentAt time.Time
	err := s.client.call(ctx, callSpec{
		endpoint: endpointGetToken,
		read:     true,
		noToken:  true,
		send: func(ctx context.Context, _ generated.RequestEditorFn) (*http.Response, error) {
			sentAt = time.Now()
			return s.client.api.GetToken(ctx, params)
		},
	}, &out)
	if err != nil {
		if len(s.secret) >= 8 && strings.Contains(err.Error(), s.secret) {
			err = scrubbedError{err: err, value: s.secret}
		}
		return Token{}, err
	}
	if out.AccessToken == "" {
		return Token{}, &ResponseError{Endpoint: endpointGetToken, HTTPStatus: http.StatusOK, Err: errors.New("errcode 0 without access_token")}
	}
	// NOTE: WeCom documents 7200 seconds. A missing or negative expires_in
	// falls back to it, and one over a day is cut to a day, so a bad value
	// cannot keep a token cached for years.
	lifetime := 7200 * time.Second
	if out.ExpiresIn > 0 {
		lifetime = time.Duration(min(out.ExpiresIn, int64(maxTokenLifetime/time.Second))) * time.Second
	}
	return Token{AccessToken: out.AccessToken, ExpiresAt: sentAt.Add(lifetime)}, nil
}
