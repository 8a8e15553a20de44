package ssmsvc

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// Maintenance windows that run. Nothing runs on its own: Advance, called
// when the simulator's clock moves, runs every occurrence that fell due, in
// time order. A window's RUN_COMMAND tasks of AWS-RunPatchBaseline scan or
// install on the task's targets; the run is recorded as a window execution
// with its task executions, and as a Run Command command with one
// invocation per target.

// WithCatalog makes the service patch from c: DescribeAvailablePatches
// lists it and AWS-RunPatchBaseline evaluates baselines over it. Without
// it there is no catalog and runs report no patches.
func WithCatalog(c *nodes.Catalog) Option { return func(s *Service) { s.catalog = c } }

// WithInstallFailures makes installs fail: rate(account, region, nodeID) is
// the chance (0..1) that an Install on the node fails, drawn from seed,
// the node and the occurrence, so the same run fails the same nodes.
func WithInstallFailures(seed uint64, rate func(account, region, nodeID string) float64) Option {
	return func(s *Service) { s.failSeed, s.failRate = seed, rate }
}

// failsInstall draws whether an install on node at at fails.
func (s *Service) failsInstall(account, region, node string, at time.Time) bool {
	if s.failRate == nil {
		return false
	}
	p := s.failRate(account, region, node)
	if p <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%s/%s/%d", s.failSeed, account, region, node, at.UnixNano())
	return float64(h.Sum64()>>11)/(1<<53) < p
}

// WindowExecution is one run of a maintenance window.
type WindowExecution struct {
	ID, WindowID, Status, StatusDetails string
	Start, End                          time.Time
	Tasks                               []TaskExecution
}

// TaskExecution is one task's part of a window execution.
type TaskExecution struct {
	ID, TaskArn, Type, Status, StatusDetails string
	Start, End                               time.Time
	CommandID                                string // RUN_COMMAND tasks
}

// Command is a Run Command command a window task sent.
type Command struct {
	ID, DocumentName, Comment, Status, StatusDetails string
	Parameters                                       map[string][]string
	Targets                                          []Target
	Requested                                        time.Time
	MaxConcurrency, MaxErrors, ServiceRole           string
	Invocations                                      []Invocation
}

// Invocation is a command's run on one node.
type Invocation struct {
	InstanceID, Status, StatusDetails string
}

// occurrence is a window falling due.
type occurrence struct {
	at       time.Time
	key      stateKey
	windowID string
}

// Advance runs, in time order, every occurrence of every enabled window
// of every account x region that falls in (after, until], within the
// window's StartDate and EndDate, and returns how many ran. Windows are
// looked at, not nodes: with none due it touches no node.
func (s *Service) Advance(after, until time.Time) int {
	s.mu.RLock()
	keys := slices.Collect(maps.Keys(s.states))
	sts := make([]*state, len(keys))
	for i, k := range keys {
		sts[i] = s.states[k]
	}
	s.mu.RUnlock()
	var due []occurrence
	for i, st := range sts {
		st.mu.Lock()
		for _, w := range st.windows {
			if !w.Enabled {
				continue
			}
			from, to := after, until
			start, end := w.activeSpan()
			if !start.IsZero() && start.After(from) {
				from = start.Add(-time.Nanosecond)
			}
			if !end.IsZero() && end.Before(to) {
				to = end
			}
			for _, t := range Occurrences(w.Schedule, w.ScheduleTimezone, w.ScheduleOffset, w.anchor(), from, to) {
				due = append(due, occurrence{t, keys[i], w.ID})
			}
		}
		st.mu.Unlock()
	}
	slices.SortFunc(due, func(a, b occurrence) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.key.account, b.key.account),
			strings.Compare(a.key.region, b.key.region), strings.Compare(a.windowID, b.windowID))
	})
	for _, o := range due {
		s.runWindow(Context{Account: o.key.account, Region: o.key.region, Now: o.at}, o.windowID)
	}
	return len(due)
}

// runWindow runs one occurrence of a window at ctx.Now.
func (s *Service) runWindow(ctx Context, windowID string) {
	at := ctx.now()
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	w, ok := st.windows[windowID]
	if !ok {
		st.mu.Unlock()
		return
	}
	win := w.clone()
	st.mu.Unlock()
	exec := &WindowExecution{ID: s.newUUID(), WindowID: windowID, Status: "SUCCESS", Start: at, End: at}
	tasks := slices.Clone(win.Tasks)
	slices.SortStableFunc(tasks, func(a, b WindowTask) int { return cmp.Compare(a.Priority, b.Priority) })
	for _, t := range tasks {
		te := TaskExecution{ID: s.newUUID(), TaskArn: t.TaskArn, Type: t.Type, Status: "SUCCESS", Start: at, End: at}
		if t.Type == "RUN_COMMAND" && documentName(t.TaskArn) == "AWS-RunPatchBaseline" {
			cmd := s.runPatchBaseline(ctx, &win, t)
			te.CommandID = cmd.ID
			if cmd.Status != "Success" {
				te.Status, te.StatusDetails = "FAILED", "The command failed on one or more targets."
			}
		} else {
			// The simulator runs only AWS-RunPatchBaseline; any other
			// task is recorded as having succeeded and changes nothing.
			te.StatusDetails = "Not run by the simulator."
		}
		if te.Status != "SUCCESS" {
			exec.Status, exec.StatusDetails = "FAILED", "One or more tasks in the orchestration failed."
		}
		exec.Tasks = append(exec.Tasks, te)
	}
	st.mu.Lock()
	st.executions = append(st.executions, exec)
	st.mu.Unlock()
}

