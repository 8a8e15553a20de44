package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// WriteTable writes one row per target (account, region, mode, status,
// writes, and what happened), then every change that was applied or
// planned, then the counts.
func (r Report) WriteTable(w io.Writer) error { return r.writeTable(w, false) }

// WriteBriefTable is WriteTable without the rows of unchanged targets: what
// an operator reads after a run over thousands of converged targets.
func (r Report) WriteBriefTable(w io.Writer) error { return r.writeTable(w, true) }

func (r Report) writeTable(w io.Writer, brief bool) error {
	if r.Error != nil {
		if _, err := fmt.Fprintf(w, "run failed: %s\n\n", oneLine(r.Error.Message)); err != nil {
			return fmt.Errorf("write report table: %w", err)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tREGION\tMODE\tSTATUS\tWRITES\tDETAIL")
	hidden := 0
	for _, t := range r.Targets {
		if brief && t.Status == Unchanged {
			hidden++
			continue
		}
		region := t.Region
		if region == "" {
			region = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", t.Account, region, t.Mode, t.Status, t.Writes, oneLine(t.detail()))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report table: %w", err)
	}
	if hidden > 0 {
		if _, err := fmt.Fprintf(w, "(%d unchanged targets not shown)\n", hidden); err != nil {
			return fmt.Errorf("write report table: %w", err)
		}
	}
	var changes strings.Builder
	for _, t := range r.Targets {
		var lines []string
		for _, a := range t.Actions {
			if a.Kind == "unchanged" {
				continue
			}
			line := fmt.Sprintf("  %s %s %s", a.Kind, a.Resource, a.Name)
			if a.Detail != "" {
				line += ": " + oneLine(a.Detail)
			}
			lines = append(lines, line)
		}
		if len(lines) > 0 {
			fmt.Fprintf(&changes, "%s:\n%s\n", t.Name(), strings.Join(lines, "\n"))
		}
	}
	if changes.Len() > 0 {
		verb := "Changes"
		if r.DryRun {
			verb = "Planned changes (dry run)"
		}
		if _, err := fmt.Fprintf(w, "\n%s:\n%s", verb, changes.String()); err != nil {
			return fmt.Errorf("write report table: %w", err)
		}
	}
	if _, err := fmt.Fprintf(w, "\n%s\n", r.countsLine()); err != nil {
		return fmt.Errorf("write report table: %w", err)
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report JSON: %w", err)
	}
	return nil
}

// Summary is a one-paragraph account of the run in at most budget bytes:
// the counts, then as many failed targets (with operation and error code)
// as fit, then how many more failed. It is meant for places with a size
// limit, such as CloudFormation's 4 KB response Reason.
func (r Report) Summary(budget int) string {
	head := r.countsLine()
	if r.Error != nil {
		head = "run failed: " + oneLine(r.Error.Message) + "; " + head
	}
	failed := r.Failed()
	if len(failed) == 0 {
		return truncate(head, budget)
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("; failed:")
	for i, t := range failed {
		item := " " + t.Name()
		if t.Error != nil {
			if t.Error.Operation != "" {
				item += " " + t.Error.Operation
			}
			if t.Error.Code != "" {
				item += " " + t.Error.Code
			} else if t.Error.Operation == "" {
				item += " " + oneLine(t.Error.Message)
			}
		}
		if i < len(failed)-1 {
			item += ";"
		}
		more := ""
		if rest := len(failed) - i - 1; rest > 0 {
			more = fmt.Sprintf(" and %d more", rest)
		}
		// Keep room for the "and N more" of the items that would follow.
		if b.Len()+len(item)+len(more) > budget {
			fmt.Fprintf(&b, " and %d more", len(failed)-i)
			break
		}
		b.WriteString(item)
	}
	return truncate(b.String(), budget)
}

func (r Report) countsLine() string {
	c := r.Counts
	parts := []string{}
	for _, s := range Statuses {
		if n := c.Of(s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	line := fmt.Sprintf("%d targets", c.Targets)
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	line += fmt.Sprintf("; %d writes", c.Writes)
	if r.DryRun {
		line += " planned (dry run)"
	}
	if r.Duration > 0 {
		line += " in " + r.Duration.Round(time.Millisecond).String()
	}
	return line
}

func (t Target) detail() string {
	switch {
	case t.Error != nil:
		where := strings.TrimSpace(t.Error.Service + " " + t.Error.Operation + " " + t.Error.Code)
		if where == "" {
			return t.Error.Message
		}
		return where + ": " + t.Error.Message
	case t.Reason != "":
		return t.Reason
	}
	kinds := map[string]int{}
	var order []string
	for _, a := range t.Actions {
		if a.Kind == "unchanged" {
			continue
		}
		if kinds[a.Kind] == 0 {
			order = append(order, a.Kind)
		}
		kinds[a.Kind]++
	}
	parts := make([]string, 0, len(order))
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
	}
	return strings.Join(parts, ", ")
}

// oneLine keeps a message on one table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	const ellipsis = "..."
	if n <= len(ellipsis) {
		return ellipsis[:n]
	}
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
