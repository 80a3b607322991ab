package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/handover"
	"github.com/wecom-transfer/wecom-transfer/internal/syncbuf"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// runCLI runs one command line in-process and returns its exit status and
// output streams.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(name string) string { return env[name] }
	code := run(t.Context(), args, &stdout, &stderr, getenv)
	return code, stdout.String(), stderr.String()
}

// jsonLines decodes every stdout line, failing on a line that is not JSON.
func jsonLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	scanner := bufio.NewScanner(strings.NewReader(stdout))
	for scanner.Scan() {
		var row map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &row); err != nil {
			t.Fatalf("stdout line is not JSON: %q: %v", scanner.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows
}

func lastSummary(t *testing.T, rows []map[string]any) handover.Summary {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no output rows")
	}
	last := rows[len(rows)-1]
	if last["type"] != "summary" {
		t.Fatalf("last row type = %v, want summary", last["type"])
	}
	raw, _ := json.Marshal(last)
	var s handover.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHandoverResignedDemoWatch(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil,
		"handover", "--from", wecomtest.DemoResignedMember, "--to", wecomtest.DemoTakeoverMember,
		"--resigned", "--groups", "--watch", "--json")

	if code != exitItemsFailed {
		t.Errorf("exit status = %d, want %d; stderr:\n%s", code, exitItemsFailed, stderr)
	}
	if !strings.Contains(stderr, "built-in sandbox") {
		t.Errorf("stderr does not say the sandbox is used:\n%s", stderr)
	}
	rows := jsonLines(t, stdout)
	summary := lastSummary(t, rows)

	ids := wecomtest.DemoFixtures()
	if got, want := summary.Customers.Total, len(ids.ResignedCustomers); got != want {
		t.Errorf("customers total = %d, want %d", got, want)
	}
	if got, want := summary.Customers.Started, len(ids.ResignedCustomers); got != want {
		t.Errorf("customers started = %d, want %d", got, want)
	}
	if got, want := summary.GroupChats.Total, len(ids.ResignedChats); got != want {
		t.Errorf("group chats total = %d, want %d", got, want)
	}
	if got := summary.GroupChats.ByCode["90501"]; got != 4 {
		t.Errorf("group chats failed with 90501 = %d, want 4", got)
	}
	if got, want := summary.Statuses["refused"], len(ids.RefusingResigned); got != want {
		t.Errorf("refused = %d, want %d", got, want)
	}
	if got, want := summary.Statuses["limit_reached"], len(ids.OverLimit); got != want {
		t.Errorf("limit_reached = %d, want %d", got, want)
	}
	if got := summary.Statuses["waiting"]; got != 0 {
		t.Errorf("waiting after --watch = %d, want 0", got)
	}

	// Every customer has one transfer row and one final takeover row.
	transferRows := map[string]int{}
	finalStatus := map[string]string{}
	for _, row := range rows[:len(rows)-1] {
		if row["type"] != handover.TypeCustomer {
			continue
		}
		id := row["id"].(string)
		if status, ok := row["status"].(string); ok {
			finalStatus[id] = status
			continue
		}
		transferRows[id]++
	}
	for _, id := range ids.ResignedCustomers {
		if transferRows[id] != 1 {
			t.Errorf("customer %s has %d transfer rows, want 1", id, transferRows[id])
		}
		if finalStatus[id] == "" || finalStatus[id] == "waiting" {
			t.Errorf("customer %s final status = %q, want a settled state", id, finalStatus[id])
		}
	}
}

