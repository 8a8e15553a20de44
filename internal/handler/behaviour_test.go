package handler_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// onlyAnswer returns the one CloudFormation answer sent, failing otherwise.
func onlyAnswer(t *testing.T, x *harness) answer {
	t.Helper()
	got := x.cfn.answers()
	if len(got) != 1 {
		t.Fatalf("CloudFormation got %d answers, want 1", len(got))
	}
	a := got[0]
	if a.Size > 4096 {
		t.Errorf("answer is %d bytes; CloudFormation takes at most 4096", a.Size)
	}
	if a.Response.PhysicalResourceID != handler.PhysicalResourceID {
		t.Errorf("physical id = %q, want %q", a.Response.PhysicalResourceID, handler.PhysicalResourceID)
	}
	return a
}

func TestFailedTargetsFailCloudFormationAndNameThem(t *testing.T) {
	x := newHarness(t, nil, nil) // 555555555555 has no configuration role

	_, err := x.invoke(t, x.event(t, "cfn-create.json"))
	if err != nil {
		t.Fatalf("Invoke() = %v; a CloudFormation request that was answered is not an error", err)
	}
	a := onlyAnswer(t, x)
	if a.Response.Status != cfn.StatusFailed {
		t.Fatalf("status = %s, want FAILED (reason %q)", a.Response.Status, a.Response.Reason)
	}
	for _, want := range []string{"3 failed", "555555555555 (af-south-1,eu-west-1,us-east-1) AssumeRole AccessDenied"} {
		if !strings.Contains(a.Response.Reason, want) {
			t.Errorf("reason %q does not say %q", a.Response.Reason, want)
		}
	}
	// The log keeps the whole error chain, the request id with it.
	logged := false
	for _, l := range x.logs.lines(t) {
		chain, _ := l["error"].(string)
		if l["msg"] == "assume role failed" && l["account"] == "555555555555" && l["request_id"] != nil &&
			strings.Contains(chain, "operation error STS: AssumeRole") && strings.Contains(chain, "RequestID: ") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no log line for 555555555555 with the request id and the whole error chain:\n%v", x.logs.lines(t))
	}
	// One account's failure never stops the others.
	if diff := cmp.Diff([]string{"111111111111", "222222222222", "333333333333", "444444444444"}, x.windowed(t)); diff != "" {
		t.Errorf("accounts holding windows (-want +got):\n%s", diff)
	}
}

func TestReasonFitsWithThousandsOfFailures(t *testing.T) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 400, MissingRole: 400, Regions: []string{"us-east-1", "eu-west-1", "eu-central-1"}})
	x := newHarness(t, org, nil)

	if _, err := x.invoke(t, x.event(t, "cfn-create.json")); err != nil {
		t.Fatal(err)
	}
	a := onlyAnswer(t, x)
	if a.Response.Status != cfn.StatusFailed {
		t.Fatalf("status = %s, want FAILED", a.Response.Status)
	}
	if !strings.Contains(a.Response.Reason, "1200 failed") || !strings.Contains(a.Response.Reason, "more") {
		t.Errorf("reason %q does not give the failure count and the first failures", a.Response.Reason)
	}
}

func TestInvalidPropertiesFailBeforeAnyWrite(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)

	_, err := x.invoke(t, x.cfnEvent(t, "cfn-create.json", map[string]any{"Operation": "Reboot", "Disabled": "maybe"}))
	if err != nil {
		t.Fatal(err)
	}
	a := onlyAnswer(t, x)
	if a.Response.Status != cfn.StatusFailed {
		t.Fatalf("status = %s, want FAILED", a.Response.Status)
	}
	for _, want := range []string{"Operation", "Disabled"} {
		if !strings.Contains(a.Response.Reason, want) {
			t.Errorf("reason %q does not name property %s", a.Response.Reason, want)
		}
	}
	if n := x.sv.Server.WriteCalls(); n != 0 {
		t.Errorf("%d write calls for a configuration that does not validate, want 0", n)
	}
	if _, found := x.storedConfig(t); found {
		t.Errorf("an invalid configuration was stored")
	}
}

