package ssmsvc

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// Baseline is a patch baseline, as the snapshot methods return it: one the
// account created (ID "pb-" and 17 hex digits) or one of AWS's predefined
// baselines (ID its full ARN, Predefined true).
type Baseline struct {
	ID                                       string
	Name                                     string
	OperatingSystem                          string
	Description                              string
	GlobalFilters                            *PatchFilterGroup
	ApprovalRules                            *PatchRuleGroup
	ApprovedPatches                          []string
	ApprovedPatchesComplianceLevel           string
	ApprovedPatchesEnableNonSecurity         bool
	RejectedPatches                          []string
	RejectedPatchesAction                    string
	Sources                                  []PatchSource
	AvailableSecurityUpdatesComplianceStatus string
	Created                                  time.Time
	Modified                                 time.Time
	Tags                                     []Tag
	Predefined                               bool
}

// PatchFilterGroup is a baseline's global filters or one rule's filters.
type PatchFilterGroup struct {
	PatchFilters []PatchFilter `json:"PatchFilters"`
}

// PatchFilter selects patches by one property.
type PatchFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

// PatchRuleGroup is a baseline's approval rules.
type PatchRuleGroup struct {
	PatchRules []PatchRule `json:"PatchRules"`
}

// PatchRule approves the patches its filters select, some days after
// release or up to a date.
type PatchRule struct {
	PatchFilterGroup  PatchFilterGroup `json:"PatchFilterGroup"`
	ComplianceLevel   string           `json:"ComplianceLevel,omitempty"`
	ApproveAfterDays  *int32           `json:"ApproveAfterDays,omitempty"`
	ApproveUntilDate  string           `json:"ApproveUntilDate,omitempty"`
	EnableNonSecurity *bool            `json:"EnableNonSecurity,omitempty"`
}

// PatchSource is an alternative repository of a Linux baseline.
type PatchSource struct {
	Name          string   `json:"Name"`
	Products      []string `json:"Products"`
	Configuration string   `json:"Configuration"`
}

// The documented defaults of CreatePatchBaseline's optional members.
const (
	defaultOperatingSystem = "WINDOWS"
	defaultComplianceLevel = "UNSPECIFIED"
	defaultRejectedAction  = "ALLOW_AS_DEPENDENCY"
)

// filterKeys are the patch filter keys each operating system takes in a
// baseline's global filters and approval rules, as the API Reference's
// DescribePatchProperties and PatchFilter pages list them. CreatePatchBaseline
// and UpdatePatchBaseline refuse any other key with a ValidationException.
var filterKeys = func() map[string][]string {
	linux := []string{"CLASSIFICATION", "PRODUCT", "SEVERITY"}
	debian := []string{"PRIORITY", "PRODUCT", "SECTION"}
	return map[string][]string{
		"WINDOWS":        {"CLASSIFICATION", "MSRC_SEVERITY", "PATCH_SET", "PRODUCT", "PRODUCT_FAMILY"},
		"MACOS":          {"CLASSIFICATION", "PRODUCT"},
		"UBUNTU":         debian,
		"DEBIAN":         debian,
		"RASPBIAN":       debian,
		"AMAZON_LINUX":   linux,
		"AMAZON_LINUX_2": linux, "AMAZON_LINUX_2022": linux, "AMAZON_LINUX_2023": linux,
		"REDHAT_ENTERPRISE_LINUX": linux, "SUSE": linux, "CENTOS": linux, "ORACLE_LINUX": linux,
		"ROCKY_LINUX": linux, "ALMA_LINUX": linux,
	}
}()

