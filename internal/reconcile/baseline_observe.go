package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/config"
)

// observe reads the account's own baselines and, when there is anything
// to converge, the registrations. Calls, for B baselines of the account of
// which O are owned:
//
//   - DescribePatchBaselines (OWNER Self): one per 100 baselines;
//   - ListTagsForResource: B;
//   - GetPatchBaseline: O;
//   - DescribePatchGroups: one per 100 registrations, when O > 0 or a
//     patch group is desired;
//   - GetDefaultPatchBaseline: one per operating system of the desired
//     defaults and of the owned baselines;
//   - DescribePatchBaselines (OWNER AWS): one, when an owned baseline is a
//     default that may have to give way to AWS's predefined one.
//
// An account without baselines that desires none costs one call, and none
// at all when converging with in.Tagging: the ownership index the windows
// read anyway then shows that no baseline is orgpatch's, so there is
// nothing to keep, register or remove. (The index lags tag changes: a
// baseline created moments before a configuration that drops every
// baseline is removed by the next run, not this one.)
func (baselineKind) observe(ctx context.Context, clients Clients, in Input) (kindState, error) {
	client, err := clientOf[baselinesAPI](clients)
	if err != nil {
		return nil, err
	}
	st := baselineState{desired: baselinesDesired{Mode: in.mode(), Baselines: in.Config.Baselines}}
	if err := observeBaselines(ctx, client, in.tagged, st.desired, &st.observed); err != nil {
		return nil, err
	}
	return st, nil
}

func observeBaselines(ctx context.Context, client baselinesAPI, tagged *taggedIndex, desired baselinesDesired, obs *baselinesObserved) error {
	if desired.Mode == Converge && len(desired.Baselines) == 0 && tagged != nil {
		owned, err := tagged.owned(ctx, "patchbaseline")
		if err != nil {
			return err
		}
		if len(owned) == 0 {
			return nil
		}
	}
	self := []types.PatchOrchestratorFilter{{Key: aws.String("OWNER"), Values: []string{"Self"}}}
	p := ssm.NewDescribePatchBaselinesPaginator(client, &ssm.DescribePatchBaselinesInput{Filters: self, MaxResults: aws.Int32(100)})
	obs.ForeignBaselines = map[string]string{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe patch baselines: %w", err)
		}
		for _, b := range page.BaselineIdentities {
			id := aws.ToString(b.BaselineId)
			owned, err := isOwned(ctx, client, types.ResourceTypeForTaggingPatchBaseline, id)
			if err != nil {
				return err
			}
			if !owned {
				obs.ForeignBaselines[aws.ToString(b.BaselineName)] = id
				continue
			}
			got, err := client.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: aws.String(id)})
			if isNotFound(err) {
				continue // deleted since the listing
			}
			if err != nil {
				return fmt.Errorf("get patch baseline %s: %w", id, err)
			}
			obs.Baselines = append(obs.Baselines, observedBaseline(got))
		}
	}
	groups := len(obs.Baselines) > 0
	oses := map[string]bool{}
	for _, b := range obs.Baselines {
		oses[b.OperatingSystem] = true
	}
	for _, b := range desired.Baselines {
		groups = groups || len(b.PatchGroups) > 0
		if b.Default {
			oses[b.OperatingSystem] = true
		}
	}
	obs.PatchGroups = map[PatchGroupKey]string{}
	if groups {
		gp := ssm.NewDescribePatchGroupsPaginator(client, &ssm.DescribePatchGroupsInput{MaxResults: aws.Int32(100)})
		for gp.HasMorePages() {
			page, err := gp.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("describe patch groups: %w", err)
			}
			for _, m := range page.Mappings {
				if m.BaselineIdentity == nil {
					continue
				}
				k := PatchGroupKey{aws.ToString(m.PatchGroup), string(m.BaselineIdentity.OperatingSystem)}
				obs.PatchGroups[k] = aws.ToString(m.BaselineIdentity.BaselineId)
			}
		}
	}
	obs.DefaultBaselines = map[string]string{}
	ownedDefault := false
	for _, os := range slices.Sorted(maps.Keys(oses)) {
		out, err := client.GetDefaultPatchBaseline(ctx, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: types.OperatingSystem(os)})
		if err != nil {
			return fmt.Errorf("get default patch baseline for %s: %w", os, err)
		}
		id := aws.ToString(out.BaselineId)
		obs.DefaultBaselines[os] = id
		ownedDefault = ownedDefault || slices.ContainsFunc(obs.Baselines, func(b ObservedBaseline) bool { return b.ID == id })
	}
	if ownedDefault {
		return observePredefined(ctx, client, obs)
	}
	return nil
}

// observePredefined reads the ids (ARNs) of AWS's predefined default
// baselines, which registering one again as a default needs.
func observePredefined(ctx context.Context, client baselinesAPI, obs *baselinesObserved) error {
	obs.PredefinedDefaults = map[string]string{}
	aws_ := []types.PatchOrchestratorFilter{{Key: aws.String("OWNER"), Values: []string{"AWS"}}}
	p := ssm.NewDescribePatchBaselinesPaginator(client, &ssm.DescribePatchBaselinesInput{Filters: aws_, MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe AWS's patch baselines: %w", err)
		}
		for _, b := range page.BaselineIdentities {
			os := string(b.OperatingSystem)
			if predefinedDefaults[os] == aws.ToString(b.BaselineName) {
				obs.PredefinedDefaults[os] = aws.ToString(b.BaselineId)
			}
		}
	}
	return nil
}

func observedBaseline(out *ssm.GetPatchBaselineOutput) ObservedBaseline {
	b := config.Baseline{
		Name: aws.ToString(out.Name), Description: aws.ToString(out.Description), OperatingSystem: string(out.OperatingSystem),
		GlobalFilters:                            filtersOf(out.GlobalFilters),
		ApprovedPatches:                          out.ApprovedPatches,
		ApprovedPatchesComplianceLevel:           string(out.ApprovedPatchesComplianceLevel),
		ApprovedPatchesEnableNonSecurity:         aws.ToBool(out.ApprovedPatchesEnableNonSecurity),
		RejectedPatches:                          out.RejectedPatches,
		RejectedPatchesAction:                    string(out.RejectedPatchesAction),
		AvailableSecurityUpdatesComplianceStatus: string(out.AvailableSecurityUpdatesComplianceStatus),
	}
	for _, src := range out.Sources {
		b.Sources = append(b.Sources, config.PatchSource{Name: aws.ToString(src.Name), Products: src.Products, Configuration: aws.ToString(src.Configuration)})
	}
	if out.ApprovalRules != nil {
		for _, r := range out.ApprovalRules.PatchRules {
			b.ApprovalRules = append(b.ApprovalRules, config.ApprovalRule{
				Filters: filtersOf(r.PatchFilterGroup), ComplianceLevel: string(r.ComplianceLevel),
				ApproveAfterDays: r.ApproveAfterDays, ApproveUntilDate: aws.ToString(r.ApproveUntilDate),
				EnableNonSecurity: aws.ToBool(r.EnableNonSecurity),
			})
		}
	}
	return ObservedBaseline{ID: aws.ToString(out.BaselineId), Baseline: b}
}

func filtersOf(g *types.PatchFilterGroup) []config.PatchFilter {
	if g == nil {
		return nil
	}
	var out []config.PatchFilter
	for _, f := range g.PatchFilters {
		out = append(out, config.PatchFilter{Key: string(f.Key), Values: f.Values})
	}
	return out
}
