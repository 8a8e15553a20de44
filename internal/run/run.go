package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
)

// Defaults for the zero values of Env.
const (
	// DefaultConcurrency bounds the targets worked on at once. Each target
	// is a short chain of sequential HTTP calls, so the work is network
	// bound: 64 keeps a 1,000-account x 17-region organization (about 10
	// calls per target) well inside a 15-minute Lambda even when every call
	// takes 100 ms, while 64 sockets and goroutines sit far below a Lambda's
	// 1,024 file descriptors and need a few MB of a 512 MB function.
	// Throttling is per account x region, so targets do not compete for it.
	DefaultConcurrency = 64
	// DefaultTargetTimeout bounds one account x region, retries included.
	DefaultTargetTimeout = 3 * time.Minute
	// DefaultReserve is kept free before the context's deadline: no target
	// starts within it, running ones are cancelled halfway through it, and
	// the rest is left to write the report and answer CloudFormation.
	DefaultReserve = 30 * time.Second
	// DefaultRoleWait is how long a named account's configuration role is
	// waited for (StackSets deploy it minutes after the account exists).
	DefaultRoleWait = 2 * time.Minute
)

// Clock tells the time and waits; tests and the demo replace it. Deadlines
// are computed as durations from Clock.Now to the context's deadline, so a
// Clock running ahead of the wall clock shortens them, never lengthens them.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, and returns ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
}

// Env is what a run works with; everything but Management and Config has a
// default.
type Env struct {
	// Management is the management account's configuration (its region is
	// the home region); every client, member accounts' included, derives
	// from it.
	Management aws.Config
	// Config is the desired configuration, already validated.
	Config config.Config
	// Previous is the configuration the organization was last converged to
	// (the stored one), nil when there is none. A converging run also
	// removes what orgpatch made where Previous applied and Config no
	// longer does: regions Config dropped, accounts it newly excludes (by
	// id or OU). Accounts that left the organization stay out.
	Previous *config.Config

	// Concurrency bounds the targets reconciled at once, and separately the
	// accounts being prepared (AssumeRole, DescribeRegions) at once
	// (DefaultConcurrency).
	Concurrency int
	// TargetTimeout bounds one target (DefaultTargetTimeout).
	TargetTimeout time.Duration
	// Reserve is kept free before the context's deadline (DefaultReserve).
	Reserve time.Duration
	// RoleWait bounds the wait for a named account's role (DefaultRoleWait).
	RoleWait time.Duration

	Logger *slog.Logger // slog.Default() when nil
	Clock  Clock        // the wall clock when nil

	// Sizing bounds the batches of accounts a whole-organization run is cut
	// into (DefaultSizing's zero fields filled in).
	Sizing Sizing
	// Batches bounds the batches worked on at once in this process (1); a
	// deployed run's bound is the Distributed Map's MaxConcurrency.
	Batches int

	// BeforeTarget, when set, is called as each target starts, in the
	// target's goroutine and context: tests use it to delay or to panic.
	BeforeTarget func(ctx context.Context, account, region string)
	// OnTarget, when set, is given each reconciled target's outcome, its
	// actions included, as it finishes, in the target's goroutine (so at
	// the same time as other targets'). The run's own records keep no
	// actions: what changed is handed here and logged ("target done",
	// with the changes), then dropped, so that a run's memory grows with
	// the concurrency, not with what it changed. Run sets it to put the
	// actions back into its report.
	OnTarget func(report.Target)
}

// Request is what to converge.
type Request struct {
	// Mode is how to converge (reconcile.Converge when empty).
	Mode reconcile.Mode
	// Accounts, when non-empty, limits the run to these account ids (a new
	// or moved account); an excluded one among them is torn down, one that
	// is not ACTIVE is skipped. Empty means the whole organization, where
	// excluded accounts are skipped.
	Accounts []string
	// DryRun plans without writing.
	DryRun bool
}

// ErrTargetTimeout is the cause of a target's context when TargetTimeout
// (or the run's own deadline) cut it short.
var ErrTargetTimeout = errors.New("target deadline exceeded")

// Run converges every target of req and returns the report. It never
// returns early because a target failed; the report's Err says what failed,
// and names the accounts the run could not attempt. It runs the three steps
// of a deployed whole-organization run (Discover, Work over batches,
// Summarize) in this process, with the same payloads (see steps.go).
func Run(ctx context.Context, env Env, req Request) report.Report {
	return runInProcess(ctx, env, req)
}

