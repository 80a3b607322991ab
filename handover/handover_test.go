package handover_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/handover"
	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

func newSandboxClient(t *testing.T, opts ...wecomtest.Option) (*wecom.Client, *wecomtest.Server) {
	t.Helper()
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp(), opts...)
	t.Cleanup(sandbox.Close)
	client, err := wecom.New(sandbox.CorpID, sandbox.Secret, wecom.WithBaseURL(sandbox.URL))
	if err != nil {
		t.Fatal(err)
	}
	return client, sandbox
}

func TestRunExplicitCustomersWithDuplicates(t *testing.T) {
	t.Parallel()
	client, _ := newSandboxClient(t)
	ids := wecomtest.DemoFixtures()

	var rows []handover.Row
	runner := &handover.Runner{Client: client, Emit: func(r handover.Row) { rows = append(rows, r) }}
	summary, err := runner.Run(t.Context(), handover.Config{
		From: wecomtest.DemoActiveMember,
		To:   wecomtest.DemoUnlimitedTakeoverMember,
		Customers: []string{
			ids.ActiveCustomers[0],
			ids.ActiveCustomers[0],
			ids.ResignedCustomers[0], // followed by another member
			"wmNoSuchCustomer",
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	if got := summary.Customers.Total; got != 3 {
		t.Errorf("total = %d, want 3 distinct customers", got)
	}
	if got := summary.Duplicates; got != 1 {
		t.Errorf("duplicates = %d, want 1", got)
	}
	if got := summary.Customers.Started; got != 1 {
		t.Errorf("started = %d, want 1", got)
	}
	if got := summary.Customers.ByCode["40131"]; got != 1 {
		t.Errorf("failed with 40131 = %d, want 1 (by code %v)", got, summary.Customers.ByCode)
	}
	if got := summary.Customers.ByCode["40096"]; got != 1 {
		t.Errorf("failed with 40096 = %d, want 1 (by code %v)", got, summary.Customers.ByCode)
	}
	if len(rows) != 3 {
		t.Errorf("emitted %d rows, want 3", len(rows))
	}
	if summary.Failures() != 2 {
		t.Errorf("Failures() = %d, want 2", summary.Failures())
	}
}

func TestRunOnJobWatchFollowsRefusals(t *testing.T) {
	t.Parallel()
	start := time.Now()
	clock := wecomtest.NewManualClock(start)
	client, _ := newSandboxClient(t, wecomtest.WithClock(clock), wecomtest.WithTokenTTL(365*24*time.Hour))
	ids := wecomtest.DemoFixtures()

	polls := 0
	runner := &handover.Runner{
		Client: client,
		Sleep: func(context.Context, time.Duration) error {
			polls++
			clock.Advance(12 * time.Hour)
			return nil
		},
	}
	summary, err := runner.Run(t.Context(), handover.Config{
		From:      wecomtest.DemoActiveMember,
		To:        wecomtest.DemoUnlimitedTakeoverMember,
		Customers: append([]string{ids.ActiveCustomers[0]}, ids.RefusingActive...),
		Watch:     true,
	})
	if err != nil {
		t.Fatal(err)
	}

	if got, want := summary.Statuses["refused"], len(ids.RefusingActive); got != want {
		t.Errorf("refused = %d, want %d (statuses %v)", got, want, summary.Statuses)
	}
	if got := summary.Statuses["complete"]; got != 1 {
		t.Errorf("complete = %d, want 1", got)
	}
	if polls != 2 {
		t.Errorf("slept %d times, want 2 (24 hours in 12-hour steps)", polls)
	}
	if got, want := summary.Failures(), len(ids.RefusingActive); got != want {
		t.Errorf("Failures() = %d, want %d", got, want)
	}
}

func TestRunResentInTransferVerified(t *testing.T) {
	t.Parallel()
	// The first transfer call gets errcode -1, so the client sends it
	// again, and the re-send reports the pending customers as already in
	// transfer. They are in transfer to another member, not from this run.
	busyOnce := func(op string, seq int64) wecomtest.Fault {
		if op == wecomtest.OpTransferCustomer && seq <= 3 {
			return wecomtest.Fault{ErrCode: wecom.CodeSystemBusy}
		}
		return wecomtest.Fault{}
	}
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp(), wecomtest.WithFaults(busyOnce))
	t.Cleanup(sandbox.Close)
	client, err := wecom.New(sandbox.CorpID, sandbox.Secret, wecom.WithBaseURL(sandbox.URL),
		wecom.WithRetryPolicy(wecom.RetryPolicy{MaxRetries: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ids := wecomtest.DemoFixtures()

	runner := &handover.Runner{Client: client}
	summary, err := runner.Run(t.Context(), handover.Config{
		From:      wecomtest.DemoActiveMember,
		To:        wecomtest.DemoUnlimitedTakeoverMember,
		Customers: append([]string{ids.ActiveCustomers[0]}, ids.Pending...),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary.Customers.ByCode["40129"], len(ids.Pending); got != want {
		t.Errorf("failed with 40129 = %d, want %d (summary %+v)", got, want, summary.Customers)
	}
	if got := summary.Customers.Started; got != 1 {
		t.Errorf("started = %d, want 1", got)
	}
}

func TestRunUnknownTakeoverStopsEarly(t *testing.T) {
	t.Parallel()
	client, sandbox := newSandboxClient(t)

	summary, err := (&handover.Runner{Client: client}).Run(t.Context(), handover.Config{
		From: wecomtest.DemoResignedMember, To: "nobody", Resigned: true,
	})
	if err == nil {
		t.Fatal("Run succeeded with an unknown takeover member")
	}
	// The default 4 workers send at most 4 calls before the first error
	// stops the batch, and the skipped customers are not sent again.
	if got := sandbox.Stats().Calls[wecomtest.OpTransferResignedCustomer]; got > 4 {
		t.Errorf("transfer calls = %d, want at most 4", got)
	}
	if got, want := summary.Customers.Total, len(wecomtest.DemoFixtures().ResignedCustomers); got != want {
		t.Errorf("customers total = %d, want %d", got, want)
	}
	if summary.Customers.NotSent == 0 {
		t.Error("no customer counted as not sent")
	}
}

func TestJournalResumeRowsAreItemRows(t *testing.T) {
	t.Parallel()
	clock := wecomtest.NewManualClock(time.Now())
	client, _ := newSandboxClient(t, wecomtest.WithClock(clock), wecomtest.WithTokenTTL(365*24*time.Hour))
	ids := wecomtest.DemoFixtures()
	path := t.TempDir() + "/run.journal"
	cfg := handover.Config{From: wecomtest.DemoSecondResignedMember, To: wecomtest.DemoUnlimitedTakeoverMember, Resigned: true}

	// The first run watches, so the journal ends with takeover rows.
	journal, err := handover.OpenJournal(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := &handover.Runner{Client: client, Journal: journal, Sleep: func(context.Context, time.Duration) error {
		clock.Advance(25 * time.Hour)
		return nil
	}}
	watched := cfg
	watched.Watch = true
	if _, err := first.Run(t.Context(), watched); err != nil {
		t.Fatal(err)
	}
	journal.Close()

	journal, err = handover.OpenJournal(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	var rows []handover.Row
	second := &handover.Runner{Client: client, Journal: journal, Emit: func(r handover.Row) { rows = append(rows, r) }}
	if _, err := second.Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}

	if got, want := len(rows), len(ids.SecondResignedCustomers); got != want {
		t.Fatalf("second run emitted %d rows, want one item row per customer (%d)", got, want)
	}
	for _, r := range rows {
		if !r.FromJournal || r.Status != "" {
			t.Errorf("row %+v, want an item row marked from_journal", r)
			break
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "from_journal") {
		t.Error("the journal file records from_journal, which only output rows carry")
	}
}
