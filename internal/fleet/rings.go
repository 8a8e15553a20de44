package fleet

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/orgpatch/orgpatch/internal/config"
)

// RingsAPI is the part of the Organizations client ring resolution uses:
// the walk down the selected OUs (whole organization), or up from each
// account (named accounts), and the account tags.
type RingsAPI interface {
	ListParents(context.Context, *organizations.ListParentsInput, ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
	ListAccountsForParent(context.Context, *organizations.ListAccountsForParentInput, ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(context.Context, *organizations.ListOrganizationalUnitsForParentInput, ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
	ListTagsForResource(context.Context, *organizations.ListTagsForResourceInput, ...func(*organizations.Options)) (*organizations.ListTagsForResourceOutput, error)
}

var _ RingsAPI = (*organizations.Client)(nil)

// Rings is which ring every account of a run belongs to.
type Rings struct {
	cfg    config.Config
	ringOf map[string]string // account -> ring name, "" for none
	whyOf  map[string]string // account -> what selected it (Why)
	// Warnings name selectors that select nothing that exists: an OU the
	// organization does not have, a ring that selects none of the run's
	// accounts. They do not stop the run.
	Warnings []string
}

// ResolveRings gives every account exactly one ring: the first of
// cfg.Rings whose selector matches it (an account id it names, an OU it
// names or one nested under it, an Organizations account tag it names),
// else none (the configuration's own settings). whole says accounts are
// the whole organization's: then the selected OUs are walked down once per
// run, and a ring that selects none of the accounts is worth a warning;
// otherwise (a run for one moved account) each account's OUs are read
// walking up from it. An account's tags are read only when a ring selects
// by tag and no earlier ring took the account. With no rings it makes no
// call.
func ResolveRings(ctx context.Context, api RingsAPI, cfg config.Config, accounts []string, whole bool) (Rings, error) {
	r := Rings{cfg: cfg, ringOf: make(map[string]string, len(accounts)), whyOf: make(map[string]string, len(accounts))}
	under := make([]map[string]string, len(cfg.Rings))
	for i, ring := range cfg.Rings {
		if !whole {
			break
		}
		m, missing, err := accountsUnderOUs(ctx, api, ring.Select.OUs)
		if err != nil {
			return Rings{}, fmt.Errorf("ring %s: %w", ring.Name, err)
		}
		under[i] = m
		for _, ou := range missing {
			r.Warnings = append(r.Warnings, fmt.Sprintf("ring %s selects OU %s, which the organization does not have", ring.Name, ou))
		}
	}
	tags := map[string]map[string]string{}
	tagsOf := func(account string) (map[string]string, error) {
		if t, ok := tags[account]; ok {
			return t, nil
		}
		t := map[string]string{}
		p := organizations.NewListTagsForResourcePaginator(api, &organizations.ListTagsForResourceInput{ResourceId: aws.String(account)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list tags of account %s: %w", account, err)
			}
			for _, tag := range page.Tags {
				t[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
		}
		tags[account] = t
		return t, nil
	}
	byOU := slices.ContainsFunc(cfg.Rings, func(ring config.Ring) bool { return len(ring.Select.OUs) > 0 })
	selected := make([]int, len(cfg.Rings))
	for _, account := range accounts {
		r.ringOf[account] = ""
		var above []string // the account's OUs, when read walking up
		if !whole && byOU {
			if err := walkUp(ctx, api, account, func(ou string) bool { above = append(above, ou); return true }); err != nil {
				return Rings{}, err
			}
		}
		for i, ring := range cfg.Rings {
			why := ""
			if slices.Contains(ring.Select.Accounts, account) {
				why = "account id"
			}
			if ou, ok := under[i][account]; ok && why == "" {
				why = "OU " + ou
			}
			if j := slices.IndexFunc(above, func(ou string) bool { return slices.Contains(ring.Select.OUs, ou) }); j >= 0 && why == "" {
				why = "OU " + above[j]
			}
			if why == "" && len(ring.Select.Tags) > 0 {
				t, err := tagsOf(account)
				if err != nil {
					return Rings{}, err
				}
				for _, s := range ring.Select.Tags {
					if v, ok := t[s.Key]; ok && (len(s.Values) == 0 || slices.Contains(s.Values, v)) {
						why = "tag " + s.Key + "=" + v
						break
					}
				}
			}
			if why != "" {
				r.ringOf[account], r.whyOf[account] = ring.Name, why
				selected[i]++
				break
			}
		}
	}
	for i, ring := range cfg.Rings {
		if whole && selected[i] == 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("ring %s selects none of the %d accounts of this run", ring.Name, len(accounts)))
		}
	}
	return r, nil
}

// Ring returns the ring of account: "" for none (the configuration's own
// settings), else one of the configuration's rings.
func (r Rings) Ring(account string) string { return r.ringOf[account] }

// Why says what selected account's ring: "account id", "OU ou-...", or
// "tag KEY=VALUE" (the account tag that matched); "" when no ring did.
func (r Rings) Why(account string) string { return r.whyOf[account] }

// Of returns the ring of account ("" for none: the configuration's own
// settings) and the configuration the account converges to.
func (r Rings) Of(account string) (ring string, cfg config.Config) {
	ring = r.Ring(account)
	cfg, _ = r.cfg.ForRing(ring) // ring is one of cfg's: ResolveRings chose it there
	return ring, cfg
}
