package run_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
)

// TestRingsConvergeAndMove: every account converges to its ring (dev
// approves at once and installs on the second Tuesday plus one day, prod
// approves after 7 days a week later, the rest keep the file's settings);
// the report names each account's ring; an account moved from dev to prod
// and converged by its MoveAccount request gets prod's schedule and
// approval delay in place, with nothing re-created.
func TestRingsConvergeAndMove(t *testing.T) {
	sv, env := runtest.RingsEnv(t)
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
	dev := runtest.RingView{Days: 0, Schedule: "cron(0 2 ? * TUE#2 *)", Offset: 1}
	prod := runtest.RingView{Days: 7, Schedule: "cron(0 2 ? * TUE#3 *)", Offset: 1}
	none := runtest.RingView{Days: 7, Schedule: "cron(0 0 1 ? * FRI *)"}
	before := map[string]runtest.RingView{}
	for account, want := range map[string]runtest.RingView{"111111111111": none, "222222222222": dev, "333333333333": prod, "444444444444": prod, "555555555555": dev, "666666666666": none} {
		got := runtest.RingViewOf(t, sv, account)
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
	got := runtest.RingViewOf(t, sv, "222222222222")
	want := prod
	want.WindowID = before["222222222222"].WindowID
	if got != want {
		t.Errorf("moved account: %+v, want prod's settings on the same window %+v", got, want)
	}
}
