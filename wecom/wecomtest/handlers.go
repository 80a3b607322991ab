package wecomtest

import (
	"context"
	"time"

	"github.com/wecom-transfer/wecom-transfer/generated/server"
)

// envelope returns the errcode and errmsg fields for e, or a success
// envelope when e is nil.
func envelope(ctx context.Context, e *apiError) (code int, msg string) {
	if e == nil {
		return codeOK, errorText(codeOK)
	}
	info, _ := callInfoFrom(ctx)
	return e.code, errmsg(info, e.code, e.text)
}

// missingBody is the error of a strict method called directly without a
// body; through ServeHTTP the spec check rejects such calls first.
func missingBody() *apiError { return newAPIErrorf(codeInvalidParameter, "missing request body") }

// GetToken issues an access token for the corp's ID and secret.
func (sb *Sandbox) GetToken(ctx context.Context, req server.GetTokenRequestObject) (server.GetTokenResponseObject, error) {
	corpID, secret := sb.corp.Credentials()
	var err *apiError
	switch p := req.Params; {
	case p.CorpID == "":
		err = newAPIError(codeCorpIDMissing)
	case p.CorpSecret == "":
		err = newAPIError(codeSecretMissing)
	case p.CorpID != corpID:
		err = newAPIError(codeInvalidCorpID)
	case p.CorpSecret != secret:
		err = newAPIError(codeInvalidSecret)
	}
	if err != nil {
		code, msg := envelope(ctx, err)
		return server.GetToken200JSONResponse{ErrCode: code, ErrMsg: msg}, nil
	}
	return server.GetToken200JSONResponse{
		ErrMsg:      errorText(codeOK),
		AccessToken: sb.issueToken(),
		ExpiresIn:   int64(sb.cfg.tokenTTL / time.Second),
	}, nil
}

// ListExternalContacts returns every customer of an employed member.
func (sb *Sandbox) ListExternalContacts(ctx context.Context, req server.ListExternalContactsRequestObject) (server.ListExternalContactsResponseObject, error) {
	ids, err := sb.corp.externalContacts(sb.now(), req.Params.UserID)
	code, msg := envelope(ctx, err)
	return server.ListExternalContacts200JSONResponse{ErrCode: code, ErrMsg: msg, ExternalUserIDs: ids}, nil
}

// ListGroupChats returns a page of group chats by owner and status.
func (sb *Sandbox) ListGroupChats(ctx context.Context, req server.ListGroupChatsRequestObject) (server.ListGroupChatsResponseObject, error) {
	rows, next, err := sb.listGroupChats(req.Body)
	code, msg := envelope(ctx, err)
	return server.ListGroupChats200JSONResponse{ErrCode: code, ErrMsg: msg, GroupChats: rows, NextCursor: next}, nil
}

func (sb *Sandbox) listGroupChats(body *server.ListGroupChatsRequest) ([]server.GroupChatSummary, string, *apiError) {
	if body == nil {
		return nil, "", missingBody()
	}
	offset, ok := decodeOffsetCursor(body.Cursor, cursorGroupChats)
	if !ok {
		return nil, "", newAPIErrorf(codeInvalidParameter, "cursor")
	}
	f := groupChatFilter{owners: body.OwnerFilter.UserIDList, status: body.StatusFilter, limit: body.Limit}
	rows, next, err := sb.corp.groupChats(f, offset)
	if err != nil || next < 0 {
		return rows, "", err
	}
	return rows, encodeOffsetCursor(cursorGroupChats, next), nil
}

// TransferCustomer starts on-job transfers of up to 100 customers.
func (sb *Sandbox) TransferCustomer(ctx context.Context, req server.TransferCustomerRequestObject) (server.TransferCustomerResponseObject, error) {
	var out []server.CustomerTransferOutcome
	err := missingBody()
	if b := req.Body; b != nil {
		out, err = sb.corp.transferCustomers(sb.now(), transferRequest{
			handover:    b.HandoverUserID,
			takeover:    b.TakeoverUserID,
			externalIDs: b.ExternalUserIDs,
		})
	}
	code, msg := envelope(ctx, err)
	return server.TransferCustomer200JSONResponse{ErrCode: code, ErrMsg: msg, Customers: out}, nil
}

// TransferResignedCustomer starts transfers of up to 100 customers of a
// resigned member.
func (sb *Sandbox) TransferResignedCustomer(ctx context.Context, req server.TransferResignedCustomerRequestObject) (server.TransferResignedCustomerResponseObject, error) {
	var out []server.CustomerTransferOutcome
	err := missingBody()
	if b := req.Body; b != nil {
		out, err = sb.corp.transferCustomers(sb.now(), transferRequest{
			resigned:    true,
			handover:    b.HandoverUserID,
			takeover:    b.TakeoverUserID,
			externalIDs: b.ExternalUserIDs,
		})
	}
	code, msg := envelope(ctx, err)
	return server.TransferResignedCustomer200JSONResponse{ErrCode: code, ErrMsg: msg, Customers: out}, nil
}

