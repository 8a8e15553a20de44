package run

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/orgpatch/orgpatch/internal/report"
)

// NotAttemptedError is a run's failure to attempt every target: the
// accounts it names keep whatever they had.
type NotAttemptedError struct {
	Accounts []string
	Targets  int
	// Why are the distinct reasons the targets were not started (a batch's
	// error and its cause), at most maxWhy of them.
	Why []string
}

// maxWhy bounds the distinct reasons a NotAttemptedError names.
const maxWhy = 3

// maxNamed bounds the accounts an error message names; the report names
// every target.
const maxNamed = 50

func (e *NotAttemptedError) Error() string {
	names := e.Accounts
	more := ""
	if len(names) > maxNamed {
		names, more = names[:maxNamed], fmt.Sprintf(" and %d more", len(e.Accounts)-maxNamed)
	}
	why := ""
	if len(e.Why) > 0 {
		why = " (" + strings.Join(e.Why, "; ") + ")"
	}
	return fmt.Sprintf("%d targets in %d accounts not attempted: %s%s%s", e.Targets, len(e.Accounts), strings.Join(names, ", "), more, why)
}

// Complete closes the report of a run whose every target has its outcome:
// the targets in account and region order, the counts, the duration, and a
// NotAttemptedError naming the accounts when any target was not started
// (a run never succeeds without attempting every target). It logs the
// run's end.
func Complete(env Env, rep *report.Report) {
	env = env.withDefaults()
	slices.SortStableFunc(rep.Targets, func(a, b report.Target) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region))
	})
	rep.Tally()
	if rep.Counts.NotStarted > 0 {
		na := &NotAttemptedError{Targets: rep.Counts.NotStarted}
		for _, t := range rep.Targets {
			if t.Status == report.NotStarted && !slices.Contains(na.Accounts, t.Account) {
				na.Accounts = append(na.Accounts, t.Account)
				if len(na.Why) < maxWhy && t.Reason != "" && !slices.Contains(na.Why, t.Reason) {
					na.Why = append(na.Why, t.Reason)
				}
			}
		}
		rep.Fail(na)
	}
	rep.Duration = env.Clock.Now().Sub(rep.Started)
	c := rep.Counts
	env.Logger.Info("run finished", "mode", rep.Mode, "targets", c.Targets, "willChange", c.WillChange, "noChange", c.NoChange, "converged", c.Converged,
		"unchanged", c.Unchanged, "failed", c.Failed, "skipped", c.Skipped, "pending", c.Pending,
		"notStarted", c.NotStarted, "writes", c.Writes, "duration", rep.Duration)
}

// ActionLog keeps the actions of the targets of a run that changed
// something, for its report: Env.OnTarget hands them over as each target
// finishes, and the outcomes themselves keep none. Equal lists of actions
// (every new account's, say) are kept once and shared, so the report grows
// with the targets that changed by a map entry each, not by their actions.
// It is safe for concurrent use.
type ActionLog struct {
	mu       sync.Mutex
	byTarget map[string][]report.Action // by Target.Name
	lists    map[string][]report.Action // the distinct lists, by their lines
}

func newActionLog() *ActionLog {
	return &ActionLog{byTarget: map[string][]report.Action{}, lists: map[string][]report.Action{}}
}

// Keep sets env.OnTarget to keep each target's actions in a new ActionLog
// (then to call what was set before), and returns the log.
func Keep(env *Env) *ActionLog {
	l := newActionLog()
	if next := env.OnTarget; next != nil {
		env.OnTarget = func(t report.Target) { l.add(t); next(t) }
	} else {
		env.OnTarget = l.add
	}
	return l
}

func (l *ActionLog) add(t report.Target) {
	if t.Changes() == 0 {
		return
	}
	var key strings.Builder
	for _, a := range t.Actions {
		key.WriteString(a.Kind + "\x00" + a.Resource + "\x00" + a.Name + "\x00" + a.Detail + "\x00")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	list, ok := l.lists[key.String()]
	if !ok {
		list = slices.Clone(t.Actions)
		l.lists[key.String()] = list
	}
	l.byTarget[t.Name()] = list
}

// Attach gives each target of rep its actions, and counts them.
func (l *ActionLog) Attach(rep *report.Report) {
	for i := range rep.Targets {
		t := &rep.Targets[i]
		t.Actions = l.byTarget[t.Name()]
	}
	rep.Tally()
}
