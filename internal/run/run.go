package run

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
)

// Defaults for the zero values of Env: the walk's (internal/fleet).
const (
	DefaultConcurrency   = fleet.DefaultConcurrency
	DefaultTargetTimeout = fleet.DefaultTargetTimeout
	DefaultReserve       = fleet.DefaultReserve
	DefaultRoleWait      = fleet.DefaultRoleWait
)

// Clock tells the time and waits (fleet.Clock); tests and the demo replace it.
type Clock = fleet.Clock

// WallClock is the real Clock, the default of Env.Clock.
type WallClock = fleet.WallClock

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
	// Pinned, when set, is Config with the promotion state's pins applied
	// (promotion.Pin, through handler.PinnedConfig): what converging
	// targets get. Config stays the run's identity (the stack's own, which
	// the Step Functions steps compare); Pinned differs from it only in
	// the approval rules of promoted rings' baselines.
	Pinned *config.Config

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
	// Only, when non-empty (and Accounts empty), is the whole
	// organization's decision for these accounts alone: each is resolved
	// on its own (its state, exclusion, OUs and tags) and decided as a
	// whole-organization run decides it (an excluded account is skipped,
	// not torn down). A worker re-derives its batch's accounts so.
	Only []string
	// DryRun plans without writing.
	DryRun bool
}

// ErrTargetTimeout is the cause of a target's context when TargetTimeout
// (or the run's own deadline) cut it short.
var ErrTargetTimeout = fleet.ErrTargetTimeout

// Run converges every target of req and returns the report. It never
// returns early because a target failed; the report's Err says what failed,
// and names the accounts the run could not attempt. It is Decide, then
// Converge over the plan's accounts, then Complete, in this process.
func Run(ctx context.Context, env Env, req Request) report.Report {
	env = env.withDefaults()
	actions := Keep(&env)
	plan, err := Decide(ctx, env, req)
	if err != nil {
		return Failed(env, req, err)
	}
	rep := plan.Report
	rep.Targets = append(rep.Targets, Converge(ctx, env, req, plan.Accounts)...)
	actions.Attach(&rep)
	Complete(env, &rep)
	return rep
}

// Failed is the report of a run that decided no target: err says why (the
// organization or the regions could not be read).
func Failed(env Env, req Request, err error) report.Report {
	env = env.withDefaults()
	rep := report.Report{Mode: string(cmp.Or(req.Mode, reconcile.Converge)), DryRun: req.DryRun, Started: env.Clock.Now()}
	rep.Fail(err)
	env.Logger.Error("run failed", "error", err)
	return rep
}

// Plan is a run's decision, before any target is worked on.
type Plan struct {
	// Report is the report so far: its header (mode, regions and their
	// source, ring warnings) and the account-wide outcomes (accounts
	// skipped, with why).
	Report report.Report
	// Accounts are the accounts with targets to work on.
	Accounts []Account
}

// Account is one account's work: its targets, region by region, and its
// ring, whose configuration each target converges to (Converge decides
// which configuration a mode takes).
type Account struct {
	ID   string
	Ring string // "" for none
	// RingWhy says what selected Ring (fleet.Rings.Why): plans print it.
	RingWhy string
	// Named: the request named the account (its missing role is waited for).
	Named   bool
	Targets []Target
}

// Target is one region of an account and how it is converged there.
type Target struct {
	Region string
	Mode   reconcile.Mode
}

// newRunner is the runner of env (defaults applied) and req.
func newRunner(env Env, req Request) *runner {
	env = env.withDefaults()
	if req.Mode == "" {
		req.Mode = reconcile.Converge
	}
	return &runner{env: env, req: req, log: env.Logger.With("mode", string(req.Mode))}
}

// withDefaults fills in what run reads itself; the walk (fleet.Walk)
// fills in its own bounds.
func (env Env) withDefaults() Env {
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	if env.Clock == nil {
		env.Clock = WallClock{}
	}
	return env
}

type runner struct {
	env  Env
	req  Request
	log  *slog.Logger
	docs *reconcile.DocumentCache
	// ringConfigs are the configurations of the rings met so far, by ring
	// name (see configFor); filled while the targets are decided, before
	// any goroutine reads them.
	ringConfigs map[string]*config.Config
}

// target is one account x region to reconcile, in mode, to cfg.
type target struct {
	account string
	region  string
	mode    reconcile.Mode
	cfg     *config.Config
	ring    string // the account's ring under cfg ("" for none)
}

