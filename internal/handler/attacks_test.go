package handler_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// The attacks of issue 20 on the step path, each sent as written: every one
// is refused with a message naming why, and makes no write (the
// simulator's call log).

// TestMemberAccountEnvelopeIsRefused: an event recorded in a member
// account (the envelope's account), sent to the function directly, is
// refused before any AWS call; a 6 MB account id is quoted by a bounded
// prefix only.
func TestMemberAccountEnvelopeIsRefused(t *testing.T) {
	huge := strings.Repeat("9", 6<<20)
	tests := map[string]struct {
		file, account, want string
	}{
		"schedule from a member account":     {"schedule.json", "222222222222", "recorded in account 222222222222"},
		"account move from a member account": {"organizations-move-account.json", "333333333333", "recorded in account 333333333333"},
		"a 6 MB account id":                  {"schedule.json", huge, "is not a 12-digit account id"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x, _ := deployedStack(t)
			raw := x.rewrite(t, x.event(t, tc.file), func(ev map[string]any) { ev["account"] = tc.account })
			_, err := x.invoke(t, raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Invoke() = %.300v, want a refusal naming %q", err, tc.want)
			}
			if n := len(err.Error()); n > 512 {
				t.Errorf("the error is %d bytes long; want a bad value quoted by a bounded prefix", n)
			}
			if calls := x.sv.Server.Calls(); len(calls) != 0 {
				t.Errorf("%d AWS calls for a refused event; first %s %s", len(calls), calls[0].Service, calls[0].Operation)
			}
		})
	}
}

// dhmcSettingID is the DHMC service setting.
const dhmcSettingID = "/ssm/managed-instance/default-ec2-instance-management-role"

// writes counts the writes the simulator served since its last reset.
func writes(x *harness) int {
	return x.sv.Server.CountCalls(func(c sim.Call) bool { return c.Write })
}

// TestForgedDeleteIsRefused: a Delete request with the stack's own id and
// properties, sent while CloudFormation shows the stack not being deleted,
// is refused (FAILED, the invocation failed) naming the stack's status;
// nothing is removed and the configuration parameter stays.
func TestForgedDeleteIsRefused(t *testing.T) {
	x, props := deployedStack(t)
	x.sv.Server.PutStack(sim.Stack{ID: stackID, Name: "orgpatch", Status: "CREATE_COMPLETE"})
	x.sv.Server.ResetCalls()
	before := x.windowed(t)
	x.sv.Server.ResetCalls()
	_, err := x.invoke(t, x.cfnEvent(t, "cfn-delete.json", props))
	if err == nil || !strings.Contains(err.Error(), "is CREATE_COMPLETE") {
		t.Fatalf("Invoke() = %v, want the Delete refused naming the stack's status", err)
	}
	if n := writes(x); n != 0 {
		t.Errorf("%d writes for a forged Delete", n)
	}
	if got := x.windowed(t); !slices.Equal(got, before) {
		t.Errorf("accounts with windows %v, want %v as before", got, before)
	}
	if _, ok := x.storedConfig(t); !ok {
		t.Errorf("the configuration parameter was deleted by a forged Delete")
	}
}

// TestForgedRunsAreRefused: steps of executions nobody's stack operation
// started (states:StartExecution, or the function invoked with a step) are
// refused before any write: a remove run without the stack's own Delete,
// with a copied Delete request while the stack is not being deleted, and a
// worker's batch that removes.
func TestForgedRunsAreRefused(t *testing.T) {
	x, props := deployedStack(t)
	x.sv.Server.PutStack(sim.Stack{ID: stackID, Name: "orgpatch", Status: "UPDATE_COMPLETE"})
	cfg, ok := x.storedConfig(t)
	if !ok {
		t.Fatal("no stored configuration")
	}
	stored, err := cfg.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var copied map[string]any
	if err := json.Unmarshal(x.cfnEvent(t, "cfn-delete.json", props), &copied); err != nil {
		t.Fatal(err)
	}
	discover := func(request map[string]any) json.RawMessage {
		return json.RawMessage(mustMarshal(t, map[string]any{"step": "discover", "run": "forged", "started": "2026-12-04T18:00:00Z", "request": request}))
	}
	tests := map[string]struct {
		raw  json.RawMessage
		want string
	}{
		"StartExecution remove": {
			raw:  discover(map[string]any{"source": "schedule", "action": "remove", "config": json.RawMessage(stored)}),
			want: "a remove run is only for the stack's own CloudFormation Delete",
		},
		"StartExecution remove with a copied Delete request": {
			raw:  discover(map[string]any{"source": "cloudformation", "action": "remove", "config": json.RawMessage(stored), "cloudFormation": copied}),
			want: "is UPDATE_COMPLETE",
		},
		"a worker's batch that removes": {
			raw: json.RawMessage(mustMarshal(t, map[string]any{
				"Items":      []any{map[string]any{"account": "222222222222", "regions": map[string]any{"remove": []string{"us-east-1"}}}},
				"BatchInput": map[string]any{"run": "forged", "mode": "remove", "config": json.RawMessage(stored), "previous": nil},
			})),
			want: "a remove run is only for the stack's own CloudFormation Delete",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x.sv.Server.ResetCalls()
			_, err := x.invoke(t, tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Invoke() = %v, want a refusal naming %q", err, tc.want)
			}
			if n := writes(x); n != 0 {
				t.Errorf("%d writes for a forged run", n)
			}
			if _, ok := x.storedConfig(t); !ok {
				t.Errorf("the configuration parameter was deleted")
			}
		})
	}
}

