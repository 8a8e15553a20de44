package ssmsvc

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// The records of what windows ran: maintenance window executions and their
// tasks, and the Run Command commands and invocations their tasks sent.

func init() {
	handlers["DescribeMaintenanceWindowExecutions"] = op((*Service).describeWindowExecutions)
	handlers["DescribeMaintenanceWindowExecutionTasks"] = op((*Service).describeWindowExecutionTasks)
	handlers["ListCommands"] = op((*Service).listCommands)
	handlers["ListCommandInvocations"] = op((*Service).listCommandInvocations)
}

// runKey orders records by time, then id.
func runKey(t time.Time, id string) string { return t.UTC().Format(time.RFC3339Nano) + "/" + id }

type describeWindowExecutionsInput struct {
	WindowId   string   `json:"WindowId"`
	Filters    []Filter `json:"Filters"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

type windowExecutionOutput struct {
	WindowId          string `json:"WindowId"`
	WindowExecutionId string `json:"WindowExecutionId"`
	Status            string `json:"Status"`
	StatusDetails     string `json:"StatusDetails,omitempty"`
	StartTime         *epoch `json:"StartTime,omitempty"`
	EndTime           *epoch `json:"EndTime,omitempty"`
}

type describeWindowExecutionsOutput struct {
	WindowExecutions []windowExecutionOutput `json:"WindowExecutions"`
	NextToken        string                  `json:"NextToken,omitempty"`
}

// executedFilter is ExecutedBefore or ExecutedAfter: the API Reference
// takes ISO 8601 times; a value that is not one is a ValidationException.
func executedFilter(before bool) func(*WindowExecution, string) bool {
	return func(e *WindowExecution, v string) bool {
		t, err := parseISO8601(v)
		if err != nil {
			return false
		}
		if before {
			return e.Start.Before(t)
		}
		return e.Start.After(t)
	}
}

// describeWindowExecutions lists a window's executions, oldest first (AWS
// documents no order). A window that does not exist is
// DoesNotExistException.
func (s *Service) describeWindowExecutions(ctx Context, in *describeWindowExecutionsInput) (any, error) {
	for _, f := range in.Filters {
		for _, v := range f.Values {
			if _, err := parseISO8601(v); err != nil {
				return nil, validation("Filter %s value %s is not an ISO 8601 date and time such as 2024-11-04T05:00:00Z.", f.Key, v)
			}
		}
	}
	match, err := filters(in.Filters, map[string]func(*WindowExecution, string) bool{
		"ExecutedBefore": executedFilter(true), "ExecutedAfter": executedFilter(false),
	})
	if err != nil {
		return nil, err
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.windows[in.WindowId]; !ok {
		return nil, windowNotFound(in.WindowId)
	}
	mine := slices.DeleteFunc(slices.Clone(st.executions), func(e *WindowExecution) bool { return e.WindowID != in.WindowId })
	items, next, err := page(slices.Values(mine), match, func(e *WindowExecution) string { return runKey(e.Start, e.ID) }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeWindowExecutionsOutput{WindowExecutions: make([]windowExecutionOutput, len(items)), NextToken: next}
	for i, e := range items {
		out.WindowExecutions[i] = windowExecutionOutput{WindowId: e.WindowID, WindowExecutionId: e.ID, Status: e.Status,
			StatusDetails: e.StatusDetails, StartTime: stamp(e.Start), EndTime: stamp(e.End)}
	}
	return out, nil
}

type describeWindowExecutionTasksInput struct {
	WindowExecutionId string   `json:"WindowExecutionId"`
	Filters           []Filter `json:"Filters"`
	MaxResults        *int32   `json:"MaxResults"`
	NextToken         string   `json:"NextToken"`
}

type windowExecutionTaskOutput struct {
	WindowExecutionId string `json:"WindowExecutionId"`
	TaskExecutionId   string `json:"TaskExecutionId"`
	Status            string `json:"Status"`
	StatusDetails     string `json:"StatusDetails,omitempty"`
	StartTime         *epoch `json:"StartTime,omitempty"`
	EndTime           *epoch `json:"EndTime,omitempty"`
	TaskArn           string `json:"TaskArn"`
	TaskType          string `json:"TaskType"`
}

type describeWindowExecutionTasksOutput struct {
	WindowExecutionTaskIdentities []windowExecutionTaskOutput `json:"WindowExecutionTaskIdentities"`
	NextToken                     string                      `json:"NextToken,omitempty"`
}

// describeWindowExecutionTasks lists the tasks of one window execution, in
// the order they ran; the filter key is STATUS. An execution that does not
// exist is DoesNotExistException.
func (s *Service) describeWindowExecutionTasks(ctx Context, in *describeWindowExecutionTasksInput) (any, error) {
	match, err := filters(in.Filters, map[string]func(TaskExecution, string) bool{
		"STATUS": func(t TaskExecution, v string) bool { return t.Status == v },
	})
	if err != nil {
		return nil, err
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(st.executions, func(e *WindowExecution) bool { return e.ID == in.WindowExecutionId })
	if i < 0 {
		return nil, apierr.BadRequest("DoesNotExistException", "Maintenance window execution %s does not exist", in.WindowExecutionId)
	}
	e := st.executions[i]
	order := map[string]int{}
	for j, t := range e.Tasks {
		order[t.ID] = j
	}
	items, next, err := page(slices.Values(e.Tasks), match, func(t TaskExecution) string { return runKey(t.Start, fmt.Sprintf("%03d", order[t.ID])) }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeWindowExecutionTasksOutput{WindowExecutionTaskIdentities: make([]windowExecutionTaskOutput, len(items)), NextToken: next}
	for j, t := range items {
		out.WindowExecutionTaskIdentities[j] = windowExecutionTaskOutput{WindowExecutionId: e.ID, TaskExecutionId: t.ID, Status: t.Status,
			StatusDetails: t.StatusDetails, StartTime: stamp(t.Start), EndTime: stamp(t.End), TaskArn: t.TaskArn, TaskType: t.Type}
	}
	return out, nil
}

type commandFilter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type listCommandsInput struct {
	CommandId  string          `json:"CommandId"`
	InstanceId string          `json:"InstanceId"`
	Filters    []commandFilter `json:"Filters"`
	MaxResults *int32          `json:"MaxResults"`
	NextToken  string          `json:"NextToken"`
	Details    bool            `json:"Details"`
}

type commandOutput struct {
	CommandId             string              `json:"CommandId"`
	DocumentName          string              `json:"DocumentName"`
	DocumentVersion       string              `json:"DocumentVersion"`
	Comment               string              `json:"Comment,omitempty"`
	Parameters            map[string][]string `json:"Parameters"`
	InstanceIds           []string            `json:"InstanceIds"`
	Targets               []Target            `json:"Targets"`
	RequestedDateTime     *epoch              `json:"RequestedDateTime"`
	Status                string              `json:"Status"`
	StatusDetails         string              `json:"StatusDetails"`
	MaxConcurrency        string              `json:"MaxConcurrency,omitempty"`
	MaxErrors             string              `json:"MaxErrors,omitempty"`
	TargetCount           int32               `json:"TargetCount"`
	CompletedCount        int32               `json:"CompletedCount"`
	ErrorCount            int32               `json:"ErrorCount"`
	DeliveryTimedOutCount int32               `json:"DeliveryTimedOutCount"`
	ServiceRole           string              `json:"ServiceRole,omitempty"`
}

type listCommandsOutput struct {
	Commands  []commandOutput `json:"Commands"`
	NextToken string          `json:"NextToken,omitempty"`
}

// commands returns the commands of ctx's account x region the request
// selects, oldest first: by CommandId (one that was never sent is
// InvalidCommandId), by InstanceId (those with an invocation on it), and by
// the filters InvokedAfter, InvokedBefore, Status, ExecutionStage
// (Executing or Complete: every simulated command is complete) and
// DocumentName. Callers hold st.mu.
func (st *state) selectCommands(in *listCommandsInput) ([]*Command, error) {
	if in.CommandId != "" && !slices.ContainsFunc(st.commands, func(c *Command) bool { return c.ID == in.CommandId }) {
		return nil, apierr.BadRequest("InvalidCommandId", "The command ID %s is not valid.", in.CommandId)
	}
	var checks []func(*Command) bool
	for _, f := range in.Filters {
		v := f.Value
		switch f.Key {
		case "InvokedAfter", "InvokedBefore":
			t, err := parseISO8601(v)
			if err != nil {
				return nil, apierr.BadRequest("InvalidFilterValue", "The filter value %s is not an ISO 8601 date and time.", v)
			}
			after := f.Key == "InvokedAfter"
			checks = append(checks, func(c *Command) bool { return c.Requested.After(t) == after && !c.Requested.Equal(t) })
		case "Status":
			checks = append(checks, func(c *Command) bool { return c.Status == v })
		case "ExecutionStage":
			if v != "Executing" && v != "Complete" {
				return nil, apierr.BadRequest("InvalidFilterValue", "ExecutionStage must be Executing or Complete, not %s.", v)
			}
			checks = append(checks, func(*Command) bool { return v == "Complete" })
		case "DocumentName":
			checks = append(checks, func(c *Command) bool { return c.DocumentName == v })
		}
	}
	var out []*Command
	for _, c := range st.commands {
		if in.CommandId != "" && c.ID != in.CommandId {
			continue
		}
		if in.InstanceId != "" && !slices.ContainsFunc(c.Invocations, func(i Invocation) bool { return i.InstanceID == in.InstanceId }) {
			continue
		}
		if slices.ContainsFunc(checks, func(f func(*Command) bool) bool { return !f(c) }) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func commandKey(c *Command) string { return runKey(c.Requested, c.ID) }

// listCommands answers ListCommands, 50 to a page unless MaxResults says
// fewer (the model's largest page; AWS documents no default).
func (s *Service) listCommands(ctx Context, in *listCommandsInput) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	cmds, err := st.selectCommands(in)
	if err != nil {
		return nil, err
	}
	items, next, err := listPage(cmds, commandKey, in.MaxResults, 50, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := listCommandsOutput{Commands: make([]commandOutput, len(items)), NextToken: next}
	for i, c := range items {
		o := commandOutput{CommandId: c.ID, DocumentName: c.DocumentName, DocumentVersion: "$DEFAULT", Comment: c.Comment,
			Parameters: c.Parameters, InstanceIds: []string{}, Targets: cloneTargets(c.Targets), RequestedDateTime: stamp(c.Requested),
			Status: c.Status, StatusDetails: c.StatusDetails, MaxConcurrency: c.MaxConcurrency, MaxErrors: c.MaxErrors,
			TargetCount: int32(len(c.Invocations)), CompletedCount: int32(len(c.Invocations)), ServiceRole: c.ServiceRole}
		for _, inv := range c.Invocations {
			switch inv.StatusDetails {
			case "DeliveryTimedOut":
				o.DeliveryTimedOutCount++
			case "Failed", "Undeliverable":
				o.ErrorCount++
			}
		}
		if o.Targets == nil {
			o.Targets = []Target{}
		}
		out.Commands[i] = o
	}
	return out, nil
}

type commandInvocationOutput struct {
	CommandId         string `json:"CommandId"`
	InstanceId        string `json:"InstanceId"`
	Comment           string `json:"Comment,omitempty"`
	DocumentName      string `json:"DocumentName"`
	DocumentVersion   string `json:"DocumentVersion"`
	RequestedDateTime *epoch `json:"RequestedDateTime"`
	Status            string `json:"Status"`
	StatusDetails     string `json:"StatusDetails"`
	ServiceRole       string `json:"ServiceRole,omitempty"`
	CommandPlugins    []any  `json:"CommandPlugins"`
}

type listCommandInvocationsOutput struct {
	CommandInvocations []commandInvocationOutput `json:"CommandInvocations"`
	NextToken          string                    `json:"NextToken,omitempty"`
}

// listCommandInvocations answers one row per command x node, oldest
// command first, nodes by id; the filters are ListCommands'. Details adds
// no plugin output: the simulator keeps none (CommandPlugins is empty).
func (s *Service) listCommandInvocations(ctx Context, in *listCommandsInput) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	cmds, err := st.selectCommands(in)
	if err != nil {
		return nil, err
	}
	var rows []commandInvocationOutput
	for _, c := range cmds {
		for _, inv := range c.Invocations {
			if in.InstanceId != "" && inv.InstanceID != in.InstanceId {
				continue
			}
			rows = append(rows, commandInvocationOutput{CommandId: c.ID, InstanceId: inv.InstanceID, Comment: c.Comment,
				DocumentName: c.DocumentName, DocumentVersion: "$DEFAULT", RequestedDateTime: stamp(c.Requested),
				Status: inv.Status, StatusDetails: inv.StatusDetails, ServiceRole: c.ServiceRole, CommandPlugins: []any{}})
		}
	}
	key := func(r commandInvocationOutput) string {
		return runKey(time.Time(*r.RequestedDateTime), r.CommandId) + "/" + r.InstanceId
	}
	slices.SortStableFunc(rows, func(a, b commandInvocationOutput) int { return strings.Compare(key(a), key(b)) })
	items, next, err := listPage(rows, key, in.MaxResults, 50, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listCommandInvocationsOutput{CommandInvocations: items, NextToken: next}, nil
}

// WindowExecutions returns the executions of a window of account x region,
// oldest first, for tests and the demo.
func (s *Service) WindowExecutions(account, region, windowID string) []WindowExecution {
	st := s.existing(account, region)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []WindowExecution
	for _, e := range st.executions {
		if e.WindowID == windowID {
			c := *e
			c.Tasks = slices.Clone(e.Tasks)
			out = append(out, c)
		}
	}
	return out
}
