package config

// The SSM documents a task may run.
const (
	DocumentRunPatchBaseline = "AWS-RunPatchBaseline"
	DocumentUpdateSSMAgent   = "AWS-UpdateSSMAgent"
)

// AWS-RunPatchBaseline's Operation and RebootOption values.
const (
	OperationScan    = "Scan"
	OperationInstall = "Install"

	RebootIfNeeded = "RebootIfNeeded"
	NoReboot       = "NoReboot"
)

// The reference solution's role names, our defaults.
const (
	DefaultConfigurationRoleName = "sra-patch-mgmt-configuration"
	DefaultTaskRoleName          = "sra-patch-mgmt-automation"
	DefaultDHMCRoleName          = "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom"
)

// Per-window defaults: what a window takes for a field its file leaves out.
const (
	DefaultTimezone       = "America/New_York"
	DefaultDurationHours  = 6
	DefaultCutoffHours    = 1
	DefaultPriority       = 1
	DefaultMaxConcurrency = "100"
	DefaultMaxErrors      = "1"
	DefaultTimeoutSeconds = 3600
)

// InstanceOSTagKey is the tag the default targets select instances by.
const InstanceOSTagKey = "InstanceOS"

// DefaultRegions are the regions converged when no region list is given and
// Control Tower's governed regions are not used: the reference solution's 17
// commercial regions. Treat it as read-only.
var DefaultRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ap-southeast-2",
	"ca-central-1",
	"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
	"sa-east-1",
}

// Default is the reference solution's configuration: its three windows
// (with the descriptions its template passes by default, so that adopting
// its windows rewrites none of them)
// (SSM Agent update on Wednesdays, Windows scan on Thursdays, Linux scan on
// Fridays, 01:00 America/New_York, 6 hours with a 1 hour cutoff), its role
// names, DHMC managed, Control Tower's regions, nothing excluded, enabled.
// Each call returns a fresh value the caller may modify.
func Default() Config {
	return Config{
		Windows: []Window{
			defaultWindow("sra_ssm_agent_update", "Maintenance Window To Update The SSM Agent On Managed Instances",
				"cron(0 0 1 ? * WED *)",
				Target{
					Name:        "Update_SSMAgent",
					Description: "Targets To Update SSMAgent On Managed Instances",
					TagKey:      InstanceOSTagKey,
					TagValues:   []string{"Linux", "Windows"},
				},
				"Update_SSMAgent", "Task To Update SSMAgent On Managed Instances", DocumentUpdateSSMAgent, ""),
			defaultWindow("sra_windows_maintenance", "Maintenance Window to scan Windows Instances",
				"cron(0 0 1 ? * THU *)",
				Target{
					Name:        "Update_Windows",
					Description: "Targets To Scan For Windows Updates On Managed Instances",
					TagKey:      InstanceOSTagKey,
					TagValues:   []string{"Windows"},
				},
				"Windows_Scan", "Task To Scan For Patches On Managed Windows Instances", DocumentRunPatchBaseline, OperationScan),
			defaultWindow("sra_linux_maintenance", "Maintenance Window to scan Linux Instances",
				"cron(0 0 1 ? * FRI *)",
				Target{
					Name:        "Update_Linux",
					Description: "Targets To Scan For Linux Updates On Managed Instances",
					TagKey:      InstanceOSTagKey,
					TagValues:   []string{"Linux"},
				},
				"Linux_Scan", "Task To Scan For Patches On Managed Linux Instances", DocumentRunPatchBaseline, OperationScan),
		},
		ConfigurationRoleName:   DefaultConfigurationRoleName,
		TaskRoleName:            DefaultTaskRoleName,
		DHMCRoleName:            DefaultDHMCRoleName,
		ManageDHMC:              true,
		ControlTowerRegionsOnly: true,
	}
}

func defaultWindow(name, description, schedule string, target Target, taskName, taskDescription, document, operation string) Window {
	w := windowTemplate()
	w.Name = name
	w.Description = description
	w.Schedule = schedule
	w.Target = target
	w.Task.Name = taskName
	w.Task.Description = taskDescription
	w.Task.Document = document
	if document == DocumentRunPatchBaseline {
		w.Task.Operation = operation
		w.Task.RebootOption = RebootIfNeeded
	}
	return w
}

// windowTemplate holds the per-window defaults a decoded window starts from.
// It sets only fields that JSON() always writes, so that decoding what
// JSON() wrote gives back the same window.
func windowTemplate() Window {
	return Window{
		ScheduleTimezone: DefaultTimezone,
		DurationHours:    DefaultDurationHours,
		CutoffHours:      DefaultCutoffHours,
		Task: Task{
			Priority:       DefaultPriority,
			MaxConcurrency: DefaultMaxConcurrency,
			MaxErrors:      DefaultMaxErrors,
			TimeoutSeconds: DefaultTimeoutSeconds,
		},
	}
}
