package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// Endpoint paths, used in errors and log lines.
const (
	endpointGetToken              = "/cgi-bin/gettoken"
	endpointListCustomers         = "/cgi-bin/externalcontact/list"
	endpointListGroupChats        = "/cgi-bin/externalcontact/groupchat/list"
	endpointTransferCustomer      = "/cgi-bin/externalcontact/transfer_customer"
	endpointTransferResult        = "/cgi-bin/externalcontact/transfer_result"
	endpointOnJobGroupTransfer    = "/cgi-bin/externalcontact/groupchat/onjob_transfer"
	endpointUnassignedList        = "/cgi-bin/externalcontact/get_unassigned_list"
	endpointResignedTransfer      = "/cgi-bin/externalcontact/resigned/transfer_customer"
	endpointResignedResult        = "/cgi-bin/externalcontact/resigned/transfer_result"
	endpointResignedGroupTransfer = "/cgi-bin/externalcontact/groupchat/transfer"
)

// callSpec describes one API call. send builds a new request on every
// attempt, so a retry never re-sends a body that was already read.
type callSpec struct {
	endpoint string
	read     bool  // the call changes nothing, so any failure may be retried
	noToken  bool  // gettoken itself
	resent   *bool // if set, becomes true when the request is sent again
	send     func(ctx context.Context, addToken generated.RequestEditorFn) (*http.Response, error)
}

// envelope is the errcode and errmsg of a decoded response.
type envelope struct {
	code int
	msg  string
}

// call sends spec, retrying as its kind allows, and decodes the body into
// out, which must be a pointer to a generated response struct. A non-zero
// top-level errcode becomes an *APIError.
func (c *Client) call(ctx context.Context, spec callSpec, out any) error {
	policy := c.settings.retry
	tokenRetried := false
	retries := 0
	rateWaits := 0

	for {
		if err := c.waitTurn(ctx, spec.endpoint); err != nil {
			return err
		}
		accessToken, err := c.tokenFor(ctx, spec)
		if err != nil {
			return err
		}

		if retries > 0 && spec.resent != nil {
			*spec.resent = true
		}
		env, err := c.attempt(ctx, spec, accessToken, out)
		if err == nil && env.code == CodeOK {
			return nil
		}

		var delay time.Duration
		switch {
		case err != nil:
			if !spec.read && !sentNothing(err) {
				return &UnknownOutcomeError{Endpoint: spec.endpoint, Err: err}
			}
			if !retryableFailure(err) || retries >= policy.MaxRetries {
				return err
			}
			retries++
			delay = policy.backoff(retries)
			c.logRetry(ctx, spec.endpoint, 0, retries, delay, err)

		case isTokenRejected(env.code) && !spec.noToken && !tokenRetried:
			tokenRetried = true
			c.settings.logger.LogAttrs(ctx, slog.LevelInfo, "wecom: access token rejected, fetching a new one",
				slog.String("endpoint", spec.endpoint), slog.Int("errcode", env.code))
			c.tokens.Invalidate(ctx, accessToken)
			continue

		case env.code == CodeRateLimited || env.code == CodeTooConcurrent:
			apiErr := c.apiError(spec.endpoint, env)
			if rateWaits >= policy.MaxRateLimitWaits {
				return apiErr
			}
			rateWaits++
			c.pauseForRateLimit(ctx, spec.endpoint, env.code, rateWaits)
			continue

		case env.code == CodeSystemBusy || (spec.read && env.code == CodeVersionConflict):
			// WeCom documents -1 as "retry later", and a rejected write was not
			// applied, so re-sending it is harmless.
			if retries >= policy.MaxRetries {
				return c.apiError(spec.endpoint, env)
			}
			retries++
			delay = policy.backoff(retries)
			c.logRetry(ctx, spec.endpoint, env.code, retries, delay, nil)

		default:
			return c.apiError(spec.endpoint, env)
		}

		if err := c.settings.sleep(ctx, delay); err != nil {
			return err
		}
	}
}

