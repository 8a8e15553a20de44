package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/demo"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// TestPlanShowsWhatTheUpdateDoes: `orgpatch plan --config NEW` against a
// deployed organization and the CloudFormation Update to NEW through the
// real handler, each on its own copy of the same simulated organization,
// report the same actions target by target, removals included, and the
// Update's writes are exactly the plan's.
func TestPlanShowsWhatTheUpdateDoes(t *testing.T) {
	old := config.Default()
	old.Regions = []string{"us-east-1", "eu-west-1", "us-west-2"}
	old.ExcludedAccounts = []string{"666666666666"} // it has no configuration role
	next := old
	next.Regions = []string{"us-east-1", "eu-west-1"}  // us-west-2 dropped
	next.ExcludedOUs = []string{"ou-demo-security"}    // 222222222222 and 333333333333 newly excluded
	next.Windows = old.Windows[1:]                     // sra_ssm_agent_update removed
	next.Windows[0].Schedule = "cron(0 0 2 ? * THU *)" // and one window moved

	// deployed is a copy of the default organization after the stack's
	// Create with old.
	deployed := func() *simtest.Env {
		env := simtest.Start(t, nil)
		res := invokeCFN(t, env, "Create", old, nil)
		if res.Status != "SUCCESS" {
			t.Fatalf("Create answered %s: %s", res.Status, res.Reason)
		}
		env.Server.ResetCalls()
		return env
	}

	planned := deployed()
	body, err := next.JSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "next.json")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "plan", "--endpoint", planned.URL, "--config", path, "--output", "json")
	if code != 0 {
		t.Fatalf("plan exit %d: %s\n%s", code, errs, out)
	}
	var plan report.Report
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	if n := planned.Server.WriteCalls(); n != 0 {
		t.Errorf("plan made %d write calls", n)
	}

	updated := deployed()
	res := invokeCFN(t, updated, "Update", next, &old)
	if res.Status != "SUCCESS" {
		t.Fatalf("Update answered %s: %s", res.Status, res.Reason)
	}

	// The same targets, modes and actions; "will change" is "converged".
	applied := map[report.Status]report.Status{report.WillChange: report.Converged, report.NoChange: report.Unchanged}
	type outcome struct {
		Target, Mode string
		Status       report.Status
		Actions      []report.Action
	}
	outcomes := func(r report.Report, dry bool) []outcome {
		var out []outcome
		for _, tg := range r.Targets {
			st := tg.Status
			if s, ok := applied[st]; ok && dry {
				st = s
			}
			out = append(out, outcome{tg.Name(), tg.Mode, st, tg.Actions})
		}
		return out
	}
	if diff := cmp.Diff(outcomes(plan, true), outcomes(*res.Report, false)); diff != "" {
		t.Errorf("plan vs Update, target by target (-plan +Update):\n%s", diff)
	}

	// The removals are there: the dropped region, the excluded OU's
	// accounts and the removed window.
	modes := map[string]string{}
	for _, tg := range plan.Targets {
		modes[tg.Name()] = tg.Mode
	}
	for target, mode := range map[string]string{
		"444444444444/us-west-2": "teardown", "222222222222/us-east-1": "teardown", "333333333333/eu-west-1": "teardown",
		"444444444444/us-east-1": "converge",
	} {
		if modes[target] != mode {
			t.Errorf("plan: %s mode %q, want %q", target, modes[target], mode)
		}
	}

	// The Update's writes in member accounts, target by target, are the
	// plan's changes.
	wrote := map[string]int{}
	for _, c := range updated.Server.Calls() {
		if c.Write && c.Service == "ssm" && c.Operation != "PutParameter" {
			wrote[c.Account+"/"+c.Region]++
		}
	}
	changes := map[string]int{}
	for _, tg := range plan.Targets {
		if n := tg.Changes(); n > 0 {
			changes[tg.Name()] = n
		}
	}
	if diff := cmp.Diff(changes, wrote); diff != "" {
		t.Errorf("plan's changes vs the Update's write calls per target (-plan +Update):\n%s", diff)
	}
	if len(changes) == 0 {
		t.Error("the plan changes nothing; the test proves nothing")
	}
}

// invokeCFN runs a CloudFormation request of kind with cfg (and the
// previous configuration prev) through the real handler, and returns its
// answer with the run's report.
func invokeCFN(t *testing.T, env *simtest.Env, kind string, cfg config.Config, prev *config.Config) struct {
	Status, Reason string
	Report         *report.Report
} {
	t.Helper()
	props := func(c config.Config) map[string]any {
		body, err := c.JSON()
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:orgpatch", "Configuration": string(body)}
	}
	capture := demo.NewCapture()
	defer capture.Close()
	ev := map[string]any{
		"RequestType": kind, "ResponseURL": capture.URL("req-" + kind), "RequestId": "req-" + kind,
		"StackId":           "arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10",
		"LogicalResourceId": "OrgPatch", "ResourceType": "Custom::OrgPatch",
		"ServiceToken":       "arn:aws:lambda:us-east-1:111111111111:function:orgpatch",
		"ResourceProperties": props(cfg),
	}
	if prev != nil {
		ev["PhysicalResourceId"], ev["OldResourceProperties"] = "orgpatch", props(*prev)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	h := handler.New(handler.Deps{Management: env.Config, Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard, LoopbackAnswers: true})
	out, err := h.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	got, refused := capture.Responses()
	if len(got) != 1 || len(refused) > 0 {
		t.Fatalf("%s: CloudFormation got %d answers, refused %v", kind, len(got), refused)
	}
	res := out.(handler.Result)
	if res.Report == nil {
		t.Fatalf("%s: no report: %s", kind, fmt.Sprint(res))
	}
	return struct {
		Status, Reason string
		Report         *report.Report
	}{string(got[0].Status), got[0].Reason, res.Report}
}
