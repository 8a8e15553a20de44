package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/config"
)

// OrganizationsAPI is the part of the Organizations client fleet uses.
type OrganizationsAPI interface {
	ListAccounts(context.Context, *organizations.ListAccountsInput, ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
	DescribeAccount(context.Context, *organizations.DescribeAccountInput, ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
	ListParents(context.Context, *organizations.ListParentsInput, ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
	ListAccountsForParent(context.Context, *organizations.ListAccountsForParentInput, ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(context.Context, *organizations.ListOrganizationalUnitsForParentInput, ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
}

var _ OrganizationsAPI = (*organizations.Client)(nil)

// Account is one account of the organization.
type Account struct {
	ID   string
	Name string
	// State is the Organizations account state (ACTIVE, SUSPENDED, ...), or
	// NotFound when the account is not (or no longer) in the organization.
	State string
	// Excluded, when not empty, says why the configuration excludes the
	// account (its id, or the OU it sits under).
	Excluded string
}

// NotFound is the State of a named account the organization does not hold.
const NotFound = "NOT_FOUND"

// Active reports whether the account can be converged.
func (a Account) Active() bool { return a.State == string(types.AccountStateActive) }

// Accounts returns every account of the organization that is ACTIVE, in the
// order Organizations lists them, with the excluded ones marked. An account
// under an excluded OU at any depth is excluded.
func Accounts(ctx context.Context, api OrganizationsAPI, cfg config.Config) ([]Account, error) {
	underOU, _, err := accountsUnderOUs(ctx, api, cfg.ExcludedOUs)
	if err != nil {
		return nil, err
	}
	var out []Account
	p := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		for _, a := range page.Accounts {
			acct := accountOf(a)
			if !acct.Active() {
				continue
			}
			if slices.Contains(cfg.ExcludedAccounts, acct.ID) {
				acct.Excluded = "excluded account"
			} else if ou, ok := underOU[acct.ID]; ok {
				acct.Excluded = "under excluded OU " + ou
			}
			out = append(out, acct)
		}
	}
	return out, nil
}

// Named resolves the given account ids, one by one: its state (NotFound when
// the organization does not hold it) and whether the configuration excludes
// it, by id or by any OU on its path to the root. Duplicates are resolved once.
func Named(ctx context.Context, api OrganizationsAPI, cfg config.Config, ids []string) ([]Account, error) {
	var out []Account
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		resp, err := api.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
		if err != nil {
			var nf *types.AccountNotFoundException
			if errors.As(err, &nf) {
				out = append(out, Account{ID: id, State: NotFound})
				continue
			}
			return nil, fmt.Errorf("describe account %s: %w", id, err)
		}
		acct := accountOf(*resp.Account)
		if slices.Contains(cfg.ExcludedAccounts, id) {
			acct.Excluded = "excluded account"
		} else if len(cfg.ExcludedOUs) > 0 {
			ou, err := excludedAncestor(ctx, api, id, cfg.ExcludedOUs)
			if err != nil {
				return nil, err
			}
			if ou != "" {
				acct.Excluded = "under excluded OU " + ou
			}
		}
		out = append(out, acct)
	}
	return out, nil
}

func accountOf(a types.Account) Account {
	state := string(a.State)
	if state == "" {
		// Older answers carry only the deprecated Status field.
		state = string(a.Status)
	}
	return Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), State: state}
}

// excludedAncestor walks from the account up to the root and returns the
// first excluded OU on the way, or "".
func excludedAncestor(ctx context.Context, api OrganizationsAPI, account string, excluded []string) (string, error) {
	var found string
	err := walkUp(ctx, api, account, func(ou string) bool {
		if slices.Contains(excluded, ou) {
			found = ou
			return false
		}
		return true
	})
	return found, err
}

type parentsAPI interface {
	ListParents(context.Context, *organizations.ListParentsInput, ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
}

// walkUp calls visit with each OU above account, the nearest first, until
// the root or until visit returns false.
func walkUp(ctx context.Context, api parentsAPI, account string, visit func(ou string) bool) error {
	child := account
	for depth := 0; depth < maxOUDepth; depth++ {
		resp, err := api.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
		if err != nil {
			return fmt.Errorf("list parents of %s: %w", child, err)
		}
		if len(resp.Parents) == 0 || resp.Parents[0].Type == types.ParentTypeRoot {
			return nil
		}
		child = aws.ToString(resp.Parents[0].Id)
		if !visit(child) {
			return nil
		}
	}
	return fmt.Errorf("list parents of %s: deeper than %d levels", account, maxOUDepth)
}

// maxOUDepth bounds the walk up the tree; Organizations allows five levels
// of OUs under the root.
const maxOUDepth = 8

// ouWalkAPI is what walking down OUs takes.
type ouWalkAPI interface {
	ListAccountsForParent(context.Context, *organizations.ListAccountsForParentInput, ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(context.Context, *organizations.ListOrganizationalUnitsForParentInput, ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
}

// accountsUnderOUs maps every account at any depth under the given OUs to
// the first of them it sits under, and lists the given OUs the
// organization does not have (they select nothing).
func accountsUnderOUs(ctx context.Context, api ouWalkAPI, ous []string) (map[string]string, []string, error) {
	out := map[string]string{}
	var missing []string
	for _, top := range ous {
		queue := []string{top}
		for len(queue) > 0 {
			ou := queue[0]
			queue = queue[1:]
			ap := organizations.NewListAccountsForParentPaginator(api, &organizations.ListAccountsForParentInput{ParentId: aws.String(ou)})
			for ap.HasMorePages() {
				page, err := ap.NextPage(ctx)
				if err != nil {
					if isCode(err, "ParentNotFoundException") {
						// An OU that no longer exists selects nothing.
						if ou == top {
							missing = append(missing, top)
						}
						break
					}
					return nil, nil, fmt.Errorf("list accounts under OU %s: %w", ou, err)
				}
				for _, a := range page.Accounts {
					if _, ok := out[aws.ToString(a.Id)]; !ok {
						out[aws.ToString(a.Id)] = top
					}
				}
			}
			op := organizations.NewListOrganizationalUnitsForParentPaginator(api, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(ou)})
			for op.HasMorePages() {
				page, err := op.NextPage(ctx)
				if err != nil {
					if isCode(err, "ParentNotFoundException") {
						break
					}
					return nil, nil, fmt.Errorf("list OUs under OU %s: %w", ou, err)
				}
				for _, child := range page.OrganizationalUnits {
					queue = append(queue, aws.ToString(child.Id))
				}
			}
		}
	}
	return out, missing, nil
}

func isCode(err error, codes ...string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(codes, api.ErrorCode())
}
