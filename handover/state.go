package handover

import (
	"sync"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

type itemKey struct {
	kind string
	id   string
}

// runState holds the latest row of every item of one run, so that the
// summary counts each item exactly once however often its outcome changed.
// Its methods that the workflow calls lock mu, because batches report from
// several goroutines.
type runState struct {
	mu      sync.Mutex
	runner  *Runner
	cfg     Config
	summary *Summary
	rows    map[itemKey]Row
	order   []itemKey
	// held marks items without a final outcome that were not emitted yet.
	held map[itemKey]bool
}

func newRunState(r *Runner, cfg Config) *runState {
	return &runState{
		runner:  r,
		cfg:     cfg,
		summary: &Summary{Type: TypeSummary, From: cfg.From, To: cfg.To, Resigned: cfg.Resigned, DryRun: cfg.DryRun},
		rows:    map[itemKey]Row{},
		held:    map[itemKey]bool{},
	}
}

// skipKnown splits the collected ids by the journal's rows. Items with a
// final outcome are counted from it and not sent again. Items an earlier
// run got no response for are returned as unknown, to be looked up first,
// even when the collection no longer lists them. The rest are returned as
// send.
func (s *runState) skipKnown(kind string, ids []string) (send, unknown []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runner.Journal == nil {
		return ids, nil
	}
	unknown = s.runner.Journal.Unknown(kind)
	for _, id := range unknown {
		s.set(Row{Type: kind, ID: id, Outcome: wecom.OutcomeUnknown.String()})
		s.held[itemKey{kind, id}] = true
	}

	for _, id := range ids {
		if s.held[itemKey{kind, id}] {
			continue
		}
		row, ok := s.runner.Journal.Final(kind, id)
		if !ok {
			send = append(send, id)
			continue
		}
		row = journalItemRow(row)
		s.set(row)
		s.emit(row)
		s.summary.FromJournal++
	}
	return send, unknown
}

func (s *runState) plan(kind string, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.publish(Row{Type: kind, ID: id, Outcome: OutcomePlanned})
	}
	s.recount()
}

// openItems are the items of a batch without a final outcome yet.
type openItems struct {
	unknown []string // the call got no response: look them up
	retry   []string // not applied: send them again
	// verify holds items a re-sent call reported as already in transfer.
	// The first send may have started them, or another transfer may hold
	// them, so only a lookup settles which.
	verify []wecom.ItemResult
}

func (o openItems) empty() bool {
	return len(o.unknown) == 0 && len(o.retry) == 0 && len(o.verify) == 0
}

// record stores the outcome of each item and emits the final ones. Items
// without a final outcome are written to the journal, held back from the
// output and returned, to be emitted once settled. Only items whose whole
// call failed with a transient code are sent again in this run: a per-item
// code such as the daily group chat cap would fail the same way.
func (s *runState) record(kind string, items []wecom.ItemResult) openItems {
	s.mu.Lock()
	defer s.mu.Unlock()
	var open openItems
	for _, item := range items {
		row := rowFromItem(kind, item)
		switch {
		case item.Outcome == wecom.OutcomeStarted && item.ErrCode != 0:
			open.verify = append(open.verify, item)
		case item.Outcome == wecom.OutcomeUnknown:
			open.unknown = append(open.unknown, item.ID)
		case item.Outcome == wecom.OutcomeNotSent && (item.ErrCode == 0 || wecom.IsTransient(item.ErrCode)),
			item.Outcome == wecom.OutcomeFailed && item.CallFailed && !isFinal(row):
			open.retry = append(open.retry, item.ID)
		default:
			s.publish(row)
			continue
		}
		s.set(row)
		s.journal(row)
		s.held[itemKey{kind, item.ID}] = true
	}
	return open
}

// resolve stores and emits the settled outcome of formerly unknown items.
func (s *runState) resolve(kind string, items []wecom.ItemResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, item := range items {
		row := rowFromItem(kind, item)
		if item.Outcome == wecom.OutcomeStarted && row.ErrMsg == "" {
			row.ErrMsg = "confirmed in the transfer results"
		}
		s.publish(row)
	}
}

// publish stores row, writes it to the journal and emits it.
func (s *runState) publish(row Row) {
	delete(s.held, itemKey{row.Type, row.ID})
	s.set(row)
	s.journal(row)
	s.emit(row)
}

func (s *runState) emit(row Row) {
	if s.runner.Emit != nil {
		s.runner.Emit(row)
	}
}

// adoptJournal adds the final rows of earlier runs that this run did not
// collect, such as customers that left the unassigned list once their
// transfer started, so the summary and the watch cover the whole handover.
func (s *runState) adoptJournal() {
	if s.runner.Journal == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, row := range s.runner.Journal.FinalRows() {
		key := itemKey{row.Type, row.ID}
		if _, ok := s.rows[key]; ok {
			continue
		}
		row = journalItemRow(row)
		s.set(row)
		s.emit(row)
		s.summary.FromJournal++
	}
}

func (s *runState) set(row Row) {
	key := itemKey{row.Type, row.ID}
	if _, ok := s.rows[key]; !ok {
		s.order = append(s.order, key)
	}
	s.rows[key] = row
}

func (s *runState) journal(row Row) {
	if s.runner.Journal == nil || row.Outcome == OutcomePlanned {
		return
	}
	row.FromJournal = false
	if err := s.runner.Journal.Record(row); err != nil {
		s.runner.logger().Error("journal write failed", "id", row.ID, "error", err)
	}
}

func (s *runState) startedCustomers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, key := range s.order {
		if key.kind == TypeCustomer && s.rows[key].Outcome == wecom.OutcomeStarted.String() {
			n++
		}
	}
	return n
}

// updateStatuses applies one read of the transfer results to the started
// customers, emits a status row for each change, and returns how many are
// still waiting. A started customer missing from the results counts as
// having no record, so a short list cannot make the watch run forever.
func (s *runState) updateStatuses(states map[string]wecom.Takeover) (waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range s.order {
		row := s.rows[key]
		if key.kind != TypeCustomer || row.Outcome != wecom.OutcomeStarted.String() {
			continue
		}
		takeover, ok := states[key.id]
		if !ok {
			takeover = wecom.Takeover{ExternalUserID: key.id, Status: wecom.StatusNoRecord}
		}
		updated := statusRow(takeover, row)
		if updated.Status != row.Status || updated.TakeoverTime != row.TakeoverTime {
			s.publish(updated)
		}
		if takeover.Status == wecom.StatusWaiting {
			waiting++
		}
	}
	return waiting
}

// finish emits the items whose outcome stayed unknown and recounts the
// summary from the latest row of every item.
func (s *runState) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range s.order {
		if s.held[key] {
			delete(s.held, key)
			s.emit(s.rows[key]) // already in the journal
		}
	}
	s.recount()
}

func (s *runState) recount() {
	sum := s.summary
	sum.Customers, sum.GroupChats, sum.Statuses = Counts{}, Counts{}, nil
	for _, key := range s.order {
		row := s.rows[key]
		if key.kind == TypeGroupChat {
			sum.GroupChats.add(row)
			continue
		}
		sum.Customers.add(row)
		if row.Status != "" {
			if sum.Statuses == nil {
				sum.Statuses = map[string]int{}
			}
			sum.Statuses[row.Status]++
		}
	}
}
