package wecom

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// MaxBatch is the number of ids WeCom takes in one transfer call.
const MaxBatch = 100

// Outcome is the result of one customer or group chat of a transfer call.
type Outcome int

const (
	// OutcomeStarted means WeCom accepted the item: errcode 0, or, on a
	// re-sent request, an "already in transfer" code (ErrCode 40129, 40100
	// or 90507) that the first send may have caused. Such an item may also
	// be in transfer to someone else: confirm it in the transfer results. For customers the takeover completes 24 hours later unless the
	// customer refuses; read the transfer results to follow it.
	OutcomeStarted Outcome = iota + 1
	// OutcomeFailed means WeCom rejected the item with ErrCode.
	OutcomeFailed
	// OutcomeUnknown means the request may have reached WeCom but no response
	// came back. Read the transfer results to learn whether it started.
	OutcomeUnknown
	// OutcomeNotSent means the item was never sent, for example because the
	// context ended or no token could be fetched. Sending it again is safe.
	OutcomeNotSent
)

func (o Outcome) String() string {
	switch o {
	case OutcomeStarted:
		return "started"
	case OutcomeFailed:
		return "failed"
	case OutcomeUnknown:
		return "unknown"
	case OutcomeNotSent:
		return "not_sent"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// ItemResult is the outcome of one customer or group chat.
type ItemResult struct {
	ID      string // external_userid or chat_id
	Outcome Outcome
	ErrCode int    // WeCom errcode of the item, or of the whole call when it failed
	ErrMsg  string // WeCom errmsg where WeCom sends one, or why the outcome is not known
	// CallFailed reports that the whole call failed, so ErrCode is the
	// call's top-level errcode rather than one WeCom gave this item.
	CallFailed bool
}

// TransferReport lists the outcome of every distinct id of a transfer, in
// the order the ids were given.
type TransferReport struct {
	Kind       string // "customers" or "group chats"
	Items      []ItemResult
	Duplicates []string // ids given more than once; each was sent once
}

// Count returns the number of items with outcome o.
func (r *TransferReport) Count(o Outcome) int {
	n := 0
	for _, item := range r.Items {
		if item.Outcome == o {
			n++
		}
	}
	return n
}

// Err returns an *[ItemsError] when any item did not start, and nil when
// all did.
func (r *TransferReport) Err() error {
	e := &ItemsError{Kind: r.Kind, Failed: map[int]int{}, Total: len(r.Items)}
	for _, item := range r.Items {
		switch item.Outcome {
		case OutcomeStarted:
			continue
		case OutcomeUnknown:
			e.Unknown++
		case OutcomeNotSent:
			e.NotSent++
		default:
			e.Failed[item.ErrCode]++
		}
		e.Count++
	}
	if e.Count == 0 {
		return nil
	}
	return e
}

// sendChunk sends one call of at most MaxBatch ids and writes the result
// of each id WeCom reported into items, at the id's index.
type sendChunk func(ctx context.Context, ids []string, items []ItemResult) error

// BatchFunc receives the results of one call of a batch as soon as the call
// ends, in the order of that call's ids. Calls run on several goroutines,
// so a BatchFunc must be safe for concurrent use. If it panics, the calls
// not yet sent are skipped and the panic is raised again on the goroutine
// that started the transfer.
type BatchFunc func(items []ItemResult)

// runBatches sends ids in calls of at most MaxBatch with the client's
// worker count and returns the per-item results in input order. onBatch,
// if set, receives each call's results as soon as the call ends.
func (c *Client) runBatches(ctx context.Context, kind string, ids []string, onBatch BatchFunc, send sendChunk) (*TransferReport, error) {
	unique, duplicates := dedupe(ids)
	report := &TransferReport{Kind: kind, Items: make([]ItemResult, len(unique)), Duplicates: duplicates}

	calls := (len(unique) + MaxBatch - 1) / MaxBatch
	if calls == 1 {
		// One call needs no workers.
		errs := [1]error{c.sendOneChunk(ctx, unique, report.Items, onBatch, send)}
		return report, joinDistinct(errs[:])
	}

	errs := make([]error, calls)
	jobs := make(chan int)
	var wg sync.WaitGroup
	// A call that failed as a whole for a reason that no re-send can fix,
	// such as an unknown takeover member, fails every other call the same
	// way, so the calls not yet sent are skipped.
	var stop atomic.Pointer[APIError]
	// A panic in onBatch on a worker goroutine would end the process, so it
	// is caught there and raised again on the caller's goroutine.
	var panicked atomic.Pointer[any]
	runJob := func(i int) {
		defer func() {
			if p := recover(); p != nil {
				panicked.CompareAndSwap(nil, &p)
			}
		}()
		start, end := i*MaxBatch, min((i+1)*MaxBatch, len(unique))
		chunk, items := unique[start:end:end], report.Items[start:end]
		if failed := stop.Load(); failed != nil {
			skipChunk(chunk, items, failed, onBatch)
			return
		}
		if panicked.Load() != nil {
			skipChunk(chunk, items, nil, nil)
			return
		}
		errs[i] = c.sendOneChunk(ctx, chunk, items, onBatch, send)
		if apiErr, ok := errors.AsType[*APIError](errs[i]); ok && !IsTransient(apiErr.Code) {
			stop.CompareAndSwap(nil, apiErr)
		}
	}
	for range min(c.settings.workers, calls) {
		wg.Go(func() {
			for i := range jobs {
				runJob(i)
			}
		})
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if p := panicked.Load(); p != nil {
		panic(*p)
	}
	return report, joinDistinct(errs)
}

// sendOneChunk calls send and writes the result of every id of the chunk
// into items, also when the call as a whole failed. onBatch, if set, gets a
// copy of items.
func (c *Client) sendOneChunk(ctx context.Context, chunk []string, items []ItemResult, onBatch BatchFunc, send sendChunk) error {
	err := ctx.Err()
	if err == nil {
		err = send(ctx, chunk, items)
	}

	for i, id := range chunk {
		if err != nil || items[i].Outcome == 0 {
			items[i] = outcomeForCallError(id, err)
		}
	}
	if onBatch != nil {
		onBatch(slices.Clone(items))
	}
	return err
}

// skipChunk marks every item of a chunk as not sent because an earlier call
// failed with failed, or, when failed is nil, because a callback panicked.
func skipChunk(chunk []string, items []ItemResult, failed *APIError, onBatch BatchFunc) {
	skipped := ItemResult{Outcome: OutcomeNotSent, ErrMsg: "not sent: the OnBatch callback panicked"}
	if failed != nil {
		// The errcode is the earlier call's, which this one would have got.
		skipped.ErrCode = failed.Code
		skipped.CallFailed = true
		skipped.ErrMsg = fmt.Sprintf("not sent: an earlier call of the batch failed with errcode %d", failed.Code)
	}
	for i, id := range chunk {
		items[i] = skipped
		items[i].ID = id
	}
	if onBatch != nil {
		onBatch(slices.Clone(items))
	}
}

// outcomeForCallError returns the outcome of an item whose call returned
// err, or that WeCom left out of its response.
func outcomeForCallError(id string, err error) ItemResult {
	if err == nil {
		return ItemResult{ID: id, Outcome: OutcomeUnknown, ErrMsg: "missing from the WeCom response"}
	}
	// A gettoken error means the transfer call itself was never sent.
	if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.Endpoint != endpointGetToken {
		return ItemResult{ID: id, Outcome: OutcomeFailed, ErrCode: apiErr.Code, ErrMsg: apiErr.Message, CallFailed: true}
	}
	if _, ok := errors.AsType[*UnknownOutcomeError](err); ok {
		return ItemResult{ID: id, Outcome: OutcomeUnknown, ErrMsg: err.Error()}
	}
	return ItemResult{ID: id, Outcome: OutcomeNotSent, ErrMsg: err.Error()}
}

// itemOutcome maps a per-item errcode to an outcome. On a re-sent request an
// "already in transfer" code means the first send went through.
func itemOutcome(code int, resent bool) Outcome {
	if code == CodeOK {
		return OutcomeStarted
	}
	if resent && (code == CodeInTransfer || code == CodeAlreadyInTransfer || code == codeGroupInheriting) {
		return OutcomeStarted
	}
	return OutcomeFailed
}

// codeGroupInheriting is WeCom's "resigned group inheritance in progress".
const codeGroupInheriting = 90507

// dedupe returns ids without repeats, in the order of first appearance,
// and every later appearance of an id. Without repeats, unique is ids.
func dedupe(ids []string) (unique, duplicates []string) {
	if !mayRepeat(ids) {
		return ids[:len(ids):len(ids)], nil
	}
	seen := make(map[string]bool, len(ids))
	unique = make([]string, 0, len(ids))
	for _, id := range ids {
		if seen[id] {
			duplicates = append(duplicates, id)
			continue
		}
		seen[id] = true
		unique = append(unique, id)
	}
	return unique, duplicates
}

// hashSeed seeds the hashes of ids and cursors. It is set once, at start.
var hashSeed = maphash.MakeSeed()

// mayRepeat reports whether an id may occur twice in ids, by sorting their
// hashes: false is certain, true may be a hash collision. It checks a
// batch of up to MaxBatch ids without allocating and at several times the
// speed of a map.
func mayRepeat(ids []string) bool {
	var small [MaxBatch]uint64
	hashes := small[:0]
	if len(ids) > len(small) {
		hashes = make([]uint64, 0, len(ids))
	}
	for _, id := range ids {
		hashes = append(hashes, maphash.String(hashSeed, id))
	}
	slices.Sort(hashes)
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			return true
		}
	}
	return false
}

// joinDistinct joins the non-nil errors, keeping one of each message.
func joinDistinct(errs []error) error {
	seen := map[string]bool{}
	var kept []error
	for _, err := range errs {
		if err == nil || seen[err.Error()] {
			continue
		}
		seen[err.Error()] = true
		kept = append(kept, err)
	}
	if len(kept) == 1 {
		return kept[0]
	}
	return errors.Join(kept...)
}

// IsTransient reports whether errcode code means that the same request may
// succeed when sent again later: system busy, a version conflict, a rate
// limit, or a rejected access token.
func IsTransient(code int) bool {
	switch code {
	case CodeSystemBusy, CodeVersionConflict, CodeRateLimited, CodeTooConcurrent, CodeInvalidToken, CodeTokenExpired:
		return true
	}
	return false
}

// validateUserID rejects an empty or padded member userid.
func validateUserID(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return &InputError{Field: field, Value: value, Reason: "empty; give the member's userid"}
	}
	if strings.TrimSpace(value) != value {
		return &InputError{Field: field, Value: value, Reason: "has leading or trailing spaces; remove them"}
	}
	return nil
}

