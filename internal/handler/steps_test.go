package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

const stateMachine = "arn:aws:states:us-east-1:111111111111:stateMachine:orgpatch-run"

// executions stands in for Step Functions, which the simulator does not
// serve: it records the executions started, and lists the running ones a
// test sets.
type executions struct {
	mu      sync.Mutex
	started []sfn.StartExecutionInput
	running []types.ExecutionListItem
}

func (e *executions) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.started {
		if aws.ToString(s.Name) == aws.ToString(in.Name) {
			return nil, &types.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: " + aws.ToString(in.Name))}
		}
	}
	e.started = append(e.started, *in)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(stateMachine + ":" + aws.ToString(in.Name)), StartDate: aws.Time(time.Now())}, nil
}

func (e *executions) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.StatusFilter != types.ExecutionStatusRunning {
		return nil, errors.New("the handler lists running executions only")
	}
	return &sfn.ListExecutionsOutput{Executions: e.running}, nil
}

// machine is a harness deployed with the state machine: the handler starts
// executions, and the test plays the state machine's part with the same
// payloads (infra/stacks/state_machine.go).
type machine struct {
	*harness
	exec  *executions
	store *stepfn.MemoryStore
}

func newMachine(t *testing.T) *machine {
	m := &machine{exec: &executions{}, store: stepfn.NewMemoryStore()}
	m.harness = newHarness(t, nil, func(d *handler.Deps) {
		d.StateMachine, d.Executions, d.Runs = stateMachine, m.exec, m.store
	}).withAllRoles(t)
	return m
}

