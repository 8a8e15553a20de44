package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

const (
	account = "444444444444"
	region  = "us-east-1"
	cfgRole = "sra-patch-mgmt-configuration"
)

// harness is one simulated account x region, reached through the SDK as
// the Lambda reaches it.
type harness struct {
	t       *testing.T
	env     *simtest.Env
	client  *ssm.Client
	tagging *resourcegroupstaggingapi.Client
	docs    *reconcile.DocumentCache
}

func newHarness(t *testing.T, opts ...sim.Option) *harness {
	t.Helper()
	org, err := sim.LoadOrg("../../testdata/orgs/small.json")
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.Start(t, org, opts...)
	cfg := env.AccountConfig(t, account, cfgRole)
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		o.Region = region
		o.RetryMaxAttempts = 1 // faults must surface, not be retried away
	})
	tagging := resourcegroupstaggingapi.NewFromConfig(cfg, func(o *resourcegroupstaggingapi.Options) {
		o.Region = region
		o.RetryMaxAttempts = 1
	})
	return &harness{t: t, env: env, client: client, tagging: tagging, docs: reconcile.NewDocumentCache()}
}

func (h *harness) run(mode reconcile.Mode, cfg config.Config) (reconcile.Result, error) {
	h.t.Helper()
	return reconcile.Reconcile(context.Background(), reconcile.Clients{h.client}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: mode, Documents: h.docs, Tagging: h.tagging,
	})
}

// mustRun runs and returns the number of SSM writes the simulator saw,
// checking that Result.Writes agrees.
func (h *harness) mustRun(mode reconcile.Mode, cfg config.Config) (reconcile.Result, int) {
	h.t.Helper()
	h.env.Server.ResetCalls()
	res, err := h.run(mode, cfg)
	if err != nil {
		h.t.Fatalf("Reconcile(%s): %v", mode, err)
	}
	writes := h.writes()
	if res.Writes != writes {
		h.t.Errorf("Result.Writes = %d, the simulator saw %d write calls", res.Writes, writes)
	}
	return res, writes
}

// writes counts the SSM write calls logged since the last ResetCalls.
func (h *harness) writes() int {
	return h.env.Server.CountCalls(func(c sim.Call) bool { return c.Service == "ssm" && c.Write })
}

func (h *harness) writeOps() []string {
	var ops []string
	for _, c := range h.env.Server.Calls() {
		if c.Service == "ssm" && c.Write {
			ops = append(ops, c.Operation)
		}
	}
	return ops
}

// firstWriteParams lists the members the first logged SSM write sent.
func (h *harness) firstWriteParams() []string {
	h.t.Helper()
	for _, c := range h.env.Server.Calls() {
		if c.Service != "ssm" || !c.Write {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(c.Params, &m); err != nil {
			h.t.Fatalf("params of %s: %v", c.Operation, err)
		}
		return slices.Sorted(maps.Keys(m))
	}
	return nil
}

// window is a window as a user sees it through the SDK, compactly.
type window struct {
	ID, Name, Description, Schedule, Timezone string
	Duration, Cutoff, Offset                  int32
	Enabled, Owned                            bool
	Targets                                   []string // "name: tag:Key=v1,v2"
	Tasks                                     []string // "name: document op=..; hash=..; concurrency=..; targets=<target name>"
}

// state reads every window of the account x region through the SDK.
func (h *harness) state() []window {
	h.t.Helper()
	ctx := context.Background()
	var ws []window
	out, err := h.client.DescribeMaintenanceWindows(ctx, &ssm.DescribeMaintenanceWindowsInput{})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, wi := range out.WindowIdentities {
		w := window{ID: aws.ToString(wi.WindowId), Name: aws.ToString(wi.Name), Description: aws.ToString(wi.Description),
			Schedule: aws.ToString(wi.Schedule), Timezone: aws.ToString(wi.ScheduleTimezone),
			Duration: aws.ToInt32(wi.Duration), Cutoff: wi.Cutoff, Offset: aws.ToInt32(wi.ScheduleOffset), Enabled: wi.Enabled}
		tags, err := h.client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingMaintenanceWindow, ResourceId: wi.WindowId})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, tg := range tags.TagList {
			w.Owned = w.Owned || aws.ToString(tg.Key) == "createdBy" && aws.ToString(tg.Value) == "SRA_Patch_Management"
		}
		targetNames := map[string]string{}
		tgts, err := h.client.DescribeMaintenanceWindowTargets(ctx, &ssm.DescribeMaintenanceWindowTargetsInput{WindowId: wi.WindowId})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, tg := range tgts.Targets {
			targetNames[aws.ToString(tg.WindowTargetId)] = aws.ToString(tg.Name)
			var sel []string
			for _, s := range tg.Targets {
				sel = append(sel, aws.ToString(s.Key)+"="+strings.Join(s.Values, ","))
			}
			w.Targets = append(w.Targets, fmt.Sprintf("%s: %s", aws.ToString(tg.Name), strings.Join(sel, " ")))
		}
		tasks, err := h.client.DescribeMaintenanceWindowTasks(ctx, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: wi.WindowId})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, tk := range tasks.Tasks {
			got, err := h.client.GetMaintenanceWindowTask(ctx, &ssm.GetMaintenanceWindowTaskInput{WindowId: wi.WindowId, WindowTaskId: tk.WindowTaskId})
			if err != nil {
				h.t.Fatal(err)
			}
			var params []string
			hash := ""
			if p := got.TaskInvocationParameters; p != nil && p.RunCommand != nil {
				for _, k := range slices.Sorted(func(yield func(string) bool) {
					for k := range p.RunCommand.Parameters {
						if !yield(k) {
							return
						}
					}
				}) {
					params = append(params, k+"="+strings.Join(p.RunCommand.Parameters[k], ","))
				}
				if aws.ToString(p.RunCommand.DocumentHash) != "" {
					hash = "pinned"
				}
			}
			var on []string
			for _, s := range got.Targets {
				for _, v := range s.Values {
					on = append(on, targetNames[v])
				}
			}
			w.Tasks = append(w.Tasks, fmt.Sprintf("%s: %s %s; hash=%s; concurrency=%s; targets=%s",
				aws.ToString(got.Name), aws.ToString(got.TaskArn), strings.Join(params, " "), hash,
				aws.ToString(got.MaxConcurrency), strings.Join(on, ",")))
		}
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Name+ws[i].ID < ws[j].Name+ws[j].ID })
	return ws
}

