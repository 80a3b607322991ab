package wecom

import (
	"context"
	"net/http"
	"slices"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// GroupChatTransferRequest gives customer group chats a new owner.
type GroupChatTransferRequest struct {
	NewOwner string   // member who becomes the owner
	ChatIDs  []string // any number; sent in calls of at most 100
	// OnBatch, if set, receives each call's results as soon as it ends.
	OnBatch BatchFunc
}

// TransferGroupChats gives an employed member's customer group chats a new
// owner with /cgi-bin/externalcontact/groupchat/onjob_transfer, in calls of
// at most 100. WeCom lists only the chats that failed; the others get
// [OutcomeStarted].
func (c *Client) TransferGroupChats(ctx context.Context, req GroupChatTransferRequest) (*TransferReport, error) {
	return c.transferGroupChats(ctx, endpointOnJobGroupTransfer, req, c.api.TransferOnJobGroupChats)
}

// TransferResignedGroupChats gives the customer group chats of a resigned
// owner a new owner with /cgi-bin/externalcontact/groupchat/transfer.
// WeCom fails a chat whose owner has not resigned with errcode 90500.
func (c *Client) TransferResignedGroupChats(ctx context.Context, req GroupChatTransferRequest) (*TransferReport, error) {
	return c.transferGroupChats(ctx, endpointResignedGroupTransfer, req, c.api.TransferResignedGroupChats)
}

type groupTransferFunc func(ctx context.Context, body generated.GroupChatTransferRequest, editors ...generated.RequestEditorFn) (*http.Response, error)

func (c *Client) transferGroupChats(ctx context.Context, endpoint string, req GroupChatTransferRequest, transfer groupTransferFunc) (*TransferReport, error) {
	if err := validateUserID("new_owner", req.NewOwner); err != nil {
		return nil, err
	}
	if err := validateIDs("chat_id_list", req.ChatIDs); err != nil {
		return nil, err
	}

	return c.runBatches(ctx, "group chats", req.ChatIDs, req.OnBatch, func(ctx context.Context, ids []string, items []ItemResult) error {
		body := generated.GroupChatTransferRequest{ChatIDs: ids, NewOwner: req.NewOwner}
		var out generated.GroupChatTransferResponse
		resent := false
		err := c.call(ctx, callSpec{
			endpoint: endpoint,
			resent:   &resent,
			send: func(ctx context.Context, edit generated.RequestEditorFn) (*http.Response, error) {
				return transfer(ctx, body, edit)
			},
		}, &out)
		if err != nil {
			return err
		}

		for i, id := range ids {
			items[i] = ItemResult{ID: id, Outcome: OutcomeStarted}
		}
		for _, failed := range out.FailedChats {
			j := slices.Index(ids, failed.ChatID)
			if j < 0 {
				continue
			}
			items[j] = ItemResult{
				ID:      failed.ChatID,
				Outcome: itemOutcome(failed.ErrCode, resent),
				ErrCode: failed.ErrCode,
				ErrMsg:  redactString(failed.ErrMsg),
			}
		}
		return nil
	})
}
