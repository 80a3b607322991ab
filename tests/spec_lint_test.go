package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/pb33f/libopenapi"

	"github.com/wecom-transfer/wecom-transfer/openapi"
)

// errorCodesKey is the root extension that lists every error code the client
// handles.
const errorCodesKey = "x-wecom-error-codes"

// errorCodeEntry is one row of the x-wecom-error-codes table.
type errorCodeEntry struct {
	Code    int    `json:"code" yaml:"code"`
	Meaning string `json:"meaning" yaml:"meaning"`
	Action  string `json:"action" yaml:"action"`
	Note    string `json:"note,omitempty" yaml:"note,omitempty"`
}

// wantErrorCodes lists, in table order, the codes the client handles.
var wantErrorCodes = []int{
	-1, 0, 6000, 40001, 40003, 40013, 40014, 40031, 40058, 40091, 40096, 40097,
	40098, 40099, 40100, 40128, 40129, 40130, 40131, 41001, 41002, 41004, 41035,
	42001, 45009, 45033, 48001, 48002, 50003, 60011, 60020, 60021, 60111, 84061,
	84074, 90500, 90501, 90502, 90503, 90504, 90507, 90508, 90509, 90510,
}

// wantActions maps the codes whose action is not fix_input to their action.
var wantActions = map[int]string{
	0:     "none",
	40014: "refresh_token",
	42001: "refresh_token",
	-1:    "retry_later",
	6000:  "retry_later",
	45009: "retry_later",
	45033: "retry_later",
	40100: "wait",
	40128: "wait",
	40129: "wait",
	90507: "wait",
}

func loadKinSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Spec)
	if err != nil {
		t.Fatalf("kin-openapi load: %v", err)
	}
	return doc
}

// kinErrorCodes decodes the x-wecom-error-codes table as kin-openapi read it.
func kinErrorCodes(t *testing.T, doc *openapi3.T) []errorCodeEntry {
	t.Helper()
	raw, ok := doc.Extensions[errorCodesKey]
	if !ok {
		t.Fatalf("spec root has no %s", errorCodesKey)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatalf("encode %s: %v", errorCodesKey, err)
	}
	var entries []errorCodeEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatalf("decode %s: %v", errorCodesKey, err)
	}
	return entries
}

