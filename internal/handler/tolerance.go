package handler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orgpatch/orgpatch/internal/report"
)

// Tolerance is the stack's failure tolerance (its FailureTolerancePercentage
// and FailureToleranceCount parameters), which the state machine passes to
// the summarize step: a Create or Update whose run left at most Allowed
// accounts failed or not attempted answers CloudFormation SUCCESS, naming
// them, and its execution still ends FAILED (the runs alarm); beyond it,
// FAILED, and a failed Create rolls back. A Delete has none: a removal
// with any account left keeps the configuration for the retried Delete.
// The zero Tolerance allows none (a run without the state machine).
type Tolerance struct {
	Percentage float64 `json:"failureTolerancePercentage"`
	Count      int     `json:"failureToleranceCount"`
}

// Allowed is how many of accounts may fail: the larger of the count and
// the percentage's share (rounded down).
func (t Tolerance) Allowed(accounts int) int {
	return max(t.Count, int(t.Percentage*float64(accounts)/100))
}

// tolerated returns the note an answer within t starts with, or "" when
// the run's failed accounts are beyond it (or none failed).
func (t Tolerance) tolerated(rep *report.Report) string {
	failed, accounts := failedAccounts(rep), accountsOf(rep)
	if len(failed) == 0 || len(failed) > t.Allowed(accounts) {
		return ""
	}
	return fmt.Sprintf("within the stack's failure tolerance (%d of %d accounts may fail): failed or not attempted: %s; ",
		t.Allowed(accounts), accounts, namedAccounts(failed))
}

// failedAccounts are the accounts with a target failed or not attempted,
// sorted.
func failedAccounts(rep *report.Report) []string {
	var out []string
	for _, t := range rep.Targets {
		if (t.Status == report.Failed || t.Status == report.NotStarted) && !slices.Contains(out, t.Account) {
			out = append(out, t.Account)
		}
	}
	slices.Sort(out)
	return out
}

func accountsOf(rep *report.Report) int {
	seen := map[string]bool{}
	for _, t := range rep.Targets {
		seen[t.Account] = true
	}
	return len(seen)
}

// maxNamedAccounts bounds the accounts an answer's Data names (the 4 KB
// answer keeps room for the Reason).
const maxNamedAccounts = 50

// namedAccounts is accounts joined by commas, at most maxNamedAccounts
// named and the rest counted.
func namedAccounts(accounts []string) string {
	if len(accounts) <= maxNamedAccounts {
		return strings.Join(accounts, ",")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(accounts[:maxNamedAccounts], ","), len(accounts)-maxNamedAccounts)
}
