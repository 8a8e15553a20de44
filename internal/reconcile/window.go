package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/config"
)

// The resources of the windows kind.
const (
	ResourceWindow Resource = "window"
	ResourceTarget Resource = "target"
	ResourceTask   Resource = "task"
)

// The fields of the windows, their targets and tasks that a plan can
// change, as "resource.label": plans print the label (Field.String).
const (
	WindowDescription      Field = "window.description"
	WindowSchedule         Field = "window.schedule"
	WindowScheduleOffset   Field = "window.schedule offset"
	WindowTimezone         Field = "window.timezone"
	WindowDuration         Field = "window.duration"
	WindowCutoff           Field = "window.cutoff"
	WindowEnabled          Field = "window.enabled"
	WindowStartDate        Field = "window.start date"
	WindowEndDate          Field = "window.end date"
	TargetName             Field = "target.name"
	TargetDescription      Field = "target.description"
	TargetOwnerInformation Field = "target.owner information"
	TargetSelectors        Field = "target.targets"
	TaskName               Field = "task.name"
	TaskDescription        Field = "task.description"
	TaskDocument           Field = "task.document"
	TaskPriority           Field = "task.priority"
	TaskServiceRole        Field = "task.service role"
	TaskMaxConcurrency     Field = "task.max concurrency"
	TaskMaxErrors          Field = "task.max errors"
	TaskCutoffBehavior     Field = "task.cutoff behavior"
	TaskTargets            Field = "task.targets"
	// The task's Run Command invocation parameters, which an update sends
	// as one member (TaskInvocationParameters).
	TaskComment               Field = "task.comment"
	TaskDocumentVersion       Field = "task.document version"
	TaskDocumentHash          Field = "task.document hash"
	TaskDocumentHashType      Field = "task.document hash type"
	TaskTimeout               Field = "task.timeout"
	TaskParameter             Field = "task.parameter" // Change.Key names the document parameter
	TaskOutputS3Bucket        Field = "task.output S3 bucket"
	TaskOutputS3KeyPrefix     Field = "task.output S3 key prefix"
	TaskCloudWatchLogGroup    Field = "task.CloudWatch log group"
	TaskCloudWatchOutput      Field = "task.CloudWatch output"
	TaskNotificationARN       Field = "task.notification ARN"
	TaskNotificationEvents    Field = "task.notification events"
	TaskNotificationType      Field = "task.notification type"
	TaskRunCommandServiceRole Field = "task.run command service role"
)

// ObservedWindow is an owned maintenance window with its targets and tasks.
type ObservedWindow struct {
	ID               string
	Name             string
	Description      string
	Schedule         string
	ScheduleTimezone string
	ScheduleOffset   int32
	Duration         int32
	Cutoff           int32
	Enabled          bool
	StartDate        string
	EndDate          string

	Targets []ObservedTarget
	Tasks   []ObservedTask
}

// ObservedTarget is a window target.
type ObservedTarget struct {
	ID               string
	Name             string
	Description      string
	ResourceType     string
	OwnerInformation string
	Targets          []Selector
}

// Selector is a key and its values, as in the SSM Target shape.
type Selector struct {
	Key    string
	Values []string
}

// ObservedTask is a window task.
type ObservedTask struct {
	ID             string
	Name           string
	Description    string
	Type           string
	TaskArn        string
	Priority       int32
	ServiceRoleArn string
	MaxConcurrency string
	MaxErrors      string
	CutoffBehavior string
	Targets        []Selector
	// RunCommand holds the Run Command invocation parameters; nil when the
	// task has none.
	RunCommand *RunCommand
}

// RunCommand is a task's Run Command invocation parameters.
type RunCommand struct {
	Comment                 string
	DocumentVersion         string
	DocumentHash            string
	DocumentHashType        string
	TimeoutSeconds          int32
	Parameters              map[string][]string
	OutputS3BucketName      string
	OutputS3KeyPrefix       string
	CloudWatchLogGroupName  string
	CloudWatchOutputEnabled bool
	NotificationARN         string
	NotificationEvents      []string
	NotificationType        string
	ServiceRoleArn          string
}

