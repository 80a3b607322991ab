package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/wecom-transfer/wecom-transfer/generated"
	"github.com/wecom-transfer/wecom-transfer/internal/spectest"
	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// contractTypes is the generated request and response type of one
// operation. request is nil for operations without a body.
type contractTypes struct {
	request  func() any
	response func() any
}

// contractOperations maps every operationId of the spec to its generated
// types.
var contractOperations = map[string]contractTypes{
	"getToken":             {nil, func() any { return new(generated.GetTokenResponse) }},
	"listExternalContacts": {nil, func() any { return new(generated.ListExternalContactsResponse) }},
	"listGroupChats": {
		func() any { return new(generated.ListGroupChatsRequest) },
		func() any { return new(generated.ListGroupChatsResponse) },
	},
	"transferCustomer": {
		func() any { return new(generated.TransferCustomerRequest) },
		func() any { return new(generated.TransferCustomerResponse) },
	},
	"transferResult": {
		func() any { return new(generated.TransferResultRequest) },
		func() any { return new(generated.TransferResultResponse) },
	},
	"transferOnJobGroupChats": {
		func() any { return new(generated.GroupChatTransferRequest) },
		func() any { return new(generated.GroupChatTransferResponse) },
	},
	"getUnassignedList": {
		func() any { return new(generated.GetUnassignedListRequest) },
		func() any { return new(generated.GetUnassignedListResponse) },
	},
	"transferResignedCustomer": {
		func() any { return new(generated.ResignedTransferCustomerRequest) },
		func() any { return new(generated.TransferCustomerResponse) },
	},
	"transferResignedResult": {
		func() any { return new(generated.TransferResultRequest) },
		func() any { return new(generated.TransferResultResponse) },
	},
	"transferResignedGroupChats": {
		func() any { return new(generated.GroupChatTransferRequest) },
		func() any { return new(generated.GroupChatTransferResponse) },
	},
}

// contractOperation is one operation of the spec with its route.
type contractOperation struct {
	id     string
	method string
	path   string
	op     *openapi3.Operation
}

func contractSpecOperations(t *testing.T) []contractOperation {
	t.Helper()
	doc, err := spectest.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ops []contractOperation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, contractOperation{id: op.OperationID, method: method, path: path, op: op})
		}
	}
	slices.SortFunc(ops, func(a, b contractOperation) int { return strings.Compare(a.id, b.id) })
	return ops
}

func TestContractCoversEveryOperation(t *testing.T) {
	t.Parallel()
	var inSpec []string
	for _, op := range contractSpecOperations(t) {
		inSpec = append(inSpec, op.id)
	}
	mapped := slices.Sorted(maps.Keys(contractOperations))
	if diff := cmp.Diff(mapped, inSpec); diff != "" {
		t.Errorf("operations in the spec differ from the test's table (-table +spec):\n%s", diff)
	}
}

// jsonOf converts a YAML example to JSON.
func jsonOf(t *testing.T, example any) []byte {
	t.Helper()
	b, err := json.Marshal(example)
	if err != nil {
		t.Fatalf("marshal example: %v", err)
	}
	return b
}

// roundTrip decodes body into v, rejecting fields v does not have, and
// encodes v again.
func roundTrip(t *testing.T, body []byte, v any) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s into %T: %v", body, v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return out
}

// withoutZeroValues returns v with every object field removed whose value
// is "", 0, false or null. The generated types leave optional fields out
// when they are zero, and WeCom reads an absent field as its default.
func withoutZeroValues(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, field := range v {
			switch field {
			case "", float64(0), false, nil:
				continue
			}
			out[k] = withoutZeroValues(field)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = withoutZeroValues(item)
		}
		return out
	}
	return v
}

// checkEquivalent fails the test unless got and want are the same JSON,
// leaving aside fields whose value is zero. The generated types send a
// required zero field and leave out an optional one, so the spec check of
// the re-encoded body covers what this comparison leaves aside.
func checkEquivalent(t *testing.T, want, got []byte) {
	t.Helper()
	var wantValue, gotValue any
	if err := json.Unmarshal(want, &wantValue); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &gotValue); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withoutZeroValues(wantValue), withoutZeroValues(gotValue)); diff != "" {
		t.Errorf("re-encoded body differs from the example (-example +re-encoded):\n%s", diff)
	}
}