// Decide reads the regions and the organization and decides, once, what
// each account gets in which region (converge here, remove there), and to
// which ring's configuration. An error means no target was decided.
func Decide(ctx context.Context, env Env, req Request) (Plan, error) {
	r := newRunner(env, req)
	plan := Plan{Report: report.Report{Mode: string(r.req.Mode), DryRun: r.req.DryRun, Started: r.env.Clock.Now()}}
	rep := &plan.Report
	mgmt := r.env.Management
	ct, param := controltower.NewFromConfig(mgmt), ssm.NewFromConfig(mgmt)
	regions, source, err := fleet.Regions(ctx, r.env.Config, ct, param)
	if err != nil {
		return Plan{}, err
	}
	rep.Regions, rep.RegionSource = regions, source
	var previous []string // the regions of the previous configuration
	if r.removing() {
		if previous, _, err = fleet.Regions(ctx, *r.env.Previous, ct, param); err != nil {
			return Plan{}, fmt.Errorf("regions of the previous configuration: %w", err)
		}
	}
	r.log.Info("run started", "regions", regions, "regionSource", source, "previousRegions", previous,
		"accounts", r.req.Accounts, "dryRun", r.req.DryRun)
	if err := r.accounts(ctx, &plan, regions, previous); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// Converge works on the targets of accounts, as req asks (its Mode and
// DryRun; its Accounts are not read), each to the configuration its mode
// and its account's ring give it under env, and returns every outcome, one
// per target. The walk (fleet.Walk) bounds the concurrency, assumes the
// roles and keeps the deadline reserve; a target it does not reach is in
// the outcomes, with why.
func Converge(ctx context.Context, env Env, req Request, accounts []Account) []report.Target {
	r := newRunner(env, req)
	r.docs = reconcile.NewDocumentCache()
	work := make([][]target, len(accounts))
	results := make([][]report.Target, len(accounts))
	walk := make([]fleet.WalkAccount, len(accounts))
	for i, a := range accounts {
		walk[i] = fleet.WalkAccount{ID: a.ID, Named: a.Named}
		results[i] = make([]report.Target, len(a.Targets))
		for j, t := range a.Targets {
			cfg, ring := r.configFor(t.Mode, a.Ring)
			work[i] = append(work[i], target{account: a.ID, region: t.Region, mode: t.Mode, cfg: cfg, ring: ring})
			results[i][j] = report.Target{Account: a.ID, Region: t.Region, Mode: string(t.Mode), Ring: ring}
			if ring != "" && ring == a.Ring {
				results[i][j].RingWhy = a.RingWhy
			}
			walk[i].Regions = append(walk[i].Regions, t.Region)
		}
	}
	creds := fleet.NewCredentials(r.env.Management, r.env.Config.ConfigurationRoleName)
	fleet.Walk{
		Credentials: creds, Concurrency: r.env.Concurrency, TargetTimeout: r.env.TargetTimeout,
		Reserve: r.env.Reserve, RoleWait: r.env.RoleWait, Clock: r.env.Clock, Logger: r.log,
	}.Run(ctx, walk, fleet.Visitor{
		Visit: func(ctx context.Context, a, j int) { r.reconcileOne(ctx, creds, work[a][j], &results[a][j]) },
		Stop: func(a int, regions []int, s fleet.Stop) {
			for _, j := range regions {
				r.stopped(&results[a][j], s)
			}
		},
	})
	var out []report.Target
	for _, res := range results {
		out = append(out, res...)
	}
	return out
}

// stopped is the outcome of a target the walk did not reach.
func (r *runner) stopped(out *report.Target, s fleet.Stop) {
	switch s.Why {
	case fleet.DeadlineNear:
		out.Status, out.Reason = report.NotStarted, "run deadline near"
	case fleet.RoleMissing:
		out.Status, out.Reason = report.Pending,
			fmt.Sprintf("configuration role %s not assumable yet (its StackSet instance may still be deploying); the next run converges it", r.env.Config.ConfigurationRoleName)
	case fleet.RegionNotOptedIn:
		out.Status, out.Reason = report.Skipped, "region not opted in"
	default:
		out.FailAccount(s.Err)
	}
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
// name rings that select nothing. Accounts with work go to plan.Accounts,
// the others' outcomes to its report.
func (r *runner) accounts(ctx context.Context, plan *Plan, regions, previous []string) error {
	api := organizations.NewFromConfig(r.env.Management)
	named := len(r.req.Accounts) > 0
	list, err := r.list(ctx, api, r.env.Config)
	if err != nil {
		return err
	}
	rings, err := r.rings(ctx, api, list)
	if err != nil {
		return err
	}
	plan.Report.Warnings = rings.Warnings
	// Who the previous configuration excluded; the same accounts when the
	// exclusions did not change.
	wasExcluded := map[string]bool{}
	if prev := r.env.Previous; r.removing() {
		before := list
		if !slices.Equal(prev.ExcludedAccounts, r.env.Config.ExcludedAccounts) || !slices.Equal(prev.ExcludedOUs, r.env.Config.ExcludedOUs) {
			if before, err = r.list(ctx, api, *prev); err != nil {
				return fmt.Errorf("accounts of the previous configuration: %w", err)
			}
		}
		for _, a := range before {
			wasExcluded[a.ID] = a.Excluded != ""
		}
	}
	dropped := slices.DeleteFunc(slices.Clone(previous), func(region string) bool { return slices.Contains(regions, region) })

	skip := func(id, reason string) {
		plan.Report.Targets = append(plan.Report.Targets, report.Target{Account: id, Status: report.Skipped, Reason: reason})
	}
	for _, a := range list {
		acct := Account{ID: a.ID, Named: named}
		in := func(regions []string, mode reconcile.Mode) {
			_, ring := r.configFor(mode, rings.Ring(a.ID))
			if acct.Ring == "" && ring != "" {
				acct.Ring, acct.RingWhy = ring, rings.Why(a.ID)
			}
			for _, region := range regions {
				acct.Targets = append(acct.Targets, Target{Region: region, Mode: mode})
			}
		}
		switch {
		case !a.Active():
			reason := "account state " + a.State
			if a.State == fleet.NotFound {
				reason = "account is not in the organization"
			}
			skip(a.ID, reason)
		case a.Excluded != "" && r.removing() && !wasExcluded[a.ID]:
			// Newly excluded: what the previous configuration made goes.
			in(previous, reconcile.RemoveAndReset)
		case a.Excluded != "" && !named:
			skip(a.ID, a.Excluded)
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
		if len(acct.Targets) > 0 {
			plan.Accounts = append(plan.Accounts, acct)
		}
	}
	return nil
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
	whole := len(r.req.Accounts) == 0 && len(r.req.Only) == 0
	rings, err := fleet.ResolveRings(ctx, api, r.env.Config, ids, whole)
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
// configuration's: ResolveRings chose it, or the caller checked it.
func (r *runner) configFor(mode reconcile.Mode, ring string) (*config.Config, string) {
	if mode == reconcile.RemoveAndReset && r.removing() {
		return r.env.Previous, ""
	}
	if cfg, ok := r.ringConfigs[ring]; ok {
		return cfg, ring
	}
	base := r.env.Config
	if r.env.Pinned != nil {
		base = *r.env.Pinned
	}
	eff, _ := base.ForRing(ring)
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
	if len(r.req.Only) > 0 {
		return fleet.Named(ctx, api, cfg, r.req.Only)
	}
	return fleet.Accounts(ctx, api, cfg)
}

// reconcileOne converges one target under tctx, the walk's context for it.
func (r *runner) reconcileOne(tctx context.Context, creds *fleet.Credentials, t target, out *report.Target) {
	log := r.log.With("account", t.account, "region", t.region)
	start := r.env.Clock.Now()
	defer func() {
		if p := recover(); p != nil {
			out.Fail(fleet.PanicError(log, "target", p))
		}
		out.Duration = r.env.Clock.Now().Sub(start)
		switch out.Status {
		case report.Failed:
			log.Error("target failed", "error", out.Err, "operation", out.Error.Operation, "code", out.Error.Code,
				"writes", out.Writes, "changes", changeLog(out.Actions))
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
	if r.env.BeforeTarget != nil {
		r.env.BeforeTarget(tctx, t.account, t.region)
	}
	cfg := creds.Config(t.account)
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
		ra := report.Action{Kind: string(a.Op), Resource: string(a.Resource), Name: a.Name, Detail: a.Describe()}
		out.Actions = append(out.Actions, ra)
		changed = changed || ra.Changes()
	}
	if err != nil {
		out.Fail(fleet.WithCause(tctx, err))
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
