package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wecom-transfer/wecom-transfer/redisstore"
	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// environment holds the parts of the process a command may touch: its
// output streams and the process environment.
type environment struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// commonFlags are the flags every API command takes.
type commonFlags struct {
	json       bool
	sandbox    bool
	baseURL    string
	tokenStore string
	verbose    bool
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.json, "json", false, "print one JSON object per line on stdout")
	fs.BoolVar(&c.sandbox, "sandbox", false, "run on the built-in sandbox even when credentials are set")
	fs.StringVar(&c.baseURL, "base-url", "", "API host to call instead of https://qyapi.weixin.qq.com (default $WECOM_BASE_URL)")
	fs.StringVar(&c.tokenStore, "token-store", "", "share access tokens through this store, such as redis://127.0.0.1:6379/0 (default $WECOM_TOKEN_STORE)")
	fs.BoolVar(&c.verbose, "verbose", false, "log every retry and token fetch at debug level")
}

// errHelp reports that -h was given: the flags are printed, and the exit
// status is 0.
var errHelp = errors.New("help requested")

// parseFlags parses args into fs and rejects stray arguments.
func parseFlags(env *environment, fs *flag.FlagSet, args []string) error {
	fs.SetOutput(env.stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		// The flag package has printed the error and the flags already.
		return &usageError{}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q; flags come as --name value", fs.Arg(0))
	}
	return nil
}

func (env *environment) logger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
}

// connection is a client and, on the sandbox, the sandbox it talks to.
type connection struct {
	client     *wecom.Client
	sandbox    *wecomtest.Server // nil on WeCom
	closeStore func()            // nil without a token store
}

func (c *connection) Close() {
	if c.closeStore != nil {
		c.closeStore()
	}
	if c.sandbox != nil {
		c.sandbox.Close()
	}
}

// demoClockSpeed makes the sandbox clock run 28,800 times faster than real
// time, so WeCom's 24-hour takeover passes in 3 seconds.
const demoClockSpeed = 28800

// connect builds a client for WeCom from the environment, or for the
// built-in sandbox when no credentials are set or --sandbox is given.
func (env *environment) connect(ctx context.Context, flags commonFlags, logger *slog.Logger) (*connection, error) {
	corpID := strings.TrimSpace(env.getenv("WECOM_CORP_ID"))
	secret := strings.TrimSpace(env.getenv("WECOM_SECRET"))
	baseURL, baseURLSource := flags.baseURL, "--base-url"
	if baseURL == "" {
		baseURL, baseURLSource = strings.TrimSpace(env.getenv("WECOM_BASE_URL")), "WECOM_BASE_URL"
	}
	if baseURL != "" {
		if err := checkBaseURL(baseURLSource, baseURL); err != nil {
			return nil, err
		}
	}
	tokenStore := flags.tokenStore
	if tokenStore == "" {
		tokenStore = strings.TrimSpace(env.getenv("WECOM_TOKEN_STORE"))
	}

	opts := []wecom.Option{
		wecom.WithLogger(logger),
		wecom.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
	}
	conn := &connection{}

	switch {
	case flags.sandbox && flags.baseURL != "":
		return nil, usagef("--sandbox and --base-url %s conflict: the built-in sandbox has its own URL; drop one", flags.baseURL)
	case flags.sandbox || (corpID == "" && secret == ""):
		if baseURL != "" && !flags.sandbox {
			return nil, usagef("%s %s is set but WECOM_CORP_ID and WECOM_SECRET are not; export the credentials for that host (sandbox serve prints them)", baseURLSource, baseURL)
		}
		clock := wecomtest.NewScaledClock(time.Now(), demoClockSpeed)
		conn.sandbox = wecomtest.NewServer(wecomtest.DemoCorp(),
			wecomtest.WithClock(clock),
			// Tokens outlive the fast clock, as they would outlive a
			// real three-second demo.
			wecomtest.WithTokenTTL(365*24*time.Hour))
		corpID, secret, baseURL = conn.sandbox.CorpID, conn.sandbox.Secret, conn.sandbox.URL
		logger.Info("running on the built-in sandbox: no WeCom call is made; set WECOM_CORP_ID and WECOM_SECRET to use WeCom",
			"url", baseURL)
	case corpID == "":
		return nil, usagef("WECOM_SECRET is set but WECOM_CORP_ID is not; export the corp ID (企业ID) too")
	case secret == "":
		return nil, usagef("WECOM_CORP_ID is set but WECOM_SECRET is not; export the secret of the app that may call the transfer API")
	}
	if baseURL != "" {
		opts = append(opts, wecom.WithBaseURL(baseURL))
	}
	storeOpts, closeStore, err := tokenStoreOptions(ctx, tokenStore, corpID, logger)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.closeStore = closeStore
	opts = append(opts, storeOpts...)

	client, err := wecom.New(corpID, secret, opts...)
	if err != nil {
		conn.Close()
		return nil, usagef("%v", err)
	}
	conn.client = client
	return conn, nil
}

// checkBaseURL rejects a base URL that is not an absolute http or https URL.
func checkBaseURL(source, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("%s %q is not an http or https URL such as https://qyapi.weixin.qq.com", source, raw)
	}
	return nil
}

// tokenStoreOptions returns the options that share tokens and the call
// limit through the Redis server at rawURL, and a function that closes the
// connection.
func tokenStoreOptions(ctx context.Context, rawURL, corpID string, logger *slog.Logger) ([]wecom.Option, func(), error) {
	if rawURL == "" {
		return nil, func() {}, nil
	}
	// go-redis prints connection failures through its own global logger;
	// send them to the command's logger at debug level instead. The logger
	// is process-wide, so the first command's logger keeps it.
	setRedisLogger.Do(func() { redis.SetLogger(redisLogger{logger}) })
	store, err := redisstore.Open(rawURL)
	if err != nil {
		return nil, nil, usagef("--token-store: %v", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.Ping(pingCtx); err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("--token-store: %w", err)
	}
	logger.Info("sharing access tokens and the call limit through Redis", "store", store.String())
	limiter := redisstore.NewLimiter(store.Client(), redisstore.DefaultPrefix+"rate:"+corpID+":", wecom.DefaultCallsPerMinute)
	closeStore := func() { store.Close() }
	return []wecom.Option{wecom.WithTokenStore(store), wecom.WithLimiter(limiter)}, closeStore, nil
}

var setRedisLogger sync.Once

// redisLogger adapts a *slog.Logger to go-redis's logging interface.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, args ...any) {
	l.logger.DebugContext(ctx, "redis: "+fmt.Sprintf(format, args...))
}

// splitList splits a comma-separated flag value, rejecting empty items.
func splitList(flagName, value string) ([]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	parts := strings.Split(value, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, usagef("--%s item %d is empty in %q; remove the extra comma", flagName, i+1, value)
		}
	}
	return parts, nil
}

func printf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format, args...)
}
