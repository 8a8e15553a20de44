package handler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/stepfn"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

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
	// bucket (NewS3Store) deployed, a stepfn.MemoryStore in tests.
	Runs stepfn.Store
	// StateMachine is the ARN of the whole-organization state machine and
	// Executions its client. With Executions set, whole-organization
	// triggers (CloudFormation, the schedule) start an execution instead of
	// running in the invocation; without, they run here, in process.
	StateMachine string
	Executions   ExecutionsAPI

	// Promotion keeps the promotion state (promotion.S3Store on the runs
	// bucket, StateKey). Every converging run pins the promoted rings'
	// baselines from it (PinnedConfig), and the schedule runs the
	// promotion cycle first (promotionCycle). Without one, a configuration
	// with rings that follow others fails every converging run.
	Promotion promotion.Store
	// AlarmTopic is the ARN of the SNS topic promotion events go to as
	// well as the event bus; empty: the bus alone. EventBus names the bus
	// (the home region's default bus's ARN; empty: the default bus).
	AlarmTopic, EventBus string
	// Alarms reads the gates' CloudWatch alarms, and Publisher sends the
	// promotion events (clients of Management when nil and zero).
	Alarms    promotion.AlarmsAPI
	Publisher *promotion.Publisher

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
	runs    stepfn.Store
	stacks  stacksAPI
	// alarms and publisher serve the promotion cycle.
	alarms    promotion.AlarmsAPI
	publisher promotion.Publisher
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
	h.stacks = cloudformation.NewFromConfig(deps.Management)
	h.runs = deps.Runs
	h.alarms = deps.Alarms
	if h.alarms == nil {
		h.alarms = cloudwatch.NewFromConfig(deps.Management)
	}
	if deps.Publisher != nil {
		h.publisher = *deps.Publisher
	} else {
		h.publisher = promotion.Publisher{Bus: deps.EventBus, Events: eventbridge.NewFromConfig(deps.Management), Topic: sns.NewFromConfig(deps.Management), TopicARN: deps.AlarmTopic}
	}
	if h.runs == nil {
		h.runs = stepfn.NewMemoryStore()
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
	// Promotion is what the schedule's promotion step did, when the
	// configuration has rings that follow others.
	Promotion *PromotionOutcome `json:"promotion,omitempty"`
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
		if err := h.verifyOperation(ctx, req.CloudFormation); err != nil {
			return h.refuse(ctx, log, req, err, start)
		}
		return h.cloudFormation(ctx, log, req, start)
	}
	if req.Action == trigger.Report {
		return h.complianceReport(ctx, log, req, start)
	}
	if err := h.deps.Stack.checkEventAccount(req); err != nil {
		log.Error("event refused; nothing done", "error", err)
		h.emit(log, req.Source, nil, true, start)
		return Result{Trigger: req.Source, Action: req.Action, Reason: err.Error()}, err
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
		env := h.env(log, cfg)
		if req.Source == trigger.SourceSchedule && hasPromotion(cfg) {
			// The cycle decides first, so a promotion reaches the
			// promoted ring's baselines in this same run; with the
			// state machine its workers read the state it saved.
			env.Pinned, res.Promotion, err = h.promotionCycle(ctx, log, cfg)
		} else if h.deps.Executions == nil || len(req.Accounts) > 0 {
			env.Pinned, err = PinnedConfig(ctx, h.deps.Promotion, cfg)
		}
		if err != nil {
			return nil, err
		}
		if h.deps.Executions != nil && len(req.Accounts) == 0 {
			started = true
			return nil, h.startRun(ctx, log, req, cfg, nil)
		}
		return h.converge(ctx, log, req, env, reconcile.Converge), nil
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