var (
	ownBaselineID = regexp.MustCompile(`^pb-[0-9a-f]{17}$`)
	baselineARN   = regexp.MustCompile(`^arn:[a-z-]+:ssm:[a-z0-9-]+:(\d{12}):patchbaseline/(pb-[0-9a-f]{17})$`)
	untilDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// checkBaseline applies the documented rules the model cannot express:
// every approval rule approves after a number of days or up to a date, not
// both and not neither; dates are YYYY-MM-DD; a filter group names each key
// once, and only keys the baseline's operating system takes.
func checkBaseline(b *Baseline) error {
	groups := map[string]*PatchFilterGroup{"GlobalFilters": b.GlobalFilters}
	if b.ApprovalRules != nil {
		for i := range b.ApprovalRules.PatchRules {
			r := &b.ApprovalRules.PatchRules[i]
			where := fmt.Sprintf("ApprovalRules.PatchRules.%d", i+1)
			switch {
			case r.ApproveAfterDays != nil && r.ApproveUntilDate != "":
				return validation("%s: ApproveAfterDays and ApproveUntilDate cannot both be specified.", where)
			case r.ApproveAfterDays == nil && r.ApproveUntilDate == "":
				return validation("%s: one of ApproveAfterDays or ApproveUntilDate must be specified.", where)
			case r.ApproveUntilDate != "":
				if _, err := time.Parse("2006-01-02", r.ApproveUntilDate); err != nil || !untilDate.MatchString(r.ApproveUntilDate) {
					return validation("%s: ApproveUntilDate %s is not a date in the format YYYY-MM-DD.", where, r.ApproveUntilDate)
				}
			}
			groups[where+".PatchFilterGroup"] = &r.PatchFilterGroup
		}
	}
	keys := filterKeys[b.OperatingSystem]
	for _, where := range slices.Sorted(maps.Keys(groups)) {
		g := groups[where]
		if g == nil {
			continue
		}
		seen := map[string]bool{}
		for _, f := range g.PatchFilters {
			if seen[f.Key] {
				return validation("%s: the patch filter key %s is specified more than once.", where, f.Key)
			}
			seen[f.Key] = true
			if !slices.Contains(keys, f.Key) {
				return validation("%s: the patch filter key %s is not valid for operating system %s; valid keys are %s.",
					where, f.Key, b.OperatingSystem, strings.Join(keys, ", "))
			}
		}
	}
	return nil
}

type baselineBody struct {
	Name                                     *string           `json:"Name"`
	GlobalFilters                            *PatchFilterGroup `json:"GlobalFilters"`
	ApprovalRules                            *PatchRuleGroup   `json:"ApprovalRules"`
	ApprovedPatches                          []string          `json:"ApprovedPatches"`
	ApprovedPatchesComplianceLevel           *string           `json:"ApprovedPatchesComplianceLevel"`
	ApprovedPatchesEnableNonSecurity         *bool             `json:"ApprovedPatchesEnableNonSecurity"`
	RejectedPatches                          []string          `json:"RejectedPatches"`
	RejectedPatchesAction                    *string           `json:"RejectedPatchesAction"`
	Description                              *string           `json:"Description"`
	Sources                                  []PatchSource     `json:"Sources"`
	AvailableSecurityUpdatesComplianceStatus *string           `json:"AvailableSecurityUpdatesComplianceStatus"`
}

// applyTo sets on b the members the request gives.
func (in *baselineBody) applyTo(b *Baseline) {
	set(&b.Name, in.Name)
	set(&b.Description, in.Description)
	set(&b.ApprovedPatchesComplianceLevel, in.ApprovedPatchesComplianceLevel)
	set(&b.ApprovedPatchesEnableNonSecurity, in.ApprovedPatchesEnableNonSecurity)
	set(&b.RejectedPatchesAction, in.RejectedPatchesAction)
	set(&b.AvailableSecurityUpdatesComplianceStatus, in.AvailableSecurityUpdatesComplianceStatus)
	if in.GlobalFilters != nil {
		b.GlobalFilters = clonePatchFilterGroup(in.GlobalFilters)
	}
	if in.ApprovalRules != nil {
		b.ApprovalRules = clonePatchRuleGroup(in.ApprovalRules)
		for i := range b.ApprovalRules.PatchRules {
			if b.ApprovalRules.PatchRules[i].ComplianceLevel == "" {
				b.ApprovalRules.PatchRules[i].ComplianceLevel = defaultComplianceLevel
			}
		}
	}
	if in.ApprovedPatches != nil {
		b.ApprovedPatches = slices.Clone(in.ApprovedPatches)
	}
	if in.RejectedPatches != nil {
		b.RejectedPatches = slices.Clone(in.RejectedPatches)
	}
	if in.Sources != nil {
		b.Sources = cloneSources(in.Sources)
	}
}

type createBaselineInput struct {
	baselineBody
	OperatingSystem *string `json:"OperatingSystem"`
	ClientToken     string  `json:"ClientToken,omitempty"`
	Tags            []Tag   `json:"Tags,omitempty"`
}

type baselineIDOutput struct {
	BaselineId string `json:"BaselineId"`
}

// createBaseline creates a baseline of the account. Names need not be
// unique: AWS documents no uniqueness rule for baseline names, so two
// calls with the same name make two baselines (callers that must not
// duplicate use ClientToken, or look before they create).
func (s *Service) createBaseline(ctx Context, in *createBaselineInput) (any, error) {
	b := &Baseline{OperatingSystem: defaultOperatingSystem, ApprovedPatchesComplianceLevel: defaultComplianceLevel,
		RejectedPatchesAction: defaultRejectedAction, Tags: slices.Clone(in.Tags)}
	set(&b.OperatingSystem, in.OperatingSystem)
	in.applyTo(b)
	if err := checkBaseline(b); err != nil {
		return nil, err
	}
	if len(b.Tags) > s.quotas.TagsPerResource {
		return nil, apierr.BadRequest("TooManyTagsError", "The patch baseline would have %d tags; the limit is %d", len(b.Tags), s.quotas.TagsPerResource)
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	id, done, fp, err := st.checkToken("CreatePatchBaseline", in.ClientToken, in)
	if err != nil {
		return nil, err
	}
	if done {
		return baselineIDOutput{BaselineId: id}, nil
	}
	if len(st.baselines) >= s.quotas.BaselinesPerRegion {
		return nil, apierr.BadRequest("ResourceLimitExceededException",
			"Maximum number of patch baselines (%d) in account %s region %s reached", s.quotas.BaselinesPerRegion, ctx.Account, ctx.Region)
	}
	n := s.next()
	b.ID = fmt.Sprintf("pb-%x%016x", n&0xf, mix(n))
	b.Created = ctx.now()
	b.Modified = b.Created
	st.baselines[b.ID] = b
	st.rememberToken("CreatePatchBaseline", in.ClientToken, fp, b.ID)
	return baselineIDOutput{BaselineId: b.ID}, nil
}

// baseline resolves a BaselineId of ctx's account x region: the account's
// own baselines by id or ARN, AWS's predefined ones by their ARN (the API
// Reference: "specify the full ARN ... instead of pb-..."). An id of
// neither form is InvalidResourceId; one that names nothing,
// DoesNotExistException. Callers hold st.mu.
func (st *state) baseline(ctx Context, id string) (*Baseline, error) {
	short := id
	if m := baselineARN.FindStringSubmatch(id); m != nil && m[1] == ctx.Account {
		short = m[2]
	}
	if b, ok := st.baselines[short]; ok {
		return b, nil
	}
	if b := predefinedByID(ctx.partition(), ctx.Region, id); b != nil {
		return b, nil
	}
	if !ownBaselineID.MatchString(short) && !baselineARN.MatchString(id) {
		return nil, apierr.BadRequest("InvalidResourceId", "The resource ID %s is not valid. Verify the ID and try again.", id)
	}
	return nil, apierr.BadRequest("DoesNotExistException", "Patch Baseline %s does not exist.", id)
}

// inBaseline runs f on the baseline id of ctx's account x region, holding
// that state's lock.
func (s *Service) inBaseline(ctx Context, id string, f func(st *state, b *Baseline) (any, error)) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	b, err := st.baseline(ctx, id)
	if err != nil {
		return nil, err
	}
	return f(st, b)
}

type baselineIDInput struct {
	BaselineId string `json:"BaselineId"`
}

type getBaselineOutput struct {
	BaselineId                               string            `json:"BaselineId"`
	Name                                     string            `json:"Name"`
	OperatingSystem                          string            `json:"OperatingSystem"`
	Description                              string            `json:"Description,omitempty"`
	GlobalFilters                            *PatchFilterGroup `json:"GlobalFilters,omitempty"`
	ApprovalRules                            *PatchRuleGroup   `json:"ApprovalRules,omitempty"`
	ApprovedPatches                          []string          `json:"ApprovedPatches"`
	ApprovedPatchesComplianceLevel           string            `json:"ApprovedPatchesComplianceLevel"`
	ApprovedPatchesEnableNonSecurity         bool              `json:"ApprovedPatchesEnableNonSecurity"`
	RejectedPatches                          []string          `json:"RejectedPatches"`
	RejectedPatchesAction                    string            `json:"RejectedPatchesAction"`
	PatchGroups                              []string          `json:"PatchGroups,omitempty"`
	CreatedDate                              *epoch            `json:"CreatedDate,omitempty"`
	ModifiedDate                             *epoch            `json:"ModifiedDate,omitempty"`
	Sources                                  []PatchSource     `json:"Sources"`
	AvailableSecurityUpdatesComplianceStatus string            `json:"AvailableSecurityUpdatesComplianceStatus,omitempty"`
}

func baselineOutput(b *Baseline) getBaselineOutput {
	out := getBaselineOutput{BaselineId: b.ID, Name: b.Name, OperatingSystem: b.OperatingSystem, Description: b.Description,
		GlobalFilters: clonePatchFilterGroup(b.GlobalFilters), ApprovalRules: clonePatchRuleGroup(b.ApprovalRules),
		ApprovedPatches: nonNil(b.ApprovedPatches), ApprovedPatchesComplianceLevel: b.ApprovedPatchesComplianceLevel,
		ApprovedPatchesEnableNonSecurity: b.ApprovedPatchesEnableNonSecurity, RejectedPatches: nonNil(b.RejectedPatches),
		RejectedPatchesAction: b.RejectedPatchesAction, CreatedDate: stamp(b.Created), ModifiedDate: stamp(b.Modified),
		Sources: cloneSources(b.Sources), AvailableSecurityUpdatesComplianceStatus: b.AvailableSecurityUpdatesComplianceStatus}
	if out.Sources == nil {
		out.Sources = []PatchSource{}
	}
	return out
}

func (s *Service) getBaseline(ctx Context, in *baselineIDInput) (any, error) {
	return s.inBaseline(ctx, in.BaselineId, func(st *state, b *Baseline) (any, error) {
		out := baselineOutput(b)
		out.PatchGroups = st.groupsOf(b.ID)
		return out, nil
	})
}

type updateBaselineInput struct {
	baselineBody
	BaselineId string `json:"BaselineId"`
	Replace    bool   `json:"Replace"`
}

// updateBaseline changes the given members of one of the account's
// baselines; with Replace, every optional member not given is reset to its
// default. The operating system cannot change. AWS's predefined baselines
// cannot be changed: the API Reference says they cannot be customized but
// names no error code, so the simulator answers ValidationException
// (an assumption).
func (s *Service) updateBaseline(ctx Context, in *updateBaselineInput) (any, error) {
	return s.inBaseline(ctx, in.BaselineId, func(st *state, old *Baseline) (any, error) {
		if old.Predefined {
			return nil, validation("The patch baseline %s is owned by AWS and cannot be modified.", in.BaselineId)
		}
		b := *old
		if in.Replace {
			b = Baseline{ID: old.ID, Name: old.Name, OperatingSystem: old.OperatingSystem, Created: old.Created, Tags: old.Tags,
				ApprovedPatchesComplianceLevel: defaultComplianceLevel, RejectedPatchesAction: defaultRejectedAction}
		}
		in.applyTo(&b)
		if err := checkBaseline(&b); err != nil {
			return nil, err
		}
		b.Modified = ctx.now()
		*old = b
		return baselineOutput(old), nil
	})
}

// deleteBaseline deletes one of the account's baselines. One that is the
// default of its operating system or registered for a patch group is in
// use: ResourceInUseException, as the API Reference documents. Deleting an
// id that names nothing succeeds (the operation documents no
// DoesNotExistException), like DeleteMaintenanceWindow.
func (s *Service) deleteBaseline(ctx Context, in *baselineIDInput) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	b, err := st.baseline(ctx, in.BaselineId)
	if err != nil && apierr.As(err).Code == "DoesNotExistException" {
		return baselineIDOutput{BaselineId: in.BaselineId}, nil
	}
	if err != nil {
		return nil, err
	}
	if b.Predefined {
		return nil, validation("The patch baseline %s is owned by AWS and cannot be deleted.", in.BaselineId)
	}
	if slices.Contains(slices.Collect(maps.Values(st.defaults)), b.ID) {
		return nil, apierr.BadRequest("ResourceInUseException", "Patch baseline %s is the default patch baseline for %s and cannot be deleted.", b.ID, b.OperatingSystem)
	}
	if groups := st.groupsOf(b.ID); len(groups) > 0 {
		return nil, apierr.BadRequest("ResourceInUseException", "Patch baseline %s is registered for patch groups %s and cannot be deleted.", b.ID, strings.Join(groups, ", "))
	}
	delete(st.baselines, b.ID)
	return baselineIDOutput{BaselineId: b.ID}, nil
}

