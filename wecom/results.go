package wecom

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"net/http"
	"slices"
	"time"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// TakeoverStatus is the state of one customer's takeover. Values outside
// the named ones are kept as they come from WeCom.
type TakeoverStatus = generated.TakeoverStatus

// Takeover states, as WeCom numbers them.
const (
	StatusComplete     = generated.TakeoverStatusComplete     // 1: the takeover member follows the customer
	StatusWaiting      = generated.TakeoverStatusWaiting      // 2: waiting; TakeoverTime is when it completes
	StatusRefused      = generated.TakeoverStatusRefused      // 3: the customer refused
	StatusLimitReached = generated.TakeoverStatusLimitReached // 4: the takeover member has too many customers
	StatusNoRecord     = generated.TakeoverStatusNoRecord     // 5: WeCom has no takeover record
)

// StatusName returns a lower-case name for s, or "status_N" for a value
// WeCom has not documented.
func StatusName(s TakeoverStatus) string {
	switch s {
	case StatusComplete:
		return "complete"
	case StatusWaiting:
		return "waiting"
	case StatusRefused:
		return "refused"
	case StatusLimitReached:
		return "limit_reached"
	case StatusNoRecord:
		return "no_record"
	}
	return fmt.Sprintf("status_%d", int(s))
}

// Takeover is one customer's row in the transfer results.
type Takeover struct {
	ExternalUserID string
	Status         TakeoverStatus
	// TakeoverTime is when the takeover happened, or for StatusWaiting when
	// it will happen. It is the zero time when WeCom sends 0.
	TakeoverTime time.Time
}

// TakeoverPage is one page of transfer results.
type TakeoverPage struct {
	Customers  []Takeover
	NextCursor string // empty on the last page
}

// TransferResultPage returns one page, at most 1000 rows, of the takeover
// status of customers transferred from an employed member with
// /cgi-bin/externalcontact/transfer_result. Pass the empty cursor for the
// first page.
func (c *Client) TransferResultPage(ctx context.Context, handover, takeover, cursor string) (*TakeoverPage, error) {
	return c.takeoverPage(ctx, endpointTransferResult, handover, takeover, cursor, c.api.TransferResult)
}

// ResignedTransferResultPage is [Client.TransferResultPage] for customers
// of a resigned member, with /cgi-bin/externalcontact/resigned/transfer_result.
func (c *Client) ResignedTransferResultPage(ctx context.Context, handover, takeover, cursor string) (*TakeoverPage, error) {
	return c.takeoverPage(ctx, endpointResignedResult, handover, takeover, cursor, c.api.TransferResignedResult)
}

// TransferResults iterates over the takeover status of every customer
// transferred from an employed member to takeover. Each range starts again
// from the first page; no request is sent until the range starts.
func (c *Client) TransferResults(ctx context.Context, handover, takeover string) iter.Seq2[Takeover, error] {
	return paginate(ctx, endpointTransferResult, func(ctx context.Context, cursor string) ([]Takeover, string, bool, error) {
		page, err := c.TransferResultPage(ctx, handover, takeover, cursor)
		if err != nil {
			return nil, "", false, err
		}
		return page.Customers, page.NextCursor, false, nil
	})
}

// ResignedTransferResults is [Client.TransferResults] for customers of a
// resigned member.
func (c *Client) ResignedTransferResults(ctx context.Context, handover, takeover string) iter.Seq2[Takeover, error] {
	return paginate(ctx, endpointResignedResult, func(ctx context.Context, cursor string) ([]Takeover, string, bool, error) {
		page, err := c.ResignedTransferResultPage(ctx, handover, takeover, cursor)
		if err != nil {
			return nil, "", false, err
		}
		return page.Customers, page.NextCursor, false, nil
	})
}

type transferResultFunc func(ctx context.Context, body generated.TransferResultRequest, editors ...generated.RequestEditorFn) (*http.Response, error)

func (c *Client) takeoverPage(ctx context.Context, endpoint, handover, takeover, cursor string, fetch transferResultFunc) (*TakeoverPage, error) {
	if err := validatePair(handover, takeover); err != nil {
		return nil, err
	}
	body := generated.TransferResultRequest{HandoverUserID: handover, TakeoverUserID: takeover, Cursor: cursor}
	var out generated.TransferResultResponse
	err := c.call(ctx, callSpec{
		endpoint: endpoint,
		read:     true,
		send: func(ctx context.Context, edit generated.RequestEditorFn) (*http.Response, error) {
			return fetch(ctx, body, edit)
		},
	}, &out)
	if err != nil {
		return nil, err
	}

	page := &TakeoverPage{Customers: make([]Takeover, len(out.Customers)), NextCursor: out.NextCursor}
	for i, row := range out.Customers {
		page.Customers[i] = Takeover{
			ExternalUserID: row.ExternalUserID,
			Status:         row.Status,
			TakeoverTime:   unixTime(row.TakeoverTime),
		}
	}
	return page, nil
}

func unixTime(seconds int64) time.Time {
	if seconds == 0 {
		return time.Time{}
	}
	return time.Unix(seconds, 0)
}

// RepeatedCursorError reports a server that returned a cursor it had
// returned before, which would make an iterator loop forever.
type RepeatedCursorError struct {
	Endpoint string
	Cursor   string
}

func (e *RepeatedCursorError) Error() string {
	return fmt.Sprintf("wecom: %s: next_cursor %q repeats an earlier page; stopping to avoid a loop", e.Endpoint, e.Cursor)
}

// pageFunc fetches the page at cursor and returns its items, the next
// cursor and whether WeCom marked it as the last page.
type pageFunc[T any] func(ctx context.Context, cursor string) (items []T, next string, last bool, err error)

// paginate turns page calls into a lazy, re-rangeable iterator. It stops at
// an empty cursor or a last-page flag, yields the first error once and
// stops, and fails on a cursor it has seen before.
func paginate[T any](ctx context.Context, endpoint string, fetch pageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		// seen holds the sorted 64-bit hashes of the cursors, not the
		// cursors, so that a range keeps 8 bytes a page. A map of the
		// hashes took about 37 bytes a page in
		// BenchmarkUnassignedCustomersMemory.
		// NOTE: two distinct cursors share a hash with a chance of about
		// n²/2⁶⁵ in n pages; the range would then stop with a
		// RepeatedCursorError that is not real.
		var seen []uint64
		cursor := ""
		for {
			items, next, last, err := fetch(ctx, cursor)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if next == "" || last {
				return
			}
			hash := maphash.String(hashSeed, next)
			i, repeated := slices.BinarySearch(seen, hash)
			if repeated || next == cursor {
				yield(zero, &RepeatedCursorError{Endpoint: endpoint, Cursor: next})
				return
			}
			seen = slices.Insert(seen, i, hash)
			cursor = next
		}
	}
}