func TestMalformedCloudFormationRequestIsStillAnswered(t *testing.T) {
	x := newHarness(t, nil, nil)
	raw := x.rewrite(t, x.event(t, "cfn-create.json"), func(ev map[string]any) { ev["RequestType"] = "Replace" })

	if _, err := x.invoke(t, raw); err != nil {
		t.Fatalf("Invoke() = %v; the request was answered", err)
	}
	a := onlyAnswer(t, x)
	if a.Response.Status != cfn.StatusFailed || !strings.Contains(a.Response.Reason, "RequestType") {
		t.Errorf("answer = %s %q, want FAILED naming RequestType", a.Response.Status, a.Response.Reason)
	}
	if n := len(x.sv.Server.Calls()); n != 0 {
		t.Errorf("%d AWS calls for a malformed request, want 0", n)
	}
}

func TestPanicStillAnswersFailed(t *testing.T) {
	tests := map[string]func(*handler.Deps){
		"in a target": func(d *handler.Deps) {
			d.BeforeTarget = func(_ context.Context, account, region string) {
				if account == "333333333333" && region == "us-east-1" {
					panic("reconcile blew up")
				}
			}
		},
		"outside any target": func(d *handler.Deps) {
			d.BeforeRun = func(context.Context, trigger.Request, config.Config) { panic("run blew up") }
		},
	}
	for name, deps := range tests {
		t.Run(name, func(t *testing.T) {
			x := newHarness(t, nil, deps).withAllRoles(t)
			if _, err := x.invoke(t, x.event(t, "cfn-update.json")); err != nil {
				t.Fatalf("Invoke() = %v; the request was answered", err)
			}
			a := onlyAnswer(t, x)
			t.Logf("answer: %s %q", a.Response.Status, a.Response.Reason)
			if a.Response.Status != cfn.StatusFailed || !strings.Contains(a.Response.Reason, "blew up") && !strings.Contains(a.Response.Reason, "333333333333/us-east-1") {
				t.Errorf("answer = %s %q, want FAILED naming the panic or its target", a.Response.Status, a.Response.Reason)
			}
		})
	}
}

func TestAnswersBeforeTheDeadline(t *testing.T) {
	tests := map[string]struct {
		opts []sim.Option
		deps func(d *handler.Deps, release <-chan struct{})
	}{
		// Every call is slow: the run stops starting targets when the
		// reserve begins.
		"slow calls": {
			opts: []sim.Option{sim.WithLatency(40 * time.Millisecond)},
			deps: func(d *handler.Deps, _ <-chan struct{}) { d.Concurrency = 2 },
		},
		// A target hangs and ignores its context: the handler stops
		// waiting for the run.
		"hung target": {
			deps: func(d *handler.Deps, release <-chan struct{}) {
				d.BeforeTarget = func(_ context.Context, account, _ string) {
					if account == "222222222222" {
						<-release
					}
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			x := newHarness(t, nil, func(d *handler.Deps) {
				d.Reserve = 2 * time.Second
				tc.deps(d, release)
			}, tc.opts...).withAllRoles(t)
			deadline := time.Now().Add(3 * time.Second)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "deadline"})

			_, err := x.h.Invoke(ctx, x.event(t, "cfn-create.json"))
			returned := time.Now()

			if err != nil {
				t.Fatalf("Invoke() = %v", err)
			}
			a := onlyAnswer(t, x)
			t.Logf("answered %v before the deadline: %s %q", deadline.Sub(a.At), a.Response.Status, a.Response.Reason)
			if a.At.After(deadline) || returned.After(deadline) {
				t.Errorf("answered %v and returned %v after the deadline", a.At.Sub(deadline), returned.Sub(deadline))
			}
			if !strings.Contains(a.Response.Reason, "not-started") && !strings.Contains(a.Response.Reason, "did not return") {
				t.Errorf("reason %q does not say the run was cut short", a.Response.Reason)
			}
		})
	}
}