// convergedState is what state() shows for cfg after a successful run
// (IDs aside), beside the given unowned windows.
func convergedState(cfg config.Config, others ...window) []window {
	ws := slices.Clone(others)
	for _, w := range cfg.Windows {
		var kv []string
		p := w.Task.DocumentParameters()
		for _, k := range slices.Sorted(maps.Keys(p)) {
			kv = append(kv, k+"="+strings.Join(p[k], ","))
		}
		params := strings.Join(kv, " ")
		ws = append(ws, window{
			Name: w.Name, Description: w.Description, Schedule: w.Schedule, Timezone: w.ScheduleTimezone,
			Duration: w.DurationHours, Cutoff: w.CutoffHours, Offset: w.ScheduleOffset, Enabled: true, Owned: true,
			Targets: []string{fmt.Sprintf("%s: tag:%s=%s", w.Target.Name, w.Target.TagKey, strings.Join(w.Target.TagValues, ","))},
			Tasks: []string{fmt.Sprintf("%s: %s %s; hash=pinned; concurrency=%s; targets=%s",
				w.Task.Name, w.Task.Document, params, w.Task.MaxConcurrency, w.Target.Name)},
		})
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Name+ws[i].ID < ws[j].Name+ws[j].ID })
	return ws
}

var ignoreIDs = cmp.Transformer("noID", func(ws []window) []window {
	out := slices.Clone(ws)
	for i := range out {
		out[i].ID = ""
	}
	return out
})

// addUnowned creates a window we do not own, as a colleague would.
func (h *harness) addUnowned(name string, tags ...types.Tag) window {
	h.t.Helper()
	out, err := h.client.CreateMaintenanceWindow(context.Background(), &ssm.CreateMaintenanceWindowInput{
		Name: aws.String(name), Schedule: aws.String("rate(7 days)"), Duration: aws.Int32(2), Cutoff: 0,
		AllowUnassociatedTargets: true, Tags: tags,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return window{ID: aws.ToString(out.WindowId), Name: name, Schedule: "rate(7 days)", Duration: 2, Enabled: true}
}

// touched lists the calls that named an unowned window beyond reading its
// tags.
func (h *harness) touched(ids ...string) []string {
	var bad []string
	for _, c := range h.env.Server.Calls() {
		for _, id := range ids {
			if strings.Contains(string(c.Params), id) && c.Operation != "ListTagsForResource" {
				bad = append(bad, c.Operation+" "+id)
			}
		}
	}
	return bad
}

func (h *harness) dhmc() (value, status string) {
	h.t.Helper()
	out, err := h.client.GetServiceSetting(context.Background(), &ssm.GetServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID)})
	if err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(out.ServiceSetting.SettingValue), aws.ToString(out.ServiceSetting.Status)
}

func TestConvergeFreshThenNoWrites(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	other := h.addUnowned("team_window")
	tagged := h.addUnowned("other_tool_window", types.Tag{Key: aws.String("createdBy"), Value: aws.String("someone-else")})

	h.env.Server.ResetCalls()
	plan, err := reconcile.Reconcile(context.Background(), reconcile.Clients{h.client}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, DryRun: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if w := h.writes(); w != 0 || plan.Writes != 0 {
		t.Errorf("dry run: %d writes (reported %d), want none", w, plan.Writes)
	}

	res, writes := h.mustRun(reconcile.Converge, cfg)
	if diff := cmp.Diff(plan.Actions, res.Actions, cmpopts.IgnoreUnexported(reconcile.Action{})); diff != "" {
		t.Errorf("applied actions differ from the dry run's plan (-plan +applied):\n%s", diff)
	}
	// 3 windows x (create, register target, register task) + DHMC.
	if writes != 10 {
		t.Errorf("fresh run: %d writes %v, want 10", writes, h.writeOps())
	}
	for _, a := range res.Actions {
		if a.Op != reconcile.OpCreate && !(a.Resource == reconcile.ResourceDHMC && a.Op == reconcile.OpUpdate) {
			t.Errorf("fresh run action %+v, want only creates and the DHMC update", a)
		}
	}
	if diff := cmp.Diff(convergedState(cfg, other, tagged), h.state(), ignoreIDs); diff != "" {
		t.Errorf("state after the fresh run (-want +got):\n%s", diff)
	}
	if v, _ := h.dhmc(); v != cfg.DHMCRoleName {
		t.Errorf("DHMC = %q, want %q", v, cfg.DHMCRoleName)
	}

	h.env.Server.ResetCalls()
	res, writes = h.mustRun(reconcile.Converge, cfg)
	if writes != 0 {
		t.Errorf("second run: %d writes %v, want none", writes, h.writeOps())
	}
	for _, a := range res.Actions {
		if a.Op != reconcile.OpUnchanged {
			t.Errorf("second run action %+v, want unchanged", a)
		}
	}
	// The documented observe cost with a warm document cache: 1 list, one
	// GetResources for the owned windows (no tag look-up: the two windows
	// not ours have names not desired), 3 x (targets, tasks, 1 task), DHMC;
	// no baseline listing: the same GetResources shows none is ours.
	if n := h.env.Server.CountCalls(nil); n != 1+1+9+1 {
		t.Errorf("second run made %d calls, want %d", n, 1+1+9+1)
	}
	if n := h.env.Server.CallCount("ssm", "ListTagsForResource"); n != 0 {
		t.Errorf("second run read the tags of %d windows, want none", n)
	}
	if bad := h.touched(other.ID, tagged.ID); len(bad) > 0 {
		t.Errorf("unowned windows touched: %v", bad)
	}
}

// ids finds, through the SDK, the ids of the window named name and of its
// first target and task.
func (h *harness) ids(name string) (windowID, targetID, taskID string) {
	h.t.Helper()
	for _, w := range h.state() {
		if w.Name == name && w.Owned {
			windowID = w.ID
		}
	}
	if windowID == "" {
		h.t.Fatalf("no owned window %s", name)
	}
	ctx := context.Background()
	tg, err := h.client.DescribeMaintenanceWindowTargets(ctx, &ssm.DescribeMaintenanceWindowTargetsInput{WindowId: &windowID})
	if err != nil || len(tg.Targets) == 0 {
		h.t.Fatalf("targets of %s: %v", name, err)
	}
	tk, err := h.client.DescribeMaintenanceWindowTasks(ctx, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: &windowID})
	if err != nil || len(tk.Tasks) == 0 {
		h.t.Fatalf("tasks of %s: %v", name, err)
	}
	return windowID, aws.ToString(tg.Targets[0].WindowTargetId), aws.ToString(tk.Tasks[0].WindowTaskId)
}

