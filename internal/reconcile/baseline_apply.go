package reconcile

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/config"
)

// apply makes the write of one baseline, default or patch group action. A
// name clash, planned unchanged, is reported here as the error it is.
func (baselineKind) apply(ctx context.Context, a *applier, act Action) error {
	s, _ := act.spec.(*baselineSpec)
	switch {
	case s != nil && s.clash != "":
		return fmt.Errorf("%s %s: %s", act.Resource, act.Name, s.clash)
	case act.Resource == ResourceBaseline && act.Op == OpUnchanged:
		a.ids[idKey{ResourceBaseline, act.Name}] = act.ID
		return nil
	case act.Op == OpUnchanged:
		return nil
	}
	client, err := clientOf[baselinesAPI](a.clients)
	if err != nil {
		return err
	}
	switch act.Resource {
	case ResourceBaseline:
		switch act.Op {
		case OpCreate:
			return a.createBaseline(ctx, client, act)
		case OpUpdate:
			return a.updateBaseline(ctx, client, act)
		case OpDelete:
			return a.deleteBaseline(ctx, client, act)
		}
	case ResourcePatchGroup:
		switch act.Op {
		case OpCreate:
			return a.registerPatchGroup(ctx, client, act)
		case OpDelete:
			return a.deregisterPatchGroup(ctx, client, act)
		}
	case ResourceDefaultBaseline:
		if act.Op == OpUpdate || act.Op == OpReset {
			return a.registerDefault(ctx, client, act)
		}
	}
	return errNoSuchAction(act)
}

// bspec is the payload of a baseline, default or patch group action.
func bspec(act Action) *baselineSpec {
	if s, ok := act.spec.(*baselineSpec); ok {
		return s
	}
	return &baselineSpec{}
}

// baselineID is the id a registration names: known at plan time, or the
// one this run created.
func (a *applier) baselineID(act Action) (string, error) {
	s := bspec(act)
	if s.targetID != "" {
		return s.targetID, nil
	}
	if id := a.ids[idKey{ResourceBaseline, s.target}]; id != "" {
		return id, nil
	}
	return "", fmt.Errorf("%s %s %s: baseline %s has no id (it was neither observed nor created)", act.Op, act.Resource, act.Name, s.target)
}

// createBaseline creates a baseline carrying the ownership tag, so that a
// create whose answer is lost is adopted by the next run's observe.
func (a *applier) createBaseline(ctx context.Context, client baselinesAPI, act Action) error {
	b := normalSend(bspec(act).baseline)
	in := &ssm.CreatePatchBaselineInput{
		Name: aws.String(b.Name), OperatingSystem: types.OperatingSystem(b.OperatingSystem),
		Tags: []types.Tag{{Key: aws.String(OwnerTagKey), Value: aws.String(OwnerTagValue)}},
	}
	setBaselineFields(b, nil, func(f Field) bool { return true }, &in.Description, &in.GlobalFilters, &in.ApprovalRules,
		&in.ApprovedPatches, &in.ApprovedPatchesComplianceLevel, &in.ApprovedPatchesEnableNonSecurity, &in.RejectedPatches, &in.RejectedPatchesAction,
		&in.Sources, &in.AvailableSecurityUpdatesComplianceStatus)
	out, err := send(ctx, a, false, client.CreatePatchBaseline, in)
	if err != nil {
		return fmt.Errorf("create patch baseline %s: %w", b.Name, err)
	}
	a.ids[idKey{ResourceBaseline, b.Name}] = aws.ToString(out.BaselineId)
	return nil
}

// updateBaseline sends the changed members only; when the description is
// to be cleared (which a partial update cannot do), it replaces the
// baseline's members with the desired ones. Idempotent: it sets values.
func (a *applier) updateBaseline(ctx context.Context, client baselinesAPI, act Action) error {
	b := normalSend(bspec(act).baseline)
	changed := map[Field]bool{}
	for _, c := range act.Changes {
		changed[c.Field] = true
	}
	// Every member but the description and the available security
	// updates status can be cleared by sending it empty; those two (a
	// 1-1024 character string, an enum) only by a replacement.
	replace := changed[BaselineDescription] && b.Description == "" ||
		changed[BaselineAvailableSecurity] && b.AvailableSecurityUpdatesComplianceStatus == ""
	in := &ssm.UpdatePatchBaselineInput{BaselineId: aws.String(act.ID)}
	if replace {
		in.Replace, in.Name = aws.Bool(true), aws.String(b.Name)
	}
	if unsent := setBaselineFields(b, act.Changes, func(f Field) bool { return replace || changed[f] }, &in.Description, &in.GlobalFilters, &in.ApprovalRules,
		&in.ApprovedPatches, &in.ApprovedPatchesComplianceLevel, &in.ApprovedPatchesEnableNonSecurity, &in.RejectedPatches, &in.RejectedPatchesAction,
		&in.Sources, &in.AvailableSecurityUpdatesComplianceStatus); unsent != nil {
		return errCannotSend(act, *unsent)
	}
	if _, err := send(ctx, a, false, client.UpdatePatchBaseline, in); err != nil {
		return fmt.Errorf("update patch baseline %s (%s): %w", b.Name, act.ID, err)
	}
	a.ids[idKey{ResourceBaseline, b.Name}] = act.ID
	return nil
}

