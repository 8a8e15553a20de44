package reconcile

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// apply makes the write of one window, target or task action. Unchanged
// actions make none; an unchanged target notes its id for the task.
func (windowKind) apply(ctx context.Context, a *applier, act Action) error {
	client, err := clientOf[windowsAPI](a.clients)
	if err != nil {
		return err
	}
	switch {
	case act.Op == OpUnchanged:
		if act.Resource == ResourceTarget {
			a.ids[idKey{ResourceTarget, act.Window}] = act.ID
		}
		return nil
	case act.Resource == ResourceWindow && act.Op == OpCreate:
		return a.createWindow(ctx, client, act)
	case act.Resource == ResourceWindow && act.Op == OpUpdate:
		return a.updateWindow(ctx, client, act)
	case act.Resource == ResourceWindow && act.Op == OpDelete:
		return a.deleteWindow(ctx, client, act)
	case act.Resource == ResourceTarget && act.Op == OpCreate:
		return a.registerTarget(ctx, client, act)
	case act.Resource == ResourceTarget && act.Op == OpUpdate:
		a.ids[idKey{ResourceTarget, act.Window}] = act.ID
		return a.updateTarget(ctx, client, act)
	case act.Resource == ResourceTarget && act.Op == OpDelete:
		return a.deregisterTarget(ctx, client, act)
	case act.Resource == ResourceTask && (act.Op == OpCreate || act.Op == OpUpdate):
		if err := CheckTask(specOf(act).task, taskRoleARN(a.in)); err != nil {
			return err
		}
		if act.Op == OpCreate {
			return a.registerTask(ctx, client, act)
		}
		return a.updateTask(ctx, client, act)
	case act.Resource == ResourceTask && act.Op == OpDelete:
		return a.deregisterTask(ctx, client, act)
	}
	return errNoSuchAction(act)
}

// specOf is the window, target or task act writes; empty for an action
// planned without one.
func specOf(act Action) *windowSpec {
	if s, ok := act.spec.(*windowSpec); ok {
		return s
	}
	return &windowSpec{}
}

// windowID is the id of the window a target or task action belongs to, and
// whether this run created it.
func (a *applier) windowID(act Action) (string, bool) {
	if specOf(act).windowID != "" {
		return specOf(act).windowID, false
	}
	return a.ids[idKey{ResourceWindow, act.Window}], true
}

// createWindow creates the window with its ownership tag, in one call, so
// no untagged window can be left behind. Idempotent: the SDK's client token
// makes its own retries one creation, and a creation whose answer was lost
// is observed, by its tag and name, by the next run, which adopts it (and
// deletes any duplicate).
func (a *applier) createWindow(ctx context.Context, client windowsAPI, act Action) error {
	w := specOf(act).window
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
	out, err := send(ctx, a, false, client.CreateMaintenanceWindow, in)
	if err != nil {
		return fmt.Errorf("create window %s: %w", w.Name, err)
	}
	a.ids[idKey{ResourceWindow, act.Window}] = aws.ToString(out.WindowId)
	return nil
}

// updateWindow sends only the fields that differ, or, when one must be
// cleared, the whole window with Replace. Idempotent: it sets values.
func (a *applier) updateWindow(ctx context.Context, client windowsAPI, act Action) error {
	w, s := specOf(act).window, specOf(act)
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
		in.Enabled = aws.Bool(true)
	} else {
		for _, c := range act.Changes {
			switch c.Field {
			case WindowDescription:
				in.Description = aws.String(w.Description)
			case WindowSchedule:
				in.Schedule = aws.String(w.Schedule)
			case WindowScheduleOffset:
				in.ScheduleOffset = aws.Int32(w.ScheduleOffset)
			case WindowTimezone:
				in.ScheduleTimezone = aws.String(w.ScheduleTimezone)
			case WindowDuration:
				in.Duration = aws.Int32(w.Duration)
			case WindowCutoff:
				in.Cutoff = aws.Int32(w.Cutoff)
			case WindowEnabled:
				in.Enabled = aws.Bool(true)
			case WindowStartDate:
				in.StartDate = aws.String("") // cleared: orgpatch's windows have none
			case WindowEndDate:
				in.EndDate = aws.String("")
			default:
				return errCannotSend(act, c)
			}
		}
	}
	if _, err := send(ctx, a, false, client.UpdateMaintenanceWindow, in); err != nil {
		return fmt.Errorf("update window %s (%s): %w", act.Name, act.ID, err)
	}
	return nil
}