// Fixed parts of what orgpatch registers.
const (
	resourceTypeInstance = "INSTANCE"
	taskTypeRunCommand   = "RUN_COMMAND"
	cutoffContinueTask   = "CONTINUE_TASK"
	documentVersion      = "$DEFAULT"
	hashTypeSha256       = "Sha256"
	windowTargetIDsKey   = "WindowTargetIds"
	maxCommentLength     = 100
)

// DesiredWindow is a maintenance window as orgpatch registers it: enabled,
// with no start or end date, allowing no unassociated targets.
type DesiredWindow struct {
	Name             string
	Description      string
	Schedule         string
	ScheduleTimezone string
	ScheduleOffset   int32
	Duration         int32
	Cutoff           int32
}

// DesiredTarget is a window target as orgpatch registers it: instances
// chosen by tag, with no owner information.
type DesiredTarget struct {
	Name        string
	Description string
	Targets     []Selector
}

// DesiredTask is a window task as orgpatch registers it.
type DesiredTask struct {
	Name           string
	Description    string
	Type           string
	TaskArn        string
	Priority       int32
	ServiceRoleArn string
	MaxConcurrency string
	MaxErrors      string
	CutoffBehavior string
	// Target is the window target the task runs on.
	Target TaskTarget
	// RunCommand holds the Run Command invocation parameters.
	RunCommand *RunCommand
}

// TaskTarget is the window target a task runs on: one registered already
// (ID), or the one the same plan registers (New), whose id apply learns.
type TaskTarget struct {
	ID  string
	New bool
}

// windowsAPI is the part of the Systems Manager client the windows kind
// calls.
type windowsAPI interface {
	DescribeMaintenanceWindows(context.Context, *ssm.DescribeMaintenanceWindowsInput, ...func(*ssm.Options)) (*ssm.DescribeMaintenanceWindowsOutput, error)
	ListTagsForResource(context.Context, *ssm.ListTagsForResourceInput, ...func(*ssm.Options)) (*ssm.ListTagsForResourceOutput, error)
	DescribeMaintenanceWindowTargets(context.Context, *ssm.DescribeMaintenanceWindowTargetsInput, ...func(*ssm.Options)) (*ssm.DescribeMaintenanceWindowTargetsOutput, error)
	DescribeMaintenanceWindowTasks(context.Context, *ssm.DescribeMaintenanceWindowTasksInput, ...func(*ssm.Options)) (*ssm.DescribeMaintenanceWindowTasksOutput, error)
	GetMaintenanceWindowTask(context.Context, *ssm.GetMaintenanceWindowTaskInput, ...func(*ssm.Options)) (*ssm.GetMaintenanceWindowTaskOutput, error)
	DescribeDocument(context.Context, *ssm.DescribeDocumentInput, ...func(*ssm.Options)) (*ssm.DescribeDocumentOutput, error)

	CreateMaintenanceWindow(context.Context, *ssm.CreateMaintenanceWindowInput, ...func(*ssm.Options)) (*ssm.CreateMaintenanceWindowOutput, error)
	UpdateMaintenanceWindow(context.Context, *ssm.UpdateMaintenanceWindowInput, ...func(*ssm.Options)) (*ssm.UpdateMaintenanceWindowOutput, error)
	DeleteMaintenanceWindow(context.Context, *ssm.DeleteMaintenanceWindowInput, ...func(*ssm.Options)) (*ssm.DeleteMaintenanceWindowOutput, error)
	RegisterTargetWithMaintenanceWindow(context.Context, *ssm.RegisterTargetWithMaintenanceWindowInput, ...func(*ssm.Options)) (*ssm.RegisterTargetWithMaintenanceWindowOutput, error)
	UpdateMaintenanceWindowTarget(context.Context, *ssm.UpdateMaintenanceWindowTargetInput, ...func(*ssm.Options)) (*ssm.UpdateMaintenanceWindowTargetOutput, error)
	DeregisterTargetFromMaintenanceWindow(context.Context, *ssm.DeregisterTargetFromMaintenanceWindowInput, ...func(*ssm.Options)) (*ssm.DeregisterTargetFromMaintenanceWindowOutput, error)
	RegisterTaskWithMaintenanceWindow(context.Context, *ssm.RegisterTaskWithMaintenanceWindowInput, ...func(*ssm.Options)) (*ssm.RegisterTaskWithMaintenanceWindowOutput, error)
	UpdateMaintenanceWindowTask(context.Context, *ssm.UpdateMaintenanceWindowTaskInput, ...func(*ssm.Options)) (*ssm.UpdateMaintenanceWindowTaskOutput, error)
	DeregisterTaskFromMaintenanceWindow(context.Context, *ssm.DeregisterTaskFromMaintenanceWindowInput, ...func(*ssm.Options)) (*ssm.DeregisterTaskFromMaintenanceWindowOutput, error)
}

