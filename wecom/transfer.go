package wecom

import (
	"context"
	"net/http"
	"slices"

	"github.com/wecom-transfer/wecom-transfer/generated"
)

// TransferRequest hands an employed member's customers to a colleague.
type TransferRequest struct {
	HandoverUserID  string   // member who follows the customers now
	TakeoverUserID  string   // member who takes them over
	ExternalUserIDs []string // any number; sent in calls of at most 100
	// SuccessMessage is sent to each customer once the transfer succeeds,
	// at most 200 characters. WeCom sends its default text when it is empty.
	SuccessMessage string
	// OnBatch, if set, receives each call's results as soon as it ends.
	OnBatch BatchFunc
}

// ResignedTransferRequest hands a resigned member's customers to a
// colleague. WeCom sends no success message for these transfers.
type ResignedTransferRequest struct {
	HandoverUserID  string // member who resigned
	TakeoverUserID  string
	ExternalUserIDs []string
	// OnBatch, if set, receives each call's results as soon as it ends.
	OnBatch BatchFunc
}

// TransferCustomers starts the transfer of an employed member's customers
// with /cgi-bin/externalcontact/transfer_customer. It drops duplicate ids,
// sends the rest in calls of at most 100 and returns every customer's
// outcome. The error is non-nil when a call as a whole failed; check
// [TransferReport.Err] for customers that WeCom rejected one by one.
func (c *Client) TransferCustomers(ctx context.Context, req TransferRequest) (*TransferReport, error) {
	if err := validatePair(req.HandoverUserID, req.TakeoverUserID); err != nil {
		return nil, err
	}
	if err := validateIDs("external_userid", req.ExternalUserIDs); err != nil {
		return nil, err
	}
	if err := validateSuccessMessage(req.SuccessMessage); err != nil {
		return nil, err
	}

	return c.runBatches(ctx, "customers", req.ExternalUserIDs, req.OnBatch, func(ctx context.Context, ids []string, items []ItemResult) error {
		body := generated.TransferCustomerRequest{
			HandoverUserID:     req.HandoverUserID,
			TakeoverUserID:     req.TakeoverUserID,
			ExternalUserIDs:    ids,
			TransferSuccessMsg: req.SuccessMessage,
		}
		return c.transferChunk(ctx, endpointTransferCustomer, ids, items, func(ctx context.Context, edit generated.RequestEditorFn) (*http.Response, error) {
			return c.api.TransferCustomer(ctx, body, edit)
		})
	})
}

// TransferResignedCustomers starts the transfer of a resigned member's
// customers with /cgi-bin/externalcontact/resigned/transfer_customer, in
// calls of at most 100. WeCom returns errcode 40097 when the handover member
// has not resigned.
func (c *Client) TransferResignedCustomers(ctx context.Context, req ResignedTransferRequest) (*TransferReport, error) {
	if err := validatePair(req.HandoverUserID, req.TakeoverUserID); err != nil {
		return nil, err
	}
	if err := validateIDs("external_userid", req.ExternalUserIDs); err != nil {
		return nil, err
	}

	return c.runBatches(ctx, "customers", req.ExternalUserIDs, req.OnBatch, func(ctx context.Context, ids []string, items []ItemResult) error {
		body := generated.ResignedTransferCustomerRequest{
			HandoverUserID:  req.HandoverUserID,
			TakeoverUserID:  req.TakeoverUserID,
			ExternalUserIDs: ids,
		}
		return c.transferChunk(ctx, endpointResignedTransfer, ids, items, func(ctx context.Context, edit generated.RequestEditorFn) (*http.Response, error) {
			return c.api.TransferResignedCustomer(ctx, body, edit)
		})
	})
}

// transferChunk sends one customer transfer call and maps customer[] to
// per-item results.
func (c *Client) transferChunk(ctx context.Context, endpoint string, ids []string, items []ItemResult, send func(context.Context, generated.RequestEditorFn) (*http.Response, error)) error {
	var out generated.TransferCustomerResponse
	resent := false
	err := c.call(ctx, callSpec{endpoint: endpoint, resent: &resent, send: send}, &out)
	if err != nil {
		return err
	}

	for i, cust := range out.Customers {
		// Match by position first, since WeCom usually keeps the request
		// order, and search the chunk otherwise.
		j := i
		if j >= len(ids) || ids[j] != cust.ExternalUserID {
			if j = slices.Index(ids, cust.ExternalUserID); j < 0 {
				continue
			}
		}
		items[j] = ItemResult{
			ID:      cust.ExternalUserID,
			Outcome: itemOutcome(cust.ErrCode, resent),
			ErrCode: cust.ErrCode,
		}
	}
	return nil
}

func validatePair(handover, takeover string) error {
	if err := validateUserID("handover_userid", handover); err != nil {
		return err
	}
	if err := validateUserID("takeover_userid", takeover); err != nil {
		return err
	}
	if handover == takeover {
		return &InputError{Field: "takeover_userid", Value: takeover, Reason: "same as handover_userid; give a different member"}
	}
	return nil
}