// newRunner is the runner of env (defaults applied) and req.
func newRunner(env Env, req Request) *runner {
	env = env.withDefaults()
	if req.Mode == "" {
		req.Mode = reconcile.Converge
	}
	return &runner{env: env, req: req, log: env.Logger.With("mode", string(req.Mode))}
}

func (env Env) withDefaults() Env {
	if env.Concurrency <= 0 {
		env.Concurrency = DefaultConcurrency
	}
	if env.TargetTimeout <= 0 {
		env.TargetTimeout = DefaultTargetTimeout
	}
	if env.Reserve <= 0 {
		env.Reserve = DefaultReserve
	}
	if env.RoleWait <= 0 {
		env.RoleWait = DefaultRoleWait
	}
	if env.Batches <= 0 {
		env.Batches = 1
	}
	env.Sizing = env.Sizing.withDefaults()
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	if env.Clock == nil {
		env.Clock = WallClock{}
	}
	return env
}

type runner struct {
	env   Env
	req   Request
	log   *slog.Logger
	creds *fleet.Credentials
	docs  *reconcile.DocumentCache
	// ringConfigs are the configurations of the rings met so far, by ring
	// name (see configFor); filled while the targets are decided, before
	// any goroutine reads them.
	ringConfigs map[string]*config.Config

	// stopAt: no target starts after it; cutAt: running targets are
	// cancelled at it. Zero when the context has no deadline.
	stopAt, cutAt time.Time
}

// account is one account's share of the run.
type account struct {
	fleet.Account
	named    bool
	work     []target        // what the run means to do there, region by region
	targets  []target        // of work, what the account is ready for
	outcomes []report.Target // the other regions' outcomes
	results  []report.Target // one per targets[i]
}

// target is one account x region to reconcile, in mode, to cfg.
type target struct {
	account string
	region  string
	mode    reconcile.Mode
	cfg     *config.Config
	ring    string // the account's ring under cfg ("" for none)
}

// discover reads the regions and the accounts and decides, once, what each
// account gets in which region, and to which ring's configuration. It fills
// the report's header (regions and their source, ring warnings) and returns
// the accounts, with the account-wide outcomes (skipped accounts) already in
// them.
func (r *runner) discover(ctx context.Context, rep *report.Report) ([]*account, error) {
	mgmt := r.env.Management
	ct, param := controltower.NewFromConfig(mgmt), ssm.NewFromConfig(mgmt)
	regions, source, err := fleet.Regions(ctx, r.env.Config, ct, param)
	if err != nil {
		return nil, err
	}
	rep.Regions, rep.RegionSource = regions, source
	var previous []string // the regions of the previous configuration
	if r.removing() {
		if previous, _, err = fleet.Regions(ctx, *r.env.Previous, ct, param); err != nil {
			return nil, fmt.Errorf("regions of the previous configuration: %w", err)
		}
	}
	r.log.Info("run started", "regions", regions, "regionSource", source, "previousRegions", previous,
		"accounts", r.req.Accounts, "dryRun", r.req.DryRun)
	accounts, warnings, err := r.accounts(ctx, regions, previous)
	rep.Warnings = warnings
	return accounts, err
}

// work converges the targets of accounts and returns every outcome, the
// account-wide ones included.
func (r *runner) work(ctx context.Context, accounts []*account) []report.Target {
	if dl, ok := ctx.Deadline(); ok {
		r.stopAt = dl.Add(-r.env.Reserve)
		r.cutAt = dl.Add(-r.env.Reserve / 2)
	}
	r.creds = fleet.NewCredentials(r.env.Management, r.env.Config.ConfigurationRoleName)
	r.docs = reconcile.NewDocumentCache()

	// Per account: credentials and opted-in regions; then, as soon as an
	// account is ready, its account x region targets. The two stages are
	// pipelined so that the per-account calls (AssumeRole, throttled on the
	// management account's side) overlap the reconciles.
	ready := make(chan *account)
	go func() {
		var g errgroup.Group
		g.SetLimit(r.env.Concurrency)
		for _, a := range accounts {
			if len(a.work) == 0 {
				continue
			}
			g.Go(func() error {
				r.prepareAccount(ctx, a)
				ready <- a
				return nil
			})
		}
		_ = g.Wait() // every task returns nil; outcomes are in the accounts
		close(ready)
	}()
	var g errgroup.Group
	g.SetLimit(r.env.Concurrency)
	for a := range ready {
		a.results = make([]report.Target, len(a.targets))
		for i, t := range a.targets {
			out := &a.results[i]
			*out = report.Target{Account: a.ID, Region: t.region, Mode: string(t.mode), Ring: t.ring}
			if r.stopping() {
				out.Status, out.Reason = report.NotStarted, "run deadline near"
				continue
			}
			g.Go(func() error {
				r.reconcileOne(ctx, t, out)
				return nil
			})
		}
	}
	_ = g.Wait() // every task returns nil; outcomes are in the accounts
	var out []report.Target
	for _, a := range accounts {
		out = append(out, a.outcomes...)
		out = append(out, a.results...)
	}
	return out
}

