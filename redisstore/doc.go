// Package redisstore shares WeCom access tokens and call quotas through
// Redis, for companies that run several wecom-transfer workers against one
// corp.
//
// # Tokens
//
// [TokenStore] is a [wecom.TokenStore] and [wecom.TokenLocker]. Give the
// same store to the client of every worker with [wecom.WithTokenStore]: the
// workers then fetch one token per app and lifetime between them, where
// each would otherwise fetch its own. Each token is a Redis hash with its
// value and expiry, under the key prefix, "token:" and [wecom.TokenKey],
// which holds the corp ID and a hash of the secret, never the secret. A
// refresh takes the lock "lock:" and the same key with SET NX, an expiry
// and a random owner value. The owner releases it with a compare-and-delete
// script. A token that WeCom rejected is removed with a compare-and-delete
// script too, so a slow worker cannot remove the token another worker has
// just fetched.
//
// When Redis is down, each client keeps the token it holds and fetches new
// ones on its own, logging the failures through the client's logger.
//
// # Call limits
//
// [Limiter] is a [wecom.Limiter] that counts the calls of all workers to
// each API in a sliding window of one minute, so that together they stay
// under WeCom's limit of calls per corp and API. Give it to every client
// with [wecom.WithLimiter].
//
// # Connecting
//
// [Open] takes a URL such as redis://127.0.0.1:6379/0 and sets timeouts of
// one second in place of the five of go-redis v9. A Redis server that
// accepts connections but does not respond then delays a token refresh by
// about two seconds, a read and a write, before the client goes on without
// it. A server that refuses connections fails at once.
package redisstore