// validateIDs rejects an empty list and any blank or padded id.
func validateIDs(field string, ids []string) error {
	if len(ids) == 0 {
		return &InputError{Field: field, Reason: "empty; give at least one id"}
	}
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			return &InputError{Field: fmt.Sprintf("%s[%d]", field, i), Value: id, Reason: "blank; remove it or give the real id"}
		}
		if strings.TrimSpace(id) != id {
			return &InputError{Field: fmt.Sprintf("%s[%d]", field, i), Value: id, Reason: "has leading or trailing spaces; remove them"}
		}
	}
	return nil
}

// MaxSuccessMessage is WeCom's limit on transfer_success_msg, in characters.
const MaxSuccessMessage = 200

// validateSuccessMessage checks transfer_success_msg. WeCom documents the
// limit in characters (字符); whether it counts bytes is not documented, so
// the client counts Unicode code points.
func validateSuccessMessage(msg string) error {
	if !utf8.ValidString(msg) {
		return &InputError{Field: "success message", Reason: "not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(msg); n > MaxSuccessMessage {
		return &InputError{
			Field:  "success message",
			Value:  truncateRunes(msg, 20) + "…",
			Reason: fmt.Sprintf("%d characters, over WeCom's limit of %d; shorten it", n, MaxSuccessMessage),
		}
	}
	return nil
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
