package compliance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"golang.org/x/sync/errgroup"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
)

// Defaults of Env.
const (
	// DefaultConcurrency bounds the targets read at once (and, separately,
	// the accounts being prepared); as in a converge run, the work is a
	// short chain of network calls per target.
	DefaultConcurrency = 64
	// DefaultTargetTimeout bounds one account x region.
	DefaultTargetTimeout = 3 * time.Minute
)

// Env is what a report run works with; Management, Config and Sink are
// required.
type Env struct {
	// Management is the management account's configuration; every client
	// derives from it.
	Management aws.Config
	// Config gives the configuration role, the regions and the exclusions.
	Config config.Config
	// Sink receives every record, from one goroutine, as its target
	// finishes. An error from it stops the run.
	Sink func(*Record) error

	Settings Settings
	// RunId names the run in every record; a retried run keeps its id, so
	// its objects replace the first attempt's. Empty: the capture time.
	RunId string
	// Previous, when set, is an earlier run's records: patch lists of nodes
	// not scanned since are reused, first-seen dates kept, the trend
	// extended.
	Previous      *Previous
	Concurrency   int
	TargetTimeout time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Run reads every target and streams its records to env.Sink: for each
// account x region in scope its Coverage record, then its Node records,
// and the Run record last. It returns the summary. Targets that fail are
// in the coverage and the summary; the error is the sink's, or what
// stopped the run from finding its targets.
func Run(ctx context.Context, env Env) (Summary, error) {
	env.Settings = env.Settings.withDefaults()
	if env.Concurrency <= 0 {
		env.Concurrency = DefaultConcurrency
	}
	if env.TargetTimeout <= 0 {
		env.TargetTimeout = DefaultTargetTimeout
	}
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	now := env.Now().UTC()
	if env.RunId == "" {
		env.RunId = now.Format("20060102T150405Z")
	}
	t := newTally(env.Settings, env.RunId, now)
	mgmt := env.Management
	regions, _, err := fleet.Regions(ctx, env.Config, controltower.NewFromConfig(mgmt), ssm.NewFromConfig(mgmt))
	if err != nil {
		return t.summary(), err
	}
	orgs := organizations.NewFromConfig(mgmt)
	accounts, err := fleet.Accounts(ctx, orgs, env.Config)
	if err != nil {
		return t.summary(), err
	}
	ous, err := accountOUs(ctx, orgs)
	if err != nil {
		return t.summary(), err
	}
	rings, err := accountRings(ctx, orgs, env, accounts)
	if err != nil {
		return t.summary(), err
	}
	suspended := notActive(ous, env.Config)
	creds := fleet.NewCredentials(mgmt, env.Config.ConfigurationRoleName)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type outcome struct {
		target Target
		res    targetResult
		// cover is the target's coverage outcome; err is why it failed.
		cover string
		err   error
	}
	// A finished target waits for the sink with its records; the buffer
	// is small so that memory holds the targets being read, not a queue.
	outcomes := make(chan outcome, 4)
	targets := make(chan Target)
	go func() { // accounts: assume the role, find the opted-in regions
		var g errgroup.Group
		g.SetLimit(env.Concurrency)
		for _, a := range accounts {
			g.Go(func() error {
				ou := ous[a.ID]
				ring, _ := rings.Of(a.ID)
				log := env.Logger.With("account", a.ID)
				tg := Target{Account: a.ID, AccountName: a.Name, OU: ou.path, OUId: ou.id, Ring: ring}
				each := func(cover string, err error, skip map[string]bool) {
					for _, r := range regions {
						if !skip[r] {
							tg.Region = r
							outcomes <- outcome{target: tg, cover: cover, err: err}
						}
					}
				}
				if a.Excluded != "" {
					each(OutcomeExcluded, errors.New(a.Excluded), nil)
					return nil
				}
				fail := func(err error) {
					log.Error("account not readable", "error", err)
					each(OutcomeFailed, err, nil)
				}
				actx, done := context.WithTimeout(ctx, env.TargetTimeout)
				defer done()
				if err := creds.Retrieve(actx, a.ID); err != nil {
					fail(err)
					return nil
				}
				optedOut, err := fleet.NotOptedIn(actx, ec2.NewFromConfig(creds.Config(a.ID)))
				if err != nil {
					fail(err)
					return nil
				}
				for _, r := range regions {
					if optedOut[r] {
						tg.Region = r
						outcomes <- outcome{target: tg, cover: OutcomeRegionNotEnabled, err: errors.New("the account has not opted in to the region")}
						continue
					}
					tg.Region = r
					select {
					case targets <- tg:
					case <-ctx.Done():
						return nil
					}
				}
				return nil
			})
		}
		for _, a := range suspended {
			ou := ous[a.ID]
			for _, r := range regions {
				outcomes <- outcome{target: Target{Account: a.ID, AccountName: a.Name, Region: r, OU: ou.path, OUId: ou.id},
					cover: OutcomeSuspended, err: fmt.Errorf("account %s", strings.ToLower(a.State))}
			}
		}
		_ = g.Wait() // every task returns nil
		close(targets)
	}()
	var readers sync.WaitGroup
	readers.Go(func() { // targets: read each, bounded
		var g errgroup.Group
		g.SetLimit(env.Concurrency)
		for tg := range targets {
			g.Go(func() error {
				res, err := readTarget(ctx, env, creds, tg, now)
				cover := OutcomeRead
				if err != nil {
					cover = OutcomeFailed
				}
				outcomes <- outcome{target: tg, res: res, cover: cover, err: err}
				return nil
			})
		}
		_ = g.Wait()
	})
	go func() {
		readers.Wait()
		close(outcomes)
	}()

	var sinkErr error
	sink := func(r *Record) {
		if sinkErr == nil {
			if err := env.Sink(r); err != nil {
				sinkErr = fmt.Errorf("write %s record %s: %w", r.RecordType, cmp.Or(r.ResourceId, r.Account+" "+r.Region), err)
				cancel(sinkErr)
			}
		}
	}
	for o := range outcomes {
		if sinkErr != nil {
			continue // drain
		}
		tg := o.target
		cov := Record{RecordType: CoverageRecord, RunId: env.RunId, CaptureTime: now, Account: tg.Account, AccountName: tg.AccountName,
			Region: tg.Region, OU: tg.OU, OUId: tg.OUId, Ring: tg.Ring, Outcome: o.cover, Nodes: len(o.res.records)}
		if o.err != nil {
			cov.Reason = o.err.Error()
		}
		sink(&cov)
		t.cover(&cov)
		if o.cover != OutcomeRead {
			continue
		}
		if !o.res.ec2Visible {
			t.sum.EC2Invisible++
		}
		for i := range o.res.records {
			r := &o.res.records[i]
			if sink(r); sinkErr != nil {
				break
			}
			t.add(r)
		}
	}
	if sinkErr != nil {
		return t.summary(), sinkErr
	}
	slices.SortFunc(t.sum.Failures, func(a, b TargetFailure) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region))
	})
	slices.SortFunc(t.sum.NotRead, func(a, b Coverage) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region))
	})
	sum := t.summary()
	run := Record{RecordType: RunRecord, RunId: env.RunId, CaptureTime: now, Nodes: sum.Organization.Machines()}
	run.Trend = trend(env.Previous, sum)
	sum.Trend = run.Trend
	if env.Previous != nil {
		sum.PreviousRunId = env.Previous.RunId
	}
	sink(&run)
	return sum, sinkErr
}

