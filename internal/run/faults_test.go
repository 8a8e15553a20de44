package run_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestFaultsKeepTargetsApartThenRecover(t *testing.T) {
	regions := []string{"us-east-1", "eu-west-1", "af-south-1"}
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 39, OUs: 3, Regions: regions})
	optedOut := org.Accounts[7].ID
	org.Accounts[7].OptedInRegions = nil // has not opted in to af-south-1
	sv := simtest.Start(t, org,
		sim.WithThrottle(10, 20),
		sim.WithInternalErrorRate(0.01, 7))
	denied := []string{org.Accounts[3].ID, org.Accounts[20].ID} // 5% of 40
	for _, a := range denied {
		if err := sv.Server.RemoveRole(a, runtest.Role); err != nil {
			t.Fatal(err)
		}
	}
	env := runtest.Env(sv, config.Default())

	first := run.Run(context.Background(), env, run.Request{})
	if first.Counts.Targets != 40*3 {
		t.Fatalf("%d targets, want 120", first.Counts.Targets)
	}
	for _, tg := range first.Targets {
		var want report.Status
		switch {
		case slices.Contains(denied, tg.Account):
			want = report.Failed
			if tg.Error == nil || tg.Error.Operation != "AssumeRole" || tg.Error.Code != "AccessDenied" || tg.Region == "" {
				t.Errorf("%s: error %+v, want AssumeRole AccessDenied with account and region", tg.Name(), tg.Error)
			}
		case tg.Account == optedOut && tg.Region == "af-south-1":
			want = report.Skipped
		default:
			want = report.Converged
		}
		if tg.Status != want {
			t.Errorf("%s: %s (%v), want %s", tg.Name(), tg.Status, tg.Err, want)
		}
	}
	if got := len(strings.Split(first.Err().Error(), "\n")); got != 2*3 {
		t.Errorf("Err() has %d lines, want one per failed target (6):\n%v", got, first.Err())
	}

	// The roles arrive; the next run converges the rest and leaves the
	// converged ones alone.
	for _, a := range denied {
		if err := sv.Server.AddRole(a, runtest.Role); err != nil {
			t.Fatal(err)
		}
	}
	second := run.Run(context.Background(), env, run.Request{})
	if err := second.Err(); err != nil {
		t.Fatalf("second run: %v", err)
	}
	for _, tg := range second.Targets {
		want := report.Unchanged
		switch {
		case slices.Contains(denied, tg.Account):
			want = report.Converged
		case tg.Account == optedOut && tg.Region == "af-south-1":
			want = report.Skipped
		}
		if tg.Status != want {
			t.Errorf("second run %s: %s, want %s", tg.Name(), tg.Status, want)
		}
	}
	ids := runtest.AccountIDs(org)
	runtest.AssertConverged(t, sv, slices.DeleteFunc(slices.Clone(ids), func(a string) bool { return a == optedOut }), regions)
	runtest.AssertConverged(t, sv, []string{optedOut}, regions[:2])
}

func TestCrashAfterNWritesThenConverges(t *testing.T) {
	regions := []string{"us-east-1", "eu-west-1"}
	// One run over 3 accounts x 2 regions makes 6 x 10 writes.
	for _, n := range []int{0, 1, 2, 5, 9, 10, 17, 31, 44, 59} {
		t.Run(fmt.Sprintf("after %d writes", n), func(t *testing.T) {
			org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 2})
			sv := simtest.Start(t, org)
			env := runtest.Env(sv, config.Default())
			env.Config.Regions = regions
			// The crash answers 500s: surface them instead of retrying.
			env.Management.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) }

			sv.Server.FailAfterWrites(n)
			crashed := run.Run(context.Background(), env, run.Request{})
			if crashed.Err() == nil {
				t.Fatalf("nothing failed with a crash after %d writes", n)
			}
			if e := crashed.Error; e != nil && (e.Code == "" || e.Operation == "") {
				t.Errorf("run failure without operation and code: %+v", e)
			}
			for _, tg := range crashed.Failed() {
				if tg.Error.Code == "" || tg.Error.Operation == "" {
					t.Errorf("%s: failure without operation and code: %+v", tg.Name(), tg.Error)
				}
			}
			sv.Server.FailAfterWrites(-1)
			again := run.Run(context.Background(), env, run.Request{})
			if err := again.Err(); err != nil {
				t.Fatalf("run after the crash: %v", err)
			}
			runtest.AssertConverged(t, sv, runtest.AccountIDs(org), regions)
			sv.Server.ResetCalls()
			third := run.Run(context.Background(), env, run.Request{})
			if w := sv.Server.WriteCalls(); w != 0 || third.Counts.Unchanged != 6 {
				t.Errorf("third run: %d writes, %d unchanged; want 0 and 6", w, third.Counts.Unchanged)
			}
		})
	}
}

