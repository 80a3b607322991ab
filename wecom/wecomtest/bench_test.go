package wecomtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// The benchmarks call the sandbox's ServeHTTP in process, without a
// listener or latency, so that they measure the sandbox's own cost per call
// and, under RunParallel, how well concurrent calls share its locks.

const (
	benchSandboxCustomers = 100_000
	benchSandboxLeaver    = "leaver"
	benchSandboxHeir      = "heir"
)

// newBenchSandbox returns a sandbox whose resigned member has
// benchSandboxCustomers customers, the customers' ids and an access token.
func newBenchSandbox(b *testing.B) (*wecomtest.Sandbox, []string, string) {
	b.Helper()
	now := time.Now()
	corp := wecomtest.NewCorp()
	corp.AddMember(wecomtest.Member{UserID: benchSandboxLeaver, ResignedAt: now.Add(-24 * time.Hour)})
	corp.AddMember(wecomtest.Member{UserID: benchSandboxHeir})
	ids := make([]string, benchSandboxCustomers)
	for i := range ids {
		ids[i] = fmt.Sprintf("wmBench%07d", i)
		corp.AddCustomer(benchSandboxLeaver, ids[i])
	}
	sb := wecomtest.NewHandler(corp)

	corpID, secret := corp.Credentials()
	w := serveBench(sb, http.MethodGet, "/cgi-bin/gettoken?corpid="+corpID+"&corpsecret="+secret, "")
	var tok struct {
		ErrCode     int    `json:"errcode"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.ErrCode != 0 {
		b.Fatalf("gettoken: %s", w.Body)
	}
	return sb, ids, tok.AccessToken
}

func serveBench(sb *wecomtest.Sandbox, method, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:50000"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	sb.ServeHTTP(w, r)
	return w
}

// checkEnvelope fails the benchmark unless w holds errcode 0. It looks for
// the top-level fields as the sandbox writes them, without decoding the
// body, so that the benchmark measures the sandbox: per-customer results
// have an errcode but no errmsg.
func checkEnvelope(b *testing.B, w *httptest.ResponseRecorder) {
	if !bytes.Contains(w.Body.Bytes(), []byte(`"errcode":0,"errmsg"`)) {
		b.Errorf("response %.200s", w.Body)
	}
}

// BenchmarkSandboxResignedTransfer sends resigned/transfer_customer calls
// of 100 ids from all Ps. Once every customer is in transfer, calls get
// per-customer errcode 40129: the same validation and locking, without
// new transfer records.
func BenchmarkSandboxResignedTransfer(b *testing.B) {
	sb, ids, token := newBenchSandbox(b)
	target := "/cgi-bin/externalcontact/resigned/transfer_customer?access_token=" + token
	bodies := make([]string, len(ids)/100)
	for i := range bodies {
		quoted, _ := json.Marshal(ids[i*100 : (i+1)*100])
		bodies[i] = fmt.Sprintf(`{"handover_userid":%q,"takeover_userid":%q,"external_userid":%s}`,
			benchSandboxLeaver, benchSandboxHeir, quoted)
	}
	var next atomic.Int64

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[int(next.Add(1))%len(bodies)]
			checkEnvelope(b, serveBench(sb, http.MethodPost, target, body))
		}
	})
}

// BenchmarkSandboxUnassignedPage reads get_unassigned_list pages of 1000
// rows from all Ps, each from the start of the list.
func BenchmarkSandboxUnassignedPage(b *testing.B) {
	sb, _, token := newBenchSandbox(b)
	target := "/cgi-bin/externalcontact/get_unassigned_list?access_token=" + token
	body := `{"page_size":1000}`

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			checkEnvelope(b, serveBench(sb, http.MethodPost, target, body))
		}
	})
}