// must(call())(t) is call's value, failing the test on its error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestDriftIsRepaired: each change a user makes through the API (or the
// configuration makes) is repaired by the next run with the fewest writes,
// and the run after that makes none.
func TestDriftIsRepaired(t *testing.T) {
	const (
		agent   = "sra_ssm_agent_update"
		windows = "sra_windows_maintenance"
		linux   = "sra_linux_maintenance"
	)
	ctx := context.Background()
	tests := map[string]struct {
		drift   func(t *testing.T, h *harness, cfg *config.Config)
		wantOps []string
		// wantParams, when set, are the members the first repair write
		// sends: only what changed.
		wantParams []string
	}{
		"window deleted": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, _ := h.ids(agent)
				must(h.client.DeleteMaintenanceWindow(ctx, &ssm.DeleteMaintenanceWindowInput{WindowId: &id}))(t)
			},
			wantOps: []string{"CreateMaintenanceWindow", "RegisterTargetWithMaintenanceWindow", "RegisterTaskWithMaintenanceWindow"},
		},
		"schedule changed": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, _ := h.ids(windows)
				must(h.client.UpdateMaintenanceWindow(ctx, &ssm.UpdateMaintenanceWindowInput{WindowId: &id, Schedule: aws.String("cron(0 0 3 ? * MON *)")}))(t)
			},
			wantOps:    []string{"UpdateMaintenanceWindow"},
			wantParams: []string{"Schedule", "WindowId"},
		},
		"duration and cutoff changed": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, _ := h.ids(linux)
				must(h.client.UpdateMaintenanceWindow(ctx, &ssm.UpdateMaintenanceWindowInput{WindowId: &id, Duration: aws.Int32(10), Cutoff: aws.Int32(3)}))(t)
			},
			wantOps:    []string{"UpdateMaintenanceWindow"},
			wantParams: []string{"Cutoff", "Duration", "WindowId"},
		},
		"timezone changed": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, _ := h.ids(linux)
				must(h.client.UpdateMaintenanceWindow(ctx, &ssm.UpdateMaintenanceWindowInput{WindowId: &id, ScheduleTimezone: aws.String("Europe/Paris")}))(t)
			},
			wantOps:    []string{"UpdateMaintenanceWindow"},
			wantParams: []string{"ScheduleTimezone", "WindowId"},
		},
		"description changed": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, _ := h.ids(agent)
				must(h.client.UpdateMaintenanceWindow(ctx, &ssm.UpdateMaintenanceWindowInput{WindowId: &id, Description: aws.String("changed by hand")}))(t)
			},
			wantOps: []string{"UpdateMaintenanceWindow"},
		},
		"window disabled": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, _ := h.ids(agent)
				must(h.client.UpdateMaintenanceWindow(ctx, &ssm.UpdateMaintenanceWindowInput{WindowId: &id, Enabled: aws.Bool(false)}))(t)
			},
			wantOps:    []string{"UpdateMaintenanceWindow"},
			wantParams: []string{"Enabled", "WindowId"},
		},
		"schedule changed in the configuration": {
			drift: func(t *testing.T, h *harness, cfg *config.Config) {
				cfg.Windows[0].Schedule = "cron(0 0 2 ? * TUE *)"
				cfg.Windows[0].DurationHours = 4
			},
			wantOps: []string{"UpdateMaintenanceWindow"},
		},
		"description removed from the configuration": {
			drift:      func(t *testing.T, h *harness, cfg *config.Config) { cfg.Windows[1].Description = "" },
			wantOps:    []string{"UpdateMaintenanceWindow"},
			wantParams: []string{"AllowUnassociatedTargets", "Cutoff", "Duration", "Enabled", "Name", "Replace", "Schedule", "ScheduleTimezone", "WindowId"},
		},
		"target values changed": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, target, _ := h.ids(windows)
				must(h.client.UpdateMaintenanceWindowTarget(ctx, &ssm.UpdateMaintenanceWindowTargetInput{WindowId: &id, WindowTargetId: &target,
					Targets: []types.Target{{Key: aws.String("tag:InstanceOS"), Values: []string{"Linux"}}}}))(t)
			},
			wantOps:    []string{"UpdateMaintenanceWindowTarget"},
			wantParams: []string{"Targets", "WindowId", "WindowTargetId"},
		},
		"target values changed in the configuration": {
			drift: func(t *testing.T, h *harness, cfg *config.Config) {
				cfg.Windows[2].Target.TagValues = []string{"Linux", "AmazonLinux"}
			},
			wantOps: []string{"UpdateMaintenanceWindowTarget"},
		},
		"operation changed in the configuration": {
			drift: func(t *testing.T, h *harness, cfg *config.Config) {
				cfg.Windows[1].Task.Operation = config.OperationInstall
			},
			wantOps:    []string{"UpdateMaintenanceWindowTask"},
			wantParams: []string{"TaskInvocationParameters", "WindowId", "WindowTaskId"},
		},
		"document changed in the configuration": {
			drift: func(t *testing.T, h *harness, cfg *config.Config) {
				task := &cfg.Windows[0].Task
				task.Document, task.Operation, task.RebootOption = config.DocumentRunPatchBaseline, config.OperationInstall, config.NoReboot
			},
			wantOps: []string{"UpdateMaintenanceWindowTask"},
		},
		"reboot option changed by hand": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, task := h.ids(linux)
				got := must(h.client.GetMaintenanceWindowTask(ctx, &ssm.GetMaintenanceWindowTaskInput{WindowId: &id, WindowTaskId: &task}))(t)
				rc := got.TaskInvocationParameters.RunCommand
				rc.Parameters["RebootOption"] = []string{config.NoReboot}
				must(h.client.UpdateMaintenanceWindowTask(ctx, &ssm.UpdateMaintenanceWindowTaskInput{WindowId: &id, WindowTaskId: &task,
					TaskInvocationParameters: got.TaskInvocationParameters}))(t)
			},
			wantOps: []string{"UpdateMaintenanceWindowTask"},
		},
		"max concurrency changed": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, task := h.ids(agent)
				must(h.client.UpdateMaintenanceWindowTask(ctx, &ssm.UpdateMaintenanceWindowTaskInput{WindowId: &id, WindowTaskId: &task, MaxConcurrency: aws.String("5")}))(t)
			},
			wantOps:    []string{"UpdateMaintenanceWindowTask"},
			wantParams: []string{"MaxConcurrency", "WindowId", "WindowTaskId"},
		},
		"document hash pinned to another version": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, task := h.ids(windows)
				got := must(h.client.GetMaintenanceWindowTask(ctx, &ssm.GetMaintenanceWindowTaskInput{WindowId: &id, WindowTaskId: &task}))(t)
				got.TaskInvocationParameters.RunCommand.DocumentHash = aws.String(strings.Repeat("0", 64))
				must(h.client.UpdateMaintenanceWindowTask(ctx, &ssm.UpdateMaintenanceWindowTaskInput{WindowId: &id, WindowTaskId: &task,
					TaskInvocationParameters: got.TaskInvocationParameters}))(t)
			},
			wantOps: []string{"UpdateMaintenanceWindowTask"},
		},
		"task deregistered": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, task := h.ids(linux)
				must(h.client.DeregisterTaskFromMaintenanceWindow(ctx, &ssm.DeregisterTaskFromMaintenanceWindowInput{WindowId: &id, WindowTaskId: &task}))(t)
			},
			wantOps: []string{"RegisterTaskWithMaintenanceWindow"},
		},
		"extra task registered": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, target, _ := h.ids(linux)
				must(h.client.RegisterTaskWithMaintenanceWindow(ctx, &ssm.RegisterTaskWithMaintenanceWindowInput{WindowId: &id,
					TaskType: types.MaintenanceWindowTaskTypeRunCommand, TaskArn: aws.String("AWS-UpdateSSMAgent"), Name: aws.String("by_hand"),
					Targets:        []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{target}}},
					MaxConcurrency: aws.String("1"), MaxErrors: aws.String("1")}))(t)
			},
			wantOps: []string{"DeregisterTaskFromMaintenanceWindow"},
		},
		"extra target registered": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				id, _, _ := h.ids(agent)
				must(h.client.RegisterTargetWithMaintenanceWindow(ctx, &ssm.RegisterTargetWithMaintenanceWindowInput{WindowId: &id,
					ResourceType: types.MaintenanceWindowResourceTypeInstance, Name: aws.String("by_hand"),
					Targets: []types.Target{{Key: aws.String("tag:Team"), Values: []string{"web"}}}}))(t)
			},
			wantOps: []string{"DeregisterTargetFromMaintenanceWindow"},
		},
		"duplicate owned window": {
			drift: func(t *testing.T, h *harness, cfg *config.Config) {
				w := cfg.Windows[1]
				must(h.client.CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{Name: &w.Name, Schedule: &w.Schedule,
					Duration: aws.Int32(w.DurationHours), Cutoff: w.CutoffHours,
					Tags: []types.Tag{{Key: aws.String("createdBy"), Value: aws.String("SRA_Patch_Management")}}}))(t)
			},
			wantOps: []string{"DeleteMaintenanceWindow"},
		},
		"window renamed in the configuration": {
			drift: func(t *testing.T, h *harness, cfg *config.Config) { cfg.Windows[2].Name = "linux_patching" },
			wantOps: []string{"CreateMaintenanceWindow", "RegisterTargetWithMaintenanceWindow", "RegisterTaskWithMaintenanceWindow",
				"DeleteMaintenanceWindow"},
		},
		"DHMC reset": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				must(h.client.ResetServiceSetting(ctx, &ssm.ResetServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID)}))(t)
			},
			wantOps:    []string{"UpdateServiceSetting"},
			wantParams: []string{"SettingId", "SettingValue"},
		},
		"DHMC set to another role": {
			drift: func(t *testing.T, h *harness, _ *config.Config) {
				must(h.client.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID),
					SettingValue: aws.String("service-role/SomeoneElsesRole")}))(t)
			},
			wantOps: []string{"UpdateServiceSetting"},
		},
		"DHMC not managed": {
			drift: func(t *testing.T, h *harness, cfg *config.Config) {
				cfg.ManageDHMC = false
				must(h.client.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID),
					SettingValue: aws.String("service-role/SomeoneElsesRole")}))(t)
			},
		},
		"unowned window added": {
			drift: func(t *testing.T, h *harness, _ *config.Config) { h.addUnowned("sra_linux_maintenance") },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			cfg := config.Default()
			other := h.addUnowned("team_window")
			h.mustRun(reconcile.Converge, cfg)

			tc.drift(t, h, &cfg)
			before := h.state()
			beforeValue, _ := h.dhmc()
			res, _ := h.mustRun(reconcile.Converge, cfg)
			if diff := cmp.Diff(tc.wantOps, h.writeOps()); diff != "" {
				t.Errorf("repair writes (-want +got):\n%s\nactions: %+v", diff, res.Actions)
			}
			if tc.wantParams != nil {
				if diff := cmp.Diff(tc.wantParams, h.firstWriteParams()); diff != "" {
					t.Errorf("members of the repair write (-want +got):\n%s", diff)
				}
			}
			if bad := h.touched(other.ID); len(bad) > 0 {
				t.Errorf("unowned window touched: %v", bad)
			}
			_, writes := h.mustRun(reconcile.Converge, cfg)
			if writes != 0 {
				t.Errorf("run after the repair: %d writes %v, want none", writes, h.writeOps())
			}
			if tc.wantOps == nil {
				if diff := cmp.Diff(before, h.state()); diff != "" {
					t.Errorf("state changed (-before +after):\n%s", diff)
				}
				if v, _ := h.dhmc(); v != beforeValue {
					t.Errorf("DHMC %q -> %q, want untouched", beforeValue, v)
				}
				return
			}
			var others []window
			for _, w := range h.state() {
				if !w.Owned {
					others = append(others, w)
				}
			}
			if diff := cmp.Diff(convergedState(cfg, others...), h.state(), ignoreIDs); diff != "" {
				t.Errorf("state after the repair (-want +got):\n%s", diff)
			}
			if v, _ := h.dhmc(); cfg.ManageDHMC && v != cfg.DHMCRoleName {
				t.Errorf("DHMC = %q, want %q", v, cfg.DHMCRoleName)
			}
		})
	}
}

