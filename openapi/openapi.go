// Package openapi embeds the OpenAPI 3.0.3 spec of the WeCom customer transfer
// calls, so that tests and the sandbox validate traffic against the same file
// the client is generated from.
package openapi

import _ "embed"

// Spec is the YAML text of wecom-transfer.yaml.
//
//go:embed wecom-transfer.yaml
var Spec []byte
