package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultPinsTheReferenceSettings(t *testing.T) {
	task := func(name, description, document, operation, reboot string) Task {
		return Task{
			Name: name, Description: description, Document: document,
			Operation: operation, RebootOption: reboot,
			Priority: 1, MaxConcurrency: "100", MaxErrors: "1", TimeoutSeconds: 3600,
		}
	}
	window := func(name, description, schedule string, target Target, task Task) Window {
		return Window{
			Name: name, Description: description, Schedule: schedule,
			ScheduleTimezone: "America/New_York", DurationHours: 6, CutoffHours: 1,
			Target: target, Task: task,
		}
	}
	want := Config{
		Windows: []Window{
			window("sra_ssm_agent_update", "Maintenance Window To Update The SSM Agent On Managed Instances", "cron(0 0 1 ? * WED *)",
				Target{Name: "Update_SSMAgent", Description: "Targets To Update SSMAgent On Managed Instances", TagKey: "InstanceOS", TagValues: []string{"Linux", "Windows"}},
				task("Update_SSMAgent", "Task To Update SSMAgent On Managed Instances", "AWS-UpdateSSMAgent", "", "")),
			window("sra_windows_maintenance", "Maintenance Window to scan Windows Instances", "cron(0 0 1 ? * THU *)",
				Target{Name: "Update_Windows", Description: "Targets To Scan For Windows Updates On Managed Instances", TagKey: "InstanceOS", TagValues: []string{"Windows"}},
				task("Windows_Scan", "Task To Scan For Patches On Managed Windows Instances", "AWS-RunPatchBaseline", "Scan", "RebootIfNeeded")),
			window("sra_linux_maintenance", "Maintenance Window to scan Linux Instances", "cron(0 0 1 ? * FRI *)",
				Target{Name: "Update_Linux", Description: "Targets To Scan For Linux Updates On Managed Instances", TagKey: "InstanceOS", TagValues: []string{"Linux"}},
				task("Linux_Scan", "Task To Scan For Patches On Managed Linux Instances", "AWS-RunPatchBaseline", "Scan", "RebootIfNeeded")),
		},
		ConfigurationRoleName:   "sra-patch-mgmt-configuration",
		TaskRoleName:            "sra-patch-mgmt-automation",
		DHMCRoleName:            "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom",
		ManageDHMC:              true,
		ControlTowerRegionsOnly: true,
		Disabled:                false,
	}
	got := Default()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Default() (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v; want nil", err)
	}
}

func TestDefaultIsAFreshValue(t *testing.T) {
	a := Default()
	a.Windows[0].Target.TagValues[0] = "Changed"
	a.Windows = a.Windows[:1]
	if b := Default(); len(b.Windows) != 3 || b.Windows[0].Target.TagValues[0] != "Linux" {
		t.Errorf("changing one Default() changed the next: %+v", b.Windows)
	}
}

func TestDefaultRegions(t *testing.T) {
	want := []string{
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
		"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ap-southeast-1", "ap-southeast-2", "ca-central-1",
		"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
		"sa-east-1",
	}
	if diff := cmp.Diff(want, DefaultRegions); diff != "" {
		t.Errorf("DefaultRegions (-want +got):\n%s", diff)
	}
	c := Default()
	c.Regions = DefaultRegions
	if err := c.Validate(); err != nil {
		t.Errorf("the default regions as an explicit list do not validate: %v", err)
	}
}
