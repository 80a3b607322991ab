package wecomtest

import (
	"context"
	"fmt"
)

// WeCom error codes that the sandbox returns.
const (
	codeSystemBusy         = -1
	codeOK                 = 0
	codeVersionConflict    = 6000
	codeInvalidSecret      = 40001
	codeInvalidCorpID      = 40013
	codeInvalidToken       = 40014
	codeInvalidParameter   = 40058
	codeInvalidExternalID  = 40096
	codeNotResigned        = 40097
	codeTransferTooOften   = 40128
	codeInTransfer         = 40129
	codeSameMember         = 40130
	codeNotFollower        = 40131
	codeTokenMissing       = 41001
	codeCorpIDMissing      = 41002
	codeSecretMissing      = 41004
	codeTokenExpired       = 42001
	codeRateLimited        = 45009
	codeTooConcurrent      = 45033
	codeUserNotFound       = 60111
	codeNoExternalContacts = 84061
	codeOwnerNotResigned   = 90500
	codeNotCustomerGroup   = 90501
	codeOwnerResigned      = 90502
	codeOwnerUnchanged     = 90504
	codeChatInherited      = 90508
)

// errorText returns the errmsg head WeCom uses for code. The texts of 40001,
// 40013, 41001, 41004, 40096, 45009, 45033, 84061, 90500 and 90501 copy
// WeCom's responses or documentation examples. The others are written in
// the same style.
func errorText(code int) string {
	switch code {
	case codeOK:
		return "ok"
	case codeSystemBusy:
		return "system busy"
	case codeVersionConflict:
		return "data version conflict"
	case codeInvalidSecret:
		return "invalid credential"
	case codeInvalidCorpID:
		return "invalid corpid"
	case codeInvalidToken:
		return "invalid access_token"
	case codeInvalidParameter:
		return "invalid parameter"
	case codeInvalidExternalID:
		return "invalid external userid"
	case codeNotResigned:
		return "handover user is not resigned"
	case codeTransferTooOften:
		return "transfer too frequently"
	case codeInTransfer:
		return "customer is in transfer"
	case codeSameMember:
		return "handover userid and takeover userid are the same"
	case codeNotFollower:
		return "handover userid is not the follower of the external contact"
	case codeTokenMissing:
		return "access_token missing"
	case codeCorpIDMissing:
		return "corpid missing"
	case codeSecretMissing:
		return "corpsecret missing"
	case codeTokenExpired:
		return "access_token expired"
	case codeRateLimited:
		return "api freq out of limit"
	case codeTooConcurrent:
		return "api concurrent out of limit"
	case codeUserNotFound:
		return "userid not found"
	case codeNoExternalContacts:
		return "not external contact"
	case codeOwnerNotResigned:
		return "the owner of this chat is not resigned"
	case codeNotCustomerGroup:
		return "chat is not external group chat"
	case codeOwnerResigned:
		return "the owner of this chat is resigned"
	case codeOwnerUnchanged:
		return "the new owner is the current owner"
	case codeChatInherited:
		return "the chat has been inherited"
	}
	return "error"
}

// apiError is a call-level failure: the errcode and the text that heads the
// errmsg, which may add detail to errorText(code).
type apiError struct {
	code int
	text string
}

func newAPIError(code int) *apiError {
	return &apiError{code: code, text: errorText(code)}
}

func newAPIErrorf(code int, format string, args ...any) *apiError {
	return &apiError{code: code, text: errorText(code) + ": " + fmt.Sprintf(format, args...)}
}

// callInfo describes one request; handlers read it from the context to fill
// the diagnostic tail of errmsg.
type callInfo struct {
	op       string
	seq      int64
	clientIP string
	unix     int64 // sandbox clock when the call arrived
}

type callInfoKey struct{}

func withCallInfo(ctx context.Context, info callInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, info)
}

func callInfoFrom(ctx context.Context) (callInfo, bool) {
	info, ok := ctx.Value(callInfoKey{}).(callInfo)
	return info, ok
}

// errmsg formats a WeCom errmsg: the text, then a hint with the time and
// call number, the caller's IP and the error-code help link, like
// "invalid external userid, hint: [1700000000_12_5f3a1c], from ip:
// 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=40096".
func errmsg(info callInfo, code int, text string) string {
	if code == codeOK {
		return "ok"
	}
	ip := info.clientIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	// The hint's last part only has to look opaque; a multiplicative hash
	// of the call number keeps it stable from run to run.
	tag := uint32(info.seq) * 2654435761 >> 8
	return fmt.Sprintf("%s, hint: [%d_%d_%06x], from ip: %s, more info at "+
		"https://open.work.weixin.qq.com/devtool/query?e=%d",
		text, info.unix, info.seq, tag, ip, code)
}