type describeBaselinesInput struct {
	Filters    []Filter `json:"Filters"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

type baselineIdentity struct {
	BaselineId          string `json:"BaselineId"`
	BaselineName        string `json:"BaselineName"`
	OperatingSystem     string `json:"OperatingSystem"`
	BaselineDescription string `json:"BaselineDescription,omitempty"`
	DefaultBaseline     bool   `json:"DefaultBaseline"`
}

func (st *state) identity(ctx Context, b *Baseline) baselineIdentity {
	return baselineIdentity{BaselineId: b.ID, BaselineName: b.Name, OperatingSystem: b.OperatingSystem,
		BaselineDescription: b.Description, DefaultBaseline: st.defaultOf(ctx, b.OperatingSystem) == b.ID}
}

type describeBaselinesOutput struct {
	BaselineIdentities []baselineIdentity `json:"BaselineIdentities"`
	NextToken          string             `json:"NextToken,omitempty"`
}

// baselineFilters are DescribePatchBaselines' filter keys, as the API
// Reference lists them: NAME_PREFIX, OWNER (AWS or Self) and
// OPERATING_SYSTEM.
var baselineFilters = map[string]func(*Baseline, string) bool{
	"NAME_PREFIX":      func(b *Baseline, v string) bool { return strings.HasPrefix(b.Name, v) },
	"OWNER":            func(b *Baseline, v string) bool { return b.Predefined == (v == "AWS") && (v == "AWS" || v == "Self") },
	"OPERATING_SYSTEM": func(b *Baseline, v string) bool { return b.OperatingSystem == v },
}

// describeBaselines lists the account's baselines and AWS's predefined
// ones of the region.
func (s *Service) describeBaselines(ctx Context, in *describeBaselinesInput) (any, error) {
	match, err := filters(in.Filters, baselineFilters)
	if err != nil {
		return nil, err
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	all := append(slices.Collect(maps.Values(st.baselines)), predefined(ctx.partition(), ctx.Region)...)
	items, next, err := page(slices.Values(all), match, func(b *Baseline) string { return b.ID }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeBaselinesOutput{BaselineIdentities: make([]baselineIdentity, len(items)), NextToken: next}
	for i, b := range items {
		out.BaselineIdentities[i] = st.identity(ctx, b)
	}
	return out, nil
}

// defaultOf is the id of the default baseline of os in ctx's account x
// region: the one registered, else AWS's predefined default. Callers hold
// st.mu.
func (st *state) defaultOf(ctx Context, os string) string {
	if id, ok := st.defaults[os]; ok {
		return id
	}
	return predefinedDefault(ctx.partition(), ctx.Region, os).ID
}

func (s *Service) registerDefaultBaseline(ctx Context, in *baselineIDInput) (any, error) {
	return s.inBaseline(ctx, in.BaselineId, func(st *state, b *Baseline) (any, error) {
		if b.Predefined && predefinedDefault(ctx.partition(), ctx.Region, b.OperatingSystem).ID == b.ID {
			delete(st.defaults, b.OperatingSystem)
		} else {
			st.defaults[b.OperatingSystem] = b.ID
		}
		return baselineIDOutput{BaselineId: b.ID}, nil
	})
}

type osInput struct {
	OperatingSystem *string `json:"OperatingSystem"`
	PatchGroup      string  `json:"PatchGroup"`
}

func (in *osInput) os() string {
	if in.OperatingSystem == nil {
		return defaultOperatingSystem
	}
	return *in.OperatingSystem
}

type defaultBaselineOutput struct {
	BaselineId      string `json:"BaselineId"`
	OperatingSystem string `json:"OperatingSystem"`
}

func (s *Service) getDefaultBaseline(ctx Context, in *osInput) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	return defaultBaselineOutput{BaselineId: st.defaultOf(ctx, in.os()), OperatingSystem: in.os()}, nil
}

// groupKey is a patch group's registration for one operating system: a
// patch group has at most one baseline per operating system.
type groupKey struct{ group, os string }

// groupsOf lists, sorted, the patch groups registered with baseline id.
// Callers hold st.mu.
func (st *state) groupsOf(id string) []string {
	var out []string
	for k, v := range st.groups {
		if v == id {
			out = append(out, k.group)
		}
	}
	slices.Sort(out)
	return out
}

type patchGroupInput struct {
	BaselineId string `json:"BaselineId"`
	PatchGroup string `json:"PatchGroup"`
}

type patchGroupOutput struct {
	BaselineId string `json:"BaselineId"`
	PatchGroup string `json:"PatchGroup"`
}

// registerPatchGroup registers a baseline for a patch group (for the
// baseline's operating system). A patch group already registered with
// another baseline of that operating system is AlreadyExistsException; the
// same registration again succeeds (AlreadyExistsException is documented
// only for a different baseline). A baseline with its quota of patch groups
// is ResourceLimitExceededException.
func (s *Service) registerPatchGroup(ctx Context, in *patchGroupInput) (any, error) {
	return s.inBaseline(ctx, in.BaselineId, func(st *state, b *Baseline) (any, error) {
		k := groupKey{in.PatchGroup, b.OperatingSystem}
		if prev, ok := st.groups[k]; ok && prev != b.ID {
			return nil, apierr.BadRequest("AlreadyExistsException",
				"Patch Group %s is already registered with baseline %s for operating system %s.", in.PatchGroup, prev, b.OperatingSystem)
		} else if !ok && len(st.groupsOf(b.ID)) >= s.quotas.PatchGroupsPerBaseline {
			return nil, apierr.BadRequest("ResourceLimitExceededException",
				"Patch baseline %s already has the maximum number of patch groups (%d).", b.ID, s.quotas.PatchGroupsPerBaseline)
		}
		st.groups[k] = b.ID
		return patchGroupOutput{BaselineId: b.ID, PatchGroup: in.PatchGroup}, nil
	})
}

// deregisterPatchGroup removes the registration of the patch group with
// the baseline. A pair that is not registered succeeds and changes
// nothing: the operation documents only InvalidResourceId (an assumption,
// as for DeleteMaintenanceWindow).
func (s *Service) deregisterPatchGroup(ctx Context, in *patchGroupInput) (any, error) {
	return s.inBaseline(ctx, in.BaselineId, func(st *state, b *Baseline) (any, error) {
		k := groupKey{in.PatchGroup, b.OperatingSystem}
		if st.groups[k] == b.ID {
			delete(st.groups, k)
		}
		return patchGroupOutput{BaselineId: b.ID, PatchGroup: in.PatchGroup}, nil
	})
}

type patchGroupBaselineOutput struct {
	BaselineId      string `json:"BaselineId"`
	PatchGroup      string `json:"PatchGroup"`
	OperatingSystem string `json:"OperatingSystem"`
}

// getPatchGroupBaseline answers the baseline a patch group's instances of
// the operating system (default WINDOWS) are patched with: the registered
// one, else the default baseline of that operating system.
func (s *Service) getPatchGroupBaseline(ctx Context, in *osInput) (any, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	id, ok := st.groups[groupKey{in.PatchGroup, in.os()}]
	if !ok {
		id = st.defaultOf(ctx, in.os())
	}
	return patchGroupBaselineOutput{BaselineId: id, PatchGroup: in.PatchGroup, OperatingSystem: in.os()}, nil
}

type patchGroupMapping struct {
	PatchGroup       string           `json:"PatchGroup"`
	BaselineIdentity baselineIdentity `json:"BaselineIdentity"`
}

type describePatchGroupsOutput struct {
	Mappings  []patchGroupMapping `json:"Mappings"`
	NextToken string              `json:"NextToken,omitempty"`
}

// describePatchGroups lists the patch group registrations. Its filter
// keys, as the API Reference lists them: NAME_PREFIX (of the patch group)
// and OPERATING_SYSTEM.
func (s *Service) describePatchGroups(ctx Context, in *describeBaselinesInput) (any, error) {
	match, err := filters(in.Filters, map[string]func(groupKey, string) bool{
		"NAME_PREFIX":      func(k groupKey, v string) bool { return strings.HasPrefix(k.group, v) },
		"OPERATING_SYSTEM": func(k groupKey, v string) bool { return k.os == v },
	})
	if err != nil {
		return nil, err
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	items, next, err := page(maps.Keys(st.groups), match, func(k groupKey) string { return k.group + "\x00" + k.os }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describePatchGroupsOutput{Mappings: make([]patchGroupMapping, len(items)), NextToken: next}
	for i, k := range items {
		b, err := st.baseline(ctx, st.groups[k])
		if err != nil {
			return nil, err
		}
		out.Mappings[i] = patchGroupMapping{PatchGroup: k.group, BaselineIdentity: st.identity(ctx, b)}
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func clonePatchFilterGroup(g *PatchFilterGroup) *PatchFilterGroup {
	if g == nil {
		return nil
	}
	c := &PatchFilterGroup{PatchFilters: make([]PatchFilter, len(g.PatchFilters))}
	for i, f := range g.PatchFilters {
		c.PatchFilters[i] = PatchFilter{Key: f.Key, Values: slices.Clone(f.Values)}
	}
	return c
}

func clonePatchRuleGroup(g *PatchRuleGroup) *PatchRuleGroup {
	if g == nil {
		return nil
	}
	c := &PatchRuleGroup{PatchRules: make([]PatchRule, len(g.PatchRules))}
	for i, r := range g.PatchRules {
		r.PatchFilterGroup = *clonePatchFilterGroup(&r.PatchFilterGroup)
		if r.ApproveAfterDays != nil {
			d := *r.ApproveAfterDays
			r.ApproveAfterDays = &d
		}
		if r.EnableNonSecurity != nil {
			e := *r.EnableNonSecurity
			r.EnableNonSecurity = &e
		}
		c.PatchRules[i] = r
	}
	return c
}

func cloneSources(s []PatchSource) []PatchSource {
	if s == nil {
		return nil
	}
	c := make([]PatchSource, len(s))
	for i, p := range s {
		c[i] = PatchSource{Name: p.Name, Products: slices.Clone(p.Products), Configuration: p.Configuration}
	}
	return c
}

func (b *Baseline) clone() Baseline {
	c := *b
	c.GlobalFilters = clonePatchFilterGroup(b.GlobalFilters)
	c.ApprovalRules = clonePatchRuleGroup(b.ApprovalRules)
	c.ApprovedPatches = slices.Clone(b.ApprovedPatches)
	c.RejectedPatches = slices.Clone(b.RejectedPatches)
	c.Sources = cloneSources(b.Sources)
	c.Tags = slices.Clone(b.Tags)
	return c
}
