package run_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// nestedOrg is small.json with prod (444444444444) one level deeper:
// Workloads > Nested > prod.
func nestedOrg(t *testing.T) *sim.Org {
	org := runtest.LoadSmall(t)
	for i := range org.Root.OUs {
		if org.Root.OUs[i].ID == "ou-sm01-workload" {
			org.Root.OUs[i].OUs = append(org.Root.OUs[i].OUs, sim.OU{ID: "ou-sm01-nested01", Name: "Nested"})
		}
	}
	for i := range org.Accounts {
		if org.Accounts[i].ID == "444444444444" {
			org.Accounts[i].Parent = "ou-sm01-nested01"
		}
	}
	return org
}

type modeOutcome struct {
	Target string
	Mode   string
	Status report.Status
	Reason string
}

func modeOutcomes(r report.Report) []modeOutcome {
	var out []modeOutcome
	for _, t := range r.Targets {
		out = append(out, modeOutcome{Target: t.Name(), Mode: t.Mode, Status: t.Status, Reason: t.Reason})
	}
	return out
}

func TestExclusions(t *testing.T) {
	sv := simtest.Start(t, nestedOrg(t))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1"}
	env := runtest.Env(sv, cfg)

	// Everything converged first, so that exclusion has something to take away.
	if err := run.Run(context.Background(), env, run.Request{Accounts: []string{"111111111111", "222222222222", "333333333333", "444444444444"}}).Err(); err != nil {
		t.Fatal(err)
	}

	env.Config.ExcludedAccounts = []string{"33333333333", "222222222222"} // the first is a prefix of 333333333333, not its id
	env.Config.ExcludedOUs = []string{"ou-sm01-workload"}

	t.Run("whole organization", func(t *testing.T) {
		sv.Server.ResetCalls()
		rep := run.Run(context.Background(), env, run.Request{})
		want := []modeOutcome{
			{Target: "111111111111/us-east-1", Mode: "converge", Status: report.Unchanged},
			{Target: "222222222222", Status: report.Skipped, Reason: "excluded account"},
			{Target: "333333333333/us-east-1", Mode: "converge", Status: report.Unchanged},
			{Target: "444444444444", Status: report.Skipped, Reason: "under excluded OU ou-sm01-workload"},
			{Target: "555555555555", Status: report.Skipped, Reason: "under excluded OU ou-sm01-workload"},
		}
		if diff := cmp.Diff(want, modeOutcomes(rep)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if n := sv.Server.CountCalls(func(c sim.Call) bool { return c.Account == "444444444444" || c.Account == "222222222222" }); n != 0 {
			t.Errorf("%d calls made in excluded accounts, want none", n)
		}
	})

	t.Run("named accounts", func(t *testing.T) {
		// A move event names 444444444444 (now under an excluded OU), and
		// events name a suspended and an unknown account.
		rep := run.Run(context.Background(), env, run.Request{Accounts: []string{"444444444444", "666666666666", "999999999999", "444444444444"}})
		want := []modeOutcome{
			{Target: "444444444444/us-east-1", Mode: "teardown", Status: report.Converged},
			{Target: "666666666666", Status: report.Skipped, Reason: "account state SUSPENDED"},
			{Target: "999999999999", Status: report.Skipped, Reason: "account is not in the organization"},
		}
		if diff := cmp.Diff(want, modeOutcomes(rep)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if got := runtest.WindowNames(t, sv, "444444444444", "us-east-1"); len(got) != 0 {
			t.Errorf("windows left in the excluded account: %v", got)
		}
		if diff := cmp.Diff(runtest.DefaultWindowNames(), runtest.WindowNames(t, sv, "222222222222", "us-east-1")); diff != "" {
			t.Errorf("an excluded account not named by the request was changed (-want +got):\n%s", diff)
		}
	})
}
