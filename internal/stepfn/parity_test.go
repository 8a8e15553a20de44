package stepfn_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// parityRow is what a report says of one target, without what differs
// between two simulators by chance (request ids in the messages, timings).
type parityRow struct {
	Target, Mode, Ring string
	Status             report.Status
	Reason             string
	Writes             int
	Actions            []report.Action
	ErrService, ErrOp  string
	ErrCode, ErrScope  string
}

// paritySummary is what a report says as a whole.
type paritySummary struct {
	Mode         string
	DryRun       bool
	Regions      []string
	RegionSource string
	Warnings     []string
	Counts       report.Counts
	Failed       bool
	Targets      []parityRow
}

func summaryOf(rep report.Report) paritySummary {
	s := paritySummary{Mode: rep.Mode, DryRun: rep.DryRun, Regions: rep.Regions, RegionSource: rep.RegionSource,
		Warnings: rep.Warnings, Counts: rep.Counts, Failed: rep.Err() != nil}
	for _, t := range rep.Targets {
		// Independent deletes come in the order the simulator lists what
		// it holds (baselines by generated id), which is not the core's
		// doing: the actions are compared as a set.
		actions := slices.SortedFunc(slices.Values(t.Actions), func(a, b report.Action) int { return strings.Compare(a.Line(), b.Line()) })
		r := parityRow{Target: t.Name(), Mode: t.Mode, Ring: t.Ring, Status: t.Status, Reason: t.Reason, Writes: t.Writes, Actions: actions}
		if t.Error != nil {
			r.ErrService, r.ErrOp, r.ErrCode, r.ErrScope = t.Error.Service, t.Error.Operation, t.Error.Code, t.Error.Scope
		}
		s.Targets = append(s.Targets, r)
	}
	return s
}

// TestPlainCoreAndStepsAgree runs the same organization and configurations
// through the plain core (run.Run, what local runs and single-account
// events take) and through the Step Functions steps (Discover, the map's
// batches, Summarize), each on its own simulator, and holds the two
// reports to the same answer target by target: a plan, a converge, and a
// configuration change that drops a region and excludes an account (with
// the previous configuration), in an organization of rings where one
// account's role is missing, another is suspended, and none has opted in
// to one of the regions.
func TestPlainCoreAndStepsAgree(t *testing.T) {
	first := runtest.RingsConfig(t)
	first.Regions = []string{"us-east-1", "eu-west-1", "af-south-1"} // none opted in to af-south-1
	// A ring pinned by promotion (handler.PinnedConfig's run.Env.Pinned):
	// its baselines approve until a cut-off instead of after a delay.
	lastRing := first.Rings[len(first.Rings)-1].Name
	pinned, err := first.PinRing(lastRing, "2026-02-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	second := first
	second.Regions = []string{"us-east-1"}
	second.ExcludedAccounts = []string{"555555555555"}

	start := func() *simtest.Env {
		org := runtest.RingsOrg(t)
		org.Accounts[3].Status = "SUSPENDED"
		sv := simtest.Start(t, org)
		if err := sv.Server.RemoveRole("666666666666", runtest.Role); err != nil {
			t.Fatal(err)
		}
		return sv
	}
	plain, steps := start(), start()
	ctx := context.Background()
	for _, step := range []struct {
		name     string
		cfg      config.Config
		previous *config.Config
		pinned   *config.Config
		req      run.Request
	}{
		{"plan", first, nil, nil, run.Request{DryRun: true}},
		{"converge", first, nil, nil, run.Request{}},
		{"converge again", first, nil, nil, run.Request{}},
		{"pin ring " + lastRing, first, nil, &pinned, run.Request{}},
		{"drop a region, exclude an account", second, &first, nil, run.Request{}},
		{"remove", second, nil, nil, run.Request{Mode: "remove"}},
	} {
		env := func(sv *simtest.Env) run.Env {
			env := runtest.Env(sv, step.cfg)
			env.Previous, env.Pinned = step.previous, step.pinned
			return env
		}
		got := run.Run(ctx, env(plain), step.req)
		// Batches of two accounts, two at a time: several batches, as a
		// deployed run has.
		want := stepfn.Run(ctx, stepfn.Env{Env: env(steps), Sizing: stepfn.Sizing{MaxAccounts: 2}, Batches: 2}, step.req)
		if want.Counts.Targets == 0 || want.Counts.Failed == 0 {
			t.Fatalf("%s: counts %+v: the fixture does not test what it says", step.name, want.Counts)
		}
		if step.pinned != nil && !pinsUpdated(want, lastRing) {
			t.Fatalf("%s: no baseline of ring %s was updated to its pin: the step does not test what it says", step.name, lastRing)
		}
		if diff := cmp.Diff(summaryOf(want), summaryOf(got)); diff != "" {
			t.Errorf("%s: the plain core's report against the steps' (-steps +plain):\n%s", step.name, diff)
		}
	}
}

// pinsUpdated says whether a target of ring updated a baseline.
func pinsUpdated(rep report.Report, ring string) bool {
	for _, t := range rep.Targets {
		for _, a := range t.Actions {
			if t.Ring == ring && a.Kind == "update" && strings.Contains(strings.ToLower(a.Line()), "baseline") {
				return true
			}
		}
	}
	return false
}
