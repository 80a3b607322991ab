package wecomtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/routers"

	"github.com/wecom-transfer/wecom-transfer/generated/server"
)

// Operation ids of the spec. A [FaultFunc] receives them, and [Stats].Calls
// counts calls by them.
const (
	OpGetToken                   = "getToken"
	OpListExternalContacts       = "listExternalContacts"
	OpListGroupChats             = "listGroupChats"
	OpTransferCustomer           = "transferCustomer"
	OpTransferResult             = "transferResult"
	OpTransferOnJobGroupChats    = "transferOnJobGroupChats"
	OpGetUnassignedList          = "getUnassignedList"
	OpTransferResignedCustomer   = "transferResignedCustomer"
	OpTransferResignedResult     = "transferResignedResult"
	OpTransferResignedGroupChats = "transferResignedGroupChats"
)

// DefaultTokenTTL is the lifetime of a sandbox access token unless
// [WithTokenTTL] sets another. WeCom's tokens normally last 7200 seconds.
const DefaultTokenTTL = 7200 * time.Second

// Option configures a [Sandbox].
type Option func(*config)

type config struct {
	clock       Clock
	tokenTTL    time.Duration
	faults      FaultFunc
	latency     time.Duration
	revokeEvery int64
	logger      *slog.Logger
}

// WithClock sets the clock that drives takeovers, token expiry and the
// 90-day and daily windows. The default, also used for a nil c, is
// [RealClock].
func WithClock(c Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// WithTokenTTL sets the lifetime of access tokens. gettoken reports it in
// expires_in, rounded down to whole seconds.
func WithTokenTTL(d time.Duration) Option { return func(cfg *config) { cfg.tokenTTL = d } }

// WithFaults sets the function that picks the [Fault] of each call.
func WithFaults(f FaultFunc) Option { return func(cfg *config) { cfg.faults = f } }

// WithLatency delays every call by d, on top of any [Fault] latency.
func WithLatency(d time.Duration) Option { return func(cfg *config) { cfg.latency = d } }

// WithRevokeEvery revokes every live access token before each n-th call,
// counting calls of all operations, as WeCom may revoke tokens before they
// expire. Zero or less turns it off.
func WithRevokeEvery(n int) Option { return func(cfg *config) { cfg.revokeEvery = int64(n) } }

// WithLogger sets the logger of calls (level Debug) and injected faults
// (level Info). Without it the sandbox logs nothing.
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.logger = l } }

// Sandbox is a fake WeCom server for one [Corp]. It serves the calls of the
// spec in package openapi as WeCom does: HTTP 200 with an errcode envelope,
// access tokens from gettoken, request checks against the spec (errcode
// 40058) and the transfer rules. It is an http.Handler and is safe for
// concurrent use.
//
// Sandbox also implements the generated StrictServerInterface. Calling
// those methods directly skips the token check, the spec check and fault
// injection, which only ServeHTTP applies.
type Sandbox struct {
	corp   *Corp
	clock  *offsetClock
	cfg    config
	log    *slog.Logger
	router routers.Router
	api    http.Handler // the generated routes over the strict methods
	seq    atomic.Int64

	mu           sync.Mutex
	tokens       map[string]time.Time // token to expiry
	tokensIssued int
	calls        map[string]int
	faults       int
}

var _ server.StrictServerInterface = (*Sandbox)(nil)

// NewHandler returns a sandbox serving corp, for a listener the caller runs.
// It panics if the embedded spec fails to load, which a test of this package
// rules out.
func NewHandler(corp *Corp, opts ...Option) *Sandbox {
	cfg := config{clock: RealClock(), tokenTTL: DefaultTokenTTL}
	for _, opt := range opts {
		opt(&cfg)
	}
	router, err := loadRouter()
	if err != nil {
		panic("wecomtest: " + err.Error())
	}
	log := cfg.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sb := &Sandbox{
		corp:   corp,
		clock:  &offsetClock{base: cfg.clock},
		cfg:    cfg,
		log:    log,
		router: router,
		tokens: make(map[string]time.Time),
		calls:  make(map[string]int),
	}
	strict := server.NewStrictHandlerWithOptions(sb, nil, server.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  sb.serveBindError,
		ResponseErrorHandlerFunc: sb.serveInternalError,
	})
	sb.api = server.HandlerWithOptions(strict, server.StdHTTPServerOptions{
		ErrorHandlerFunc: sb.serveBindError,
	})
	return sb
}

// Corp returns the corp the sandbox serves.
func (sb *Sandbox) Corp() *Corp { return sb.corp }

// Clock returns the sandbox clock: the clock from [WithClock] plus every
// [Sandbox.Advance].
func (sb *Sandbox) Clock() Clock { return sb.clock }