// sraWindows are the windows the reference solution registers with its
// default settings, written down from its template and Lambda rather than
// from config.Default(), so that the adoption test compares orgpatch with
// the reference and not with itself.
var sraWindows = []struct {
	name, description, schedule, target, targetDescription string
	values                                                 []string
	task, taskDescription, document, operation             string
}{
	{"sra_ssm_agent_update", "Maintenance Window To Update The SSM Agent On Managed Instances", "cron(0 0 1 ? * WED *)",
		"Update_SSMAgent", "Targets To Update SSMAgent On Managed Instances", []string{"Linux", "Windows"},
		"Update_SSMAgent", "Task To Update SSMAgent On Managed Instances", "AWS-UpdateSSMAgent", ""},
	{"sra_windows_maintenance", "Maintenance Window to scan Windows Instances", "cron(0 0 1 ? * THU *)",
		"Update_Windows", "Targets To Scan For Windows Updates On Managed Instances", []string{"Windows"},
		"Windows_Scan", "Task To Scan For Patches On Managed Windows Instances", "AWS-RunPatchBaseline", "Scan"},
	{"sra_linux_maintenance", "Maintenance Window to scan Linux Instances", "cron(0 0 1 ? * FRI *)",
		"Update_Linux", "Targets To Scan For Linux Updates On Managed Instances", []string{"Linux"},
		"Linux_Scan", "Task To Scan For Patches On Managed Linux Instances", "AWS-RunPatchBaseline", "Scan"},
}