// execute runs the last started execution as the state machine does:
// discover, the map over the batches (each batch through the handler,
// unless fail says the batch fails), summarize. It returns the summarize
// step's output.
func (m *machine) execute(t *testing.T, fail func(batch int) bool) handler.SummarizeResult {
	t.Helper()
	ctx := context.Background()
	if len(m.exec.started) == 0 {
		t.Fatal("no execution was started")
	}
	last := m.exec.started[len(m.exec.started)-1]
	var input struct {
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(last.Input)), &input); err != nil {
		t.Fatalf("execution input: %v", err)
	}
	name := aws.ToString(last.Name)
	payload := func(v map[string]any) json.RawMessage {
		v["run"], v["request"] = name, input.Request
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out, err := m.h.Invoke(ctx, payload(map[string]any{"step": "discover", "started": time.Now().UTC()}))
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	d := out.(handler.DiscoverResult)
	if d.Wait {
		t.Fatalf("discover waits behind %s", d.Behind)
	}
	var mu sync.Mutex
	n := 0
	mapOut, err := stepfn.MapBatches(ctx, m.store, d.Discovery, 2, 0, nil, func(ctx context.Context, batch []byte) ([]byte, error) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if fail != nil && fail(i) {
			return nil, errors.New("Lambda.Unknown: Task timed out after 900.00 seconds")
		}
		res, err := m.h.Invoke(ctx, batch)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err = m.h.Invoke(ctx, payload(map[string]any{"step": "summarize", "discovery": d, "map": mapOut}))
	if err != nil {
		t.Fatalf("summarize: %v", err)
	}
	return out.(handler.SummarizeResult)
}

func TestCloudFormationRunsOnTheStateMachine(t *testing.T) {
	m := newMachine(t)
	if _, err := m.invoke(t, m.event(t, "cfn-create.json")); err != nil {
		t.Fatal(err)
	}
	if n := len(m.cfn.answers()); n != 0 {
		t.Fatalf("CloudFormation answered %d times when the run only started; its last step answers", n)
	}
	if got, want := aws.ToString(m.exec.started[0].Name), "cloudformation-9f5e1a0c-6a34-4d0b-9f3c-1d0a2b3c4d5e"; got != want {
		t.Errorf("execution name %q, want %q (derived from the RequestId)", got, want)
	}
	if cfg, found := m.storedConfig(t); !found || cfg.Windows == nil {
		t.Errorf("Create did not store the configuration before starting the run")
	}
	// CloudFormation delivers the same request again: no second run.
	if _, err := m.invoke(t, m.event(t, "cfn-create.json")); err != nil || len(m.exec.started) != 1 {
		t.Fatalf("redelivered Create: error %v, %d executions; want none and 1", err, len(m.exec.started))
	}

	res := m.execute(t, nil)
	answers := m.cfn.answers()
	if len(answers) != 1 || answers[0].Response.Status != cfn.StatusSuccess || res.Failed {
		t.Fatalf("answers %+v, summarize %+v: want one SUCCESS", answers, res)
	}
	if diff := cmp.Diff(members, m.windowed(t)); diff != "" {
		t.Errorf("accounts holding windows (-want +got):\n%s", diff)
	}
}

func TestAFailedBatchFailsTheRunNamingItsAccounts(t *testing.T) {
	m := newMachine(t)
	m.deployed(t, config.Default())
	if _, err := m.invoke(t, m.event(t, "cfn-update.json")); err != nil {
		t.Fatal(err)
	}
	res := m.execute(t, func(batch int) bool { return batch == 0 })
	answers := m.cfn.answers()
	if len(answers) != 1 || answers[0].Response.Status != cfn.StatusFailed || !res.Failed {
		t.Fatalf("answers %+v, summarize %+v: want one FAILED", answers, res)
	}
	// Every account is in the one batch of the small organization.
	if reason := answers[0].Response.Reason; !strings.Contains(reason, "5 accounts not attempted: 111111111111, 222222222222, 333333333333, 444444444444, 555555555555") {
		t.Errorf("reason %q does not name the accounts not attempted", reason)
	}
}

func TestScheduleStartsAnExecutionAndWaitsItsTurn(t *testing.T) {
	m := newMachine(t)
	m.deployed(t, config.Default())
	if _, err := m.invoke(t, m.event(t, "schedule.json")); err != nil {
		t.Fatal(err)
	}
	if len(m.exec.started) != 1 || m.writers() != nil {
		t.Fatalf("%d executions, writers %v: want one execution and no write in the invocation", len(m.exec.started), m.writers())
	}
	// Another run started a second earlier is still running: this one waits.
	older := stateMachine + ":schedule-older"
	m.exec.running = []types.ExecutionListItem{
		{ExecutionArn: aws.String(older), Name: aws.String("schedule-older"), StartDate: aws.Time(time.Now().Add(-time.Second))},
	}
	m.sv.Server.ResetCalls()
	raw, _ := json.Marshal(map[string]any{"step": "discover", "run": "schedule-newer", "started": time.Now().UTC(),
		"request": map[string]any{"source": "schedule", "action": "converge", "reason": "test", "config": json.RawMessage(mustJSON(t, config.Default()))}})
	out, err := m.h.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if d := out.(handler.DiscoverResult); !d.Wait || d.Behind != older {
		t.Errorf("discover = %+v, want to wait behind %s", d, older)
	}
	// It reads the stored configuration (to check its own) and nothing else.
	if n := m.sv.Server.CountCalls(func(c sim.Call) bool { return c.Operation != "GetParameter" }); n != 0 {
		t.Errorf("a waiting run made %d calls besides reading the stored configuration", n)
	}
	// Once it is gone, the waiting run goes ahead.
	m.exec.running = nil
	if res := m.execute(t, nil); res.Failed {
		t.Errorf("schedule run failed: %s", res.Summary)
	}
	if diff := cmp.Diff(members, m.windowed(t)); diff != "" {
		t.Errorf("accounts holding windows (-want +got):\n%s", diff)
	}
}

func mustJSON(t *testing.T, cfg config.Config) []byte {
	t.Helper()
	b, err := cfg.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStepsCarryOnlyTheStacksConfiguration: someone who may invoke the
// function cannot make a step converge to a configuration of their own: a
// step whose configuration is not the stack's does nothing (as a step of a
// run a stack Update superseded does): discover ends the run, work reports
// every target skipped, and nothing is read or written but the stored
// configuration.
func TestStepsCarryOnlyTheStacksConfiguration(t *testing.T) {
	m := newMachine(t)
	m.deployed(t, config.Default())
	forged := config.Default()
	forged.Windows[2].Task.Operation = config.OperationInstall // valid, but not what the stack says
	cfg := mustJSON(t, forged)
	for name, tc := range map[string]struct {
		payload map[string]any
		want    any
	}{
		"discover": {map[string]any{"step": "discover", "run": "schedule-forged", "started": time.Now().UTC(),
			"request": map[string]any{"source": "schedule", "action": "converge", "reason": "forged", "config": json.RawMessage(cfg)}},
			handler.DiscoverResult{Superseded: true}},
		"work": {map[string]any{"Items": []any{map[string]any{"account": "111111111111", "regions": map[string]any{"converge": []string{"us-east-1"}}}},
			"BatchInput": map[string]any{"run": "schedule-forged", "mode": "converge", "config": json.RawMessage(cfg), "previous": nil, "dryRun": false, "named": false}},
			stepfn.BatchResult{Targets: []report.Target{{Account: "111111111111", Region: "us-east-1", Mode: "converge", Status: report.Skipped,
				Reason: "superseded: the stack's configuration changed during the run; the update's run converges it"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			m.sv.Server.ResetCalls()
			raw, _ := json.Marshal(tc.payload)
			out, err := m.h.Invoke(context.Background(), raw)
			if err != nil {
				t.Fatalf("Invoke() error = %v, want the step to do nothing and fail nothing", err)
			}
			if diff := cmp.Diff(tc.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if n := m.sv.Server.CountCalls(func(c sim.Call) bool { return c.Operation != "GetParameter" }); n != 0 {
				t.Errorf("a step with a configuration not the stack's made %d calls", n)
			}
		})
	}
}
