package ssmsvc

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// TaskParameterValue is a value of the deprecated TaskParameters map.
type TaskParameterValue struct {
	Values []string `json:"Values,omitempty"`
}

// LoggingInfo is the deprecated task logging location.
type LoggingInfo struct {
	S3BucketName string `json:"S3BucketName"`
	S3KeyPrefix  string `json:"S3KeyPrefix,omitempty"`
	S3Region     string `json:"S3Region"`
}

// TaskInvocationParameters are a task's parameters by task type. The
// RUN_COMMAND ones are typed; the others are kept as sent.
type TaskInvocationParameters struct {
	RunCommand    *RunCommandParameters `json:"RunCommand,omitempty"`
	Automation    json.RawMessage       `json:"Automation,omitempty"`
	StepFunctions json.RawMessage       `json:"StepFunctions,omitempty"`
	Lambda        json.RawMessage       `json:"Lambda,omitempty"`
}

// RunCommandParameters are the parameters of a RUN_COMMAND task.
type RunCommandParameters struct {
	Comment                string                  `json:"Comment,omitempty"`
	CloudWatchOutputConfig *CloudWatchOutputConfig `json:"CloudWatchOutputConfig,omitempty"`
	DocumentHash           string                  `json:"DocumentHash,omitempty"`
	DocumentHashType       string                  `json:"DocumentHashType,omitempty"`
	DocumentVersion        string                  `json:"DocumentVersion,omitempty"`
	NotificationConfig     *NotificationConfig     `json:"NotificationConfig,omitempty"`
	OutputS3BucketName     string                  `json:"OutputS3BucketName,omitempty"`
	OutputS3KeyPrefix      string                  `json:"OutputS3KeyPrefix,omitempty"`
	Parameters             map[string][]string     `json:"Parameters,omitempty"`
	ServiceRoleArn         string                  `json:"ServiceRoleArn,omitempty"`
	TimeoutSeconds         *int32                  `json:"TimeoutSeconds,omitempty"`
}

// CloudWatchOutputConfig sends command output to CloudWatch Logs.
type CloudWatchOutputConfig struct {
	CloudWatchLogGroupName  string `json:"CloudWatchLogGroupName,omitempty"`
	CloudWatchOutputEnabled bool   `json:"CloudWatchOutputEnabled"`
}

// NotificationConfig sends command status changes to SNS.
type NotificationConfig struct {
	NotificationArn    string   `json:"NotificationArn,omitempty"`
	NotificationEvents []string `json:"NotificationEvents,omitempty"`
	NotificationType   string   `json:"NotificationType,omitempty"`
}

type registerTaskInput struct {
	WindowId                 string                        `json:"WindowId"`
	Targets                  []Target                      `json:"Targets,omitempty"`
	TaskArn                  string                        `json:"TaskArn"`
	ServiceRoleArn           *string                       `json:"ServiceRoleArn,omitempty"`
	TaskType                 string                        `json:"TaskType"`
	TaskParameters           map[string]TaskParameterValue `json:"TaskParameters,omitempty"`
	TaskInvocationParameters *TaskInvocationParameters     `json:"TaskInvocationParameters,omitempty"`
	Priority                 *int32                        `json:"Priority,omitempty"`
	MaxConcurrency           *string                       `json:"MaxConcurrency,omitempty"`
	MaxErrors                *string                       `json:"MaxErrors,omitempty"`
	LoggingInfo              *LoggingInfo                  `json:"LoggingInfo,omitempty"`
	Name                     *string                       `json:"Name,omitempty"`
	Description              *string                       `json:"Description,omitempty"`
	ClientToken              string                        `json:"ClientToken,omitempty"`
	CutoffBehavior           *string                       `json:"CutoffBehavior,omitempty"`
	AlarmConfiguration       json.RawMessage               `json:"AlarmConfiguration,omitempty"`
}

type windowTaskIDOutput struct {
	WindowTaskId string `json:"WindowTaskId"`
}

