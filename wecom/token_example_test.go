package wecom_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// A company's token service supplies the tokens, and a token store shares
// them between clients, so the service is asked once for all of them.
// Worker processes would pass a store that they share, such as the Redis
// store of package redisstore, in place of the memory store.
func ExampleNewWithTokenSource() {
	var requests atomic.Int32
	service := wecom.TokenSourceFunc(func(ctx context.Context) (wecom.Token, error) {
		// A real source would call the company's token service here.
		requests.Add(1)
		return wecom.Token{AccessToken: "example-token", ExpiresAt: time.Now().Add(2 * time.Hour)}, nil
	})
	store := wecom.NewMemoryTokenStore()

	for range 3 {
		client, err := wecom.NewWithTokenSource(service,
			wecom.WithTokenStore(store),
			wecom.WithTokenKey("token-service:wwexamplecorp:customer-contact"))
		if err != nil {
			log.Fatal(err)
		}
		if _, err := client.Token(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("token service requests:", requests.Load())
	// Output: token service requests: 1
}