// removing reports whether the run also removes what the previous
// configuration made where the new one no longer applies. A disabled
// previous configuration made nothing.
func (r *runner) removing() bool {
	return r.env.Previous != nil && !r.env.Previous.Disabled && r.req.Mode == reconcile.Converge
}

// accounts resolves the request's accounts and decides, once, what each
// one gets in which region: regions are the new configuration's, previous
// the previous one's (nil when the run removes nothing). Each account
// converges to its ring's configuration (fleet.ResolveRings); the warnings
// name rings that select nothing.
func (r *runner) accounts(ctx context.Context, regions, previous []string) ([]*account, []string, error) {
	api := organizations.NewFromConfig(r.env.Management)
	named := len(r.req.Accounts) > 0
	list, err := r.list(ctx, api, r.env.Config)
	if err != nil {
		return nil, nil, err
	}
	rings, err := r.rings(ctx, api, list)
	if err != nil {
		return nil, nil, err
	}
	// Who the previous configuration excluded; the same accounts when the
	// exclusions did not change.
	wasExcluded := map[string]bool{}
	if prev := r.env.Previous; r.removing() {
		before := list
		if !slices.Equal(prev.ExcludedAccounts, r.env.Config.ExcludedAccounts) || !slices.Equal(prev.ExcludedOUs, r.env.Config.ExcludedOUs) {
			if before, err = r.list(ctx, api, *prev); err != nil {
				return nil, nil, fmt.Errorf("accounts of the previous configuration: %w", err)
			}
		}
		for _, a := range before {
			wasExcluded[a.ID] = a.Excluded != ""
		}
	}
	dropped := slices.DeleteFunc(slices.Clone(previous), func(region string) bool { return slices.Contains(regions, region) })

	out := make([]*account, 0, len(list))
	for _, a := range list {
		acct := &account{Account: a, named: named}
		in := func(regions []string, mode reconcile.Mode) {
			cfg, ring := r.configFor(mode, rings.Ring(a.ID))
			for _, region := range regions {
				acct.work = append(acct.work, target{account: a.ID, region: region, mode: mode, cfg: cfg, ring: ring})
			}
		}
		switch {
		case !a.Active():
			reason := "account state " + a.State
			if a.State == fleet.NotFound {
				reason = "account is not in the organization"
			}
			acct.outcomes = append(acct.outcomes, report.Target{Account: a.ID, Status: report.Skipped, Reason: reason})
		case a.Excluded != "" && r.removing() && !wasExcluded[a.ID]:
			// Newly excluded: what the previous configuration made goes.
			in(previous, reconcile.RemoveAndReset)
		case a.Excluded != "" && !named:
			acct.outcomes = append(acct.outcomes, report.Target{Account: a.ID, Status: report.Skipped, Reason: a.Excluded})
		case a.Excluded != "" && r.req.Mode == reconcile.Converge:
			// Level-based: an account moved into an excluded OU, and named
			// by its move event, loses what we own there.
			in(regions, reconcile.RemoveAndReset)
		default:
			in(regions, r.req.Mode)
			if !wasExcluded[a.ID] {
				in(dropped, reconcile.RemoveAndReset)
			}
		}
		out = append(out, acct)
	}
	return out, rings.Warnings, nil
}

// rings resolves the ring of every active account of list (no call when
// the configuration has no rings).
func (r *runner) rings(ctx context.Context, api fleet.RingsAPI, list []fleet.Account) (fleet.Rings, error) {
	var ids []string
	for _, a := range list {
		if a.Active() {
			ids = append(ids, a.ID)
		}
	}
	rings, err := fleet.ResolveRings(ctx, api, r.env.Config, ids, len(r.req.Accounts) == 0)
	if err != nil {
		return fleet.Rings{}, fmt.Errorf("resolve rings: %w", err)
	}
	return rings, nil
}

