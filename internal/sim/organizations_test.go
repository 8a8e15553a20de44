package sim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// listAccounts pages through ListAccounts with the SDK's paginator.
func listAccounts(t *testing.T, c *organizations.Client, pageSize int32) (ids, statuses []string) {
	t.Helper()
	p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{MaxResults: aws.Int32(pageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		if len(page.Accounts) > int(pageSize) {
			t.Fatalf("page of %d accounts, asked for at most %d", len(page.Accounts), pageSize)
		}
		for _, a := range page.Accounts {
			ids = append(ids, aws.ToString(a.Id))
			statuses = append(statuses, string(a.Status))
		}
	}
	return ids, statuses
}

func TestOrganizationsReads(t *testing.T) {
	env := simtest.Start(t, small(t))
	c := organizations.NewFromConfig(env.Config)
	ctx := context.Background()

	ids, statuses := listAccounts(t, c, 2)
	wantIDs := []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "666666666666"}
	if diff := cmp.Diff(wantIDs, ids); diff != "" {
		t.Errorf("ListAccounts ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "SUSPENDED"}, statuses); diff != "" {
		t.Errorf("ListAccounts statuses (-want +got):\n%s", diff)
	}

	org, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{aws.ToString(org.Organization.Id), aws.ToString(org.Organization.MasterAccountId), string(org.Organization.FeatureSet)}; !cmp.Equal(got, []string{"o-small00001", "111111111111", "ALL"}) {
		t.Errorf("DescribeOrganization = %v", got)
	}

	roots, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(roots.Roots) != 1 || aws.ToString(roots.Roots[0].Id) != "r-sm01" {
		t.Fatalf("ListRoots = %+v, want the one root r-sm01", roots.Roots)
	}

	var ous []string
	ouPages := organizations.NewListOrganizationalUnitsForParentPaginator(c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String("r-sm01"), MaxResults: aws.Int32(1)})
	for ouPages.HasMorePages() {
		page, err := ouPages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ou := range page.OrganizationalUnits {
			ous = append(ous, aws.ToString(ou.Id)+"="+aws.ToString(ou.Name))
		}
	}
	if diff := cmp.Diff([]string{"ou-sm01-security=Security", "ou-sm01-workload=Workloads"}, ous); diff != "" {
		t.Errorf("ListOrganizationalUnitsForParent (-want +got):\n%s", diff)
	}

	inOU, err := c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-sm01-security")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range inOU.Accounts {
		got = append(got, aws.ToString(a.Id))
	}
	if diff := cmp.Diff([]string{"222222222222", "333333333333"}, got); diff != "" {
		t.Errorf("ListAccountsForParent (-want +got):\n%s", diff)
	}

	parents, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("444444444444")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ou-sm01-workload", "ORGANIZATIONAL_UNIT"}, []string{aws.ToString(parents.Parents[0].Id), string(parents.Parents[0].Type)}); diff != "" {
		t.Errorf("ListParents (-want +got):\n%s", diff)
	}

	tags, err := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String("444444444444")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}, tags.Tags, cmp.AllowUnexported(types.Tag{})); diff != "" {
		t.Errorf("ListTagsForResource (-want +got):\n%s", diff)
	}

	acct, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("666666666666")})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{aws.ToString(acct.Account.Name), string(acct.Account.Status), aws.ToString(acct.Account.Arn)}; !cmp.Equal(got, []string{"closed", "SUSPENDED", "arn:aws:organizations::111111111111:account/o-small00001/666666666666"}) {
		t.Errorf("DescribeAccount = %v", got)
	}
}

