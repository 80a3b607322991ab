// Package wecomtransfer is the root of the wecom-transfer module. It holds the
// go:generate lines that rebuild the typed client and the sandbox server
// interface from the OpenAPI spec in openapi/.
package wecomtransfer

//go:generate go tool oapi-codegen -config openapi/client.cfg.yaml openapi/wecom-transfer.yaml
//go:generate go tool oapi-codegen -config openapi/server.cfg.yaml openapi/wecom-transfer.yaml