// TestReferenceWindowsAdopted: windows the reference solution made with its
// default settings are adopted with at most one write per task: its tasks
// carry the service role on the task only, orgpatch's also in the Run
// Command parameters (where Run Command publishes notifications with it).
func TestReferenceWindowsAdopted(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	ctx := context.Background()
	for _, w := range sraWindows {
		win := must(h.client.CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{
			Name: aws.String(w.name), Description: aws.String(w.description), Schedule: aws.String(w.schedule),
			ScheduleTimezone: aws.String("America/New_York"), Duration: aws.Int32(6), Cutoff: 1, AllowUnassociatedTargets: false,
			Tags: []types.Tag{{Key: aws.String("createdBy"), Value: aws.String("SRA_Patch_Management")}},
		}))(t)
		tgt := must(h.client.RegisterTargetWithMaintenanceWindow(ctx, &ssm.RegisterTargetWithMaintenanceWindowInput{
			WindowId: win.WindowId, ResourceType: types.MaintenanceWindowResourceTypeInstance,
			Targets: []types.Target{{Key: aws.String("tag:InstanceOS"), Values: w.values}},
			Name:    aws.String(w.target), Description: aws.String(w.targetDescription),
		}))(t)
		doc := must(h.client.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String(w.document)}))(t)
		params := map[string][]string{}
		operation := "None" // Python's rendering of its missing operation
		if w.operation != "" {
			params = map[string][]string{"Operation": {w.operation}, "RebootOption": {"RebootIfNeeded"}}
			operation = w.operation
		}
		must(h.client.RegisterTaskWithMaintenanceWindow(ctx, &ssm.RegisterTaskWithMaintenanceWindowInput{
			WindowId: win.WindowId, TaskType: types.MaintenanceWindowTaskTypeRunCommand, TaskArn: aws.String(w.document),
			Priority: aws.Int32(1), Targets: []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{aws.ToString(tgt.WindowTargetId)}}},
			ServiceRoleArn: aws.String("arn:aws:iam::" + account + ":role/sra-patch-mgmt-automation"), CutoffBehavior: types.MaintenanceWindowTaskCutoffBehaviorContinueTask,
			MaxConcurrency: aws.String("100"), MaxErrors: aws.String("1"),
			Name: aws.String(w.task), Description: aws.String(w.taskDescription),
			TaskInvocationParameters: &types.MaintenanceWindowTaskInvocationParameters{RunCommand: &types.MaintenanceWindowRunCommandParameters{
				Comment: aws.String("Run " + operation + " for " + w.task), DocumentVersion: aws.String("$DEFAULT"),
				DocumentHash: doc.Document.Hash, DocumentHashType: types.DocumentHashTypeSha256, TimeoutSeconds: aws.Int32(3600),
				Parameters: params,
			}},
		}))(t)
	}
	must(h.client.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID), SettingValue: aws.String(cfg.DHMCRoleName)}))(t)

	res, writes := h.mustRun(reconcile.Converge, cfg)
	want := []string{"UpdateMaintenanceWindowTask", "UpdateMaintenanceWindowTask", "UpdateMaintenanceWindowTask"}
	if diff := cmp.Diff(want, h.writeOps()); diff != "" || writes > len(sraWindows) {
		t.Errorf("adopting the reference windows: %d writes, want at most one task update per task (-want +got):\n%s\nactions %+v", writes, diff, res.Actions)
	}
	for _, a := range res.Actions {
		if a.Op == reconcile.OpUpdate && a.Detail != "" && !strings.Contains(a.Detail, "service role") {
			t.Errorf("%s %s: %s, want only the service role changed", a.Resource, a.Name, a.Detail)
		}
	}
	if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
		t.Errorf("second run: %d writes %v, want none", writes, h.writeOps())
	}
}

// TestTeardownAndRemove: teardown leaves no owned window and the DHMC
// setting at its default; remove keeps DHMC; neither touches other windows.
func TestTeardownAndRemove(t *testing.T) {
	tests := map[string]struct {
		mode      reconcile.Mode
		disabled  bool
		wantReset bool
	}{
		"teardown":                          {mode: reconcile.RemoveAndReset, wantReset: true},
		"converge with the config disabled": {mode: reconcile.Converge, disabled: true, wantReset: true},
		"remove":                            {mode: reconcile.RemoveKeepSettings},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			cfg := config.Default()
			other := h.addUnowned("team_window")
			h.mustRun(reconcile.Converge, cfg)
			cfg.Disabled = tc.disabled

			_, writes := h.mustRun(tc.mode, cfg)
			if bad := h.touched(other.ID); len(bad) > 0 {
				t.Errorf("unowned window touched: %v", bad)
			}
			want := 3
			if tc.wantReset {
				want = 4
			}
			if writes != want {
				t.Errorf("%s: %d writes %v, want %d", tc.mode, writes, h.writeOps(), want)
			}
			if diff := cmp.Diff([]window{other}, h.state()); diff != "" {
				t.Errorf("windows left (-want +got):\n%s", diff)
			}
			value, status := h.dhmc()
			if tc.wantReset && status != reconcile.StatusDefault {
				t.Errorf("DHMC = %q (%s), want the default", value, status)
			}
			if !tc.wantReset && value != cfg.DHMCRoleName {
				t.Errorf("DHMC = %q, want kept at %q", value, cfg.DHMCRoleName)
			}
			if _, writes := h.mustRun(tc.mode, cfg); writes != 0 {
				t.Errorf("second %s: %d writes %v, want none", tc.mode, writes, h.writeOps())
			}
		})
	}
}