func TestHandoverOnJobPerItemErrors(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil,
		"handover", "--from", wecomtest.DemoActiveMember, "--to", wecomtest.DemoUnlimitedTakeoverMember,
		"--message", "您好，后续由我的同事为您服务。", "--json")

	if code != exitItemsFailed {
		t.Errorf("exit status = %d, want %d; stderr:\n%s", code, exitItemsFailed, stderr)
	}
	summary := lastSummary(t, jsonLines(t, stdout))
	ids := wecomtest.DemoFixtures()
	if got, want := summary.Customers.Total, len(ids.ActiveCustomers); got != want {
		t.Errorf("customers total = %d, want %d", got, want)
	}
	if got, want := summary.Customers.ByCode["40128"], len(ids.TransferredTwice); got != want {
		t.Errorf("failed with 40128 = %d, want %d", got, want)
	}
	if got, want := summary.Customers.ByCode["40129"], len(ids.Pending); got != want {
		t.Errorf("failed with 40129 = %d, want %d", got, want)
	}
	wantStarted := len(ids.ActiveCustomers) - len(ids.TransferredTwice) - len(ids.Pending)
	if got := summary.Customers.Started; got != wantStarted {
		t.Errorf("started = %d, want %d", got, wantStarted)
	}
}

func TestHandoverDryRunSendsNothing(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil,
		"handover", "--from", wecomtest.DemoResignedMember, "--to", wecomtest.DemoTakeoverMember,
		"--resigned", "--groups", "--dry-run", "--json")

	if code != exitOK {
		t.Errorf("exit status = %d, want 0; stderr:\n%s", code, stderr)
	}
	summary := lastSummary(t, jsonLines(t, stdout))
	if !summary.DryRun {
		t.Error("summary dry_run = false")
	}
	ids := wecomtest.DemoFixtures()
	if got, want := summary.Customers.Planned, len(ids.ResignedCustomers); got != want {
		t.Errorf("customers planned = %d, want %d", got, want)
	}
	if got := summary.Customers.Started; got != 0 {
		t.Errorf("customers started on a dry run = %d, want 0", got)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no command", nil, nil, "Usage:"},
		{"unknown command", nil, []string{"transfer"}, `unknown command "transfer"`},
		{"missing from", nil, []string{"handover", "--to", "b"}, "missing --from"},
		{"same member", nil, []string{"handover", "--from", "a", "--to", "a"}, `both "a"`},
		{"message on resigned", nil, []string{"handover", "--from", "a", "--to", "b", "--resigned", "--message", "hi"}, "on-job transfers only"},
		{"empty customer item", nil, []string{"handover", "--from", "a", "--to", "b", "--customers", "x,,y"}, "item 2 is empty"},
		{"stray argument", nil, []string{"handover", "--from", "a", "--to", "b", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", nil, []string{"status", "--form", "a"}, "flag provided but not defined: -form"},
		{"corp id without secret", map[string]string{"WECOM_CORP_ID": "wwtest"}, []string{"unassigned"}, "WECOM_SECRET is not"},
		{"secret without corp id", map[string]string{"WECOM_SECRET": "test-only"}, []string{"unassigned"}, "WECOM_CORP_ID is not"},
		{"base url without credentials", map[string]string{"WECOM_BASE_URL": "http://127.0.0.1:1"}, []string{"unassigned"}, "WECOM_CORP_ID and WECOM_SECRET are not"},
		{"bad clock speed", nil, []string{"sandbox", "serve", "--clock-speed", "0"}, "--clock-speed 0 must be above 0"},
		{"sandbox without serve", nil, []string{"sandbox"}, "one subcommand: serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tt.env, tt.args...)
			if code != exitUsage {
				t.Errorf("exit status = %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on a usage error", stdout)
			}
		})
	}
}

func TestAPIFailureExitStatus(t *testing.T) {
	t.Parallel()
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp())
	env := map[string]string{
		"WECOM_CORP_ID":  sandbox.CorpID,
		"WECOM_SECRET":   "wrong-secret-for-test",
		"WECOM_BASE_URL": sandbox.URL,
	}
	defer sandbox.Close()

	code, _, stderr := runCLI(t, env, "unassigned")
	if code != exitAPI {
		t.Errorf("exit status = %d, want %d", code, exitAPI)
	}
	if !strings.Contains(stderr, "errcode 40001") {
		t.Errorf("stderr = %q, want errcode 40001", stderr)
	}
	if strings.Contains(stderr, "wrong-secret-for-test") {
		t.Errorf("stderr leaks the secret: %q", stderr)
	}
}