// newContractRequest returns a request for op with body and query, as the
// client would send it to the WeCom host.
func newContractRequest(t *testing.T, op contractOperation, query url.Values, body []byte) *http.Request {
	t.Helper()
	u := "https://qyapi.weixin.qq.com" + op.path + "?" + query.Encode()
	var req *http.Request
	var err error
	if body == nil {
		req, err = http.NewRequestWithContext(t.Context(), op.method, u, nil)
	} else {
		req, err = http.NewRequestWithContext(t.Context(), op.method, u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// exampleQuery returns the query of op built from its parameter examples,
// with an access token where the operation needs one.
func exampleQuery(op contractOperation) url.Values {
	q := url.Values{}
	for _, p := range op.op.Parameters {
		if p.Value.In == openapi3.ParameterInQuery && p.Value.Example != nil {
			q.Set(p.Value.Name, fmt.Sprint(p.Value.Example))
		}
	}
	if op.op.Security == nil || len(*op.op.Security) > 0 {
		q.Set("access_token", "accesstoken000001")
	}
	return q
}

func TestContractRequestExamples(t *testing.T) {
	t.Parallel()
	for _, op := range contractSpecOperations(t) {
		t.Run(op.id, func(t *testing.T) {
			t.Parallel()
			types := contractOperations[op.id]
			query := exampleQuery(op)
			if op.op.RequestBody == nil {
				if types.request != nil {
					t.Fatalf("the spec has no request body, the table has %T", types.request())
				}
				if _, err := spectest.CheckRequest(newContractRequest(t, op, query, nil)); err != nil {
					t.Errorf("request with the parameter examples breaks the spec: %v", err)
				}
				return
			}

			media := op.op.RequestBody.Value.Content.Get("application/json")
			if media == nil || media.Example == nil {
				t.Fatal("no application/json request example")
			}
			example := jsonOf(t, media.Example)
			reencoded := roundTrip(t, example, types.request())

			checkEquivalent(t, example, reencoded)
			if _, err := spectest.CheckRequest(newContractRequest(t, op, query, example)); err != nil {
				t.Errorf("the example breaks the spec: %v", err)
			}
			if _, err := spectest.CheckRequest(newContractRequest(t, op, query, reencoded)); err != nil {
				t.Errorf("the re-encoded example %s breaks the spec: %v", reencoded, err)
			}
		})
	}
}

func TestContractResponseExamples(t *testing.T) {
	t.Parallel()
	for _, op := range contractSpecOperations(t) {
		t.Run(op.id, func(t *testing.T) {
			t.Parallel()
			ok := op.op.Responses.Status(http.StatusOK)
			if ok == nil {
				t.Fatal("no 200 response")
			}
			media := ok.Value.Content.Get("application/json")
			if media == nil || media.Example == nil {
				t.Fatal("no application/json response example")
			}
			example := jsonOf(t, media.Example)
			reencoded := roundTrip(t, example, contractOperations[op.id].response())

			checkEquivalent(t, example, reencoded)
			var body []byte
			if op.op.RequestBody != nil {
				body = jsonOf(t, op.op.RequestBody.Value.Content.Get("application/json").Example)
			}
			input, err := spectest.CheckRequest(newContractRequest(t, op, exampleQuery(op), body))
			if err != nil {
				t.Fatalf("example request breaks the spec: %v", err)
			}
			for name, b := range map[string][]byte{"example": example, "re-encoded example": reencoded} {
				if err := spectest.CheckResponse(input, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, b); err != nil {
					t.Errorf("the %s breaks the spec: %v", name, err)
				}
			}
		})
	}
}

// TestContractClientRequests drives the client with a sample of inputs,
// from the smallest to the largest each call takes, and lets spectest
// check every request it sends.
func TestContractClientRequests(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		body := `{"errcode":0,"errmsg":"ok"}`
		if req.URL.Path == "/cgi-bin/gettoken" {
			body = `{"errcode":0,"errmsg":"ok","access_token":"TEST-ONLY-TOKEN-contract","expires_in":7200}`
		}
		return httpmock.NewStringResponse(http.StatusOK, body), nil
	})
	spec := spectest.Transport(t, mt)
	client, err := wecom.New("wwTESTCORP0000001", "TEST-ONLY-SECRET-contract",
		wecom.WithHTTPClient(&http.Client{Transport: spec}), wecom.WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%04d", prefix, i)
		}
		return out
	}
	messages := []string{
		"",
		strings.Repeat("您", 200),
		"Hello \"friend\" 👋\nline two\t& <b>tags</b> \\ back",
	}

	calls := []func() error{}
	for _, msg := range messages {
		for _, n := range []int{1, 100, 101} {
			calls = append(calls, func() error {
				_, err := client.TransferCustomers(ctx, wecom.TransferRequest{
					HandoverUserID: "zhangsan", TakeoverUserID: "李四", ExternalUserIDs: ids("wm客户-", n), SuccessMessage: msg,
				})
				return err
			})
		}
	}
	for _, n := range []int{1, 100, 150} {
		calls = append(calls,
			func() error {
				_, err := client.TransferResignedCustomers(ctx, wecom.ResignedTransferRequest{
					HandoverUserID: "zhangsan", TakeoverUserID: "lisi", ExternalUserIDs: ids("wo", n),
				})
				return err
			},
			func() error {
				_, err := client.TransferGroupChats(ctx, wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: ids("wr", n)})
				return err
			},
			func() error {
				_, err := client.TransferResignedGroupChats(ctx, wecom.GroupChatTransferRequest{NewOwner: "lisi", ChatIDs: ids("wr", n)})
				return err
			})
	}
	for _, cursor := range []string{"", "CURSOR", "a+b/c==&x=1 空"} {
		calls = append(calls,
			func() error { _, err := client.TransferResultPage(ctx, "zhangsan", "lisi", cursor); return err },
			func() error { _, err := client.ResignedTransferResultPage(ctx, "zhangsan", "lisi", cursor); return err })
		for _, size := range []int{0, 1, 1000} {
			calls = append(calls, func() error { _, err := client.UnassignedPage(ctx, cursor, size); return err })
		}
	}
	for status := wecom.GroupChatNormal; status <= wecom.GroupChatInherited; status++ {
		for _, owners := range [][]string{nil, {"zhangsan"}, ids("owner", 100)} {
			for _, limit := range []int{1, 1000} {
				calls = append(calls, func() error {
					_, err := client.GroupChatPage(ctx, wecom.GroupChatFilter{Owners: owners, Status: status}, "CURSOR", limit)
					return err
				})
			}
		}
	}
	for _, user := range []string{"zhangsan", "张三", "a&b=c d"} {
		calls = append(calls, func() error { _, err := client.ListCustomers(ctx, user); return err })
	}

	for i, call := range calls {
		if err := call(); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if n := spec.Requests(); n != mt.GetTotalCallCount() || n < len(calls) {
		t.Errorf("spectest checked %d requests, the mock got %d, for %d calls", n, mt.GetTotalCallCount(), len(calls))
	}
}
