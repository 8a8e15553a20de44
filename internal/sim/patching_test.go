package sim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// patchStart is a Wednesday noon; the next Sunday 02:00 is 3 days 14
// hours later.
var patchStart = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// patchFleet serves a simulator whose management account in us-east-1 has
// three Amazon Linux 2023 nodes of patch group "dev" (the last with its
// connection lost), launched 100 days ago and never scanned, a baseline
// approving security patches 7 days after release registered for "dev",
// and a window at 02:00 on Sundays running AWS-RunPatchBaseline with
// operation on the group.
func patchFleet(t *testing.T, operation string, opts ...sim.Option) (*simtest.Env, *ssm.Client, string, []string) {
	t.Helper()
	ctx := context.Background()
	clock := sim.NewClock(patchStart)
	env := simtest.Start(t, nil, append([]sim.Option{sim.WithSimClock(clock)}, opts...)...)
	mgmt := env.Server.ManagementAccount()
	ids := []string{"i-0a00000000000000a", "i-0b00000000000000b", "i-0c00000000000000c"}
	var ns []nodes.Node
	for i, id := range ids {
		ns = append(ns, nodes.Node{ID: id, State: "running", Launched: patchStart.AddDate(0, 0, -100), Platform: nodes.Linux,
			PlatformName: "Amazon Linux", PlatformVersion: "2023", Managed: true, PingStatus: nodes.Online, LastPing: patchStart,
			AgentVersion: "3.3.1142.0", Tags: map[string]string{"Patch Group": "dev"}})
		if i == 2 {
			ns[i].PingStatus = nodes.ConnectionLost
		}
	}
	if err := env.Server.Nodes().Put(mgmt, simtest.Region, ns...); err != nil {
		t.Fatal(err)
	}
	c := ssm.NewFromConfig(env.Config)
	b, err := c.CreatePatchBaseline(ctx, &ssm.CreatePatchBaselineInput{Name: aws.String("dev-al2023"), OperatingSystem: types.OperatingSystemAmazonLinux2023,
		ApprovalRules: &types.PatchRuleGroup{PatchRules: []types.PatchRule{{ApproveAfterDays: aws.Int32(7), ComplianceLevel: types.PatchComplianceLevelHigh,
			PatchFilterGroup: &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{{Key: types.PatchFilterKeyClassification, Values: []string{"Security"}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterPatchBaselineForPatchGroup(ctx, &ssm.RegisterPatchBaselineForPatchGroupInput{BaselineId: b.BaselineId, PatchGroup: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	w, err := c.CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{Name: aws.String("dev-patch"), Schedule: aws.String("cron(0 2 ? * SUN *)"),
		Duration: aws.Int32(3), Cutoff: 1, AllowUnassociatedTargets: false})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := c.RegisterTargetWithMaintenanceWindow(ctx, &ssm.RegisterTargetWithMaintenanceWindowInput{WindowId: w.WindowId, ResourceType: types.MaintenanceWindowResourceTypeInstance,
		Targets: []types.Target{{Key: aws.String("tag:Patch Group"), Values: []string{"dev"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterTaskWithMaintenanceWindow(ctx, &ssm.RegisterTaskWithMaintenanceWindowInput{WindowId: w.WindowId, TaskType: types.MaintenanceWindowTaskTypeRunCommand,
		TaskArn: aws.String("AWS-RunPatchBaseline"), MaxConcurrency: aws.String("50%"), MaxErrors: aws.String("100%"),
		Targets: []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{aws.ToString(tg.WindowTargetId)}}},
		TaskInvocationParameters: &types.MaintenanceWindowTaskInvocationParameters{RunCommand: &types.MaintenanceWindowRunCommandParameters{
			Parameters: map[string][]string{"Operation": {operation}, "RebootOption": {"NoReboot"}}}}}); err != nil {
		t.Fatal(err)
	}
	return env, c, aws.ToString(w.WindowId), ids
}

func patchStates(t *testing.T, c *ssm.Client, ids []string) map[string]types.InstancePatchState {
	t.Helper()
	out, err := c.DescribeInstancePatchStates(context.Background(), &ssm.DescribeInstancePatchStatesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]types.InstancePatchState{}
	for _, s := range out.InstancePatchStates {
		m[aws.ToString(s.InstanceId)] = s
	}
	return m
}

func windowExecutions(t *testing.T, c *ssm.Client, id string) []types.MaintenanceWindowExecution {
	t.Helper()
	out, err := c.DescribeMaintenanceWindowExecutions(context.Background(), &ssm.DescribeMaintenanceWindowExecutionsInput{WindowId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.WindowExecutions
}

// The security patches of the default catalog's Amazon Linux 2023 set:
// released 20 to 48 days before the start, all due under 7 days.
const al2023Security = 4

// A window at 02:00 on Sunday runs when the clock passes it and not
// before; its scan then its install change what the compliance reads say.
func TestWindowRunsWhenTheClockPassesIt(t *testing.T) {
	ctx := context.Background()
	env, c, window, ids := patchFleet(t, "Scan")
	sunday := time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC)
	got, err := c.GetMaintenanceWindow(ctx, &ssm.GetMaintenanceWindowInput{WindowId: aws.String(window)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.NextExecutionTime) != "2026-03-08T02:00Z" {
		t.Errorf("NextExecutionTime %q, want 2026-03-08T02:00Z", aws.ToString(got.NextExecutionTime))
	}
	if _, err := env.Server.Advance(sunday.Sub(patchStart) - time.Minute); err != nil {
		t.Fatal(err)
	}
	if ex := windowExecutions(t, c, window); len(ex) != 0 {
		t.Fatalf("a minute before the window: executions %+v, want none", ex)
	}
	if st := patchStates(t, c, ids); len(st) != 0 {
		t.Fatalf("a minute before the window: patch states %+v, want none", st)
	}
	if ran, err := env.Server.Advance(time.Minute); err != nil || ran != 1 {
		t.Fatalf("Advance to the window: ran %d, %v; want 1 run", ran, err)
	}
	ex := windowExecutions(t, c, window)
	if len(ex) != 1 || !aws.ToTime(ex[0].StartTime).Equal(sunday) {
		t.Fatalf("executions %+v, want one started %s", ex, sunday)
	}
	// The node whose connection is lost does not answer: the command, so
	// the task and the window execution, fail.
	if ex[0].Status != types.MaintenanceWindowExecutionStatusFailed {
		t.Errorf("execution status %s, want FAILED (one node unreachable)", ex[0].Status)
	}
	st := patchStates(t, c, ids)
	if len(st) != 2 {
		t.Fatalf("patch states of %d nodes, want the 2 online ones: %+v", len(st), st)
	}
	scan := st[ids[0]]
	if scan.MissingCount != al2023Security || scan.InstalledCount != 0 || scan.Operation != types.PatchOperationTypeScan ||
		!aws.ToTime(scan.OperationEndTime).Equal(sunday) || aws.ToInt32(scan.SecurityNonCompliantCount) != al2023Security {
		t.Errorf("after the scan: %+v; want %d missing security patches, scanned at %s", scan, al2023Security, sunday)
	}
	cmds, err := c.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]types.CommandInvocationStatus{}
	for _, inv := range cmds.CommandInvocations {
		status[aws.ToString(inv.InstanceId)] = inv.Status
		if aws.ToString(inv.InstanceId) == ids[0] {
			items, err := c.ListComplianceItems(ctx, &ssm.ListComplianceItemsInput{ResourceIds: []string{ids[0]}, ResourceTypes: []string{"ManagedInstance"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(items.ComplianceItems) != al2023Security || aws.ToString(items.ComplianceItems[0].ExecutionSummary.ExecutionId) != aws.ToString(inv.CommandId) {
				t.Errorf("compliance items %+v: want %d, of command %s", items.ComplianceItems, al2023Security, aws.ToString(inv.CommandId))
			}
		}
	}
	if status[ids[0]] != types.CommandInvocationStatusSuccess || status[ids[2]] != types.CommandInvocationStatusTimedOut {
		t.Errorf("invocations %v: want %s Success and %s TimedOut", status, ids[0], ids[2])
	}

	// The same window installs the next Sunday.
	tasks, err := c.DescribeMaintenanceWindowTasks(ctx, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: aws.String(window)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateMaintenanceWindowTask(ctx, &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(window), WindowTaskId: tasks.Tasks[0].WindowTaskId,
		TaskInvocationParameters: &types.MaintenanceWindowTaskInvocationParameters{RunCommand: &types.MaintenanceWindowRunCommandParameters{
			Parameters: map[string][]string{"Operation": {"Install"}, "RebootOption": {"NoReboot"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Advance(7 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	install := patchStates(t, c, ids)[ids[0]]
	if install.MissingCount != 0 || aws.ToInt32(install.InstalledPendingRebootCount) != al2023Security || install.Operation != types.PatchOperationTypeInstall ||
		!aws.ToTime(install.OperationStartTime).Equal(sunday.AddDate(0, 0, 7)) {
		t.Errorf("after the install: %+v; want %d installed pending a reboot, none missing, at %s", install, al2023Security, sunday.AddDate(0, 0, 7))
	}
	patches, err := c.DescribeInstancePatches(ctx, &ssm.DescribeInstancePatchesInput{InstanceId: aws.String(ids[0]),
		Filters: []types.PatchOrchestratorFilter{{Key: aws.String("State"), Values: []string{"InstalledPendingReboot"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(patches.Patches) != al2023Security || !aws.ToTime(patches.Patches[0].InstalledTime).Equal(sunday.AddDate(0, 0, 7)) {
		t.Errorf("DescribeInstancePatches: %+v, want %d installed at %s", patches.Patches, al2023Security, sunday.AddDate(0, 0, 7))
	}
	if ex := windowExecutions(t, c, window); len(ex) != 2 {
		t.Errorf("executions after two Sundays: %d, want 2", len(ex))
	}
}

// A failure rate of 1 for an account fails every install there: the
// patches are FAILED, the invocations Failed and the window execution
// FAILED.
func TestInstallFailuresFailTheAccount(t *testing.T) {
	ctx := context.Background()
	var env *simtest.Env
	failing := func(account, _, _ string) float64 {
		if account == env.Server.ManagementAccount() {
			return 1
		}
		return 0
	}
	env, c, window, ids := patchFleet(t, "Install", sim.WithInstallFailures(7, func(a, r, n string) float64 { return failing(a, r, n) }))
	if _, err := env.Server.Advance(4 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	st := patchStates(t, c, ids)[ids[0]]
	if st.FailedCount != al2023Security || st.InstalledCount+aws.ToInt32(st.InstalledPendingRebootCount) != 0 {
		t.Errorf("after a failing install: %+v; want %d failed, none installed", st, al2023Security)
	}
	ex := windowExecutions(t, c, window)
	if len(ex) != 1 || ex[0].Status != types.MaintenanceWindowExecutionStatusFailed {
		t.Fatalf("executions %+v, want one FAILED", ex)
	}
	tasks, err := c.DescribeMaintenanceWindowExecutionTasks(ctx, &ssm.DescribeMaintenanceWindowExecutionTasksInput{WindowExecutionId: ex[0].WindowExecutionId})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks.WindowExecutionTaskIdentities) != 1 || tasks.WindowExecutionTaskIdentities[0].Status != types.MaintenanceWindowExecutionStatusFailed {
		t.Errorf("task executions %+v, want one FAILED", tasks.WindowExecutionTaskIdentities)
	}
	invs, err := c.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{InstanceId: aws.String(ids[1])})
	if err != nil {
		t.Fatal(err)
	}
	if len(invs.CommandInvocations) != 1 || invs.CommandInvocations[0].Status != types.CommandInvocationStatusFailed {
		t.Errorf("invocations on %s: %+v, want one Failed", ids[1], invs.CommandInvocations)
	}
}

// Advance needs the server's clock to be a *sim.Clock.
func TestAdvanceNeedsASimClock(t *testing.T) {
	env := simtest.Start(t, nil)
	if _, err := env.Server.Advance(time.Hour); err == nil {
		t.Error("Advance on a wall-clock server succeeded")
	}
	if _, err := sim.NewClock(patchStart).Advance(-time.Second); err == nil {
		t.Error("Advance by a negative duration succeeded")
	}
}

// DescribeAvailablePatches lists what was released by the server's time,
// Windows without a PRODUCT filter, Linux with one, in pages.
func TestDescribeAvailablePatches(t *testing.T) {
	ctx := context.Background()
	clock := sim.NewClock(patchStart)
	cat, err := nodes.NewCatalog(patchStart)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Generate(42, patchStart.AddDate(0, 0, -28), patchStart.AddDate(0, 0, 28), 2); err != nil {
		t.Fatal(err)
	}
	env := simtest.Start(t, nil, sim.WithSimClock(clock), sim.WithCatalog(cat))
	c := ssm.NewFromConfig(env.Config)
	count := func(filters ...types.PatchOrchestratorFilter) int {
		t.Helper()
		n := 0
		p := ssm.NewDescribeAvailablePatchesPaginator(c, &ssm.DescribeAvailablePatchesInput{Filters: filters, MaxResults: aws.Int32(3)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, patch := range page.Patches {
				if aws.ToTime(patch.ReleaseDate).After(clock.Now()) {
					t.Errorf("%s released %s, after the clock's %s", aws.ToString(patch.Title), aws.ToTime(patch.ReleaseDate), clock.Now())
				}
			}
			n += len(page.Patches)
		}
		return n
	}
	want := func(os string) int { return len(cat.Released(os, clock.Now())) }
	if got := count(); got != want("WINDOWS") {
		t.Errorf("without filters: %d patches, want the %d Windows ones", got, want("WINDOWS"))
	}
	al := types.PatchOrchestratorFilter{Key: aws.String("PRODUCT"), Values: []string{"AmazonLinux2023"}}
	if got := count(al); got != want("AMAZON_LINUX_2023") {
		t.Errorf("PRODUCT AmazonLinux2023: %d patches, want %d", got, want("AMAZON_LINUX_2023"))
	}
	before := count(al)
	if _, err := env.Server.Advance(28 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := count(al); got <= before || got != want("AMAZON_LINUX_2023") {
		t.Errorf("four weeks later: %d patches (were %d), want %d", got, before, want("AMAZON_LINUX_2023"))
	}
	_, err = c.DescribeAvailablePatches(ctx, &ssm.DescribeAvailablePatchesInput{Filters: []types.PatchOrchestratorFilter{{Key: aws.String("CVE_ID"), Values: []string{"CVE-2024-5535"}}}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" {
		t.Errorf("a Linux key without PRODUCT: %v, want ValidationException", err)
	}
}

// The set a ring may install, as promotion pins it: a cut-off date
// (ApproveUntilDate, inclusive) and an explicit list (ApprovedPatches)
// change what the next scan reports missing.
func TestPinnedBaselineChangesTheNextScan(t *testing.T) {
	ctx := context.Background()
	env, c, _, ids := patchFleet(t, "Scan")
	if _, err := env.Server.Advance(4 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := patchStates(t, c, ids)[ids[0]].MissingCount; got != al2023Security {
		t.Fatalf("first scan: %d missing, want %d", got, al2023Security)
	}
	group, err := c.GetPatchBaselineForPatchGroup(ctx, &ssm.GetPatchBaselineForPatchGroupInput{PatchGroup: aws.String("dev"), OperatingSystem: types.OperatingSystemAmazonLinux2023})
	if err != nil {
		t.Fatal(err)
	}
	// The default catalog's security patches were released 20, 27, 34 and
	// 48 days before the start (kernel, openssl-libs, curl, sudo): a cut-off
	// 34 days before keeps the last two, and the list adds the kernel.
	cutoff := patchStart.AddDate(0, 0, -34).Format(time.DateOnly)
	kernel := "kernel.x86_64:0:6.1.112-124.190.amzn2023"
	if _, err := c.UpdatePatchBaseline(ctx, &ssm.UpdatePatchBaselineInput{BaselineId: group.BaselineId, ApprovedPatches: []string{kernel},
		ApprovalRules: &types.PatchRuleGroup{PatchRules: []types.PatchRule{{ApproveUntilDate: aws.String(cutoff), ComplianceLevel: types.PatchComplianceLevelHigh,
			PatchFilterGroup: &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{{Key: types.PatchFilterKeyClassification, Values: []string{"Security"}}}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Advance(7 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := patchStates(t, c, ids)[ids[0]].MissingCount; got != 3 {
		t.Errorf("scan under the pinned baseline: %d missing, want 3 (curl and sudo by the cut-off, the kernel by the list)", got)
	}
	out, err := c.DescribeInstancePatches(ctx, &ssm.DescribeInstancePatchesInput{InstanceId: aws.String(ids[0]),
		Filters: []types.PatchOrchestratorFilter{{Key: aws.String("KBId"), Values: []string{kernel}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Patches) != 1 || out.Patches[0].State != types.PatchComplianceDataStateMissing {
		t.Errorf("the listed kernel: %+v, want one MISSING", out.Patches)
	}
}
