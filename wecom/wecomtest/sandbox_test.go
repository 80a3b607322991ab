package wecomtest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/wecom-transfer/wecom-transfer/openapi"
)

func TestOperationIDsMatchSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			got = append(got, op.OperationID)
		}
	}
	want := []string{
		OpGetToken, OpListExternalContacts, OpListGroupChats, OpTransferCustomer, OpTransferResult,
		OpTransferOnJobGroupChats, OpGetUnassignedList, OpTransferResignedCustomer,
		OpTransferResignedResult, OpTransferResignedGroupChats,
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operation ids (-constants +spec):\n%s", diff)
	}
}

// Many clients racing to transfer the same customers must start each
// transfer once.
func TestConcurrentTransfersStartOnce(t *testing.T) {
	t.Parallel()
	corp := newTestCorp()
	corp.AddMember(Member{UserID: "racer"})
	ids := testIDs("C", 300)
	for _, ext := range ids {
		corp.AddCustomer("racer", ext)
	}
	srv, _ := startServer(t, corp)

	const clients = 8
	var wg sync.WaitGroup
	results := make([]map[string]int, clients)
	for i := range clients {
		c := &testClient{t: t, srv: srv, hc: newSpecCheckClient(t)}
		c.getToken()
		wg.Go(func() {
			results[i] = c.transferAll(pathTransferCustomer, "racer", employedB, ids)
		})
	}
	wg.Wait()

	accepted := map[string]int{}
	for _, codes := range results {
		for ext, code := range codes {
			if code == 0 {
				accepted[ext]++
			}
		}
	}
	for _, ext := range ids {
		if accepted[ext] != 1 {
			t.Errorf("customer %s accepted %d times, want 1", ext, accepted[ext])
		}
	}
	for ext, n := range srv.Stats().TransferStarts {
		if n != 1 {
			t.Errorf("TransferStarts[%s] = %d, want 1", ext, n)
		}
	}
	if got := srv.Stats().Calls[OpTransferCustomer]; got != clients*3 {
		t.Errorf("transfer calls = %d, want %d", got, clients*3)
	}
}

func TestManualClock(t *testing.T) {
	t.Parallel()
	clock := NewManualClock(testEpoch)
	if got := clock.Now(); !got.Equal(testEpoch) {
		t.Errorf("Now = %v, want %v", got, testEpoch)
	}
	clock.Advance(90 * time.Minute)
	if got := clock.Now(); !got.Equal(testEpoch.Add(90 * time.Minute)) {
		t.Errorf("Now after Advance = %v, want %v", got, testEpoch.Add(90*time.Minute))
	}
}

func TestScaledClock(t *testing.T) {
	t.Parallel()
	clock := NewScaledClock(testEpoch, 20000)
	time.Sleep(5 * time.Millisecond)
	elapsed := clock.Now().Sub(testEpoch)
	if elapsed < 100*time.Second {
		t.Errorf("scaled clock moved %v in 5ms, want at least 100s", elapsed)
	}
	if later := clock.Now(); later.Before(testEpoch.Add(elapsed)) {
		t.Errorf("scaled clock went back from %v to %v", testEpoch.Add(elapsed), later)
	}
}

func TestSandboxAdvanceOnRealClock(t *testing.T) {
	t.Parallel()
	sb := NewHandler(NewCorp())
	before := time.Now()
	sb.Advance(48 * time.Hour)
	if got := sb.Clock().Now(); got.Sub(before) < 48*time.Hour {
		t.Errorf("sandbox clock %v, want at least 48h after %v", got, before)
	}
}

func TestCorpSetupPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(c *Corp)
	}{
		{"duplicate member", func(c *Corp) { c.AddMember(Member{UserID: employedA}) }},
		{"empty member", func(c *Corp) { c.AddMember(Member{}) }},
		{"customer of unknown member", func(c *Corp) { c.AddCustomer("nobody", "wmX") }},
		{"duplicate customer", func(c *Corp) { c.AddCustomer(employedA, "wmTestA0000") }},
		{"chat of unknown owner", func(c *Corp) { c.AddGroupChat(GroupChat{ChatID: "wrX", Owner: "nobody"}) }},
		{"refusal of unknown customer", func(c *Corp) { c.SetRefusesTransfer("wmNoSuch", true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			tt.call(newTestCorp())
		})
	}
}

func TestCorpResign(t *testing.T) {
	t.Parallel()
	corp := newTestCorp()
	corp.Resign(employedA, testEpoch.Add(-time.Minute))
	_, c := startServer(t, corp)
	c.getToken()
	if got := len(unassignedIDs(c)); got != 20 {
		t.Errorf("unassigned list has %d customers after a resignation, want 20", got)
	}
}
