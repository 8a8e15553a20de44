package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// DefaultConfigParameter is the SSM parameter holding the configuration when
// Deps.ConfigParameter is empty.
const DefaultConfigParameter = "/orgpatch/configuration"

// Deps is what a Handler works with. Management is required; everything
// else has a default.
type Deps struct {
	// Management is the management account's aws.Config (its region is the
	// home region); every client derives from it.
	Management aws.Config
	// ConfigParameter names the SSM parameter holding the configuration
	// (DefaultConfigParameter).
	ConfigParameter string
	// Stack, when set, is what the deployed stack told the function: only
	// its requests and its configuration are acted on (see Stack). The
	// Lambda always sets it; local runs leave it nil.
	Stack *Stack
	// Concurrency bounds the targets worked on at once (run.DefaultConcurrency).
	Concurrency int
	// Reserve is kept free before the Lambda's deadline to report and
	// answer (run.DefaultReserve).
	Reserve time.Duration
	// TargetTimeout and RoleWait are passed to the run (run's defaults).
	TargetTimeout, RoleWait time.Duration

	// Logger receives the JSON log lines (a JSON logger on stdout).
	Logger *slog.Logger
	// Metrics receives the embedded-metric-format lines (stdout).
	Metrics io.Writer
	// Clock tells the time (the wall clock).
	Clock run.Clock
	// HTTPClient sends the CloudFormation answers (a client with a timeout);
	// redirects are never followed.
	HTTPClient *http.Client
	// LoopbackAnswers lets CloudFormation answers go to a loopback address
	// too (the demo, orgpatch invoke, tests); the Lambda never sets it.
	LoopbackAnswers bool

	// Report configures the compliance report run (handler/compliance.go).
	Report ReportSettings
	// Runs holds the objects of whole-organization runs: the stack's
	// bucket (NewS3Store) deployed, a run.MemoryStore in tests.
	Runs run.Store
	// StateMachine is the ARN of the whole-organization state machine and
	// Executions its client. With Executions set, whole-organization
	// triggers (CloudFormation, the schedule) start an execution instead of
	// running in the invocation; without, they run here, in process.
	StateMachine string
	Executions   ExecutionsAPI

	// BeforeTarget, when set, runs as each target starts, in its goroutine:
	// tests use it to delay a target or make it panic.
	BeforeTarget func(ctx context.Context, account, region string)
	// BeforeRun, when set, runs after the configuration is settled and
	// before the run starts: tests use it to panic outside any target.
	BeforeRun func(ctx context.Context, req trigger.Request, cfg config.Config)
}

// Handler runs the Lambda's invocations. It is safe for concurrent use.
type Handler struct {
	deps    Deps
	log     *slog.Logger
	metrics io.Writer
	clock   run.Clock
	http    *http.Client
	store   configStore
	runs    run.Store
}

// New returns a Handler for deps.
func New(deps Deps) *Handler {
	h := &Handler{deps: deps, log: deps.Logger, metrics: deps.Metrics, clock: deps.Clock, http: deps.HTTPClient}
	if h.log == nil {
		h.log = NewLogger(os.Stdout, slog.LevelInfo)
	}
	if h.metrics == nil {
		h.metrics = os.Stdout
	}
	if h.clock == nil {
		h.clock = run.WallClock{}
	}
	h.http = withoutRedirects(h.http)
	if h.deps.Reserve <= 0 {
		h.deps.Reserve = run.DefaultReserve
	}
	name := deps.ConfigParameter
	if name == "" {
		name = DefaultConfigParameter
	}
	h.store = configStore{api: ssm.NewFromConfig(deps.Management), name: name, stack: deps.Stack}
	h.runs = deps.Runs
	if h.runs == nil {
		h.runs = run.NewMemoryStore()
	}
	return h
}

