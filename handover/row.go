package handover

import (
	"strconv"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// Row types.
const (
	TypeCustomer  = "customer"
	TypeGroupChat = "group_chat"
	TypeSummary   = "summary"
)

// OutcomePlanned marks an item of a dry run: it would be sent.
const OutcomePlanned = "planned"

// Row is the outcome of one customer or group chat, as the CLI prints it.
// Status rows from the transfer results add Status and TakeoverTime.
type Row struct {
	Type    string `json:"type"` // TypeCustomer or TypeGroupChat
	ID      string `json:"id"`
	Outcome string `json:"outcome"` // started, failed, unknown, not_sent or planned
	ErrCode int    `json:"errcode"` // 0 when the transfer started
	ErrMsg  string `json:"errmsg"`
	// Status is the takeover state name, such as "waiting" or "refused".
	Status string `json:"status,omitempty"`
	// TakeoverTime is the Unix time of the takeover, or for a waiting
	// customer the time it will happen. WeCom sends none for refusals.
	TakeoverTime int64 `json:"takeover_time,omitempty"`
	// FromJournal marks a row an earlier run recorded, so this run did not
	// send the item again.
	FromJournal bool `json:"from_journal,omitempty"`
}

func rowFromItem(kind string, item wecom.ItemResult) Row {
	return Row{Type: kind, ID: item.ID, Outcome: item.Outcome.String(), ErrCode: item.ErrCode, ErrMsg: item.ErrMsg}
}

// statusRow returns base with the takeover state t. The state is read by
// this run, so the row is not marked as coming from the journal.
func statusRow(t wecom.Takeover, base Row) Row {
	base.Status = wecom.StatusName(t.Status)
	base.TakeoverTime = unixSeconds(t.TakeoverTime)
	base.FromJournal = false
	return base
}

// journalItemRow returns the item row of an outcome read from the journal:
// without a takeover state, which this run reads again, and marked as coming
// from the journal.
func journalItemRow(row Row) Row {
	row.Status = ""
	row.TakeoverTime = 0
	row.FromJournal = true
	return row
}

func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// Summary counts the outcomes of a handover. It is the last row the CLI
// prints.
type Summary struct {
	Type     string `json:"type"` // TypeSummary
	From     string `json:"from"`
	To       string `json:"to"`
	Resigned bool   `json:"resigned"`
	DryRun   bool   `json:"dry_run,omitempty"`

	Customers  Counts `json:"customers"`
	GroupChats Counts `json:"group_chats"`
	// Statuses counts customers by their last known takeover state.
	Statuses map[string]int `json:"statuses,omitempty"`
	// FromJournal counts items whose outcome a journal already held, so
	// this run did not send them again.
	FromJournal int `json:"from_journal,omitempty"`
	Duplicates  int `json:"duplicates,omitempty"`
	// Error is the failure that stopped the run early, if any.
	Error string `json:"error,omitempty"`
}

// Counts tallies items by outcome. Failed maps each errcode to a count.
type Counts struct {
	Total   int            `json:"total"`
	Started int            `json:"started"`
	Planned int            `json:"planned,omitempty"`
	Failed  int            `json:"failed"`
	Unknown int            `json:"unknown"`
	NotSent int            `json:"not_sent"`
	ByCode  map[string]int `json:"failed_by_errcode,omitempty"`
}

func (c *Counts) add(r Row) {
	c.Total++
	switch r.Outcome {
	case "started":
		c.Started++
	case OutcomePlanned:
		c.Planned++
	case "failed":
		c.Failed++
		if c.ByCode == nil {
			c.ByCode = map[string]int{}
		}
		c.ByCode[strconv.Itoa(r.ErrCode)]++
	case "unknown":
		c.Unknown++
	default:
		c.NotSent++
	}
}

// Failures returns the number of items that did not start or were not
// planned, plus customers that refused or hit the takeover limit.
func (s *Summary) Failures() int {
	n := s.Customers.Failed + s.Customers.Unknown + s.Customers.NotSent
	n += s.GroupChats.Failed + s.GroupChats.Unknown + s.GroupChats.NotSent
	n += s.Statuses[wecom.StatusName(wecom.StatusRefused)]
	n += s.Statuses[wecom.StatusName(wecom.StatusLimitReached)]
	return n
}
