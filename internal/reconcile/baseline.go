package reconcile

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/config"
)

// The resources of the baselines kind: a patch baseline; the default
// baseline registration of an operating system (Name is the operating
// system); a patch group registration (Name is "group for
// OPERATING_SYSTEM").
const (
	ResourceBaseline        Resource = "baseline"
	ResourceDefaultBaseline Resource = "default"
	ResourcePatchGroup      Resource = "patchgroup"
)

// The fields of the patch baselines and their registrations that a plan
// can change, as "resource.label": plans print the label (Field.String).
const (
	BaselineDescription             Field = "baseline.description"
	BaselineGlobalFilters           Field = "baseline.global filters"
	BaselineApprovalRules           Field = "baseline.approval rules"
	BaselineApprovedPatches         Field = "baseline.approved patches"
	BaselineApprovedComplianceLevel Field = "baseline.approved patches compliance level"
	BaselineApprovedNonSecurity     Field = "baseline.approved patches non-security"
	BaselineRejectedPatches         Field = "baseline.rejected patches"
	BaselineRejectedAction          Field = "baseline.rejected patches action"
	BaselineSources                 Field = "baseline.sources"
	BaselineAvailableSecurity       Field = "baseline.available security updates compliance"
	DefaultBaseline                 Field = "default.baseline" // the baseline registered as an operating system's default
)

// ObservedBaseline is a patch baseline orgpatch owns (it carries the
// ownership tag), as GetPatchBaseline reads it. Default and PatchGroups of
// the embedded Baseline are not used: registrations are observed apart.
type ObservedBaseline struct {
	ID string
	config.Baseline
}

// PatchGroupKey is a patch group's registration for one operating system:
// a patch group has at most one baseline per operating system.
type PatchGroupKey struct {
	Group           string
	OperatingSystem string
}

// baselinesAPI is the part of the Systems Manager client the baselines
// kind calls.
type baselinesAPI interface {
	ListTagsForResource(context.Context, *ssm.ListTagsForResourceInput, ...func(*ssm.Options)) (*ssm.ListTagsForResourceOutput, error)
	DescribePatchBaselines(context.Context, *ssm.DescribePatchBaselinesInput, ...func(*ssm.Options)) (*ssm.DescribePatchBaselinesOutput, error)
	GetPatchBaseline(context.Context, *ssm.GetPatchBaselineInput, ...func(*ssm.Options)) (*ssm.GetPatchBaselineOutput, error)
	DescribePatchGroups(context.Context, *ssm.DescribePatchGroupsInput, ...func(*ssm.Options)) (*ssm.DescribePatchGroupsOutput, error)
	GetDefaultPatchBaseline(context.Context, *ssm.GetDefaultPatchBaselineInput, ...func(*ssm.Options)) (*ssm.GetDefaultPatchBaselineOutput, error)
	CreatePatchBaseline(context.Context, *ssm.CreatePatchBaselineInput, ...func(*ssm.Options)) (*ssm.CreatePatchBaselineOutput, error)
	UpdatePatchBaseline(context.Context, *ssm.UpdatePatchBaselineInput, ...func(*ssm.Options)) (*ssm.UpdatePatchBaselineOutput, error)
	DeletePatchBaseline(context.Context, *ssm.DeletePatchBaselineInput, ...func(*ssm.Options)) (*ssm.DeletePatchBaselineOutput, error)
	RegisterDefaultPatchBaseline(context.Context, *ssm.RegisterDefaultPatchBaselineInput, ...func(*ssm.Options)) (*ssm.RegisterDefaultPatchBaselineOutput, error)
	RegisterPatchBaselineForPatchGroup(context.Context, *ssm.RegisterPatchBaselineForPatchGroupInput, ...func(*ssm.Options)) (*ssm.RegisterPatchBaselineForPatchGroupOutput, error)
	DeregisterPatchBaselineForPatchGroup(context.Context, *ssm.DeregisterPatchBaselineForPatchGroupInput, ...func(*ssm.Options)) (*ssm.DeregisterPatchBaselineForPatchGroupOutput, error)
}

var _ baselinesAPI = (*ssm.Client)(nil)

// baselinesDesired is what the account x region should hold of patch
// baselines.
type baselinesDesired struct {
	Mode Mode
	// Baselines are the patch baselines to hold, identified by name, with
	// their default and patch group registrations.
	Baselines []config.Baseline
}