var _ windowsAPI = (*ssm.Client)(nil)

// windowsDesired is what the account x region should hold of windows.
type windowsDesired struct {
	Mode Mode
	// Windows are the windows to hold, identified by name.
	Windows []config.Window
	// TaskRoleARN is every task's ServiceRoleArn.
	TaskRoleARN string
}

// windowsObserved is what the account x region holds of windows.
type windowsObserved struct {
	// Windows are the owned windows only (carrying the ownership tag).
	// Windows that will be deleted anyway may come without Targets and Tasks.
	Windows []ObservedWindow
	// DocumentHashes maps a task document's name to its current Sha256 hash.
	DocumentHashes map[string]string
}

// windowState is the windows, desired and observed.
type windowState struct {
	desired  windowsDesired
	observed windowsObserved
}

func windowsDesiredFor(in Input) windowsDesired {
	return windowsDesired{Mode: in.mode(), Windows: in.Config.Windows, TaskRoleARN: taskRoleARN(in)}
}

// taskRoleARN is the one role every task may run as (CheckTask).
func taskRoleARN(in Input) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", in.Partition, in.Account, in.Config.TaskRoleName)
}

// windowSpec is what apply needs to make one window, target or task write:
// the desired resource and, for updates, how to send it.
type windowSpec struct {
	windowID string // the window holding a target or task ("" = created earlier in the plan)
	window   DesiredWindow
	target   DesiredTarget
	task     DesiredTask
	// replace asks for a full replacement because a field must be
	// cleared; otherwise an update sends the Action's Changes only.
	replace bool
}

// windowKind is the maintenance windows, each with its one target and one
// task. Identity is the window name.
//
// diff chooses the fewest writes: existing resources are updated in place
// with only what differs, never deleted and re-created. Its actions are in
// the order they are safe to apply: windows are created before their
// targets, targets before their tasks, extra tasks are deregistered before
// extra targets, and windows are deleted last (so a renamed window's
// replacement exists before the old one goes). Of several owned windows
// with one desired name, the one needing the fewest writes is kept (ties:
// the lowest id) and the others deleted; owned windows whose name is not
// desired are deleted. teardown deletes every owned window (with its
// targets and tasks).
type windowKind struct{}

func (windowKind) resources() []Resource {
	return []Resource{ResourceWindow, ResourceTarget, ResourceTask}
}

func (windowKind) checkClients(clients Clients) error {
	_, err := clientOf[windowsAPI](clients)
	return err
}

func (s windowState) plan() []Action {
	if s.desired.Mode == Converge {
		return s.diff()
	}
	return s.teardown()
}

func (s windowState) diff() []Action {
	desired, observed := s.desired, s.observed
	var actions []Action
	owned := sortedOwned(observed.Windows)
	seen := map[string]bool{}
	for _, w := range desired.Windows {
		if seen[w.Name] {
			continue
		}
		seen[w.Name] = true
		actions = append(actions, planWindow(desired, observed.DocumentHashes, w, owned)...)
	}
	for _, ow := range owned {
		if !seen[ow.Name] {
			actions = append(actions, deleteWindow(ow, "not in the configuration"))
		}
	}
	return actions
}

func (s windowState) teardown() []Action {
	var actions []Action
	for _, ow := range sortedOwned(s.observed.Windows) {
		actions = append(actions, deleteWindow(ow, string(s.desired.Mode)))
	}
	return actions
}

// sortedOwned is windows by name, then id.
func sortedOwned(windows []ObservedWindow) []ObservedWindow {
	owned := slices.Clone(windows)
	sort.SliceStable(owned, func(i, j int) bool {
		if owned[i].Name != owned[j].Name {
			return owned[i].Name < owned[j].Name
		}
		return owned[i].ID < owned[j].ID
	})
	return owned
}

