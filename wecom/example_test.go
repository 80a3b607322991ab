package wecom_test

import (
	"context"
	"fmt"
	"log"

	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// Example hands three customers of an employed member to a colleague on
// the sandbox and prints each customer's outcome. Against WeCom, drop
// WithBaseURL and pass the corp ID and the app secret.
func Example() {
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp())
	defer sandbox.Close()

	client, err := wecom.New(sandbox.CorpID, sandbox.Secret, wecom.WithBaseURL(sandbox.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	ids := wecomtest.DemoFixtures()
	report, err := client.TransferCustomers(ctx, wecom.TransferRequest{
		HandoverUserID: wecomtest.DemoActiveMember,
		TakeoverUserID: wecomtest.DemoUnlimitedTakeoverMember,
		ExternalUserIDs: []string{
			ids.ActiveCustomers[0],
			ids.TransferredTwice[0],
			ids.Pending[0],
		},
		SuccessMessage: "Your account manager has changed; your new contact will say hello soon.",
	})
	if err != nil {
		log.Fatal(err) // the call as a whole failed
	}
	for i, item := range report.Items {
		fmt.Printf("customer %d: %s, errcode %d", i+1, item.Outcome, item.ErrCode)
		if item.ErrCode != 0 {
			fmt.Printf(" (%s)", wecom.CodeText(item.ErrCode))
		}
		fmt.Println()
	}
	fmt.Println(report.Err())

	// Output:
	// customer 1: started, errcode 0
	// customer 2: failed, errcode 40128 (customer transferred twice in 90 days)
	// customer 3: failed, errcode 40129 (customer being transferred)
	// wecom: 2 of 3 customers failed (errcode 40128 x1, errcode 40129 x1)
}
