package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// DefaultPrefix starts the names of the keys that [Open] uses.
const DefaultPrefix = "wecom-transfer:"

// TokenStore keeps WeCom access tokens in Redis, where the clients of
// several processes share them. It is a [wecom.TokenStore] and a
// [wecom.TokenLocker], safe for concurrent use.
type TokenStore struct {
	client redis.UniversalClient
	prefix string
}

// New returns a token store that keeps its keys under prefix in client.
// Workers that share tokens must use the same prefix.
func New(client redis.UniversalClient, prefix string) *TokenStore {
	return &TokenStore{client: client, prefix: prefix}
}

// String returns the server address and database without credentials, such
// as redis://127.0.0.1:6379/0, for log lines.
func (s *TokenStore) String() string {
	c, ok := s.client.(*redis.Client)
	if !ok {
		return fmt.Sprintf("redisstore.TokenStore{%T}", s.client)
	}
	opts := c.Options()
	switch {
	case opts.Network == "unix":
		return fmt.Sprintf("unix://%s?db=%d", opts.Addr, opts.DB)
	case opts.TLSConfig != nil:
		return fmt.Sprintf("rediss://%s/%d", opts.Addr, opts.DB)
	}
	return fmt.Sprintf("redis://%s/%d", opts.Addr, opts.DB)
}

// Client returns the Redis client of the store, for [NewLimiter].
func (s *TokenStore) Client() redis.UniversalClient { return s.client }

// Close closes the Redis client.
func (s *TokenStore) Close() error { return s.client.Close() }

func (s *TokenStore) tokenKey(key string) string { return s.prefix + "token:" + key }

func (s *TokenStore) lockKey(key string) string { return s.prefix + "lock:" + key }

// Load returns the unexpired token stored under key.
func (s *TokenStore) Load(ctx context.Context, key string) (wecom.Token, bool, error) {
	redisKey := s.tokenKey(key)
	values, err := s.client.HMGet(ctx, redisKey, "token", "expires_at").Result()
	if err != nil {
		return wecom.Token{}, false, fmt.Errorf("redisstore: read token %s: %w", redisKey, err)
	}
	accessToken, _ := values[0].(string)
	expiresAt, _ := values[1].(string)
	if accessToken == "" && expiresAt == "" {
		return wecom.Token{}, false, nil
	}

	ms, err := strconv.ParseInt(expiresAt, 10, 64)
	if accessToken == "" || err != nil {
		return wecom.Token{}, false, fmt.Errorf("redisstore: read token %s: malformed entry; delete the key and the workers will fetch a new token", redisKey)
	}
	tok := wecom.Token{AccessToken: accessToken, ExpiresAt: time.UnixMilli(ms)}
	if !time.Now().Before(tok.ExpiresAt) {
		return wecom.Token{}, false, nil
	}
	return tok, true, nil
}

// storeScript saves a token and its expiry in Unix milliseconds, and lets
// the key expire with the token, unless the key holds a token that expires
// later.
var storeScript = redis.NewScript(`
local stored = tonumber(redis.call('HGET', KEYS[1], 'expires_at'))
if stored and stored > tonumber(ARGV[2]) then
	return 0
end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'expires_at', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`)

// Store saves tok under key until tok.ExpiresAt, unless the stored token
// expires later.
func (s *TokenStore) Store(ctx context.Context, key string, tok wecom.Token) error {
	redisKey := s.tokenKey(key)
	err := storeScript.Run(ctx, s.client, []string{redisKey}, tok.AccessToken, tok.ExpiresAt.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: write token %s: %w", redisKey, err)
	}
	return nil
}

// deleteScript removes a token only if its value is ARGV[1].
var deleteScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Delete removes the token under key if its value is accessToken.
func (s *TokenStore) Delete(ctx context.Context, key, accessToken string) error {
	redisKey := s.tokenKey(key)
	if err := deleteScript.Run(ctx, s.client, []string{redisKey}, accessToken).Err(); err != nil {
		return fmt.Errorf("redisstore: delete token %s: %w", redisKey, err)
	}
	return nil
}

// unlockScript deletes a lock only if its owner value is ARGV[1], so that a
// holder whose lock expired cannot release the lock of the next holder.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// TryLock takes the refresh lock of key for at most ttl: it sets the lock
// key to a random owner value with SET NX and an expiry.
func (s *TokenStore) TryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	lockKey := s.lockKey(key)
	owner := rand.Text()
	acquired, err := s.client.SetNX(ctx, lockKey, owner, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: lock %s: %w", lockKey, err)
	}
	if !acquired {
		return nil, false, nil
	}

	unlock := func(ctx context.Context) error {
		if err := unlockScript.Run(ctx, s.client, []string{lockKey}, owner).Err(); err != nil {
			return fmt.Errorf("redisstore: unlock %s: %w", lockKey, err)
		}
		return nil
	}
	return unlock, true, nil
}

var (
	_ wecom.TokenStore  = (*TokenStore)(nil)
	_ wecom.TokenLocker = (*TokenStore)(nil)
)