func deleteWindow(ow ObservedWindow, why string) Action {
	return Action{Op: OpDelete, Resource: ResourceWindow, Name: ow.Name, Window: ow.Name, ID: ow.ID, Detail: why}
}

// planWindow plans one desired window against the owned windows.
func planWindow(desired windowsDesired, hashes map[string]string, w config.Window, owned []ObservedWindow) []Action {
	var candidates []ObservedWindow
	for _, ow := range owned {
		if ow.Name == w.Name {
			candidates = append(candidates, ow)
		}
	}
	if len(candidates) == 0 {
		return createWindow(desired, hashes, w)
	}
	var best []Action
	bestAt, bestWrites := -1, 0
	for i, ow := range candidates {
		plan := keepWindow(desired, hashes, w, ow)
		if n := writes(plan); bestAt < 0 || n < bestWrites { // candidates are sorted by id: ties keep the lowest
			best, bestAt, bestWrites = plan, i, n
		}
	}
	for i, ow := range candidates {
		if i != bestAt {
			best = append(best, deleteWindow(ow, "duplicate of "+candidates[bestAt].ID))
		}
	}
	return best
}

func writes(actions []Action) int {
	n := 0
	for _, a := range actions {
		if a.Op != OpUnchanged {
			n++
		}
	}
	return n
}

func createWindow(desired windowsDesired, hashes map[string]string, w config.Window) []Action {
	win := desiredWindow(w)
	tgt := desiredTarget(w)
	task := desiredTask(desired.TaskRoleARN, hashes, w, TaskTarget{New: true})
	return []Action{
		{Op: OpCreate, Resource: ResourceWindow, Name: w.Name, Window: w.Name,
			Detail: fmt.Sprintf("%s %s, %dh, cutoff %dh", w.Schedule, w.ScheduleTimezone, w.DurationHours, w.CutoffHours),
			spec:   &windowSpec{window: win}},
		createTarget(w, tgt, ""),
		createTask(w, task, ""),
	}
}

func createTarget(w config.Window, tgt DesiredTarget, windowID string) Action {
	return Action{Op: OpCreate, Resource: ResourceTarget, Name: tgt.Name, Window: w.Name,
		Detail: showSelectors(tgt.Targets),
		spec:   &windowSpec{windowID: windowID, target: tgt}}
}

func createTask(w config.Window, task DesiredTask, windowID string) Action {
	detail := task.TaskArn
	if rc := task.RunCommand; rc != nil {
		for _, k := range slices.Sorted(maps.Keys(rc.Parameters)) {
			detail += fmt.Sprintf(" %s=%s", k, strings.Join(rc.Parameters[k], ","))
		}
	}
	return Action{Op: OpCreate, Resource: ResourceTask, Name: task.Name, Window: w.Name,
		Detail: detail,
		spec:   &windowSpec{windowID: windowID, task: task}}
}