// configFor is the configuration a target in mode of an account in ring
// converges to, and the ring its report names. Teardowns undo what a
// configuration made: the previous one when the run removes what it made
// (as it is: no ring), else the new one. Under the new configuration the
// account gets its ring's (config.ForRing; "" is the configuration's own
// settings), one copy per ring for the whole run. ring is one of the
// configuration's: ResolveRings chose it, or Work checked it.
func (r *runner) configFor(mode reconcile.Mode, ring string) (*config.Config, string) {
	if mode == reconcile.RemoveAndReset && r.removing() {
		return r.env.Previous, ""
	}
	if cfg, ok := r.ringConfigs[ring]; ok {
		return cfg, ring
	}
	eff, _ := r.env.Config.ForRing(ring)
	if r.ringConfigs == nil {
		r.ringConfigs = map[string]*config.Config{}
	}
	r.ringConfigs[ring] = &eff
	return &eff, ring
}

// list is the request's named accounts, or the whole organization, as cfg
// sees them.
func (r *runner) list(ctx context.Context, api fleet.OrganizationsAPI, cfg config.Config) ([]fleet.Account, error) {
	if len(r.req.Accounts) > 0 {
		return fleet.Named(ctx, api, cfg, r.req.Accounts)
	}
	return fleet.Accounts(ctx, api, cfg)
}

// prepareAccount assumes the role in the account and finds the regions it
// has opted in to, filling a.regions (to reconcile) and a.outcomes
// (everything else).
func (r *runner) prepareAccount(ctx context.Context, a *account) {
	log := r.log.With("account", a.ID)
	perRegion := func(t report.Target) {
		for _, w := range a.work {
			t.Account, t.Region, t.Mode = a.ID, w.region, string(w.mode)
			a.outcomes = append(a.outcomes, t)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err := panicError(log, "account preparation", p)
			var t report.Target
			t.FailAccount(err)
			a.targets, a.outcomes = nil, nil
			perRegion(t)
		}
	}()
	if r.stopping() {
		perRegion(report.Target{Status: report.NotStarted, Reason: "run deadline near"})
		return
	}
	actx, cancel := r.targetContext(ctx)
	defer cancel()

	if err := r.assumeRole(actx, a, log); err != nil {
		if isRoleMissing(err) && a.named {
			log.Warn("configuration role not deployed yet; pending", "error", err)
			perRegion(report.Target{Status: report.Pending,
				Reason: fmt.Sprintf("configuration role %s not assumable yet (its StackSet instance may still be deploying); the next run converges it", r.env.Config.ConfigurationRoleName)})
			return
		}
		log.Error("assume role failed", "error", err)
		var t report.Target
		t.FailAccount(err)
		perRegion(t)
		return
	}
	optedOut, err := fleet.NotOptedIn(actx, ec2.NewFromConfig(r.creds.Config(a.ID)))
	if err != nil {
		log.Error("describe regions failed", "error", err)
		var t report.Target
		t.FailAccount(err)
		perRegion(t)
		return
	}
	for _, w := range a.work {
		if optedOut[w.region] {
			a.outcomes = append(a.outcomes, report.Target{Account: a.ID, Region: w.region, Mode: string(w.mode),
				Status: report.Skipped, Reason: "region not opted in"})
			continue
		}
		a.targets = append(a.targets, w)
	}
}

