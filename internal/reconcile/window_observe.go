package reconcile

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"golang.org/x/sync/errgroup"

	"github.com/orgpatch/orgpatch/internal/config"
)

// observe reads the owned windows and, for Converge, the targets and
// tasks of those whose name is desired and the task documents' hashes.
// Calls, for W windows in the region of which O are owned and desired,
// holding T tasks in all:
//
//   - DescribeMaintenanceWindows: one per 100 windows;
//   - which windows are owned: converging with in.Tagging, GetResources (one
//     per 100 owned windows, beside the listing) plus ListTagsForResource
//     for each window where the tagging index and the window's name
//     disagree (see ownedWindows); otherwise ListTagsForResource, W;
//   - DescribeMaintenanceWindowTargets and DescribeMaintenanceWindowTasks:
//     one each per owned window whose name is desired (Converge only; a
//     window to be deleted is not read further);
//   - GetMaintenanceWindowTask: T, for the Run Command parameters that
//     DescribeMaintenanceWindowTasks leaves out;
//   - DescribeDocument: one per distinct task document, shared through
//     Input.Documents across the run (Converge only).
//
// With the DHMC kind's one GetServiceSetting, a converged account x region
// with the three default windows therefore costs 12 calls with a warm
// document cache (1 + 1 + 3 + 3 + 3 + 1), and a fresh one 3. Independent
// calls run side by side (at most observeLimit at once per account x
// region), so the converged case takes three round trips, not twelve.
func (windowKind) observe(ctx context.Context, clients Clients, in Input) (kindState, error) {
	client, err := clientOf[windowsAPI](clients)
	if err != nil {
		return nil, err
	}
	desired := windowsDesiredFor(in)
	var obs windowsObserved
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		obs.Windows, err = observeWindows(gctx, client, in.tagged, desired)
		return err
	})
	if desired.Mode == Converge {
		obs.DocumentHashes = map[string]string{}
		var mu sync.Mutex
		for _, doc := range documents(desired.Windows) {
			g.Go(func() error {
				h, err := in.Documents.hash(gctx, client, in.Account, in.Region, doc)
				mu.Lock()
				obs.DocumentHashes[doc] = h
				mu.Unlock()
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return windowState{desired: desired, observed: obs}, nil
}

// observeLimit bounds the calls one observe makes at once.
const observeLimit = 4

// documents lists the distinct task documents of windows.
func documents(windows []config.Window) []string {
	var docs []string
	for _, w := range windows {
		if d := w.Task.Document; d != "" && !slices.Contains(docs, d) {
			docs = append(docs, d)
		}
	}
	return docs
}

// observeWindows lists the owned windows, with the targets and tasks of
// those whose name is desired (in Converge).
func observeWindows(ctx context.Context, client windowsAPI, tagged *taggedIndex, desired windowsDesired) ([]ObservedWindow, error) {
	wanted := map[string]bool{}
	if desired.Mode == Converge {
		for _, w := range desired.Windows {
			wanted[w.Name] = true
		}
	}
	windows, err := ownedWindows(ctx, client, tagged, wanted)
	if err != nil {
		return nil, err
	}
	// A window deleted meanwhile (by a concurrent run, or by hand) is gone,
	// not an error.
	gone := make([]atomic.Bool, len(windows))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(observeLimit)
	for i := range windows {
		w := &windows[i]
		if !wanted[w.Name] {
			continue
		}
		ref := *w // what the reads need, copied before they write into w
		g.Go(func() (err error) {
			w.Targets, err = windowTargets(gctx, client, ref)
			if isNotFound(err) {
				gone[i].Store(true)
				return nil
			}
			return err
		})
		g.Go(func() (err error) {
			w.Tasks, err = windowTasks(gctx, client, ref)
			if isNotFound(err) {
				gone[i].Store(true)
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	present := windows[:0]
	for i := range windows {
		if !gone[i].Load() {
			present = append(present, windows[i])
		}
	}
	windows = present
	// The Run Command parameters, which DescribeMaintenanceWindowTasks
	// leaves out.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(observeLimit)
	for i := range windows {
		w := &windows[i]
		ref := ObservedWindow{ID: w.ID, Name: w.Name}
		for j := range w.Tasks {
			t := &w.Tasks[j]
			if t.Type != taskTypeRunCommand {
				continue
			}
			g.Go(func() (err error) {
				t.RunCommand, err = runCommand(gctx, client, ref, t.ID)
				if isNotFound(err) { // deregistered meanwhile: its fields still stand for it
					return nil
				}
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return windows, nil
}

// ownedWindows lists the windows of the region that carry the ownership
// tag. Tearing down (wanted is empty), every window's tags are read: a
// removal must not miss one. Converging with tagging, one GetResources
// names the owned windows, read beside the listing; the Tagging API's index
// follows tag changes with a delay, so where it and the name disagree, the
// window's own tags decide: a desired name the index does not report
// (created moments ago, or someone else's window of that name) and an
// owned window the index reports under a name no longer desired (to be
// deleted: it must really be ours). A converged region has neither.
func ownedWindows(ctx context.Context, client windowsAPI, tagged *taggedIndex, wanted map[string]bool) ([]ObservedWindow, error) {
	var (
		all     []ObservedWindow
		indexed map[string]bool
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		all, err = listWindows(gctx, client)
		return err
	})
	if tagged != nil && len(wanted) > 0 {
		g.Go(func() (err error) {
			indexed, err = tagged.owned(gctx, "maintenancewindow")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	owned := make([]bool, len(all))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(observeLimit)
	for i, w := range all {
		if indexed != nil && indexed[w.ID] == wanted[w.Name] {
			owned[i] = indexed[w.ID]
			continue
		}
		g.Go(func() error {
			var err error
			owned[i], err = isOwned(gctx, client, types.ResourceTypeForTaggingMaintenanceWindow, w.ID)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var windows []ObservedWindow
	for i, w := range all {
		if owned[i] {
			windows = append(windows, w)
		}
	}
	return windows, nil
}

// listWindows lists every window in the region, ours or not.
func listWindows(ctx context.Context, client windowsAPI) ([]ObservedWindow, error) {
	var windows []ObservedWindow
	pages := ssm.NewDescribeMaintenanceWindowsPaginator(client, &ssm.DescribeMaintenanceWindowsInput{MaxResults: aws.Int32(100)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe maintenance windows: %w", err)
		}
		for _, w := range page.WindowIdentities {
			windows = append(windows, ObservedWindow{
				ID:               aws.ToString(w.WindowId),
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
	return windows, nil
}

func windowTargets(ctx context.Context, client windowsAPI, w ObservedWindow) ([]ObservedTarget, error) {
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

func windowTasks(ctx context.Context, client windowsAPI, w ObservedWindow) ([]ObservedTask, error) {
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
			tasks = append(tasks, task)
		}
	}
	return tasks, nil
}

// runCommand reads a task's Run Command parameters; nil when it has none.
func runCommand(ctx context.Context, client windowsAPI, w ObservedWindow, taskID string) (*RunCommand, error) {
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
