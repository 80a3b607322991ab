package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// tsExample is the TypeScript example, relative to this package.
const tsExample = "../examples/typescript"

// handoverSummary is the JSON that the TypeScript handover program prints.
type handoverSummary struct {
	HandoverUserID  string                  `json:"handover_userid"`
	TakeoverUserID  string                  `json:"takeover_userid"`
	Unassigned      int                     `json:"unassigned"`
	Requested       int                     `json:"requested"`
	Started         int                     `json:"started"`
	Failed          int                     `json:"failed"`
	FailedByErrcode map[string]failureCount `json:"failed_by_errcode"`
	Unreported      int                     `json:"unreported"`
	Results         int                     `json:"results"`
	Statuses        map[string]int          `json:"statuses"`
}

type failureCount struct {
	Count   int    `json:"count"`
	Meaning string `json:"meaning"`
	Action  string `json:"action"`
}

// TestTypeScriptHandoverSandbox compiles the TypeScript example, runs it
// against `wecom-transfer sandbox serve`, and checks its summary.
func TestTypeScriptHandoverSandbox(t *testing.T) {
	t.Parallel()
	node := requireNodeExample(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	program := buildTypeScript(ctx, t, node)
	env, stop := startSandbox(ctx, t, buildCLI(t))
	env = append(env,
		"HANDOVER_USERID="+wecomtest.DemoResignedMember,
		"TAKEOVER_USERID="+wecomtest.DemoTakeoverMember)
	customers := len(wecomtest.DemoFixtures().ResignedCustomers)

	first := runHandover(ctx, t, node, program, env)
	checkSummary(t, first)
	if first.Unassigned != customers {
		t.Errorf("first run: unassigned = %d, want the demo member's %d", first.Unassigned, customers)
	}
	if first.Started <= 1000 {
		t.Errorf("first run: started = %d, want more than 1000", first.Started)
	}
	if first.Results < first.Started {
		t.Errorf("first run: %d transfer results for %d started transfers", first.Results, first.Started)
	}

	// The first run assigned every customer, so a second run has nothing to
	// transfer but still reads the same transfer results.
	second := runHandover(ctx, t, node, program, env)
	checkSummary(t, second)
	if second.Unassigned != 0 {
		t.Errorf("second run: unassigned = %d, want 0", second.Unassigned)
	}
	if second.Results != first.Results {
		t.Errorf("second run: results = %d, want %d as in the first run", second.Results, first.Results)
	}

	stop()
}

// TestTypeScriptHandoverWrongSecret checks that a wrong secret stops the
// program with errcode 40001 and that no message contains the secret.
func TestTypeScriptHandoverWrongSecret(t *testing.T) {
	t.Parallel()
	node := requireNodeExample(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	program := buildTypeScript(ctx, t, node)
	env, stop := startSandbox(ctx, t, buildCLI(t))
	const wrongSecret = "not-the-sandbox-secret"
	env = append(env,
		"WECOM_SECRET="+wrongSecret, // the last value of a variable wins
		"HANDOVER_USERID="+wecomtest.DemoResignedMember,
		"TAKEOVER_USERID="+wecomtest.DemoTakeoverMember)

	cmd := exec.CommandContext(ctx, node, program)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()

	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("run with a wrong secret: err = %v, want exit status 1", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing after a failed token request", stdout.String())
	}
	if !strings.Contains(stderr.String(), "errcode 40001") {
		t.Errorf("stderr = %q, want errcode 40001", stderr.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), wrongSecret) {
		t.Errorf("output contains the secret: %q", stderr.String())
	}

	stop()
}

// requireNodeExample returns the path of node, and skips the test when node
// or the example's npm packages are missing.
func requireNodeExample(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found in PATH; install Node 20 or later to run the TypeScript example")
	}
	if _, err := os.Stat(filepath.Join(tsExample, "node_modules", "typescript")); err != nil {
		t.Skipf("%s/node_modules has no typescript; run 'npm ci' in %s first", tsExample, tsExample)
	}
	return node
}

// buildTypeScript compiles the example into a temporary folder and returns
// the path of the handover program.
func buildTypeScript(ctx context.Context, t *testing.T, node string) string {
	t.Helper()
	out := t.TempDir()
	tsc := filepath.Join(tsExample, "node_modules", "typescript", "bin", "tsc")
	runTool(ctx, t, node, tsc, "--project", tsExample, "--outDir", out)

	// The example is an ES module package, so the copy needs the same type.
	if err := os.WriteFile(filepath.Join(out, "package.json"), []byte(`{"type": "module"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(out, "handover.js")
}

// runTool runs a build tool and fails the test with its output if it fails.
func runTool(ctx context.Context, t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// startSandbox starts `wecom-transfer sandbox serve` on a free loopback port
// and returns the environment for a client of it, which is the current
// environment plus WECOM_BASE_URL, WECOM_CORP_ID and WECOM_SECRET as the
// sandbox prints them. stop interrupts the sandbox and fails the test unless
// it exits 0. The sandbox is also killed when ctx ends.
func startSandbox(ctx context.Context, t *testing.T, bin string) (env []string, stop func()) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "sandbox", "serve", "--addr", "127.0.0.1:0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	done := make(chan error, 1)
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Errorf("interrupt sandbox: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sandbox exited with %v, want exit status 0\nstderr:\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("sandbox still running 10 s after SIGINT")
			_ = cmd.Process.Kill()
		}
	}

	vars, err := readSandboxVars(stdout)
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()
	t.Cleanup(stop)
	if err != nil {
		t.Fatalf("read sandbox address: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(vars["WECOM_BASE_URL"], "http://127.0.0.1:") {
		t.Fatalf("WECOM_BASE_URL = %q, want a loopback URL", vars["WECOM_BASE_URL"])
	}

	env = os.Environ()
	for _, name := range []string{"WECOM_BASE_URL", "WECOM_CORP_ID", "WECOM_SECRET"} {
		env = append(env, name+"="+vars[name])
	}
	return env, stop
}

// readSandboxVars reads NAME=value lines from the sandbox's stdout until it
// has the three variables a client needs.
func readSandboxVars(r io.Reader) (map[string]string, error) {
	want := []string{"WECOM_BASE_URL", "WECOM_CORP_ID", "WECOM_SECRET"}
	vars := map[string]string{}
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), "=")
		if ok {
			vars[name] = value
		}
		if len(vars) >= len(want) && hasAll(vars, want) {
			return vars, nil
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("sandbox stdout ended before WECOM_BASE_URL, WECOM_CORP_ID and WECOM_SECRET")
}

func hasAll(vars map[string]string, names []string) bool {
	for _, name := range names {
		if vars[name] == "" {
			return false
		}
	}
	return true
}

// runHandover runs the compiled handover program and decodes its summary.
func runHandover(ctx context.Context, t *testing.T, node, program string, env []string) handoverSummary {
	t.Helper()
	cmd := exec.CommandContext(ctx, node, program)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("handover program: %v\nstderr:\n%s", err, stderr.String())
	}

	var summary handoverSummary
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&summary); err != nil {
		t.Fatalf("decode summary: %v\nstdout:\n%s", err, out)
	}
	return summary
}

// checkSummary checks that the summary accounts for every requested
// customer and every transfer result, and that it names each errcode and
// status.
func checkSummary(t *testing.T, s handoverSummary) {
	t.Helper()
	if s.HandoverUserID != wecomtest.DemoResignedMember || s.TakeoverUserID != wecomtest.DemoTakeoverMember {
		t.Errorf("summary is for %s to %s, want %s to %s", s.HandoverUserID, s.TakeoverUserID,
			wecomtest.DemoResignedMember, wecomtest.DemoTakeoverMember)
	}
	if s.Requested != s.Unassigned {
		t.Errorf("requested = %d, want every unassigned customer (%d)", s.Requested, s.Unassigned)
	}
	if got := s.Started + s.Failed + s.Unreported; got != s.Requested {
		t.Errorf("started %d + failed %d + unreported %d = %d, want requested %d",
			s.Started, s.Failed, s.Unreported, got, s.Requested)
	}
	if s.Unreported != 0 {
		t.Errorf("unreported = %d, want 0: the sandbox reports every requested customer", s.Unreported)
	}

	failed := 0
	for code, f := range s.FailedByErrcode {
		failed += f.Count
		if _, err := strconv.Atoi(code); err != nil {
			t.Errorf("failed_by_errcode key %q is not an errcode", code)
		}
		if f.Meaning == "" || f.Meaning == "unknown code" {
			t.Errorf("errcode %s has no meaning in the error code table", code)
		}
	}
	if failed != s.Failed {
		t.Errorf("failed_by_errcode counts add up to %d, want failed = %d", failed, s.Failed)
	}

	known := map[string]bool{"complete": true, "waiting": true, "refused": true, "limit_reached": true, "no_record": true}
	results := 0
	for name, n := range s.Statuses {
		results += n
		if !known[name] {
			t.Errorf("unknown status %q in the summary", name)
		}
	}
	if results != s.Results {
		t.Errorf("statuses add up to %d, want results = %d", results, s.Results)
	}
}
