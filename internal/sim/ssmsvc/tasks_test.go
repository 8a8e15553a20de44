package ssmsvc

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"
)

const taskRole = "arn:aws:iam::111111111111:role/orgpatch-task"

func taskInput(windowID, targetID string) *ssm.RegisterTaskWithMaintenanceWindowInput {
	return &ssm.RegisterTaskWithMaintenanceWindowInput{
		WindowId: aws.String(windowID), TaskArn: aws.String("AWS-RunPatchBaseline"), TaskType: types.MaintenanceWindowTaskTypeRunCommand,
		Targets:        []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{targetID}}},
		MaxConcurrency: aws.String("10%"), MaxErrors: aws.String("5%"), Priority: aws.Int32(2), ServiceRoleArn: aws.String(taskRole),
		Name: aws.String("patch-scan"), CutoffBehavior: types.MaintenanceWindowTaskCutoffBehaviorCancelTask,
		TaskInvocationParameters: &types.MaintenanceWindowTaskInvocationParameters{RunCommand: &types.MaintenanceWindowRunCommandParameters{
			Parameters:   map[string][]string{"Operation": {"Scan"}, "RebootOption": {"NoReboot"}},
			DocumentHash: aws.String("h"), DocumentHashType: types.DocumentHashTypeSha256, DocumentVersion: aws.String("$LATEST"),
			TimeoutSeconds: aws.Int32(600), Comment: aws.String("scan"),
			OutputS3BucketName: aws.String("patch-logs"), OutputS3KeyPrefix: aws.String("scan/"),
			CloudWatchOutputConfig: &types.CloudWatchOutputConfig{CloudWatchLogGroupName: aws.String("/orgpatch"), CloudWatchOutputEnabled: true},
			NotificationConfig: &types.NotificationConfig{NotificationArn: aws.String("arn:aws:sns:eu-west-1:111111111111:patch"),
				NotificationEvents: []types.NotificationEvent{types.NotificationEventFailed}, NotificationType: types.NotificationTypeCommand},
			ServiceRoleArn: aws.String(taskRole),
		}},
	}
}

func mustRegisterTask(t *testing.T, c *ssm.Client, in *ssm.RegisterTaskWithMaintenanceWindowInput) string {
	t.Helper()
	out, err := c.RegisterTaskWithMaintenanceWindow(bg, in)
	if err != nil {
		t.Fatalf("RegisterTaskWithMaintenanceWindow: %v", err)
	}
	return aws.ToString(out.WindowTaskId)
}

