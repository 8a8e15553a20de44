package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestSmallOrgConvergesThenNoWrites(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	env := runtest.Env(sv, config.Default())

	first := run.Run(context.Background(), env, run.Request{})
	want := []runtest.Outcome{
		{Target: "111111111111/af-south-1", Status: report.Skipped},
		{Target: "111111111111/eu-west-1", Status: report.Converged},
		{Target: "111111111111/us-east-1", Status: report.Converged},
		{Target: "222222222222/af-south-1", Status: report.Skipped},
		{Target: "222222222222/eu-west-1", Status: report.Converged},
		{Target: "222222222222/us-east-1", Status: report.Converged},
		{Target: "333333333333/af-south-1", Status: report.Skipped},
		{Target: "333333333333/eu-west-1", Status: report.Converged},
		{Target: "333333333333/us-east-1", Status: report.Converged},
		{Target: "444444444444/af-south-1", Status: report.Converged},
		{Target: "444444444444/eu-west-1", Status: report.Converged},
		{Target: "444444444444/us-east-1", Status: report.Converged},
		{Target: "555555555555/af-south-1", Status: report.Failed, Code: "AccessDenied", Op: "AssumeRole"},
		{Target: "555555555555/eu-west-1", Status: report.Failed, Code: "AccessDenied", Op: "AssumeRole"},
		{Target: "555555555555/us-east-1", Status: report.Failed, Code: "AccessDenied", Op: "AssumeRole"},
	}
	if diff := cmp.Diff(want, runtest.Outcomes(first)); diff != "" {
		t.Errorf("first run outcomes (-want +got):\n%s", diff)
	}
	if got, want := first.RegionSource, "Control Tower landing zone"; got != want {
		t.Errorf("RegionSource = %q, want %q", got, want)
	}
	for _, o := range want {
		if o.Status != report.Converged {
			continue
		}
		account, region, _ := strings.Cut(o.Target, "/")
		if diff := cmp.Diff(runtest.DefaultWindowNames(), runtest.WindowNames(t, sv, account, region)); diff != "" {
			t.Errorf("%s windows (-want +got):\n%s", o.Target, diff)
		}
	}
	if first.Counts.Writes != sv.Server.WriteCalls() {
		t.Errorf("report counts %d writes, the simulator saw %d", first.Counts.Writes, sv.Server.WriteCalls())
	}

	sv.Server.ResetCalls()
	second := run.Run(context.Background(), env, run.Request{})
	if n := sv.Server.WriteCalls(); n != 0 {
		t.Errorf("second run made %d write calls, want 0", n)
	}
	for _, tg := range second.Targets {
		if tg.Status == report.Converged {
			t.Errorf("second run: %s converged (made changes), want unchanged", tg.Name())
		}
		// An unchanged target holds no list of what matched: the report
		// grows with the changes, not with the organization.
		if len(tg.Actions) != 0 {
			t.Errorf("second run: %s keeps %d actions, want none", tg.Name(), len(tg.Actions))
		}
	}
	if second.Counts.Unchanged != 9 {
		t.Errorf("second run: %d unchanged, want 9", second.Counts.Unchanged)
	}
}

func TestDryRunPlansWithoutWriting(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1"}
	cfg.ExcludedAccounts = []string{"555555555555"}
	env := runtest.Env(sv, cfg)

	rep := run.Run(context.Background(), env, run.Request{DryRun: true})
	if n := sv.Server.WriteCalls(); n != 0 {
		t.Errorf("dry run made %d write calls", n)
	}
	// The counts are what the plan will do: 4 targets will change, each
	// with 3 windows, targets and tasks to create and the DHMC to set.
	want := report.Counts{Targets: 5, WillChange: 4, Skipped: 1, Changes: []report.ResourceChanges{
		{Resource: "window", Create: 12}, {Resource: "target", Create: 12}, {Resource: "task", Create: 12}, {Resource: "dhmc", Update: 4},
	}}
	if diff := cmp.Diff(want, rep.Counts); diff != "" || !rep.DryRun {
		t.Errorf("dry run report: dryRun %v, counts (-want +got):\n%s", rep.DryRun, diff)
	}
	for _, tg := range rep.Targets {
		if tg.Status != report.WillChange {
			continue
		}
		creates := 0
		for _, a := range tg.Actions {
			if a.Kind == "create" {
				creates++
			}
		}
		if creates != 9 {
			t.Errorf("%s: %d planned creates, want 9 (3 windows, targets, tasks)", tg.Name(), creates)
		}
	}
	if got := runtest.WindowNames(t, sv, "111111111111", "us-east-1"); len(got) != 0 {
		t.Errorf("dry run created windows: %v", got)
	}

	// Applied, the plan's changes are exactly the writes made.
	applied := run.Run(context.Background(), env, run.Request{})
	planned := 0
	for _, c := range rep.Counts.Changes {
		planned += c.Total()
	}
	if n := sv.Server.WriteCalls(); n != planned || applied.Counts.Writes != planned {
		t.Errorf("the plan counted %d changes; applying it made %d write calls (report: %d)", planned, n, applied.Counts.Writes)
	}
}

func TestDisabledTearsDownEverywhere(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	cfg.ExcludedAccounts = []string{"555555555555"}
	env := runtest.Env(sv, cfg)
	if err := run.Run(context.Background(), env, run.Request{}).Err(); err != nil {
		t.Fatal(err)
	}
	env.Config.Disabled = true
	rep := run.Run(context.Background(), env, run.Request{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	for _, account := range []string{"111111111111", "222222222222", "333333333333", "444444444444"} {
		for _, region := range cfg.Regions {
			if got := runtest.WindowNames(t, sv, account, region); len(got) != 0 {
				t.Errorf("%s/%s keeps windows %v after disabling", account, region, got)
			}
		}
	}
}

func TestLogsNameAccountAndRegion(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	env := runtest.Env(sv, config.Default())
	var buf bytes.Buffer
	env.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	run.Run(context.Background(), env, run.Request{})

	done := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch rec["msg"] {
		case "target done":
			done[fmt.Sprintf("%v/%v", rec["account"], rec["region"])] = true
		case "assume role failed":
			if rec["account"] != "555555555555" {
				t.Errorf("AssumeRole failure logged for %v, want 555555555555", rec["account"])
			}
		}
	}
	for _, want := range []string{"111111111111/us-east-1", "444444444444/af-south-1"} {
		if !done[want] {
			t.Errorf("no \"target done\" record with account and region for %s; logged: %v", want, done)
		}
	}
}