func TestDisabledCreatesNothingFromAnyTrigger(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	creates := func() int { return x.sv.Server.CallCount("ssm", "CreateMaintenanceWindow") }

	if _, err := x.invoke(t, x.cfnEvent(t, "cfn-create.json", map[string]any{"Disabled": "true"})); err != nil {
		t.Fatal(err)
	}
	if a := onlyAnswer(t, x); a.Response.Status != cfn.StatusSuccess {
		t.Errorf("status = %s, want SUCCESS (%q)", a.Response.Status, a.Response.Reason)
	}
	if cfg, found := x.storedConfig(t); !found || !cfg.Disabled {
		t.Errorf("stored configuration found %v, disabled %v; want a disabled one stored", found, cfg.Disabled)
	}
	for _, file := range []string{"schedule.json", "controltower-create-managed-account.json", "organizations-move-account.json"} {
		if _, err := x.invoke(t, x.event(t, file)); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	if n := creates(); n != 0 {
		t.Errorf("%d CreateMaintenanceWindow calls while disabled, want 0", n)
	}
	if got := x.windowed(t); len(got) != 0 {
		t.Errorf("accounts holding windows while disabled: %v", got)
	}
}

func TestUpdateToDisabledTearsDown(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	if _, err := x.invoke(t, x.event(t, "cfn-create.json")); err != nil {
		t.Fatal(err)
	}
	if got := x.windowed(t); len(got) != len(members) {
		t.Fatalf("after Create, windows in %v, want every account", got)
	}
	if _, err := x.invoke(t, x.cfnEvent(t, "cfn-update.json", map[string]any{"Disabled": "true"})); err != nil {
		t.Fatal(err)
	}
	if got := x.windowed(t); len(got) != 0 {
		t.Errorf("after disabling, windows remain in %v", got)
	}
	if last := x.cfn.answers(); last[len(last)-1].Response.Status != cfn.StatusSuccess {
		t.Errorf("disabling answered %s: %q", last[len(last)-1].Response.Status, last[len(last)-1].Response.Reason)
	}
}

func TestStoredConfigurationGovernsEveryTrigger(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	if _, err := x.invoke(t, x.cfnEvent(t, "cfn-create.json", map[string]any{"ExcludedAccounts": "333333333333"})); err != nil {
		t.Fatal(err)
	}
	if _, err := x.invoke(t, x.event(t, "schedule.json")); err != nil {
		t.Fatal(err)
	}
	want := []string{"111111111111", "222222222222", "444444444444", "555555555555"}
	if diff := cmp.Diff(want, x.windowed(t)); diff != "" {
		t.Errorf("accounts holding windows after the schedule (-want +got):\n%s", diff)
	}
}

func TestRepeatedEventsWriteNothingMore(t *testing.T) {
	for _, file := range []string{"cfn-create.json", "cfn-update.json", "schedule.json", "controltower-create-managed-account.json", "organizations-accept-handshake.json"} {
		t.Run(file, func(t *testing.T) {
			x := newHarness(t, nil, nil).withAllRoles(t)
			if !strings.HasPrefix(file, "cfn-") {
				x.deployed(t, config.Default())
			}
			if _, err := x.invoke(t, x.event(t, file)); err != nil {
				t.Fatal(err)
			}
			if x.sv.Server.WriteCalls() == 0 {
				t.Fatalf("first run wrote nothing: the test proves nothing")
			}
			x.sv.Server.ResetCalls()
			if _, err := x.invoke(t, x.event(t, file)); err != nil {
				t.Fatal(err)
			}
			if n := x.sv.Server.WriteCalls(); n != 0 {
				t.Errorf("the repeated event made %d write calls (%v), want 0", n, x.writers())
			}
			for _, a := range x.cfn.answers() {
				if a.Response.Status != cfn.StatusSuccess {
					t.Errorf("answer %s: %q", a.Response.Status, a.Response.Reason)
				}
			}
		})
	}
}

func TestAsynchronousFailuresReturnAnError(t *testing.T) {
	x := newHarness(t, nil, nil).deployed(t, config.Default()) // 555555555555 has no configuration role

	_, err := x.invoke(t, x.event(t, "schedule.json"))
	if err == nil {
		t.Fatal("Invoke() = nil; failed targets must fail the invocation so Lambda retries it and the DLQ keeps it")
	}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		if want := "555555555555/" + region; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Errorf("error is not the join of the 3 failed targets: %v", err)
	}

	// A new account whose role is still on its way is pending, not failed.
	if _, err := x.invoke(t, x.event(t, "organizations-accept-handshake.json")); err != nil {
		t.Errorf("an account whose role is not deployed yet failed the invocation: %v", err)
	}
}

