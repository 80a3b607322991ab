package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/wecom-transfer/wecom-transfer/handover"
)

// sandboxPollInterval is the wait between reads of the transfer results on
// the sandbox, whose clock runs fast.
const sandboxPollInterval = 250 * time.Millisecond

func runHandover(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("handover", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	var cfg handover.Config
	var customers, journalPath string
	fs.StringVar(&cfg.From, "from", "", "userid of the member who hands over (required)")
	fs.StringVar(&cfg.To, "to", "", "userid of the member who takes over (required)")
	fs.BoolVar(&cfg.Resigned, "resigned", false, "the --from member has resigned: use the resigned-member calls")
	fs.StringVar(&customers, "customers", "", "comma-separated external_userids to transfer (default: all of --from's customers)")
	fs.BoolVar(&cfg.Groups, "groups", false, "also transfer --from's customer group chats")
	fs.StringVar(&cfg.Message, "message", "", "on-job only: message WeCom sends each customer after the transfer, at most 200 characters")
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "collect and print the items, transfer nothing")
	fs.BoolVar(&cfg.Watch, "watch", false, "poll the transfer results until no customer is waiting")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", 5*time.Minute, "wait between two reads of the transfer results with --watch, as a duration such as 30s or 5m")
	fs.StringVar(&journalPath, "journal", "", "append each outcome to this file; a rerun with it skips settled items")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}

	list, err := splitList("customers", customers)
	if err != nil {
		return err
	}
	if flagSet(fs, "customers") && len(list) == 0 {
		return usagef("--customers is empty; give external_userids separated by commas, or leave the flag out to transfer every customer of --from")
	}
	cfg.Customers = list
	if flagSet(fs, "poll-interval") && cfg.PollInterval <= 0 {
		return usagef("--poll-interval %s must be above 0, such as 30s or 5m", cfg.PollInterval)
	}
	if err := cfg.Validate(); err != nil {
		return &usageError{msg: err.Error()}
	}

	logger := env.logger(common.verbose)
	conn, err := env.connect(ctx, common, logger)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.sandbox != nil && !flagSet(fs, "poll-interval") {
		cfg.PollInterval = sandboxPollInterval
	}

	out := newPrinter(env.stdout, common.json)
	runner := &handover.Runner{Client: conn.client, Logger: logger, Emit: out.row}
	if journalPath != "" {
		journal, err := handover.OpenJournal(journalPath, cfg)
		if err != nil {
			return usagef("%v", err)
		}
		defer journal.Close()
		runner.Journal = journal
	}

	summary, runErr := runner.Run(ctx, cfg)
	if summary != nil {
		if runErr != nil {
			summary.Error = runErr.Error()
		}
		out.summary(summary)
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return &interruptedError{journal: journalPath}
		}
		return runErr
	}
	if failed := summary.Failures(); failed > 0 {
		return &itemsFailedError{failed: failed, total: summary.Customers.Total + summary.GroupChats.Total}
	}
	return nil
}

// flagSet reports whether the command line set the named flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
