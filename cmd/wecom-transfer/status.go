package main

import (
	"context"
	"flag"
	"fmt"
	"iter"

	"github.com/wecom-transfer/wecom-transfer/handover"
	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// statusSummary is the last row of the status command.
type statusSummary struct {
	Type      string         `json:"type"` // "summary"
	From      string         `json:"from"`
	To        string         `json:"to"`
	Resigned  bool           `json:"resigned"`
	Customers int            `json:"customers"`
	Statuses  map[string]int `json:"statuses"`
	Error     string         `json:"error,omitempty"` // the failure that stopped the read early
}

func runStatus(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	cfg := handover.Config{}
	fs.StringVar(&cfg.From, "from", "", "userid of the member who handed over (required)")
	fs.StringVar(&cfg.To, "to", "", "userid of the member who took over (required)")
	fs.BoolVar(&cfg.Resigned, "resigned", false, "read the resigned-member transfer results")
	if err := parseFlags(env, fs, args); err != nil {
		return err
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
	if conn.sandbox != nil {
		logger.Info("the built-in sandbox starts with no transfers each run; to read a handover's results, start 'wecom-transfer sandbox serve' and point WECOM_BASE_URL at it")
	}

	rows := conn.client.TransferResults(ctx, cfg.From, cfg.To)
	if cfg.Resigned {
		rows = conn.client.ResignedTransferResults(ctx, cfg.From, cfg.To)
	}
	out := newPrinter(env.stdout, common.json)
	summary := statusSummary{Type: handover.TypeSummary, From: cfg.From, To: cfg.To, Resigned: cfg.Resigned, Statuses: map[string]int{}}
	if err := printStatuses(out, rows, &summary); err != nil {
		if common.json {
			summary.Error = err.Error()
			out.value(summary)
		}
		return err
	}

	if summary.Customers == 0 {
		other := "--resigned"
		if cfg.Resigned {
			other = "no --resigned"
		}
		logger.Warn(fmt.Sprintf("no transfer results for %s -> %s; WeCom keeps on-job and resigned transfers apart, so try %s if the transfer was of the other kind", cfg.From, cfg.To, other))
	}
	if common.json {
		out.value(summary)
	} else {
		fmt.Fprintf(env.stdout, "\nTransfers %s -> %s: %d customers", cfg.From, cfg.To, summary.Customers)
		if summary.Customers > 0 {
			fmt.Fprintf(env.stdout, " (%s)", formatCountMap(summary.Statuses))
		}
		fmt.Fprintln(env.stdout)
	}
	if n := summary.Statuses["refused"] + summary.Statuses["limit_reached"]; n > 0 {
		return &itemsFailedError{failed: n, total: summary.Customers}
	}
	return nil
}

func printStatuses(out *printer, rows iter.Seq2[wecom.Takeover, error], summary *statusSummary) error {
	for t, err := range rows {
		if err != nil {
			return fmt.Errorf("read transfer results: %w", err)
		}
		row := handover.Row{Type: handover.TypeCustomer, ID: t.ExternalUserID, Outcome: "started"}
		row.Status = wecom.StatusName(t.Status)
		if !t.TakeoverTime.IsZero() {
			row.TakeoverTime = t.TakeoverTime.Unix()
		}
		out.row(row)
		summary.Customers++
		summary.Statuses[row.Status]++
	}
	return nil
}