// keepWindow plans the writes that make the owned window ow hold w.
func keepWindow(desired windowsDesired, hashes map[string]string, w config.Window, ow ObservedWindow) []Action {
	var actions []Action
	want := desiredWindow(w)
	a := Action{Resource: ResourceWindow, Name: w.Name, Window: w.Name, ID: ow.ID, Op: OpUnchanged}
	if changes, replace := diffWindow(want, ow); len(changes) > 0 {
		a.Op, a.Changes = OpUpdate, changes
		a.spec = &windowSpec{windowID: ow.ID, window: want, replace: replace}
	}
	actions = append(actions, a)

	// The target: the best registered INSTANCE target, else a new one. Of
	// equally good targets, one a task already runs on saves a task update.
	referenced := map[string]bool{}
	for _, t := range ow.Tasks {
		for _, s := range t.Targets {
			if s.Key == windowTargetIDsKey {
				for _, id := range s.Values {
					referenced[id] = true
				}
			}
		}
	}
	wantTarget := desiredTarget(w)
	keptTarget, target, extraTargets := pick(ow.Targets,
		func(t ObservedTarget) bool { return t.ResourceType == resourceTypeInstance },
		func(t ObservedTarget) choice {
			ch, rep := diffTarget(wantTarget, t)
			return choice{named: t.Name == wantTarget.Name, changes: ch, replace: rep, cost: !referenced[t.ID], id: t.ID}
		})
	taskTarget := TaskTarget{New: true}
	if keptTarget == nil {
		actions = append(actions, createTarget(w, wantTarget, ow.ID))
	} else {
		taskTarget = TaskTarget{ID: keptTarget.ID}
		a := Action{Op: OpUnchanged, Resource: ResourceTarget, Name: wantTarget.Name, Window: w.Name, ID: keptTarget.ID}
		if len(target.changes) > 0 {
			a.Op, a.Changes = OpUpdate, target.changes
			a.spec = &windowSpec{windowID: ow.ID, target: wantTarget, replace: target.replace}
		}
		actions = append(actions, a)
	}

	// The task: the best registered RUN_COMMAND task, else a new one.
	wantTask := desiredTask(desired.TaskRoleARN, hashes, w, taskTarget)
	keptTask, task, extraTasks := pick(ow.Tasks,
		func(t ObservedTask) bool { return t.Type == taskTypeRunCommand },
		func(t ObservedTask) choice {
			ch, rep := diffTask(wantTask, t)
			return choice{named: t.Name == wantTask.Name, changes: ch, replace: rep, id: t.ID}
		})
	if keptTask == nil {
		actions = append(actions, createTask(w, wantTask, ow.ID))
	} else {
		a := Action{Op: OpUnchanged, Resource: ResourceTask, Name: wantTask.Name, Window: w.Name, ID: keptTask.ID}
		if len(task.changes) > 0 {
			a.Op, a.Changes = OpUpdate, task.changes
			a.spec = &windowSpec{windowID: ow.ID, task: wantTask, replace: task.replace}
		}
		actions = append(actions, a)
	}

	sort.Slice(extraTasks, func(i, j int) bool { return extraTasks[i].ID < extraTasks[j].ID })
	for _, t := range extraTasks {
		actions = append(actions, Action{Op: OpDelete, Resource: ResourceTask, Name: t.Name, Window: w.Name, ID: t.ID,
			Detail: "extra task", spec: &windowSpec{windowID: ow.ID}})
	}
	sort.Slice(extraTargets, func(i, j int) bool { return extraTargets[i].ID < extraTargets[j].ID })
	for _, t := range extraTargets {
		actions = append(actions, Action{Op: OpDelete, Resource: ResourceTarget, Name: t.Name, Window: w.Name, ID: t.ID,
			Detail: "extra target", spec: &windowSpec{windowID: ow.ID}})
	}
	return actions
}

// choice is how an observed target or task compares to the desired one,
// as a candidate to keep.
type choice struct {
	named   bool     // it has the desired name
	changes []Change // what an update must change
	replace bool     // the update must send everything with Replace
	cost    bool     // keeping it costs extra (e.g. no task runs on it)
	id      string
}

// better reports whether a is a better one to keep than b: the desired
// name first, then the fewest differing fields, then the one without extra
// cost, then the lowest id.
func (a choice) better(b choice) bool {
	if a.named != b.named {
		return a.named
	}
	if len(a.changes) != len(b.changes) {
		return len(a.changes) < len(b.changes)
	}
	if a.cost != b.cost {
		return !a.cost
	}
	return a.id < b.id
}

// pick chooses, of the items that can be kept, the best to keep by judge;
// kept is nil when none can. Every other item is an extra, to delete.
func pick[T any](items []T, keepable func(T) bool, judge func(T) choice) (kept *T, best choice, extra []T) {
	for i := range items {
		t := &items[i]
		if !keepable(*t) {
			extra = append(extra, *t)
			continue
		}
		c := judge(*t)
		if kept == nil || c.better(best) {
			if kept != nil {
				extra = append(extra, *kept)
			}
			kept, best = t, c
		} else {
			extra = append(extra, *t)
		}
	}
	return kept, best, extra
}

func desiredWindow(w config.Window) DesiredWindow {
	return DesiredWindow{
		Name:             w.Name,
		Description:      w.Description,
		Schedule:         w.Schedule,
		ScheduleTimezone: w.ScheduleTimezone,
		ScheduleOffset:   w.ScheduleOffset,
		Duration:         w.DurationHours,
		Cutoff:           w.CutoffHours,
	}
}

func desiredTarget(w config.Window) DesiredTarget {
	return DesiredTarget{
		Name:        w.Target.Name,
		Description: w.Target.Description,
		Targets:     []Selector{{Key: "tag:" + w.Target.TagKey, Values: slices.Clone(w.Target.TagValues)}},
	}
}

