package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// desiredFor resolves in into what the account x region should hold.
func desiredFor(in Input) Desired {
	mode := in.Mode
	if mode == Converge && in.Config.Disabled {
		mode = Teardown
	}
	return Desired{
		Mode:        mode,
		Windows:     in.Config.Windows,
		TaskRoleARN: fmt.Sprintf("arn:%s:iam::%s:role/%s", in.Partition, in.Account, in.Config.TaskRoleName),
		ManageDHMC:  in.Config.ManageDHMC,
		DHMCRole:    in.Config.DHMCRoleName,
	}
}

// observe reads what Plan needs, and nothing more. Calls, for W windows in
// the region of which O are owned and desired, holding T tasks in all:
//
//   - DescribeMaintenanceWindows: one per 100 windows;
//   - ListTagsForResource: W (the only call made about a window we do not own);
//   - DescribeMaintenanceWindowTargets and DescribeMaintenanceWindowTasks:
//     one each per owned window whose name is desired (Converge only; a
//     window to be deleted is not read further);
//   - GetMaintenanceWindowTask: T, for the Run Command parameters that
//     DescribeMaintenanceWindowTasks leaves out;
//   - GetServiceSetting: one, when the DHMC setting is managed and the mode
//     touches it (not for Remove);
//   - DescribeDocument: one per distinct task document, shared through
//     Input.Documents across the run (Converge only).
//
// A converged account x region with the three default windows therefore
// costs 14 calls with a warm document cache (1 + 3 + 3 + 3 + 3 + 1), and a
// fresh one 2.
func observe(ctx context.Context, client SSMAPI, in Input, desired Desired) (Observed, error) {
	var obs Observed
	windows, err := ownedWindows(ctx, client)
	if err != nil {
		return Observed{}, err
	}
	wanted := map[string]bool{}
	if desired.Mode == Converge {
		for _, w := range desired.Windows {
			wanted[w.Name] = true
		}
	}
	for _, w := range windows {
		if wanted[w.Name] {
			if w.Targets, err = windowTargets(ctx, client, w); err != nil {
				return Observed{}, err
			}
			if w.Tasks, err = windowTasks(ctx, client, w); err != nil {
				return Observed{}, err
			}
		}
		obs.Windows = append(obs.Windows, w)
	}

	if desired.ManageDHMC && desired.Mode != Remove {
		if obs.DHMC, err = serviceSetting(ctx, client, DHMCSettingID); err != nil {
			return Observed{}, err
		}
	}

	if desired.Mode == Converge {
		obs.DocumentHashes = map[string]string{}
		for _, w := range desired.Windows {
			doc := w.Task.Document
			if _, ok := obs.DocumentHashes[doc]; ok || doc == "" {
				continue
			}
			h, err := in.Documents.hash(ctx, client, in.Account, in.Region, doc)
			if err != nil {
				return Observed{}, err
			}
			obs.DocumentHashes[doc] = h
		}
	}
	return obs, nil
}

// ownedWindows lists the windows that carry the ownership tag.
func ownedWindows(ctx context.Context, client SSMAPI) ([]ObservedWindow, error) {
	var owned []ObservedWindow
	pages := ssm.NewDescribeMaintenanceWindowsPaginator(client, &ssm.DescribeMaintenanceWindowsInput{MaxResults: aws.Int32(100)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe maintenance windows: %w", err)
		}
		for _, w := range page.WindowIdentities {
			id := aws.ToString(w.WindowId)
			ours, err := isOwned(ctx, client, id)
			if err != nil {
				return nil, err
			}
			if !ours {
				continue
			}
			owned = append(owned, ObservedWindow{
				ID:               id,
				Name:             aws.ToString(w.Name),
				Description:      aws.ToString(w.Description),
				Schedule:         aws.ToString(w.Schedule),
				ScheduleTimezone: aws.ToString(w.ScheduleTimezone),
				ScheduleOffset:   aws.ToInt32(w.ScheduleOffset),
				Duration:         aws.ToInt32(w.Duration),
				Cutoff:           w.Cutoff,
				Enabled:          w.Enabled,
				StartDate:        aws.ToString(w.StartDate),
				EndDate:          aws.ToString(w.EndDate),
			})
		}
	}
	return owned, nil
}

// isOwned reports whether the window carries the ownership tag. A window
// deleted since it was listed is not ours to act on.
func isOwned(ctx context.Context, client SSMAPI, windowID string) (bool, error) {
	out, err := client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: types.ResourceTypeForTaggingMaintenanceWindow,
		ResourceId:   aws.String(windowID),
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("list tags of window %s: %w", windowID, err)
	}
	for _, t := range out.TagList {
		if aws.ToString(t.Key) == OwnerTagKey && aws.ToString(t.Value) == OwnerTagValue {
			return true, nil
		}
	}
	return false, nil
}

