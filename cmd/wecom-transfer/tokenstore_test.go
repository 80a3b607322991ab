package main

import (
	"strings"
	"testing"

	"github.com/wecom-transfer/wecom-transfer/internal/redistest"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

func TestTokenStoreSharesTokenAcrossRuns(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp())
	defer sandbox.Close()
	env := map[string]string{
		"WECOM_CORP_ID":     sandbox.CorpID,
		"WECOM_SECRET":      sandbox.Secret,
		"WECOM_BASE_URL":    sandbox.URL,
		"WECOM_TOKEN_STORE": redis.URL,
	}

	for run := 1; run <= 3; run++ {
		code, _, stderr := runCLI(t, env, "unassigned", "--from", wecomtest.DemoSecondResignedMember, "--json")
		if code != exitOK {
			t.Fatalf("run %d: exit %d\n%s", run, code, stderr)
		}
	}
	if got := sandbox.Stats().TokensIssued; got != 1 {
		t.Errorf("gettoken issued %d tokens over 3 runs sharing Redis, want 1", got)
	}
}

func TestTokenStoreUnreachable(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	url := redis.URL
	redis.Stop()
	env := map[string]string{"WECOM_TOKEN_STORE": strings.Replace(url, "redis://", "redis://:test-only-password@", 1)}

	code, stdout, stderr := runCLI(t, env, "unassigned")
	if code != exitAPI {
		t.Errorf("exit status = %d, want %d", code, exitAPI)
	}
	if !strings.Contains(stderr, "--token-store") {
		t.Errorf("stderr does not name --token-store:\n%s", stderr)
	}
	if strings.Contains(stderr+stdout, "test-only-password") {
		t.Errorf("output leaks the Redis password:\n%s", stderr)
	}
}