func TestRegisterAndGetTask(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("with-tasks"))
	target := mustRegisterTarget(t, c, targetInput(w))
	in := taskInput(w, target)
	id := mustRegisterTask(t, c, in)

	got, err := c.GetMaintenanceWindowTask(bg, &ssm.GetMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	want := &ssm.GetMaintenanceWindowTaskOutput{WindowId: aws.String(w), WindowTaskId: aws.String(id), Targets: in.Targets, TaskArn: in.TaskArn,
		ServiceRoleArn: in.ServiceRoleArn, TaskType: in.TaskType, TaskInvocationParameters: in.TaskInvocationParameters, Priority: 2,
		MaxConcurrency: in.MaxConcurrency, MaxErrors: in.MaxErrors, Name: in.Name, CutoffBehavior: in.CutoffBehavior}
	if diff := cmp.Diff(want, got, sdkOpts); diff != "" {
		t.Errorf("GetMaintenanceWindowTask (-want +got):\n%s", diff)
	}

	list, err := c.DescribeMaintenanceWindowTasks(bg, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: aws.String(w),
		Filters: []types.MaintenanceWindowFilter{{Key: aws.String("TaskArn"), Values: []string{"AWS-RunPatchBaseline"}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantList := []types.MaintenanceWindowTask{{WindowId: aws.String(w), WindowTaskId: aws.String(id), TaskArn: in.TaskArn, Type: in.TaskType,
		Targets: in.Targets, Priority: 2, ServiceRoleArn: in.ServiceRoleArn, MaxConcurrency: in.MaxConcurrency, MaxErrors: in.MaxErrors,
		Name: in.Name, CutoffBehavior: in.CutoffBehavior}}
	if diff := cmp.Diff(wantList, list.Tasks, sdkOpts); diff != "" {
		t.Errorf("DescribeMaintenanceWindowTasks lists no invocation parameters (-want +got):\n%s", diff)
	}
}

func TestTaskDefaults(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("defaults"))
	target := mustRegisterTarget(t, c, targetInput(w))
	in := taskInput(w, target)
	in.Priority, in.ServiceRoleArn, in.CutoffBehavior = nil, nil, ""
	mustRegisterTask(t, c, in)
	mustRegisterTask(t, c, &ssm.RegisterTaskWithMaintenanceWindowInput{WindowId: aws.String(w), TaskArn: aws.String("AWS-RestartEC2Instance"),
		TaskType: types.MaintenanceWindowTaskTypeAutomation})
	tasks := ts.svc.Windows(account, region)[0].Tasks
	type defaults struct{ Priority, Role, Cutoff, MaxConcurrency, MaxErrors string }
	var got []defaults
	for _, task := range tasks {
		got = append(got, defaults{string(rune('0' + task.Priority)), task.ServiceRoleArn, task.CutoffBehavior, task.MaxConcurrency, task.MaxErrors})
	}
	slr := "arn:aws:iam::111111111111:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM"
	want := []defaults{{"1", slr, "CONTINUE_TASK", "10%", "5%"}, {"1", slr, "CONTINUE_TASK", "1", "1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults AWS fills in (-want +got):\n%s", diff)
	}
}

func TestRegisterTaskRules(t *testing.T) {
	q := DefaultQuotas
	q.TasksPerWindow = 1
	ts := newTestServer(t, WithQuotas(q))
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("task-rules"))
	target := mustRegisterTarget(t, c, targetInput(w))
	open := windowInput("open-window")
	open.AllowUnassociatedTargets = true
	ow := mustCreateWindow(t, c, open)
	tests := map[string]struct {
		edit func(*ssm.RegisterTaskWithMaintenanceWindowInput)
		want string
	}{
		"unknown window":   {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) { in.WindowId = aws.String("mw-0123456789abcdef0") }, want: "DoesNotExistException"},
		"unknown document": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) { in.TaskArn = aws.String("AWS-RunNothing") }, want: "DoesNotExistException"},
		"unknown window target": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) {
			in.Targets[0].Values = []string{"00000000-0000-4000-8000-000000000000"}
		}, want: "DoesNotExistException"},
		"instance ids on a closed window": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) {
			in.Targets = []types.Target{{Key: aws.String("InstanceIds"), Values: []string{"i-0123456789abcdef0"}}}
		}, want: "ValidationException"},
		"run command without targets": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) { in.Targets = nil }, want: "ValidationException"},
		"targets without MaxErrors":   {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) { in.MaxErrors = nil }, want: "ValidationException"},
		"MaxConcurrency of 0":         {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) { in.MaxConcurrency = aws.String("0") }, want: "ValidationException"},
		"unknown document version": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) {
			in.TaskInvocationParameters.RunCommand.DocumentVersion = aws.String("9")
		}, want: "ValidationException"},
		"timeout below 30 seconds": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) {
			in.TaskInvocationParameters.RunCommand.TimeoutSeconds = aws.Int32(10)
		}, want: "ValidationException"},
		"document by ARN": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) {
			in.TaskArn = aws.String("arn:aws:ssm:eu-west-1::document/AWS-UpdateSSMAgent")
			in.TaskInvocationParameters = nil
		}},
		"instance ids on an open window": {edit: func(in *ssm.RegisterTaskWithMaintenanceWindowInput) {
			in.WindowId = aws.String(ow)
			in.Targets = []types.Target{{Key: aws.String("InstanceIds"), Values: []string{"i-0123456789abcdef0"}}}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := taskInput(w, target)
			tc.edit(in)
			id, err := c.RegisterTaskWithMaintenanceWindow(bg, in)
			if errorCode(err) != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if err == nil {
				c.DeregisterTaskFromMaintenanceWindow(bg, &ssm.DeregisterTaskFromMaintenanceWindowInput{WindowId: in.WindowId, WindowTaskId: id.WindowTaskId})
			}
		})
	}
	in := taskInput(w, target)
	in.ClientToken = aws.String("task-token")
	first := mustRegisterTask(t, c, in)
	if again := mustRegisterTask(t, c, in); again != first {
		t.Errorf("retried register made %s, want %s", again, first)
	}
	in.Priority = aws.Int32(9)
	if _, err := c.RegisterTaskWithMaintenanceWindow(bg, in); errorCode(err) != "IdempotentParameterMismatch" {
		t.Errorf("same token, other priority: %v, want IdempotentParameterMismatch", err)
	}
	if _, err := c.RegisterTaskWithMaintenanceWindow(bg, taskInput(w, target)); errorCode(err) != "ResourceLimitExceededException" {
		t.Errorf("task beyond the quota: %v, want ResourceLimitExceededException", err)
	}
}