// desiredTask is the task w holds, running as taskRoleARN on the window
// target target.
func desiredTask(taskRoleARN string, hashes map[string]string, w config.Window, target TaskTarget) DesiredTask {
	t := w.Task
	rc := &RunCommand{
		Comment:            comment(t),
		DocumentVersion:    documentVersion,
		TimeoutSeconds:     t.TimeoutSeconds,
		Parameters:         t.DocumentParameters(),
		OutputS3BucketName: t.OutputS3Bucket,
		OutputS3KeyPrefix:  t.OutputS3KeyPrefix,
		ServiceRoleArn:     taskRoleARN,
	}
	if h := hashes[t.Document]; h != "" {
		rc.DocumentHash, rc.DocumentHashType = h, hashTypeSha256
	}
	if t.CloudWatchLogGroupName != "" {
		rc.CloudWatchLogGroupName, rc.CloudWatchOutputEnabled = t.CloudWatchLogGroupName, true
	}
	if t.NotificationARN != "" {
		rc.NotificationARN = t.NotificationARN
		rc.NotificationEvents = slices.Clone(t.NotificationEvents)
		rc.NotificationType = t.NotificationType
	}
	return DesiredTask{
		Name:           t.Name,
		Description:    t.Description,
		Type:           taskTypeRunCommand,
		TaskArn:        t.Document,
		Priority:       t.Priority,
		ServiceRoleArn: taskRoleARN,
		MaxConcurrency: t.MaxConcurrency,
		MaxErrors:      t.MaxErrors,
		CutoffBehavior: cutoffContinueTask,
		Target:         target,
		RunCommand:     rc,
	}
}

// comment is the Run Command comment as the reference solution writes it,
// so that adopting its tasks rewrites no comment: "Run <Operation> for
// <task>", where a document without an Operation gives "None" (its Python
// formats the missing operation so: "Run None for Update_SSMAgent").
func comment(t config.Task) string {
	what := t.Operation
	if what == "" {
		what = "None"
	}
	c := fmt.Sprintf("Run %s for %s", what, t.Name)
	if len(c) > maxCommentLength {
		c = c[:maxCommentLength]
	}
	return c
}