func TestLogsAndMetrics(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t).deployed(t, config.Default())
	if _, err := x.invoke(t, x.event(t, "schedule.json")); err != nil {
		t.Fatal(err)
	}

	// Every active account in us-east-1 and eu-west-1, and 444444444444 in
	// af-south-1, the one account opted in to it.
	const converged = 11
	lines := x.logs.lines(t)
	targets, summaries, noConfig := 0, 0, 0
	for _, l := range lines {
		if l["request_id"] != "req-"+t.Name() || l["trigger"] != string(trigger.SourceSchedule) {
			t.Errorf("log line without the request id and trigger: %v", l)
		}
		if l["account"] != nil && l["region"] != nil {
			targets++
		}
		switch l["msg"] {
		case "invocation finished":
			summaries++
			if l["converged"] != float64(converged) {
				t.Errorf("summary line: converged = %v, want %d", l["converged"], converged)
			}
		case "invocation failed":
			noConfig++
		}
	}
	// A configuration is stored: no line may say the invocation failed.
	if targets < converged || summaries != 1 || noConfig != 0 {
		t.Errorf("%d per-target lines, %d summary lines, %d failure lines; want >= %d, 1, 0",
			targets, summaries, noConfig, converged)
	}

	metrics := x.metrics.lines(t)
	if len(metrics) != 1 {
		t.Fatalf("%d metric lines, want 1", len(metrics))
	}
	m := metrics[0]
	aws, _ := m["_aws"].(map[string]any)
	directives, _ := aws["CloudWatchMetrics"].([]any)
	if len(directives) != 1 || directives[0].(map[string]any)["Namespace"] != handler.MetricsNamespace {
		t.Fatalf("metric line has no orgpatch embedded-metric directive: %v", m)
	}
	declared := map[string]bool{}
	for _, d := range directives[0].(map[string]any)["Metrics"].([]any) {
		name := d.(map[string]any)["Name"].(string)
		declared[name] = true
		if _, ok := m[name]; !ok {
			t.Errorf("metric %s declared without a value", name)
		}
	}
	for _, name := range []string{handler.MetricTargetsConverged, handler.MetricTargetsFailed, handler.MetricTargetsPending, "WritesCreate", handler.MetricDuration} {
		if !declared[name] {
			t.Errorf("metric %s not declared", name)
		}
	}
	want := map[string]any{
		"Trigger":                      "schedule",
		handler.MetricTargetsConverged: float64(converged),
		handler.MetricTargetsFailed:    float64(0),
		handler.MetricWrites:           float64(x.sv.Server.WriteCalls()),
		"WritesByKind":                 float64(x.sv.Server.WriteCalls()),
	}
	got := map[string]any{"WritesByKind": float64(0)}
	for k := range want {
		if v, ok := m[k]; ok {
			got[k] = v
		}
	}
	for _, kind := range []string{"WritesCreate", "WritesUpdate", "WritesDelete", "WritesReset"} {
		n, _ := m[kind].(float64)
		got["WritesByKind"] = got["WritesByKind"].(float64) + n
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metric values (-want +got):\n%s", diff)
	}
}

