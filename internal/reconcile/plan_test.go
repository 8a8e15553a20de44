package reconcile

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orgpatch/orgpatch/internal/config"
)

const (
	testAccount   = "111111111111"
	agentHash     = "aaaa1111"
	baselineHash  = "bbbb2222"
	taskRole      = "arn:aws:iam::111111111111:role/sra-patch-mgmt-automation"
	dhmcRole      = "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom"
	agentDocument = "AWS-UpdateSSMAgent"
	patchDocument = "AWS-RunPatchBaseline"
)

// testConfig is the reference solution's setup, written out by hand.
func testConfig() config.Config {
	window := func(name, day string, target config.Target, task config.Task) config.Window {
		task.Priority, task.MaxConcurrency, task.MaxErrors, task.TimeoutSeconds = 1, "100", "1", 3600
		return config.Window{
			Name: name, Description: "Patching window " + name,
			Schedule: "cron(0 0 1 ? * " + day + " *)", ScheduleTimezone: "America/New_York",
			DurationHours: 6, CutoffHours: 1, Target: target, Task: task,
		}
	}
	return config.Config{
		Windows: []config.Window{
			window("sra_ssm_agent_update", "WED",
				config.Target{Name: "Update_SSMAgent", Description: "Linux and Windows", TagKey: "InstanceOS", TagValues: []string{"Linux", "Windows"}},
				config.Task{Name: "Update_SSMAgent", Description: "Updates the agent", Document: agentDocument}),
			window("sra_windows_maintenance", "THU",
				config.Target{Name: "Update_Windows", Description: "Windows", TagKey: "InstanceOS", TagValues: []string{"Windows"}},
				config.Task{Name: "Windows_Scan", Description: "Scans Windows", Document: patchDocument, Operation: "Scan", RebootOption: "RebootIfNeeded"}),
			window("sra_linux_maintenance", "FRI",
				config.Target{Name: "Update_Linux", Description: "Linux", TagKey: "InstanceOS", TagValues: []string{"Linux"}},
				config.Task{Name: "Linux_Scan", Description: "Scans Linux", Document: patchDocument, Operation: "Scan", RebootOption: "RebootIfNeeded"}),
		},
		ConfigurationRoleName: "sra-patch-mgmt-configuration",
		TaskRoleName:          "sra-patch-mgmt-automation",
		DHMCRoleName:          dhmcRole,
		ManageDHMC:            true,
	}
}

func testInput(cfg config.Config, mode Mode) Input {
	return Input{Account: testAccount, Region: "us-east-1", Partition: "aws", Config: cfg, Mode: mode}
}

// observed is what the plan tests say an account x region holds, for the
// windows and DHMC kinds (no patch baselines).
type observed struct {
	Windows        []ObservedWindow
	DocumentHashes map[string]string
	DHMC           ServiceSetting
}

// planOf is the plan of the windows, DHMC and baselines kinds for in over
// obs, in the registry's order.
func planOf(in Input, obs observed) []Action {
	return plan([]kindState{
		windowState{desired: windowsDesiredFor(in), observed: windowsObserved{Windows: obs.Windows, DocumentHashes: obs.DocumentHashes}},
		dhmcState{desired: dhmcDesiredFor(in), observed: obs.DHMC},
		baselineState{desired: baselinesDesired{Mode: in.mode(), Baselines: in.Config.Baselines}},
	})
}

// convergedObserved is what an account holds after a successful run of
// testConfig, written out by hand as the reference solution registers it
// (same tag, names and fields): its windows are adopted with no write.
func convergedObserved() observed {
	cfg := testConfig()
	obs := observed{
		DHMC:           ServiceSetting{Value: dhmcRole, Status: "Customized"},
		DocumentHashes: map[string]string{agentDocument: agentHash, patchDocument: baselineHash},
	}
	for i, w := range cfg.Windows {
		targetID := fmt.Sprintf("target-%d", i)
		params := map[string][]string{"Operation": {"Scan"}, "RebootOption": {"RebootIfNeeded"}}
		comment, hash := "Run Scan for "+w.Task.Name, baselineHash
		if w.Task.Document == agentDocument {
			params, comment, hash = nil, "Run None for Update_SSMAgent", agentHash
		}
		obs.Windows = append(obs.Windows, ObservedWindow{
			ID: fmt.Sprintf("mw-%017d", i), Name: w.Name, Description: w.Description,
			Schedule: w.Schedule, ScheduleTimezone: "America/New_York", Duration: 6, Cutoff: 1, Enabled: true,
			Targets: []ObservedTarget{{
				ID: targetID, Name: w.Target.Name, Description: w.Target.Description, ResourceType: "INSTANCE",
				Targets: []Selector{{Key: "tag:InstanceOS", Values: w.Target.TagValues}},
			}},
			Tasks: []ObservedTask{{
				ID: fmt.Sprintf("task-%d", i), Name: w.Task.Name, Description: w.Task.Description,
				Type: "RUN_COMMAND", TaskArn: w.Task.Document, Priority: 1, ServiceRoleArn: taskRole,
				MaxConcurrency: "100", MaxErrors: "1", CutoffBehavior: "CONTINUE_TASK",
				Targets: []Selector{{Key: "WindowTargetIds", Values: []string{targetID}}},
				RunCommand: &RunCommand{
					Comment: comment, DocumentVersion: "$DEFAULT", DocumentHash: hash, DocumentHashType: "Sha256",
					TimeoutSeconds: 3600, Parameters: params, ServiceRoleArn: taskRole,
				},
			}},
		})
	}
	return obs
}

