package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// WriteTable writes one row per target (account, region, mode, status,
// changes, and what happened; a failure of a whole account once, with the
// regions it covered), then every change applied or planned (targets with
// the same changes once, as a group), then the counts.
func (r Report) WriteTable(w io.Writer) error { return r.writeTable(w, false) }

// WriteBriefTable is WriteTable without the rows of targets that needed no
// change, nor those of the largest group of targets with the same changes
// (listed once in the changes): what an operator reads after a run over
// thousands of targets.
func (r Report) WriteBriefTable(w io.Writer) error { return r.writeTable(w, true) }

func (r Report) writeTable(w io.Writer, brief bool) error {
	var b strings.Builder
	if r.Error != nil {
		fmt.Fprintf(&b, "run failed: %s\n\n", r.Error.Line())
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n")
	}
	groups := r.changeGroups()
	// A brief table leaves out the targets of the largest group of equal
	// changes: the changes section lists them once.
	common := map[string]bool{}
	if brief && len(groups) > 0 && len(groups[0].targets) > 1 {
		for _, name := range groups[0].targets {
			common[name] = true
		}
	}
	// The RING column shows when the configuration has rings.
	rings := slices.ContainsFunc(r.Targets, func(t Target) bool { return t.Ring != "" })
	ringCol := func(ring, why string) string {
		if !rings {
			return ""
		}
		if why != "" {
			ring += " (" + why + ")"
		}
		return cmp.Or(ring, "-") + "\t"
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ACCOUNT\tREGION\t%sMODE\tSTATUS\tCHANGES\tDETAIL\n", ringCol("RING", ""))
	hidden, same := 0, 0
	for _, row := range r.rows() {
		t := row.Target
		switch {
		case brief && (t.Status == Unchanged || t.Status == NoChange):
			hidden++
			continue
		case common[t.Name()]:
			same++
			continue
		}
		regions := strings.Join(row.regions, ",")
		if regions == "" {
			regions = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%d\t%s\n", t.Account, regions, ringCol(t.Ring, t.RingWhy), t.Mode, t.Status.Label(), t.Changes(), oneLine(t.detail()))
	}
	tw.Flush() // into a strings.Builder: cannot fail
	if hidden > 0 {
		fmt.Fprintf(&b, "(%s needing no change not shown)\n", plural(hidden, "target"))
	}
	if same > 0 {
		fmt.Fprintf(&b, "(%s with the same changes, listed once below, not shown)\n", plural(same, "target"))
	}
	if len(groups) > 0 {
		verb := "Changes"
		if r.DryRun {
			verb = "Planned changes (dry run)"
		}
		fmt.Fprintf(&b, "\n%s:\n", verb)
		for _, g := range groups {
			if len(g.targets) == 1 {
				fmt.Fprintf(&b, "%s:\n", g.targets[0])
			} else {
				fmt.Fprintf(&b, "The same %s in %s targets (%s):\n", plural(len(g.lines), "change"), thousands(len(g.targets)), names(g.targets))
			}
			for _, l := range g.lines {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.Counts.statusLine())
	for _, c := range r.Counts.Changes {
		if r.DryRun {
			fmt.Fprintf(&b, "%s: %d to create, %d to update, %d to delete, %d to reset\n", c.Resource, c.Create, c.Update, c.Delete, c.Reset)
		} else {
			fmt.Fprintf(&b, "%s: %d created, %d updated, %d deleted, %d reset\n", c.Resource, c.Create, c.Update, c.Delete, c.Reset)
		}
	}
	fmt.Fprintf(&b, "%s\n", r.closing())
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report table: %w", err)
	}
	return nil
}

// row is one table row: a target, or a failure of a whole account with
// every region it covered.
type row struct {
	Target
	regions []string
}

// rows folds each account-level failure into one row per account.
func (r Report) rows() []row {
	var rows []row
	for _, t := range r.Targets {
		if n := len(rows); n > 0 && t.accountWide() {
			last := &rows[n-1]
			if last.accountWide() && last.Account == t.Account && last.Error.Line() == t.Error.Line() {
				last.regions = append(last.regions, t.Region)
				continue
			}
		}
		rw := row{Target: t}
		if t.Region != "" {
			rw.regions = []string{t.Region}
		}
		rows = append(rows, rw)
	}
	return rows
}

func (t Target) accountWide() bool {
	return t.Status == Failed && t.Error != nil && t.Error.Scope == ScopeAccount
}

// changeGroup is targets with the same changes.
type changeGroup struct {
	lines   []string
	targets []string
}

// changeGroups groups the targets by their changes, the largest group
// first (ties: in report order).
func (r Report) changeGroups() []changeGroup {
	var groups []*changeGroup
	byKey := map[string]*changeGroup{}
	// Targets that share one list of actions (a run's report shares the
	// equal ones) are looked up once: at 50,000 targets, printing each
	// one's lines again would take more memory than the run.
	byList := map[*Action]*changeGroup{}
	for _, t := range r.Targets {
		if len(t.Actions) == 0 {
			continue
		}
		g, ok := byList[&t.Actions[0]]
		if !ok {
			var lines []string
			for _, a := range t.Actions {
				if a.Kind != KindUnchanged {
					lines = append(lines, a.Line())
				}
			}
			if len(lines) > 0 {
				key := strings.Join(lines, "\n")
				if g, ok = byKey[key]; !ok {
					g = &changeGroup{lines: lines}
					byKey[key] = g
					groups = append(groups, g)
				}
			}
			byList[&t.Actions[0]] = g
		}
		if g != nil {
			g.targets = append(g.targets, t.Name())
		}
	}
	slices.SortStableFunc(groups, func(a, b *changeGroup) int { return len(b.targets) - len(a.targets) })
	out := make([]changeGroup, len(groups))
	for i, g := range groups {
		out[i] = *g
	}
	return out
}

// maxNames bounds the targets a group names.
const maxNames = 8

// names lists targets, the first maxNames of them and how many more.
func names(targets []string) string {
	if len(targets) <= maxNames {
		return strings.Join(targets, ", ")
	}
	return strings.Join(targets[:maxNames], ", ") + fmt.Sprintf(" and %s more", thousands(len(targets)-maxNames))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}

// thousands writes n with commas: 16,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// WriteJSON writes the report as indented JSON, one target at a time: the
// document is the report's whole encoding, but a run of 50,000 targets
// never has it all in memory at once.
func (r Report) WriteJSON(w io.Writer) error {
	if err := r.writeJSON(w); err != nil {
		return fmt.Errorf("write report JSON: %w", err)
	}
	return nil
}

func (r Report) writeJSON(w io.Writer) error {
	head := r
	head.Targets = nil
	doc, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	// A quote inside a JSON string is escaped, so this names the field.
	const field = `"targets": null`
	at := bytes.Index(doc, []byte(field))
	if len(r.Targets) == 0 || at < 0 {
		_, err := w.Write(append(doc, '\n'))
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(doc[:at])
	bw.WriteString(`"targets": [`)
	for i, t := range r.Targets {
		b, err := json.MarshalIndent(t, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(b)
	}
	bw.WriteString("\n  ]")
	bw.Write(doc[at+len(field):])
	bw.WriteByte('\n')
	return bw.Flush() // a bufio.Writer keeps the first write error, and returns it here
}

// Summary is a one-paragraph account of the run in at most budget bytes:
// the counts, then as many failed targets (with operation and error code)
// as fit, then how many more failed. It is meant for places with a size
// limit, such as CloudFormation's 4 KB response Reason.
func (r Report) Summary(budget int) string {
	head := r.countsLine()
	if r.Error != nil {
		head = "run failed: " + r.Error.Line() + "; " + head
	}
	var failed []row // an account's failure once, with its regions
	for _, rw := range r.rows() {
		if rw.Status == Failed {
			failed = append(failed, rw)
		}
	}
	if len(failed) == 0 {
		return truncate(head, budget)
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("; failed:")
	for i, t := range failed {
		item := " " + t.Name()
		if len(t.regions) > 1 {
			item = " " + t.Account + " (" + strings.Join(t.regions, ",") + ")"
		}
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

// countsLine is the counts on one line, for summaries: the targets by
// status, the changes by resource, and what was written.
func (r Report) countsLine() string {
	line := r.Counts.statusLine()
	var parts []string
	for _, c := range r.Counts.Changes {
		parts = append(parts, c.Resource+" "+c.line(r.DryRun))
	}
	if len(parts) > 0 {
		line += "; " + strings.Join(parts, "; ")
	}
	return line + "; " + r.closing()
}

// statusLine is "24 targets: 16 will change, 4 failed, 4 skipped".
func (c Counts) statusLine() string {
	var parts []string
	for _, s := range Statuses {
		if n := c.Of(s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s.Label()))
		}
	}
	line := fmt.Sprintf("%d targets", c.Targets)
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	return line
}

// line is the non-zero counts: "3 to create, 1 to delete" (dry run) or
// "3 created, 1 deleted".
func (r ResourceChanges) line(dryRun bool) string {
	verbs := [4]string{"created", "updated", "deleted", "reset"}
	if dryRun {
		verbs = [4]string{"to create", "to update", "to delete", "to reset"}
	}
	var parts []string
	for i, n := range [4]int{r.Create, r.Update, r.Delete, r.Reset} {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, verbs[i]))
		}
	}
	return strings.Join(parts, ", ")
}

// closing says what the run wrote: "nothing was changed" for a plan,
// else the writes made; and how long it took.
func (r Report) closing() string {
	line := fmt.Sprintf("%d writes", r.Counts.Writes)
	if r.DryRun {
		line = "plan only: nothing was changed"
	}
	if r.Duration > 0 {
		line += " (" + r.Duration.Round(time.Millisecond).String() + ")"
	}
	return line
}

func (t Target) detail() string {
	switch {
	case t.Error != nil:
		return t.Error.Line()
	case t.Reason != "":
		return t.Reason
	}
	var c Counts
	for _, a := range t.Actions {
		c.add(a)
	}
	parts := make([]string, 0, len(c.Changes))
	for _, rc := range c.Changes {
		parts = append(parts, rc.Resource+" "+rc.line(t.Status == WillChange))
	}
	return strings.Join(parts, "; ")
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
