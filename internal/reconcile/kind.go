package reconcile

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/orgpatch/orgpatch/internal/config"
)

// resourceKind is one kind of resource reconcile keeps in an account x
// region (see doc.go). Each kind lives in its own file(s) and has the same
// four steps; Reconcile, Plan and apply only iterate the kinds.
type resourceKind interface {
	// resources lists the Resource of every action the kind plans, so
	// apply can hand each action back to its kind.
	resources() []Resource
	// observe reads, into its own fields of obs only, what diff and
	// teardown need for desired. It runs concurrently with the other
	// kinds' observe.
	observe(ctx context.Context, client SSMAPI, in Input, desired Desired, obs *Observed) error
	// diff is the pure plan that makes observed hold desired (Converge).
	diff(desired Desired, observed Observed) []Action
	// teardown is the pure plan that takes the kind away (RemoveAndReset and
	// RemoveKeepSettings, desired.Mode says which).
	teardown(desired Desired, observed Observed) []Action
	// apply makes the one write of act, one of the kind's own actions.
	// Every write is idempotent: re-running it, or the plan it came from,
	// after any failure converges.
	apply(ctx context.Context, a *applier, act Action) error
}

// resourceKinds are the kinds in the order their actions are applied: the
// windows first, then the DHMC setting, the patch baselines last (a
// baseline name clash, which the baselines' apply reports as an error,
// then stops nothing else).
var resourceKinds = []resourceKind{windowKind{}, dhmcKind{}, baselineKind{}}

// kindOf is the kind whose actions act on r.
func kindOf(r Resource) (resourceKind, bool) {
	for _, k := range resourceKinds {
		for _, kr := range k.resources() {
			if kr == r {
				return k, true
			}
		}
	}
	return nil, false
}

// Desired is what one account x region should hold, resolved from an Input.
type Desired struct {
	// Mode is the effective mode: Converge with Config.Disabled is RemoveAndReset.
	Mode Mode
	// Windows are the windows to hold, identified by name.
	Windows []config.Window
	// TaskRoleARN is every task's ServiceRoleArn.
	TaskRoleARN string
	// ManageDHMC says whether the DHMC setting is converged (or reset) at all;
	// DHMCRole is its desired value.
	ManageDHMC bool
	DHMCRole   string
	// Baselines are the patch baselines to hold, identified by name, with
	// their default and patch group registrations.
	Baselines []config.Baseline
}

// Observed is what one account x region holds now, as far as Plan cares.
// Each kind's observe fills its own fields.
type Observed struct {
	// Windows are the owned windows only (carrying the ownership tag).
	// Windows that will be deleted anyway may come without Targets and Tasks.
	Windows []ObservedWindow
	// DocumentHashes maps a task document's name to its current Sha256 hash.
	DocumentHashes map[string]string
	// DHMC is the DHMC service setting; zero when it was not read.
	DHMC ServiceSetting

	// Baselines are the owned patch baselines; ForeignBaselines maps the
	// names of the account's other baselines to their ids (name clashes).
	Baselines        []ObservedBaseline
	ForeignBaselines map[string]string
	// PatchGroups are every patch group registration: -> baseline id.
	PatchGroups map[PatchGroupKey]string
	// DefaultBaselines are the default baseline ids of the operating
	// systems the desired and owned baselines concern; PredefinedDefaults
	// the ARNs of AWS's predefined defaults, read when one of those
	// defaults is orgpatch's.
	DefaultBaselines   map[string]string
	PredefinedDefaults map[string]string
}

// desiredFor resolves in into what the account x region should hold.
func desiredFor(in Input) Desired {
	mode := in.Mode
	if mode == Converge && in.Config.Disabled {
		mode = RemoveAndReset
	}
	return Desired{
		Mode:        mode,
		Windows:     in.Config.Windows,
		TaskRoleARN: fmt.Sprintf("arn:%s:iam::%s:role/%s", in.Partition, in.Account, in.Config.TaskRoleName),
		ManageDHMC:  in.Config.ManageDHMC,
		DHMCRole:    in.Config.DHMCRoleName,
		Baselines:   in.Config.Baselines,
	}
}

// observe runs every kind's observe side by side; the first error cancels
// the others.
func observe(ctx context.Context, client SSMAPI, in Input, desired Desired) (Observed, error) {
	var obs Observed
	in.tagged = newTaggedIndex(in.Tagging)
	g, gctx := errgroup.WithContext(ctx)
	for _, k := range resourceKinds {
		g.Go(func() error { return k.observe(gctx, client, in, desired, &obs) })
	}
	if err := g.Wait(); err != nil {
		return Observed{}, err
	}
	return obs, nil
}

// Plan decides, without any AWS call, what to do so that observed becomes
// desired: each kind's diff (Converge) or teardown (RemoveAndReset, RemoveKeepSettings), in
// the kinds' order. Every action but OpUnchanged is exactly one write,
// and each kind chooses the fewest writes, in the order they are safe to
// apply.
func Plan(desired Desired, observed Observed) []Action {
	var actions []Action
	for _, k := range resourceKinds {
		if desired.Mode == Converge {
			actions = append(actions, k.diff(desired, observed)...)
		} else {
			actions = append(actions, k.teardown(desired, observed)...)
		}
	}
	return actions
}
