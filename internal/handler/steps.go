package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/stepfn"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// DiscoverResult is the discover step's output. Superseded: the stack's
// configuration changed since the run started, and the run ends without
// doing anything (the update's own run converges the organization). Wait:
// another run is under way (Behind), and the state machine waits and asks
// again; otherwise the Discovery says where the map's items are. Both are
// always present: the state machine's choice reads them.
type DiscoverResult struct {
	Superseded bool   `json:"superseded"`
	Wait       bool   `json:"wait"`
	Behind     string `json:"behind,omitempty"`
	stepfn.Discovery
}

// SummarizeResult is the summarize step's output: the state machine ends
// its execution FAILED, with Summary as the cause, when Failed.
type SummarizeResult struct {
	Failed  bool   `json:"failed"`
	Summary string `json:"summary"`
	// Status is the CloudFormation answer sent, for runs it started.
	Status cfn.StatusType `json:"status,omitempty"`
}

// step runs one step of a whole-organization execution.
func (h *Handler) step(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	s := req.Step
	log = log.With("step", s.Name, "run", s.Run)
	err := h.origin(ctx, &req)
	if err == nil {
		err = h.trusted(ctx, req)
	}
	superseded := errors.Is(err, errSuperseded)
	if err != nil && !superseded {
		log.Error("step refused; nothing done", "error", err)
		h.emit(log, req.Source, nil, true, start)
		return nil, err
	}
	if superseded {
		log.Warn("the stack's configuration changed since this run started: the step does nothing; the update's run converges the organization", "reason", err)
	}
	switch s.Name {
	case trigger.StepDiscover:
		if superseded {
			return DiscoverResult{Superseded: true}, nil
		}
		return h.discover(ctx, log, s)
	case trigger.StepWork:
		var b stepfn.Batch
		if err := json.Unmarshal(s.Payload, &b); err != nil {
			return nil, fmt.Errorf("%w: batch: %w", trigger.ErrMalformed, err)
		}
		if superseded {
			return stepfn.Superseded(b, supersededReason), nil
		}
		env, err := h.workEnv(ctx, log, b)
		if err != nil {
			log.Error("batch refused; nothing done", "error", err)
			return nil, err
		}
		res, err := stepfn.Work(ctx, env, b)
		if err != nil {
			log.Error("batch failed", "error", err)
			return nil, err
		}
		return res, nil
	case trigger.StepSummarize:
		return h.summarize(ctx, log, req, start)
	default: // trigger.StepAbort
		return h.abort(ctx, log, req, start)
	}
}

// origin settles what started a step's run, from the stored request
// (RunInput.Request), never from the input: the CloudFormation request
// it answers and, for an Update, the previous configuration, both verified
// again (loadRequest). An inline request (an execution started before
// requests were stored) is verified the same way and has no previous
// configuration.
func (h *Handler) origin(ctx context.Context, req *trigger.Request) error {
	s := req.Step
	switch {
	case s.Name == trigger.StepWork:
		return nil // workEnv reads the batch's origin
	case s.Input.Request != "":
		ev, prev, err := h.loadRequest(ctx, s.Input.Request)
		if err != nil {
			return fmt.Errorf("%w: %w", errUntrusted, err)
		}
		req.CloudFormation, req.Properties, s.Previous = ev, trigger.CleanProperties(ev.ResourceProperties), prev
	case req.CloudFormation != nil:
		if err := h.verifyOperation(ctx, req.CloudFormation); err != nil {
			return fmt.Errorf("%w: %w", errUntrusted, err)
		}
	}
	if s.Input.Action == trigger.Remove && (req.CloudFormation == nil || req.CloudFormation.RequestType != cfn.RequestDelete) {
		return fmt.Errorf("%w: %s of run %s: %w, and this run has none", errUntrusted, s.Name, s.Run, errNotDelete)
	}
	return nil
}

// errUntrusted marks a step whose configuration is not the stack's.
var errUntrusted = errors.New("step refused")

// errSuperseded marks a step of a run the stack did not start (the
// schedule's) whose configuration, the stored one when the run started, is
// no longer the stack's: a stack Update landed. Such a step does nothing
// and fails nothing: no alarm for a run the Update's own run replaces. A
// forged step meets the same: it does nothing.
var errSuperseded = errors.New("superseded by a change of the stack's configuration")

// supersededReason is a superseded target's reason in the run's report.
const supersededReason = "superseded: the stack's configuration changed during the run; the update's run converges it"