// TestForgedOldPropertiesRemoveNothing: during the stack's own Update, an
// Update request whose OldResourceProperties claim a region the stored
// configuration never governed tears nothing down there: the previous
// configuration is the stored one, never the request's word.
func TestForgedOldPropertiesRemoveNothing(t *testing.T) {
	x, props := deployedStack(t)
	x.sv.Server.PutStack(sim.Stack{ID: stackID, Name: "orgpatch", Status: "UPDATE_IN_PROGRESS"})
	forged := map[string]any{}
	for k, v := range props {
		forged[k] = v
	}
	// A team's own DHMC setting in a region orgpatch does not govern.
	const region, teamRole = "ap-southeast-2", "service-role/team-own-dhmc-role"
	team := ssm.NewFromConfig(x.sv.AccountConfig(t, "222222222222", config.Default().ConfigurationRoleName), func(o *ssm.Options) { o.Region = region })
	if _, err := team.UpdateServiceSetting(context.Background(), &ssm.UpdateServiceSettingInput{
		SettingId: aws.String(dhmcSettingID), SettingValue: aws.String(teamRole),
	}); err != nil {
		t.Fatal(err)
	}
	old := config.Default()
	old.Regions = []string{"us-east-1", region}
	body, err := old.JSON()
	if err != nil {
		t.Fatal(err)
	}
	forged[config.PropConfiguration] = string(body)
	raw := x.rewrite(t, x.cfnEvent(t, "cfn-update.json", props), func(ev map[string]any) { ev["OldResourceProperties"] = forged })
	x.sv.Server.ResetCalls()
	if _, err := x.invoke(t, raw); err != nil {
		t.Fatal(err)
	}
	teardowns := x.sv.Server.CountCalls(func(c sim.Call) bool { return c.Write && c.Region == region })
	if teardowns != 0 {
		t.Errorf("%d writes in %s, which only the forged OldResourceProperties name", teardowns, region)
	}
	got, err := team.GetServiceSetting(context.Background(), &ssm.GetServiceSettingInput{SettingId: aws.String(dhmcSettingID)})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(got.ServiceSetting.SettingValue); v != teamRole {
		t.Errorf("the team's DHMC setting in %s is %q, want %q as the team set it", region, v, teamRole)
	}
	if !strings.Contains(x.logs.String(), "OldResourceProperties are not the stored configuration") {
		t.Errorf("the log does not say why the old properties were not used")
	}
}

// TestExecutionInputHoldsNoSecret: a run CloudFormation starts carries
// neither the presigned ResponseURL nor a previous configuration in its
// execution's input (and so its history): the request lives in the runs
// bucket under its request id, and the run still answers CloudFormation.
func TestExecutionInputHoldsNoSecret(t *testing.T) {
	m := newMachine(t)
	if _, err := m.invoke(t, m.cfnEvent(t, "cfn-create.json", map[string]any{"Disabled": "false"})); err != nil {
		t.Fatal(err)
	}
	input := aws.ToString(m.exec.started[len(m.exec.started)-1].Input)
	for _, secret := range []string{"ResponseURL", m.cfn.srv.URL, "previous"} {
		if strings.Contains(input, secret) {
			t.Errorf("the execution's input holds %q: %s", secret, input)
		}
	}
	if !strings.Contains(input, `"requestKey":"runs/requests/`) {
		t.Errorf("the execution's input names no stored request: %s", input)
	}
	out := m.execute(t, nil)
	if out.Status != cfn.StatusSuccess {
		t.Errorf("the run answered %q (%s), want SUCCESS", out.Status, out.Summary)
	}
}
