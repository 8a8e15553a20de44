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

	Settings      Settings
	Concurrency   int
	TargetTimeout time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Run reads every target and streams its records to env.Sink, and returns
// the summary. Targets that fail are in the summary; the error is the
// sink's, or what stopped the run from finding its targets.
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
	t := newTally(env.Settings, env.Now())
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
	creds := fleet.NewCredentials(mgmt, env.Config.ConfigurationRoleName)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type outcome struct {
		target Target
		res    targetResult
		err    error
	}
	outcomes := make(chan outcome, env.Concurrency)
	targets := make(chan Target)
	go func() { // accounts: assume the role, find the opted-in regions
		var g errgroup.Group
		g.SetLimit(env.Concurrency)
		for _, a := range accounts {
			if a.Excluded != "" {
				continue
			}
			g.Go(func() error {
				ou := ous[a.ID]
				ring, _ := rings.Of(a.ID)
				log := env.Logger.With("account", a.ID)
				fail := func(err error) {
					log.Error("account not readable", "error", err)
					outcomes <- outcome{target: Target{Account: a.ID, AccountName: a.Name, OU: ou.path, OUId: ou.id, Ring: ring}, err: err}
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
					if !optedOut[r] {
						select {
						case targets <- Target{Account: a.ID, AccountName: a.Name, Region: r, OU: ou.path, OUId: ou.id, Ring: ring}:
						case <-ctx.Done():
							return nil
						}
					}
				}
				return nil
			})
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
				res, err := readTarget(ctx, env, creds, tg)
				outcomes <- outcome{target: tg, res: res, err: err}
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
	for o := range outcomes {
		if sinkErr != nil {
			continue // drain
		}
		if o.err != nil {
			t.fail(TargetFailure{Account: o.target.Account, Region: o.target.Region, Error: o.err.Error()})
			continue
		}
		t.sum.Targets++
		if !o.res.ec2Visible {
			t.sum.EC2Invisible++
		}
		for i := range o.res.records {
			r := &o.res.records[i]
			if err := env.Sink(r); err != nil {
				sinkErr = fmt.Errorf("write record %s: %w", r.ResourceId, err)
				cancel(sinkErr)
				break
			}
			t.add(r)
		}
	}
	slices.SortFunc(t.sum.Failures, func(a, b TargetFailure) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region))
	})
	return t.summary(), sinkErr
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
func readTarget(ctx context.Context, env Env, creds *fleet.Credentials, t Target) (res targetResult, err error) {
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
	cfg := creds.Config(t.Account)
	res, err = collect(tctx, t,
		ssm.NewFromConfig(cfg, awsconf.SSMIn(t.Region)),
		ec2.NewFromConfig(cfg, awsconf.EC2In(t.Region)))
	if err != nil && errors.Is(context.Cause(tctx), errTargetTimeout) {
		err = fmt.Errorf("%w: %w", errTargetTimeout, err)
	}
	return res, err
}

var errTargetTimeout = errors.New("target deadline exceeded")

// ou is where an account sits: its parent's id and the path of names.
type ou struct{ id, path string }

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
				out[aws.ToString(a.Id)] = ou{id: id, path: path}
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