// setBaselineFields sets, of the create or update input members given, the
// ones send says to send, from b. It returns a change whose Field it
// cannot send (nil when every one is sent).
func setBaselineFields(b config.Baseline, changes []Change, send func(Field) bool,
	description **string, global **types.PatchFilterGroup, rules **types.PatchRuleGroup, approved *[]string,
	approvedLevel *types.PatchComplianceLevel, nonSecurity **bool, rejected *[]string, action *types.PatchAction,
	sources *[]types.PatchSource, securityStatus *types.PatchComplianceStatus) *Change {
	for _, c := range changes {
		switch c.Field {
		case BaselineDescription, BaselineGlobalFilters, BaselineApprovalRules, BaselineApprovedPatches,
			BaselineApprovedComplianceLevel, BaselineApprovedNonSecurity, BaselineRejectedPatches, BaselineRejectedAction,
			BaselineSources, BaselineAvailableSecurity:
		default:
			return &c
		}
	}
	if send(BaselineDescription) {
		*description = optional(b.Description)
	}
	if send(BaselineGlobalFilters) {
		*global = filterGroup(b.GlobalFilters)
		if *global == nil {
			*global = &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{}}
		}
	}
	if send(BaselineApprovalRules) {
		g := &types.PatchRuleGroup{PatchRules: []types.PatchRule{}}
		for _, r := range b.ApprovalRules {
			g.PatchRules = append(g.PatchRules, types.PatchRule{
				PatchFilterGroup: filterGroup(r.Filters), ComplianceLevel: types.PatchComplianceLevel(r.ComplianceLevel),
				ApproveAfterDays: r.ApproveAfterDays, ApproveUntilDate: optional(r.ApproveUntilDate),
				EnableNonSecurity: aws.Bool(r.EnableNonSecurity),
			})
		}
		*rules = g
	}
	if send(BaselineApprovedPatches) {
		*approved = nonNilStrings(b.ApprovedPatches)
	}
	if send(BaselineApprovedComplianceLevel) {
		*approvedLevel = types.PatchComplianceLevel(b.ApprovedPatchesComplianceLevel)
	}
	if send(BaselineApprovedNonSecurity) {
		*nonSecurity = aws.Bool(b.ApprovedPatchesEnableNonSecurity)
	}
	if send(BaselineRejectedPatches) {
		*rejected = nonNilStrings(b.RejectedPatches)
	}
	if send(BaselineRejectedAction) {
		*action = types.PatchAction(b.RejectedPatchesAction)
	}
	if send(BaselineSources) {
		// A non-nil empty list is sent as [], which removes every source.
		*sources = []types.PatchSource{}
		for _, src := range b.Sources {
			*sources = append(*sources, types.PatchSource{Name: aws.String(src.Name), Products: src.Products, Configuration: aws.String(src.Configuration)})
		}
	}
	if send(BaselineAvailableSecurity) {
		// Empty is not sent: only a replacement clears it.
		*securityStatus = types.PatchComplianceStatus(b.AvailableSecurityUpdatesComplianceStatus)
	}
	return nil
}

// normalSend is b with AWS's defaults filled in, so that every member a
// write sends is set (an empty enum would not be sent, leaving the old
// value).
func normalSend(b config.Baseline) config.Baseline {
	n := normalBaseline(b)
	n.Name, n.Default, n.PatchGroups = b.Name, b.Default, b.PatchGroups
	return n
}

func filterGroup(fs []config.PatchFilter) *types.PatchFilterGroup {
	if len(fs) == 0 {
		return &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{}}
	}
	g := &types.PatchFilterGroup{}
	for _, f := range fs {
		g.PatchFilters = append(g.PatchFilters, types.PatchFilter{Key: types.PatchFilterKey(f.Key), Values: f.Values})
	}
	return g
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deleteBaseline deletes an owned baseline. Idempotent: one that no longer
// exists is done.
func (a *applier) deleteBaseline(ctx context.Context, client baselinesAPI, act Action) error {
	_, err := send(ctx, a, false, client.DeletePatchBaseline, &ssm.DeletePatchBaselineInput{BaselineId: aws.String(act.ID)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete patch baseline %s (%s): %w", act.Name, act.ID, err)
	}
	return nil
}

// registerPatchGroup registers the baseline for the patch group.
// Idempotent: the same registration again succeeds.
func (a *applier) registerPatchGroup(ctx context.Context, client baselinesAPI, act Action) error {
	id, err := a.baselineID(act)
	if err != nil {
		return err
	}
	k := bspec(act).group
	if _, err := send(ctx, a, bspec(act).targetID == "", client.RegisterPatchBaselineForPatchGroup, &ssm.RegisterPatchBaselineForPatchGroupInput{
		BaselineId: aws.String(id), PatchGroup: aws.String(k.Group),
	}); err != nil {
		return fmt.Errorf("register patch group %s with baseline %s: %w", groupName(k), id, err)
	}
	return nil
}

// deregisterPatchGroup removes a registration. Idempotent: one already
// gone is done.
func (a *applier) deregisterPatchGroup(ctx context.Context, client baselinesAPI, act Action) error {
	k := bspec(act).group
	_, err := send(ctx, a, false, client.DeregisterPatchBaselineForPatchGroup, &ssm.DeregisterPatchBaselineForPatchGroupInput{
		BaselineId: aws.String(act.ID), PatchGroup: aws.String(k.Group),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deregister patch group %s from baseline %s: %w", groupName(k), act.ID, err)
	}
	return nil
}

// registerDefault makes the baseline its operating system's default (AWS's
// predefined one for a reset). Idempotent: it sets a value.
func (a *applier) registerDefault(ctx context.Context, client baselinesAPI, act Action) error {
	id, err := a.baselineID(act)
	if err != nil {
		return err
	}
	if _, err := send(ctx, a, bspec(act).targetID == "", client.RegisterDefaultPatchBaseline, &ssm.RegisterDefaultPatchBaselineInput{BaselineId: aws.String(id)}); err != nil {
		return fmt.Errorf("register default patch baseline for %s (%s): %w", act.Name, id, err)
	}
	return nil
}
