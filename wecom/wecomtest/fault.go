package wecomtest

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"
)

// Fault is the set of failures a [FaultFunc] injects into one call. The zero
// Fault injects nothing. Latency applies first and combines with the other fields.
// DropBefore, BadGateway, ErrCode and DropAfter exclude one another: the
// first one set, in that order, wins. TextPlain applies to any JSON response
// that is sent.
type Fault struct {
	// Latency delays the call before anything else happens.
	Latency time.Duration

	// DropBefore closes the connection without a response before the call
	// is handled, so the sandbox state does not change.
	DropBefore bool

	// BadGateway returns HTTP 502 with a text/html gateway error page, as a
	// proxy in front of WeCom might, without handling the call.
	BadGateway bool

	// ErrCode, when not zero, is returned without handling the call. Typical
	// values are -1 (system busy), 6000 (data version conflict), 45009 (rate
	// limited) and 45033 (too many concurrent calls).
	ErrCode int

	// DropAfter handles the call, so the sandbox state changes, then closes
	// the connection without a response. The client cannot tell whether the
	// call took effect.
	DropAfter bool

	// TextPlain sends the response with Content-Type text/plain instead of
	// application/json.
	TextPlain bool
}

func (f Fault) isZero() bool { return f == Fault{} }

// FaultFunc picks the fault of one call. The sandbox calls it once per
// request, possibly from many goroutines at once, with the operation id
// (one of the Op constants) and the call's sequence number, which counts
// every call of the sandbox from 1.
type FaultFunc func(op string, seq int64) Fault

// sleepContext waits for d unless ctx ends first, and reports whether the
// whole wait passed.
func sleepContext(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dropConnection closes the client's connection without writing a response.
// It hijacks the connection where the ResponseWriter allows it (HTTP/1.x),
// and otherwise aborts the handler, which makes net/http reset the stream.
func dropConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

const gatewayPage = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>sandbox gateway</center>
</body>
</html>
`

func writeGatewayPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(gatewayPage)))
	w.WriteHeader(http.StatusBadGateway)
	w.Write([]byte(gatewayPage))
}

// bufferedResponse is an http.ResponseWriter that keeps the response, so
// that a fault can change or drop it after the call was handled.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: make(http.Header)}
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// flush sends the kept response to w, as text/plain if textPlain is set.
func (b *bufferedResponse) flush(w http.ResponseWriter, textPlain bool) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if textPlain {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.Header().Set("Content-Length", strconv.Itoa(b.body.Len()))
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}