func windowTargets(ctx context.Context, client SSMAPI, w ObservedWindow) ([]ObservedTarget, error) {
	var targets []ObservedTarget
	pages := ssm.NewDescribeMaintenanceWindowTargetsPaginator(client, &ssm.DescribeMaintenanceWindowTargetsInput{
		WindowId: aws.String(w.ID), MaxResults: aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe targets of window %s (%s): %w", w.Name, w.ID, err)
		}
		for _, t := range page.Targets {
			targets = append(targets, ObservedTarget{
				ID:               aws.ToString(t.WindowTargetId),
				Name:             aws.ToString(t.Name),
				Description:      aws.ToString(t.Description),
				ResourceType:     string(t.ResourceType),
				OwnerInformation: aws.ToString(t.OwnerInformation),
				Targets:          selectors(t.Targets),
			})
		}
	}
	return targets, nil
}

func windowTasks(ctx context.Context, client SSMAPI, w ObservedWindow) ([]ObservedTask, error) {
	var tasks []ObservedTask
	pages := ssm.NewDescribeMaintenanceWindowTasksPaginator(client, &ssm.DescribeMaintenanceWindowTasksInput{
		WindowId: aws.String(w.ID), MaxResults: aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe tasks of window %s (%s): %w", w.Name, w.ID, err)
		}
		for _, t := range page.Tasks {
			task := ObservedTask{
				ID:             aws.ToString(t.WindowTaskId),
				Name:           aws.ToString(t.Name),
				Description:    aws.ToString(t.Description),
				Type:           string(t.Type),
				TaskArn:        aws.ToString(t.TaskArn),
				Priority:       t.Priority,
				ServiceRoleArn: aws.ToString(t.ServiceRoleArn),
				MaxConcurrency: aws.ToString(t.MaxConcurrency),
				MaxErrors:      aws.ToString(t.MaxErrors),
				CutoffBehavior: string(t.CutoffBehavior),
				Targets:        selectors(t.Targets),
			}
			if task.Type == taskTypeRunCommand {
				rc, err := runCommand(ctx, client, w, task.ID)
				if err != nil {
					return nil, err
				}
				task.RunCommand = rc
			}
			tasks = append(tasks, task)
		}
	}
	return tasks, nil
}

// runCommand reads a task's Run Command parameters; nil when it has none.
func runCommand(ctx context.Context, client SSMAPI, w ObservedWindow, taskID string) (*RunCommand, error) {
	out, err := client.GetMaintenanceWindowTask(ctx, &ssm.GetMaintenanceWindowTaskInput{
		WindowId: aws.String(w.ID), WindowTaskId: aws.String(taskID),
	})
	if err != nil {
		return nil, fmt.Errorf("get task %s of window %s (%s): %w", taskID, w.Name, w.ID, err)
	}
	if out.TaskInvocationParameters == nil || out.TaskInvocationParameters.RunCommand == nil {
		return nil, nil
	}
	p := out.TaskInvocationParameters.RunCommand
	rc := &RunCommand{
		Comment:            aws.ToString(p.Comment),
		DocumentVersion:    aws.ToString(p.DocumentVersion),
		DocumentHash:       aws.ToString(p.DocumentHash),
		DocumentHashType:   string(p.DocumentHashType),
		TimeoutSeconds:     aws.ToInt32(p.TimeoutSeconds),
		Parameters:         p.Parameters,
		OutputS3BucketName: aws.ToString(p.OutputS3BucketName),
		OutputS3KeyPrefix:  aws.ToString(p.OutputS3KeyPrefix),
		ServiceRoleArn:     aws.ToString(p.ServiceRoleArn),
	}
	if c := p.CloudWatchOutputConfig; c != nil {
		rc.CloudWatchLogGroupName = aws.ToString(c.CloudWatchLogGroupName)
		rc.CloudWatchOutputEnabled = c.CloudWatchOutputEnabled
	}
	if n := p.NotificationConfig; n != nil {
		rc.NotificationARN = aws.ToString(n.NotificationArn)
		for _, e := range n.NotificationEvents {
			rc.NotificationEvents = append(rc.NotificationEvents, string(e))
		}
		rc.NotificationType = string(n.NotificationType)
	}
	return rc, nil
}

func serviceSetting(ctx context.Context, client SSMAPI, id string) (ServiceSetting, error) {
	out, err := client.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(id)})
	var notFound *types.ServiceSettingNotFound
	if errors.As(err, &notFound) {
		return ServiceSetting{Status: StatusDefault}, nil
	}
	if err != nil {
		return ServiceSetting{}, fmt.Errorf("get service setting %s: %w", id, err)
	}
	if out.ServiceSetting == nil {
		return ServiceSetting{}, fmt.Errorf("get service setting %s: no setting in the answer", id)
	}
	return ServiceSetting{
		Value:  aws.ToString(out.ServiceSetting.SettingValue),
		Status: aws.ToString(out.ServiceSetting.Status),
	}, nil
}

func selectors(ts []types.Target) []Selector {
	var ss []Selector
	for _, t := range ts {
		ss = append(ss, Selector{Key: aws.ToString(t.Key), Values: t.Values})
	}
	return ss
}

func sdkTargets(ss []Selector) []types.Target {
	ts := make([]types.Target, len(ss))
	for i, s := range ss {
		ts[i] = types.Target{Key: aws.String(s.Key), Values: s.Values}
	}
	return ts
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "DoesNotExistException"
}
