package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

// unassignedRow is one unassigned customer of a resigned member.
type unassignedRow struct {
	Type           string `json:"type"` // "unassigned"
	HandoverUserID string `json:"handover_userid"`
	ID             string `json:"id"`
	DimissionTime  int64  `json:"dimission_time"`
}

type unassignedSummary struct {
	Type      string         `json:"type"` // "summary"
	Customers int            `json:"customers"`
	ByMember  map[string]int `json:"by_member"`
}

func runUnassigned(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("unassigned", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	var from string
	fs.StringVar(&from, "from", "", "only this resigned member's customers (default: every resigned member)")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}

	logger := env.logger(common.verbose)
	conn, err := env.connect(ctx, common, logger)
	if err != nil {
		return err
	}
	defer conn.Close()

	out := newPrinter(env.stdout, common.json)
	summary := unassignedSummary{Type: "summary", ByMember: map[string]int{}}
	for c, err := range conn.client.UnassignedCustomers(ctx) {
		if err != nil {
			return fmt.Errorf("list unassigned customers: %w", err)
		}
		if from != "" && c.HandoverUserID != from {
			continue
		}
		summary.Customers++
		summary.ByMember[c.HandoverUserID]++
		row := unassignedRow{Type: "unassigned", HandoverUserID: c.HandoverUserID, ID: c.ExternalUserID}
		if !c.DimissionTime.IsZero() {
			row.DimissionTime = c.DimissionTime.Unix()
		}
		if common.json {
			out.value(row)
			continue
		}
		fmt.Fprintf(env.stdout, "%-16s %-36s resigned %s\n", row.HandoverUserID, row.ID, c.DimissionTime.Format(time.DateOnly))
	}

	if common.json {
		out.value(summary)
		return nil
	}
	fmt.Fprintf(env.stdout, "\n%d unassigned customers", summary.Customers)
	if summary.Customers > 0 {
		fmt.Fprintf(env.stdout, " (%s)", formatCountMap(summary.ByMember))
	}
	fmt.Fprintln(env.stdout)
	return nil
}