// NewLogger returns the JSON logger the Lambda logs with.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// Result is what an invocation returns: for the Lambda's caller (the
// asynchronous ones discard it) and for `orgpatch invoke`.
type Result struct {
	Trigger trigger.Source `json:"trigger"`
	Action  trigger.Action `json:"action"`
	Reason  string         `json:"reason"`
	// Status is the CloudFormation answer sent, for CloudFormation requests.
	Status cfn.StatusType `json:"status,omitempty"`
	// Summary is the run's one-paragraph account; empty when nothing ran.
	Summary string         `json:"summary,omitempty"`
	Counts  *report.Counts `json:"counts,omitempty"`
	// Report is the whole record of the run, for local callers; it is not
	// part of the Lambda's response (a large organization would outgrow it).
	Report *report.Report `json:"-"`
	// tolerated starts the answer's Reason when its failed accounts were
	// within the stack's failure tolerance (Tolerance).
	tolerated string
}

// Invoke handles one Lambda input, for lambda.Start; the result is always a
// Result. A CloudFormation request is always answered; its error is only a
// failure to answer. Any other event's error names the failed targets (or
// says why the input is malformed), for Lambda's retries and the
// dead-letter queue; ignored events return nil.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	start := h.clock.Now()
	log := h.log
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	req, err := trigger.Decode(raw)
	if err != nil {
		return h.malformed(ctx, log, raw, err, start)
	}
	log = log.With("trigger", string(req.Source), "action", string(req.Action))
	log.Info("invocation started", "reason", req.Reason, "accounts", req.Accounts)
	if req.Step != nil {
		return h.step(ctx, log, req, start)
	}
	if req.CloudFormation != nil {
		if err := h.deps.Stack.checkRequest(req.CloudFormation.StackID, req.Properties); err != nil {
			return h.refuse(ctx, log, req, err, start)
		}
		return h.cloudFormation(ctx, log, req, start)
	}
	if req.Action == trigger.Report {
		return h.complianceReport(ctx, log, req, start)
	}
	return h.event(ctx, log, req, start)
}

// malformed handles input Decode refused. A CloudFormation request that can
// still be answered is answered FAILED, or its stack would hang for an hour.
func (h *Handler) malformed(ctx context.Context, log *slog.Logger, raw json.RawMessage, decodeErr error, start time.Time) (any, error) {
	log.Error("malformed input; nothing done", "error", decodeErr)
	defer h.emit(log, trigger.SourceUnknown, nil, true, start)
	var ev cfn.Event
	if json.Unmarshal(raw, &ev) == nil && ev.ResponseURL != "" {
		if err := h.answer(ctx, &ev, cfn.StatusFailed, decodeErr.Error(), nil); err != nil {
			log.Error("could not answer CloudFormation", "error", err)
			return Result{Trigger: trigger.SourceCloudFormation, Reason: decodeErr.Error()}, errors.Join(decodeErr, err)
		}
		return Result{Trigger: trigger.SourceCloudFormation, Status: cfn.StatusFailed, Reason: decodeErr.Error()}, nil
	}
	return Result{Trigger: trigger.SourceUnknown, Reason: decodeErr.Error()}, decodeErr
}

// event handles an EventBridge event: converge to the stored configuration.
// Without one, or with one that is not the stack's, nothing is done and the
// invocation fails (see configStore.load).
func (h *Handler) event(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	res := Result{Trigger: req.Source, Action: req.Action, Reason: req.Reason}
	if req.Action == trigger.Ignore {
		log.Info("event ignored", "reason", req.Reason)
		h.emit(log, req.Source, nil, false, start)
		return res, nil
	}
	started := false
	rep, err := h.guarded(ctx, log, func(ctx context.Context) (*report.Report, error) {
		cfg, err := h.store.load(ctx)
		if err != nil {
			return nil, err
		}
		if h.deps.Executions != nil && len(req.Accounts) == 0 {
			started = true
			return nil, h.startRun(ctx, log, req, cfg, nil)
		}
		return h.converge(ctx, log, req, h.env(log, cfg), reconcile.Converge), nil
	})
	if started && err == nil {
		res.Summary = "whole-organization run started"
		h.emit(log, req.Source, nil, false, start)
		return res, nil
	}
	if err == nil && rep != nil {
		err = newFailures(rep.Err())
	}
	h.finish(log, &res, rep, err, start)
	return res, err
}