var ignoreSpec = cmpopts.IgnoreUnexported(Action{})

func writesOnly(actions []Action) []Action {
	var w []Action
	for _, a := range actions {
		if a.Op != OpUnchanged {
			w = append(w, a)
		}
	}
	return w
}

func TestPlanConvergedIsAllUnchanged(t *testing.T) {
	got := planOf(testInput(testConfig(), Converge), convergedObserved())
	var want []Action
	for i, w := range testConfig().Windows {
		want = append(want,
			Action{Op: OpUnchanged, Resource: ResourceWindow, Name: w.Name, Window: w.Name, ID: fmt.Sprintf("mw-%017d", i)},
			Action{Op: OpUnchanged, Resource: ResourceTarget, Name: w.Target.Name, Window: w.Name, ID: fmt.Sprintf("target-%d", i)},
			Action{Op: OpUnchanged, Resource: ResourceTask, Name: w.Task.Name, Window: w.Name, ID: fmt.Sprintf("task-%d", i)},
		)
	}
	want = append(want, Action{Op: OpUnchanged, Resource: ResourceDHMC, Name: DHMCSettingID})
	if diff := cmp.Diff(want, got, ignoreSpec); diff != "" {
		t.Errorf("Plan(converged) mismatch (-want +got):\n%s", diff)
	}
}

func TestPlanFresh(t *testing.T) {
	obs := observed{DocumentHashes: convergedObserved().DocumentHashes, DHMC: ServiceSetting{Status: StatusDefault}}
	got := planOf(testInput(testConfig(), Converge), obs)
	want := []Action{
		{Op: OpCreate, Resource: ResourceWindow, Name: "sra_ssm_agent_update", Window: "sra_ssm_agent_update", Detail: "cron(0 0 1 ? * WED *) America/New_York, 6h, cutoff 1h"},
		{Op: OpCreate, Resource: ResourceTarget, Name: "Update_SSMAgent", Window: "sra_ssm_agent_update", Detail: "tag:InstanceOS=Linux,Windows"},
		{Op: OpCreate, Resource: ResourceTask, Name: "Update_SSMAgent", Window: "sra_ssm_agent_update", Detail: "AWS-UpdateSSMAgent"},
		{Op: OpCreate, Resource: ResourceWindow, Name: "sra_windows_maintenance", Window: "sra_windows_maintenance", Detail: "cron(0 0 1 ? * THU *) America/New_York, 6h, cutoff 1h"},
		{Op: OpCreate, Resource: ResourceTarget, Name: "Update_Windows", Window: "sra_windows_maintenance", Detail: "tag:InstanceOS=Windows"},
		{Op: OpCreate, Resource: ResourceTask, Name: "Windows_Scan", Window: "sra_windows_maintenance", Detail: "AWS-RunPatchBaseline Operation=Scan RebootOption=RebootIfNeeded"},
		{Op: OpCreate, Resource: ResourceWindow, Name: "sra_linux_maintenance", Window: "sra_linux_maintenance", Detail: "cron(0 0 1 ? * FRI *) America/New_York, 6h, cutoff 1h"},
		{Op: OpCreate, Resource: ResourceTarget, Name: "Update_Linux", Window: "sra_linux_maintenance", Detail: "tag:InstanceOS=Linux"},
		{Op: OpCreate, Resource: ResourceTask, Name: "Linux_Scan", Window: "sra_linux_maintenance", Detail: "AWS-RunPatchBaseline Operation=Scan RebootOption=RebootIfNeeded"},
		{Op: OpUpdate, Resource: ResourceDHMC, Name: DHMCSettingID, Changes: []Change{{Field: DHMCValue, From: `""`, To: dhmcRole}}},
	}
	if diff := cmp.Diff(want, got, ignoreSpec); diff != "" {
		t.Errorf("Plan(fresh) mismatch (-want +got):\n%s", diff)
	}
}

