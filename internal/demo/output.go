package demo

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/orgpatch/orgpatch/internal/report"
)

// Check is one expectation of a step and, when it did not hold, why.
type Check struct {
	Name    string
	Problem string // empty when the check held
}

// StepError is a demo step whose outcome was not what it should be.
type StepError struct {
	Step   int
	Title  string
	Failed []Check
}

func (e *StepError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		parts[i] = fmt.Sprintf("check %q failed: %s", c.Name, c.Problem)
	}
	return fmt.Sprintf("demo step %d (%s): %s", e.Step, e.Title, strings.Join(parts, "; "))
}

func (d *demo) printf(format string, args ...any) {
	fmt.Fprintf(d.out, format, args...)
}

func (d *demo) heading(n, of int, title string) {
	line := fmt.Sprintf("=== Step %d/%d: %s ", n, of, title)
	d.printf("\n%s%s\n", line, strings.Repeat("=", max(0, 78-len(line))))
}

func (d *demo) sub(title string) { d.printf("\n-- %s\n", title) }

// check records one expectation; problem is empty when it held.
func (d *demo) check(name, problem string) {
	d.checks = append(d.checks, Check{Name: name, Problem: problem})
}

func (d *demo) printChecks() {
	d.sub("checks")
	for _, c := range d.checks {
		if c.Problem == "" {
			d.printf("  ok    %s\n", c.Name)
		} else {
			d.printf("  FAIL  %s: %s\n", c.Name, c.Problem)
		}
	}
}

// table prints one row per account (its name, and its ring in brackets)
// and one column per region: what the run did (or, dry, would do) there.
func (d *demo) table(rep report.Report) {
	names := map[string]string{}
	for _, a := range d.srv.Org().Accounts {
		names[a.ID] = a.Name
	}
	cells := map[string]map[string]string{}
	var accounts []string
	for _, t := range rep.Targets {
		if t.Ring != "" {
			names[t.Account] = strings.TrimSuffix(names[t.Account], " ["+t.Ring+"]") + " [" + t.Ring + "]"
		}
		if cells[t.Account] == nil {
			cells[t.Account] = map[string]string{}
			accounts = append(accounts, t.Account)
		}
		if t.Region == "" {
			for _, r := range rep.Regions {
				cells[t.Account][r] = cell(t)
			}
			continue
		}
		cells[t.Account][t.Region] = cell(t)
	}
	sort.Strings(accounts)
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  ACCOUNT\tNAME\t%s\n", strings.ToUpper(strings.Join(rep.Regions, "\t")))
	for _, a := range accounts {
		row := []string{a, names[a]}
		for _, r := range rep.Regions {
			row = append(row, cmpOr(cells[a][r], "-"))
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(row, "\t"))
	}
	_ = tw.Flush() // d.out is the terminal or a buffer; a failed write has nowhere to be reported
	d.printf("  %s\n", rep.Summary(400))
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cell is a target's outcome in a few characters, as a plan reads.
func cell(t report.Target) string {
	switch t.Status {
	case report.Unchanged, report.NoChange:
		return "="
	case report.Converged, report.WillChange:
		n := map[string]int{}
		for _, a := range t.Actions {
			n[a.Kind]++
		}
		var parts []string
		for _, k := range []struct{ kind, sign string }{{"create", "+"}, {"update", "~"}, {"reset", "~"}, {"delete", "-"}} {
			if n[k.kind] > 0 {
				parts = append(parts, fmt.Sprintf("%s%d", k.sign, n[k.kind]))
			}
		}
		return strings.Join(parts, " ")
	case report.Failed:
		if t.Error != nil && t.Error.Operation != "" {
			return strings.TrimSpace("FAILED " + t.Error.Operation + " " + t.Error.Code)
		}
		return "FAILED"
	case report.Skipped:
		return "skipped (" + strings.TrimPrefix(t.Reason, "account state ") + ")"
	default:
		return string(t.Status)
	}
}

// actions prints the changes of one target, as the report names them.
func (d *demo) actions(rep report.Report, account, region string) {
	i := slices.IndexFunc(rep.Targets, func(t report.Target) bool { return t.Account == account && t.Region == region })
	if i < 0 {
		return
	}
	t := rep.Targets[i]
	d.printf("  %s in detail:\n", t.Name())
	for _, a := range t.Actions {
		if a.Kind == "unchanged" {
			continue
		}
		line := fmt.Sprintf("    %-7s %-6s %s", a.Kind, a.Resource, a.Name)
		if a.Detail != "" {
			line += ": " + a.Detail
		}
		d.printf("%s\n", line)
	}
}

func (d *demo) printResponse(r cfn.Response) {
	d.printf("  CloudFormation received: %s, PhysicalResourceId %q\n", r.Status, r.PhysicalResourceID)
	if r.Reason != "" {
		d.printf("    Reason: %s\n", r.Reason)
	}
	if len(r.Data) > 0 {
		keys := make([]string, 0, len(r.Data))
		for k := range r.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%v", k, r.Data[k])
		}
		d.printf("    Data: %s\n", strings.Join(parts, " "))
	}
}