func show(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func showSelectors(ss []Selector) string {
	if len(ss) == 0 {
		return "[]"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Key + "=" + strings.Join(s.Values, ",")
	}
	return strings.Join(parts, " ")
}

// differ collects changes; replace is set when a field must be cleared,
// which only a full replacement (Replace=true) can do.
type differ struct {
	changes []Change
	replace bool
}

// add records a change of field from got to want, as displayed.
func (d *differ) add(field Field, got, want string) {
	d.changes = append(d.changes, Change{Field: field, From: got, To: want})
}

func (d *differ) str(field Field, want, got string) {
	if want != got {
		d.add(field, show(got), show(want))
		if want == "" {
			d.replace = true
		}
	}
}

func (d *differ) num(field Field, want, got int32, clearable bool) {
	if want != got {
		d.add(field, fmt.Sprint(got), fmt.Sprint(want))
		if want == 0 && clearable {
			d.replace = true
		}
	}
}

func diffWindow(want DesiredWindow, got ObservedWindow) ([]Change, bool) {
	var d differ
	d.str(WindowDescription, want.Description, got.Description)
	d.str(WindowSchedule, want.Schedule, got.Schedule)
	d.num(WindowScheduleOffset, want.ScheduleOffset, got.ScheduleOffset, true)
	d.str(WindowTimezone, want.ScheduleTimezone, got.ScheduleTimezone)
	d.num(WindowDuration, want.Duration, got.Duration, false)
	d.num(WindowCutoff, want.Cutoff, got.Cutoff, false)
	if !got.Enabled {
		d.add(WindowEnabled, fmt.Sprint(got.Enabled), fmt.Sprint(true))
	}
	d.str(WindowStartDate, "", got.StartDate)
	d.str(WindowEndDate, "", got.EndDate)
	return d.changes, d.replace
}

func diffTarget(want DesiredTarget, got ObservedTarget) ([]Change, bool) {
	var d differ
	d.str(TargetName, want.Name, got.Name)
	d.str(TargetDescription, want.Description, got.Description)
	d.str(TargetOwnerInformation, "", got.OwnerInformation)
	if !sameSelectors(want.Targets, got.Targets) {
		d.add(TargetSelectors, showSelectors(got.Targets), showSelectors(want.Targets))
	}
	return d.changes, d.replace
}

func diffTask(want DesiredTask, got ObservedTask) ([]Change, bool) {
	var d differ
	d.str(TaskName, want.Name, got.Name)
	d.str(TaskDescription, want.Description, got.Description)
	d.str(TaskDocument, want.TaskArn, got.TaskArn)
	d.num(TaskPriority, want.Priority, got.Priority, false)
	d.str(TaskServiceRole, want.ServiceRoleArn, got.ServiceRoleArn)
	d.str(TaskMaxConcurrency, want.MaxConcurrency, got.MaxConcurrency)
	d.str(TaskMaxErrors, want.MaxErrors, got.MaxErrors)
	d.str(TaskCutoffBehavior, want.CutoffBehavior, got.CutoffBehavior)
	if want.Target.New {
		// The target is created in this plan: the task must follow it.
		d.add(TaskTargets, showSelectors(got.Targets), windowTargetIDsKey+"=<new target>")
	} else if wantTargets := want.Target.selectors(); !sameSelectors(wantTargets, got.Targets) {
		d.add(TaskTargets, showSelectors(got.Targets), showSelectors(wantTargets))
	}
	gotRC := got.RunCommand
	if gotRC == nil {
		gotRC = &RunCommand{}
	}
	// The invocation parameters are one field of the update: any
	// difference inside sends them whole; one that must be cleared needs
	// Replace, as SSM may merge what is sent into what is there.
	var rc differ
	w, g := want.RunCommand, gotRC
	rc.str(TaskComment, w.Comment, g.Comment)
	rc.str(TaskDocumentVersion, w.DocumentVersion, g.DocumentVersion)
	if w.DocumentHash != "" { // unknown hash: keep whatever is pinned
		rc.str(TaskDocumentHash, w.DocumentHash, g.DocumentHash)
		rc.str(TaskDocumentHashType, w.DocumentHashType, g.DocumentHashType)
	}
	rc.num(TaskTimeout, w.TimeoutSeconds, g.TimeoutSeconds, false)
	for _, k := range slices.Sorted(maps.Keys(unionKeys(w.Parameters, g.Parameters))) {
		if !sameSet(w.Parameters[k], g.Parameters[k]) {
			rc.changes = append(rc.changes, Change{Field: TaskParameter, Key: k, From: showList(g.Parameters[k]), To: showList(w.Parameters[k])})
		}
	}
	rc.str(TaskOutputS3Bucket, w.OutputS3BucketName, g.OutputS3BucketName)
	rc.str(TaskOutputS3KeyPrefix, w.OutputS3KeyPrefix, g.OutputS3KeyPrefix)
	rc.str(TaskCloudWatchLogGroup, w.CloudWatchLogGroupName, g.CloudWatchLogGroupName)
	if w.CloudWatchOutputEnabled != g.CloudWatchOutputEnabled {
		rc.add(TaskCloudWatchOutput, fmt.Sprint(g.CloudWatchOutputEnabled), fmt.Sprint(w.CloudWatchOutputEnabled))
	}
	rc.str(TaskNotificationARN, w.NotificationARN, g.NotificationARN)
	if !sameSet(w.NotificationEvents, g.NotificationEvents) {
		rc.add(TaskNotificationEvents, showList(g.NotificationEvents), showList(w.NotificationEvents))
	}
	rc.str(TaskNotificationType, w.NotificationType, g.NotificationType)
	rc.str(TaskRunCommandServiceRole, w.ServiceRoleArn, g.ServiceRoleArn)
	d.changes = append(d.changes, rc.changes...)
	return d.changes, d.replace || rc.replace
}

// selectors is how a task names its target: by window target id.
func (t TaskTarget) selectors() []Selector {
	return []Selector{{Key: windowTargetIDsKey, Values: []string{t.ID}}}
}

func unionKeys(a, b map[string][]string) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func showList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	return strings.Join(v, ",")
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func sameSelectors(a, b []Selector) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !sameSet(a[i].Values, b[i].Values) {
			return false
		}
	}
	return true
}
