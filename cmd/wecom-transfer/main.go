// Command wecom-transfer hands a WeCom member's external customers and
// customer group chats to a colleague, follows the 24-hour takeover and
// reports every item's outcome.
//
// Credentials come from WECOM_CORP_ID and WECOM_SECRET. Without them, or
// with --sandbox, it runs on the built-in sandbox, a fake WeCom with a demo
// corp. Results go to stdout, progress and logs to stderr.
//
// Exit status: 0 when every item started or completed, 1 when some items
// failed, 2 for a usage or configuration error, 3 for an API or network
// failure, 130 when interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK          = 0
	exitItemsFailed = 1
	exitUsage       = 2
	exitAPI         = 3
	// exitInterrupted follows the shell convention for SIGINT: 128 + 2.
	exitInterrupted = 130
)

const usageText = `wecom-transfer hands a WeCom member's customers and group chats to a colleague.

Usage:
  wecom-transfer handover --from USERID --to USERID [--resigned] [--customers ID,...]
                          [--groups] [--message TEXT] [--dry-run] [--watch] [--journal FILE]
  wecom-transfer status --from USERID --to USERID [--resigned]
  wecom-transfer unassigned [--from USERID]
  wecom-transfer sandbox serve [--addr 127.0.0.1:PORT] [--clock-speed N]

Every command but sandbox serve also takes --json, --sandbox, --base-url URL,
--token-store URL and --verbose. Run "wecom-transfer COMMAND -h" for a
command's flags.

Credentials come from the environment: WECOM_CORP_ID and WECOM_SECRET. With
neither set, or with --sandbox, commands run on the built-in sandbox.
WECOM_BASE_URL replaces the API host; WECOM_TOKEN_STORE shares tokens.

Exit status: 0 all items started or completed, 1 some items failed,
2 usage or configuration error, 3 API or network failure, 130 interrupted.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	env := &environment{stdout: stdout, stderr: stderr, getenv: getenv}

	var err error
	switch args[0] {
	case "handover":
		err = runHandover(ctx, env, args[1:])
	case "status":
		err = runStatus(ctx, env, args[1:])
	case "unassigned":
		err = runUnassigned(ctx, env, args[1:])
	case "sandbox":
		err = runSandbox(ctx, env, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "wecom-transfer: unknown command %q\n\n%s", args[0], usageText)
		return exitUsage
	}
	return exitCode(stderr, err)
}

// exitCode prints err and maps it to an exit status.
func exitCode(stderr io.Writer, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	var usage *usageError
	var failed *itemsFailedError
	var interrupted *interruptedError
	switch {
	case errors.As(err, &interrupted):
		fmt.Fprintf(stderr, "wecom-transfer: %s\n", interrupted)
		return exitInterrupted
	case errors.As(err, &usage):
		if usage.msg != "" {
			fmt.Fprintf(stderr, "wecom-transfer: %s\n", usage.msg)
		}
		return exitUsage
	case errors.As(err, &failed):
		fmt.Fprintf(stderr, "wecom-transfer: %s\n", failed)
		return exitItemsFailed
	default:
		fmt.Fprintf(stderr, "wecom-transfer: %v\n", err)
		return exitAPI
	}
}

// usageError is a bad command line or configuration: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// interruptedError reports a run stopped by SIGINT or SIGTERM.
type interruptedError struct{ journal string }

func (e *interruptedError) Error() string {
	if e.journal == "" {
		return "interrupted; a rerun without --journal cannot tell which items this run sent, so use --journal to resume safely"
	}
	return fmt.Sprintf("interrupted; run the same command with --journal %s to finish the rest", e.journal)
}

// itemsFailedError reports that some items failed: exit status 1.
type itemsFailedError struct{ failed, total int }

func (e *itemsFailedError) Error() string {
	return fmt.Sprintf("%d of %d items did not start or complete", e.failed, e.total)
}
