package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

func runSandbox(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return usagef("sandbox takes one subcommand: serve")
	}
	fs := flag.NewFlagSet("sandbox serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8780", "address to listen on; port 0 picks a free one")
	speed := fs.Float64("clock-speed", 1, "how many times faster than real time the sandbox clock runs; 28800 makes the 24-hour takeover pass in 3 seconds")
	verbose := fs.Bool("verbose", false, "log every call at debug level")
	if err := parseFlags(env, fs, args[1:]); err != nil {
		return err
	}
	if !(*speed > 0 && *speed <= maxClockSpeed) {
		return usagef("--clock-speed %g must be above 0 and at most %d; use 1 for real time", *speed, maxClockSpeed)
	}

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("--addr %q is not host:port: %v", *addr, err)
	}
	logger := env.logger(*verbose)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		logger.Warn("the sandbox listens beyond loopback; anyone who can reach this address can call it", "addr", *addr)
	}

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return usagef("cannot listen on --addr %s: %v; pick a free port, or port 0 for any", *addr, err)
	}
	corp := wecomtest.DemoCorp()
	sandbox := wecomtest.NewHandler(corp,
		wecomtest.WithClock(wecomtest.NewScaledClock(time.Now(), *speed)),
		// Tokens expire on the sandbox clock, so a fast clock would
		// expire them within a real second. Scaling the lifetime keeps
		// them valid for about 7200 real seconds, as on WeCom.
		wecomtest.WithTokenTTL(scaledTokenTTL(*speed)),
		wecomtest.WithLogger(logger))
	srv := &http.Server{Handler: sandbox, ReadHeaderTimeout: 10 * time.Second}

	corpID, secret := corp.Credentials()
	fmt.Fprintf(env.stdout, "WECOM_BASE_URL=%s\nWECOM_CORP_ID=%s\nWECOM_SECRET=%s\n", baseURL(listener.Addr()), corpID, secret)
	logger.Info("sandbox serving the demo corp; stop it with Ctrl-C", "addr", listener.Addr().String(), "clock_speed", *speed)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(listener) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("sandbox server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("stop sandbox server: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox server: %w", err)
	}
	logger.Info("sandbox stopped")
	return nil
}

// maxClockSpeed is the fastest sandbox clock: a year passes in 32 seconds.
const maxClockSpeed = 1_000_000

// baseURL returns the URL a local client uses to reach addr. A listener on
// every interface is reached through 127.0.0.1.
func baseURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return "http://" + addr.String()
	}
	return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
}

// scaledTokenTTL returns the sandbox token lifetime for a clock running
// speed times faster than real time, capped so the duration cannot
// overflow.
func scaledTokenTTL(speed float64) time.Duration {
	const maxTTL = 100 * 365 * 24 * time.Hour
	ttl := float64(wecomtest.DefaultTokenTTL) * speed
	if ttl > float64(maxTTL) {
		return maxTTL
	}
	return time.Duration(ttl)
}
