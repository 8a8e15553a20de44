package run_test

import (
	"context"
	"testing"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// TestTargetCostIsWhatATargetCalls holds the cost model (run.TargetCost),
// which sizes batches and bounds the benchmark, to what a target does: the
// SSM and tagging calls of each target where everything is created, then
// where nothing changes, for the default configuration.
func TestTargetCostIsWhatATargetCalls(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	env := runtest.Env(sv, cfg)
	for _, step := range []struct {
		name string
		want int
	}{
		{"created", run.TargetCost.Created},
		{"unchanged", run.TargetCost.Unchanged},
	} {
		sv.Server.ResetCalls()
		rep := run.Run(context.Background(), env, run.Request{})
		perTarget := map[string]int{}
		for _, c := range sv.Server.Calls() {
			// The Run Command documents are read once per region and run
			// (reconcile.DocumentCache), not per target.
			if (c.Service == sim.ServiceSSM || c.Service == sim.ServiceTagging) && c.Operation != "DescribeDocument" {
				perTarget[c.Account+"/"+c.Region]++
			}
		}
		reconciled := rep.Counts.Converged + rep.Counts.Unchanged
		if reconciled == 0 {
			t.Fatalf("%s: counts %+v: no target reconciled", step.name, rep.Counts)
		}
		for _, tg := range rep.Targets {
			if tg.Status != "converged" && tg.Status != "unchanged" {
				continue
			}
			if got := perTarget[tg.Name()]; got != step.want {
				t.Errorf("%s: %s made %d calls, the model says %d", step.name, tg.Name(), got, step.want)
			}
		}
	}
	if run.TargetCost.Budgeted < run.TargetCost.Created {
		t.Errorf("the model budgets %d calls, fewer than a created target's %d", run.TargetCost.Budgeted, run.TargetCost.Created)
	}
}