func TestUpdateRenamingAWindowLeavesNoOldOneBehind(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	if _, err := x.invoke(t, x.event(t, "cfn-create.json")); err != nil {
		t.Fatal(err)
	}
	renamed := config.Default()
	renamed.Windows = renamed.Windows[2:]
	renamed.Windows[0].Name = "orgpatch_linux_maintenance"
	body, err := renamed.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.invoke(t, x.cfnEvent(t, "cfn-update.json", map[string]any{"Configuration": string(body)})); err != nil {
		t.Fatal(err)
	}
	for _, a := range members {
		if diff := cmp.Diff([]string{"orgpatch_linux_maintenance"}, x.windows(t, a, "eu-west-1")); diff != "" {
			t.Errorf("%s windows after the rename (-want +got):\n%s", a, diff)
		}
	}
	if cfg, _ := x.storedConfig(t); len(cfg.Windows) != 1 || cfg.Windows[0].Name != "orgpatch_linux_maintenance" {
		t.Errorf("stored configuration has windows %+v, want the renamed one only", cfg.Windows)
	}
}

func TestUpdateRetiresRegionsAndAccountsItNoLongerGoverns(t *testing.T) {
	tests := map[string]struct {
		before, after map[string]any
		// held: account -> region -> holds windows, after the Update.
		held map[string]map[string]bool
	}{
		"region dropped from the list": {
			before: map[string]any{"Regions": "us-east-1,eu-west-1"},
			after:  map[string]any{"Regions": "us-east-1"},
			held: map[string]map[string]bool{
				"111111111111": {"us-east-1": true, "eu-west-1": false},
				"444444444444": {"us-east-1": true, "eu-west-1": false},
			},
		},
		"account excluded": {
			after: map[string]any{"ExcludedAccounts": "333333333333"},
			held: map[string]map[string]bool{
				"222222222222": {"us-east-1": true, "eu-west-1": true},
				"333333333333": {"us-east-1": false, "eu-west-1": false},
			},
		},
		"OU excluded": {
			after: map[string]any{"ExcludedOUs": "ou-sm01-security"},
			held: map[string]map[string]bool{
				"111111111111": {"us-east-1": true, "eu-west-1": true},
				"222222222222": {"us-east-1": false, "eu-west-1": false},
				"333333333333": {"us-east-1": false, "eu-west-1": false},
				"444444444444": {"us-east-1": true, "eu-west-1": true},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x := newHarness(t, nil, nil).withAllRoles(t)
			if _, err := x.invoke(t, x.cfnEvent(t, "cfn-create.json", tc.before)); err != nil {
				t.Fatal(err)
			}
			update := x.rewrite(t, x.event(t, "cfn-update.json"), func(ev map[string]any) {
				props := map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:orgpatch"}
				old := map[string]any{"ServiceToken": props["ServiceToken"]}
				for k, v := range tc.before {
					old[k] = v
				}
				for k, v := range tc.after {
					props[k] = v
				}
				ev["ResourceProperties"], ev["OldResourceProperties"] = props, old
			})
			if _, err := x.invoke(t, update); err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]bool{}
			for account, regions := range tc.held {
				got[account] = map[string]bool{}
				for region := range regions {
					got[account][region] = len(x.windows(t, account, region)) > 0
				}
			}
			if diff := cmp.Diff(tc.held, got); diff != "" {
				t.Errorf("windows held after the Update (-want +got):\n%s", diff)
			}
			answers := x.cfn.answers()
			if last := answers[len(answers)-1].Response; last.Status != cfn.StatusSuccess {
				t.Errorf("Update answered %s: %q", last.Status, last.Reason)
			}

			// Retried, the Update finds nothing left to do.
			x.sv.Server.ResetCalls()
			if _, err := x.invoke(t, update); err != nil {
				t.Fatal(err)
			}
			if n := x.sv.Server.WriteCalls(); n != 0 {
				t.Errorf("the retried Update made %d write calls, want 0", n)
			}
		})
	}
}