// trend is the previous run's trend (without an earlier attempt of this
// run) followed by this run, at most maxTrend points.
func trend(prev *Previous, s Summary) []TrendPoint {
	var out []TrendPoint
	if prev != nil {
		for _, p := range prev.Trend {
			if p.RunId != s.RunId {
				out = append(out, p)
			}
		}
	}
	o := s.Organization
	out = append(out, TrendPoint{RunId: s.RunId, Time: s.Generated, Machines: o.Machines(), CompliantCurrent: o.CompliantCurrent,
		NonCompliant: o.NonCompliant, Critical: o.Critical, PastSLA: o.PastSLA, NotScanned: o.NotScanned, Unmanaged: o.Unmanaged,
		NotRead: s.Failed})
	return out[max(0, len(out)-maxTrend):]
}

// accountRings resolves the ring of every account the report reads, as a
// converge run does (fleet.ResolveRings over the whole organization); no
// call when the configuration has no rings. The warnings (a ring that
// selects nothing) are logged: they do not change what is read.
func accountRings(ctx context.Context, api fleet.RingsAPI, env Env, accounts []fleet.Account) (fleet.Rings, error) {
	var ids []string
	for _, a := range accounts {
		if a.Active() && a.Excluded == "" {
			ids = append(ids, a.ID)
		}
	}
	rings, err := fleet.ResolveRings(ctx, api, env.Config, ids, true)
	if err != nil {
		return fleet.Rings{}, fmt.Errorf("resolve rings: %w", err)
	}
	for _, w := range rings.Warnings {
		env.Logger.Warn("ring selects nothing", "warning", w)
	}
	return rings, nil
}