// Advance moves the sandbox clock forward by d, whatever clock it was given.
// Takeovers that fall due complete on the next call that looks at them.
func (sb *Sandbox) Advance(d time.Duration) { sb.clock.advance(d) }

func (sb *Sandbox) now() time.Time { return sb.clock.Now() }

// RevokeTokens revokes every access token issued so far, as WeCom may do
// before they expire. Calls with them then get errcode 40014. It returns
// the number of tokens revoked.
func (sb *Sandbox) RevokeTokens() int {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	n := len(sb.tokens)
	clear(sb.tokens)
	return n
}

// ServeHTTP serves one WeCom call.
func (sb *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, pathParams, err := sb.router.FindRoute(r)
	if err != nil {
		sb.serveUnrouted(w, r, err)
		return
	}
	op := route.Operation.OperationID
	info := callInfo{op: op, seq: sb.seq.Add(1), clientIP: clientIP(r), unix: sb.now().Unix()}
	r = r.WithContext(withCallInfo(r.Context(), info))
	fault := sb.countCall(info)

	if !sleepContext(r.Context(), sb.cfg.latency+fault.Latency) {
		return // the client went away
	}
	if n := sb.cfg.revokeEvery; n > 0 && info.seq%n == 0 {
		sb.RevokeTokens()
	}
	switch {
	case fault.DropBefore:
		dropConnection(w)
		return
	case fault.BadGateway:
		writeGatewayPage(w)
		return
	}

	resp := newBufferedResponse()
	if fault.ErrCode != codeOK {
		writeEnvelope(resp, info, newAPIError(fault.ErrCode))
	} else {
		sb.handle(resp, r, route, pathParams)
	}
	sb.logCall(info, resp)
	if fault.ErrCode == codeOK && fault.DropAfter {
		dropConnection(w)
		return
	}
	resp.flush(w, fault.TextPlain)
}

// countCall counts the call and returns its fault.
func (sb *Sandbox) countCall(info callInfo) Fault {
	var fault Fault
	if sb.cfg.faults != nil {
		fault = sb.cfg.faults(info.op, info.seq)
	}
	sb.mu.Lock()
	sb.calls[info.op]++
	if !fault.isZero() {
		sb.faults++
	}
	sb.mu.Unlock()
	if !fault.isZero() {
		sb.log.Info("wecomtest: injecting fault", "op", info.op, "seq", info.seq, "fault", fmt.Sprintf("%+v", fault))
	}
	return fault
}

// handle checks the token and the request shape, then runs the operation.
func (sb *Sandbox) handle(w http.ResponseWriter, r *http.Request, route *routers.Route, pathParams map[string]string) {
	info, _ := callInfoFrom(r.Context())
	var err *apiError
	if info.op == OpGetToken {
		err = checkGetTokenQuery(r)
	} else {
		err = sb.checkToken(r.URL.Query().Get("access_token"))
	}
	if err == nil {
		err = validateRequest(r, route, pathParams)
	}
	if err != nil {
		writeEnvelope(w, info, err)
		return
	}
	sb.api.ServeHTTP(w, r)
}

// checkGetTokenQuery reports a missing corpid (41002) or corpsecret (41004)
// before the spec check could report either as 40058.
func checkGetTokenQuery(r *http.Request) *apiError {
	q := r.URL.Query()
	switch {
	case q.Get("corpid") == "":
		return newAPIError(codeCorpIDMissing)
	case q.Get("corpsecret") == "":
		return newAPIError(codeSecretMissing)
	}
	return nil
}

// checkToken returns 41001 for a missing token, 40014 for an unknown or
// revoked one and 42001 for one expired by the sandbox clock.
func (sb *Sandbox) checkToken(token string) *apiError {
	if token == "" {
		return newAPIError(codeTokenMissing)
	}
	sb.mu.Lock()
	expiry, ok := sb.tokens[token]
	sb.mu.Unlock()
	switch {
	case !ok:
		return newAPIError(codeInvalidToken)
	case !sb.now().Before(expiry):
		return newAPIError(codeTokenExpired)
	}
	return nil
}

// issueToken returns a new random token. Each gettoken call gets a fresh
// one while earlier ones stay valid: WeCom's current documentation no
// longer promises the same token within its lifetime, so clients must not
// rely on it.
func (sb *Sandbox) issueToken() string {
	token := "sandbox-token." + rand.Text()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.tokens[token] = sb.now().Add(sb.cfg.tokenTTL)
	sb.tokensIssued++
	return token
}

