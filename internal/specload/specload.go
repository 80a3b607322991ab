// Package specload loads the embedded OpenAPI spec into kin-openapi for
// request and response validation.
package specload

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wecom-transfer/wecom-transfer/openapi"
)

// Load parses and validates the embedded spec and returns a new document
// that the caller may change. Query parameters that the spec declares with
// text/plain content get that content's schema instead, because
// kin-openapi's validator (v0.153.0) decodes only JSON content parameters.
// A plain string parameter is the same value either way.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Spec)
	if err != nil {
		return nil, fmt.Errorf("parse spec: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("invalid spec: %w", err)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, ref := range op.Parameters {
				plainToSchema(ref.Value)
			}
		}
	}
	return doc, nil
}

func plainToSchema(p *openapi3.Parameter) {
	if p == nil || p.Schema != nil {
		return
	}
	media := p.Content.Get("text/plain")
	if media == nil || len(p.Content) != 1 {
		return
	}
	p.Schema = media.Schema
	if p.Example == nil {
		p.Example = media.Example
	}
	p.Content = nil
}
