package compliance

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// maxTableRows bounds each grouped section of the table (the worst first);
// the JSON summary and the page hold every group.
const maxTableRows = 15

// WriteTable prints the summary for a terminal: the organization's counts,
// the worst OUs, accounts and regions, the worst non-compliant nodes, and
// the targets that could not be read.
func (s Summary) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Patch compliance at %s (run %s): %d managed nodes, %d account x region targets read",
		s.Generated.UTC().Format("2006-01-02 15:04 MST"), s.RunId, s.Organization.Nodes, s.Targets)
	if s.Failed > 0 {
		fmt.Fprintf(w, ", %d not readable", s.Failed)
	}
	fmt.Fprintln(w)
	o := s.Organization
	fmt.Fprintf(w, "%.1f%% compliant and scanned within %d days (%d of %d machines); beside it: %d compliant but not scanned since, %d never scanned, %d EC2 instances not managed\n",
		o.Headline(), s.StaleAfterDays, o.CompliantCurrent, o.Machines(), o.Compliant-o.CompliantCurrent, o.Unreported, o.Unmanaged)
	fmt.Fprintf(w, "%d nodes with a patch past its SLA (%s), %d patches in all\n", o.PastSLA, FormatSLADays(s.SLADays), o.PastSLAPatches)
	// Labels are padded to one width, so that they read left-aligned in a
	// right-aligned table of numbers.
	type line struct {
		label string
		c     *Counts
	}
	lines := []line{{"organization", &s.Organization}}
	section := func(title string, gs []Group, label func(Group) string) {
		lines = append(lines, line{title, nil})
		for i, g := range gs {
			if i == maxTableRows {
				lines = append(lines, line{fmt.Sprintf("  ... %d more", len(gs)-i), nil})
				break
			}
			lines = append(lines, line{"  " + label(g), &g.Counts})
		}
	}
	section("by OU, worst first", s.ByOU, func(g Group) string { return g.Key })
	section("by account, worst first", s.ByAccount, func(g Group) string { return g.Key + " " + g.Name })
	section("by region, worst first", s.ByRegion, func(g Group) string { return g.Key })
	if len(s.ByRing) > 1 {
		section("by ring, worst first", s.ByRing, func(g Group) string { return g.Key })
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l.label))
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tnodes\tcompliant\tcurrent %%\tnon-compliant\tcritical\thigh\tmedium\tlow\tsecurity\tfailed\treboot\tpast SLA\tnot scanned %dd\tagent < %s\tconnection lost\tEC2 unmanaged\t\n", width, "", s.StaleAfterDays, s.MinAgentVersion)
	for _, l := range lines {
		c := l.c
		if c == nil {
			fmt.Fprintf(tw, "%-*s%s\n", width, l.label, strings.Repeat("\t", 17))
			continue
		}
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", width, l.label, c.Nodes, c.Compliant, c.Headline(), c.NonCompliant,
			c.Critical, c.High, c.Medium, c.Low, c.Security, c.Failed, c.PendingReboot, c.PastSLA, c.NotScanned, c.OldAgent, c.ConnectionLost, c.Unmanaged)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Listed) > 0 {
		fmt.Fprintln(w, "\nWorst non-compliant nodes:")
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  account\tregion\tnode\tname\tseverity\tpast SLA\tnon-compliant patches\tlast scan\t")
		for i, r := range s.Listed {
			if i == maxTableRows {
				fmt.Fprintf(tw, "  ... %d more\t\t\t\t\t\t\t\t\n", len(s.Listed)-i+s.MoreNonCompliant)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.Account, r.Region, r.ResourceId, r.Name, r.Severity, r.PastSLA, patchStates(r), age(s.Generated, r.LastScan()))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(s.NotRead) > 0 {
		fmt.Fprintf(w, "\nNot read (%s):\n", coverageLine(s.Coverage))
		for i, c := range s.NotRead {
			if i == maxTableRows {
				fmt.Fprintf(w, "  ... %d more in the coverage records\n", len(s.NotRead)-i)
				break
			}
			fmt.Fprintf(w, "  %s %s: %s: %s\n", c.Account, c.Region, c.Outcome, c.Reason)
		}
	}
	if s.Reused+s.Looked > 0 {
		fmt.Fprintf(w, "\nPatch lists: %d read, %d reused from run %s (not scanned since)\n", s.Looked, s.Reused, cmp.Or(s.PreviousRunId, "-"))
	}
	if s.Calls > 0 {
		fmt.Fprintf(w, "API calls: %d, %.2f per machine\n", s.Calls, float64(s.Calls)/float64(max(1, s.Organization.Machines())))
	}
	if s.EC2Invisible > 0 {
		fmt.Fprintf(w, "\nEC2 refused DescribeInstances in %d targets: unmanaged instances there are not counted.\n", s.EC2Invisible)
	}
	return nil
}

// coverageLine counts the account x region targets by outcome.
func coverageLine(m map[string]int) string {
	var parts []string
	for _, o := range []string{OutcomeRead, OutcomeFailed, OutcomeSuspended, OutcomeExcluded, OutcomeRegionNotEnabled} {
		if m[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[o], strings.ToLower(strings.ReplaceAll(o, "_", " "))))
		}
	}
	return strings.Join(parts, ", ")
}

// patchStates says how many non-compliant patches are in which state.
func patchStates(r Record) string {
	n := map[string]int{}
	var order []string
	for _, p := range r.Patches() {
		s := p.State
		if n[s] == 0 {
			order = append(order, s)
		}
		n[s]++
	}
	slices.Sort(order)
	parts := make([]string, 0, len(order))
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
	}
	return strings.Join(parts, ", ")
}

func patchIDs(r Record) string {
	ps := r.Patches()
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.Id+" ("+p.State+")")
	}
	if len(ids) > 3 {
		ids = append(ids[:3], fmt.Sprintf("+%d", len(ids)-3))
	}
	return strings.Join(ids, ", ")
}

// age says how long ago t was, in days.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 24*time.Hour {
		return "today"
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// WriteJSON writes the summary as one JSON document.
func (s Summary) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(s)
}

// JSONLines is a Sink writing one record per line.
func JSONLines(w io.Writer) func(*Record) error {
	e := json.NewEncoder(w)
	return func(r *Record) error { return e.Encode(r) }
}
