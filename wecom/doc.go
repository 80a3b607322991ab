// Package wecom is a client for the WeCom (企业微信) customer transfer API
// (客户继承): the calls that hand a member's external customers and customer
// group chats to a colleague, and the calls that follow each customer through
// the 24-hour takeover.
//
// It wraps the client generated from the project's OpenAPI spec and adds
// what generation cannot: the access token, typed errors, per-item results,
// iterators and batching.
//
// # Tokens
//
// [New] fetches tokens with gettoken and caches each one until shortly
// before it expires; concurrent callers share one fetch. When WeCom rejects
// a token with errcode 40014 or 42001, the client drops that token, fetches
// a new one and sends the call once more. Errcode 40001 is a wrong secret:
// it comes back as an [*APIError] matching [ErrBadCredentials] and is never
// retried. [NewWithTokenSource] takes tokens from any [TokenSource]. With
// [WithTokenStore], clients in several processes share one token per app
// through a store such as package redisstore's, and [WithLimiter] shares
// the call limit.
//
// # Errors
//
// A non-zero top-level errcode is an [*APIError]. A body that is not a
// WeCom envelope, such as a gateway's HTML page, is a [*ResponseError] with
// the HTTP status and an excerpt. Transfer calls also fail item by item:
// every customer or chat gets an [ItemResult], and [TransferReport.Err]
// returns "k of n failed" as an [*ItemsError]. No error string or log line
// contains the access token or the secret.
//
// # Batches and iterators
//
// The transfer methods take any number of ids, drop duplicates and send
// calls of at most 100. The list methods come as one-page calls, for
// callers that save a cursor, and as iter.Seq2 iterators that fetch lazily,
// can be ranged again and stop on a repeated cursor.
//
// # Retries
//
// Reads are retried after errcode -1 or 6000, transport errors and HTTP
// 5xx. Writes are retried only where a re-send is harmless; after a dropped
// connection their items get [OutcomeUnknown]. See [RetryPolicy].
package wecom