func (c *Client) tokenFor(ctx context.Context, spec callSpec) (string, error) {
	if spec.noToken {
		return "", nil
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// attempt sends one request and decodes its response. It returns the
// envelope when the body is a WeCom envelope, and an error otherwise.
func (c *Client) attempt(ctx context.Context, spec callSpec, accessToken string, out any) (envelope, error) {
	addToken := func(_ context.Context, req *http.Request) error {
		if accessToken != "" {
			setAccessToken(req, accessToken)
		}
		return nil
	}
	resp, err := spec.send(ctx, addToken)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return envelope{}, ctxErr
		}
		return envelope{}, &TransportError{Endpoint: spec.endpoint, Err: redactError(err)}
	}
	defer resp.Body.Close()

	body, err := readCapped(resp.Body, resp.ContentLength, c.settings.maxBodySize)
	if errors.Is(err, errBodyTooLarge) {
		return envelope{}, &ResponseError{
			Endpoint:    spec.endpoint,
			HTTPStatus:  resp.StatusCode,
			ContentType: resp.Header.Get("Content-Type"),
			Err:         fmt.Errorf("%w of %d bytes", err, c.settings.maxBodySize),
		}
	}
	if err != nil {
		return envelope{}, &TransportError{Endpoint: spec.endpoint, Err: redactError(err)}
	}
	env, err := decodeEnvelope(spec.endpoint, resp, body, out)
	if respErr, ok := err.(*ResponseError); ok {
		if spec.noToken {
			// A gettoken body that failed to decode may hold a token in a
			// shape no pattern foresees, so none of it is shown.
			respErr.Excerpt = ""
			respErr.BodySize = len(body)
		}
		respErr.Excerpt = scrubValue(respErr.Excerpt, accessToken)
	}
	env.msg = scrubValue(env.msg, accessToken)
	return env, err
}

// decodeEnvelope decodes a WeCom body into out whatever its Content-Type,
// because WeCom may send JSON as text/plain.
func decodeEnvelope(endpoint string, resp *http.Response, body []byte, out any) (envelope, error) {
	respErr := func(cause error) error {
		return &ResponseError{
			Endpoint:    endpoint,
			HTTPStatus:  resp.StatusCode,
			ContentType: resp.Header.Get("Content-Type"),
			Excerpt:     excerpt(body),
			Err:         cause,
		}
	}
	// JSON may start with whitespace, such as a newline a proxy added.
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return envelope{}, respErr(nil)
	}
	if trimmed[0] != '{' || !bytes.Contains(trimmed, []byte(`"errcode"`)) {
		return envelope{}, respErr(errors.New("not a WeCom JSON envelope"))
	}

	if resp.StatusCode != http.StatusOK {
		if env, ok := errorEnvelope(body); ok {
			return env, nil
		}
		return envelope{}, respErr(fmt.Errorf("HTTP status %d", resp.StatusCode))
	}
	if err := json.Unmarshal(body, out); err != nil {
		// A failed body may still be a valid error envelope whose data
		// fields do not match, so look for its errcode before giving up.
		if env, ok := errorEnvelope(body); ok {
			return env, nil
		}
		return envelope{}, respErr(err)
	}
	code, msg := envelopeOf(out)
	return envelope{code: code, msg: msg}, nil
}

// errorEnvelope decodes only the errcode and errmsg of body and reports
// whether the errcode is non-zero. It is a function of its own so that the
// decoded struct is allocated on the error paths only.
func errorEnvelope(body []byte) (envelope, bool) {
	var env struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if json.Unmarshal(body, &env) != nil || env.ErrCode == CodeOK {
		return envelope{}, false
	}
	return envelope{code: env.ErrCode, msg: env.ErrMsg}, true
}