// TestCrashThenConverge: a run stopped after its Nth write, then run again
// against a healthy service, ends converged with no duplicates.
func TestCrashThenConverge(t *testing.T) {
	// The fresh run's writes, in order, as its error names them.
	failing := []string{
		"create window sra_ssm_agent_update: ",
		"register target Update_SSMAgent in window sra_ssm_agent_update: ",
		"register task Update_SSMAgent in window sra_ssm_agent_update: ",
		"create window sra_windows_maintenance: ",
		"register target Update_Windows in window sra_windows_maintenance: ",
		"register task Windows_Scan in window sra_windows_maintenance: ",
		"create window sra_linux_maintenance: ",
		"register target Update_Linux in window sra_linux_maintenance: ",
		"register task Linux_Scan in window sra_linux_maintenance: ",
		"update service setting " + reconcile.DHMCSettingID + ": ",
	}
	for n := 1; n <= 10; n++ {
		t.Run(fmt.Sprintf("after %d writes", n), func(t *testing.T) {
			h := newHarness(t)
			cfg := config.Default()
			other := h.addUnowned("team_window")
			h.env.Server.FailAfterWrites(h.env.Server.Writes() + n)
			res, err := h.run(reconcile.Converge, cfg)
			if n < 10 {
				var apiErr smithy.APIError
				if err == nil || !errors.As(err, &apiErr) {
					t.Fatalf("crashed run: err = %v, want an API error", err)
				}
				if !strings.HasPrefix(err.Error(), failing[n]) {
					t.Errorf("crashed run: err = %q, want it to start %q", err, failing[n])
				}
				if len(res.Actions) != n {
					t.Errorf("crashed run reports %d actions done, want the %d writes that succeeded", len(res.Actions), n)
				}
			}
			h.env.Server.FailAfterWrites(-1)
			if _, err := h.run(reconcile.Converge, cfg); err != nil {
				t.Fatalf("healthy run: %v", err)
			}
			if diff := cmp.Diff(convergedState(cfg, other), h.state(), ignoreIDs); diff != "" {
				t.Errorf("state after the healthy run (-want +got):\n%s", diff)
			}
			if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
				t.Errorf("run after: %d writes %v, want none", writes, h.writeOps())
			}
		})
	}
}

