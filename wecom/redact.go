package wecom

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// secretParams are the query parameters that carry credentials.
var secretParams = []string{"access_token", "corpsecret"}

// secretPattern finds a secret parameter and its value anywhere in a
// string: in a query string, in JSON with or without spaces around the
// colon, in a Python-style dict, or with "=" escaped as %3D, &#61; or \u003d.
var secretPattern = regexp.MustCompile(`(?i)(access_token|corpsecret)(["']?\s*(?:=|:|%3D|&#61;|\\u003d)\s*["']?)[^&\s"'<>,;}]*`)

const redacted = "REDACTED"

// redactString replaces the value of every secret query parameter in s.
func redactString(s string) string {
	return secretPattern.ReplaceAllString(s, "${1}${2}"+redacted)
}

// scrubValue replaces every occurrence of a known secret value in s, for
// text that carries a token or secret without its parameter name.
func scrubValue(s, value string) string {
	if len(value) < 8 {
		return s // too short to tell from ordinary text
	}
	return strings.ReplaceAll(s, value, redacted)
}

// redactURL returns u with the values of secret query parameters replaced.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	copied := *u
	q := copied.Query()
	changed := false
	for _, name := range secretParams {
		if q.Has(name) {
			q.Set(name, redacted)
			changed = true
		}
	}
	if changed {
		copied.RawQuery = q.Encode()
	}
	return copied.String()
}

// redactError rewrites the URL of a *url.Error, which net/http returns with
// the full request URL, and strips secrets from any other message.
func redactError(err error) error {
	if err == nil {
		return nil
	}
	if urlErr, ok := errors.AsType[*url.Error](err); ok {
		shown := urlErr.URL
		if u, parseErr := url.Parse(shown); parseErr == nil {
			shown = u.Redacted() // a proxy's user and password
		}
		return &url.Error{
			Op:  urlErr.Op,
			URL: redactString(shown),
			Err: redactedError{urlErr.Err},
		}
	}
	return redactedError{err}
}

// redactedError strips secrets from the message of err. errors.Is and
// errors.As still match err and its chain, but redactedError has no Unwrap
// method, so code that walks the chain with errors.Unwrap and prints each
// error never reaches the unredacted text.
type redactedError struct{ err error }

func (e redactedError) Error() string {
	if e.err == nil {
		return ""
	}
	return redactString(e.err.Error())
}

func (e redactedError) Is(target error) bool { return errors.Is(e.err, target) }

func (e redactedError) As(target any) bool { return errors.As(e.err, target) }

// redactingDoer strips secrets from the transport errors of next, whose
// *url.Error would otherwise carry the access token in its URL.
type redactingDoer struct{ next generated.HttpRequestDoer }

func (d redactingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(req)
	return resp, redactError(err)
}

// scrubbedError removes one known secret value from the message of err, in
// the way redactedError removes secret parameters.
type scrubbedError struct {
	err   error
	value string
}

func (e scrubbedError) Error() string { return scrubValue(e.err.Error(), e.value) }

func (e scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

func (e scrubbedError) As(target any) bool { return errors.As(e.err, target) }