// cloudFormation handles a custom resource request and answers it; with a
// state machine, it starts the run's execution, whose last step answers.
func (h *Handler) cloudFormation(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	res := Result{Trigger: req.Source, Action: req.Action, Reason: req.Reason}
	started := false
	rep, err := h.guarded(ctx, log, func(ctx context.Context) (*report.Report, error) {
		cfg, mode, err := h.cloudFormationConfig(ctx, log, req)
		if err != nil {
			return nil, err
		}
		previous := h.previous(log, req, cfg)
		if h.deps.Executions != nil {
			started = true
			return nil, h.startRun(ctx, log, req, cfg, previous)
		}
		env := h.env(log, cfg)
		env.Previous = previous
		return h.settle(ctx, log, req, h.converge(ctx, log, req, env, mode))
	})
	if started && err == nil {
		res.Summary = "whole-organization run started; its last step answers CloudFormation"
		h.emit(log, req.Source, nil, false, start)
		return res, nil
	}
	return h.answerRun(ctx, log, req, res, rep, err, start)
}

// settle finishes a CloudFormation run: a Delete whose removal is complete
// deletes the configuration parameter. The error is why the run failed
// (for a Delete, why its removal is incomplete), nil when it did not.
func (h *Handler) settle(ctx context.Context, log *slog.Logger, req trigger.Request, rep *report.Report) (*report.Report, error) {
	if req.Action != trigger.Remove {
		return rep, rep.Err()
	}
	if err := removalErr(rep); err != nil {
		log.Warn("delete: removal incomplete; configuration parameter kept for the retried Delete", "parameter", h.store.name)
		return rep, err
	}
	if err := h.store.remove(ctx); err != nil {
		log.Error("delete: windows removed, configuration parameter not deleted", "error", err)
		return rep, err
	}
	log.Info("delete: configuration parameter deleted", "parameter", h.store.name)
	return rep, nil
}

// answerRun reports a CloudFormation run (rep nil when it never ran; err
// why it failed) and answers CloudFormation.
func (h *Handler) answerRun(ctx context.Context, log *slog.Logger, req trigger.Request, res Result, rep *report.Report, err error, start time.Time) (any, error) {
	ev := req.CloudFormation
	h.finish(log, &res, rep, err, start)

	status := cfn.StatusSuccess
	if err != nil {
		status = cfn.StatusFailed
	}
	var data map[string]any
	suffix := ""
	if lambdacontext.LogStreamName != "" {
		suffix = " (log stream " + lambdacontext.LogStreamName + ")"
	}
	var reason string
	note := h.deleteNote(req, rep, err)
	if rep != nil {
		c := rep.Counts
		data = map[string]any{"Targets": c.Targets, "Converged": c.Converged, "Failed": c.Failed, "Pending": c.Pending, "Writes": c.Writes}
		if failed := failedAccounts(rep); len(failed) > 0 {
			data["FailedAccounts"] = namedAccounts(failed)
		}
		// The counts, then as many failed targets as fit.
		reason = res.tolerated + rep.Summary(reasonBudget(ev, data)-len(suffix)-len(note)-len(res.tolerated))
	}
	if err != nil && rep == nil {
		reason = err.Error()
	}
	reason += note + suffix
	res.Status = status
	if aerr := h.answer(ctx, ev, status, reason, data); aerr != nil {
		log.Error("could not answer CloudFormation", "error", aerr, "status", string(status))
		return res, aerr
	}
	log.Info("answered CloudFormation", "status", string(status), "physicalResourceId", PhysicalResourceID)
	return res, nil
}

// removalErr is why a Delete's removal is incomplete, nil when it is not:
// its failures, and the targets the run did not reach, since no later run
// removes their windows.
func removalErr(rep *report.Report) error {
	err := rep.Err()
	if n := rep.Counts.NotStarted + rep.Counts.Pending; n > 0 {
		err = errors.Join(err, fmt.Errorf("%d targets not reached; a retried Delete removes their windows", n))
	}
	return err
}

// maxNote bounds deleteNote, so the Reason keeps room for the counts.
const maxNote = 1024