func TestDeleteKeepsDHMCAndDeletesTheConfiguration(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	if _, err := x.invoke(t, x.event(t, "cfn-create.json")); err != nil {
		t.Fatal(err)
	}
	dhmc := func() string {
		client := ssm.NewFromConfig(x.sv.AccountConfig(t, "222222222222", role))
		out, err := client.GetServiceSetting(context.Background(), &ssm.GetServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID)})
		if err != nil {
			t.Fatalf("get DHMC setting: %v", err)
		}
		return aws.ToString(out.ServiceSetting.SettingValue)
	}
	before := dhmc()
	if !strings.Contains(before, config.Default().DHMCRoleName) {
		t.Fatalf("after Create the DHMC setting is %q, want the DHMC role: the test proves nothing", before)
	}
	if _, found := x.storedConfig(t); !found {
		t.Fatal("after Create no configuration is stored: the test proves nothing")
	}
	x.sv.Server.ResetCalls()

	if _, err := x.invoke(t, x.event(t, "cfn-delete.json")); err != nil {
		t.Fatal(err)
	}
	if last := x.cfn.answers()[len(x.cfn.answers())-1].Response; last.Status != cfn.StatusSuccess || !strings.Contains(last.Reason, paramName+" deleted") {
		t.Errorf("Delete answered %s %q, want SUCCESS saying %s was deleted", last.Status, last.Reason, paramName)
	}
	if got := x.windowed(t); len(got) != 0 {
		t.Errorf("after Delete windows remain in %v", got)
	}
	if after := dhmc(); after != before {
		t.Errorf("Delete changed the DHMC setting from %q to %q; it must keep it", before, after)
	}
	if n := x.sv.Server.CallCount("ssm", "PutParameter") + x.sv.Server.CallCount("ssm", "ResetServiceSetting") + x.sv.Server.CallCount("ssm", "UpdateServiceSetting"); n != 0 {
		t.Errorf("Delete made %d configuration or DHMC writes, want none", n)
	}
	if _, found := x.storedConfig(t); found {
		t.Errorf("after Delete the configuration parameter %s remains", paramName)
	}

	// Nothing brings the windows back: a late scheduled run finds no
	// configuration and fails doing nothing, and a retried Delete still
	// succeeds.
	x.sv.Server.ResetCalls()
	if _, err := x.invoke(t, x.event(t, "schedule.json")); err == nil {
		t.Errorf("schedule.json after Delete: nil error, want no configuration")
	}
	if _, err := x.invoke(t, x.event(t, "cfn-delete.json")); err != nil {
		t.Errorf("cfn-delete.json after Delete: %v", err)
	}
	if last := x.cfn.answers()[len(x.cfn.answers())-1].Response; last.Status != cfn.StatusSuccess {
		t.Errorf("retried Delete answered %s %q, want SUCCESS", last.Status, last.Reason)
	}
	if n := x.sv.Server.WriteCalls(); n != 0 {
		t.Errorf("after Delete, a scheduled run and a retried Delete made %d write calls (%v), want 0", n, x.writers())
	}
}

// deleteWrites is how many writes a Delete makes after a Create in the small
// organization, every account with its role: the windows' removal, then
// the parameter's deletion.
func deleteWrites(t *testing.T) int {
	t.Helper()
	x := newHarness(t, nil, nil).withAllRoles(t)
	if _, err := x.invoke(t, x.event(t, "cfn-create.json")); err != nil {
		t.Fatal(err)
	}
	before := x.sv.Server.Writes()
	if _, err := x.invoke(t, x.event(t, "cfn-delete.json")); err != nil {
		t.Fatal(err)
	}
	if x.sv.Server.CallCount("ssm", "DeleteParameter") != 1 {
		t.Fatal("the Delete did not delete the configuration parameter")
	}
	return x.sv.Server.Writes() - before
}

