package sim_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestParseOrgRejects(t *testing.T) {
	valid := func() map[string]any {
		var m map[string]any
		b, err := json.Marshal(small(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	account := func(m map[string]any, i int) map[string]any { return m["accounts"].([]any)[i].(map[string]any) }
	tests := map[string]struct {
		edit func(m map[string]any)
		want []string // every one must appear in the error
	}{
		"org id": {
			edit: func(m map[string]any) { m["id"] = "org-1" },
			want: []string{`id "org-1": must match o-[a-z0-9]{10,32}`},
		},
		"unknown field": {
			edit: func(m map[string]any) { m["accountz"] = []any{} },
			want: []string{`unknown field "accountz"`},
		},
		"management account not listed": {
			edit: func(m map[string]any) { m["managementAccount"] = "999999999999" },
			want: []string{`managementAccount "999999999999": must be the id of one of accounts`},
		},
		"several problems at once": {
			edit: func(m map[string]any) {
				account(m, 1)["parent"] = "ou-sm01-missing1"
				account(m, 2)["status"] = "CLOSED"
				account(m, 3)["optedInRegions"] = []any{"us-east-1"}
				account(m, 4)["id"] = "222222222222"
			},
			want: []string{
				`accounts[1].parent "ou-sm01-missing1": no such root or OU`,
				`accounts[2].status "CLOSED": must be one of ACTIVE, SUSPENDED, PENDING_CLOSURE`,
				`accounts[3].optedInRegions "us-east-1": must be an opt-in region`,
				`accounts[4].id "222222222222": duplicate`,
			},
		},
		"role name": {
			edit: func(m map[string]any) { account(m, 1)["roles"] = []any{map[string]any{"name": "has space"}} },
			want: []string{`accounts[1].roles[0].name "has space": must match`},
		},
		"governed region unknown": {
			edit: func(m map[string]any) {
				m["landingZone"].(map[string]any)["governedRegions"] = []any{"us-east-1", "mars-north-1"}
			},
			want: []string{`landingZone.governedRegions "mars-north-1": not a known region`},
		},
		"landing zone arn": {
			edit: func(m map[string]any) { m["landingZone"].(map[string]any)["arn"] = "lz-1" },
			want: []string{`landingZone.arn "lz-1": must look like arn:aws:controltower:`},
		},
		"suspended management account": {
			edit: func(m map[string]any) { account(m, 0)["status"] = "SUSPENDED" },
			want: []string{"the management account must be ACTIVE"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := valid()
			tc.edit(m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sim.ParseOrg(b)
			if err == nil {
				t.Fatal("ParseOrg accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestDefaultOrg(t *testing.T) {
	org := sim.DefaultOrg()
	env := simtest.Start(t, nil)
	out, err := organizations.NewFromConfig(env.Config).DescribeOrganization(context.Background(), &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Organization.Id); got != org.ID {
		t.Errorf("simtest.Start(nil) serves %s, want the default organization %s", got, org.ID)
	}
}

func TestGenerateOrg(t *testing.T) {
	org := sim.GenerateOrg(sim.GenerateOptions{
		Accounts: 45, OUs: 3, Regions: []string{"eu-west-1", "us-east-1", "af-south-1"},
		MissingRole: 2, Suspended: 1,
	})
	if err := org.Validate(); err != nil {
		t.Fatalf("generated organization invalid: %v", err)
	}
	env := simtest.Start(t, org)
	ctx := context.Background()
	c := organizations.NewFromConfig(env.Config)

	ids, statuses := listAccounts(t, c, 20)
	if len(ids) != 46 {
		t.Errorf("ListAccounts = %d accounts, want 46 (45 members and the management account)", len(ids))
	}
	suspended := 0
	for _, s := range statuses {
		if s == sim.StatusSuspended {
			suspended++
		}
	}
	if suspended != 1 {
		t.Errorf("%d SUSPENDED accounts, want 1", suspended)
	}
	for _, ou := range org.Root.OUs {
		out, err := c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(ou.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Accounts) != 15 {
			t.Errorf("OU %s holds %d accounts, want 15", ou.ID, len(out.Accounts))
		}
	}

	// The role is everywhere but in the last two members.
	client := sts.NewFromConfig(noRetry(env.Config))
	var refused []string
	for _, id := range ids {
		_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN(id, sim.DefaultRoleName)), RoleSessionName: aws.String("gen")})
		if err != nil {
			refused = append(refused, id+" "+errCode(err))
		}
	}
	want := []string{"100000000001 AccessDenied", "100000000044 AccessDenied", "100000000045 AccessDenied"}
	if diff := cmp.Diff(want, refused); diff != "" {
		t.Errorf("refused AssumeRole (suspended first member, last two without the role) (-want +got):\n%s", diff)
	}

	// Home region is the first region; accounts opted into the opt-in one.
	home := env.Config.Copy()
	home.Region = "eu-west-1"
	lzs, err := controltower.NewFromConfig(home).ListLandingZones(ctx, &controltower.ListLandingZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lzs.LandingZones) != 1 {
		t.Errorf("landing zones in eu-west-1 = %d, want 1", len(lzs.LandingZones))
	}
	got := describeRegions(t, env.AccountConfig(t, "100000000002", sim.DefaultRoleName), &ec2.DescribeRegionsInput{RegionNames: []string{"af-south-1"}})
	if got["af-south-1"] != sim.OptedIn {
		t.Errorf("af-south-1 for a member = %q, want opted-in", got["af-south-1"])
	}
}

func TestOrgSnapshot(t *testing.T) {
	env := simtest.Start(t, small(t))
	id, err := env.Server.CreateAccount("snap", "snap@small.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Server.AddRole(id, sim.DefaultRoleName, "222222222222"); err != nil {
		t.Fatal(err)
	}
	snap := env.Server.Org()
	last := snap.Accounts[len(snap.Accounts)-1]
	want := sim.Account{
		ID: id, Name: "snap", Email: "snap@small.example.com", Status: sim.StatusActive, Parent: "r-sm01",
		Roles: []sim.Role{{Name: "OrganizationAccountAccessRole"}, {Name: sim.DefaultRoleName, Trust: []string{"222222222222"}}},
	}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("new account in Org() (-want +got):\n%s", diff)
	}
	if err := snap.Validate(); err != nil {
		t.Errorf("Org() is not a valid organization: %v", err)
	}
	if _, err := env.Server.CreateAccount("again", "snap@small.example.com"); err == nil {
		t.Error("CreateAccount accepted a duplicate e-mail")
	}
}