// Defaults AWS fills in for a task.
const (
	defaultPriority       = 1
	defaultCutoffBehavior = "CONTINUE_TASK"
	// targetlessPlaceholder is what AWS reports as MaxConcurrency and
	// MaxErrors of a task without targets.
	targetlessPlaceholder = "1"
)

// serviceLinkedRole is the role a task without ServiceRoleArn runs with; AWS
// reports it in the task.
func serviceLinkedRole(ctx Context) string {
	return "arn:" + ctx.partition() + ":iam::" + ctx.Account + ":role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM"
}

func (s *Service) registerTask(ctx Context, in *registerTaskInput) (any, error) {
	t := WindowTask{
		TaskArn: in.TaskArn, Type: in.TaskType, Targets: cloneTargets(in.Targets), TaskParameters: cloneTaskParameters(in.TaskParameters),
		TaskInvocationParameters: cloneInvocation(in.TaskInvocationParameters), Priority: defaultPriority,
		ServiceRoleArn: deref(in.ServiceRoleArn), MaxConcurrency: deref(in.MaxConcurrency), MaxErrors: deref(in.MaxErrors),
		LoggingInfo: cloneLogging(in.LoggingInfo), Name: deref(in.Name), Description: deref(in.Description),
		CutoffBehavior: defaultCutoffBehavior, AlarmConfiguration: slices.Clone(in.AlarmConfiguration),
	}
	set(&t.Priority, in.Priority)
	set(&t.CutoffBehavior, in.CutoffBehavior)
	if t.ServiceRoleArn == "" {
		t.ServiceRoleArn = serviceLinkedRole(ctx)
	}
	id, err := s.register(ctx, "RegisterTaskWithMaintenanceWindow", in.ClientToken, in, in.WindowId, func(w *Window) (string, error) {
		if err := s.checkTask(ctx, w, &t); err != nil {
			return "", err
		}
		if len(w.Tasks) >= s.quotas.TasksPerWindow {
			return "", apierr.BadRequest("ResourceLimitExceededException",
				"Maximum number of tasks (%d) for maintenance window %s reached", s.quotas.TasksPerWindow, w.ID)
		}
		t.ID = s.newUUID()
		w.Tasks = append(w.Tasks, t)
		return t.ID, nil
	})
	if err != nil {
		return nil, err
	}
	return windowTaskIDOutput{WindowTaskId: id}, nil
}

// checkTask applies the documented rules the model cannot express, and
// fills the targetless placeholders:
//   - a RUN_COMMAND task needs targets, and its TaskArn must name an
//     existing Command document (by name or ARN) whose DocumentVersion, when
//     given, exists;
//   - a task with targets needs MaxConcurrency and MaxErrors; one without
//     may not set them (AWS reports the placeholder "1");
//   - targets are WindowTargetIds of this window, or, only when the window
//     allows unassociated targets, InstanceIds.
func (s *Service) checkTask(ctx Context, w *Window, t *WindowTask) error {
	if t.Type == "RUN_COMMAND" {
		if len(t.Targets) == 0 {
			return validation("A RUN_COMMAND task requires Targets.")
		}
		d := s.document(documentName(t.TaskArn))
		if d == nil {
			return apierr.BadRequest("DoesNotExistException", "Document %s does not exist", t.TaskArn)
		}
		if rc := t.TaskInvocationParameters; rc != nil && rc.RunCommand != nil && rc.RunCommand.DocumentVersion != "" {
			if _, ok := d.version(rc.RunCommand.DocumentVersion); !ok {
				return validation("DocumentVersion %s of document %s does not exist.", rc.RunCommand.DocumentVersion, d.name)
			}
		}
	}
	if len(t.Targets) == 0 {
		if t.MaxConcurrency != "" || t.MaxErrors != "" {
			return validation("MaxConcurrency and MaxErrors cannot be specified for a task without targets.")
		}
		t.MaxConcurrency, t.MaxErrors = targetlessPlaceholder, targetlessPlaceholder
		return nil
	}
	if t.MaxConcurrency == "" || t.MaxErrors == "" {
		return validation("MaxConcurrency and MaxErrors are required for a task with targets.")
	}
	for _, tg := range t.Targets {
		switch tg.Key {
		case "WindowTargetIds":
			for _, id := range tg.Values {
				if _, err := targetIndex(w, id); err != nil {
					return err
				}
			}
		case "InstanceIds":
			if !w.AllowUnassociatedTargets {
				return validation("Maintenance window %s does not allow unassociated targets; target the task at WindowTargetIds.", w.ID)
			}
		default:
			return validation("Task target key %s is not valid; use WindowTargetIds or InstanceIds.", tg.Key)
		}
	}
	return nil
}