// assumeRole retrieves the account's role credentials. For a named account
// whose role is missing it retries with backoff for up to RoleWait (the
// role's StackSet instance may still be deploying). AssumeRole calls all
// come from the management account, so at organization scale they share one
// throttling quota: a throttled attempt that outlived the SDK's own retries
// is tried again until the account's context ends.
func (r *runner) assumeRole(ctx context.Context, a *account, log *slog.Logger) error {
	roleDeadline := r.env.Clock.Now().Add(r.env.RoleWait)
	if !r.stopAt.IsZero() && r.stopAt.Before(roleDeadline) {
		roleDeadline = r.stopAt
	}
	delay := time.Second
	for {
		err := r.creds.Retrieve(ctx, a.ID)
		switch {
		case err == nil:
			return nil
		case throttles.IsErrorThrottle(err).Bool():
			log.Debug("AssumeRole throttled; trying again", "wait", delay)
		case a.named && isRoleMissing(err):
			if r.env.Clock.Now().Add(delay).After(roleDeadline) {
				return err
			}
			log.Info("configuration role not assumable yet; waiting", "wait", delay)
		default:
			return err
		}
		if serr := r.env.Clock.Sleep(ctx, delay); serr != nil {
			return err
		}
		delay = min(2*delay, 15*time.Second)
	}
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// panicError turns a recovered panic into the target's error. The stack goes
// to the log, where an engineer debugging it looks; the error stays one line,
// because it travels into reports and CloudFormation's 4 KB reason.
func panicError(log *slog.Logger, what string, p any) error {
	log.Error(what+" panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return fmt.Errorf("panic: %v", p)
}

func (r *runner) reconcileOne(ctx context.Context, t target, out *report.Target) {
	log := r.log.With("account", t.account, "region", t.region)
	start := r.env.Clock.Now()
	defer func() {
		if p := recover(); p != nil {
			out.Fail(panicError(log, "target", p))
		}
		out.Duration = r.env.Clock.Now().Sub(start)
		switch out.Status {
		case report.Failed:
			log.Error("target failed", "error", out.Err, "operation", out.Error.Operation, "code", out.Error.Code,
				"writes", out.Writes, "changes", changeLog(out.Actions))
		case report.NotStarted:
			log.Warn("target not started", "reason", out.Reason)
		case report.Unchanged, report.NoChange:
			log.Debug("target done", "status", string(out.Status))
		default:
			log.Info("target done", "status", string(out.Status), "writes", out.Writes, "changes", changeLog(out.Actions))
		}
		if r.env.OnTarget != nil {
			r.env.OnTarget(*out)
		}
		out.Actions = nil
	}()
	// The slot may have come free only after the deadline reserve began.
	if r.stopping() {
		out.Status, out.Reason = report.NotStarted, "run deadline near"
		return
	}
	tctx, cancel := r.targetContext(ctx)
	defer cancel()
	if r.env.BeforeTarget != nil {
		r.env.BeforeTarget(tctx, t.account, t.region)
	}
	cfg := r.creds.Config(t.account)
	client := ssm.NewFromConfig(cfg, awsconf.SSMIn(t.region))
	tagging := resourcegroupstaggingapi.NewFromConfig(cfg, awsconf.TaggingIn(t.region))
	res, err := reconcile.Reconcile(tctx, reconcile.Clients{client}, reconcile.Input{
		Account:   t.account,
		Region:    t.region,
		Partition: fleet.Partition(t.region),
		Config:    *t.cfg,
		Mode:      t.mode,
		DryRun:    r.req.DryRun,
		Documents: r.docs,
		Tagging:   tagging,
	})
	out.Writes = res.Writes
	changed := false
	for _, a := range res.Actions {
		// What already matched is left out: kept for every target of a
		// large organization, it would make the report (and the Lambda's
		// memory) grow with the organization instead of with the changes.
		if a.Op == reconcile.OpUnchanged {
			continue
		}
		out.Actions = append(out.Actions, report.Action{Kind: string(a.Op), Resource: string(a.Resource), Name: a.Name, Detail: a.Describe()})
		changed = true
	}
	if err != nil {
		if cause := context.Cause(tctx); cause != nil && errors.Is(cause, ErrTargetTimeout) && !errors.Is(err, ErrTargetTimeout) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		out.Fail(err)
		return
	}
	switch {
	case r.req.DryRun && changed:
		out.Status = report.WillChange
	case r.req.DryRun:
		out.Status = report.NoChange
	case out.Writes > 0:
		out.Status = report.Converged
	default:
		out.Status = report.Unchanged
	}
}

// changeLog is a target's actions as its log record shows them, one line
// each; the lines are made only if the record is written.
type changeLog []report.Action

func (c changeLog) LogValue() slog.Value {
	lines := make([]string, len(c))
	for i, a := range c {
		lines[i] = a.Line()
	}
	return slog.AnyValue(lines)
}

// targetContext bounds one target: TargetTimeout, and the run's cut-off.
func (r *runner) targetContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := r.env.TargetTimeout
	if !r.cutAt.IsZero() {
		timeout = min(timeout, r.cutAt.Sub(r.env.Clock.Now()))
	}
	return context.WithTimeoutCause(ctx, timeout, ErrTargetTimeout)
}

// stopping reports whether the deadline reserve has begun.
func (r *runner) stopping() bool {
	return !r.stopAt.IsZero() && !r.env.Clock.Now().Before(r.stopAt)
}

// isRoleMissing: AssumeRole was refused, which for an account that exists
// means its configuration role is not there (yet) or does not trust us.
func isRoleMissing(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "AccessDenied"
}

// WallClock is the real Clock: time.Now, and a sleep that ends early when
// ctx is done. It is the default of Env.Clock.
type WallClock struct{}

func (WallClock) Now() time.Time { return time.Now() }

func (WallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
