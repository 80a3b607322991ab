package redisstore_test

import (
	"context"
	"log"

	"github.com/wecom-transfer/wecom-transfer/redisstore"
	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// Every worker opens the same Redis URL and gives the store and a limiter
// to its client. The workers then fetch one token per app and lifetime
// between them and stay together under the call limit.
func ExampleOpen() {
	store, err := redisstore.Open("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Ping(context.Background()); err != nil {
		log.Fatal(err)
	}

	corpID, secret := "wwexamplecorp", "example-secret"
	limiter := redisstore.NewLimiter(store.Client(), redisstore.DefaultPrefix+"rate:"+corpID+":", wecom.DefaultCallsPerMinute)
	client, err := wecom.New(corpID, secret,
		wecom.WithTokenStore(store),
		wecom.WithLimiter(limiter))
	if err != nil {
		log.Fatal(err)
	}
	_ = client // list and transfer customers with client
}
