package wecom_test

import (
	"errors"
	"testing"

	"github.com/wecom-transfer/wecom-transfer/wecom"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

func TestBatchStopsAfterPermanentCallFailure(t *testing.T) {
	t.Parallel()
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp())
	defer sandbox.Close()
	client, err := wecom.New(sandbox.CorpID, sandbox.Secret, wecom.WithBaseURL(sandbox.URL), wecom.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	ids := wecomtest.DemoFixtures().ResignedCustomers[:250]

	report, err := client.TransferResignedCustomers(t.Context(), wecom.ResignedTransferRequest{
		HandoverUserID:  wecomtest.DemoResignedMember,
		TakeoverUserID:  "nobody",
		ExternalUserIDs: ids,
	})

	apiErr, ok := errors.AsType[*wecom.APIError](err)
	if !ok {
		t.Fatalf("error = %v (%T), want a single *wecom.APIError", err, err)
	}
	if apiErr.Code != 60111 {
		t.Errorf("errcode = %d, want 60111", apiErr.Code)
	}
	if got := sandbox.Stats().Calls[wecomtest.OpTransferResignedCustomer]; got != 1 {
		t.Errorf("transfer calls = %d, want 1: later calls would fail the same way", got)
	}
	if got := report.Count(wecom.OutcomeFailed); got != 100 {
		t.Errorf("failed items = %d, want the 100 of the first call", got)
	}
	if got := report.Count(wecom.OutcomeNotSent); got != 150 {
		t.Errorf("not sent items = %d, want 150", got)
	}
}