func TestIncompleteDeleteKeepsTheConfiguration(t *testing.T) {
	tests := map[string]struct {
		// allRoles: every account has its role from the start.
		allRoles bool
		// setup prepares x, created, for a Delete that fails; it returns
		// what makes the retried Delete succeed. slow, while set, makes
		// every target take 300ms.
		setup func(t *testing.T, x *harness, slow *atomic.Bool) (fix func())
		// deadline, when set, is the failing Delete's time to run.
		deadline time.Duration
		// reason: what the failed Delete's Reason must say.
		reason []string
	}{
		"a target fails": {
			setup:  func(t *testing.T, x *harness, _ *atomic.Bool) func() { return func() { x.withAllRoles(t) } },
			reason: []string{"3 failed", "555555555555 (af-south-1,eu-west-1,us-east-1) AssumeRole AccessDenied", paramName + " kept for the retried Delete"},
		},
		// No later run would reach the targets the deadline left out.
		"the deadline leaves targets unreached": {
			allRoles: true,
			setup: func(_ *testing.T, _ *harness, slow *atomic.Bool) func() {
				slow.Store(true)
				return func() { slow.Store(false) }
			},
			deadline: 1600 * time.Millisecond,
			reason:   []string{"not-started", paramName + " kept for the retried Delete"},
		},
		"the parameter's deletion fails": {
			allRoles: true,
			setup: func(t *testing.T, x *harness, _ *atomic.Bool) func() {
				// Every call fails once the windows are removed: the
				// parameter's deletion is the Delete's last write.
				x.sv.Server.FailAfterWrites(x.sv.Server.Writes() + deleteWrites(t) - 1)
				return func() { x.sv.Server.FailAfterWrites(-1) }
			},
			reason: []string{"windows removed", "delete configuration parameter " + paramName, "InternalServerError"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var slow atomic.Bool
			x := newHarness(t, nil, func(d *handler.Deps) {
				// No retries: the injected failure is meant to stick.
				d.Management.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
				d.Concurrency = 1
				d.BeforeTarget = func(ctx context.Context, _, _ string) {
					if slow.Load() {
						select {
						case <-ctx.Done():
						case <-time.After(300 * time.Millisecond):
						}
					}
				}
			})
			if tc.allRoles {
				x.withAllRoles(t)
			}
			if _, err := x.invoke(t, x.event(t, "cfn-create.json")); err != nil {
				t.Fatal(err)
			}
			fix := tc.setup(t, x, &slow)

			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "delete"})
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			if _, err := x.h.Invoke(ctx, x.event(t, "cfn-delete.json")); err != nil {
				t.Fatal(err)
			}
			answers := x.cfn.answers()
			failed := answers[len(answers)-1].Response
			t.Logf("failed Delete: %q", failed.Reason)
			if failed.Status != cfn.StatusFailed {
				t.Errorf("Delete answered %s, want FAILED so the operator retries it", failed.Status)
			}
			for _, want := range tc.reason {
				if !strings.Contains(failed.Reason, want) {
					t.Errorf("reason %q does not say %q", failed.Reason, want)
				}
			}
			// Read through the backend: every call may still be failing.
			if _, _, found := x.sv.Server.SSM().Parameter(x.sv.Server.ManagementAccount(), simtest.Region, paramName); !found {
				t.Errorf("after the failed Delete the parameter %s is gone; the retried Delete needs it", paramName)
			}

			fix()
			if _, err := x.invoke(t, x.event(t, "cfn-delete.json")); err != nil {
				t.Fatal(err)
			}
			answers = x.cfn.answers()
			if retried := answers[len(answers)-1].Response; retried.Status != cfn.StatusSuccess {
				t.Errorf("retried Delete answered %s %q, want SUCCESS", retried.Status, retried.Reason)
			}
			if got := x.windowed(t); len(got) != 0 {
				t.Errorf("after the retried Delete windows remain in %v", got)
			}
			if _, found := x.storedConfig(t); found {
				t.Errorf("after the retried Delete the parameter %s remains", paramName)
			}
		})
	}
}