// runPatchBaseline sends AWS-RunPatchBaseline to the task's targets and
// writes each node's patch state. All invocations run at once at the
// occurrence: MaxConcurrency does not pace them and MaxErrors stops none
// (a simplification); the command is Success when every invocation
// succeeded, else Failed. A node that is not managed (or not there) is
// Undeliverable; one whose agent is not Online times out undelivered.
func (s *Service) runPatchBaseline(ctx Context, w *Window, t WindowTask) *Command {
	at := ctx.now()
	params := map[string][]string{}
	if rc := t.TaskInvocationParameters; rc != nil && rc.RunCommand != nil {
		params = maps.Clone(rc.RunCommand.Parameters)
	}
	for k, v := range t.TaskParameters {
		if _, ok := params[k]; !ok {
			params[k] = slices.Clone(v.Values)
		}
	}
	first := func(k, def string) string {
		if v := params[k]; len(v) > 0 && v[0] != "" {
			return v[0]
		}
		return def
	}
	cmd := &Command{ID: s.newUUID(), DocumentName: "AWS-RunPatchBaseline", Status: "Success", Parameters: params,
		Targets: cloneTargets(t.Targets), Requested: at, MaxConcurrency: t.MaxConcurrency, MaxErrors: t.MaxErrors, ServiceRole: t.ServiceRoleArn}
	if rc := t.TaskInvocationParameters; rc != nil && rc.RunCommand != nil {
		cmd.Comment = rc.RunCommand.Comment
	}
	run := patchRun{operation: first("Operation", "Scan"), reboot: first("RebootOption", "RebootIfNeeded"), at: at, commandID: cmd.ID}
	var all []nodes.Node
	if s.inventory != nil {
		all = s.inventory.List(ctx.Account, ctx.Region)
	}
	ids := resolveTargets(w, t.Targets, all)
	byID := map[string]nodes.Node{}
	for _, n := range all {
		byID[n.ID] = n
	}
	results := map[string]nodes.Node{}
	st := s.state(ctx.Account, ctx.Region)
	for _, id := range ids {
		inv := Invocation{InstanceID: id, Status: "Success", StatusDetails: "Success"}
		n, ok := byID[id]
		switch {
		case !ok || !n.Managed:
			inv.Status, inv.StatusDetails = "Failed", "Undeliverable"
		case n.PingStatus != nodes.Online:
			inv.Status, inv.StatusDetails = "TimedOut", "DeliveryTimedOut"
		default:
			os := nodes.OSOf(n)
			st.mu.Lock()
			b, err := st.baselineFor(ctx, os, patchGroupOf(n))
			st.mu.Unlock()
			if err != nil || os == "" {
				inv.Status, inv.StatusDetails = "Failed", "Failed"
				break
			}
			var releases []nodes.Release
			if s.catalog != nil {
				releases = s.catalog.Released(os, at)
			}
			r := run
			r.group = patchGroupOf(n)
			r.failInstalls = r.operation == "Install" && s.failsInstall(ctx.Account, ctx.Region, id, at)
			if r.apply(&n, &b, releases) {
				inv.Status, inv.StatusDetails = "Failed", "Failed"
			}
			results[id] = n
		}
		if inv.Status != "Success" {
			cmd.Status, cmd.StatusDetails = "Failed", "Failed"
		}
		cmd.Invocations = append(cmd.Invocations, inv)
	}
	if len(results) > 0 {
		// The inventory checks what it keeps; the engine writes only
		// valid states, so an error here is the simulator's own bug.
		if err := s.inventory.Update(ctx.Account, ctx.Region, func(ns []nodes.Node) error {
			for i := range ns {
				if n, ok := results[ns[i].ID]; ok {
					ns[i].Patch = n.Patch
				}
			}
			return nil
		}); err != nil {
			panic("ssmsvc: writing patch states: " + err.Error())
		}
	}
	st.mu.Lock()
	st.commands = append(st.commands, cmd)
	st.mu.Unlock()
	return cmd
}

// resolveTargets lists, sorted, the node ids a task's targets select:
// WindowTargetIds through the window's targets, InstanceIds as given. A
// window target selects by InstanceIds, by tag:<key> (managed nodes whose
// tag has one of the values) or by tag-key; resource groups select nothing
// (the simulator has none).
func resolveTargets(w *Window, targets []Target, all []nodes.Node) []string {
	seen := map[string]bool{}
	var pick func(ts []Target)
	pick = func(ts []Target) {
		for _, tg := range ts {
			switch {
			case tg.Key == "WindowTargetIds":
				for _, wt := range w.Targets {
					if slices.Contains(tg.Values, wt.ID) {
						pick(wt.Targets)
					}
				}
			case strings.EqualFold(tg.Key, "InstanceIds"):
				for _, id := range tg.Values {
					seen[id] = true
				}
			case strings.HasPrefix(tg.Key, "tag:"):
				for _, n := range all {
					if v, ok := n.Tags[tg.Key[len("tag:"):]]; ok && n.Managed && slices.Contains(tg.Values, v) {
						seen[n.ID] = true
					}
				}
			case tg.Key == "tag-key":
				for _, n := range all {
					if n.Managed && slices.ContainsFunc(tg.Values, func(k string) bool { _, ok := n.Tags[k]; return ok }) {
						seen[n.ID] = true
					}
				}
			}
		}
	}
	pick(targets)
	return slices.Sorted(maps.Keys(seen))
}

// Catalog is the catalog the service patches from (nil without one).
func (s *Service) Catalog() *nodes.Catalog { return s.catalog }