func TestSpecKinOpenAPIValid(t *testing.T) {
	t.Parallel()
	doc := loadKinSpec(t)

	if err := doc.Validate(t.Context()); err != nil {
		t.Errorf("kin-openapi Validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

// TestSpecLibOpenAPIModel parses the spec with pb33f/libopenapi, a parser
// independent of the kin-openapi one that oapi-codegen uses, and checks that
// both read the same paths, schemas and error code table.
func TestSpecLibOpenAPIModel(t *testing.T) {
	t.Parallel()
	kin := loadKinSpec(t)

	doc, err := libopenapi.NewDocument(openapi.Spec)
	if err != nil {
		t.Fatalf("libopenapi NewDocument: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("libopenapi BuildV3Model: %v", err)
	}
	v3 := model.Model

	if v3.Version != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", v3.Version)
	}
	if got, want := v3.Paths.PathItems.Len(), kin.Paths.Len(); got != want {
		t.Errorf("libopenapi read %d paths, kin-openapi %d", got, want)
	}
	if got, want := v3.Components.Schemas.Len(), len(kin.Components.Schemas); got != want {
		t.Errorf("libopenapi read %d schemas, kin-openapi %d", got, want)
	}
	for name, proxy := range v3.Components.Schemas.FromOldest() {
		if proxy.Schema() == nil {
			t.Errorf("libopenapi schema %s: %v", name, proxy.GetBuildError())
		}
	}

	ext := v3.Extensions.GetOrZero(errorCodesKey)
	if ext == nil {
		t.Fatalf("libopenapi: spec root has no %s", errorCodesKey)
	}
	var entries []errorCodeEntry
	if err := ext.Decode(&entries); err != nil {
		t.Fatalf("libopenapi: decode %s: %v", errorCodesKey, err)
	}
	if diff := cmp.Diff(kinErrorCodes(t, kin), entries); diff != "" {
		t.Errorf("%s differs between kin-openapi and libopenapi (-kin +libopenapi):\n%s", errorCodesKey, diff)
	}
}

func TestSpecErrorCodesTable(t *testing.T) {
	t.Parallel()
	entries := kinErrorCodes(t, loadKinSpec(t))

	var codes []int
	for _, e := range entries {
		codes = append(codes, e.Code)
		want, ok := wantActions[e.Code]
		if !ok {
			want = "fix_input"
		}
		if e.Action != want {
			t.Errorf("code %d: action %q, want %q", e.Code, e.Action, want)
		}
		if strings.TrimSpace(e.Meaning) == "" {
			t.Errorf("code %d: empty meaning", e.Code)
		}
	}
	if diff := cmp.Diff(wantErrorCodes, codes); diff != "" {
		t.Errorf("%s codes, in order (-want +got):\n%s", errorCodesKey, diff)
	}
}

// TestSpecInvalidSecretNoRefresh keeps 40001 apart from the token errors,
// because it means a wrong secret and a new token request with the same
// secret fails again.
func TestSpecInvalidSecretNoRefresh(t *testing.T) {
	t.Parallel()
	entries := kinErrorCodes(t, loadKinSpec(t))

	i := slices.IndexFunc(entries, func(e errorCodeEntry) bool { return e.Code == 40001 })
	if i < 0 {
		t.Fatal("no entry for 40001")
	}
	if !strings.Contains(entries[i].Note, "must not start a token refresh loop") {
		t.Errorf("40001 note %q does not warn against a token refresh loop", entries[i].Note)
	}
}

// TestSpecErrorCodeSchema checks that the ErrorCode schema stays an open
// integer and names every code of the table.
func TestSpecErrorCodeSchema(t *testing.T) {
	t.Parallel()
	doc := loadKinSpec(t)

	ref, ok := doc.Components.Schemas["ErrorCode"]
	if !ok || ref.Value == nil {
		t.Fatal("no ErrorCode schema")
	}
	schema := ref.Value
	if !schema.Type.Is(openapi3.TypeInteger) {
		t.Errorf("ErrorCode type = %v, want integer", schema.Type)
	}
	if len(schema.Enum) != 0 {
		t.Errorf("ErrorCode enum = %v, want none because the code set is open", schema.Enum)
	}
	for _, e := range kinErrorCodes(t, doc) {
		if !strings.Contains(schema.Description, strconv.Itoa(e.Code)) {
			t.Errorf("ErrorCode description does not name code %d", e.Code)
		}
	}
}

// TestSpecErrcodeOpen checks that no errcode property has an enum, because a
// closed enum makes response validation reject each code WeCom adds.
func TestSpecErrcodeOpen(t *testing.T) {
	t.Parallel()
	doc := loadKinSpec(t)

	// kin-openapi resolves every allOf reference to Envelope to one shared
	// schema, so each property is checked once.
	seen := map[*openapi3.Schema]bool{}
	for name, ref := range doc.Components.Schemas {
		for path, prop := range errcodeProperties(name, ref.Value) {
			if seen[prop] {
				continue
			}
			seen[prop] = true
			if !prop.Type.Is(openapi3.TypeInteger) {
				t.Errorf("%s: type %v, want integer", path, prop.Type)
			}
			if len(prop.Enum) != 0 {
				t.Errorf("%s: enum = %v, want none because errcode is an open set", path, prop.Enum)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("found no errcode property in components.schemas")
	}
}

// errcodeProperties returns the errcode properties of s and of the schemas it
// combines with allOf, keyed by a readable path.
func errcodeProperties(path string, s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	if s == nil {
		return out
	}
	if p, ok := s.Properties["errcode"]; ok && p.Value != nil {
		out[path+".errcode"] = p.Value
	}
	for i, sub := range s.AllOf {
		for k, v := range errcodeProperties(fmt.Sprintf("%s.allOf[%d]", path, i), sub.Value) {
			out[k] = v
		}
	}
	return out
}