func TestNewAccountPendingThenConverges(t *testing.T) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 1})
	// The configuration role arrives after two refused AssumeRole attempts,
	// as a StackSet instance deploys it some time after the account exists.
	sv := simtest.Start(t, org, sim.WithRoleArrival(runtest.Role, 2))
	id, err := sv.Server.CreateAccount("fresh", "fresh@example.com")
	if err != nil {
		t.Fatal(err)
	}
	env := runtest.Env(sv, config.Default())
	env.Config.Regions = []string{"us-east-1", "eu-west-1"}
	env.RoleWait = time.Millisecond // gives up after the first attempt

	first := run.Run(context.Background(), env, run.Request{Accounts: []string{id}})
	want := []runtest.Outcome{
		{Target: id + "/eu-west-1", Status: report.Pending},
		{Target: id + "/us-east-1", Status: report.Pending},
	}
	if diff := cmp.Diff(want, runtest.Outcomes(first)); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	if err := first.Err(); err != nil {
		t.Errorf("Err() = %v: a pending account is not a failure", err)
	}

	// Waiting long enough: the second attempt is refused, the third works.
	env.RoleWait = 30 * time.Second
	second := run.Run(context.Background(), env, run.Request{Accounts: []string{id}})
	want = []runtest.Outcome{
		{Target: id + "/eu-west-1", Status: report.Converged},
		{Target: id + "/us-east-1", Status: report.Converged},
	}
	if diff := cmp.Diff(want, runtest.Outcomes(second)); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
	runtest.AssertConverged(t, sv, []string{id}, env.Config.Regions)
}

func TestDeadlineStopsNewWork(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg := config.Default()
	cfg.ExcludedAccounts = []string{"555555555555"} // no role there
	env := runtest.Env(sv, cfg)
	env.Concurrency = 1
	// Two seconds of work before the reserve, 600 ms a target, one at a
	// time: a few targets converge, the rest are not started. The seconds
	// leave a loaded machine room (its calls are slow, not its sleeps).
	env.Reserve = 4 * time.Second
	env.BeforeTarget = func(ctx context.Context, account, region string) { time.Sleep(600 * time.Millisecond) }

	ctx, cancel := context.WithTimeout(context.Background(), env.Reserve+2*time.Second)
	defer cancel()
	start := time.Now()
	rep := run.Run(ctx, env, run.Request{})
	if took := time.Since(start); took > env.Reserve {
		t.Errorf("run took %s: it should stop starting work a reserve (%s) before the deadline", took, env.Reserve)
	}
	if rep.Counts.NotStarted == 0 || rep.Counts.Converged == 0 {
		t.Fatalf("counts %+v: want some converged and some not started", rep.Counts)
	}
	var notStarted []string
	accounts := map[string]bool{}
	for _, tg := range rep.Targets {
		if tg.Status == report.NotStarted {
			notStarted = append(notStarted, tg.Name())
			accounts[tg.Account] = true
		}
	}
	// A run that leaves targets not attempted fails, naming their accounts.
	var na *run.NotAttemptedError
	if err := rep.Err(); !errors.As(err, &na) {
		t.Fatalf("Err() = %v, want a NotAttemptedError", err)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(accounts)), na.Accounts); diff != "" {
		t.Errorf("accounts named as not attempted (-want +got):\n%s", diff)
	}

	// The next run converges exactly what was not started.
	env.BeforeTarget = nil
	next := run.Run(context.Background(), env, run.Request{})
	var converged []string
	for _, tg := range next.Targets {
		if tg.Status == report.Converged {
			converged = append(converged, tg.Name())
		}
	}
	if diff := cmp.Diff(notStarted, converged); diff != "" {
		t.Errorf("targets converged by the next run (-not started before +converged now):\n%s", diff)
	}
}

func TestPanicFailsOnlyThatTarget(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg := config.Default()
	cfg.ExcludedAccounts = []string{"555555555555"}
	env := runtest.Env(sv, cfg)
	var calls atomic.Int32
	env.BeforeTarget = func(ctx context.Context, account, region string) {
		calls.Add(1)
		if account == "222222222222" && region == "eu-west-1" {
			var m map[string]int
			m["boom"]++ // a nil map write: a real runtime panic
		}
	}
	rep := run.Run(context.Background(), env, run.Request{})
	for _, tg := range rep.Targets {
		switch {
		case tg.Name() == "222222222222/eu-west-1":
			if tg.Status != report.Failed || !strings.Contains(tg.Error.Message, "panic: assignment to entry in nil map") {
				t.Errorf("%s: %s %+v, want failed with the panic", tg.Name(), tg.Status, tg.Error)
			}
			if strings.Contains(tg.Error.Message, "\n") {
				t.Errorf("%s: the error carries a stack trace into reports: %q", tg.Name(), tg.Error.Message)
			}
		case tg.Status == report.Failed:
			t.Errorf("%s failed too: %v", tg.Name(), tg.Err)
		}
	}
	if rep.Counts.Converged != 8 || rep.Counts.Failed != 1 {
		t.Errorf("counts %+v, want 8 converged and 1 failed", rep.Counts)
	}
	if calls.Load() != 9 {
		t.Errorf("BeforeTarget called %d times, want 9", calls.Load())
	}
}

func TestThrottledAssumeRoleIsRetried(t *testing.T) {
	// 20 accounts assume their role at once from the management account,
	// whose AssumeRole quota here is a burst of 5 then 10 a second; the SDK
	// gives up at the first throttle, so the run's own retry must carry it.
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 19})
	sv := simtest.Start(t, org, sim.WithThrottle(10, 5))
	env := runtest.Env(sv, config.Default())
	env.Config.Regions = []string{"us-east-1"}
	env.Concurrency = 20
	env.Management.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) }

	rep := run.Run(context.Background(), env, run.Request{})
	if err := rep.Err(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Counts.Converged != 20 {
		t.Errorf("%d converged, want 20", rep.Counts.Converged)
	}
	throttled := sv.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "AssumeRole" && c.ErrorCode != "" })
	if throttled == 0 {
		t.Error("no AssumeRole was throttled: the test does not test the retry")
	}
}
