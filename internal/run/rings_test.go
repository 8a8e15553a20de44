package run_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func ringsEnv(t *testing.T) (*simtest.Env, run.Env) {
	t.Helper()
	org, err := sim.LoadOrg("../../testdata/orgs/rings.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../testdata/rings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	sv := simtest.Start(t, org)
	return sv, newEnv(sv, cfg)
}

// ringView is what an account holds that its ring decides: the approval
// delay of its default Amazon Linux 2 baseline, and the Linux window's
// schedule, offset and id.
type ringView struct {
	Days     int32
	Schedule string
	Offset   int32
	WindowID string
}

func ringViewOf(t *testing.T, sv *simtest.Env, account string) ringView {
	t.Helper()
	ctx := context.Background()
	client := ssm.NewFromConfig(sv.AccountConfig(t, account, role), func(o *ssm.Options) { o.Region = "us-east-1" })
	def, err := client.GetDefaultPatchBaseline(ctx, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: types.OperatingSystemAmazonLinux2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: def.BaselineId})
	if err != nil {
		t.Fatal(err)
	}
	var v ringView
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

// TestRingsConvergeAndMove: every account converges to its ring (dev
// approves at once and installs on the second Tuesday plus one day, prod
// approves after 7 days a week later, the rest keep the file's settings);
// the report names each account's ring; an account moved from dev to prod
// and converged by its MoveAccount request gets prod's schedule and
// approval delay in place, with nothing re-created.
func TestRingsConvergeAndMove(t *testing.T) {
	sv, env := ringsEnv(t)
	ctx := context.Background()
	rep := run.Run(ctx, env, run.Request{})
	if rep.Error != nil || rep.Counts.Failed > 0 {
		t.Fatalf("run: %v, %d failed", rep.Error, rep.Counts.Failed)
	}
	rings := map[string]string{}
	for _, tg := range rep.Targets {
		rings[tg.Account] = tg.Ring
	}
	wantRings := map[string]string{"111111111111": "", "222222222222": "dev", "333333333333": "prod", "444444444444": "prod", "555555555555": "dev", "666666666666": ""}
	if diff := cmp.Diff(wantRings, rings); diff != "" {
		t.Errorf("rings in the report (-want +got):\n%s", diff)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "RING") || !strings.Contains(table.String(), "222222222222  us-east-1  dev ") {
		t.Errorf("the table does not name the rings:\n%s", table.String())
	}
	dev := ringView{Days: 0, Schedule: "cron(0 2 ? * TUE#2 *)", Offset: 1}
	prod := ringView{Days: 7, Schedule: "cron(0 2 ? * TUE#3 *)", Offset: 1}
	none := ringView{Days: 7, Schedule: "cron(0 0 1 ? * FRI *)"}
	before := map[string]ringView{}
	for account, want := range map[string]ringView{"111111111111": none, "222222222222": dev, "333333333333": prod, "444444444444": prod, "555555555555": dev, "666666666666": none} {
		got := ringViewOf(t, sv, account)
		before[account] = got
		want.WindowID = got.WindowID
		if got != want {
			t.Errorf("%s: %+v, want %+v", account, got, want)
		}
	}
	if again := run.Run(ctx, env, run.Request{}); again.Counts.Writes != 0 {
		t.Errorf("second run: %d writes, want 0", again.Counts.Writes)
	}

	// Move the dev account under Prod (nested Web OU): the MoveAccount
	// event's request names it.
	orgs := organizations.NewFromConfig(sv.Config)
	if _, err := orgs.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String("222222222222"),
		SourceParentId: aws.String("ou-rg01-devaccts"), DestinationParentId: aws.String("ou-rg01-prodwebs")}); err != nil {
		t.Fatal(err)
	}
	plan := run.Run(ctx, env, run.Request{Accounts: []string{"222222222222"}, DryRun: true})
	var planned bytes.Buffer
	if err := plan.WriteTable(&planned); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"prod", "update window sra_linux_maintenance", "update baseline orgpatch-amazon-linux-2"} {
		if !strings.Contains(planned.String(), line) {
			t.Errorf("the plan before the move's run does not say %q:\n%s", line, planned.String())
		}
	}
	t.Logf("the plan of the moved account:\n%s", planned.String())
	moved := run.Run(ctx, env, run.Request{Accounts: []string{"222222222222"}})
	if moved.Counts.Failed > 0 {
		t.Fatalf("moved account's run failed: %+v", moved.Targets)
	}
	for _, c := range moved.Counts.Changes {
		if c.Create > 0 || c.Delete > 0 {
			t.Errorf("the move re-created or deleted %s: %+v; want updates in place", c.Resource, c)
		}
	}
	got := ringViewOf(t, sv, "222222222222")
	want := prod
	want.WindowID = before["222222222222"].WindowID
	if got != want {
		t.Errorf("moved account: %+v, want prod's settings on the same window %+v", got, want)
	}
}

// TestRingsTravelInTheWorkItems: Discover writes each account's ring into
// its work item, so a worker, which has only the batch, gives the account
// its ring's configuration; an item of a ring the batch's configuration
// does not have is refused before any call.
func TestRingsTravelInTheWorkItems(t *testing.T) {
	sv, env := ringsEnv(t)
	ctx := context.Background()
	store := run.NewMemoryStore()
	d, err := run.Discover(ctx, env, store, run.DiscoverInput{Run: "rings", Request: run.Request{}})
	if err != nil {
		t.Fatal(err)
	}
	var items []run.Item
	readJSON(t, store, d.ItemsKey, &items)
	got := map[string]string{}
	for _, it := range items {
		got[it.Account] = it.Ring
	}
	want := map[string]string{"111111111111": "", "222222222222": "dev", "333333333333": "prod", "444444444444": "prod", "555555555555": "dev", "666666666666": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the items' rings (-want +got):\n%s", diff)
	}

	// One batch of the dev account alone converges it to dev's settings.
	var dev run.Item
	for _, it := range items {
		if it.Account == "222222222222" {
			dev = it
		}
	}
	res, err := run.Work(ctx, env, run.Batch{Items: []run.Item{dev}, BatchInput: d.BatchInput})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range res.Targets {
		if tg.Ring != "dev" || tg.Status != report.Converged {
			t.Errorf("%s: ring %q, %s (%v); want dev, converged", tg.Name(), tg.Ring, tg.Status, tg.Err)
		}
	}
	v := ringViewOf(t, sv, "222222222222")
	if v.Days != 0 || v.Schedule != "cron(0 2 ? * TUE#2 *)" || v.Offset != 1 {
		t.Errorf("the dev account after its batch: %+v, want dev's settings", v)
	}

	dev.Ring = "canary"
	sv.Server.ResetCalls()
	if _, err := run.Work(ctx, env, run.Batch{Items: []run.Item{dev}, BatchInput: d.BatchInput}); err == nil ||
		err.Error() != `batch: Items[0].ring: "canary" is not one of the configuration's rings: dev, prod` {
		t.Errorf("a batch with an unknown ring: %v", err)
	}
	if n := sv.Server.CountCalls(nil); n != 0 {
		t.Errorf("%d calls made for a batch with an unknown ring", n)
	}
}
