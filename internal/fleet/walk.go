package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// Defaults for the zero values of Walk.
const (
	// DefaultConcurrency bounds the targets worked on at once. Each target
	// is a short chain of sequential HTTP calls (run.TargetCost), so the work is
	// network bound: 64 keeps a 1,000-account x 17-region organization well
	// inside a 15-minute Lambda even when every call takes 100 ms, while 64
	// sockets and goroutines sit far below a Lambda's 1,024 file descriptors
	// and need a few MB of a 512 MB function. Throttling is per account x
	// region, so targets do not compete for it.
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

// ErrTargetTimeout is the cause of a target's context when TargetTimeout
// (or the walk's own cut-off) cut it short.
var ErrTargetTimeout = errors.New("target deadline exceeded")

// Clock tells the time and waits; tests and the demo replace it. Deadlines
// are computed as durations from Clock.Now to the context's deadline, so a
// Clock running ahead of the wall clock shortens them, never lengthens them.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, and returns ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the real Clock: time.Now, and a sleep that ends early when
// ctx is done.
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

// Walk is the one fan-out over account x region targets: converge, plan,
// teardown and the compliance report all walk through it.
//
// Per account (Concurrency at a time): the configuration role is assumed
// (a throttled AssumeRole is tried again until the account's context ends;
// a named account's missing role is waited for up to RoleWait) and the
// regions it has not opted in to are found. As soon as an account is ready
// its targets are visited, Concurrency at a time, each with its own
// context (TargetTimeout, and the cut-off). The two stages overlap, so the
// per-account calls (throttled on the management account's side) run
// beside the targets' work.
//
// With a deadline on the context, no account or target starts within
// Reserve of it, and running ones are cancelled halfway through it, so
// that the caller always has time to report.
type Walk struct {
	// Credentials assumes the configuration role in each account.
	Credentials *Credentials
	// Concurrency bounds the targets visited at once, and separately the
	// accounts being prepared at once (DefaultConcurrency).
	Concurrency int
	// TargetTimeout bounds one target, and one account's preparation
	// (DefaultTargetTimeout).
	TargetTimeout time.Duration
	// Reserve is kept free before the context's deadline (DefaultReserve).
	Reserve time.Duration
	// RoleWait bounds the wait for a named account's role (DefaultRoleWait).
	RoleWait time.Duration
	Clock    Clock        // WallClock when nil
	Logger   *slog.Logger // slog.Default() when nil
}

// Stop is the walk's own decision about some targets: why it did not visit
// them.
type Stop struct {
	Why StopReason
	// Err is the failure, for RoleMissing and AccountFailed.
	Err error
}

// StopReason says why a target was not visited.
type StopReason int

const (
	// DeadlineNear: the deadline reserve had begun.
	DeadlineNear StopReason = iota + 1
	// RoleMissing: a named account's configuration role could not be
	// assumed within RoleWait (its StackSet instance may still be on its way).
	RoleMissing
	// AccountFailed: the role could not be assumed, or the account's
	// regions read, or the preparation panicked.
	AccountFailed
	// RegionNotOptedIn: the account has not opted in to the region.
	RegionNotOptedIn
)

// WalkAccount is one account to walk, with the regions to visit there.
type WalkAccount struct {
	ID string
	// Named: the request named the account, so a missing role is waited
	// for (RoleWait), and reported as RoleMissing rather than failed.
	Named   bool
	Regions []string
}

// Visitor is what a walk does. Every region of every account gets exactly
// one call, Visit or Stop; calls for different targets come from different
// goroutines at once.
type Visitor struct {
	// Visit works on accounts[a].Regions[r], under ctx (its own deadline,
	// whose cause is ErrTargetTimeout when it ran out). A panic in it is
	// the caller's to recover (it knows where the target's outcome goes).
	Visit func(ctx context.Context, a, r int)
	// Stop is told of the regions of accounts[a] the walk will not visit,
	// and why.
	Stop func(a int, regions []int, s Stop)
}

func (w Walk) withDefaults() Walk {
	if w.Concurrency <= 0 {
		w.Concurrency = DefaultConcurrency
	}
	if w.TargetTimeout <= 0 {
		w.TargetTimeout = DefaultTargetTimeout
	}
	if w.Reserve <= 0 {
		w.Reserve = DefaultReserve
	}
	if w.RoleWait <= 0 {
		w.RoleWait = DefaultRoleWait
	}
	if w.Clock == nil {
		w.Clock = WallClock{}
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	return w
}

// walker is one walk under way.
type walker struct {
	Walk
	v Visitor
	// stopAt: no target starts after it; cutAt: running targets are
	// cancelled at it. Zero when the context has no deadline.
	stopAt, cutAt time.Time
}

// Run walks accounts and returns when every target is visited or stopped.
func (w Walk) Run(ctx context.Context, accounts []WalkAccount, v Visitor) {
	wk := &walker{Walk: w.withDefaults(), v: v}
	if dl, ok := ctx.Deadline(); ok {
		wk.stopAt = dl.Add(-wk.Reserve)
		wk.cutAt = dl.Add(-wk.Reserve / 2)
	}
	type ready struct {
		a       int
		regions []int
	}
	readies := make(chan ready)
	go func() {
		var g errgroup.Group
		g.SetLimit(wk.Concurrency)
		for a := range accounts {
			if len(accounts[a].Regions) == 0 {
				continue
			}
			g.Go(func() error {
				if regions := wk.prepare(ctx, a, accounts[a]); len(regions) > 0 {
					readies <- ready{a, regions}
				}
				return nil
			})
		}
		_ = g.Wait() // every task returns nil; outcomes went to the visitor
		close(readies)
	}()
	var g errgroup.Group
	g.SetLimit(wk.Concurrency)
	for rd := range readies {
		for _, r := range rd.regions {
			if wk.stopping() {
				v.Stop(rd.a, []int{r}, Stop{Why: DeadlineNear})
				continue
			}
			g.Go(func() error {
				// The slot may have come free only after the reserve began.
				if wk.stopping() {
					v.Stop(rd.a, []int{r}, Stop{Why: DeadlineNear})
					return nil
				}
				tctx, cancel := wk.targetContext(ctx)
				defer cancel()
				v.Visit(tctx, rd.a, r)
				return nil
			})
		}
	}
	_ = g.Wait() // every task returns nil; outcomes went to the visitor
}

// prepare assumes the role in the account and finds the regions it has
// opted in to; it returns the indexes of the regions to visit and has told
// the visitor of the others.
func (wk *walker) prepare(ctx context.Context, a int, acct WalkAccount) (visit []int) {
	log := wk.Logger.With("account", acct.ID)
	all := make([]int, len(acct.Regions))
	for i := range all {
		all[i] = i
	}
	defer func() {
		if p := recover(); p != nil {
			visit = nil
			wk.v.Stop(a, all, Stop{Why: AccountFailed, Err: PanicError(log, "account preparation", p)})
		}
	}()
	if wk.stopping() {
		wk.v.Stop(a, all, Stop{Why: DeadlineNear})
		return nil
	}
	actx, cancel := wk.targetContext(ctx)
	defer cancel()
	if err := wk.assumeRole(actx, acct, log); err != nil {
		if IsRoleMissing(err) && acct.Named {
			log.Warn("configuration role not deployed yet; pending", "error", err)
			wk.v.Stop(a, all, Stop{Why: RoleMissing, Err: err})
			return nil
		}
		log.Error("assume role failed", "error", err)
		wk.v.Stop(a, all, Stop{Why: AccountFailed, Err: err})
		return nil
	}
	optedOut, err := NotOptedIn(actx, ec2.NewFromConfig(wk.Credentials.Config(acct.ID)))
	if err != nil {
		log.Error("describe regions failed", "error", err)
		wk.v.Stop(a, all, Stop{Why: AccountFailed, Err: err})
		return nil
	}
	var out []int
	for i, region := range acct.Regions {
		if optedOut[region] {
			out = append(out, i)
			continue
		}
		visit = append(visit, i)
	}
	if len(out) > 0 {
		wk.v.Stop(a, out, Stop{Why: RegionNotOptedIn})
	}
	return visit
}

// assumeRole retrieves the account's role credentials. For a named account
// whose role is missing it retries with backoff for up to RoleWait (the
// role's StackSet instance may still be deploying). AssumeRole calls all
// come from the management account, so at organization scale they share one
// throttling quota: a throttled attempt that outlived the SDK's own retries
// is tried again until the account's context ends.
func (wk *walker) assumeRole(ctx context.Context, acct WalkAccount, log *slog.Logger) error {
	roleDeadline := wk.Clock.Now().Add(wk.RoleWait)
	if !wk.stopAt.IsZero() && wk.stopAt.Before(roleDeadline) {
		roleDeadline = wk.stopAt
	}
	delay := time.Second
	for {
		err := wk.Credentials.Retrieve(ctx, acct.ID)
		switch {
		case err == nil:
			return nil
		case throttles.IsErrorThrottle(err).Bool():
			log.Debug("AssumeRole throttled; trying again", "wait", delay)
		case acct.Named && IsRoleMissing(err):
			if wk.Clock.Now().Add(delay).After(roleDeadline) {
				return err
			}
			log.Info("configuration role not assumable yet; waiting", "wait", delay)
		default:
			return err
		}
		if serr := wk.Clock.Sleep(ctx, delay); serr != nil {
			return err
		}
		delay = min(2*delay, 15*time.Second)
	}
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// targetContext bounds one target: TargetTimeout, and the walk's cut-off.
func (wk *walker) targetContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := wk.TargetTimeout
	if !wk.cutAt.IsZero() {
		timeout = min(timeout, wk.cutAt.Sub(wk.Clock.Now()))
	}
	return context.WithTimeoutCause(ctx, timeout, ErrTargetTimeout)
}

// stopping reports whether the deadline reserve has begun.
func (wk *walker) stopping() bool {
	return !wk.stopAt.IsZero() && !wk.Clock.Now().Before(wk.stopAt)
}

// IsRoleMissing: AssumeRole was refused, which for an account that exists
// means its configuration role is not there (yet) or does not trust us.
func IsRoleMissing(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "AccessDenied"
}

// PanicError turns a recovered panic into the target's error. The stack goes
// to the log, where an engineer debugging it looks; the error stays one line,
// because it travels into reports and CloudFormation's 4 KB reason.
func PanicError(log *slog.Logger, what string, p any) error {
	log.Error(what+" panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return fmt.Errorf("panic: %v", p)
}

// WithCause adds ctx's ErrTargetTimeout cause to err when the target's
// deadline cut it short and err does not say so already.
func WithCause(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && errors.Is(cause, ErrTargetTimeout) && !errors.Is(err, ErrTargetTimeout) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}