func TestOrganizationsErrors(t *testing.T) {
	env := simtest.Start(t, small(t))
	c := organizations.NewFromConfig(noRetry(env.Config))
	ctx := context.Background()

	tests := map[string]struct {
		call       func() error
		wantCode   string
		wantReason types.InvalidInputExceptionReason
	}{
		"unknown account": {
			call: func() error {
				_, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
				return err
			},
			wantCode: "AccountNotFoundException",
		},
		"account id not 12 digits": {
			call: func() error {
				_, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("12345")})
				return err
			},
			wantCode: "InvalidInputException", wantReason: types.InvalidInputExceptionReasonInvalidPattern,
		},
		"MaxResults above 20": {
			call: func() error {
				_, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
				return err
			},
			wantCode: "InvalidInputException", wantReason: types.InvalidInputExceptionReasonMaxValueExceeded,
		},
		"NextToken of nothing": {
			call: func() error {
				_, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("bm90LWEtdG9rZW4")})
				return err
			},
			wantCode: "InvalidInputException", wantReason: types.InvalidInputExceptionReasonInvalidPaginationToken,
		},
		"unknown parent": {
			call: func() error {
				_, err := c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-sm01-nothere1")})
				return err
			},
			wantCode: "ParentNotFoundException",
		},
		"unknown child": {
			call: func() error {
				_, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("999999999999")})
				return err
			},
			wantCode: "ChildNotFoundException",
		},
		"tags of unknown target": {
			call: func() error {
				_, err := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String("999999999999")})
				return err
			},
			wantCode: "TargetNotFoundException",
		},
		"close the management account": {
			call: func() error {
				_, err := c.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String("111111111111")})
				return err
			},
			wantCode: "ConstraintViolationException",
		},
		"close a suspended account": {
			call: func() error {
				_, err := c.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String("666666666666")})
				return err
			},
			wantCode: "AccountAlreadyClosedException",
		},
		"move from the wrong parent": {
			call: func() error {
				_, err := c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String("222222222222"), SourceParentId: aws.String("r-sm01"), DestinationParentId: aws.String("ou-sm01-workload")})
				return err
			},
			wantCode: "AccountNotFoundException",
		},
		"move where it already is": {
			call: func() error {
				_, err := c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String("222222222222"), SourceParentId: aws.String("ou-sm01-security"), DestinationParentId: aws.String("ou-sm01-security")})
				return err
			},
			wantCode: "DuplicateAccountException",
		},
		"move to an unknown OU": {
			call: func() error {
				_, err := c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String("222222222222"), SourceParentId: aws.String("ou-sm01-security"), DestinationParentId: aws.String("ou-sm01-nothere1")})
				return err
			},
			wantCode: "DestinationParentNotFoundException",
		},
		"create account without e-mail": {
			call: func() error {
				_, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("")})
				return err
			},
			wantCode: "InvalidInputException", wantReason: types.InvalidInputExceptionReasonMinLengthExceeded,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			if got := errCode(err); got != tc.wantCode {
				t.Fatalf("error code = %q, want %q (%v)", got, tc.wantCode, err)
			}
			var iie *types.InvalidInputException
			if tc.wantReason != "" && (!errors.As(err, &iie) || iie.Reason != tc.wantReason) {
				t.Errorf("error %v: want Reason %s", err, tc.wantReason)
			}
		})
	}
}

