package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/names"
)

// Ownership tag: a window carrying it is ours to update and delete. The
// reference solution tags its windows the same way, so they are adopted.
const (
	OwnerTagKey   = names.OwnerTagKey
	OwnerTagValue = names.OwnerTagValue
)

// Mode says what Reconcile makes of an account x region.
type Mode string

const (
	// Converge makes the account x region hold exactly Config; with
	// Config.Disabled it behaves as RemoveAndReset.
	Converge Mode = "converge"
	// RemoveAndReset deletes everything orgpatch owns (windows, patch
	// baselines and their registrations) and resets the account-wide
	// settings it manages (DHMC) to their defaults: nothing of orgpatch is
	// left. Its wire name is "teardown".
	RemoveAndReset Mode = "teardown"
	// RemoveKeepSettings deletes everything orgpatch owns but leaves the
	// account-wide settings (DHMC) as they are, because another
	// configuration still governs the account (a region or a previous
	// configuration's windows dropped). Its wire name is "remove".
	RemoveKeepSettings Mode = "remove"
)

// Modes lists the valid modes, for error messages and flags.
var Modes = []Mode{Converge, RemoveAndReset, RemoveKeepSettings}

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("mode %q: must be one of %v", s, Modes)
}

// Op is the verb of an Action: what it does to its Resource.
type Op string

const (
	OpCreate    Op = "create"
	OpUpdate    Op = "update"
	OpDelete    Op = "delete"
	OpUnchanged Op = "unchanged"
	OpReset     Op = "reset"
	// OpKept is a resource the mode would change but that is not
	// orgpatch's to change (the DHMC setting holding a role someone else
	// set): it is left as it was, with no write, and reported with why.
	OpKept Op = "kept"
)

// Resource is what an Action acts on. Each kind declares its own beside
// it (window.go, dhmc.go, baseline.go).
type Resource string

// Action is one decision of the plan, and once applied, one line of the
// report. Every Op but OpUnchanged and OpKept is exactly one write call.
type Action struct {
	Op       Op
	Resource Resource
	// Name is the resource's name: the window's, the target's, the task's,
	// or DHMCSettingID.
	Name string
	// Window is the name of the window a target or task belongs to (for a
	// window, its own name; empty for DHMC).
	Window string
	// ID is the AWS id of the existing resource acted on (window, window
	// target or window task id); empty for a create.
	ID string
	// Changes are the fields an update changes; apply sends exactly these.
	Changes []Change
	// Detail says what a create makes or why a resource goes ("extra
	// task"); empty for updates, whose text comes from Changes.
	Detail string

	// spec is what the kind's apply needs beyond the above: the kind's
	// own payload type, set by its plan.
	spec any
}

// Describe is what the action changes, makes or why, on one line: the
// Changes for an update ("schedule: A -> B; cutoff: 2 -> 1"), else Detail.
func (a Action) Describe() string {
	if len(a.Changes) > 0 {
		return describe(a.Changes)
	}
	return a.Detail
}

// String is the action on one line, as plans print: "update task
// Linux_Scan in window sra_linux_maintenance (id): Operation: Scan -> Install".
func (a Action) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", a.Op, a.Resource, a.Name)
	if (a.Resource == ResourceTarget || a.Resource == ResourceTask) && a.Window != "" {
		fmt.Fprintf(&b, " in window %s", a.Window)
	}
	if a.ID != "" {
		fmt.Fprintf(&b, " (%s)", a.ID)
	}
	if d := a.Describe(); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	}
	return b.String()
}

// Input is one account x region to reconcile.
type Input struct {
	Account   string // 12-digit account id
	Region    string
	Partition string // "aws", "aws-cn", "aws-us-gov"
	Config    config.Config
	Mode      Mode
	// DryRun plans without writing: Result.Actions is the plan.
	DryRun bool
	// Documents, when set, shares DescribeDocument answers between the
	// reconciles of one run; nil means no sharing.
	Documents *DocumentCache
	// Tagging, when set (a Resource Groups Tagging API client bound like
	// the SSM client), finds the owned windows of the region in one call
	// when converging, instead of one ListTagsForResource per window.
	Tagging TaggingAPI

	// tagged is the index read through Tagging, shared by the kinds'
	// observe (set by observe).
	tagged *taggedIndex
}

// Result is what Reconcile did.
type Result struct {
	// Actions are the plan's actions that were applied (all of them when
	// Reconcile returns no error; with DryRun, the whole plan, unapplied).
	// Unchanged resources are listed with OpUnchanged.
	Actions []Action
	// Writes counts the write calls made (0 with DryRun, and 0 on a
	// converged account x region).
	Writes int
}

// Reconcile observes in.Account x in.Region through clients, plans against
// in.Config and in.Mode, and applies the plan (unless in.DryRun).
//
// clients must be bound to the account's credentials and in.Region, and
// hold a client for every kind (for the kinds of today, the SSM client);
// a missing one is an error before any call. An error
// names the operation and the resource and wraps the SDK error, so
// errors.As into smithy.APIError works; Result then holds the actions
// applied before the failure. Re-running after any error converges.
//
// Cost: observing a converged account x region holding the three default
// windows and no patch baselines takes 12 calls with in.Tagging (14
// without: a ListTagsForResource per window instead of one GetResources,
// plus the baselines' DescribePatchBaselines; DescribeDocument only on the
// first account of a region when in.Documents is shared): the baselines
// kind reads nothing when the windows' GetResources shows no baseline of
// orgpatch's and none is desired. They are issued three round trips deep
// (four without); a fresh one takes 3 plus DescribeDocument. Applying then
// makes exactly one call per action that is
// not OpUnchanged: 10 on a fresh account x region, 0 on a converged one.
func Reconcile(ctx context.Context, clients Clients, in Input) (Result, error) {
	if err := in.validate(clients); err != nil {
		return Result{}, err
	}
	states, err := observe(ctx, clients, in)
	if err != nil {
		return Result{}, err
	}
	actions := plan(states)
	if in.DryRun {
		return Result{Actions: actions}, nil
	}
	return apply(ctx, clients, in, actions)
}

// validate checks in, and that clients serve every kind, before any call.
func (in Input) validate(clients Clients) error {
	var errs []error
	for _, k := range resourceKinds {
		if err := k.checkClients(clients); err != nil {
			errs = append(errs, err)
		}
	}
	if in.Account == "" {
		errs = append(errs, errors.New("account: must be a 12-digit account id, got empty"))
	}
	if in.Region == "" {
		errs = append(errs, errors.New("region: must be set, got empty"))
	}
	if in.Partition == "" {
		errs = append(errs, errors.New(`partition: must be one of "aws", "aws-cn", "aws-us-gov", got empty`))
	}
	if _, err := ParseMode(string(in.Mode)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reconcile input: %w", err)
	}
	return nil
}

// TaggingAPI is the part of the Resource Groups Tagging API client
// Reconcile calls.
type TaggingAPI interface {
	GetResources(context.Context, *resourcegroupstaggingapi.GetResourcesInput, ...func(*resourcegroupstaggingapi.Options)) (*resourcegroupstaggingapi.GetResourcesOutput, error)
}

var _ TaggingAPI = (*resourcegroupstaggingapi.Client)(nil)