// trusted holds a step to the stack, as every other input is: a run only
// converges to the configuration the stack set. A run CloudFormation
// started carries the stack's request (checked against the stack's
// identity and properties, which must decode to the run's configuration);
// every other run, and every worker's batch, must carry the stored
// configuration (which is itself checked against the stack).
func (h *Handler) trusted(ctx context.Context, req trigger.Request) error {
	s := req.Step
	if s.Name == trigger.StepAbort {
		// Abort only answers FAILED: the request's check suffices.
		if req.CloudFormation == nil {
			return nil
		}
		return h.deps.Stack.checkRequest(req.CloudFormation.StackID, req.Properties)
	}
	var raw json.RawMessage
	if s.Name == trigger.StepWork {
		var b stepfn.Batch
		if err := json.Unmarshal(s.Payload, &b); err != nil {
			return fmt.Errorf("%w: batch: %w", trigger.ErrMalformed, err)
		}
		raw = b.BatchInput.Config
	} else {
		raw = s.Input.Config
	}
	var want config.Config
	var err error
	switch {
	case s.Name != trigger.StepWork && req.CloudFormation != nil:
		if err := h.deps.Stack.checkRequest(req.CloudFormation.StackID, req.Properties); err != nil {
			return err
		}
		if want, err = config.FromProperties(req.Properties); err != nil {
			// A Delete removes with what it can find (cloudFormationConfig).
			if s.Input.Action != trigger.Remove {
				return fmt.Errorf("%w: custom resource properties: %w", errUntrusted, err)
			}
			if want, err = h.store.load(ctx); err != nil {
				return nil
			}
		}
	default:
		if want, err = h.store.load(ctx); err != nil {
			if errors.Is(err, errNotTheStacks) {
				// The stack's Update has updated the function, and its
				// custom resource has not yet stored the new configuration.
				return fmt.Errorf("%w: %s's configuration cannot be checked: %w", errSuperseded, s.Name, err)
			}
			return fmt.Errorf("%w: %s's configuration cannot be checked: %w", errUntrusted, s.Name, err)
		}
	}
	wantJSON, err := want.JSON()
	if err != nil {
		return err
	}
	var got config.Config
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Errorf("%w: %s's configuration: %w", errUntrusted, s.Name, err)
	}
	gotJSON, err := got.JSON()
	if err != nil {
		return err
	}
	if !bytes.Equal(gotJSON, wantJSON) {
		if s.Name == trigger.StepWork || req.CloudFormation == nil {
			return fmt.Errorf("%w: %s of run %s carries a configuration that is not the stack's", errSuperseded, s.Name, s.Run)
		}
		return fmt.Errorf("%w: %s of run %s carries a configuration that is not the stack's", errUntrusted, s.Name, s.Run)
	}
	return nil
}

// workEnv is the environment a worker's batch runs in: the stored
// configuration (the stack's own) and the previous one of the run's
// verified request (BatchInput.Origin); a removing batch needs a verified
// CloudFormation Delete. Nothing else of the batch is taken on its word
// (stepfn.Work derives its accounts again).
func (h *Handler) workEnv(ctx context.Context, log *slog.Logger, b stepfn.Batch) (run.Env, error) {
	cfg, err := h.store.load(ctx)
	if err != nil {
		return run.Env{}, fmt.Errorf("%w: work's configuration cannot be checked: %w", errUntrusted, err)
	}
	env := h.env(log, cfg)
	if b.BatchInput.Mode == reconcile.Converge {
		// Each worker reads the promotion state itself: the schedule's
		// cycle saved it before the run started.
		if env, err = h.convergeEnv(ctx, log, cfg); err != nil {
			return run.Env{}, err
		}
	}
	var ev *cfn.Event
	if key := b.BatchInput.Origin; key != "" {
		if ev, env.Previous, err = h.loadRequest(ctx, key); err != nil {
			return run.Env{}, fmt.Errorf("%w: batch: BatchInput.origin: %w", errUntrusted, err)
		}
	}
	if b.BatchInput.Mode != reconcile.Converge && (ev == nil || ev.RequestType != cfn.RequestDelete) {
		return run.Env{}, fmt.Errorf("%w: batch of run %s: %w, and this batch has none", errUntrusted, b.BatchInput.Run, errNotDelete)
	}
	return env, nil
}

