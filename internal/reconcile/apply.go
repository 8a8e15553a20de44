package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// createdBackoff is how long apply waits before each retry of a write that
// found a window or target created moments before missing (SSM is
// eventually consistent); after the last, the error stands.
var createdBackoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// applier executes a plan's actions in order against one account x region.
type applier struct {
	client      SSMAPI
	taskRoleARN string
	writes      int
	// windowIDs and targetIDs hold the ids of windows and targets created
	// by this run, by window name, for the writes that follow.
	windowIDs map[string]string
	targetIDs map[string]string
}

// apply executes actions in order, stopping at the first failed write. The
// Result holds the actions done before the failure.
// Every task written must pass CheckTask with taskRoleARN.
func apply(ctx context.Context, client SSMAPI, taskRoleARN string, actions []Action) (Result, error) {
	a := &applier{client: client, taskRoleARN: taskRoleARN, windowIDs: map[string]string{}, targetIDs: map[string]string{}}
	var res Result
	for _, act := range actions {
		if err := ctx.Err(); err != nil {
			res.Writes = a.writes
			return res, fmt.Errorf("%s %s %s: %w", act.Kind, act.Resource, act.Name, context.Cause(ctx))
		}
		if err := a.do(ctx, act); err != nil {
			res.Writes = a.writes
			return res, err
		}
		res.Actions = append(res.Actions, act)
	}
	res.Writes = a.writes
	return res, nil
}

func (a *applier) do(ctx context.Context, act Action) error {
	switch {
	case act.Kind == KindUnchanged:
		if act.Resource == ResourceTarget {
			a.targetIDs[act.Window] = act.ID
		}
		return nil
	case act.Resource == ResourceWindow && act.Kind == KindCreate:
		return a.createWindow(ctx, act)
	case act.Resource == ResourceWindow && act.Kind == KindUpdate:
		return a.updateWindow(ctx, act)
	case act.Resource == ResourceWindow && act.Kind == KindDelete:
		return a.deleteWindow(ctx, act)
	case act.Resource == ResourceTarget && act.Kind == KindCreate:
		return a.registerTarget(ctx, act)
	case act.Resource == ResourceTarget && act.Kind == KindUpdate:
		a.targetIDs[act.Window] = act.ID
		return a.updateTarget(ctx, act)
	case act.Resource == ResourceTarget && act.Kind == KindDelete:
		return a.deregisterTarget(ctx, act)
	case act.Resource == ResourceTask && (act.Kind == KindCreate || act.Kind == KindUpdate):
		if err := CheckTask(act.spec.task, a.taskRoleARN); err != nil {
			return err
		}
		if act.Kind == KindCreate {
			return a.registerTask(ctx, act)
		}
		return a.updateTask(ctx, act)
	case act.Resource == ResourceTask && act.Kind == KindDelete:
		return a.deregisterTask(ctx, act)
	case act.Resource == ResourceDHMC && act.Kind == KindUpdate:
		return a.updateSetting(ctx, act)
	case act.Resource == ResourceDHMC && act.Kind == KindReset:
		return a.resetSetting(ctx, act)
	}
	return fmt.Errorf("%s %s %s: no such action", act.Kind, act.Resource, act.Name)
}