func TestUpdateTask(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("update-tasks"))
	target := mustRegisterTarget(t, c, targetInput(w))
	id := mustRegisterTask(t, c, taskInput(w, target))

	rc := &types.MaintenanceWindowRunCommandParameters{Parameters: map[string][]string{"Operation": {"Install"}}}
	out, err := c.UpdateMaintenanceWindowTask(bg, &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id),
		MaxConcurrency: aws.String("50%"), TaskInvocationParameters: &types.MaintenanceWindowTaskInvocationParameters{RunCommand: rc}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.MaxConcurrency) != "50%" || aws.ToString(out.MaxErrors) != "5%" || out.Priority != 2 || aws.ToString(out.Name) != "patch-scan" {
		t.Errorf("partial update changed more than MaxConcurrency: %+v", out)
	}
	if diff := cmp.Diff(rc, out.TaskInvocationParameters.RunCommand, sdkOpts); diff != "" {
		t.Errorf("invocation parameters are replaced as a whole (-want +got):\n%s", diff)
	}

	if _, err := c.UpdateMaintenanceWindowTask(bg, &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id),
		Replace: aws.Bool(true), MaxConcurrency: aws.String("1")}); errorCode(err) != "ValidationException" {
		t.Errorf("Replace without TaskArn: %v, want ValidationException", err)
	}
	replace := &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id), Replace: aws.Bool(true),
		TaskArn: aws.String("AWS-UpdateSSMAgent"), Targets: []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{target}}},
		MaxConcurrency: aws.String("1"), MaxErrors: aws.String("0")}
	if _, err := c.UpdateMaintenanceWindowTask(bg, replace); err != nil {
		t.Fatal(err)
	}
	got := ts.svc.Windows(account, region)[0].Tasks
	want := []WindowTask{{ID: id, TaskArn: "AWS-UpdateSSMAgent", Type: "RUN_COMMAND", Targets: []Target{{Key: "WindowTargetIds", Values: []string{target}}},
		Priority: 1, ServiceRoleArn: "arn:aws:iam::111111111111:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM",
		MaxConcurrency: "1", MaxErrors: "0", CutoffBehavior: "CONTINUE_TASK"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Replace every optional field is reset (-want +got):\n%s", diff)
	}
	for name, tc := range map[string]struct {
		in   *ssm.UpdateMaintenanceWindowTaskInput
		want string
	}{
		"unknown task":     {in: &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String("00000000-0000-4000-8000-000000000000")}, want: "DoesNotExistException"},
		"unknown window":   {in: &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String("mw-0123456789abcdef0"), WindowTaskId: aws.String(id)}, want: "DoesNotExistException"},
		"unknown document": {in: &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id), TaskArn: aws.String("Custom-Doc")}, want: "DoesNotExistException"},
		"targets removed":  {in: &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id), Targets: []types.Target{}}, want: "ValidationException"},
	} {
		if _, err := c.UpdateMaintenanceWindowTask(bg, tc.in); errorCode(err) != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
}

func TestDeregisterTask(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("deregister-tasks"))
	target := mustRegisterTarget(t, c, targetInput(w))
	id := mustRegisterTask(t, c, taskInput(w, target))
	in := &ssm.DeregisterTaskFromMaintenanceWindowInput{WindowId: aws.String(w), WindowTaskId: aws.String(id)}
	out, err := c.DeregisterTaskFromMaintenanceWindow(bg, in)
	if err != nil || aws.ToString(out.WindowTaskId) != id {
		t.Fatalf("deregister: %v, %+v", err, out)
	}
	if _, err := c.DeregisterTaskFromMaintenanceWindow(bg, in); errorCode(err) != "DoesNotExistException" {
		t.Errorf("deregister twice: %v, want DoesNotExistException", err)
	}
	if _, err := c.GetMaintenanceWindowTask(bg, &ssm.GetMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id)}); errorCode(err) != "DoesNotExistException" {
		t.Errorf("get a deregistered task: %v, want DoesNotExistException", err)
	}
	if _, err := c.DescribeMaintenanceWindowTasks(bg, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: aws.String("mw-0123456789abcdef0")}); errorCode(err) != "DoesNotExistException" {
		t.Errorf("tasks of an unknown window: %v, want DoesNotExistException", err)
	}
}

