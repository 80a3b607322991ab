package wecom

// codeTexts are short English meanings of the WeCom error codes that the
// transfer calls return, paraphrased from WeCom's global error code page.
var codeTexts = map[int]string{
	CodeSystemBusy:        "system busy, try again later",
	CodeVersionConflict:   "data version conflict, try again later",
	CodeInvalidSecret:     "invalid secret",
	40003:                 "invalid userid",
	CodeInvalidCorpID:     "invalid corp ID",
	CodeInvalidToken:      "invalid access_token",
	CodeInvalidParameter:  "invalid parameter",
	CodeSecretOtherCorp:   "secret of another corp",
	40096:                 "invalid external userid",
	CodeNotResigned:       "member has not resigned",
	40098:                 "takeover member not verified",
	40099:                 "takeover member at the external contact limit",
	CodeAlreadyInTransfer: "customer already in a transfer flow",
	CodeTransferTooOften:  "customer transferred twice in 90 days",
	CodeInTransfer:        "customer being transferred",
	CodeSameMember:        "handover and takeover are the same member",
	CodeNotFollower:       "handover member does not follow this customer",
	CodeTokenMissing:      "access_token missing",
	CodeTokenExpired:      "access_token expired",
	CodeRateLimited:       "API call limit exceeded",
	CodeTooConcurrent:     "too many concurrent calls",
	48002:                 "API not permitted for this app",
	60011:                 "member outside the app's visible range",
	60020:                 "caller IP not trusted",
	60111:                 "userid not found",
	CodeNoContacts:        "no external contact relationship",
	90500:                 "group owner has not resigned",
	90501:                 "not a customer group chat",
	90502:                 "group owner has resigned",
	90503:                 "group full, needs client confirmation",
	90504:                 "owner unchanged",
	codeGroupInheriting:   "group inheritance in progress",
	90508:                 "group already inherited",
}

// CodeText returns a short English meaning of a WeCom error code, or "" for
// a code this package does not know.
func CodeText(code int) string {
	return codeTexts[code]
}