// deleteWindow deletes the window with its targets and tasks. Idempotent:
// a window already gone is success.
func (a *applier) deleteWindow(ctx context.Context, client windowsAPI, act Action) error {
	_, err := send(ctx, a, false, client.DeleteMaintenanceWindow, &ssm.DeleteMaintenanceWindowInput{WindowId: aws.String(act.ID)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete window %s (%s): %w", act.Name, act.ID, err)
	}
	return nil
}

// registerTarget registers the window's tag target. Idempotent: the SDK's
// client token makes its own retries one registration; a registration
// whose answer was lost is observed by the next run, which keeps the best
// target and deregisters the rest.
func (a *applier) registerTarget(ctx context.Context, client windowsAPI, act Action) error {
	t := specOf(act).target
	windowID, created := a.windowID(act)
	in := &ssm.RegisterTargetWithMaintenanceWindowInput{
		WindowId:     aws.String(windowID),
		ResourceType: types.MaintenanceWindowResourceType(resourceTypeInstance),
		Targets:      sdkTargets(t.Targets),
		Name:         aws.String(t.Name),
		Description:  optional(t.Description),
	}
	out, err := send(ctx, a, created, client.RegisterTargetWithMaintenanceWindow, in)
	if err != nil {
		return fmt.Errorf("register target %s in window %s: %w", t.Name, act.Window, err)
	}
	a.ids[idKey{ResourceTarget, act.Window}] = aws.ToString(out.WindowTargetId)
	return nil
}

// updateTarget sends only the fields that differ, or everything with
// Replace when one must be cleared. Idempotent: it sets values.
func (a *applier) updateTarget(ctx context.Context, client windowsAPI, act Action) error {
	t, s := specOf(act).target, specOf(act)
	in := &ssm.UpdateMaintenanceWindowTargetInput{WindowId: aws.String(s.windowID), WindowTargetId: aws.String(act.ID)}
	if s.replace {
		in.Replace = aws.Bool(true)
		in.Name = aws.String(t.Name)
		in.Description = optional(t.Description)
		in.Targets = sdkTargets(t.Targets)
	} else {
		for _, c := range act.Changes {
			switch c.Field {
			case TargetName:
				in.Name = aws.String(t.Name)
			case TargetDescription:
				in.Description = aws.String(t.Description)
			case TargetOwnerInformation:
				in.OwnerInformation = aws.String("")
			case TargetSelectors:
				in.Targets = sdkTargets(t.Targets)
			default:
				return errCannotSend(act, c)
			}
		}
	}
	if _, err := send(ctx, a, false, client.UpdateMaintenanceWindowTarget, in); err != nil {
		return fmt.Errorf("update target %s in window %s: %w", act.Name, act.Window, err)
	}
	return nil
}

// deregisterTarget removes an extra target. Idempotent: a target already
// gone is success.
func (a *applier) deregisterTarget(ctx context.Context, client windowsAPI, act Action) error {
	_, err := send(ctx, a, false, client.DeregisterTargetFromMaintenanceWindow, &ssm.DeregisterTargetFromMaintenanceWindowInput{
		WindowId: aws.String(specOf(act).windowID), WindowTargetId: aws.String(act.ID), Safe: aws.Bool(true),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deregister target %s (%s) from window %s: %w", act.Name, act.ID, act.Window, err)
	}
	return nil
}

// targetID is the window target a task runs on: the one the plan named, or
// the one this run registered (or kept) in the same window.
func (a *applier) targetID(act Action) (string, bool) {
	if t := specOf(act).task.Target; !t.New {
		return t.ID, false
	}
	return a.ids[idKey{ResourceTarget, act.Window}], true
}

// taskTargets targets a task at the window target targetID.
func taskTargets(targetID string) []types.Target {
	return []types.Target{{Key: aws.String(windowTargetIDsKey), Values: []string{targetID}}}
}

// registerTask registers the window's Run Command task. Idempotent as
// registerTarget is.
func (a *applier) registerTask(ctx context.Context, client windowsAPI, act Action) error {
	t := specOf(act).task
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
	if _, err := send(ctx, a, createdWindow || createdTarget, client.RegisterTaskWithMaintenanceWindow, in); err != nil {
		return fmt.Errorf("register task %s in window %s: %w", t.Name, act.Window, err)
	}
	return nil
}

// updateTask sends only the fields that differ (the Run Command parameters
// as one), or everything with Replace when one must be cleared.
// Idempotent: it sets values.
func (a *applier) updateTask(ctx context.Context, client windowsAPI, act Action) error {
	t, s := specOf(act).task, specOf(act)
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
		for _, c := range act.Changes {
			switch c.Field {
			case TaskName:
				in.Name = aws.String(t.Name)
			case TaskDescription:
				in.Description = aws.String(t.Description)
			case TaskDocument:
				in.TaskArn = aws.String(t.TaskArn)
			case TaskPriority:
				in.Priority = aws.Int32(t.Priority)
			case TaskServiceRole:
				in.ServiceRoleArn = aws.String(t.ServiceRoleArn)
			case TaskMaxConcurrency:
				in.MaxConcurrency = aws.String(t.MaxConcurrency)
			case TaskMaxErrors:
				in.MaxErrors = aws.String(t.MaxErrors)
			case TaskCutoffBehavior:
				in.CutoffBehavior = types.MaintenanceWindowTaskCutoffBehavior(t.CutoffBehavior)
			case TaskTargets:
				in.Targets = taskTargets(targetID)
			case TaskComment, TaskDocumentVersion, TaskDocumentHash, TaskDocumentHashType, TaskTimeout,
				TaskParameter, TaskOutputS3Bucket, TaskOutputS3KeyPrefix, TaskCloudWatchLogGroup,
				TaskCloudWatchOutput, TaskNotificationARN, TaskNotificationEvents, TaskNotificationType,
				TaskRunCommandServiceRole:
				// One member holds them all: any change sends it whole.
				in.TaskInvocationParameters = invocationParameters(t.RunCommand)
			default:
				return errCannotSend(act, c)
			}
		}
	}
	if _, err := send(ctx, a, createdTarget, client.UpdateMaintenanceWindowTask, in); err != nil {
		return fmt.Errorf("update task %s in window %s: %w", act.Name, act.Window, err)
	}
	return nil
}

// deregisterTask removes an extra task. Idempotent: a task already gone is
// success.
func (a *applier) deregisterTask(ctx context.Context, client windowsAPI, act Action) error {
	_, err := send(ctx, a, false, client.DeregisterTaskFromMaintenanceWindow, &ssm.DeregisterTaskFromMaintenanceWindowInput{
		WindowId: aws.String(specOf(act).windowID), WindowTaskId: aws.String(act.ID),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deregister task %s (%s) from window %s: %w", act.Name, act.ID, act.Window, err)
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
