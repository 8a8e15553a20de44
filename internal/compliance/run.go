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
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
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
	// Rings, when set, restricts the run to the accounts in these rings
	// (fleet.Rings): the promotion gate measures only the earlier rings.
	// Accounts in no ring, excluded and suspended ones are then out of
	// scope, and get no coverage record.
	Rings []string
	// RunId names the run in every record; a retried run keeps its id, so
	// its objects replace the first attempt's. Empty: the capture time.
	RunId string
	// Previous, when set, is an earlier run's records: patch lists of nodes
	// not scanned since are reused, first-seen dates kept, the trend
	// extended.
	Previous *Previous
	// Concurrency, TargetTimeout and Reserve bound the walk (fleet.Walk):
	// targets read at once, one target's time, and the time kept free
	// before the context's deadline, where no target starts.
	Concurrency   int
	TargetTimeout time.Duration
	Reserve       time.Duration
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

	// Every account the report reads, each in every region; what the walk
	// reads there goes to outcomes, read by this goroutine alone.
	// The accounts not walked are in scope too: their coverage says why.
	var walk []fleet.WalkAccount
	var where []Target // walk[i]'s account, OU and ring
	type outcome struct {
		target Target
		res    targetResult
		// cover is the target's coverage outcome; err is why it was not
		// read.
		cover string
		err   error
	}
	var skipped []outcome
	for _, a := range accounts {
		ou := ous[a.ID]
		ring, _ := rings.Of(a.ID)
		if len(env.Rings) > 0 && (ring == "" || !slices.Contains(env.Rings, ring)) {
			continue
		}
		tg := Target{Account: a.ID, AccountName: a.Name, OU: ou.path, OUId: ou.id, Ring: ring}
		if a.Excluded != "" {
			for _, r := range regions {
				tg.Region = r
				skipped = append(skipped, outcome{target: tg, cover: OutcomeExcluded, err: errors.New(a.Excluded)})
			}
			continue
		}
		walk = append(walk, fleet.WalkAccount{ID: a.ID, Regions: regions})
		where = append(where, tg)
	}
	for _, a := range suspended {
		if len(env.Rings) > 0 {
			break
		}
		ou := ous[a.ID]
		for _, r := range regions {
			skipped = append(skipped, outcome{target: Target{Account: a.ID, AccountName: a.Name, Region: r, OU: ou.path, OUId: ou.id},
				cover: OutcomeSuspended, err: fmt.Errorf("account %s", strings.ToLower(a.State))})
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A finished target waits for the sink with its records; the buffer
	// is small so that memory holds the targets being read, not a queue.
	outcomes := make(chan outcome, 4)
	go func() {
		for _, o := range skipped {
			outcomes <- o
		}
		fleet.Walk{
			Credentials: creds, Concurrency: env.Concurrency, TargetTimeout: env.TargetTimeout,
			Reserve: env.Reserve, Logger: env.Logger,
		}.Run(ctx, walk, fleet.Visitor{
			Visit: func(ctx context.Context, a, r int) {
				tg := where[a]
				tg.Region = walk[a].Regions[r]
				res, err := readTarget(ctx, env, creds, tg, now)
				cover := OutcomeRead
				if err != nil {
					cover = OutcomeFailed
				}
				outcomes <- outcome{target: tg, res: res, cover: cover, err: err}
			},
			Stop: func(a int, regions []int, s fleet.Stop) {
				cover, err := OutcomeFailed, s.Err
				switch s.Why {
				case fleet.RegionNotOptedIn:
					cover, err = OutcomeRegionNotEnabled, errRegionNotEnabled
				case fleet.DeadlineNear:
					err = errDeadlineNear
				}
				for _, r := range regions {
					tg := where[a]
					tg.Region = walk[a].Regions[r]
					outcomes <- outcome{target: tg, cover: cover, err: err}
				}
			},
		})
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
		if len(o.res.bounded) > 0 && len(t.sum.Bounded) < maxFailures {
			t.sum.Bounded = append(t.sum.Bounded, TargetFailure{Account: o.target.Account, Region: o.target.Region, Error: strings.Join(o.res.bounded, "; ")})
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

// readTarget reads one target under ctx, the walk's context for it, with
// its own logger; a panic becomes the target's error.
func readTarget(ctx context.Context, env Env, creds *fleet.Credentials, t Target, now time.Time) (res targetResult, err error) {
	log := env.Logger.With("account", t.Account, "region", t.Region)
	defer func() {
		if p := recover(); p != nil {
			err = fleet.PanicError(log, "target", p)
		}
		if err != nil {
			log.Error("target not readable", "error", err)
		}
	}()
	prev, err := env.Previous.target(t.Account, t.Region)
	if err != nil {
		return res, err
	}
	cfg := creds.Config(t.Account)
	res, err = collect(ctx, t, env.Settings,
		ssm.NewFromConfig(cfg, awsconf.SSMIn(t.Region)),
		ec2.NewFromConfig(cfg, awsconf.EC2In(t.Region)), prev)
	for i := range res.records {
		r := &res.records[i]
		derive(r, env.Settings, env.RunId, now, prev[r.ResourceId])
	}
	return res, fleet.WithCause(ctx, err)
}

// errDeadlineNear is the failure of a target the report did not start
// because its deadline reserve had begun; errRegionNotEnabled the reason
// of a region the account has not opted in to.
var (
	errDeadlineNear     = errors.New("not started: run deadline near")
	errRegionNotEnabled = errors.New("the account has not opted in to the region")
)

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