// write makes one write call, counting it. When the call names a window or
// target that this run has just created and SSM answers DoesNotExist (its
// eventual consistency), the call is retried after a short wait.
func (a *applier) write(ctx context.Context, justCreated bool, call func() error) error {
	for attempt := 0; ; attempt++ {
		a.writes++
		err := call()
		if err == nil || !justCreated || !isNotFound(err) || attempt >= len(createdBackoff) {
			return err
		}
		t := time.NewTimer(createdBackoff[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// send makes the write call op(ctx, in) through a.write and returns its
// answer.
func send[In, Out any](ctx context.Context, a *applier, justCreated bool, op func(context.Context, In, ...func(*ssm.Options)) (Out, error), in In) (Out, error) {
	var out Out
	err := a.write(ctx, justCreated, func() (err error) {
		out, err = op(ctx, in)
		return err
	})
	return out, err
}

// windowID is the id of the window a target or task action belongs to, and
// whether this run created it.
func (a *applier) windowID(act Action) (string, bool) {
	if act.spec.windowID != "" {
		return act.spec.windowID, false
	}
	return a.windowIDs[act.Window], true
}

// createWindow creates the window with its ownership tag, in one call, so
// no untagged window can be left behind. Idempotent: the SDK's client token
// makes its own retries one creation, and a creation whose answer was lost
// is observed, by its tag and name, by the next run, which adopts it (and
// deletes any duplicate).
func (a *applier) createWindow(ctx context.Context, act Action) error {
	w := act.spec.window
	in := &ssm.CreateMaintenanceWindowInput{
		Name:                     aws.String(w.Name),
		Schedule:                 aws.String(w.Schedule),
		ScheduleTimezone:         optional(w.ScheduleTimezone),
		Duration:                 aws.Int32(w.Duration),
		Cutoff:                   w.Cutoff,
		AllowUnassociatedTargets: false,
		Description:              optional(w.Description),
		Tags:                     []types.Tag{{Key: aws.String(OwnerTagKey), Value: aws.String(OwnerTagValue)}},
	}
	if w.ScheduleOffset != 0 {
		in.ScheduleOffset = aws.Int32(w.ScheduleOffset)
	}
	out, err := send(ctx, a, false, a.client.CreateMaintenanceWindow, in)
	if err != nil {
		return fmt.Errorf("create window %s: %w", w.Name, err)
	}
	a.windowIDs[act.Window] = aws.ToString(out.WindowId)
	return nil
}

// updateWindow sends only the fields that differ, or, when one must be
// cleared, the whole window with Replace. Idempotent: it sets values.
func (a *applier) updateWindow(ctx context.Context, act Action) error {
	w, s := act.spec.window, act.spec
	in := &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String(act.ID)}
	if s.replace {
		in.Replace = aws.Bool(true)
		in.Name = aws.String(w.Name)
		in.Description = optional(w.Description)
		in.Schedule = aws.String(w.Schedule)
		in.ScheduleTimezone = optional(w.ScheduleTimezone)
		if w.ScheduleOffset != 0 {
			in.ScheduleOffset = aws.Int32(w.ScheduleOffset)
		}
		in.Duration = aws.Int32(w.Duration)
		in.Cutoff = aws.Int32(w.Cutoff)
		in.AllowUnassociatedTargets = aws.Bool(false)
		in.Enabled = aws.Bool(w.Enabled)
	} else {
		for _, f := range s.changed {
			switch f {
			case "description":
				in.Description = aws.String(w.Description)
			case "schedule":
				in.Schedule = aws.String(w.Schedule)
			case "schedule offset":
				in.ScheduleOffset = aws.Int32(w.ScheduleOffset)
			case "timezone":
				in.ScheduleTimezone = aws.String(w.ScheduleTimezone)
			case "duration":
				in.Duration = aws.Int32(w.Duration)
			case "cutoff":
				in.Cutoff = aws.Int32(w.Cutoff)
			case "enabled":
				in.Enabled = aws.Bool(w.Enabled)
			}
		}
	}
	if _, err := send(ctx, a, false, a.client.UpdateMaintenanceWindow, in); err != nil {
		return fmt.Errorf("update window %s (%s): %w", act.Name, act.ID, err)
	}
	return nil
}

// deleteWindow deletes the window with its targets and tasks. Idempotent:
// a window already gone is success.
func (a *applier) deleteWindow(ctx context.Context, act Action) error {
	_, err := send(ctx, a, false, a.client.DeleteMaintenanceWindow, &ssm.DeleteMaintenanceWindowInput{WindowId: aws.String(act.ID)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete window %s (%s): %w", act.Name, act.ID, err)
	}
	return nil
}

// registerTarget registers the window's tag target. Idempotent: the SDK's
// client token makes its own retries one registration; a registration
// whose answer was lost is observed by the next run, which keeps the best
// target and deregisters the rest.
func (a *applier) registerTarget(ctx context.Context, act Action) error {
	t := act.spec.target
	windowID, created := a.windowID(act)
	in := &ssm.RegisterTargetWithMaintenanceWindowInput{
		WindowId:     aws.String(windowID),
		ResourceType: types.MaintenanceWindowResourceType(t.ResourceType),
		Targets:      sdkTargets(t.Targets),
		Name:         aws.String(t.Name),
		Description:  optional(t.Description),
	}
	out, err := send(ctx, a, created, a.client.RegisterTargetWithMaintenanceWindow, in)
	if err != nil {
		return fmt.Errorf("register target %s in window %s: %w", t.Name, act.Window, err)
	}
	a.targetIDs[act.Window] = aws.ToString(out.WindowTargetId)
	return nil
}

// updateTarget sends only the fields that differ, or everything with
// Replace when one must be cleared. Idempotent: it sets values.
func (a *applier) updateTarget(ctx context.Context, act Action) error {
	t, s := act.spec.target, act.spec
	in := &ssm.UpdateMaintenanceWindowTargetInput{WindowId: aws.String(s.windowID), WindowTargetId: aws.String(act.ID)}
	if s.replace {
		in.Replace = aws.Bool(true)
		in.Name = aws.String(t.Name)
		in.Description = optional(t.Description)
		in.Targets = sdkTargets(t.Targets)
	} else {
		for _, f := range s.changed {
			switch f {
			case "name":
				in.Name = aws.String(t.Name)
			case "description":
				in.Description = aws.String(t.Description)
			case "targets":
				in.Targets = sdkTargets(t.Targets)
			}
		}
	}
	if _, err := send(ctx, a, false, a.client.UpdateMaintenanceWindowTarget, in); err != nil {
		return fmt.Errorf("update target %s in window %s: %w", act.Name, act.Window, err)
	}
	return nil
}

// deregisterTarget removes an extra target. Idempotent: a target already
// gone is success.
func (a *applier) deregisterTarget(ctx context.Context, act Action) error {
	_, err := send(ctx, a, false, a.client.DeregisterTargetFromMaintenanceWindow, &ssm.DeregisterTargetFromMaintenanceWindowInput{
		WindowId: aws.String(act.spec.windowID), WindowTargetId: aws.String(act.ID), Safe: aws.Bool(true),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deregister target %s (%s) from window %s: %w", act.Name, act.ID, act.Window, err)
	}
	return nil
}

// targetID is the window target a task runs on: the one the plan named, or
// the one this run registered or kept in the same window.
func (a *applier) targetID(act Action) (string, bool) {
	if act.spec.targetID != "" {
		return act.spec.targetID, false
	}
	return a.targetIDs[act.Window], true
}

// taskTargets targets a task at the window target targetID.
func taskTargets(targetID string) []types.Target {
	return []types.Target{{Key: aws.String(windowTargetIDsKey), Values: []string{targetID}}}
}

// registerTask registers the window's Run Command task. Idempotent as
// registerTarget is.
func (a *applier) registerTask(ctx context.Context, act Action) error {
	t := act.spec.task
	windowID, createdWindow := a.windowID(act)
	targetID, createdTarget := a.targetID(act)
	in := &ssm.RegisterTaskWithMaintenanceWindowInput{
		WindowId:                 aws.String(windowID),
		TaskType:                 types.MaintenanceWindowTaskType(t.Type),
		TaskArn:                  aws.String(t.TaskArn),
		Priority:                 aws.Int32(t.Priority),
		Targets:                  taskTargets(targetID),
		ServiceRoleArn:           aws.String(t.ServiceRoleArn),
		CutoffBehavior:           types.MaintenanceWindowTaskCutoffBehavior(t.CutoffBehavior),
		MaxConcurrency:           aws.String(t.MaxConcurrency),
		MaxErrors:                aws.String(t.MaxErrors),
		Name:                     aws.String(t.Name),
		Description:              optional(t.Description),
		TaskInvocationParameters: invocationParameters(t.RunCommand),
	}
	if _, err := send(ctx, a, createdWindow || createdTarget, a.client.RegisterTaskWithMaintenanceWindow, in); err != nil {
		return fmt.Errorf("register task %s in window %s: %w", t.Name, act.Window, err)
	}
	return nil
}

// updateTask sends only the fields that differ (the Run Command parameters
// as one), or everything with Replace when one must be cleared.
// Idempotent: it sets values.
func (a *applier) updateTask(ctx context.Context, act Action) error {
	t, s := act.spec.task, act.spec
	targetID, createdTarget := a.targetID(act)
	in := &ssm.UpdateMaintenanceWindowTaskInput{WindowId: aws.String(s.windowID), WindowTaskId: aws.String(act.ID)}
	if s.replace {
		in.Replace = aws.Bool(true)
		in.Name = aws.String(t.Name)
		in.Description = optional(t.Description)
		in.TaskArn = aws.String(t.TaskArn)
		in.Priority = aws.Int32(t.Priority)
		in.ServiceRoleArn = aws.String(t.ServiceRoleArn)
		in.MaxConcurrency = aws.String(t.MaxConcurrency)
		in.MaxErrors = aws.String(t.MaxErrors)
		in.CutoffBehavior = types.MaintenanceWindowTaskCutoffBehavior(t.CutoffBehavior)
		in.Targets = taskTargets(targetID)
		in.TaskInvocationParameters = invocationParameters(t.RunCommand)
	} else {
		for _, f := range s.changed {
			switch f {
			case "name":
				in.Name = aws.String(t.Name)
			case "description":
				in.Description = aws.String(t.Description)
			case "document":
				in.TaskArn = aws.String(t.TaskArn)
			case "priority":
				in.Priority = aws.Int32(t.Priority)
			case "service role":
				in.ServiceRoleArn = aws.String(t.ServiceRoleArn)
			case "max concurrency":
				in.MaxConcurrency = aws.String(t.MaxConcurrency)
			case "max errors":
				in.MaxErrors = aws.String(t.MaxErrors)
			case "cutoff behavior":
				in.CutoffBehavior = types.MaintenanceWindowTaskCutoffBehavior(t.CutoffBehavior)
			case "targets":
				in.Targets = taskTargets(targetID)
			default:
				if isRunCommandField(f) {
					in.TaskInvocationParameters = invocationParameters(t.RunCommand)
				}
			}
		}
	}
	if _, err := send(ctx, a, createdTarget, a.client.UpdateMaintenanceWindowTask, in); err != nil {
		return fmt.Errorf("update task %s in window %s: %w", act.Name, act.Window, err)
	}
	return nil
}

// deregisterTask removes an extra task. Idempotent: a task already gone is
// success.
func (a *applier) deregisterTask(ctx context.Context, act Action) error {
	_, err := send(ctx, a, false, a.client.DeregisterTaskFromMaintenanceWindow, &ssm.DeregisterTaskFromMaintenanceWindowInput{
		WindowId: aws.String(act.spec.windowID), WindowTaskId: aws.String(act.ID),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deregister task %s (%s) from window %s: %w", act.Name, act.ID, act.Window, err)
	}
	return nil
}

// updateSetting sets the DHMC role. Idempotent: it sets a value.
func (a *applier) updateSetting(ctx context.Context, act Action) error {
	_, err := send(ctx, a, false, a.client.UpdateServiceSetting, &ssm.UpdateServiceSettingInput{
		SettingId: aws.String(DHMCSettingID), SettingValue: aws.String(act.spec.value),
	})
	if err != nil {
		return fmt.Errorf("update service setting %s: %w", DHMCSettingID, err)
	}
	return nil
}

// resetSetting returns the DHMC setting to its default. Idempotent:
// resetting a default setting changes nothing.
func (a *applier) resetSetting(ctx context.Context, act Action) error {
	_, err := send(ctx, a, false, a.client.ResetServiceSetting, &ssm.ResetServiceSettingInput{SettingId: aws.String(DHMCSettingID)})
	if err != nil {
		return fmt.Errorf("reset service setting %s: %w", DHMCSettingID, err)
	}
	return nil
}

func invocationParameters(rc *RunCommand) *types.MaintenanceWindowTaskInvocationParameters {
	p := &types.MaintenanceWindowRunCommandParameters{
		Comment:            optional(rc.Comment),
		DocumentVersion:    optional(rc.DocumentVersion),
		DocumentHash:       optional(rc.DocumentHash),
		DocumentHashType:   types.DocumentHashType(rc.DocumentHashType),
		Parameters:         rc.Parameters,
		OutputS3BucketName: optional(rc.OutputS3BucketName),
		OutputS3KeyPrefix:  optional(rc.OutputS3KeyPrefix),
		ServiceRoleArn:     optional(rc.ServiceRoleArn),
	}
	if rc.TimeoutSeconds != 0 {
		p.TimeoutSeconds = aws.Int32(rc.TimeoutSeconds)
	}
	if rc.CloudWatchLogGroupName != "" || rc.CloudWatchOutputEnabled {
		p.CloudWatchOutputConfig = &types.CloudWatchOutputConfig{
			CloudWatchLogGroupName:  optional(rc.CloudWatchLogGroupName),
			CloudWatchOutputEnabled: rc.CloudWatchOutputEnabled,
		}
	}
	if rc.NotificationARN != "" {
		n := &types.NotificationConfig{
			NotificationArn:  aws.String(rc.NotificationARN),
			NotificationType: types.NotificationType(rc.NotificationType),
		}
		for _, e := range rc.NotificationEvents {
			n.NotificationEvents = append(n.NotificationEvents, types.NotificationEvent(e))
		}
		p.NotificationConfig = n
	}
	return &types.MaintenanceWindowTaskInvocationParameters{RunCommand: p}
}

// optional is nil for "", so unset fields stay unset on the wire.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
