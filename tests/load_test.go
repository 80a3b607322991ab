package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/handover"
	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

const (
	loadCustomers  = 10_000
	loadGroupChats = 200
	loadLeaver     = "leaver"
	loadHeir       = "heir"
	// revokeEvery is the number of calls between two token revocations,
	// more often than WeCom revokes, so that one run has several.
	revokeEvery = 25
)

// loadCorp builds a corp with one resigned member who has loadCustomers
// customers and loadGroupChats customer group chats.
func loadCorp(now time.Time) (*wecomtest.Corp, []string, []string) {
	return loadCorpSized(now, loadCustomers, loadGroupChats)
}

func loadCorpSized(now time.Time, customerCount, chatCount int) (*wecomtest.Corp, []string, []string) {
	corp := wecomtest.NewCorp()
	corp.AddMember(wecomtest.Member{UserID: loadLeaver, ResignedAt: now.Add(-10 * 24 * time.Hour)})
	corp.AddMember(wecomtest.Member{UserID: loadHeir})

	customers := make([]string, customerCount)
	for i := range customers {
		customers[i] = fmt.Sprintf("wmLoad%06d", i)
		corp.AddCustomer(loadLeaver, customers[i])
	}
	chats := make([]string, chatCount)
	for i := range chats {
		chats[i] = fmt.Sprintf("wrLoad%04d", i)
		corp.AddGroupChat(wecomtest.GroupChat{ChatID: chats[i], Owner: loadLeaver})
	}
	return corp, customers, chats
}

// faultPlan injects WeCom's transient failures: errcode -1 on 3% of calls,
// two bursts of 45009, dropped connections before and after handling on 2%
// each, 502 gateway pages on 1%, text/plain bodies, and up to 2 ms of
// latency. Each call's fault depends only on its sequence number.
func faultPlan(op string, seq int64) wecomtest.Fault {
	rng := rand.New(rand.NewPCG(uint64(seq), 42))
	f := wecomtest.Fault{Latency: time.Duration(rng.IntN(2000)) * time.Microsecond}
	if op == wecomtest.OpGetToken {
		return f
	}
	switch p := rng.Float64(); {
	case seq >= 40 && seq < 55, seq >= 150 && seq < 160:
		f.ErrCode = wecom.CodeRateLimited
	case p < 0.03:
		f.ErrCode = wecom.CodeSystemBusy
	case p < 0.05:
		f.DropBefore = true
	case p < 0.07:
		f.DropAfter = true
	case p < 0.08:
		f.BadGateway = true
	case p < 0.15:
		f.TextPlain = true
	}
	return f
}

func TestHandoverUnderFaultsAccountsForEveryCustomer(t *testing.T) {
	t.Parallel()
	start := time.Now()
	corp, customers, chats := loadCorp(start)
	clock := wecomtest.NewManualClock(start)
	sandbox := wecomtest.NewServer(corp,
		wecomtest.WithClock(clock),
		wecomtest.WithFaults(faultPlan),
		wecomtest.WithRevokeEvery(revokeEvery))
	defer sandbox.Close()

	client, err := wecom.New(sandbox.CorpID, sandbox.Secret,
		wecom.WithBaseURL(sandbox.URL),
		wecom.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}),
		wecom.WithWorkers(4),
		wecom.WithRetryPolicy(wecom.RetryPolicy{
			MaxRetries:        5,
			BaseDelay:         time.Millisecond,
			MaxDelay:          10 * time.Millisecond,
			RateLimitWait:     20 * time.Millisecond,
			MaxRateLimitWaits: 20,
		}))
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	emitted := map[string][]handover.Row{}
	confirmed := 0
	clockJumps := 0 // each jump of 6 hours expires the current token
	runner := &handover.Runner{
		Client: client,
		Emit: func(r handover.Row) {
			mu.Lock()
			defer mu.Unlock()
			if r.Status != "" {
				return // takeover rows from the watch
			}
			emitted[r.Type+"/"+r.ID] = append(emitted[r.Type+"/"+r.ID], r)
			if r.ErrMsg != "" && r.Outcome == "started" {
				confirmed++
			}
		},
		// Each poll of the watch moves the sandbox clock 6 hours on.
		Sleep: func(context.Context, time.Duration) error {
			clock.Advance(6 * time.Hour)
			clockJumps++
			return nil
		},
	}
	cfg := handover.Config{From: loadLeaver, To: loadHeir, Resigned: true, Groups: true, Watch: true}
	summary, err := runner.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("handover failed: %v", err)
	}

	t.Run("summary", func(t *testing.T) {
		if got := summary.Customers.Total; got != loadCustomers {
			t.Errorf("customers total = %d, want %d", got, loadCustomers)
		}
		if got := summary.Customers.Started; got != loadCustomers {
			t.Errorf("customers started = %d, want %d (failed %v, unknown %d, not sent %d)",
				got, loadCustomers, summary.Customers.ByCode, summary.Customers.Unknown, summary.Customers.NotSent)
		}
		if got := summary.GroupChats.Started; got != loadGroupChats {
			t.Errorf("group chats started = %d, want %d (failed %v, unknown %d)",
				got, loadGroupChats, summary.GroupChats.ByCode, summary.GroupChats.Unknown)
		}
		if got := summary.Statuses["complete"]; got != loadCustomers {
			t.Errorf("takeovers complete = %d, want %d (statuses %v)", got, loadCustomers, summary.Statuses)
		}
		if confirmed == 0 {
			t.Error("no item needed a lookup after an unanswered call; the fault plan did not exercise it")
		}
		t.Logf("%d items confirmed through a lookup after an unanswered call", confirmed)
	})

	t.Run("each item emitted once", func(t *testing.T) {
		for _, id := range customers {
			if rows := emitted[handover.TypeCustomer+"/"+id]; len(rows) != 1 {
				t.Errorf("customer %s emitted %d times, want 1: %+v", id, len(rows), rows)
			}
		}
		for _, id := range chats {
			if rows := emitted[handover.TypeGroupChat+"/"+id]; len(rows) != 1 {
				t.Errorf("group chat %s emitted %d times, want 1", id, len(rows))
			}
		}
	})

	stats := sandbox.Stats()
	t.Run("no customer transferred twice", func(t *testing.T) {
		for _, id := range customers {
			if n := stats.TransferStarts[id]; n != 1 {
				t.Errorf("customer %s transfer starts = %d, want 1", id, n)
			}
		}
	})

	t.Run("gettoken only after revocations", func(t *testing.T) {
		total := 0
		for _, n := range stats.Calls {
			total += n
		}
		revocations := total / revokeEvery
		if revocations < 5 {
			t.Errorf("only %d revocations in %d calls; the test needs more calls", revocations, total)
		}
		// One token at the start, then at most one per revocation or expiry.
		if limit := 1 + revocations + clockJumps; stats.TokensIssued > limit {
			t.Errorf("gettoken issued %d tokens for %d revocations and %d expiries, want at most %d",
				stats.TokensIssued, revocations, clockJumps, limit)
		}
		t.Logf("%d calls, %d with a fault or latency, %d revocations, %d expiries, %d tokens issued",
			total, stats.Faults, revocations, clockJumps, stats.TokensIssued)
	})
}
