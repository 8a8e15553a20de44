package ssmsvc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

// TestThroughTheSimulator drives the service through the whole simulator:
// SigV4 identity from an assumed role, the core's routing and its JSON 1.1
// error shape, so what orgpatch sees is what these tests promise.
func TestThroughTheSimulator(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	member := ssm.NewFromConfig(env.AccountConfig(t, "222222222222", sim.DefaultRoleName), func(o *ssm.Options) { o.RetryMaxAttempts = 1 })
	mgmt := ssm.NewFromConfig(env.Config, func(o *ssm.Options) { o.RetryMaxAttempts = 1 })

	w, err := member.CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{Name: aws.String("sim-window"),
		Schedule: aws.String("cron(0 3 ? * SAT *)"), Duration: aws.Int32(2), Cutoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := member.RegisterTargetWithMaintenanceWindow(ctx, &ssm.RegisterTargetWithMaintenanceWindowInput{WindowId: w.WindowId,
		ResourceType: types.MaintenanceWindowResourceTypeInstance, Targets: []types.Target{{Key: aws.String("tag:Patch"), Values: []string{"yes"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := member.RegisterTaskWithMaintenanceWindow(ctx, &ssm.RegisterTaskWithMaintenanceWindowInput{WindowId: w.WindowId,
		TaskArn: aws.String("AWS-RunPatchBaseline"), TaskType: types.MaintenanceWindowTaskTypeRunCommand, MaxConcurrency: aws.String("1"), MaxErrors: aws.String("1"),
		Targets: []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{aws.ToString(tg.WindowTargetId)}}}}); err != nil {
		t.Fatal(err)
	}
	tasks, err := member.DescribeMaintenanceWindowTasks(ctx, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: w.WindowId})
	if err != nil || len(tasks.Tasks) != 1 {
		t.Fatalf("tasks in the member account: %v, %+v", err, tasks)
	}

	_, err = mgmt.GetMaintenanceWindow(ctx, &ssm.GetMaintenanceWindowInput{WindowId: w.WindowId})
	if code := errorCode(err); code != "DoesNotExistException" {
		t.Errorf("the management account sees the member's window: %v", err)
	}
	_, err = member.CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{Name: aws.String("bad name!"),
		Schedule: aws.String("cron(0 3 ? * SAT *)"), Duration: aws.Int32(2), Cutoff: 1})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "Value 'bad name!' at 'name' failed to satisfy constraint") {
		t.Errorf("invalid name through the simulator: %v, want ValidationException naming the member", err)
	}
	if _, err := member.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(ssmsvc.DHMCSettingID), SettingValue: aws.String("dhmc-role")}); err != nil {
		t.Fatal(err)
	}
	got, err := member.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(ssmsvc.DHMCSettingID)})
	if err != nil || aws.ToString(got.ServiceSetting.Status) != ssmsvc.StatusCustomized || !strings.Contains(aws.ToString(got.ServiceSetting.ARN), ":222222222222:") {
		t.Errorf("DHMC in the member account: %v, %+v", err, got)
	}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