func (h *Handler) discover(ctx context.Context, log *slog.Logger, s *trigger.Step) (DiscoverResult, error) {
	if h.deps.Executions != nil {
		behind, err := h.ahead(ctx, s.Run, s.Started)
		if err != nil {
			return DiscoverResult{}, err
		}
		if behind != "" {
			log.Info("another whole-organization run is under way; waiting for its end", "running", behind)
			return DiscoverResult{Wait: true, Behind: behind}, nil
		}
	}
	env := h.env(log, s.Config)
	env.Previous = s.Previous
	d, err := stepfn.Discover(ctx, stepfn.Env{Env: env}, h.runs, stepfn.DiscoverInput{Run: s.Run, Request: run.Request{Mode: modeOf(s.Input.Action)}, Origin: s.Input.Request})
	if err != nil {
		log.Error("discovery failed", "error", err)
		return DiscoverResult{}, err
	}
	return DiscoverResult{Discovery: d}, nil
}

// modeOf is the run's mode for a whole-organization action.
func modeOf(a trigger.Action) reconcile.Mode {
	if a == trigger.Remove {
		return reconcile.RemoveKeepSettings
	}
	return reconcile.Converge
}

// summarize reads the map's results into the run's report, writes the
// metrics, and answers CloudFormation when it started the run.
func (h *Handler) summarize(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	s := req.Step
	var in struct {
		stepfn.SummarizeInput
		Limits Tolerance `json:"limits"`
	}
	if err := json.Unmarshal(s.Payload, &in); err != nil {
		return nil, fmt.Errorf("%w: summarize: %w", trigger.ErrMalformed, err)
	}
	res := Result{Trigger: s.Input.Source, Action: s.Input.Action, Reason: s.Input.Reason}
	rep, err := h.guarded(ctx, log, func(ctx context.Context) (*report.Report, error) {
		rep, err := stepfn.Summarize(ctx, h.env(log, s.Config), h.runs, in.SummarizeInput)
		if err != nil {
			return nil, err
		}
		if req.CloudFormation != nil {
			return h.settle(ctx, log, runRequest(req), &rep)
		}
		return &rep, rep.Err()
	})
	if req.CloudFormation == nil {
		h.finish(log, &res, rep, err, start)
		return SummarizeResult{Failed: err != nil, Summary: res.Summary}, nil
	}
	answerErr := err
	if err != nil && rep != nil && s.Input.Action != trigger.Remove {
		// A Create or Update within the stack's tolerance succeeds, naming
		// its failed accounts; the execution still fails (the alarm).
		if res.tolerated = in.Limits.tolerated(rep); res.tolerated != "" {
			log.Warn("failed accounts within the stack's failure tolerance: answering SUCCESS", "failed", failedAccounts(rep))
			answerErr = nil
		}
	}
	out, aerr := h.answerRun(ctx, log, runRequest(req), res, rep, answerErr, start)
	r := out.(Result)
	return SummarizeResult{Failed: err != nil, Summary: r.Summary, Status: r.Status}, aerr
}

// abort answers CloudFormation FAILED for a run whose step failed, with
// the step's error and cause; a run of the schedule has no one to answer.
func (h *Handler) abort(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	var in struct {
		Error struct {
			Error string `json:"Error"`
			Cause string `json:"Cause"`
		} `json:"error"`
	}
	if err := json.Unmarshal(req.Step.Payload, &in); err != nil {
		return nil, fmt.Errorf("%w: abort: %w", trigger.ErrMalformed, err)
	}
	err := fmt.Errorf("whole-organization run %s failed: %s: %s", req.Step.Run, in.Error.Error, in.Error.Cause)
	log.Error("run aborted", "error", err)
	res := Result{Trigger: req.Step.Input.Source, Action: req.Step.Input.Action, Reason: req.Step.Input.Reason}
	if req.CloudFormation == nil {
		h.finish(log, &res, nil, err, start)
		return SummarizeResult{Failed: true, Summary: res.Summary}, nil
	}
	out, aerr := h.answerRun(ctx, log, runRequest(req), res, nil, err, start)
	r := out.(Result)
	return SummarizeResult{Failed: true, Summary: r.Summary, Status: r.Status}, aerr
}

// runRequest is the CloudFormation request a step's run answers.
func runRequest(req trigger.Request) trigger.Request {
	return trigger.Request{Source: trigger.SourceCloudFormation, Action: req.Step.Input.Action,
		Reason: req.Step.Input.Reason, CloudFormation: req.CloudFormation}
}
