package ssmsvc

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func tagTarget(key string, values ...string) []types.Target {
	return []types.Target{{Key: aws.String(key), Values: values}}
}

func targetInput(windowID string) *ssm.RegisterTargetWithMaintenanceWindowInput {
	return &ssm.RegisterTargetWithMaintenanceWindowInput{
		WindowId: aws.String(windowID), ResourceType: types.MaintenanceWindowResourceTypeInstance,
		Targets: tagTarget("tag:Patch", "yes"), Name: aws.String("patch-targets"), OwnerInformation: aws.String("orgpatch"),
	}
}

func mustRegisterTarget(t *testing.T, c *ssm.Client, in *ssm.RegisterTargetWithMaintenanceWindowInput) string {
	t.Helper()
	out, err := c.RegisterTargetWithMaintenanceWindow(bg, in)
	if err != nil {
		t.Fatalf("RegisterTargetWithMaintenanceWindow: %v", err)
	}
	return aws.ToString(out.WindowTargetId)
}

func TestRegisterAndDescribeTargets(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("with-targets"))
	id := mustRegisterTarget(t, c, targetInput(w))
	if !uuidPattern.MatchString(id) {
		t.Errorf("window target id %q is not a UUID", id)
	}
	rg := &ssm.RegisterTargetWithMaintenanceWindowInput{WindowId: aws.String(w), ResourceType: types.MaintenanceWindowResourceTypeResourceGroup,
		Targets: tagTarget("resource-groups:Name", "patch-group")}
	rgID := mustRegisterTarget(t, c, rg)
	lower := targetInput(w)
	lower.Targets = tagTarget("instanceids", "i-0123456789abcdef0")
	lowerID := mustRegisterTarget(t, c, lower)

	out, err := c.DescribeMaintenanceWindowTargets(bg, &ssm.DescribeMaintenanceWindowTargetsInput{WindowId: aws.String(w),
		Filters: []types.MaintenanceWindowFilter{{Key: aws.String("Type"), Values: []string{"INSTANCE"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.MaintenanceWindowTarget{{WindowId: aws.String(w), WindowTargetId: aws.String(id), ResourceType: types.MaintenanceWindowResourceTypeInstance,
		Targets: tagTarget("tag:Patch", "yes"), Name: aws.String("patch-targets"), OwnerInformation: aws.String("orgpatch")}}
	if lowerID < id {
		want = append([]types.MaintenanceWindowTarget{{WindowId: aws.String(w), WindowTargetId: aws.String(lowerID), ResourceType: types.MaintenanceWindowResourceTypeInstance,
			Targets: lower.Targets, Name: aws.String("patch-targets"), OwnerInformation: aws.String("orgpatch")}}, want...)
	} else {
		want = append(want, types.MaintenanceWindowTarget{WindowId: aws.String(w), WindowTargetId: aws.String(lowerID), ResourceType: types.MaintenanceWindowResourceTypeInstance,
			Targets: lower.Targets, Name: aws.String("patch-targets"), OwnerInformation: aws.String("orgpatch")})
	}
	if diff := cmp.Diff(want, out.Targets, sdkOpts); diff != "" {
		t.Errorf("INSTANCE targets (-want +got):\n%s", diff)
	}
	all, err := c.DescribeMaintenanceWindowTargets(bg, &ssm.DescribeMaintenanceWindowTargetsInput{WindowId: aws.String(w)})
	if err != nil || len(all.Targets) != 3 {
		t.Errorf("all targets: %v, %d targets, want 3 (%s, %s, %s)", err, len(all.Targets), id, rgID, lowerID)
	}
	if _, err := c.DescribeMaintenanceWindowTargets(bg, &ssm.DescribeMaintenanceWindowTargetsInput{WindowId: aws.String("mw-0123456789abcdef0")}); errorCode(err) != "DoesNotExistException" {
		t.Errorf("targets of an unknown window: %v, want DoesNotExistException", err)
	}
}

func TestRegisterTargetRules(t *testing.T) {
	q := DefaultQuotas
	q.TargetsPerWindow = 1
	ts := newTestServer(t, WithQuotas(q))
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("target-rules"))
	tests := map[string]struct {
		edit func(*ssm.RegisterTargetWithMaintenanceWindowInput)
		want string
	}{
		"unknown window": {edit: func(in *ssm.RegisterTargetWithMaintenanceWindowInput) {
			in.WindowId = aws.String("mw-0123456789abcdef0")
		}, want: "DoesNotExistException"},
		"resource group key on INSTANCE": {edit: func(in *ssm.RegisterTargetWithMaintenanceWindowInput) {
			in.Targets = tagTarget("resource-groups:Name", "g")
		}, want: "ValidationException"},
		"tag key on RESOURCE_GROUP": {edit: func(in *ssm.RegisterTargetWithMaintenanceWindowInput) {
			in.ResourceType = types.MaintenanceWindowResourceTypeResourceGroup
		}, want: "ValidationException"},
		"no values": {edit: func(in *ssm.RegisterTargetWithMaintenanceWindowInput) { in.Targets = tagTarget("tag:Patch") }, want: "ValidationException"},
		"six targets": {edit: func(in *ssm.RegisterTargetWithMaintenanceWindowInput) {
			in.Targets = append(in.Targets, make([]types.Target, 5)...)
		}, want: "ValidationException"},
		"unknown resource": {edit: func(in *ssm.RegisterTargetWithMaintenanceWindowInput) { in.ResourceType = "BUCKET" }, want: "ValidationException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := targetInput(w)
			tc.edit(in)
			if _, err := c.RegisterTargetWithMaintenanceWindow(bg, in); errorCode(err) != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
	in := targetInput(w)
	in.ClientToken = aws.String("target-token")
	first := mustRegisterTarget(t, c, in)
	if again := mustRegisterTarget(t, c, in); again != first {
		t.Errorf("retried register made %s, want %s", again, first)
	}
	in.Name = aws.String("other-name")
	if _, err := c.RegisterTargetWithMaintenanceWindow(bg, in); errorCode(err) != "IdempotentParameterMismatch" {
		t.Errorf("same token, other name: %v, want IdempotentParameterMismatch", err)
	}
	if _, err := c.RegisterTargetWithMaintenanceWindow(bg, targetInput(w)); errorCode(err) != "ResourceLimitExceededException" {
		t.Errorf("target beyond the quota: %v, want ResourceLimitExceededException", err)
	}
}

func TestUpdateTarget(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("update-targets"))
	id := mustRegisterTarget(t, c, targetInput(w))

	out, err := c.UpdateMaintenanceWindowTarget(bg, &ssm.UpdateMaintenanceWindowTargetInput{WindowId: aws.String(w), WindowTargetId: aws.String(id),
		Targets: tagTarget("tag:Patch", "yes", "always")})
	if err != nil {
		t.Fatal(err)
	}
	want := &ssm.UpdateMaintenanceWindowTargetOutput{WindowId: aws.String(w), WindowTargetId: aws.String(id),
		Targets: tagTarget("tag:Patch", "yes", "always"), Name: aws.String("patch-targets"), OwnerInformation: aws.String("orgpatch")}
	if diff := cmp.Diff(want, out, sdkOpts); diff != "" {
		t.Errorf("partial update (-want +got):\n%s", diff)
	}
	if _, err := c.UpdateMaintenanceWindowTarget(bg, &ssm.UpdateMaintenanceWindowTargetInput{WindowId: aws.String(w), WindowTargetId: aws.String(id),
		Replace: aws.Bool(true), Name: aws.String("patch-targets")}); errorCode(err) != "ValidationException" {
		t.Errorf("Replace without Targets: %v, want ValidationException", err)
	}
	if _, err := c.UpdateMaintenanceWindowTarget(bg, &ssm.UpdateMaintenanceWindowTargetInput{WindowId: aws.String(w), WindowTargetId: aws.String(id),
		Replace: aws.Bool(true), Targets: tagTarget("tag:Env", "prod")}); err != nil {
		t.Fatal(err)
	}
	got := ts.svc.Windows(account, region)[0].Targets
	wantTargets := []WindowTarget{{ID: id, ResourceType: "INSTANCE", Targets: []Target{{Key: "tag:Env", Values: []string{"prod"}}}}}
	if diff := cmp.Diff(wantTargets, got); diff != "" {
		t.Errorf("after Replace, name and owner should be cleared (-want +got):\n%s", diff)
	}
	for name, in := range map[string]*ssm.UpdateMaintenanceWindowTargetInput{
		"unknown window": {WindowId: aws.String("mw-0123456789abcdef0"), WindowTargetId: aws.String(id)},
		"unknown target": {WindowId: aws.String(w), WindowTargetId: aws.String("00000000-0000-4000-8000-000000000000")},
	} {
		if _, err := c.UpdateMaintenanceWindowTarget(bg, in); errorCode(err) != "DoesNotExistException" {
			t.Errorf("%s: %v, want DoesNotExistException", name, err)
		}
	}
}

func TestDeregisterTarget(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("deregister-targets"))
	used := mustRegisterTarget(t, c, targetInput(w))
	free := mustRegisterTarget(t, c, targetInput(w))
	mustRegisterTask(t, c, taskInput(w, used))

	safe := &ssm.DeregisterTargetFromMaintenanceWindowInput{WindowId: aws.String(w), WindowTargetId: aws.String(used), Safe: aws.Bool(true)}
	if _, err := c.DeregisterTargetFromMaintenanceWindow(bg, safe); errorCode(err) != "TargetInUseException" {
		t.Errorf("safe deregister of a target in use: %v, want TargetInUseException", err)
	}
	if _, err := c.DeregisterTargetFromMaintenanceWindow(bg, &ssm.DeregisterTargetFromMaintenanceWindowInput{WindowId: aws.String(w), WindowTargetId: aws.String(free), Safe: aws.Bool(true)}); err != nil {
		t.Errorf("safe deregister of an unused target: %v", err)
	}
	if _, err := c.DeregisterTargetFromMaintenanceWindow(bg, &ssm.DeregisterTargetFromMaintenanceWindowInput{WindowId: aws.String(w), WindowTargetId: aws.String(used)}); err != nil {
		t.Errorf("unsafe deregister of a target in use: %v", err)
	}
	if n := len(ts.svc.Windows(account, region)[0].Targets); n != 0 {
		t.Errorf("%d targets left, want 0", n)
	}
	if _, err := c.DeregisterTargetFromMaintenanceWindow(bg, &ssm.DeregisterTargetFromMaintenanceWindowInput{WindowId: aws.String(w), WindowTargetId: aws.String(used)}); errorCode(err) != "DoesNotExistException" {
		t.Errorf("deregister twice: %v, want DoesNotExistException", err)
	}
}

// TestTargetAndTaskPagination lists 15 targets and 15 tasks through the
// SDK's paginators with the smallest page the model allows.
func TestTargetAndTaskPagination(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("paged"))
	var targets, tasks []string
	for range 15 {
		id := mustRegisterTarget(t, c, targetInput(w))
		targets = append(targets, id)
		tasks = append(tasks, mustRegisterTask(t, c, taskInput(w, id)))
	}
	var gotTargets, gotTasks []string
	tp := ssm.NewDescribeMaintenanceWindowTargetsPaginator(c, &ssm.DescribeMaintenanceWindowTargetsInput{WindowId: aws.String(w), MaxResults: aws.Int32(10)})
	for tp.HasMorePages() {
		out, err := tp.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out.Targets {
			gotTargets = append(gotTargets, aws.ToString(x.WindowTargetId))
		}
	}
	kp := ssm.NewDescribeMaintenanceWindowTasksPaginator(c, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: aws.String(w), MaxResults: aws.Int32(10)})
	for kp.HasMorePages() {
		out, err := kp.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out.Tasks {
			gotTasks = append(gotTasks, aws.ToString(x.WindowTaskId))
		}
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff(targets, gotTargets, sorted); diff != "" {
		t.Errorf("paginated targets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tasks, gotTasks, sorted); diff != "" {
		t.Errorf("paginated tasks (-want +got):\n%s", diff)
	}
}