// TestPlanDrift: each single drift from the converged state is repaired
// with exactly the writes it needs.
func TestPlanDrift(t *testing.T) {
	const (
		agent   = "sra_ssm_agent_update"
		windows = "sra_windows_maintenance"
		linux   = "sra_linux_maintenance"
	)
	tests := map[string]struct {
		config  func(*config.Config)
		observe func(*observed)
		mode    Mode
		want    []Action
	}{
		"window deleted": {
			observe: func(o *observed) { o.Windows = o.Windows[1:] },
			want: []Action{
				{Op: OpCreate, Resource: ResourceWindow, Name: agent, Window: agent, Detail: "cron(0 0 1 ? * WED *) America/New_York, 6h, cutoff 1h"},
				{Op: OpCreate, Resource: ResourceTarget, Name: "Update_SSMAgent", Window: agent, Detail: "tag:InstanceOS=Linux,Windows"},
				{Op: OpCreate, Resource: ResourceTask, Name: "Update_SSMAgent", Window: agent, Detail: "AWS-UpdateSSMAgent"},
			},
		},
		"schedule changed by hand": {
			observe: func(o *observed) { o.Windows[0].Schedule = "cron(0 0 1 ? * THU *)" },
			want: []Action{{Op: OpUpdate, Resource: ResourceWindow, Name: agent, Window: agent, ID: "mw-00000000000000000",
				Changes: []Change{{Field: WindowSchedule, From: "cron(0 0 1 ? * THU *)", To: "cron(0 0 1 ? * WED *)"}}}},
		},
		"schedule changed in the configuration": {
			config: func(c *config.Config) { c.Windows[1].Schedule = "cron(0 0 2 ? * SAT *)" },
			want: []Action{{Op: OpUpdate, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000001",
				Changes: []Change{{Field: WindowSchedule, From: "cron(0 0 1 ? * THU *)", To: "cron(0 0 2 ? * SAT *)"}}}},
		},
		"duration and cutoff changed": {
			observe: func(o *observed) { o.Windows[2].Duration, o.Windows[2].Cutoff = 4, 2 },
			want: []Action{{Op: OpUpdate, Resource: ResourceWindow, Name: linux, Window: linux, ID: "mw-00000000000000002",
				Changes: []Change{{Field: WindowDuration, From: "4", To: "6"}, {Field: WindowCutoff, From: "2", To: "1"}}}},
		},
		"timezone changed": {
			observe: func(o *observed) { o.Windows[0].ScheduleTimezone = "Europe/Paris" },
			want: []Action{{Op: OpUpdate, Resource: ResourceWindow, Name: agent, Window: agent, ID: "mw-00000000000000000",
				Changes: []Change{{Field: WindowTimezone, From: "Europe/Paris", To: "America/New_York"}}}},
		},
		"description removed by hand": {
			observe: func(o *observed) { o.Windows[0].Description = "" },
			want: []Action{{Op: OpUpdate, Resource: ResourceWindow, Name: agent, Window: agent, ID: "mw-00000000000000000",
				Changes: []Change{{Field: WindowDescription, From: `""`, To: "Patching window sra_ssm_agent_update"}}}},
		},
		"window disabled by hand": {
			observe: func(o *observed) { o.Windows[1].Enabled = false },
			want: []Action{{Op: OpUpdate, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000001",
				Changes: []Change{{Field: WindowEnabled, From: "false", To: "true"}}}},
		},
		"target values changed": {
			observe: func(o *observed) { o.Windows[1].Targets[0].Targets[0].Values = []string{"Linux"} },
			want: []Action{{Op: OpUpdate, Resource: ResourceTarget, Name: "Update_Windows", Window: windows, ID: "target-1",
				Changes: []Change{{Field: TargetSelectors, From: "tag:InstanceOS=Linux", To: "tag:InstanceOS=Windows"}}}},
		},
		"target values in another order": {
			observe: func(o *observed) { o.Windows[0].Targets[0].Targets[0].Values = []string{"Windows", "Linux"} },
		},
		"operation changed in the configuration": {
			config: func(c *config.Config) { c.Windows[2].Task.Operation = "Install" },
			want: []Action{{Op: OpUpdate, Resource: ResourceTask, Name: "Linux_Scan", Window: linux, ID: "task-2",
				Changes: []Change{{Field: TaskComment, From: "Run Scan for Linux_Scan", To: "Run Install for Linux_Scan"}, {Field: TaskParameter, Key: "Operation", From: "Scan", To: "Install"}}}},
		},
		"reboot option changed by hand": {
			observe: func(o *observed) {
				o.Windows[1].Tasks[0].RunCommand.Parameters = map[string][]string{"Operation": {"Scan"}, "RebootOption": {"NoReboot"}}
			},
			want: []Action{{Op: OpUpdate, Resource: ResourceTask, Name: "Windows_Scan", Window: windows, ID: "task-1",
				Changes: []Change{{Field: TaskParameter, Key: "RebootOption", From: "NoReboot", To: "RebootIfNeeded"}}}},
		},
		"max concurrency changed": {
			observe: func(o *observed) { o.Windows[2].Tasks[0].MaxConcurrency = "10%" },
			want: []Action{{Op: OpUpdate, Resource: ResourceTask, Name: "Linux_Scan", Window: linux, ID: "task-2",
				Changes: []Change{{Field: TaskMaxConcurrency, From: "10%", To: "100"}}}},
		},
		"document has a new version": {
			observe: func(o *observed) { o.DocumentHashes[patchDocument] = "cccc3333" },
			want: []Action{
				{Op: OpUpdate, Resource: ResourceTask, Name: "Windows_Scan", Window: windows, ID: "task-1", Changes: []Change{{Field: TaskDocumentHash, From: "bbbb2222", To: "cccc3333"}}},
				{Op: OpUpdate, Resource: ResourceTask, Name: "Linux_Scan", Window: linux, ID: "task-2", Changes: []Change{{Field: TaskDocumentHash, From: "bbbb2222", To: "cccc3333"}}},
			},
		},
		"DHMC reset by hand": {
			observe: func(o *observed) { o.DHMC = ServiceSetting{Value: "$None", Status: StatusDefault} },
			want:    []Action{{Op: OpUpdate, Resource: ResourceDHMC, Name: DHMCSettingID, Changes: []Change{{Field: DHMCValue, From: "$None", To: dhmcRole}}}},
		},
		"DHMC holds another role": {
			observe: func(o *observed) { o.DHMC.Value = "service-role/Other" },
			want:    []Action{{Op: OpUpdate, Resource: ResourceDHMC, Name: DHMCSettingID, Changes: []Change{{Field: DHMCValue, From: "service-role/Other", To: dhmcRole}}}},
		},
		"DHMC not managed": {
			config:  func(c *config.Config) { c.ManageDHMC = false },
			observe: func(o *observed) { o.DHMC = ServiceSetting{} },
		},
		"duplicate owned window": {
			observe: func(o *observed) {
				dup := o.Windows[1]
				dup.ID, dup.Schedule = "mw-00000000000000009", "cron(0 0 5 ? * THU *)"
				o.Windows = append(o.Windows, dup)
			},
			want: []Action{{Op: OpDelete, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000009",
				Detail: "duplicate of mw-00000000000000001"}},
		},
		"identical duplicates keep the lowest id": {
			observe: func(o *observed) {
				dup := o.Windows[1]
				dup.ID = "mw-00000000000000000a"
				o.Windows = append([]ObservedWindow{dup}, o.Windows...)
			},
			want: []Action{{Op: OpDelete, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000001",
				Detail: "duplicate of mw-00000000000000000a"}},
		},
		"extra owned task": {
			observe: func(o *observed) {
				extra := o.Windows[0].Tasks[0]
				extra.ID, extra.Name = "task-9", "Added_By_Hand"
				o.Windows[0].Tasks = append(o.Windows[0].Tasks, extra)
			},
			want: []Action{{Op: OpDelete, Resource: ResourceTask, Name: "Added_By_Hand", Window: agent, ID: "task-9", Detail: "extra task"}},
		},
		"extra owned target": {
			observe: func(o *observed) {
				extra := o.Windows[2].Targets[0]
				extra.ID, extra.Name = "target-9", "Update_Linux"
				o.Windows[2].Targets = append(o.Windows[2].Targets, extra)
			},
			want: []Action{{Op: OpDelete, Resource: ResourceTarget, Name: "Update_Linux", Window: linux, ID: "target-9", Detail: "extra target"}},
		},
		"duplicate target the task runs on is kept": {
			observe: func(o *observed) {
				dup := o.Windows[2].Targets[0]
				dup.ID = "target-9"
				o.Windows[2].Targets = append(o.Windows[2].Targets, dup)
				o.Windows[2].Tasks[0].Targets[0].Values = []string{"target-9"}
			},
			want: []Action{{Op: OpDelete, Resource: ResourceTarget, Name: "Update_Linux", Window: linux, ID: "target-2", Detail: "extra target"}},
		},
		"target deregistered by hand": {
			observe: func(o *observed) { o.Windows[2].Targets = nil; o.Windows[2].Tasks[0].Targets = nil },
			want: []Action{
				{Op: OpCreate, Resource: ResourceTarget, Name: "Update_Linux", Window: linux, Detail: "tag:InstanceOS=Linux"},
				{Op: OpUpdate, Resource: ResourceTask, Name: "Linux_Scan", Window: linux, ID: "task-2", Changes: []Change{{Field: TaskTargets, From: "[]", To: "WindowTargetIds=<new target>"}}},
			},
		},
		"renamed window": {
			config: func(c *config.Config) { c.Windows[2].Name = "linux_patching" },
			want: []Action{
				{Op: OpCreate, Resource: ResourceWindow, Name: "linux_patching", Window: "linux_patching", Detail: "cron(0 0 1 ? * FRI *) America/New_York, 6h, cutoff 1h"},
				{Op: OpCreate, Resource: ResourceTarget, Name: "Update_Linux", Window: "linux_patching", Detail: "tag:InstanceOS=Linux"},
				{Op: OpCreate, Resource: ResourceTask, Name: "Linux_Scan", Window: "linux_patching", Detail: "AWS-RunPatchBaseline Operation=Scan RebootOption=RebootIfNeeded"},
				{Op: OpDelete, Resource: ResourceWindow, Name: linux, Window: linux, ID: "mw-00000000000000002", Detail: "not in the configuration"},
			},
		},
		"teardown": {
			mode: RemoveAndReset,
			want: []Action{
				{Op: OpDelete, Resource: ResourceWindow, Name: linux, Window: linux, ID: "mw-00000000000000002", Detail: "teardown"},
				{Op: OpDelete, Resource: ResourceWindow, Name: agent, Window: agent, ID: "mw-00000000000000000", Detail: "teardown"},
				{Op: OpDelete, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000001", Detail: "teardown"},
				{Op: OpReset, Resource: ResourceDHMC, Name: DHMCSettingID, Changes: []Change{{Field: DHMCValue, From: dhmcRole, To: "default"}}},
			},
		},
		"disabled converges as teardown": {
			config: func(c *config.Config) { c.Disabled = true },
			want: []Action{
				{Op: OpDelete, Resource: ResourceWindow, Name: linux, Window: linux, ID: "mw-00000000000000002", Detail: "teardown"},
				{Op: OpDelete, Resource: ResourceWindow, Name: agent, Window: agent, ID: "mw-00000000000000000", Detail: "teardown"},
				{Op: OpDelete, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000001", Detail: "teardown"},
				{Op: OpReset, Resource: ResourceDHMC, Name: DHMCSettingID, Changes: []Change{{Field: DHMCValue, From: dhmcRole, To: "default"}}},
			},
		},
		"teardown of a torn-down target": {
			mode:    RemoveAndReset,
			observe: func(o *observed) { o.Windows, o.DHMC = nil, ServiceSetting{Value: "$None", Status: StatusDefault} },
		},
		"teardown without DHMC managed": {
			mode:   RemoveAndReset,
			config: func(c *config.Config) { c.ManageDHMC = false },
			want: []Action{
				{Op: OpDelete, Resource: ResourceWindow, Name: linux, Window: linux, ID: "mw-00000000000000002", Detail: "teardown"},
				{Op: OpDelete, Resource: ResourceWindow, Name: agent, Window: agent, ID: "mw-00000000000000000", Detail: "teardown"},
				{Op: OpDelete, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000001", Detail: "teardown"},
			},
		},
		"remove keeps DHMC": {
			mode: RemoveKeepSettings,
			want: []Action{
				{Op: OpDelete, Resource: ResourceWindow, Name: linux, Window: linux, ID: "mw-00000000000000002", Detail: "remove"},
				{Op: OpDelete, Resource: ResourceWindow, Name: agent, Window: agent, ID: "mw-00000000000000000", Detail: "remove"},
				{Op: OpDelete, Resource: ResourceWindow, Name: windows, Window: windows, ID: "mw-00000000000000001", Detail: "remove"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			if tc.config != nil {
				tc.config(&cfg)
			}
			obs := convergedObserved()
			if tc.observe != nil {
				tc.observe(&obs)
			}
			mode := tc.mode
			if mode == "" {
				mode = Converge
			}
			got := writesOnly(planOf(testInput(cfg, mode), obs))
			if diff := cmp.Diff(tc.want, got, ignoreSpec); diff != "" {
				t.Errorf("Plan writes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