func TestStatusAgainstServedSandbox(t *testing.T) {
	t.Parallel()
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp())
	defer sandbox.Close()
	env := map[string]string{
		"WECOM_CORP_ID":  sandbox.CorpID,
		"WECOM_SECRET":   sandbox.Secret,
		"WECOM_BASE_URL": sandbox.URL,
	}
	ids := wecomtest.DemoFixtures()
	subset := strings.Join(ids.ResignedCustomers[:3], ",")

	code, _, stderr := runCLI(t, env, "handover", "--from", wecomtest.DemoResignedMember,
		"--to", wecomtest.DemoUnlimitedTakeoverMember, "--resigned", "--customers", subset)
	if code != exitOK {
		t.Fatalf("handover exit status = %d, want 0; stderr:\n%s", code, stderr)
	}

	code, stdout, stderr := runCLI(t, env, "status", "--from", wecomtest.DemoResignedMember,
		"--to", wecomtest.DemoUnlimitedTakeoverMember, "--resigned", "--json")
	if code != exitOK {
		t.Fatalf("status exit status = %d, want 0; stderr:\n%s", code, stderr)
	}
	rows := jsonLines(t, stdout)
	if got := len(rows); got != 4 {
		t.Fatalf("status printed %d rows, want 3 customers and a summary", got)
	}
	for _, row := range rows[:3] {
		if row["status"] != "waiting" {
			t.Errorf("customer %v status = %v, want waiting", row["id"], row["status"])
		}
	}
	if got := rows[3]["statuses"].(map[string]any)["waiting"]; got != float64(3) {
		t.Errorf("summary waiting = %v, want 3", got)
	}
}

func TestUnassignedFiltersByMember(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil, "unassigned", "--from", wecomtest.DemoSecondResignedMember, "--json")
	if code != exitOK {
		t.Fatalf("exit status = %d, want 0; stderr:\n%s", code, stderr)
	}
	rows := jsonLines(t, stdout)
	ids := wecomtest.DemoFixtures()
	if got, want := len(rows)-1, len(ids.SecondResignedCustomers); got != want {
		t.Errorf("rows = %d, want %d", got, want)
	}
	for _, row := range rows[:len(rows)-1] {
		if row["handover_userid"] != wecomtest.DemoSecondResignedMember {
			t.Errorf("row of %v, want only %s", row["handover_userid"], wecomtest.DemoSecondResignedMember)
		}
	}
}

// syncBuffer is a buffer safe for one writer and one reader.
type syncBuffer = syncbuf.Buffer

func TestSandboxServeStopsOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "serve", "--addr", "127.0.0.1:0"}, &stdout, &stderr, func(string) string { return "" })
	}()

	var env map[string]string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		env = parseEnvLines(stdout.String())
		if len(env) == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(env) != 3 {
		t.Fatalf("sandbox serve printed %q, want three VAR=value lines", stdout.String())
	}
	if !strings.HasPrefix(env["WECOM_BASE_URL"], "http://127.0.0.1:") {
		t.Errorf("WECOM_BASE_URL = %q, want a loopback URL", env["WECOM_BASE_URL"])
	}

	// The printed values work for a real command against the server.
	code, out, errOut := runCLI(t, env, "unassigned", "--from", wecomtest.DemoSecondResignedMember, "--json")
	if code != exitOK {
		t.Fatalf("unassigned against the served sandbox: exit %d\n%s", code, errOut)
	}
	if rows := jsonLines(t, out); len(rows) != len(wecomtest.DemoFixtures().SecondResignedCustomers)+1 {
		t.Errorf("unassigned printed %d rows", len(rows))
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("sandbox serve exit status = %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox serve did not stop after cancel")
	}
}

func parseEnvLines(s string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if ok && strings.HasPrefix(name, "WECOM_") {
			env[name] = value
		}
	}
	return env
}

func TestUsageErrorsForBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"empty customers", nil, []string{"handover", "--from", "a", "--to", "b", "--customers", ""}, "--customers is empty"},
		{"blank customers", nil, []string{"handover", "--from", "a", "--to", "b", "--customers", " "}, "--customers is empty"},
		{"message too long", nil, []string{"handover", "--from", "a", "--to", "b", "--message", strings.Repeat("中", 201)}, "201 characters"},
		{"padded to", nil, []string{"handover", "--from", "a", "--to", "b "}, "leading or trailing spaces"},
		{"zero poll interval", nil, []string{"handover", "--from", "a", "--to", "b", "--poll-interval", "0s"}, "must be above 0"},
		{"clock speed NaN", nil, []string{"sandbox", "serve", "--clock-speed", "NaN"}, "must be above 0"},
		{"clock speed huge", nil, []string{"sandbox", "serve", "--clock-speed", "1e300"}, "at most"},
		{"ftp base url", map[string]string{"WECOM_CORP_ID": "wwtest", "WECOM_SECRET": "test-only", "WECOM_BASE_URL": "ftp://127.0.0.1:1"}, []string{"unassigned"}, "WECOM_BASE_URL \"ftp://127.0.0.1:1\" is not an http or https URL"},
		{"sandbox with base url", nil, []string{"unassigned", "--sandbox", "--base-url", "http://127.0.0.1:1"}, "conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, tt.env, tt.args...)
			if code != exitUsage {
				t.Errorf("exit status = %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, nil, "handover", "-h")
	if code != exitOK {
		t.Errorf("exit status = %d, want 0", code)
	}
	if !strings.Contains(stderr, "-poll-interval") {
		t.Errorf("help does not list the flags:\n%s", stderr)
	}
}

func TestJournalResumeWatchesEarlierStarts(t *testing.T) {
	t.Parallel()
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp(),
		wecomtest.WithClock(wecomtest.NewScaledClock(time.Now(), demoClockSpeed)),
		wecomtest.WithTokenTTL(24*time.Hour*365))
	defer sandbox.Close()
	env := map[string]string{"WECOM_CORP_ID": sandbox.CorpID, "WECOM_SECRET": sandbox.Secret, "WECOM_BASE_URL": sandbox.URL}
	journal := t.TempDir() + "/run.journal"
	args := []string{"handover", "--from", wecomtest.DemoSecondResignedMember, "--to", wecomtest.DemoUnlimitedTakeoverMember,
		"--resigned", "--json", "--journal", journal}

	// The first run starts every transfer and does not watch.
	if code, _, stderr := runCLI(t, env, args...); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	// The second run finds nothing unassigned but watches the journal's starts.
	code, stdout, stderr := runCLI(t, env, append(args, "--watch", "--poll-interval", "100ms")...)
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	summary := lastSummary(t, jsonLines(t, stdout))
	want := len(wecomtest.DemoFixtures().SecondResignedCustomers)
	if summary.FromJournal != want {
		t.Errorf("from_journal = %d, want %d", summary.FromJournal, want)
	}
	if got := summary.Statuses["complete"]; got != want {
		t.Errorf("complete = %d, want %d (statuses %v)", got, want, summary.Statuses)
	}
}

func TestJournalInterruptedRecordsEachItemOnce(t *testing.T) {
	t.Parallel()
	sandbox := wecomtest.NewServer(wecomtest.DemoCorp())
	defer sandbox.Close()
	env := map[string]string{"WECOM_CORP_ID": sandbox.CorpID, "WECOM_SECRET": sandbox.Secret, "WECOM_BASE_URL": sandbox.URL}
	journal := t.TempDir() + "/run.journal"

	ctx, cancel := context.WithCancel(t.Context())
	cancel() // interrupted before any transfer call
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"handover", "--from", wecomtest.DemoResignedMember, "--to", wecomtest.DemoTakeoverMember,
		"--resigned", "--customers", "wmA,wmB,wmC", "--json", "--journal", journal}, &stdout, &stderr, func(k string) string { return env[k] })
	if code != exitInterrupted {
		t.Fatalf("exit status = %d, want %d; stderr:\n%s", code, exitInterrupted, stderr.String())
	}
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if got := len(lines); got != 4 {
		t.Errorf("journal has %d lines, want a header and 3 rows:\n%s", got, data)
	}
}
