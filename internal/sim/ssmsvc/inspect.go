package ssmsvc

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"
)

// Window is a maintenance window with its targets, tasks and tags, as the
// snapshot methods return it.
type Window struct {
	ID                       string
	Name                     string
	Description              string
	Schedule                 string
	ScheduleTimezone         string
	ScheduleOffset           int32
	Duration                 int32
	Cutoff                   int32
	AllowUnassociatedTargets bool
	Enabled                  bool
	StartDate                string
	EndDate                  string
	Created                  time.Time
	Modified                 time.Time
	Tags                     []Tag
	Targets                  []WindowTarget // in registration order
	Tasks                    []WindowTask   // in registration order
}

// WindowTarget is a registered window target.
type WindowTarget struct {
	ID               string
	ResourceType     string
	Targets          []Target
	OwnerInformation string
	Name             string
	Description      string
}

// WindowTask is a registered window task.
type WindowTask struct {
	ID                       string
	TaskArn                  string
	Type                     string
	Targets                  []Target
	TaskParameters           map[string]TaskParameterValue
	TaskInvocationParameters *TaskInvocationParameters
	Priority                 int32
	ServiceRoleArn           string
	MaxConcurrency           string
	MaxErrors                string
	LoggingInfo              *LoggingInfo
	Name                     string
	Description              string
	CutoffBehavior           string
	AlarmConfiguration       json.RawMessage
}

// Windows returns a copy of the maintenance windows of account x region,
// sorted by id; changing it changes nothing in the Service.
func (s *Service) Windows(account, region string) []Window {
	st := s.existing(account, region)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]Window, 0, len(st.windows))
	for _, w := range st.windows {
		out = append(out, w.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (w *Window) clone() Window {
	c := *w
	c.Tags = slices.Clone(w.Tags)
	c.Targets = make([]WindowTarget, len(w.Targets))
	for i, t := range w.Targets {
		t.Targets = cloneTargets(t.Targets)
		c.Targets[i] = t
	}
	c.Tasks = make([]WindowTask, len(w.Tasks))
	for i, t := range w.Tasks {
		t.Targets = cloneTargets(t.Targets)
		t.TaskParameters = cloneTaskParameters(t.TaskParameters)
		t.TaskInvocationParameters = cloneInvocation(t.TaskInvocationParameters)
		t.LoggingInfo = cloneLogging(t.LoggingInfo)
		t.AlarmConfiguration = slices.Clone(t.AlarmConfiguration)
		c.Tasks[i] = t
	}
	return c
}

// ServiceSetting returns a service setting's value and status ("Default"
// or "Customized") in account x region; an unknown id is ("", "").
func (s *Service) ServiceSetting(account, region, id string) (value, status string) {
	def, ok := settingDefaults[id]
	if !ok {
		return "", ""
	}
	st := s.existing(account, region)
	if st == nil {
		return def, StatusDefault
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if v, ok := st.settings[id]; ok {
		return v.value, StatusCustomized
	}
	return def, StatusDefault
}

// Parameter returns a parameter's latest value and version in account x
// region, and whether it exists.
func (s *Service) Parameter(account, region, name string) (value string, version int64, ok bool) {
	st := s.existing(account, region)
	if st == nil {
		return "", 0, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	p, ok := st.params[name]
	if !ok {
		return "", 0, false
	}
	return p.versions[len(p.versions)-1].value, p.latest(), true
}

// Tagged is a taggable resource as the Resource Groups Tagging API lists it.
type Tagged struct {
	ARN  string
	Tags []Tag
}

// TaggedResources returns the maintenance windows, patch baselines and parameters of ctx's
// account x region that carry at least one tag, sorted by ARN, for the
// simulated Resource Groups Tagging API. The simulator keeps no history, so
// a resource whose tags were all removed is not listed (AWS may still list
// it, with no tags).
func (s *Service) TaggedResources(ctx Context) []Tagged {
	st := s.existing(ctx.Account, ctx.Region)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []Tagged
	for id, w := range st.windows {
		if len(w.Tags) > 0 {
			out = append(out, Tagged{ARN: windowARN(ctx, id), Tags: slices.Clone(w.Tags)})
		}
	}
	for id, b := range st.baselines {
		if len(b.Tags) > 0 {
			out = append(out, Tagged{ARN: "arn:" + ctx.partition() + ":ssm:" + ctx.Region + ":" + ctx.Account + ":patchbaseline/" + id, Tags: slices.Clone(b.Tags)})
		}
	}
	for name, p := range st.params {
		if len(p.tags) > 0 {
			out = append(out, Tagged{ARN: parameterARN(ctx, name), Tags: slices.Clone(p.tags)})
		}
	}
	slices.SortFunc(out, func(a, b Tagged) int { return strings.Compare(a.ARN, b.ARN) })
	return out
}

// windowARN is the ARN of a maintenance window.
func windowARN(ctx Context, id string) string {
	return "arn:" + ctx.partition() + ":ssm:" + ctx.Region + ":" + ctx.Account + ":maintenancewindow/" + id
}

// Baselines returns a copy of the patch baselines account x region owns
// (not AWS's predefined ones), sorted by id.
func (s *Service) Baselines(account, region string) []Baseline {
	st := s.existing(account, region)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]Baseline, 0, len(st.baselines))
	for _, b := range st.baselines {
		out = append(out, b.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DefaultBaselines returns, for every operating system, the id of its
// default patch baseline in account x region: AWS's predefined default
// (its ARN) unless another was registered.
func (s *Service) DefaultBaselines(account, region string) map[string]string {
	ctx := Context{Account: account, Region: region}
	st := s.existing(account, region)
	if st == nil {
		st = &state{}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]string{}
	for _, p := range predefinedBaselines {
		out[p.os] = st.defaultOf(ctx, p.os)
	}
	return out
}

// PatchGroups returns the patch group registrations of account x region:
// patch group -> operating system -> baseline id.
func (s *Service) PatchGroups(account, region string) map[string]map[string]string {
	st := s.existing(account, region)
	out := map[string]map[string]string{}
	if st == nil {
		return out
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, id := range st.groups {
		if out[k.group] == nil {
			out[k.group] = map[string]string{}
		}
		out[k.group][k.os] = id
	}
	return out
}

// PredefinedBaselineID returns the ARN of AWS's predefined default patch
// baseline of os in region (partition aws), "" for an unknown os.
func PredefinedBaselineID(region, os string) string {
	for _, p := range predefinedBaselines {
		if p.os == os && p.isDefault {
			return predefinedID("aws", region, p.name)
		}
	}
	return ""
}
