package reconcile

import (
	"context"
	"strings"
	"testing"

	"github.com/orgpatch/orgpatch/internal/config"
)

func TestCheckTask(t *testing.T) {
	const role = "arn:aws:iam::222222222222:role/sra-patch-mgmt-automation"
	patch := func() DesiredTask {
		return desiredTask(role, nil, config.Default().Windows[2], TaskTarget{ID: "target"})
	}
	tests := map[string]struct {
		task DesiredTask
		want string // "" when the task may be written
	}{
		"the default patch task":   {task: patch()},
		"the default agent task":   {task: desiredTask(role, nil, config.Default().Windows[0], TaskTarget{ID: "target"})},
		"an allowed parameter":     {task: with(patch(), func(t *DesiredTask) { t.RunCommand.Parameters["SnapshotId"] = []string{"x"} })},
		"another document":         {task: with(patch(), func(t *DesiredTask) { t.TaskArn = "AWS-RunShellScript" }), want: "document AWS-RunShellScript is not one of"},
		"an automation task":       {task: with(patch(), func(t *DesiredTask) { t.Type = "AUTOMATION" }), want: "task type AUTOMATION"},
		"BaselineOverride":         {task: with(patch(), func(t *DesiredTask) { t.RunCommand.Parameters["BaselineOverride"] = []string{"s3://x/y"} }), want: "parameter BaselineOverride is not one AWS-RunPatchBaseline takes from orgpatch (allowed: InstallOverrideList, SnapshotId, Operation, RebootOption)"},
		"the DHMC role":            {task: with(patch(), func(t *DesiredTask) { t.ServiceRoleArn = "arn:aws:iam::222222222222:role/service-role/dhmc" }), want: "is not the task role"},
		"no role (service-linked)": {task: with(patch(), func(t *DesiredTask) { t.ServiceRoleArn = "" }), want: `service role "" is not the task role`},
		"another Run Command role": {task: with(patch(), func(t *DesiredTask) { t.RunCommand.ServiceRoleArn = "arn:aws:iam::222222222222:role/other" }), want: "Run Command service role"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckTask(tc.task, role)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckTask() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckTask() = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestApplyChecksTasksBeforeWriting: a task that fails CheckTask is never
// sent; apply stops there with no write.
func TestApplyChecksTasksBeforeWriting(t *testing.T) {
	task := desiredTask("arn:aws:iam::222222222222:role/evil", nil, config.Default().Windows[2], TaskTarget{ID: "target"})
	act := Action{Op: OpCreate, Resource: ResourceTask, Window: "w", Name: task.Name, spec: &windowSpec{task: task, windowID: "mw-0123456789abcdef0"}}
	in := Input{Account: "222222222222", Partition: "aws", Config: config.Config{TaskRoleName: "sra-patch-mgmt-automation"}}
	res, err := apply(context.Background(), unusedClients(), in, []Action{act})
	if err == nil || !strings.Contains(err.Error(), "is not the task role") {
		t.Errorf("apply() = %v, want the task refused", err)
	}
	if res.Writes != 0 {
		t.Errorf("%d writes, want 0", res.Writes)
	}
}

func with(t DesiredTask, edit func(*DesiredTask)) DesiredTask {
	rc := *t.RunCommand
	params := map[string][]string{}
	for k, v := range rc.Parameters {
		params[k] = v
	}
	rc.Parameters = params
	t.RunCommand = &rc
	edit(&t)
	return t
}