// serveUnrouted responds to a request outside the spec. A known path with
// the wrong method gets errcode 40058, as WeCom documents for a GET in place
// of a POST, and an unknown path gets HTTP 404.
func (sb *Sandbox) serveUnrouted(w http.ResponseWriter, r *http.Request, err error) {
	// The legacy router returns a new RouteError with the sentinel's
	// reason, so errors.Is cannot match it.
	var routeErr *routers.RouteError
	if !errors.As(err, &routeErr) || routeErr.Reason != routers.ErrMethodNotAllowed.Error() {
		http.NotFound(w, r)
		return
	}
	// Not an operation call, so it takes no sequence number.
	info := callInfo{clientIP: clientIP(r), unix: sb.now().Unix()}
	writeEnvelope(w, info, newAPIErrorf(codeInvalidParameter, "method %s not allowed", r.Method))
}

// serveBindError responds to a request the generated code could not bind. The
// spec check runs first, so this only happens if the two disagree.
func (sb *Sandbox) serveBindError(w http.ResponseWriter, r *http.Request, err error) {
	info, _ := callInfoFrom(r.Context())
	writeEnvelope(w, info, newAPIErrorf(codeInvalidParameter, "%v", err))
}

// serveInternalError reports a failure inside the sandbox as WeCom's
// errcode -1 (system busy).
func (sb *Sandbox) serveInternalError(w http.ResponseWriter, r *http.Request, err error) {
	info, _ := callInfoFrom(r.Context())
	sb.log.Error("wecomtest: handler failed", "op", info.op, "seq", info.seq, "err", err)
	writeEnvelope(w, info, newAPIError(codeSystemBusy))
}

func writeEnvelope(w http.ResponseWriter, info callInfo, e *apiError) {
	body, _ := json.Marshal(server.Envelope{ErrCode: e.code, ErrMsg: errmsg(info, e.code, e.text)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// logCall logs the call's errcode at level Debug.
func (sb *Sandbox) logCall(info callInfo, resp *bufferedResponse) {
	if !sb.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	var env server.Envelope
	_ = json.Unmarshal(resp.body.Bytes(), &env)
	sb.log.Debug("wecomtest: call", "op", info.op, "seq", info.seq, "errcode", env.ErrCode)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Stats counts what a sandbox did, for assertions in tests.
type Stats struct {
	// TokensIssued counts successful gettoken calls.
	TokensIssued int

	// Calls counts calls by operation id, faulty ones included. Requests
	// outside the spec are not counted.
	Calls map[string]int

	// Faults counts calls that got a non-zero [Fault].
	Faults int

	// TransferStarts counts, by external_userid, the customer transfers the
	// sandbox accepted (per-customer errcode 0), by both transfer calls. A
	// client that never transfers a customer twice leaves every count at 1.
	TransferStarts map[string]int
}

// Stats returns a copy of the sandbox counters.
func (sb *Sandbox) Stats() Stats {
	sb.mu.Lock()
	st := Stats{TokensIssued: sb.tokensIssued, Calls: maps.Clone(sb.calls), Faults: sb.faults}
	sb.mu.Unlock()

	sb.corp.mu.Lock()
	st.TransferStarts = maps.Clone(sb.corp.starts)
	sb.corp.mu.Unlock()
	return st
}

// Followers returns the userids of the members who follow the customer
// now, sorted, with takeovers that fell due applied.
func (sb *Sandbox) Followers(externalUserID string) []string {
	c := sb.corp
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settle(sb.now())
	var ids []string
	for id, m := range c.members {
		if m.byExt[externalUserID] != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// TransferRecord is the latest transfer of one customer between one pair of
// members, as transfer_result reports it.
type TransferRecord struct {
	ExternalUserID string
	Resigned       bool // started by resigned/transfer_customer
	Status         server.TakeoverStatus

	// StartedAt is when the sandbox accepted the transfer. It is zero for
	// status 5 (no takeover record).
	StartedAt time.Time

	// TakeoverTime is when the takeover happens (status 2) or happened
	// (status 1), and zero otherwise.
	TakeoverTime time.Time
}

// TransferRecords returns the records of customers transferred from
// handover to takeover, on-job ones first, with takeovers that fell due
// applied.
func (sb *Sandbox) TransferRecords(handover, takeover string) []TransferRecord {
	c := sb.corp
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settle(sb.now())
	var out []TransferRecord
	for _, resigned := range []bool{false, true} {
		p := c.pairs[pairKey{resigned: resigned, handover: handover, takeover: takeover}]
		if p == nil {
			continue
		}
		for _, rec := range p.order {
			out = append(out, TransferRecord{
				ExternalUserID: rec.ext,
				Resigned:       resigned,
				Status:         rec.status,
				StartedAt:      rec.startedAt,
				TakeoverTime:   rec.takeoverTime,
			})
		}
	}
	return out
}

// GroupChatOwner returns a chat's owner and the status groupchat/list
// reports for it, or false if the corp has no such chat.
func (sb *Sandbox) GroupChatOwner(chatID string) (owner string, status server.GroupChatStatus, ok bool) {
	return sb.corp.groupChatOwner(chatID)
}
