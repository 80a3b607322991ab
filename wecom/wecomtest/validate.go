package wecomtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/wecom-transfer/wecom-transfer/internal/specload"
)

// maxBodyBytes caps a request body. Real bodies stay under 10 KiB: 100 ids
// of at most a few dozen bytes each.
const maxBodyBytes = 1 << 20

// loadRouter parses the embedded spec once. The router never changes after
// that, so every sandbox shares it.
var loadRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := specload.Load()
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	// The spec names the WeCom host; the sandbox listens on other hosts and
	// ports, so this private copy drops the servers to match any host.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	return router, nil
})

// validateRequest checks the request against the spec, as WeCom checks the
// shape of each call. It leaves r.Body readable again for the handler. The
// access_token is checked before, so the spec's security scheme is not.
func validateRequest(r *http.Request, route *routers.Route, pathParams map[string]string) *apiError {
	check := r.Clone(r.Context())
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
		r.Body.Close()
		if err != nil {
			return newAPIErrorf(codeInvalidParameter, "request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !json.Valid(body) {
			// WeCom puts this warning first in the errmsg of a malformed
			// body.
			return &apiError{
				code: codeInvalidParameter,
				text: "Warning: wrong json format. " + errorText(codeInvalidParameter),
			}
		}
		check.Body = io.NopCloser(bytes.NewReader(body))
		// NOTE: whether WeCom checks Content-Type is undocumented. The
		// sandbox parses the body as JSON whatever the header is.
		check.Header.Set("Content-Type", "application/json")
	}

	input := &openapi3filter.RequestValidationInput{
		Request:    check,
		PathParams: pathParams,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
		return newAPIErrorf(codeInvalidParameter, "%s", describeValidationError(err))
	}
	return nil
}

// describeValidationError names the parameter or body field that broke the
// spec and the rule it broke, such as "external_userid: maximum number of
// items is 100". kin-openapi keeps the offending value out of its reasons,
// so a secret cannot reach the errmsg this way.
func describeValidationError(err error) string {
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return err.Error()
	}
	var schemaErr *openapi3.SchemaError
	hasSchemaErr := errors.As(reqErr.Err, &schemaErr)
	switch {
	case reqErr.Parameter != nil && hasSchemaErr:
		return reqErr.Parameter.Name + ": " + schemaErr.Reason
	case reqErr.Parameter != nil:
		return reqErr.Parameter.Name + ": " + reqErr.Reason
	case hasSchemaErr:
		field := strings.Join(schemaErr.JSONPointer(), ".")
		if field == "" {
			field = "request body"
		}
		if schemaErr.SchemaField == "required" {
			return field + ": missing"
		}
		return field + ": " + schemaErr.Reason
	}
	return reqErr.Error()
}
