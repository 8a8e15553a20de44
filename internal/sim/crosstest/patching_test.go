package crosstest

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func init() {
	for key, op := range map[string]sdkOp{
		"ssm.DescribeMaintenanceWindowExecutions":     sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeMaintenanceWindowExecutions),
		"ssm.DescribeMaintenanceWindowExecutionTasks": sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeMaintenanceWindowExecutionTasks),
		"ssm.ListCommands":                            sdkCall(ssm.NewFromConfig, (*ssm.Client).ListCommands),
		"ssm.ListCommandInvocations":                  sdkCall(ssm.NewFromConfig, (*ssm.Client).ListCommandInvocations),
		"ssm.DescribeAvailablePatches":                sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeAvailablePatches),
		"ssm.DescribeInstancePatches":                 sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeInstancePatches),
	} {
		sdkOps[key] = op
	}
	// The timestamps of runs, commands and patches.
	for _, m := range []string{"starttime", "endtime", "requesteddatetime", "releasedate", "installedtime"} {
		timeMembers[m] = true
	}
}

// patchingStart is a Wednesday noon: the window below first runs on
// Sunday 8 March at 02:00.
var patchingStart = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// patchingScenario is a weekly install window in the management account
// (whose generated nodes are in patch group "default"), then, once the
// simulated clock has passed Sunday 02:00, what the run left: the window's
// execution, the command and its invocations, the nodes' patch states and
// patches, and the catalog.
func patchingScenario(ids []string) [][]step {
	window := map[string]any{"WindowId": "${WindowId}"}
	linux := []map[string]any{{"Key": "PRODUCT", "Values": []string{"AmazonLinux2023"}}}
	return [][]step{{
		{Name: "create window", Service: "ssm", Operation: "CreateMaintenanceWindow", As: "mgmt", Capture: []string{"WindowId"}, Params: map[string]any{
			"Name": "patch-weekly", "Schedule": "cron(0 2 ? * SUN *)", "Duration": 3, "Cutoff": 1, "AllowUnassociatedTargets": false}},
		{Name: "register target", Service: "ssm", Operation: "RegisterTargetWithMaintenanceWindow", As: "mgmt", Capture: []string{"WindowTargetId"}, Params: map[string]any{
			"WindowId": "${WindowId}", "ResourceType": "INSTANCE", "Targets": []map[string]any{{"Key": "tag:Patch Group", "Values": []string{"default"}}}}},
		{Name: "register task", Service: "ssm", Operation: "RegisterTaskWithMaintenanceWindow", As: "mgmt", Capture: []string{"WindowTaskId"}, Params: map[string]any{
			"WindowId": "${WindowId}", "TaskType": "RUN_COMMAND", "TaskArn": "AWS-RunPatchBaseline", "MaxConcurrency": "10", "MaxErrors": "1",
			"Targets": []map[string]any{{"Key": "WindowTargetIds", "Values": []string{"${WindowTargetId}"}}},
			"TaskInvocationParameters": map[string]any{"RunCommand": map[string]any{"Parameters": map[string]any{
				"Operation": []string{"Install"}, "RebootOption": []string{"NoReboot"}}}}}},
		{Name: "executions before the window", Service: "ssm", Operation: "DescribeMaintenanceWindowExecutions", As: "mgmt", Params: window},
	}, {
		{Name: "executions", Service: "ssm", Operation: "DescribeMaintenanceWindowExecutions", As: "mgmt", ReadOnly: true, Params: window},
		{Name: "window", Service: "ssm", Operation: "GetMaintenanceWindow", As: "mgmt", ReadOnly: true, Params: window},
		{Name: "commands", Service: "ssm", Operation: "ListCommands", As: "mgmt", ReadOnly: true, Params: map[string]any{"MaxResults": 50}},
		{Name: "invocations", Service: "ssm", Operation: "ListCommandInvocations", As: "mgmt", ReadOnly: true, Params: map[string]any{"MaxResults": 50}},
		{Name: "failed invocations", Service: "ssm", Operation: "ListCommandInvocations", As: "mgmt", ReadOnly: true, Params: map[string]any{
			"Filters": []map[string]any{{"key": "Status", "value": "Failed"}}}},
		{Name: "patch states", Service: "ssm", Operation: "DescribeInstancePatchStates", As: "mgmt", ReadOnly: true, Params: map[string]any{"InstanceIds": ids, "MaxResults": 50}},
		{Name: "patches", Service: "ssm", Operation: "DescribeInstancePatches", As: "mgmt", ReadOnly: true, Params: map[string]any{"InstanceId": ids[0], "MaxResults": 50}},
		{Name: "linux patches", Service: "ssm", Operation: "DescribeAvailablePatches", As: "mgmt", ReadOnly: true, Params: map[string]any{"Filters": linux, "MaxResults": 50}},
		{Name: "windows patches", Service: "ssm", Operation: "DescribeAvailablePatches", As: "mgmt", ReadOnly: true, Params: map[string]any{
			"Filters": []map[string]any{{"Key": "MSRC_SEVERITY", "Values": []string{"Critical"}}}}},
		{Name: "linux key without product", Service: "ssm", Operation: "DescribeAvailablePatches", As: "mgmt", WantError: "ValidationException", Params: map[string]any{
			"Filters": []map[string]any{{"Key": "CVE_ID", "Values": []string{"CVE-2024-5535"}}}}},
		{Name: "executions of no window", Service: "ssm", Operation: "DescribeMaintenanceWindowExecutions", As: "mgmt", WantError: "DoesNotExistException",
			Params: map[string]any{"WindowId": "mw-0123456789abcdef0"}},
		{Name: "patches of no node", Service: "ssm", Operation: "DescribeInstancePatches", As: "mgmt", WantError: "InvalidInstanceId",
			Params: map[string]any{"InstanceId": "i-0123456789abcdef0"}},
	}}
}