// documentName returns the document name of a name or document ARN.
func documentName(arn string) string {
	if i := strings.LastIndex(arn, ":document/"); i >= 0 && strings.HasPrefix(arn, "arn:") {
		return arn[i+len(":document/"):]
	}
	return arn
}

// taskIndex returns the index of task id in w; a task w does not have is
// DoesNotExistException.
func taskIndex(w *Window, id string) (int, error) {
	i := slices.IndexFunc(w.Tasks, func(t WindowTask) bool { return t.ID == id })
	if i < 0 {
		return 0, apierr.BadRequest("DoesNotExistException", "Maintenance window task %s does not exist in maintenance window %s", id, w.ID)
	}
	return i, nil
}

type updateTaskInput struct {
	WindowId                 string                        `json:"WindowId"`
	WindowTaskId             string                        `json:"WindowTaskId"`
	Targets                  []Target                      `json:"Targets"`
	TaskArn                  *string                       `json:"TaskArn"`
	ServiceRoleArn           *string                       `json:"ServiceRoleArn"`
	TaskParameters           map[string]TaskParameterValue `json:"TaskParameters"`
	TaskInvocationParameters *TaskInvocationParameters     `json:"TaskInvocationParameters"`
	Priority                 *int32                        `json:"Priority"`
	MaxConcurrency           *string                       `json:"MaxConcurrency"`
	MaxErrors                *string                       `json:"MaxErrors"`
	LoggingInfo              *LoggingInfo                  `json:"LoggingInfo"`
	Name                     *string                       `json:"Name"`
	Description              *string                       `json:"Description"`
	Replace                  bool                          `json:"Replace"`
	CutoffBehavior           *string                       `json:"CutoffBehavior"`
	AlarmConfiguration       json.RawMessage               `json:"AlarmConfiguration"`
}

// taskOutput is GetMaintenanceWindowTask's and UpdateMaintenanceWindowTask's
// answer, and (without TaskInvocationParameters, with Type for TaskType) an
// item of DescribeMaintenanceWindowTasks.
type taskOutput struct {
	WindowId                 string                        `json:"WindowId"`
	WindowTaskId             string                        `json:"WindowTaskId"`
	Targets                  []Target                      `json:"Targets,omitempty"`
	TaskArn                  string                        `json:"TaskArn"`
	ServiceRoleArn           string                        `json:"ServiceRoleArn,omitempty"`
	TaskType                 string                        `json:"TaskType,omitempty"`
	Type                     string                        `json:"Type,omitempty"`
	TaskParameters           map[string]TaskParameterValue `json:"TaskParameters,omitempty"`
	TaskInvocationParameters *TaskInvocationParameters     `json:"TaskInvocationParameters,omitempty"`
	Priority                 int32                         `json:"Priority"`
	MaxConcurrency           string                        `json:"MaxConcurrency,omitempty"`
	MaxErrors                string                        `json:"MaxErrors,omitempty"`
	LoggingInfo              *LoggingInfo                  `json:"LoggingInfo,omitempty"`
	Name                     string                        `json:"Name,omitempty"`
	Description              string                        `json:"Description,omitempty"`
	CutoffBehavior           string                        `json:"CutoffBehavior,omitempty"`
	AlarmConfiguration       json.RawMessage               `json:"AlarmConfiguration,omitempty"`
}