// TestTaskFollowsDocumentHash is the story of a published document
// version: the hash DescribeDocument reports changes, the old version stays
// describable, and a task updated to the new hash keeps it.
func TestTaskFollowsDocumentHash(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	describe := func(version string) *types.DocumentDescription {
		t.Helper()
		in := &ssm.DescribeDocumentInput{Name: aws.String("AWS-RunPatchBaseline")}
		if version != "" {
			in.DocumentVersion = aws.String(version)
		}
		out, err := c.DescribeDocument(bg, in)
		if err != nil {
			t.Fatalf("DescribeDocument %s: %v", version, err)
		}
		return out.Document
	}
	v1 := describe("")
	if !sha256Pattern.MatchString(aws.ToString(v1.Hash)) || aws.ToString(v1.DocumentVersion) != "1" || aws.ToString(v1.Owner) != "Amazon" ||
		v1.Status != types.DocumentStatusActive || v1.HashType != types.DocumentHashTypeSha256 || v1.DocumentType != types.DocumentTypeCommand {
		t.Fatalf("first version: %+v", v1)
	}
	if again := New().DocumentHash("AWS-RunPatchBaseline"); again != aws.ToString(v1.Hash) {
		t.Errorf("hash differs between services (%s, %s); it must be stable", again, aws.ToString(v1.Hash))
	}
	var params []string
	for _, p := range v1.Parameters {
		params = append(params, aws.ToString(p.Name))
	}
	if diff := cmp.Diff([]string{"Operation", "SnapshotId", "InstallOverrideList", "AssociationId", "BaselineOverride", "RebootOption"}, params); diff != "" {
		t.Errorf("AWS-RunPatchBaseline parameters (-want +got):\n%s", diff)
	}

	w := mustCreateWindow(t, c, windowInput("follows-hash"))
	target := mustRegisterTarget(t, c, targetInput(w))
	in := taskInput(w, target)
	in.TaskInvocationParameters.RunCommand.DocumentHash = v1.Hash
	id := mustRegisterTask(t, c, in)

	version, hash, err := ts.svc.PublishDocumentVersion("AWS-RunPatchBaseline")
	if err != nil || version != 2 {
		t.Fatalf("publish: %d, %v", version, err)
	}
	v2 := describe("")
	if aws.ToString(v2.Hash) != hash || hash == aws.ToString(v1.Hash) || aws.ToString(v2.LatestVersion) != "2" || aws.ToString(v2.DefaultVersion) != "2" {
		t.Errorf("after publishing: hash %s (published %s, old %s), latest %s, default %s", aws.ToString(v2.Hash), hash, aws.ToString(v1.Hash),
			aws.ToString(v2.LatestVersion), aws.ToString(v2.DefaultVersion))
	}
	if old := describe("1"); aws.ToString(old.Hash) != aws.ToString(v1.Hash) {
		t.Errorf("version 1 now has hash %s, want %s", aws.ToString(old.Hash), aws.ToString(v1.Hash))
	}
	rc := in.TaskInvocationParameters.RunCommand
	rc.DocumentHash = v2.Hash
	if _, err := c.UpdateMaintenanceWindowTask(bg, &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(w), WindowTaskId: aws.String(id),
		TaskInvocationParameters: &types.MaintenanceWindowTaskInvocationParameters{RunCommand: rc}}); err != nil {
		t.Fatal(err)
	}
	if got := ts.svc.Windows(account, region)[0].Tasks[0].TaskInvocationParameters.RunCommand.DocumentHash; got != hash {
		t.Errorf("task hash %s, want the published %s", got, hash)
	}

	for name, tc := range map[string]struct {
		in   *ssm.DescribeDocumentInput
		want string
	}{
		"by ARN":            {in: &ssm.DescribeDocumentInput{Name: aws.String("arn:aws:ssm:eu-west-1::document/AWS-UpdateSSMAgent")}},
		"unknown document":  {in: &ssm.DescribeDocumentInput{Name: aws.String("AWS-Nothing")}, want: "InvalidDocument"},
		"unknown version":   {in: &ssm.DescribeDocumentInput{Name: aws.String("AWS-RunPatchBaseline"), DocumentVersion: aws.String("3")}, want: "InvalidDocumentVersion"},
		"version name":      {in: &ssm.DescribeDocumentInput{Name: aws.String("AWS-RunPatchBaseline"), VersionName: aws.String("release")}, want: "InvalidDocumentVersion"},
		"malformed version": {in: &ssm.DescribeDocumentInput{Name: aws.String("AWS-RunPatchBaseline"), DocumentVersion: aws.String("latest")}, want: "ValidationException"},
	} {
		if _, err := c.DescribeDocument(bg, tc.in); errorCode(err) != tc.want {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, _, err := ts.svc.PublishDocumentVersion("Custom-Doc"); err == nil {
		t.Errorf("publishing an unknown document succeeded")
	}
}