// noConfigurationLine is the message logged when a trigger finds no stored
// configuration.
const noConfigurationLine = "no configuration has been deployed; nothing done"

// TestNoConfigurationFailsWithoutWrites: with the parameter missing (the
// rules exist only while the stack's custom resource does, so someone
// deleted it) every trigger fails, for the retries and the dead-letter
// queue's alarm, and changes nothing.
func TestNoConfigurationFailsWithoutWrites(t *testing.T) {
	for _, file := range []string{"schedule.json", "controltower-create-managed-account.json", "organizations-move-account.json", "organizations-accept-handshake.json"} {
		t.Run(file, func(t *testing.T) {
			x := newHarness(t, nil, nil).withAllRoles(t)

			_, err := x.invoke(t, x.event(t, file))
			if err == nil || !strings.Contains(err.Error(), paramName) {
				t.Errorf("Invoke() = %v, want an error naming %s", err, paramName)
			}
			var calls []string
			for _, c := range x.sv.Server.Calls() {
				calls = append(calls, c.Account+" "+c.Service+" "+c.Operation+" "+c.ErrorCode)
			}
			if diff := cmp.Diff([]string{"111111111111 ssm GetParameter ParameterNotFound"}, calls); diff != "" {
				t.Errorf("AWS calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnreadableStoredConfigurationFailsWithoutWrites(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	_, err := ssm.NewFromConfig(x.sv.Config).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(paramName), Type: ssmtypes.ParameterTypeString, Value: aws.String(`{"windows": "all of them"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	x.sv.Server.ResetCalls()

	_, err = x.invoke(t, x.event(t, "schedule.json"))
	if err == nil || !strings.Contains(err.Error(), paramName) {
		t.Errorf("Invoke() = %v, want an error naming the parameter", err)
	}
	if n := x.sv.Server.WriteCalls(); n != 0 {
		t.Errorf("%d write calls with an unreadable configuration, want 0", n)
	}
}

func TestThousandsOfFailuresStayDeliverable(t *testing.T) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 400, MissingRole: 400, Regions: []string{"us-east-1", "eu-west-1", "eu-central-1"}})
	x := newHarness(t, org, nil).deployed(t, config.Default())

	_, err := x.invoke(t, x.event(t, "schedule.json"))
	if err == nil {
		t.Fatal("Invoke() = nil, want the failed targets")
	}
	// The message goes to the on-failure destination, an SQS message of at
	// most 256 KB together with the event.
	if n := len(err.Error()); n > 64<<10 {
		t.Errorf("error message is %d bytes", n)
	}
	if !strings.Contains(err.Error(), "more failures") {
		t.Errorf("error message does not say failures were left out: ...%s", err.Error()[max(0, len(err.Error())-200):])
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 1200 {
		t.Errorf("error does not carry every failed target")
	}
}

func TestConfigurationOverStandardParameterSizeIsStored(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	big := config.Default()
	for _, suffix := range []string{"_second", "_third"} {
		for _, w := range config.Default().Windows {
			w.Name += suffix
			w.Target.Name += suffix
			w.Task.Name += suffix
			big.Windows = append(big.Windows, w)
		}
	}
	body, err := big.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if len(body) <= 4096 {
		t.Fatalf("configuration is %d bytes, within the standard tier: the test proves nothing", len(body))
	}
	if _, err := x.invoke(t, x.cfnEvent(t, "cfn-create.json", map[string]any{"Configuration": string(body)})); err != nil {
		t.Fatal(err)
	}
	if a := onlyAnswer(t, x); a.Response.Status != cfn.StatusSuccess {
		t.Fatalf("status = %s: %q", a.Response.Status, a.Response.Reason)
	}
	if cfg, found := x.storedConfig(t); !found || len(cfg.Windows) != 9 {
		t.Errorf("stored configuration found %v with %d windows, want 9", found, len(cfg.Windows))
	}
}
