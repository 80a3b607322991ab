// Package handover runs a whole customer handover on WeCom: it collects a
// member's customers and group chats, transfers them in batches, resolves
// every outcome it could not see, follows the 24-hour takeover and counts
// the results. The wecom-transfer CLI is a thin shell around it.
package handover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// Config describes one handover from one member to another.
type Config struct {
	From     string // handover member's userid
	To       string // takeover member's userid
	Resigned bool   // From has resigned: use the resigned-member calls
	// Customers limits the handover to these external_userids. When it is
	// empty, every customer of From is collected: on-job from
	// externalcontact/list, resigned from From's rows of the unassigned list.
	Customers []string
	Groups    bool   // also transfer From's customer group chats
	Message   string // on-job only: sent to each customer after the transfer
	DryRun    bool   // collect and print, but transfer nothing
	Watch     bool   // poll the transfer results until nothing is waiting
	// PollInterval is the wait between two reads of the transfer results
	// while watching. The default is 5 minutes.
	PollInterval time.Duration
}

// Runner runs handovers with one client.
type Runner struct {
	Client *wecom.Client
	Logger *slog.Logger // progress; nil logs nothing
	// Emit receives every row as soon as it is known. It may be nil.
	Emit func(Row)
	// Journal, when set, records each outcome as it happens, and items it
	// already holds a final outcome for are not sent again.
	Journal *Journal
	// Sleep waits between polls; nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Validate checks cfg before any call, naming the bad value.
func (cfg Config) Validate() error {
	switch {
	case strings.TrimSpace(cfg.From) == "":
		return errors.New("missing --from: give the userid of the member who hands over")
	case strings.TrimSpace(cfg.To) == "":
		return errors.New("missing --to: give the userid of the member who takes over")
	case cfg.From == cfg.To:
		return fmt.Errorf("--from and --to are both %q: the takeover member must be someone else", cfg.From)
	case cfg.Resigned && cfg.Message != "":
		return errors.New("--message applies to on-job transfers only: WeCom sends no message for resigned transfers; drop --message or --resigned")
	case cfg.PollInterval < 0:
		return fmt.Errorf("poll interval %s is negative", cfg.PollInterval)
	}
	for flagName, value := range map[string]string{"--from": cfg.From, "--to": cfg.To} {
		if strings.TrimSpace(value) != value {
			return fmt.Errorf("%s %q has leading or trailing spaces; remove them", flagName, value)
		}
	}
	if n := utf8.RuneCountInString(cfg.Message); n > wecom.MaxSuccessMessage {
		return fmt.Errorf("--message is %d characters, over WeCom's limit of %d; shorten it", n, wecom.MaxSuccessMessage)
	}
	if !utf8.ValidString(cfg.Message) {
		return errors.New("--message is not valid UTF-8")
	}
	for i, id := range cfg.Customers {
		if strings.TrimSpace(id) == "" {
			return fmt.Errorf("--customers item %d is blank: remove the extra comma", i+1)
		}
		if strings.TrimSpace(id) != id {
			return fmt.Errorf("--customers item %d %q has leading or trailing spaces; remove them", i+1, id)
		}
	}
	return nil
}

// Run performs the handover and returns its summary. The error is non-nil
// when a call failed as a whole (API or network) or ctx ended. The summary
// then still counts every item seen so far.
func (r *Runner) Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	state := newRunState(r, cfg)

	customers, err := r.collectCustomers(ctx, cfg)
	if err != nil {
		return state.summary, err
	}
	var chats []string
	if cfg.Groups {
		if chats, err = r.collectGroupChats(ctx, cfg); err != nil {
			return state.summary, err
		}
	}
	r.logger().Info("collected items", "from", cfg.From, "customers", len(customers), "group_chats", len(chats))
	if len(customers) == 0 && len(chats) == 0 && r.Journal == nil {
		r.logger().Warn(emptyHint(cfg))
	}

	customers, unknownCustomers := state.skipKnown(TypeCustomer, customers)
	chats, unknownChats := state.skipKnown(TypeGroupChat, chats)

	if cfg.DryRun {
		state.plan(TypeCustomer, append(customers, unknownCustomers...))
		state.plan(TypeGroupChat, append(chats, unknownChats...))
		return state.summary, nil
	}

	var errs []error
	if len(customers)+len(unknownCustomers) > 0 {
		errs = append(errs, r.transfer(ctx, state, r.customerKind(cfg), customers, unknownCustomers))
	}
	if len(chats)+len(unknownChats) > 0 {
		errs = append(errs, r.transfer(ctx, state, r.groupChatKind(cfg), chats, unknownChats))
	}
	if err := errors.Join(errs...); err != nil {
		state.finish()
		return state.summary, fmt.Errorf("%w%s", err, resignedHint(err, cfg))
	}

	// A resumed run also reports and watches what earlier runs settled.
	state.adoptJournal()
	if cfg.Watch && state.startedCustomers() > 0 {
		if err := r.watch(ctx, state); err != nil {
			state.finish()
			return state.summary, err
		}
	}
	state.finish()
	return state.summary, nil
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// collectCustomers returns the customers to hand over, in a stable order.
func (r *Runner) collectCustomers(ctx context.Context, cfg Config) ([]string, error) {
	if len(cfg.Customers) > 0 {
		return cfg.Customers, nil
	}
	if !cfg.Resigned {
		ids, err := r.Client.ListCustomers(ctx, cfg.From)
		if err != nil {
			return nil, fmt.Errorf("list customers of %s: %w%s", cfg.From, err, modeHint(err, cfg))
		}
		return ids, nil
	}

	var ids []string
	for row, err := range r.Client.UnassignedCustomers(ctx) {
		if err != nil {
			return nil, fmt.Errorf("list unassigned customers: %w", err)
		}
		if row.HandoverUserID == cfg.From {
			ids = append(ids, row.ExternalUserID)
		}
	}
	return ids, nil
}

// collectGroupChats returns From's customer group chats. For a resigned
// member only chats still waiting to be inherited are taken.
func (r *Runner) collectGroupChats(ctx context.Context, cfg Config) ([]string, error) {
	filter := wecom.GroupChatFilter{Owners: []string{cfg.From}}
	if cfg.Resigned {
		filter.Status = wecom.GroupChatOwnerResigned
	}
	var ids []string
	for chat, err := range r.Client.GroupChats(ctx, filter) {
		if err != nil {
			return nil, fmt.Errorf("list group chats of %s: %w", cfg.From, err)
		}
		ids = append(ids, chat.ChatID)
	}
	return ids, nil
}

// itemKind holds the calls that transfer one kind of item: one that sends a
// batch and one that lists the items WeCom already took.
type itemKind struct {
	name string // TypeCustomer or TypeGroupChat
	send func(ctx context.Context, ids []string, onBatch wecom.BatchFunc) (*wecom.TransferReport, error)
	// started returns the ids that WeCom lists as in transfer or moved.
	started func(ctx context.Context) (map[string]bool, error)
}

func (r *Runner) customerKind(cfg Config) itemKind {
	return itemKind{
		name: TypeCustomer,
		send: func(ctx context.Context, ids []string, onBatch wecom.BatchFunc) (*wecom.TransferReport, error) {
			if cfg.Resigned {
				return r.Client.TransferResignedCustomers(ctx, wecom.ResignedTransferRequest{
					HandoverUserID: cfg.From, TakeoverUserID: cfg.To, ExternalUserIDs: ids, OnBatch: onBatch,
				})
			}
			return r.Client.TransferCustomers(ctx, wecom.TransferRequest{
				HandoverUserID: cfg.From, TakeoverUserID: cfg.To, ExternalUserIDs: ids,
				SuccessMessage: cfg.Message, OnBatch: onBatch,
			})
		},
		started: func(ctx context.Context) (map[string]bool, error) {
			states, err := r.takeoverStates(ctx, cfg)
			if err != nil {
				return nil, err
			}
			ids := make(map[string]bool, len(states))
			for id, t := range states {
				ids[id] = t.Status != wecom.StatusNoRecord
			}
			return ids, nil
		},
	}
}

func (r *Runner) groupChatKind(cfg Config) itemKind {
	return itemKind{
		name: TypeGroupChat,
		send: func(ctx context.Context, ids []string, onBatch wecom.BatchFunc) (*wecom.TransferReport, error) {
			req := wecom.GroupChatTransferRequest{NewOwner: cfg.To, ChatIDs: ids, OnBatch: onBatch}
			if cfg.Resigned {
				return r.Client.TransferResignedGroupChats(ctx, req)
			}
			return r.Client.TransferGroupChats(ctx, req)
		},
		started: func(ctx context.Context) (map[string]bool, error) {
			owned := map[string]bool{}
			for chat, err := range r.Client.GroupChats(ctx, wecom.GroupChatFilter{Owners: []string{cfg.To}}) {
				if err != nil {
					return nil, err
				}
				owned[chat.ChatID] = true
			}
			return owned, nil
		},
	}
}

// maxSettleRounds bounds how often one run re-checks and re-sends items
// that got no response or a transient error, so a link that keeps failing
// still ends the run.
const maxSettleRounds = 5

// transfer sends ids, and settles them and the unknown ids an earlier run
// left, before it returns. An item whose call got no response is looked up.
// If WeCom lists it, it started; otherwise it was not applied. Items
// not applied, or rejected with a transient code such as -1 or 45009 after
// the client's own retries, are sent again. Nothing WeCom took is sent
// twice.
func (r *Runner) transfer(ctx context.Context, state *runState, kind itemKind, ids, unknown []string) error {
	var err error
	open := openItems{unknown: unknown}
	if len(ids) > 0 {
		var report *wecom.TransferReport
		report, err = r.sendAndRecord(ctx, state, kind, ids, &open)
		if report == nil {
			return err
		}
		state.summary.Duplicates += len(report.Duplicates)
	}

	for round := 1; !open.empty() && round <= maxSettleRounds && ctx.Err() == nil; round++ {
		r.logger().Warn("settling items without a final outcome",
			"type", kind.name, "unknown", len(open.unknown), "retry", len(open.retry), "verify", len(open.verify), "round", round)
		resend := open.retry
		if len(open.unknown) > 0 || len(open.verify) > 0 {
			started, lookupErr := kind.started(ctx)
			if lookupErr != nil {
				return errors.Join(err, fmt.Errorf("look up %d %s items with an unknown outcome: %w",
					len(open.unknown)+len(open.verify), kind.name, lookupErr))
			}
			var settled []wecom.ItemResult
			for _, id := range open.unknown {
				if started[id] {
					settled = append(settled, wecom.ItemResult{ID: id, Outcome: wecom.OutcomeStarted})
					continue
				}
				resend = append(resend, id)
			}
			// An "already in transfer" item that the takeover member's
			// list lacks is in transfer to someone else.
			for _, item := range open.verify {
				if !started[item.ID] {
					item.Outcome = wecom.OutcomeFailed
				}
				settled = append(settled, item)
			}
			state.resolve(kind.name, settled)
		}
		if len(resend) == 0 {
			return nil
		}

		open = openItems{}
		if _, err = r.sendAndRecord(ctx, state, kind, resend, &open); ctx.Err() != nil {
			return err
		}
	}
	return err
}

// sendAndRecord sends ids and records each call's results as soon as the
// call ends, so the output and the journal follow the run as it goes. The
// items left without a final outcome are added to open.
func (r *Runner) sendAndRecord(ctx context.Context, state *runState, kind itemKind, ids []string, open *openItems) (*wecom.TransferReport, error) {
	var mu sync.Mutex
	onBatch := func(items []wecom.ItemResult) {
		batchOpen := state.record(kind.name, items)
		mu.Lock()
		defer mu.Unlock()
		open.unknown = append(open.unknown, batchOpen.unknown...)
		open.retry = append(open.retry, batchOpen.retry...)
		open.verify = append(open.verify, batchOpen.verify...)
	}
	return kind.send(ctx, ids, onBatch)
}

// takeoverStates reads every row of the pair's transfer results.
func (r *Runner) takeoverStates(ctx context.Context, cfg Config) (map[string]wecom.Takeover, error) {
	rows := r.Client.TransferResults(ctx, cfg.From, cfg.To)
	if cfg.Resigned {
		rows = r.Client.ResignedTransferResults(ctx, cfg.From, cfg.To)
	}
	states := map[string]wecom.Takeover{}
	for row, err := range rows {
		if err != nil {
			return nil, err
		}
		states[row.ExternalUserID] = row
	}
	return states, nil
}

// watch polls the transfer results until no customer of this run is
// waiting, emitting a status row each time a customer's state changes.
func (r *Runner) watch(ctx context.Context, state *runState) error {
	interval := state.cfg.PollInterval
	if interval == 0 {
		interval = 5 * time.Minute
	}
	sleep := r.Sleep
	if sleep == nil {
		sleep = sleepContext
	}

	lastWaiting := -1
	for poll := 1; ; poll++ {
		states, err := r.takeoverStates(ctx, state.cfg)
		if err != nil {
			return fmt.Errorf("read transfer results: %w", err)
		}
		waiting := state.updateStatuses(states)
		level := slog.LevelDebug
		if waiting != lastWaiting {
			level = slog.LevelInfo
		}
		r.logger().Log(ctx, level, "polled transfer results", "poll", poll, "waiting", waiting)
		lastWaiting = waiting
		if waiting == 0 {
			return nil
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// emptyHint explains a handover that found nothing to transfer.
func emptyHint(cfg Config) string {
	if cfg.Resigned {
		return fmt.Sprintf("found nothing to transfer: %s has no unassigned customers; check the userid, and drop --resigned if the member is still employed", cfg.From)
	}
	return fmt.Sprintf("found nothing to transfer: %s has no customers", cfg.From)
}

// modeHint suggests the other transfer mode when listing From's customers
// failed because the member's employment state does not match cfg.
func modeHint(err error, cfg Config) string {
	if apiErr, ok := errors.AsType[*wecom.APIError](err); ok && apiErr.Code == codeUserNotFound && !cfg.Resigned {
		return fmt.Sprintf(" (if %s has resigned, add --resigned)", cfg.From)
	}
	return resignedHint(err, cfg)
}

// resignedHint suggests dropping --resigned when a resigned transfer failed
// because the member has not resigned.
func resignedHint(err error, cfg Config) string {
	if apiErr, ok := errors.AsType[*wecom.APIError](err); ok && apiErr.Code == wecom.CodeNotResigned && cfg.Resigned {
		return fmt.Sprintf(" (%s has not resigned: drop --resigned)", cfg.From)
	}
	return ""
}

// codeUserNotFound is WeCom's errcode for a userid that does not exist,
// which includes members who left the corp.
const codeUserNotFound = 60111
