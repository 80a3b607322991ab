package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecom-transfer/wecom-transfer/handover"
	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// printer writes results to stdout: one JSON object per line with --json,
// aligned text otherwise.
type printer struct {
	w    io.Writer
	json bool
	enc  *json.Encoder
}

func newPrinter(w io.Writer, asJSON bool) *printer {
	p := &printer{w: w, json: asJSON}
	if asJSON {
		p.enc = json.NewEncoder(w)
		p.enc.SetEscapeHTML(false)
	}
	return p
}

// value writes any JSON-able row.
func (p *printer) value(v any) {
	if err := p.enc.Encode(v); err != nil {
		fmt.Fprintf(p.w, "{\"type\":\"error\",\"errmsg\":%q}\n", err.Error())
	}
}

func (p *printer) row(r handover.Row) {
	if p.json {
		p.value(r)
		return
	}
	line := fmt.Sprintf("%-10s %-36s %-8s", r.Type, r.ID, r.Outcome)
	if r.Status != "" {
		line = fmt.Sprintf("%-10s %-36s %-8s", r.Type, r.ID, r.Status)
		if r.TakeoverTime != 0 {
			line += " " + time.Unix(r.TakeoverTime, 0).Format(time.DateTime)
		}
	}
	if r.ErrCode != 0 {
		line += " " + describeCode(r.ErrCode)
	}
	if r.ErrMsg != "" && r.Outcome != "failed" {
		line += " (" + r.ErrMsg + ")"
	}
	fmt.Fprintln(p.w, strings.TrimRight(line, " "))
}

func describeCode(code int) string {
	if text := wecom.CodeText(code); text != "" {
		return fmt.Sprintf("errcode %d: %s", code, text)
	}
	return fmt.Sprintf("errcode %d", code)
}

func (p *printer) summary(s *handover.Summary) {
	if p.json {
		p.value(s)
		return
	}
	kind := "on-job"
	if s.Resigned {
		kind = "resigned"
	}
	mode := ""
	if s.DryRun {
		mode = ", dry run: nothing was transferred"
	}
	fmt.Fprintf(p.w, "\nHandover %s -> %s (%s%s)\n", s.From, s.To, kind, mode)
	fmt.Fprintf(p.w, "  customers:   %s\n", formatCounts(s.Customers))
	fmt.Fprintf(p.w, "  group chats: %s\n", formatCounts(s.GroupChats))
	if len(s.Statuses) > 0 {
		fmt.Fprintf(p.w, "  takeover:    %s\n", formatCountMap(s.Statuses))
	}
	if s.FromJournal > 0 {
		fmt.Fprintf(p.w, "  from journal: %d items already settled by an earlier run\n", s.FromJournal)
	}
	if s.Duplicates > 0 {
		fmt.Fprintf(p.w, "  duplicates:  %d ids given twice were sent once\n", s.Duplicates)
	}
}

func formatCounts(c handover.Counts) string {
	parts := []string{fmt.Sprintf("%d total", c.Total)}
	if c.Planned > 0 {
		parts = append(parts, fmt.Sprintf("%d planned", c.Planned))
	}
	parts = append(parts, fmt.Sprintf("%d started", c.Started))
	failed := fmt.Sprintf("%d failed", c.Failed)
	if len(c.ByCode) > 0 {
		failed += " (" + formatCountMap(c.ByCode) + ")"
	}
	parts = append(parts, failed)
	if c.Unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d unknown", c.Unknown))
	}
	if c.NotSent > 0 {
		parts = append(parts, fmt.Sprintf("%d not sent", c.NotSent))
	}
	return strings.Join(parts, ", ")
}

// formatCountMap prints "key N" pairs in key order, numeric keys by value.
func formatCountMap(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ai, aerr := strconv.Atoi(a)
		bi, berr := strconv.Atoi(b)
		if aerr == nil && berr == nil {
			return ai - bi
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