// TestPatchingCallsSeeTheSame runs a window past its time through the SDK,
// the AWS CLI and boto3, each against a simulator with a clock of its own
// (the times themselves are pinned by the simulator's own tests: the
// clients show them each their own way).
func TestPatchingCallsSeeTheSame(t *testing.T) {
	const perTarget = 8
	mgmt := sim.DefaultOrg().ManagementAccount
	var ids, online []string
	for _, n := range nodes.Generate(mgmt, simtest.Region, perTarget, patchingStart) {
		if n.Managed {
			ids = append(ids, n.ID)
			if n.PingStatus == nodes.Online {
				online = append(online, n.ID)
			}
		}
	}
	if len(online) < 2 {
		t.Fatalf("the generator gave %d managed nodes, %d online; want 2 online or more", len(ids), len(online))
	}
	phases := patchingScenario(online)
	var steps []step
	for _, p := range phases {
		steps = append(steps, p...)
	}
	advance := func(t *testing.T, s *sim.Server) {
		t.Helper()
		if ran, err := s.Advance(4 * 24 * time.Hour); err != nil || ran != 1 {
			t.Fatalf("Advance past Sunday 02:00: ran %d, %v; want 1", ran, err)
		}
	}
	clientsSeeTheSameInPhases(t, phases, advance, func(t *testing.T, steps []step, got []outcome, _ string) {
		checkCodes(t, steps, got)
		byName := map[string]any{}
		for i, s := range steps {
			byName[s.Name] = got[i].Response
		}
		for _, tc := range []struct {
			step, path string
			want       any
		}{
			{"executions before the window", "windowexecutions.#", nil},
			{"executions", "windowexecutions.#", float64(1)},
			{"executions", "windowexecutions.0.status", "SUCCESS"},
			{"window", "nextexecutiontime", "2026-03-15T02:00Z"},
			{"commands", "commands.#", float64(1)},
			{"commands", "commands.0.documentname", "AWS-RunPatchBaseline"},
			{"commands", "commands.0.targetcount", float64(len(ids))},
			{"commands", "commands.0.status", map[bool]string{true: "Success", false: "Failed"}[len(online) == len(ids)]},
			{"invocations", "commandinvocations.#", float64(len(ids))},
			{"failed invocations", "commandinvocations.#", nil},
			{"patch states", "instancepatchstates.#", float64(len(online))},
			{"patch states", "instancepatchstates.0.operation", "Install"},
			{"patch states", "instancepatchstates.0.missingcount", nil},
			{"patches", "patches.0.state", "INSTALLED_PENDING_REBOOT"},
		} {
			if got := lookup(byName[tc.step], tc.path); got != tc.want {
				t.Errorf("step %s: %s = %v, want %v", tc.step, tc.path, got, tc.want)
			}
		}
	}, func() []sim.Option {
		return []sim.Option{sim.WithNodesPerTarget(perTarget), sim.WithSimClock(sim.NewClock(patchingStart))}
	})
}