func TestOrganizationsChanges(t *testing.T) {
	env := simtest.Start(t, small(t))
	c := organizations.NewFromConfig(env.Config)
	ctx := context.Background()

	created, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String("new-team"), Email: aws.String("new-team@small.example.com"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("new")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.CreateAccountStatus.State != types.CreateAccountStateInProgress {
		t.Errorf("CreateAccount state = %s, want IN_PROGRESS", created.CreateAccountStatus.State)
	}
	status, err := c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: created.CreateAccountStatus.Id})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(status.CreateAccountStatus.AccountId)
	if status.CreateAccountStatus.State != types.CreateAccountStateSucceeded || id == "" {
		t.Fatalf("DescribeCreateAccountStatus = %s %q, want SUCCEEDED with an account id", status.CreateAccountStatus.State, id)
	}
	ids, _ := listAccounts(t, c, 20)
	if ids[len(ids)-1] != id {
		t.Errorf("ListAccounts does not end with the new account %s: %v", id, ids)
	}
	// AWS creates OrganizationAccountAccessRole in the new account, and
	// nothing else: the configuration role only comes with the StackSet.
	env.AccountConfig(t, id, "OrganizationAccountAccessRole")
	_, err = sts.NewFromConfig(noRetry(env.Config)).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(id, sim.DefaultRoleName)), RoleSessionName: aws.String("s1")})
	if got := errCode(err); got != "AccessDenied" {
		t.Errorf("configuration role in a new account: error code %q, want AccessDenied", got)
	}
	if err := env.Server.AddRole(id, sim.DefaultRoleName); err != nil {
		t.Fatal(err)
	}
	env.AccountConfig(t, id, sim.DefaultRoleName)

	again, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dup"), Email: aws.String("new-team@small.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	status, err = c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: again.CreateAccountStatus.Id})
	if err != nil {
		t.Fatal(err)
	}
	if status.CreateAccountStatus.State != types.CreateAccountStateFailed || status.CreateAccountStatus.FailureReason != types.CreateAccountFailureReasonEmailAlreadyExists {
		t.Errorf("duplicate e-mail: %s %s, want FAILED EMAIL_ALREADY_EXISTS", status.CreateAccountStatus.State, status.CreateAccountStatus.FailureReason)
	}

	if _, err := c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String("r-sm01"), DestinationParentId: aws.String("ou-sm01-workload")}); err != nil {
		t.Fatal(err)
	}
	parents, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(parents.Parents[0].Id); got != "ou-sm01-workload" {
		t.Errorf("parent after MoveAccount = %s, want ou-sm01-workload", got)
	}

	if _, err := c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(id), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: aws.String(id), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}, tags.Tags, cmp.AllowUnexported(types.Tag{})); diff != "" {
		t.Errorf("tags after TagResource and UntagResource (-want +got):\n%s", diff)
	}

	if _, err := c.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	acct, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Account.Status != types.AccountStatusPendingClosure {
		t.Errorf("status after CloseAccount = %s, want PENDING_CLOSURE", acct.Account.Status)
	}
	if err := env.Server.SetAccountStatus(id, sim.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	acct, err = c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Account.Status != types.AccountStatusSuspended {
		t.Errorf("status after SetAccountStatus = %s, want SUSPENDED", acct.Account.Status)
	}
	if got := env.Server.Writes(); got != 6 {
		t.Errorf("Writes() = %d, want 6 (2 CreateAccount, MoveAccount, TagResource, UntagResource, CloseAccount)", got)
	}
}

func TestOrganizationsFromMemberAccount(t *testing.T) {
	env := simtest.Start(t, small(t))
	member := noRetry(env.AccountConfig(t, "222222222222", sim.DefaultRoleName))
	c := organizations.NewFromConfig(member)
	ctx := context.Background()

	_, err := c.ListAccounts(ctx, &organizations.ListAccountsInput{})
	if got := errCode(err); got != "AccessDeniedException" {
		t.Errorf("ListAccounts from a member: error code %q, want AccessDeniedException", got)
	}
	_, err = c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
	if got := errCode(err); got != "AccessDeniedException" {
		t.Errorf("CreateAccount from a member: error code %q, want AccessDeniedException", got)
	}
	org, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatalf("DescribeOrganization is open to members: %v", err)
	}
	if got := aws.ToString(org.Organization.MasterAccountId); got != "111111111111" {
		t.Errorf("MasterAccountId = %s", got)
	}
}

func TestRoleArrival(t *testing.T) {
	env := simtest.Start(t, small(t), sim.WithRoleArrival(sim.DefaultRoleName, 2))
	id, err := env.Server.CreateAccount("late-role", "late-role@small.example.com")
	if err != nil {
		t.Fatal(err)
	}
	client := sts.NewFromConfig(noRetry(env.Config))
	var codes []string
	for range 4 {
		_, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(id, sim.DefaultRoleName)), RoleSessionName: aws.String("try")})
		codes = append(codes, errCode(err))
	}
	if diff := cmp.Diff([]string{"AccessDenied", "AccessDenied", "", ""}, codes); diff != "" {
		t.Errorf("AssumeRole attempts (-want +got):\n%s", diff)
	}
}