// deleteNote tells, for a Delete's Reason, what became of the configuration
// parameter: deleted with the removal, or kept (the removal is incomplete,
// or the parameter's deletion failed) so the retried Delete finds it.
func (h *Handler) deleteNote(req trigger.Request, rep *report.Report, err error) string {
	if req.Action != trigger.Remove {
		return ""
	}
	var note string
	switch {
	case err == nil:
		note = "; configuration parameter " + h.store.name + " deleted"
	case rep != nil && removalErr(rep) == nil:
		// Everything was removed but the parameter: say why it is left.
		note = "; windows removed, but " + err.Error()
	default:
		note = "; configuration parameter " + h.store.name + " kept for the retried Delete"
	}
	if len(note) > maxNote {
		note = strings.ToValidUTF8(note[:maxNote], "") + " [...]"
	}
	return note
}

// cloudFormationConfig settles the configuration and mode of a custom
// resource request. Create and Update decode the properties and store them
// for every other trigger; Delete removes with whatever configuration it can
// find (its properties, else the stored one, else the defaults), because a
// Delete that fails on a bad property would leave the stack undeletable.
func (h *Handler) cloudFormationConfig(ctx context.Context, log *slog.Logger, req trigger.Request) (config.Config, reconcile.Mode, error) {
	if req.Action == trigger.Remove {
		cfg, err := config.FromProperties(req.Properties)
		if err == nil {
			return cfg, reconcile.Remove, nil
		}
		log.Warn("delete: properties do not decode; using the stored configuration", "error", err)
		cfg, err = h.store.load(ctx)
		if err != nil {
			log.Warn("delete: no usable stored configuration; using the defaults", "error", err)
			cfg = config.Default()
		}
		return cfg, reconcile.Remove, nil
	}
	cfg, err := config.FromProperties(req.Properties)
	if err != nil {
		return config.Config{}, "", fmt.Errorf("custom resource properties: %w", err)
	}
	if err := h.store.store(ctx, req.Properties); err != nil {
		return config.Config{}, "", err
	}
	if cfg.Disabled {
		log.Info("configuration disabled: tearing down")
	}
	return cfg, reconcile.Converge, nil
}

// previous is the configuration an Update replaces, for the run to remove
// what it made where cfg no longer applies; nil for other requests, and
// for old properties that do not decode (the configuration they stood for
// was never stored, so nothing was made from it). Windows that leave the
// configuration are logged: convergence deletes them.
func (h *Handler) previous(log *slog.Logger, req trigger.Request, cfg config.Config) *config.Config {
	if req.OldProperties == nil || req.Action != trigger.Converge {
		return nil
	}
	old, err := config.FromProperties(req.OldProperties)
	if err != nil {
		log.Warn("update: old properties do not decode; nothing to remove", "error", err)
		return nil
	}
	if gone := leaving(old, cfg); len(gone) > 0 {
		log.Info("windows leave the configuration; their owned copies are deleted", "windows", gone)
	}
	return &old
}

// leaving names the windows of old that cfg no longer has (renamed or
// removed). With cfg disabled, every window leaves.
func leaving(old, cfg config.Config) []string {
	var gone []string
	for _, w := range old.Windows {
		if cfg.Disabled || !slices.ContainsFunc(cfg.Windows, func(n config.Window) bool { return n.Name == w.Name }) {
			gone = append(gone, w.Name)
		}
	}
	return gone
}

// converge hands req to the core: one run, which decides every target.
func (h *Handler) converge(ctx context.Context, log *slog.Logger, req trigger.Request, env run.Env, mode reconcile.Mode) *report.Report {
	if h.deps.BeforeRun != nil {
		h.deps.BeforeRun(ctx, req, env.Config)
	}
	if env.Config.Disabled && mode == reconcile.Converge {
		log.Info("configuration disabled: converging to nothing")
	}
	rep := run.Run(ctx, env, run.Request{Mode: mode, Accounts: req.Accounts})
	return &rep
}

// env is the run environment for cfg.
func (h *Handler) env(log *slog.Logger, cfg config.Config) run.Env {
	return run.Env{
		Management:    h.deps.Management,
		Config:        cfg,
		Concurrency:   h.deps.Concurrency,
		TargetTimeout: h.deps.TargetTimeout,
		Reserve:       h.deps.Reserve,
		RoleWait:      h.deps.RoleWait,
		Logger:        log,
		Clock:         h.clock,
		BeforeTarget:  h.deps.BeforeTarget,
	}
}