func taskToOutput(windowID string, t WindowTask) taskOutput {
	return taskOutput{WindowId: windowID, WindowTaskId: t.ID, Targets: cloneTargets(t.Targets), TaskArn: t.TaskArn,
		ServiceRoleArn: t.ServiceRoleArn, TaskType: t.Type, TaskParameters: cloneTaskParameters(t.TaskParameters),
		TaskInvocationParameters: cloneInvocation(t.TaskInvocationParameters), Priority: t.Priority,
		MaxConcurrency: t.MaxConcurrency, MaxErrors: t.MaxErrors, LoggingInfo: cloneLogging(t.LoggingInfo), Name: t.Name,
		Description: t.Description, CutoffBehavior: t.CutoffBehavior, AlarmConfiguration: slices.Clone(t.AlarmConfiguration)}
}

// updateTask changes the given fields (TaskInvocationParameters as a whole:
// values not sent again are removed, as documented). With Replace, TaskArn
// is required and every optional field not given is reset to its default.
func (s *Service) updateTask(ctx Context, in *updateTaskInput) (any, error) {
	if in.Replace {
		if err := requireForReplace(map[string]bool{"taskArn": in.TaskArn != nil}); err != nil {
			return nil, err
		}
	}
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		i, err := taskIndex(w, in.WindowTaskId)
		if err != nil {
			return nil, err
		}
		return s.updateTaskAt(ctx, w, i, in)
	})
}

// updateTaskAt applies in to the task at index i of w.
func (s *Service) updateTaskAt(ctx Context, w *Window, i int, in *updateTaskInput) (any, error) {
	t := w.Tasks[i]
	if in.Replace {
		t = WindowTask{ID: t.ID, Type: t.Type, Priority: defaultPriority, CutoffBehavior: defaultCutoffBehavior}
	} else if len(t.Targets) > 0 && in.Targets != nil && len(in.Targets) == 0 {
		return nil, validation("Targets cannot be removed from a task; deregister and register it again.")
	}
	if t.MaxConcurrency == targetlessPlaceholder && len(t.Targets) == 0 {
		// The placeholders are not the caller's values.
		t.MaxConcurrency, t.MaxErrors = "", ""
	}
	if in.Targets != nil {
		t.Targets = cloneTargets(in.Targets)
	}
	set(&t.TaskArn, in.TaskArn)
	set(&t.ServiceRoleArn, in.ServiceRoleArn)
	if in.TaskParameters != nil {
		t.TaskParameters = cloneTaskParameters(in.TaskParameters)
	}
	if in.TaskInvocationParameters != nil {
		t.TaskInvocationParameters = cloneInvocation(in.TaskInvocationParameters)
	}
	set(&t.Priority, in.Priority)
	set(&t.MaxConcurrency, in.MaxConcurrency)
	set(&t.MaxErrors, in.MaxErrors)
	if in.LoggingInfo != nil {
		t.LoggingInfo = cloneLogging(in.LoggingInfo)
	}
	set(&t.Name, in.Name)
	set(&t.Description, in.Description)
	set(&t.CutoffBehavior, in.CutoffBehavior)
	if in.AlarmConfiguration != nil {
		t.AlarmConfiguration = slices.Clone(in.AlarmConfiguration)
	}
	if t.ServiceRoleArn == "" {
		t.ServiceRoleArn = serviceLinkedRole(ctx)
	}
	if err := s.checkTask(ctx, w, &t); err != nil {
		return nil, err
	}
	w.Tasks[i] = t
	out := taskToOutput(w.ID, t)
	out.TaskType = ""
	return out, nil
}

type taskIDInput struct {
	WindowId     string `json:"WindowId"`
	WindowTaskId string `json:"WindowTaskId"`
}