// TestDocumentsDescribedOncePerRegion: reconciles of one run share the
// documents' hashes, so a region's documents are described once, not once
// per account, even when the reconciles run at the same time.
func TestDocumentsDescribedOncePerRegion(t *testing.T) {
	org, err := sim.LoadOrg("../../testdata/orgs/small.json")
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.Start(t, org, sim.WithLatency(5*time.Millisecond))
	docs := reconcile.NewDocumentCache()
	cfg := config.Default()
	type target struct{ account, region string }
	var targets []target
	for _, a := range []string{"111111111111", "222222222222", "333333333333", "444444444444"} {
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			targets = append(targets, target{a, r})
		}
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, tg := range targets {
		client := ssm.NewFromConfig(env.AccountConfig(t, tg.account, cfgRole), func(o *ssm.Options) { o.Region = tg.region })
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = reconcile.Reconcile(context.Background(), reconcile.Clients{client}, reconcile.Input{
				Account: tg.account, Region: tg.region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, Documents: docs,
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range env.Server.Calls() {
		if c.Operation == "DescribeDocument" {
			got[c.Region]++
		}
	}
	// Two documents (AWS-UpdateSSMAgent, AWS-RunPatchBaseline) per region.
	if diff := cmp.Diff(map[string]int{"us-east-1": 2, "eu-west-1": 2}, got); diff != "" {
		t.Errorf("DescribeDocument calls per region (-want +got):\n%s", diff)
	}
}

// cancelAfterTarget cancels the run's context once the first target is
// registered, as a Lambda deadline would at any moment.
type cancelAfterTarget struct {
	*ssm.Client
	cancel context.CancelFunc
}

func (c cancelAfterTarget) RegisterTargetWithMaintenanceWindow(ctx context.Context, in *ssm.RegisterTargetWithMaintenanceWindowInput, opts ...func(*ssm.Options)) (*ssm.RegisterTargetWithMaintenanceWindowOutput, error) {
	defer c.cancel()
	return c.Client.RegisterTargetWithMaintenanceWindow(ctx, in, opts...)
}

// TestCancelledRunStopsAndReports: a run whose context ends stops writing,
// returns the context's error and the actions done so far, and the next
// run finishes the job.
func TestCancelledRunStopsAndReports(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.env.Server.ResetCalls()
	res, err := reconcile.Reconcile(ctx, reconcile.Clients{cancelAfterTarget{h.client, cancel}}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, Documents: h.docs,
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancellation", err)
	}
	if diff := cmp.Diff([]string{"CreateMaintenanceWindow", "RegisterTargetWithMaintenanceWindow"}, h.writeOps()); diff != "" {
		t.Errorf("writes of the cancelled run (-want +got):\n%s", diff)
	}
	var done []string
	for _, a := range res.Actions {
		done = append(done, string(a.Op)+" "+string(a.Resource)+" "+a.Name)
	}
	if diff := cmp.Diff([]string{"create window sra_ssm_agent_update", "create target Update_SSMAgent"}, done); diff != "" {
		t.Errorf("actions reported done (-want +got):\n%s", diff)
	}
	if res.Writes != 2 {
		t.Errorf("Result.Writes = %d, want 2", res.Writes)
	}
	if _, err := h.run(reconcile.Converge, cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(convergedState(cfg), h.state(), ignoreIDs); diff != "" {
		t.Errorf("state after the next run (-want +got):\n%s", diff)
	}
}

// deleteWhileObserved deletes each window, as a concurrent run would, just
// before its targets are read.
type deleteWhileObserved struct {
	*ssm.Client
	name    string
	windows map[string]string // id -> name
}

func (d deleteWhileObserved) DescribeMaintenanceWindowTargets(ctx context.Context, in *ssm.DescribeMaintenanceWindowTargetsInput, opts ...func(*ssm.Options)) (*ssm.DescribeMaintenanceWindowTargetsOutput, error) {
	if d.windows[aws.ToString(in.WindowId)] == d.name {
		if _, err := d.Client.DeleteMaintenanceWindow(ctx, &ssm.DeleteMaintenanceWindowInput{WindowId: in.WindowId}); err != nil {
			return nil, err
		}
	}
	return d.Client.DescribeMaintenanceWindowTargets(ctx, in, opts...)
}

// TestWindowDeletedWhileObserved: a window that disappears between being
// listed and being read is treated as gone, and made again.
func TestWindowDeletedWhileObserved(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	h.mustRun(reconcile.Converge, cfg)
	ids := map[string]string{}
	for _, w := range h.state() {
		ids[w.ID] = w.Name
	}
	h.env.Server.ResetCalls()
	_, err := reconcile.Reconcile(context.Background(), reconcile.Clients{deleteWhileObserved{h.client, "sra_windows_maintenance", ids}}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, Documents: h.docs,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DeleteMaintenanceWindow", // the concurrent deletion
		"CreateMaintenanceWindow", "RegisterTargetWithMaintenanceWindow", "RegisterTaskWithMaintenanceWindow"}
	if diff := cmp.Diff(want, h.writeOps()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(convergedState(cfg), h.state(), ignoreIDs); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

// TestOptionalSettingsRoundTrip: the optional settings (schedule offset,
// command output, CloudWatch, notifications, extra parameters) are written,
// read back as equal (no write on the next run), and cleared when the
// configuration drops them.
func TestOptionalSettingsRoundTrip(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	w := &cfg.Windows[2]
	w.ScheduleOffset = 2
	w.Task.OutputS3Bucket, w.Task.OutputS3KeyPrefix = "patch-logs-444444444444", "linux/"
	w.Task.CloudWatchLogGroupName = "/orgpatch/linux"
	w.Task.NotificationARN = "arn:aws:sns:us-east-1:444444444444:patching"
	w.Task.NotificationEvents = []string{"Failed", "TimedOut"}
	w.Task.NotificationType = "Command"
	w.Task.Parameters = map[string][]string{"InstallOverrideList": {"s3://patch-logs-444444444444/override.yaml"}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 10 {
		t.Errorf("fresh run: %d writes %v, want 10", writes, h.writeOps())
	}
	if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
		t.Errorf("second run: %d writes %v, want none", writes, h.writeOps())
	}
	id, _, task := h.ids(w.Name)
	got := must(h.client.GetMaintenanceWindowTask(context.Background(), &ssm.GetMaintenanceWindowTaskInput{WindowId: &id, WindowTaskId: &task}))(t)
	rc := got.TaskInvocationParameters.RunCommand
	gotOptional := []string{aws.ToString(rc.OutputS3BucketName), aws.ToString(rc.OutputS3KeyPrefix),
		aws.ToString(rc.CloudWatchOutputConfig.CloudWatchLogGroupName), aws.ToString(rc.NotificationConfig.NotificationArn),
		strings.Join(rc.Parameters["InstallOverrideList"], ",")}
	wantOptional := []string{"patch-logs-444444444444", "linux/", "/orgpatch/linux", "arn:aws:sns:us-east-1:444444444444:patching",
		"s3://patch-logs-444444444444/override.yaml"}
	if diff := cmp.Diff(wantOptional, gotOptional); diff != "" {
		t.Errorf("optional task settings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(convergedState(cfg), h.state(), ignoreIDs); diff != "" {
		t.Errorf("state with the optional settings (-want +got):\n%s", diff)
	}

	// Dropping them clears them, in one write per resource.
	w.ScheduleOffset = 0
	w.Task.OutputS3Bucket, w.Task.OutputS3KeyPrefix, w.Task.CloudWatchLogGroupName = "", "", ""
	w.Task.NotificationARN, w.Task.NotificationEvents, w.Task.NotificationType = "", nil, ""
	w.Task.Parameters = nil
	if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 2 {
		t.Errorf("clearing run: %d writes %v, want 2 (window, task)", writes, h.writeOps())
	}
	if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
		t.Errorf("run after clearing: %d writes %v, want none", writes, h.writeOps())
	}
	if diff := cmp.Diff(convergedState(cfg), h.state(), ignoreIDs); diff != "" {
		t.Errorf("state after clearing (-want +got):\n%s", diff)
	}
	got = must(h.client.GetMaintenanceWindowTask(context.Background(), &ssm.GetMaintenanceWindowTaskInput{WindowId: &id, WindowTaskId: &task}))(t)
	if rc := got.TaskInvocationParameters.RunCommand; rc.OutputS3BucketName != nil || rc.OutputS3KeyPrefix != nil ||
		rc.CloudWatchOutputConfig != nil || rc.NotificationConfig != nil {
		t.Errorf("cleared settings still there: bucket %v prefix %v CloudWatch %+v notification %+v",
			aws.ToString(rc.OutputS3BucketName), aws.ToString(rc.OutputS3KeyPrefix), rc.CloudWatchOutputConfig, rc.NotificationConfig)
	}
}

// loseCreateResponse makes the window creation succeed but its answer get
// lost on the way back, as a dropped connection would.
type loseCreateResponse struct{ *ssm.Client }

func (l loseCreateResponse) CreateMaintenanceWindow(ctx context.Context, in *ssm.CreateMaintenanceWindowInput, opts ...func(*ssm.Options)) (*ssm.CreateMaintenanceWindowOutput, error) {
	if _, err := l.Client.CreateMaintenanceWindow(ctx, in, opts...); err != nil {
		return nil, err
	}
	return nil, &smithy.GenericAPIError{Code: "RequestTimeout", Message: "the answer was lost"}
}

// TestLostCreateIsAdopted: a window whose creation answer was lost carries
// our tag already, so the next run adopts it: no duplicate, no orphan.
func TestLostCreateIsAdopted(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	h.env.Server.ResetCalls()
	_, err := reconcile.Reconcile(context.Background(), reconcile.Clients{loseCreateResponse{h.client}}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, Documents: h.docs,
	})
	if err == nil || !strings.HasPrefix(err.Error(), "create window sra_ssm_agent_update: ") {
		t.Fatalf("err = %v, want the lost create", err)
	}
	_, writes := h.mustRun(reconcile.Converge, cfg)
	// The adopted window gets its target and task; the two others are made
	// whole; DHMC is set.
	if writes != 2+3+3+1 {
		t.Errorf("next run: %d writes %v, want 9", writes, h.writeOps())
	}
	if diff := cmp.Diff(convergedState(cfg), h.state(), ignoreIDs); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

// TestWindowsHoldWhatTheReferenceRegisters: read from the simulator's own
// state, each window is registered as the reference solution registers it.
func TestWindowsHoldWhatTheReferenceRegisters(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	h.mustRun(reconcile.Converge, cfg)
	svc := h.env.Server.SSM()
	role := "arn:aws:iam::" + account + ":role/" + cfg.TaskRoleName
	type registered struct {
		Name, Tags, Target, TaskArn, Role, Cutoff, Concurrency, Errors string
		Unassociated                                                   bool
		Priority                                                       int32
		RunCommand                                                     ssmsvc.RunCommandParameters
	}
	var got, want []registered
	for _, w := range svc.Windows(account, region) {
		r := registered{Name: w.Name, Unassociated: w.AllowUnassociatedTargets}
		for _, tg := range w.Tags {
			r.Tags += tg.Key + "=" + tg.Value
		}
		if len(w.Targets) != 1 || len(w.Tasks) != 1 {
			t.Fatalf("window %s: %d targets, %d tasks, want 1 each", w.Name, len(w.Targets), len(w.Tasks))
		}
		tg, tk := w.Targets[0], w.Tasks[0]
		r.Target = fmt.Sprintf("%s %s %s=%v", tg.ResourceType, tg.Name, tg.Targets[0].Key, tg.Targets[0].Values)
		if tk.Targets[0].Key != "WindowTargetIds" || !slices.Equal(tk.Targets[0].Values, []string{tg.ID}) {
			t.Errorf("window %s: task runs on %+v, want WindowTargetIds=[%s]", w.Name, tk.Targets, tg.ID)
		}
		r.TaskArn, r.Role, r.Cutoff, r.Concurrency, r.Errors, r.Priority = tk.Type+" "+tk.TaskArn, tk.ServiceRoleArn, tk.CutoffBehavior, tk.MaxConcurrency, tk.MaxErrors, tk.Priority
		r.RunCommand = *tk.TaskInvocationParameters.RunCommand
		got = append(got, r)
	}
	for _, w := range cfg.Windows {
		what := "None"
		if w.Task.Operation != "" {
			what = w.Task.Operation
		}
		want = append(want, registered{
			Name: w.Name, Tags: "createdBy=SRA_Patch_Management",
			Target:  fmt.Sprintf("INSTANCE %s tag:InstanceOS=%v", w.Target.Name, w.Target.TagValues),
			TaskArn: "RUN_COMMAND " + w.Task.Document, Role: role, Cutoff: "CONTINUE_TASK", Concurrency: "100", Errors: "1", Priority: 1,
			RunCommand: ssmsvc.RunCommandParameters{
				Comment: "Run " + what + " for " + w.Task.Name, DocumentVersion: "$DEFAULT",
				DocumentHash: svc.DocumentHash(w.Task.Document), DocumentHashType: "Sha256", TimeoutSeconds: aws.Int32(3600),
				Parameters: w.Task.DocumentParameters(), ServiceRoleArn: role,
			},
		})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registered windows (-want +got):\n%s", diff)
	}
	if value, status := svc.ServiceSetting(account, region, reconcile.DHMCSettingID); value != cfg.DHMCRoleName || status != "Customized" {
		t.Errorf("DHMC = %q (%s), want %q (Customized)", value, status, cfg.DHMCRoleName)
	}
}

// TestTasksFollowTheDocumentHash: when AWS publishes a new version of a
// document, the next run pins the tasks running it to the new hash, and
// touches nothing else.
func TestTasksFollowTheDocumentHash(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	h.mustRun(reconcile.Converge, cfg)
	_, hash, err := h.env.Server.SSM().PublishDocumentVersion(config.DocumentRunPatchBaseline)
	if err != nil {
		t.Fatal(err)
	}
	h.docs = reconcile.NewDocumentCache() // a new run
	h.mustRun(reconcile.Converge, cfg)
	if diff := cmp.Diff([]string{"UpdateMaintenanceWindowTask", "UpdateMaintenanceWindowTask"}, h.writeOps()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	pinned := map[string]string{}
	for _, w := range h.env.Server.SSM().Windows(account, region) {
		for _, tk := range w.Tasks {
			pinned[tk.TaskArn] = tk.TaskInvocationParameters.RunCommand.DocumentHash
		}
	}
	want := map[string]string{
		config.DocumentRunPatchBaseline: hash,
		config.DocumentUpdateSSMAgent:   h.env.Server.SSM().DocumentHash(config.DocumentUpdateSSMAgent),
	}
	if diff := cmp.Diff(want, pinned); diff != "" {
		t.Errorf("pinned hashes (-want +got):\n%s", diff)
	}
	if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
		t.Errorf("run after: %d writes %v, want none", writes, h.writeOps())
	}
}

// staleIndex is a Resource Groups Tagging API whose index lags: it reports
// the windows in ids as owned, whatever their tags say now.
type staleIndex struct{ arns []string }

func (s staleIndex) GetResources(context.Context, *resourcegroupstaggingapi.GetResourcesInput, ...func(*resourcegroupstaggingapi.Options)) (*resourcegroupstaggingapi.GetResourcesOutput, error) {
	out := &resourcegroupstaggingapi.GetResourcesOutput{PaginationToken: aws.String("")}
	for _, arn := range s.arns {
		out.ResourceTagMappingList = append(out.ResourceTagMappingList, taggingtypes.ResourceTagMapping{ResourceARN: aws.String(arn)})
	}
	return out, nil
}

// TestStaleTaggingIndex: where the tagging index and a window's name
// disagree, the window's own tags decide, so an index that has not caught
// up neither makes a second copy of a window just created nor deletes a
// window whose ownership tag was just removed.
func TestStaleTaggingIndex(t *testing.T) {
	h := newHarness(t)
	cfg := config.Default()
	h.mustRun(reconcile.Converge, cfg)
	disowned := h.addUnowned("disowned_window")
	arn := func(id string) string { return "arn:aws:ssm:" + region + ":" + account + ":maintenancewindow/" + id }

	h.env.Server.ResetCalls()
	_, err := reconcile.Reconcile(context.Background(), reconcile.Clients{h.client}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, Documents: h.docs,
		Tagging: staleIndex{arns: []string{arn(disowned.ID)}}, // ours not indexed yet; the disowned one still
	})
	if err != nil {
		t.Fatal(err)
	}
	if ops := h.writeOps(); len(ops) != 0 {
		t.Errorf("writes %v on a converged region with a stale index, want none", ops)
	}
	// The three desired windows the index missed and the one it wrongly
	// reports: four look-ups.
	if n := h.env.Server.CallCount("ssm", "ListTagsForResource"); n != 4 {
		t.Errorf("%d tag look-ups, want 4", n)
	}
	if bad := h.touched(disowned.ID); len(bad) > 0 {
		t.Errorf("a window that is not ours was touched: %v", bad)
	}
	if diff := cmp.Diff(convergedState(cfg, disowned), h.state(), ignoreIDs); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

// TestTeardownKeepsDHMCSetBySomeoneElse: a teardown resets the DHMC
// setting only where it holds the role orgpatch configured; a role someone
// else set stays, with no write, and the plan says so.
func TestTeardownKeepsDHMCSetBySomeoneElse(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	cfg := config.Default()
	h.mustRun(reconcile.Converge, cfg)
	const theirs = "service-role/TeamOwnDHMCRole"
	must(h.client.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID),
		SettingValue: aws.String(theirs)}))(t)

	res, writes := h.mustRun(reconcile.RemoveAndReset, cfg)
	if slices.Contains(h.writeOps(), "ResetServiceSetting") {
		t.Errorf("teardown reset a DHMC setting orgpatch did not make: %v", h.writeOps())
	}
	if writes != 3 {
		t.Errorf("teardown: %d writes %v, want 3 (the windows only)", writes, h.writeOps())
	}
	if value, _ := h.dhmc(); value != theirs {
		t.Errorf("DHMC = %q, want left at %q", value, theirs)
	}
	i := slices.IndexFunc(res.Actions, func(a reconcile.Action) bool { return a.Resource == reconcile.ResourceDHMC })
	if i < 0 || res.Actions[i].Op != reconcile.OpKept || !strings.HasPrefix(res.Actions[i].Detail, reconcile.KeptBySomeoneElse) ||
		!strings.Contains(res.Actions[i].Detail, theirs) {
		t.Errorf("DHMC action %+v, want kept: %s, naming %s", res.Actions, reconcile.KeptBySomeoneElse, theirs)
	}
}
