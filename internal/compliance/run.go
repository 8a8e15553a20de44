package compliance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
)

// Defaults of Env: the walk's, as in a converge run (the work is a short
// chain of network calls per target there too).
const (
	DefaultConcurrency   = fleet.DefaultConcurrency
	DefaultTargetTimeout = fleet.DefaultTargetTimeout
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
	// Concurrency, TargetTimeout and Reserve bound the walk (fleet.Walk):
	// targets read at once, one target's time, and the time kept free
	// before the context's deadline, where no target starts.
	Concurrency   int
	TargetTimeout time.Duration
	Reserve       time.Duration
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

	// Every account the report reads, each in every region; what the walk
	// reads there goes to outcomes, read by this goroutine alone.
	var walk []fleet.WalkAccount
	var where []Target // walk[i]'s account, OU and ring
	for _, a := range accounts {
		if a.Excluded != "" {
			continue
		}
		ou := ous[a.ID]
		ring, _ := rings.Of(a.ID)
		walk = append(walk, fleet.WalkAccount{ID: a.ID, Regions: regions})
		where = append(where, Target{Account: a.ID, AccountName: a.Name, OU: ou.path, OUId: ou.id, Ring: ring})
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type outcome struct {
		target Target
		res    targetResult
		err    error
	}
	outcomes := make(chan outcome, env.Concurrency)
	go func() {
		fleet.Walk{
			Credentials: creds, Concurrency: env.Concurrency, TargetTimeout: env.TargetTimeout,
			Reserve: env.Reserve, Logger: env.Logger,
		}.Run(ctx, walk, fleet.Visitor{
			Visit: func(ctx context.Context, a, r int) {
				tg := where[a]
				tg.Region = walk[a].Regions[r]
				res, err := readTarget(ctx, env, creds, tg)
				outcomes <- outcome{target: tg, res: res, err: err}
			},
			Stop: func(a int, regions []int, s fleet.Stop) {
				switch s.Why {
				case fleet.RegionNotOptedIn:
				case fleet.DeadlineNear:
					for _, r := range regions {
						tg := where[a]
						tg.Region = walk[a].Regions[r]
						outcomes <- outcome{target: tg, err: errDeadlineNear}
					}
				default: // the account as a whole could not be read
					outcomes <- outcome{target: where[a], err: s.Err}
				}
			},
		})
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
		if len(o.res.bounded) > 0 && len(t.sum.Bounded) < maxFailures {
			t.sum.Bounded = append(t.sum.Bounded, TargetFailure{Account: o.target.Account, Region: o.target.Region, Error: strings.Join(o.res.bounded, "; ")})
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

// readTarget reads one target under ctx, the walk's context for it, with
// its own logger; a panic becomes the target's error.
func readTarget(ctx context.Context, env Env, creds *fleet.Credentials, t Target) (res targetResult, err error) {
	log := env.Logger.With("account", t.Account, "region", t.Region)
	defer func() {
		if p := recover(); p != nil {
			err = fleet.PanicError(log, "target", p)
		}
		if err != nil {
			log.Error("target not readable", "error", err)
		}
	}()
	cfg := creds.Config(t.Account)
	res, err = collect(ctx, t, env.Settings,
		ssm.NewFromConfig(cfg, awsconf.SSMIn(t.Region)),
		ec2.NewFromConfig(cfg, awsconf.EC2In(t.Region)))
	return res, fleet.WithCause(ctx, err)
}

// errDeadlineNear is the failure of a target the report did not start
// because its deadline reserve had begun.
var errDeadlineNear = errors.New("not started: run deadline near")

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
