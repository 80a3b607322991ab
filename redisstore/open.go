package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts that [Open] sets unless the URL sets its own, such as
// ?dial_timeout=3s. They are shorter than the 5-second defaults of go-redis
// v9, because a token refresh waits for Redis before it falls back to
// fetching on its own.
const (
	openDialTimeout = time.Second
	openIOTimeout   = time.Second
)

// URLError is a token store URL that [Open] cannot use. URL has any
// password replaced with "xxxxx".
type URLError struct {
	URL string
	Err error
}

func (e *URLError) Error() string {
	return fmt.Sprintf("redisstore: invalid Redis URL %q: %v; want redis://[user:password@]host:port/db, such as redis://127.0.0.1:6379/0", e.URL, e.Err)
}

func (e *URLError) Unwrap() error { return e.Err }

// Open returns a token store on the Redis server at rawURL, which has the
// form redis://[user:password@]host:port/db, rediss:// for TLS, or
// unix:///path/to/socket?db=N. Query parameters set go-redis options, such
// as ?dial_timeout=3s&pool_size=20. Keys start with [DefaultPrefix].
//
// Open does not connect; call [TokenStore.Ping] to check the server. Close
// the store when done.
func Open(rawURL string) (*TokenStore, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, &URLError{Err: errors.New("empty")}
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// A *url.Error quotes the whole URL, password included.
		if urlErr, ok := errors.AsType[*url.Error](err); ok {
			err = urlErr.Err
		}
		return nil, &URLError{URL: redactURL(rawURL), Err: err}
	}

	if opts.DialTimeout == 0 {
		opts.DialTimeout = openDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = openIOTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = openIOTimeout
	}
	// One dial and one re-send per command, so that a stopped server fails
	// a command in milliseconds, not after go-redis's default backoff.
	opts.DialerRetries = 1
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	opts.ContextTimeoutEnabled = true

	return New(redis.NewClient(opts), DefaultPrefix), nil
}

// Ping sends PING to the Redis server. Its error names the server address
// and what to check.
func (s *TokenStore) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: Redis at %s PING failed: %w; check that the server runs and that the token store URL names its host, port and password", s.addr(), err)
	}
	return nil
}

func (s *TokenStore) addr() string {
	if c, ok := s.client.(*redis.Client); ok {
		return c.Options().Addr
	}
	return "the configured servers"
}

// userinfoPattern finds the user and password of a URL that url.Parse
// rejects, so that the password stays out of the error.
var userinfoPattern = regexp.MustCompile(`//[^/@]*@`)

// redactURL returns rawURL with any password, in the user part or in a
// password query parameter, replaced with "xxxxx".
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return passwordQueryPattern.ReplaceAllString(userinfoPattern.ReplaceAllString(rawURL, "//xxxxx@"), "${1}xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// passwordQueryPattern finds a password query parameter's value.
var passwordQueryPattern = regexp.MustCompile(`(?i)([?&]password=)[^&]*`)
