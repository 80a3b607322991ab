package wecom

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// WeCom error codes that the client branches on. The full table, with the
// action each code calls for, is the x-wecom-error-codes list in the spec.
const (
	CodeSystemBusy        = -1    // retry later, at most a few times
	CodeOK                = 0     // success
	CodeVersionConflict   = 6000  // concurrent modification; retry later
	CodeInvalidSecret     = 40001 // wrong corpsecret, or the app is disabled
	CodeInvalidCorpID     = 40013 // wrong corpid
	CodeInvalidToken      = 40014 // revoked, unparsable or expired access_token
	CodeInvalidParameter  = 40058 // the request breaks the API's rules
	CodeSecretOtherCorp   = 40091 // secret of another corp
	CodeNotResigned       = 40097 // resigned transfer of a member who has not resigned
	CodeAlreadyInTransfer = 40100 // the customer is already in a transfer flow
	CodeTransferTooOften  = 40128 // on-job customer transferred twice in 90 days
	CodeInTransfer        = 40129 // the customer is being transferred now
	CodeSameMember        = 40130 // handover and takeover are the same member
	CodeNotFollower       = 40131 // handover member does not follow the customer
	CodeTokenMissing      = 41001 // no access_token in the query string
	CodeSecretMissing     = 41004 // no corpsecret
	CodeTokenExpired      = 42001 // access_token expired
	CodeRateLimited       = 45009 // calls per minute or hour exceeded
	CodeTooConcurrent     = 45033 // too many concurrent calls
	CodeNoContacts        = 84061 // the member has no external contacts
)

// Sentinel errors for conditions callers branch on. An [*APIError] matches
// them through errors.Is.
var (
	// ErrBadCredentials matches errors that a new token cannot fix: a wrong
	// secret or corp ID. Check the app's secret in the WeCom admin console.
	ErrBadCredentials = errors.New("wecom: invalid corp id or secret")
	// ErrRateLimited matches the errcodes 45009 and 45033.
	ErrRateLimited = errors.New("wecom: rate limited")
)

// APIError is a non-zero top-level errcode returned by WeCom.
type APIError struct {
	Endpoint   string // path of the call, such as "/cgi-bin/gettoken"
	Code       int    // WeCom errcode
	Message    string // WeCom errmsg
	HTTPStatus int    // HTTP status of the response, normally 200
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wecom: %s: errcode %d: %s", e.Endpoint, e.Code, e.Message)
}

// Is reports whether e matches one of the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadCredentials:
		switch e.Code {
		case CodeInvalidSecret, CodeInvalidCorpID, CodeSecretOtherCorp, CodeSecretMissing:
			return true
		}
	case ErrRateLimited:
		return e.Code == CodeRateLimited || e.Code == CodeTooConcurrent
	}
	return false
}

// isTokenRejected reports whether the errcode calls for a new access token.
// WeCom returns 40014 for expired tokens too, not only 42001.
func isTokenRejected(code int) bool {
	return code == CodeInvalidToken || code == CodeTokenExpired
}

// ResponseError is a response that is not a WeCom JSON envelope, such as a
// gateway's HTML page, an empty body or truncated JSON.
type ResponseError struct {
	Endpoint    string
	HTTPStatus  int
	ContentType string
	Excerpt     string // the first bytes of the body, with secrets removed
	BodySize    int    // set instead of Excerpt for gettoken bodies, which may hold a token
	Err         error  // the decoding error, if any
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wecom: %s: unexpected response (HTTP %d", e.Endpoint, e.HTTPStatus)
	if e.ContentType != "" {
		fmt.Fprintf(&b, ", %s", e.ContentType)
	}
	b.WriteString(")")
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	switch {
	case e.Excerpt != "":
		fmt.Fprintf(&b, ": body starts %q", e.Excerpt)
	case e.BodySize > 0:
		fmt.Fprintf(&b, ": body of %d bytes not shown because it may hold a token", e.BodySize)
	case e.Err == nil:
		b.WriteString(": empty body")
	}
	return b.String()
}

func (e *ResponseError) Unwrap() error { return e.Err }

// ItemsError reports that some items of a batch failed. Failed maps each
// errcode to the number of items that got it.
type ItemsError struct {
	Kind    string      // "customers" or "group chats"
	Failed  map[int]int // items WeCom rejected, by errcode
	Unknown int         // items whose call got no response
	NotSent int         // items never sent
	Count   int         // items that did not start
	Total   int         // items in the batch
}

func (e *ItemsError) Error() string {
	codes := make([]int, 0, len(e.Failed))
	for code := range e.Failed {
		codes = append(codes, code)
	}
	sort.Ints(codes)

	parts := make([]string, 0, len(codes)+2)
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("errcode %d x%d", code, e.Failed[code]))
	}
	if e.Unknown > 0 {
		parts = append(parts, fmt.Sprintf("outcome unknown x%d", e.Unknown))
	}
	if e.NotSent > 0 {
		parts = append(parts, fmt.Sprintf("not sent x%d", e.NotSent))
	}
	return fmt.Sprintf("wecom: %d of %d %s failed (%s)", e.Count, e.Total, e.Kind, strings.Join(parts, ", "))
}

// InputError is a request rejected before it was sent.
type InputError struct {
	Field  string
	Value  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("wecom: invalid %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("wecom: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}
