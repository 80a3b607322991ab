package tests

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/handover"
	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

var (
	buildOnce sync.Once
	cliPath   string
	buildErr  error
)

// buildCLI builds the wecom-transfer binary once per test process.
func buildCLI(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wecom-transfer-cli")
		if err != nil {
			buildErr = err
			return
		}
		cliPath = filepath.Join(dir, "wecom-transfer")
		out, err := exec.Command("go", "build", "-o", cliPath, "../cmd/wecom-transfer").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return cliPath
}

// readJournal returns the last row of each item in a journal file.
func readJournal(t *testing.T, path string) map[string]handover.Row {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]handover.Row{}
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i == 0 {
			continue // header
		}
		var row handover.Row
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			continue // a line torn by the interruption
		}
		last[row.Type+"/"+row.ID] = row
	}
	return last
}

func TestHandoverInterruptedThenResumedWithJournal(t *testing.T) {
	t.Parallel()
	bin := buildCLI(t)

	const members = 3000
	corp, customers, _ := loadCorpSized(time.Now(), members, 0)
	// 40 ms per transfer call keeps the run going long enough to stop it
	// half way: 30 calls over 4 workers.
	slowTransfers := func(op string, _ int64) wecomtest.Fault {
		if op == wecomtest.OpTransferResignedCustomer {
			return wecomtest.Fault{Latency: 40 * time.Millisecond}
		}
		return wecomtest.Fault{}
	}
	sandbox := wecomtest.NewServer(corp, wecomtest.WithFaults(slowTransfers))
	defer sandbox.Close()

	journal := filepath.Join(t.TempDir(), "handover.journal")
	args := []string{"handover", "--from", loadLeaver, "--to", loadHeir, "--resigned", "--json", "--journal", journal}
	env := append(os.Environ(),
		"WECOM_CORP_ID="+sandbox.CorpID, "WECOM_SECRET="+sandbox.Secret, "WECOM_BASE_URL="+sandbox.URL)

	// First run: stop it with SIGINT after 500 customer rows.
	first := exec.Command(bin, args...)
	first.Env = env
	stdout, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	rowsBeforeSignal := 0
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		if strings.Contains(scanner.Text(), `"type":"customer"`) {
			rowsBeforeSignal++
		}
		if rowsBeforeSignal == 500 {
			if err := first.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for scanner.Scan() { // drain the rest so the process can exit
	}
	err = first.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 130 {
		t.Fatalf("interrupted run ended with %v, want exit status 130", err)
	}
	outcomes := map[string]int{}
	for _, row := range readJournal(t, journal) {
		outcomes[row.Outcome]++
	}
	if outcomes["started"] >= members {
		t.Fatalf("first run started all %d customers before the signal took effect; the test needs a slower run", members)
	}
	t.Logf("first run: %d rows before SIGINT; journal outcomes %v", rowsBeforeSignal, outcomes)

	// Second run with the same journal finishes the rest.
	second := exec.Command(bin, args...)
	second.Env = env
	out, err := second.Output()
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}

	final := readJournal(t, journal)
	starts := sandbox.Stats().TransferStarts
	for _, id := range customers {
		row, ok := final["customer/"+id]
		if !ok {
			t.Errorf("customer %s missing from the journal", id)
			continue
		}
		if row.Outcome != "started" {
			t.Errorf("customer %s outcome = %q (errcode %d), want started", id, row.Outcome, row.ErrCode)
		}
		if starts[id] != 1 {
			t.Errorf("customer %s transfer starts = %d, want 1", id, starts[id])
		}
	}
	if len(final) != members {
		t.Errorf("journal holds %d items, want %d", len(final), members)
	}
}