// TransferResult returns a page of the on-job takeover records of a pair.
func (sb *Sandbox) TransferResult(ctx context.Context, req server.TransferResultRequestObject) (server.TransferResultResponseObject, error) {
	rows, next, err := sb.transferResults(req.Body, false)
	code, msg := envelope(ctx, err)
	return server.TransferResult200JSONResponse{ErrCode: code, ErrMsg: msg, Customers: rows, NextCursor: next}, nil
}

// TransferResignedResult returns a page of the resigned takeover records of
// a pair.
func (sb *Sandbox) TransferResignedResult(ctx context.Context, req server.TransferResignedResultRequestObject) (server.TransferResignedResultResponseObject, error) {
	rows, next, err := sb.transferResults(req.Body, true)
	code, msg := envelope(ctx, err)
	return server.TransferResignedResult200JSONResponse{ErrCode: code, ErrMsg: msg, Customers: rows, NextCursor: next}, nil
}

func (sb *Sandbox) transferResults(body *server.TransferResultRequest, resigned bool) ([]server.CustomerTakeover, string, *apiError) {
	if body == nil {
		return nil, "", missingBody()
	}
	offset, ok := decodeOffsetCursor(body.Cursor, cursorResults)
	if !ok {
		return nil, "", newAPIErrorf(codeInvalidParameter, "cursor")
	}
	pair := pairKey{resigned: resigned, handover: body.HandoverUserID, takeover: body.TakeoverUserID}
	rows, next, err := sb.corp.transferResults(sb.now(), pair, offset)
	if err != nil || next < 0 {
		return rows, "", err
	}
	return rows, encodeOffsetCursor(cursorResults, next), nil
}

// GetUnassignedList returns a page of resigned members' customers that are
// not assigned yet.
func (sb *Sandbox) GetUnassignedList(ctx context.Context, req server.GetUnassignedListRequestObject) (server.GetUnassignedListResponseObject, error) {
	var body server.GetUnassignedListRequest
	if req.Body != nil {
		body = *req.Body
	}
	after, ok := decodeUnassignedCursor(body.Cursor)
	if !ok {
		code, msg := envelope(ctx, newAPIErrorf(codeInvalidParameter, "cursor"))
		return server.GetUnassignedList200JSONResponse{ErrCode: code, ErrMsg: msg}, nil
	}
	pageSize := body.PageSize
	if pageSize <= 0 || pageSize > defaultUnassignedPageSize {
		pageSize = defaultUnassignedPageSize
	}
	rows, next := sb.corp.unassigned(sb.now(), after, pageSize)
	resp := server.GetUnassignedList200JSONResponse{ErrMsg: errorText(codeOK), Info: rows, IsLast: next == nil}
	if next != nil {
		resp.NextCursor = encodeUnassignedCursor(*next)
	}
	return resp, nil
}

// TransferOnJobGroupChats gives up to 100 chats of employed owners a new
// owner.
func (sb *Sandbox) TransferOnJobGroupChats(ctx context.Context, req server.TransferOnJobGroupChatsRequestObject) (server.TransferOnJobGroupChatsResponseObject, error) {
	failed, err := sb.transferGroupChats(req.Body, false)
	code, msg := envelope(ctx, err)
	return server.TransferOnJobGroupChats200JSONResponse{ErrCode: code, ErrMsg: msg, FailedChats: failed}, nil
}

// TransferResignedGroupChats gives up to 100 chats of resigned owners a new
// owner.
func (sb *Sandbox) TransferResignedGroupChats(ctx context.Context, req server.TransferResignedGroupChatsRequestObject) (server.TransferResignedGroupChatsResponseObject, error) {
	failed, err := sb.transferGroupChats(req.Body, true)
	code, msg := envelope(ctx, err)
	return server.TransferResignedGroupChats200JSONResponse{ErrCode: code, ErrMsg: msg, FailedChats: failed}, nil
}

func (sb *Sandbox) transferGroupChats(body *server.GroupChatTransferRequest, resigned bool) ([]server.GroupChatFailure, *apiError) {
	if body == nil {
		return nil, missingBody()
	}
	return sb.corp.transferGroupChats(sb.now(), chatTransferRequest{
		resigned: resigned,
		chatIDs:  body.ChatIDs,
		newOwner: body.NewOwner,
	})
}
