// Package runtest holds what the tests of the run core and of its Step
// Functions adapter (internal/stepfn) share: a run environment on the
// simulator, the small organization, and reading back the windows a run
// made, so that both packages assert the same things the same way.
package runtest

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// Role is the configuration role of the simulated accounts.
const Role = sim.DefaultRoleName

// LoadSmall is testdata/orgs/small.json; the caller's directory is two
// levels below the module's root.
func LoadSmall(t *testing.T) *sim.Org {
	t.Helper()
	org, err := sim.LoadOrg("../../testdata/orgs/small.json")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// Env is a run environment on sv with cfg: 8 targets at once, no logs.
func Env(sv *simtest.Env, cfg config.Config) run.Env {
	return run.Env{
		Management:  sv.Config,
		Config:      cfg,
		Concurrency: 8,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

// Outcome is the part of a target's record the tests compare.
type Outcome struct {
	Target string
	Status report.Status
	Code   string // AWS error code of a failure
	Op     string // AWS operation of a failure
}

// Outcomes are r's targets as Outcomes, by target name.
func Outcomes(r report.Report) []Outcome {
	var out []Outcome
	for _, t := range r.Targets {
		o := Outcome{Target: t.Name(), Status: t.Status}
		if t.Error != nil {
			o.Code, o.Op = t.Error.Code, t.Error.Operation
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// WindowNames lists the maintenance windows of account x region by name,
// read through the SDK as the account.
func WindowNames(t *testing.T, sv *simtest.Env, account, region string) []string {
	t.Helper()
	return WindowNamesAs(t, sv.AccountConfig(t, account, Role), account, region)
}

// WindowNamesAs lists the maintenance windows of account x region by name,
// read through the SDK with cfg, which holds the account's credentials (so
// a caller reading many regions assumes the role once).
func WindowNamesAs(t *testing.T, cfg aws.Config, account, region string) []string {
	t.Helper()
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.Region = region })
	var names []string
	p := ssm.NewDescribeMaintenanceWindowsPaginator(client, &ssm.DescribeMaintenanceWindowsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("describe windows of %s/%s: %v", account, region, err)
		}
		for _, w := range page.WindowIdentities {
			names = append(names, aws.ToString(w.Name))
		}
	}
	slices.Sort(names)
	return names
}

// DefaultWindowNames are the names of the default configuration's windows.
func DefaultWindowNames() []string {
	var names []string
	for _, w := range config.Default().Windows {
		names = append(names, w.Name)
	}
	slices.Sort(names)
	return names
}

// AssertConverged checks every listed account x region holds the default
// windows exactly once each (no duplicates, nothing missing).
func AssertConverged(t *testing.T, sv *simtest.Env, accounts, regions []string) {
	t.Helper()
	want := DefaultWindowNames()
	for _, account := range accounts {
		cfg := sv.AccountConfig(t, account, Role)
		for _, region := range regions {
			names := WindowNamesAs(t, cfg, account, region)
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("%s/%s windows (-want +got):\n%s", account, region, diff)
			}
		}
	}
}

// AccountIDs are the ids of org's accounts.
func AccountIDs(org *sim.Org) []string {
	var ids []string
	for _, a := range org.Accounts {
		ids = append(ids, a.ID)
	}
	return ids
}

// RingsEnv is testdata/orgs/rings.json on the simulator, and a run
// environment with testdata/rings.yaml.
func RingsEnv(t *testing.T) (*simtest.Env, run.Env) {
	t.Helper()
	sv := simtest.Start(t, RingsOrg(t))
	return sv, Env(sv, RingsConfig(t))
}

// RingsOrg is testdata/orgs/rings.json: accounts in OUs that select rings.
func RingsOrg(t *testing.T) *sim.Org {
	t.Helper()
	org, err := sim.LoadOrg("../../testdata/orgs/rings.json")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// RingsConfig is testdata/rings.yaml: a configuration with dev and prod
// rings.
func RingsConfig(t *testing.T) config.Config {
	t.Helper()
	data, err := os.ReadFile("../../testdata/rings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// RingView is what an account holds that its ring decides: the approval
// delay of its default Amazon Linux 2 baseline, and the Linux window's
// schedule, offset and id.
type RingView struct {
	Days     int32
	Schedule string
	Offset   int32
	WindowID string
}

// RingViewOf reads account's RingView in us-east-1.
func RingViewOf(t *testing.T, sv *simtest.Env, account string) RingView {
	t.Helper()
	ctx := context.Background()
	client := ssm.NewFromConfig(sv.AccountConfig(t, account, Role), func(o *ssm.Options) { o.Region = "us-east-1" })
	def, err := client.GetDefaultPatchBaseline(ctx, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: types.OperatingSystemAmazonLinux2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: def.BaselineId})
	if err != nil {
		t.Fatal(err)
	}
	var v RingView
	if b.ApprovalRules != nil && len(b.ApprovalRules.PatchRules) > 0 {
		v.Days = aws.ToInt32(b.ApprovalRules.PatchRules[0].ApproveAfterDays)
	}
	ws, err := client.DescribeMaintenanceWindows(ctx, &ssm.DescribeMaintenanceWindowsInput{Filters: []types.MaintenanceWindowFilter{{Key: aws.String("Name"), Values: []string{"sra_linux_maintenance"}}}})
	if err != nil || len(ws.WindowIdentities) != 1 {
		t.Fatalf("%s: the Linux window: %v %v", account, ws, err)
	}
	w := ws.WindowIdentities[0]
	v.Schedule, v.Offset, v.WindowID = aws.ToString(w.Schedule), aws.ToInt32(w.ScheduleOffset), aws.ToString(w.WindowId)
	return v
}
