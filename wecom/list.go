package wecom

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// MaxPageSize is the largest page WeCom returns from its list calls.
const MaxPageSize = 1000

// ListCustomers returns every customer id of a member with
// /cgi-bin/externalcontact/list. A member without customers (errcode 84061)
// gives an empty list and no error.
func (c *Client) ListCustomers(ctx context.Context, userID string) ([]string, error) {
	if err := validateUserID("userid", userID); err != nil {
		return nil, err
	}
	params := &generated.ListExternalContactsParams{UserID: userID}
	var out generated.ListExternalContactsResponse
	err := c.call(ctx, callSpec{
		endpoint: endpointListCustomers,
		read:     true,
		send: func(ctx context.Context, edit generated.RequestEditorFn) (*http.Response, error) {
			return c.api.ListExternalContacts(ctx, params, edit)
		},
	}, &out)
	if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.Code == CodeNoContacts {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	return out.ExternalUserIDs, nil
}

// UnassignedCustomer is a customer of a resigned member that no member has
// taken over yet.
type UnassignedCustomer struct {
	HandoverUserID string
	ExternalUserID string
	DimissionTime  time.Time // when the member resigned
}

// UnassignedPage is one page of the unassigned list.
type UnassignedPage struct {
	Customers  []UnassignedCustomer
	NextCursor string // empty on the last page
	IsLast     bool
}

// UnassignedPage returns one page of resigned members' unassigned customers
// with /cgi-bin/externalcontact/get_unassigned_list. pageSize is 1 to 1000,
// or 0 for WeCom's default of 1000. The legacy page_id is never sent.
func (c *Client) UnassignedPage(ctx context.Context, cursor string, pageSize int) (*UnassignedPage, error) {
	if pageSize < 0 || pageSize > MaxPageSize {
		return nil, &InputError{Field: "page size", Value: fmt.Sprint(pageSize), Reason: "want 1 to 1000, or 0 for WeCom's default"}
	}
	body := generated.GetUnassignedListRequest{Cursor: cursor, PageSize: pageSize}
	var out generated.GetUnassignedListResponse
	err := c.call(ctx, callSpec{
		endpoint: endpointUnassignedList,
		read:     true,
		send: func(ctx context.Context, edit generated.RequestEditorFn) (*http.Response, error) {
			return c.api.GetUnassignedList(ctx, body, edit)
		},
	}, &out)
	if err != nil {
		return nil, err
	}

	page := &UnassignedPage{
		Customers:  make([]UnassignedCustomer, len(out.Info)),
		NextCursor: out.NextCursor,
		IsLast:     out.IsLast,
	}
	if page.IsLast {
		// A last page ends the list even if WeCom sent a cursor with it.
		page.NextCursor = ""
	}
	for i, row := range out.Info {
		page.Customers[i] = UnassignedCustomer{
			HandoverUserID: row.HandoverUserID,
			ExternalUserID: row.ExternalUserID,
			DimissionTime:  unixTime(row.DimissionTime),
		}
	}
	return page, nil
}

// UnassignedCustomers iterates over every unassigned customer of every
// resigned member, 1000 a page. Each range starts from the first page.
func (c *Client) UnassignedCustomers(ctx context.Context) iter.Seq2[UnassignedCustomer, error] {
	return paginate(ctx, endpointUnassignedList, func(ctx context.Context, cursor string) ([]UnassignedCustomer, string, bool, error) {
		page, err := c.UnassignedPage(ctx, cursor, MaxPageSize)
		if err != nil {
			return nil, "", false, err
		}
		return page.Customers, page.NextCursor, page.IsLast, nil
	})
}

// GroupChatStatus is a customer group chat's inheritance state.
type GroupChatStatus = generated.GroupChatStatus

// Group chat states; as a filter, GroupChatNormal lists every chat.
const (
	GroupChatNormal        = generated.GroupChatStatusNormal
	GroupChatOwnerResigned = generated.GroupChatStatusOwnerResigned
	GroupChatInheriting    = generated.GroupChatStatusInheriting
	GroupChatInherited     = generated.GroupChatStatusInherited
)

// GroupChatFilter selects the chats to list.
type GroupChatFilter struct {
	Owners []string        // owners' userids, at most 100; empty lists every owner
	Status GroupChatStatus // 0 for every state
}

// GroupChat is one customer group chat in a list.
type GroupChat struct {
	ChatID string
	Status GroupChatStatus
}

// GroupChatPage is one page of customer group chats.
type GroupChatPage struct {
	GroupChats []GroupChat
	NextCursor string // empty on the last page
}

// GroupChatPage returns one page of customer group chats with
// /cgi-bin/externalcontact/groupchat/list. limit is 1 to 1000.
func (c *Client) GroupChatPage(ctx context.Context, filter GroupChatFilter, cursor string, limit int) (*GroupChatPage, error) {
	if limit < 1 || limit > MaxPageSize {
		return nil, &InputError{Field: "limit", Value: fmt.Sprint(limit), Reason: "want 1 to 1000"}
	}
	if len(filter.Owners) > MaxBatch {
		return nil, &InputError{Field: "owners", Reason: fmt.Sprintf("%d owners given, at most 100 a call; split the list", len(filter.Owners))}
	}
	if len(filter.Owners) > 0 {
		if err := validateIDs("owners", filter.Owners); err != nil {
			return nil, err
		}
	}
	if filter.Status < GroupChatNormal || filter.Status > GroupChatInherited {
		return nil, &InputError{Field: "status filter", Value: fmt.Sprint(int(filter.Status)), Reason: "want 0 to 3"}
	}

	body := generated.ListGroupChatsRequest{
		Cursor:       cursor,
		Limit:        limit,
		StatusFilter: filter.Status,
		OwnerFilter:  generated.OwnerFilter{UserIDList: filter.Owners},
	}
	var out generated.ListGroupChatsResponse
	err := c.call(ctx, callSpec{
		endpoint: endpointListGroupChats,
		read:     true,
		send: func(ctx context.Context, edit generated.RequestEditorFn) (*http.Response, error) {
			return c.api.ListGroupChats(ctx, body, edit)
		},
	}, &out)
	if err != nil {
		return nil, err
	}

	page := &GroupChatPage{GroupChats: make([]GroupChat, len(out.GroupChats)), NextCursor: out.NextCursor}
	for i, chat := range out.GroupChats {
		page.GroupChats[i] = GroupChat{ChatID: chat.ChatID, Status: chat.Status}
	}
	return page, nil
}

// GroupChats iterates over the customer group chats that filter selects,
// 1000 a page. Each range starts from the first page.
func (c *Client) GroupChats(ctx context.Context, filter GroupChatFilter) iter.Seq2[GroupChat, error] {
	return paginate(ctx, endpointListGroupChats, func(ctx context.Context, cursor string) ([]GroupChat, string, bool, error) {
		page, err := c.GroupChatPage(ctx, filter, cursor, MaxPageSize)
		if err != nil {
			return nil, "", false, err
		}
		return page.GroupChats, page.NextCursor, false, nil
	})
}