// readTarget reads one target with its own deadline and logger; a panic
// becomes the target's error.
func readTarget(ctx context.Context, env Env, creds *fleet.Credentials, t Target, now time.Time) (res targetResult, err error) {
	log := env.Logger.With("account", t.Account, "region", t.Region)
	defer func() {
		if p := recover(); p != nil {
			log.Error("target panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
		if err != nil {
			log.Error("target not readable", "error", err)
		}
	}()
	tctx, cancel := context.WithTimeoutCause(ctx, env.TargetTimeout, errTargetTimeout)
	defer cancel()
	prev, err := env.Previous.target(t.Account, t.Region)
	if err != nil {
		return res, err
	}
	cfg := creds.Config(t.Account)
	res, err = collect(tctx, t,
		ssm.NewFromConfig(cfg, awsconf.SSMIn(t.Region)),
		ec2.NewFromConfig(cfg, awsconf.EC2In(t.Region)), env.Settings.OwnerTagKeys, prev)
	if err != nil && errors.Is(context.Cause(tctx), errTargetTimeout) {
		err = fmt.Errorf("%w: %w", errTargetTimeout, err)
	}
	for i := range res.records {
		r := &res.records[i]
		derive(r, env.Settings, env.RunId, now, prev[r.ResourceId])
	}
	return res, err
}

var errTargetTimeout = errors.New("target deadline exceeded")

// ou is where an account sits: its parent's id and the path of names, with
// the account's name and state.
type ou struct{ id, path, name, state string }

// notActive lists the accounts of the OU walk that are not ACTIVE
// (suspended, pending closure) and not excluded by id: in scope, but
// nothing can be read there.
func notActive(ous map[string]ou, cfg config.Config) []fleet.Account {
	var out []fleet.Account
	for id, o := range ous {
		if o.state != "" && o.state != string(orgtypes.AccountStateActive) && !slices.Contains(cfg.ExcludedAccounts, id) {
			out = append(out, fleet.Account{ID: id, Name: o.name, State: o.state})
		}
	}
	slices.SortFunc(out, func(a, b fleet.Account) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// OrganizationsAPI is the part of the Organizations client the OU walk uses.
type OrganizationsAPI interface {
	organizations.ListRootsAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
	organizations.ListAccountsForParentAPIClient
}

var _ OrganizationsAPI = (*organizations.Client)(nil)

// accountOUs walks the OU tree once (a few calls per OU, not one per
// account) and returns every account's parent.
func accountOUs(ctx context.Context, api OrganizationsAPI) (map[string]ou, error) {
	out := map[string]ou{}
	var walk func(id, path string) error
	walk = func(id, path string) error {
		ap := organizations.NewListAccountsForParentPaginator(api, &organizations.ListAccountsForParentInput{ParentId: &id})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list accounts for parent %s: %w", id, err)
			}
			for _, a := range page.Accounts {
				out[aws.ToString(a.Id)] = ou{id: id, path: path, name: aws.ToString(a.Name), state: string(cmp.Or(a.State, orgtypes.AccountState(a.Status)))}
			}
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(api, &organizations.ListOrganizationalUnitsForParentInput{ParentId: &id})
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list OUs for parent %s: %w", id, err)
			}
			for _, child := range page.OrganizationalUnits {
				if err := walk(aws.ToString(child.Id), path+"/"+aws.ToString(child.Name)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	rp := organizations.NewListRootsPaginator(api, &organizations.ListRootsInput{})
	for rp.HasMorePages() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roots: %w", err)
		}
		for _, r := range page.Roots {
			if err := walk(aws.ToString(r.Id), aws.ToString(r.Name)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