func (s *Service) getTask(ctx Context, in *taskIDInput) (any, error) {
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		i, err := taskIndex(w, in.WindowTaskId)
		if err != nil {
			return nil, err
		}
		return taskToOutput(w.ID, w.Tasks[i]), nil
	})
}

func (s *Service) deregisterTask(ctx Context, in *taskIDInput) (any, error) {
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		i, err := taskIndex(w, in.WindowTaskId)
		if err != nil {
			return nil, err
		}
		w.Tasks = slices.Delete(w.Tasks, i, i+1)
		return taskIDInput{WindowId: w.ID, WindowTaskId: in.WindowTaskId}, nil
	})
}

type describeTasksInput struct {
	WindowId   string   `json:"WindowId"`
	Filters    []Filter `json:"Filters"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

type describeTasksOutput struct {
	Tasks     []taskOutput `json:"Tasks"`
	NextToken string       `json:"NextToken,omitempty"`
}

// describeTasks lists a window's tasks (without their invocation
// parameters, as AWS does); the documented filter keys are WindowTaskId,
// TaskArn, Priority and TaskType.
func (s *Service) describeTasks(ctx Context, in *describeTasksInput) (any, error) {
	match, err := filters(in.Filters, map[string]func(WindowTask, string) bool{
		"WindowTaskId": func(t WindowTask, v string) bool { return t.ID == v },
		"TaskArn":      func(t WindowTask, v string) bool { return t.TaskArn == v },
		"Priority":     func(t WindowTask, v string) bool { return strconv.Itoa(int(t.Priority)) == v },
		"TaskType":     func(t WindowTask, v string) bool { return t.Type == v },
	})
	if err != nil {
		return nil, err
	}
	return s.inWindow(ctx, in.WindowId, func(w *Window) (any, error) {
		items, next, err := page(slices.Values(w.Tasks), match, func(t WindowTask) string { return t.ID }, in.MaxResults, in.NextToken)
		if err != nil {
			return nil, err
		}
		out := describeTasksOutput{Tasks: make([]taskOutput, len(items)), NextToken: next}
		for i, t := range items {
			o := taskToOutput(w.ID, t)
			o.Type, o.TaskType, o.TaskInvocationParameters = o.TaskType, "", nil
			out.Tasks[i] = o
		}
		return out, nil
	})
}

func cloneTaskParameters(m map[string]TaskParameterValue) map[string]TaskParameterValue {
	if m == nil {
		return nil
	}
	out := make(map[string]TaskParameterValue, len(m))
	for k, v := range m {
		out[k] = TaskParameterValue{Values: slices.Clone(v.Values)}
	}
	return out
}

func cloneLogging(l *LoggingInfo) *LoggingInfo {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

func cloneInvocation(p *TaskInvocationParameters) *TaskInvocationParameters {
	if p == nil {
		return nil
	}
	c := TaskInvocationParameters{Automation: slices.Clone(p.Automation), StepFunctions: slices.Clone(p.StepFunctions), Lambda: slices.Clone(p.Lambda)}
	if rc := p.RunCommand; rc != nil {
		r := *rc
		if rc.CloudWatchOutputConfig != nil {
			cw := *rc.CloudWatchOutputConfig
			r.CloudWatchOutputConfig = &cw
		}
		if rc.NotificationConfig != nil {
			n := *rc.NotificationConfig
			n.NotificationEvents = slices.Clone(n.NotificationEvents)
			r.NotificationConfig = &n
		}
		if rc.TimeoutSeconds != nil {
			ts := *rc.TimeoutSeconds
			r.TimeoutSeconds = &ts
		}
		if rc.Parameters != nil {
			r.Parameters = make(map[string][]string, len(rc.Parameters))
			for k, v := range maps.All(rc.Parameters) {
				r.Parameters[k] = slices.Clone(v)
			}
		}
		c.RunCommand = &r
	}
	return &c
}