// baselinesObserved is what the account x region holds of patch
// baselines.
type baselinesObserved struct {
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

// baselineState is the patch baselines, desired and observed.
type baselineState struct {
	desired  baselinesDesired
	observed baselinesObserved
}

func (s baselineState) plan() []Action {
	if s.desired.Mode == Converge {
		return s.diff()
	}
	return s.teardown()
}

func (baselineKind) checkClients(clients Clients) error {
	_, err := clientOf[baselinesAPI](clients)
	return err
}

// baselineSpec is what apply needs of a baseline action.
type baselineSpec struct {
	baseline config.Baseline // the desired baseline (create, update)
	group    PatchGroupKey   // a patch group registration's key
	target   string          // the name of the baseline a registration names ("" with targetID)
	targetID string          // the id a registration names when known at plan time
	clash    string          // a name clash: apply reports it as the target's error
}

// baselineKind is the patch baselines, with the default baseline of each
// operating system and the patch group registrations. Identity is the
// baseline name; only baselines carrying the ownership tag are orgpatch's.
// A desired name held by a baseline orgpatch does not own, or a desired
// patch group registered with one, is a clash: planned as an unchanged
// action that apply reports as an error once every other action of the
// account x region is done, never overwritten.
//
// diff's actions are in the order they are safe to apply: baselines are
// created and updated first, patch group registrations that must go are
// removed before the new ones are made, defaults are registered (AWS's
// predefined default where orgpatch's no longer is) before any baseline
// goes, and owned baselines that are not desired are deleted last, so a
// crash after any write leaves every operating system with a default and
// no baseline twice (the next run adopts what this one made).
type baselineKind struct{}

func (baselineKind) resources() []Resource {
	return []Resource{ResourceBaseline, ResourceDefaultBaseline, ResourcePatchGroup}
}

// predefinedDefaults are the names of AWS's predefined default baselines
// per operating system ("Predefined and custom patch baselines", Patch
// Manager user guide): teardown registers them again as the defaults.
var predefinedDefaults = map[string]string{
	"WINDOWS":                 "AWS-DefaultPatchBaseline",
	"AMAZON_LINUX":            "AWS-AmazonLinuxDefaultPatchBaseline",
	"AMAZON_LINUX_2":          "AWS-AmazonLinux2DefaultPatchBaseline",
	"AMAZON_LINUX_2022":       "AWS-AmazonLinux2022DefaultPatchBaseline",
	"AMAZON_LINUX_2023":       "AWS-AmazonLinux2023DefaultPatchBaseline",
	"UBUNTU":                  "AWS-UbuntuDefaultPatchBaseline",
	"REDHAT_ENTERPRISE_LINUX": "AWS-RedHatDefaultPatchBaseline",
	"SUSE":                    "AWS-SuseDefaultPatchBaseline",
	"CENTOS":                  "AWS-CentOSDefaultPatchBaseline",
	"ORACLE_LINUX":            "AWS-OracleLinuxDefaultPatchBaseline",
	"DEBIAN":                  "AWS-DebianDefaultPatchBaseline",
	"MACOS":                   "AWS-MacOSDefaultPatchBaseline",
	"RASPBIAN":                "AWS-RaspbianDefaultPatchBaseline",
	"ROCKY_LINUX":             "AWS-RockyLinuxDefaultPatchBaseline",
	"ALMA_LINUX":              "AWS-AlmaLinuxDefaultPatchBaseline",
}

// baselinePlan collects a plan's actions by the step they belong to.
type baselinePlan struct {
	baselines, deregister, register, defaults, resets, deletes, clashes []Action
}

func (p baselinePlan) actions() []Action {
	return slices.Concat(p.baselines, p.deregister, p.register, p.defaults, p.resets, p.deletes, p.clashes)
}

func (s baselineState) diff() []Action {
	desired, observed := s.desired, s.observed
	var p baselinePlan
	owned := map[string]string{} // id -> name of the owned baselines kept
	kept := map[string]string{}  // desired name -> id of the owned baseline kept ("" when created)
	clashing := map[string]bool{}
	byName := map[string][]ObservedBaseline{}
	for _, b := range observed.Baselines {
		byName[b.Name] = append(byName[b.Name], b)
	}
	for _, want := range desired.Baselines {
		var best *ObservedBaseline
		var bestChanges []Change
		for _, b := range byName[want.Name] {
			if b.OperatingSystem != want.OperatingSystem {
				continue // the operating system cannot change: a new baseline replaces it
			}
			changes := baselineChanges(b.Baseline, want)
			if best == nil || len(changes) < len(bestChanges) || (len(changes) == len(bestChanges) && b.ID < best.ID) {
				best, bestChanges = &b, changes
			}
		}
		spec := &baselineSpec{baseline: want}
		switch {
		case best != nil:
			kept[want.Name] = best.ID
			owned[best.ID] = want.Name
			a := Action{Op: OpUnchanged, Resource: ResourceBaseline, Name: want.Name, ID: best.ID, spec: spec}
			if len(bestChanges) > 0 {
				a.Op, a.Changes = OpUpdate, bestChanges
			}
			p.baselines = append(p.baselines, a)
		case observed.ForeignBaselines[want.Name] != "":
			clashing[want.Name] = true
			id := observed.ForeignBaselines[want.Name]
			spec.clash = fmt.Sprintf("baseline %s (%s) exists without orgpatch's ownership tag (%s=%s); orgpatch leaves it alone and does not create its own",
				want.Name, id, OwnerTagKey, OwnerTagValue)
			p.clashes = append(p.clashes, Action{Op: OpUnchanged, Resource: ResourceBaseline, Name: want.Name, ID: id, Detail: "name clash: not orgpatch's", spec: spec})
		default:
			kept[want.Name] = ""
			p.baselines = append(p.baselines, Action{Op: OpCreate, Resource: ResourceBaseline, Name: want.Name,
				Detail: fmt.Sprintf("%s, %d approval rules%s", want.OperatingSystem, len(want.ApprovalRules), delaySuffix(want)), spec: spec})
		}
	}

	// Patch groups: every registration with an owned baseline that is not
	// desired goes; every desired one is made, unless a baseline orgpatch
	// does not own holds the patch group.
	wantGroups := map[PatchGroupKey]string{}
	for _, b := range desired.Baselines {
		if clashing[b.Name] {
			continue
		}
		for _, g := range b.PatchGroups {
			wantGroups[PatchGroupKey{g, b.OperatingSystem}] = b.Name
		}
	}
	ownedIDs := map[string]string{}
	for _, b := range observed.Baselines {
		ownedIDs[b.ID] = b.Name
	}
	for _, k := range sortedKeys(observed.PatchGroups) {
		id := observed.PatchGroups[k]
		want, wanted := wantGroups[k]
		_, isOwned := ownedIDs[id]
		switch {
		case !isOwned:
			if wanted {
				p.clashes = append(p.clashes, Action{Op: OpUnchanged, Resource: ResourcePatchGroup, Name: groupName(k), ID: id,
					Detail: "held by a baseline orgpatch does not own", spec: &baselineSpec{group: k,
						clash: fmt.Sprintf("patch group %s is registered with baseline %s, which orgpatch does not own; orgpatch leaves it alone", groupName(k), id)}})
				delete(wantGroups, k)
			}
		case wanted && kept[want] == id:
			p.register = append(p.register, Action{Op: OpUnchanged, Resource: ResourcePatchGroup, Name: groupName(k), ID: id,
				Detail: "baseline " + want, spec: &baselineSpec{group: k, target: want, targetID: id}})
			delete(wantGroups, k)
		default:
			p.deregister = append(p.deregister, Action{Op: OpDelete, Resource: ResourcePatchGroup, Name: groupName(k), ID: id,
				Detail: "from baseline " + ownedIDs[id], spec: &baselineSpec{group: k, targetID: id}})
		}
	}
	for _, k := range sortedKeys(wantGroups) {
		name := wantGroups[k]
		p.register = append(p.register, Action{Op: OpCreate, Resource: ResourcePatchGroup, Name: groupName(k),
			Detail: "baseline " + name, spec: &baselineSpec{group: k, target: name, targetID: kept[name]}})
	}

	// Defaults: each desired default is registered; an owned default that is
	// no longer desired gives way to AWS's predefined one.
	wantDefault := map[string]string{}
	for _, b := range desired.Baselines {
		if b.Default && !clashing[b.Name] {
			wantDefault[b.OperatingSystem] = b.Name
		}
	}
	for _, os := range slices.Sorted(maps.Keys(wantDefault)) {
		name, cur := wantDefault[os], observed.DefaultBaselines[os]
		s := &baselineSpec{target: name, targetID: kept[name]}
		a := Action{Op: OpUnchanged, Resource: ResourceDefaultBaseline, Name: os, ID: cur, Detail: "baseline " + name, spec: s}
		if kept[name] == "" || kept[name] != cur {
			a.Op, a.Detail = OpUpdate, ""
			a.Changes = []Change{{Field: DefaultBaseline, From: baselineLabel(cur, ownedIDs), To: name}}
		}
		p.defaults = append(p.defaults, a)
	}
	p.resets = resetDefaults(observed, ownedIDs, func(os string) bool { _, ok := wantDefault[os]; return ok })

	for _, b := range observed.Baselines {
		if owned[b.ID] == "" {
			p.deletes = append(p.deletes, deleteBaseline(b, desired))
		}
	}
	return p.actions()
}

// resetDefaults registers AWS's predefined default again for every
// operating system whose default is an owned baseline, unless keep says the
// operating system gets another default of orgpatch's.
func resetDefaults(observed baselinesObserved, ownedIDs map[string]string, keep func(os string) bool) []Action {
	var out []Action
	for _, os := range slices.Sorted(maps.Keys(observed.DefaultBaselines)) {
		cur := observed.DefaultBaselines[os]
		if _, isOwned := ownedIDs[cur]; !isOwned || keep(os) {
			continue
		}
		out = append(out, Action{Op: OpReset, Resource: ResourceDefaultBaseline, Name: os, ID: cur,
			Changes: []Change{{Field: DefaultBaseline, From: ownedIDs[cur], To: predefinedDefaults[os]}},
			spec:    &baselineSpec{targetID: observed.PredefinedDefaults[os], target: predefinedDefaults[os]}})
	}
	return out
}

func deleteBaseline(b ObservedBaseline, desired baselinesDesired) Action {
	why := "not in the configuration"
	if slices.ContainsFunc(desired.Baselines, func(d config.Baseline) bool { return d.Name == b.Name }) {
		why = "replaced (another operating system, or a second baseline of the name)"
	}
	if desired.Mode != Converge {
		why = string(desired.Mode)
	}
	return Action{Op: OpDelete, Resource: ResourceBaseline, Name: b.Name, ID: b.ID, Detail: why}
}

// teardown deregisters every patch group from the owned baselines,
// registers AWS's predefined default again wherever an owned baseline is
// the default, then deletes the owned baselines.
func (s baselineState) teardown() []Action {
	desired, observed := s.desired, s.observed
	var p baselinePlan
	ownedIDs := map[string]string{}
	for _, b := range observed.Baselines {
		ownedIDs[b.ID] = b.Name
	}
	for _, k := range sortedKeys(observed.PatchGroups) {
		if id := observed.PatchGroups[k]; ownedIDs[id] != "" {
			p.deregister = append(p.deregister, Action{Op: OpDelete, Resource: ResourcePatchGroup, Name: groupName(k), ID: id,
				Detail: "from baseline " + ownedIDs[id], spec: &baselineSpec{group: k, targetID: id}})
		}
	}
	p.resets = resetDefaults(observed, ownedIDs, func(string) bool { return false })
	for _, b := range observed.Baselines {
		p.deletes = append(p.deletes, deleteBaseline(b, desired))
	}
	return p.actions()
}

// baselineChanges lists the fields in which observed differs from want,
// AWS's defaults counting as unset.
func baselineChanges(observed, want config.Baseline) []Change {
	o, w := normalBaseline(observed), normalBaseline(want)
	var out []Change
	add := func(f Field, from, to any, show func(any) string) {
		if !reflect.DeepEqual(from, to) {
			out = append(out, Change{Field: f, From: show(from), To: show(to)})
		}
	}
	str := func(v any) string { return show(fmt.Sprint(v)) }
	add(BaselineDescription, o.Description, w.Description, str)
	add(BaselineGlobalFilters, o.GlobalFilters, w.GlobalFilters, func(v any) string { return showFilters(v.([]config.PatchFilter)) })
	add(BaselineApprovalRules, o.ApprovalRules, w.ApprovalRules, func(v any) string { return showRules(v.([]config.ApprovalRule)) })
	add(BaselineApprovedPatches, o.ApprovedPatches, w.ApprovedPatches, func(v any) string { return showPatches(v.([]string)) })
	add(BaselineApprovedComplianceLevel, o.ApprovedPatchesComplianceLevel, w.ApprovedPatchesComplianceLevel, str)
	add(BaselineApprovedNonSecurity, o.ApprovedPatchesEnableNonSecurity, w.ApprovedPatchesEnableNonSecurity, str)
	add(BaselineRejectedPatches, o.RejectedPatches, w.RejectedPatches, func(v any) string { return showPatches(v.([]string)) })
	add(BaselineRejectedAction, o.RejectedPatchesAction, w.RejectedPatchesAction, str)
	add(BaselineSources, o.Sources, w.Sources, func(v any) string { return showSources(v.([]config.PatchSource)) })
	add(BaselineAvailableSecurity, o.AvailableSecurityUpdatesComplianceStatus, w.AvailableSecurityUpdatesComplianceStatus, str)
	return out
}

// normalBaseline fills AWS's defaults and drops empty lists, so that what
// AWS answers compares equal to what was sent.
func normalBaseline(b config.Baseline) config.Baseline {
	b.ApprovedPatchesComplianceLevel = cmp.Or(b.ApprovedPatchesComplianceLevel, config.ComplianceUnspecified)
	b.RejectedPatchesAction = cmp.Or(b.RejectedPatchesAction, config.AllowAsDependency)
	b.GlobalFilters = nilIfEmpty(b.GlobalFilters)
	var rules []config.ApprovalRule
	for _, r := range b.ApprovalRules {
		r.ComplianceLevel = cmp.Or(r.ComplianceLevel, config.ComplianceUnspecified)
		r.Filters = nilIfEmpty(r.Filters)
		rules = append(rules, r)
	}
	b.ApprovalRules = rules
	b.ApprovedPatches = nilIfEmpty(b.ApprovedPatches)
	b.RejectedPatches = nilIfEmpty(b.RejectedPatches)
	b.Sources = nilIfEmpty(b.Sources)
	b.Default, b.PatchGroups, b.Name = false, nil, ""
	return b
}

// nilIfEmpty makes an empty list nil, so that "none" compares equal
// however it was written.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func showPatches(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, ",")
}