// errPanic marks a panic turned into an error.
var errPanic = errors.New("panic")

// errNoTimeLeft is the cause of work's context when the Lambda's deadline
// is too near to go on.
var errNoTimeLeft = errors.New("the Lambda's deadline is near: stopped to report and answer in time")

// guarded runs work so that the caller always gets control back in time to
// report and answer. A panic becomes an error. With a deadline, work's
// context ends a quarter of the reserve before it (the run itself stops
// starting targets a whole reserve before that), and should work still not
// return (a call that ignores its context) the caller goes on without it an
// eighth of the reserve before the deadline, leaving that eighth to answer.
func (h *Handler) guarded(ctx context.Context, log *slog.Logger, work func(context.Context) (*report.Report, error)) (*report.Report, error) {
	type outcome struct {
		rep *report.Report
		err error
	}
	var giveUp <-chan time.Time
	wctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadlineCause(ctx, dl.Add(-h.deps.Reserve/4), errNoTimeLeft)
		defer cancel()
		t := time.NewTimer(max(dl.Sub(h.clock.Now())-h.deps.Reserve/8, 0))
		defer t.Stop()
		giveUp = t.C
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- outcome{err: fmt.Errorf("%w: %v", errPanic, p)}
			}
		}()
		rep, err := work(wctx)
		done <- outcome{rep, err}
	}()
	select {
	case o := <-done:
		return o.rep, o.err
	case <-giveUp:
		err := fmt.Errorf("the run did not return %s before the Lambda's deadline; the next run picks up what is left", h.deps.Reserve/8)
		log.Error("giving up on the run", "error", err)
		return nil, err
	}
}

// finish fills res from the run, logs the summary line and the metrics.
func (h *Handler) finish(log *slog.Logger, res *Result, rep *report.Report, err error, start time.Time) {
	if rep != nil {
		res.Report, res.Counts = rep, &rep.Counts
		res.Summary = rep.Summary(reasonBudgetDefault)
	}
	if err != nil && rep == nil {
		res.Summary = err.Error()
	}
	took := h.clock.Now().Sub(start)
	attrs := []any{"reason", res.Reason, "duration", took}
	if rep != nil {
		c := rep.Counts
		attrs = append(attrs, "targets", c.Targets, "converged", c.Converged, "unchanged", c.Unchanged,
			"failed", c.Failed, "skipped", c.Skipped, "pending", c.Pending, "notStarted", c.NotStarted, "writes", c.Writes)
	}
	switch {
	case err != nil && rep != nil:
		// Each failed target has its own log line; the summary names the first.
		log.Error("invocation finished with failures", append(attrs, "summary", res.Summary)...)
	case err != nil:
		log.Error("invocation failed", append(attrs, "error", err)...)
	default:
		log.Info("invocation finished", attrs...)
	}
	h.emit(log, res.Trigger, rep, err != nil, start)
}

// reasonBudgetDefault bounds the summary kept in Result and logs.
const reasonBudgetDefault = 3000

func (h *Handler) emit(log *slog.Logger, src trigger.Source, rep *report.Report, failed bool, start time.Time) {
	now := h.clock.Now()
	if err := writeMetrics(h.metrics, now, src, rep, failed, now.Sub(start)); err != nil {
		log.Warn("metrics not written", "error", err)
	}
}

// StoredConfig reads the configuration the stack's custom resource stored
// in the parameter name (DefaultConfigParameter when empty) of the
// management account mgmt: the one every trigger converges to, and the
// previous configuration of the next Update. found is false when none is
// stored.
func StoredConfig(ctx context.Context, mgmt aws.Config, name string) (cfg config.Config, found bool, err error) {
	if name == "" {
		name = DefaultConfigParameter
	}
	// No Stack: a workstation has no stack identity to hold the parameter
	// to; it reads what the stack stored.
	cfg, err = configStore{api: ssm.NewFromConfig(mgmt), name: name}.load(ctx)
	if errors.Is(err, errNoConfiguration) {
		return config.Config{}, false, nil
	}
	return cfg, err == nil, err
}