// envelopeOf returns the errcode and errmsg of a decoded response.
func envelopeOf(out any) (int, string) {
	switch v := out.(type) {
	case *generated.GetTokenResponse:
		return v.ErrCode, v.ErrMsg
	case *generated.ListExternalContactsResponse:
		return v.ErrCode, v.ErrMsg
	case *generated.ListGroupChatsResponse:
		return v.ErrCode, v.ErrMsg
	case *generated.TransferCustomerResponse:
		return v.ErrCode, v.ErrMsg
	case *generated.TransferResultResponse:
		return v.ErrCode, v.ErrMsg
	case *generated.GroupChatTransferResponse:
		return v.ErrCode, v.ErrMsg
	case *generated.GetUnassignedListResponse:
		return v.ErrCode, v.ErrMsg
	case *generated.Envelope:
		return v.ErrCode, v.ErrMsg
	}
	panic(fmt.Sprintf("wecom: no envelope accessor for %T", out))
}

// setAccessToken sets the access_token query parameter of req. A request
// without a query, as every POST call is, gets it without parsing and
// encoding url.Values; the result is the same.
func setAccessToken(req *http.Request, accessToken string) {
	if req.URL.RawQuery == "" {
		req.URL.RawQuery = "access_token=" + url.QueryEscape(accessToken)
		return
	}
	q := req.URL.Query()
	q.Set("access_token", accessToken)
	req.URL.RawQuery = q.Encode()
}

var errBodyTooLarge = errors.New("response body over the size limit")

// readCapped reads r to the end and fails with errBodyTooLarge once it has
// read more than limit bytes. size is the Content-Length, or -1 if unknown.
// A transport that leaves it 0 may still send a body, so 0 counts as unknown.
// A body of the announced length is read into one buffer of that size. When
// the length is missing or wrong, the buffer grows as in io.ReadAll.
func readCapped(r io.Reader, size, limit int64) ([]byte, error) {
	const minRead = 512
	if size <= 0 || size > limit {
		size = minRead
	}
	// One byte more than the body, so that the read that returns io.EOF
	// has room and the buffer need not grow.
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := min(int64(cap(buf)), limit+1)
		n, err := r.Read(buf[len(buf):room])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errBodyTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// excerpt returns the start of a body for an error message, cut at a rune
// boundary, with secrets removed.
func excerpt(body []byte) string {
	const max = 120
	s := strings.TrimSpace(string(body))
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return redactString(s)
}

func (c *Client) apiError(endpoint string, env envelope) *APIError {
	return &APIError{Endpoint: endpoint, Code: env.code, Message: redactString(env.msg), HTTPStatus: http.StatusOK}
}

// TransportError is a failure to send a request or read its response.
type TransportError struct {
	Endpoint string
	Err      error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("wecom: %s: %v", e.Endpoint, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// UnknownOutcomeError reports a write whose request may have reached WeCom
// although no response came back, such as a dropped connection or a timeout.
// The items it carried may or may not be in transfer: read the transfer
// results to learn which.
type UnknownOutcomeError struct {
	Endpoint string
	Err      error
}

func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("wecom: %s: outcome unknown, the request may have been applied: %v", e.Endpoint, e.Err)
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// sentNothing reports whether err proves the request never reached the
// server, so that a write may be sent again: the connection could not be
// opened. net/http already re-sends a request that failed on a reused
// connection before any byte was written.
func sentNothing(err error) bool {
	if _, ok := errors.AsType[*ResponseError](err); ok {
		return false
	}
	opErr, ok := errors.AsType[*net.OpError](err)
	return ok && opErr.Op == "dial"
}

// retryableFailure reports whether a failed read may be sent again:
// transport failures and 5xx responses, but not a 4xx page or a body that is
// not JSON.
func retryableFailure(err error) bool {
	if respErr, ok := errors.AsType[*ResponseError](err); ok {
		return respErr.HTTPStatus >= 500
	}
	_, ok := errors.AsType[*TransportError](err)
	return ok
}

func (c *Client) logRetry(ctx context.Context, endpoint string, code, attempt int, delay time.Duration, err error) {
	attrs := []slog.Attr{
		slog.String("endpoint", endpoint),
		slog.Int("errcode", code),
		slog.Int("attempt", attempt),
		slog.Duration("delay", delay),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.settings.logger.LogAttrs(ctx, slog.LevelWarn, "wecom: call failed, retrying", attrs...)
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