func showFilters(fs []config.PatchFilter) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Key + "=" + strings.Join(f.Values, ",")
	}
	return strings.Join(parts, " ")
}

// showRules prints approval rules as "[CLASSIFICATION=Security HIGH after 7 days]".
func showRules(rs []config.ApprovalRule) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		when := "until " + r.ApproveUntilDate
		if r.ApproveAfterDays != nil {
			when = fmt.Sprintf("after %d days", *r.ApproveAfterDays)
		}
		nonSec := ""
		if r.EnableNonSecurity {
			nonSec = " +non-security"
		}
		parts[i] = fmt.Sprintf("[%s %s %s%s]", showFilters(r.Filters), r.ComplianceLevel, when, nonSec)
	}
	return strings.Join(parts, " ")
}

// delaySuffix names a new baseline's approval delays: ", approve after 0 days".
func delaySuffix(b config.Baseline) string {
	var days []string
	for _, r := range b.ApprovalRules {
		if r.ApproveAfterDays != nil {
			days = append(days, fmt.Sprint(*r.ApproveAfterDays))
		} else {
			days = append(days, "until "+r.ApproveUntilDate)
		}
	}
	if len(days) == 0 {
		return ""
	}
	return ", approve after " + strings.Join(days, "/") + " days"
}

func groupName(k PatchGroupKey) string { return k.Group + " for " + k.OperatingSystem }

// baselineLabel names a baseline id for a plan: the owned baseline's name,
// else the id itself (AWS's predefined baselines are ARNs).
func baselineLabel(id string, owned map[string]string) string {
	if n := owned[id]; n != "" {
		return n
	}
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return show(id)
}

func sortedKeys[V any](m map[PatchGroupKey]V) []PatchGroupKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b PatchGroupKey) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.OperatingSystem, b.OperatingSystem))
	})
}

// showSources prints each source's name and products, and of its
// configuration (sensitive in the SSM model: it may hold repository
// credentials) only a digest, so a changed configuration still shows.
func showSources(ss []config.PatchSource) string {
	if len(ss) == 0 {
		return "none"
	}
	parts := make([]string, len(ss))
	for i, src := range ss {
		sum := sha256.Sum256([]byte(src.Configuration))
		parts[i] = fmt.Sprintf("%s (%s; configuration sha256:%x)", src.Name, strings.Join(src.Products, ","), sum[:4])
	}
	return strings.Join(parts, ", ")
}
