package fleet_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func ringsFixture(t *testing.T) (*simtest.Env, config.Config) {
	t.Helper()
	return simtest.Start(t, runtest.RingsOrg(t)), runtest.RingsConfig(t)
}

var ringAccounts = []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "666666666666"}

// ringsOf resolves the rings of ringAccounts as a whole-organization run
// does (walking down the OUs), and checks that a run naming each account
// alone (walking up from it) finds the same ring.
func ringsOf(t *testing.T, api fleet.RingsAPI, cfg config.Config) (map[string]string, []string) {
	t.Helper()
	r, err := fleet.ResolveRings(context.Background(), api, cfg, ringAccounts, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range ringAccounts {
		got[a], _ = r.Of(a)
		named, err := fleet.ResolveRings(context.Background(), api, cfg, []string{a}, false)
		if err != nil {
			t.Fatal(err)
		}
		if ring, _ := named.Of(a); ring != got[a] {
			t.Errorf("%s: ring %q when named alone, %q in the whole organization", a, ring, got[a])
		}
		if len(named.Warnings) > 0 {
			t.Errorf("%s named alone: warnings %v, want none", a, named.Warnings)
		}
	}
	return got, r.Warnings
}

// TestResolveRings: every account gets exactly one ring, the first that
// selects it by OU (nested included), account id or account tag; the
// others keep the configuration's own settings; the resolved ring's
// configuration is what the account converges to.
func TestResolveRings(t *testing.T) {
	env, cfg := ringsFixture(t)
	api := organizations.NewFromConfig(env.Config)
	got, warnings := ringsOf(t, api, cfg)
	want := map[string]string{
		"111111111111": "",     // management, under the root only
		"222222222222": "dev",  // in the Dev OU
		"333333333333": "prod", // in the Prod OU
		"444444444444": "prod", // in Web, nested under Prod
		"555555555555": "dev",  // in Sandbox, tagged ring=dev
		"666666666666": "",     // in Sandbox, untagged
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rings (-want +got):\n%s", diff)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %v, want none", warnings)
	}
	r, _ := fleet.ResolveRings(context.Background(), api, cfg, ringAccounts, true)
	_, dev := r.Of("222222222222")
	if d := *dev.Baselines[0].ApprovalRules[0].ApproveAfterDays; d != 0 {
		t.Errorf("dev account's baseline approves after %d days, want 0", d)
	}
	_, prod := r.Of("444444444444")
	if d := *prod.Baselines[0].ApprovalRules[0].ApproveAfterDays; d != 7 {
		t.Errorf("prod account's baseline approves after %d days, want 7", d)
	}

	// An earlier ring wins: a ring selecting the prod account by id, put
	// first, takes it from prod.
	first := cfg
	first.Rings = append([]config.Ring{{Name: "canary", Select: config.Selector{Accounts: []string{"333333333333"}}}}, cfg.Rings...)
	got, _ = ringsOf(t, api, first)
	if got["333333333333"] != "canary" || got["444444444444"] != "prod" {
		t.Errorf("with canary first: 333333333333 in %q, 444444444444 in %q; want canary and prod", got["333333333333"], got["444444444444"])
	}
}

// TestRingMoves: moving an account to another OU, or tagging it, changes
// its ring at the next resolution; nothing is remembered between runs.
func TestRingMoves(t *testing.T) {
	env, cfg := ringsFixture(t)
	api := organizations.NewFromConfig(env.Config)
	ctx := context.Background()
	if _, err := api.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String("222222222222"),
		SourceParentId: aws.String("ou-rg01-devaccts"), DestinationParentId: aws.String("ou-rg01-prodwebs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String("666666666666"),
		Tags: []types.Tag{{Key: aws.String("ring"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: aws.String("555555555555"), TagKeys: []string{"ring"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := ringsOf(t, api, cfg)
	for account, want := range map[string]string{"222222222222": "prod", "666666666666": "dev", "555555555555": ""} {
		if got[account] != want {
			t.Errorf("after the move and tag changes, %s is in ring %q, want %q", account, got[account], want)
		}
	}
}

// TestRingSelectingNothingWarns: an OU the organization does not have and
// a ring that selects no account are warnings, not errors.
func TestRingSelectingNothingWarns(t *testing.T) {
	env, cfg := ringsFixture(t)
	cfg.Rings = append(cfg.Rings, config.Ring{Name: "gone", Select: config.Selector{OUs: []string{"ou-rg01-notthere"}, Accounts: []string{"999999999999"}}})
	got, warnings := ringsOf(t, organizations.NewFromConfig(env.Config), cfg)
	want := []string{
		"ring gone selects OU ou-rg01-notthere, which the organization does not have",
		"ring gone selects none of the 6 accounts of this run",
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if got["222222222222"] != "dev" {
		t.Errorf("the other rings still resolve: 222222222222 in %q, want dev", got["222222222222"])
	}
}

// TestRingsSayWhy: each account's ring comes with what selected it (an
// OU, nested ones by the OU the ring names; an account tag, naming the
// tag), the same whether the run covers the organization or names the
// account alone; an account no ring selects has no reason.
func TestRingsSayWhy(t *testing.T) {
	env, cfg := ringsFixture(t)
	cfg.Rings = append(cfg.Rings, config.Ring{Name: "mgmt", Select: config.Selector{Accounts: []string{"111111111111"}}})
	api := organizations.NewFromConfig(env.Config)
	want := map[string]string{
		"111111111111": "account id",
		"222222222222": "OU ou-rg01-devaccts",
		"333333333333": "OU ou-rg01-prodacct",
		"444444444444": "OU ou-rg01-prodacct",
		"555555555555": "tag ring=dev",
		"666666666666": "",
	}
	whole, err := fleet.ResolveRings(context.Background(), api, cfg, ringAccounts, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ringAccounts {
		named, err := fleet.ResolveRings(context.Background(), api, cfg, []string{a}, false)
		if err != nil {
			t.Fatal(err)
		}
		if whole.Why(a) != want[a] || named.Why(a) != want[a] {
			t.Errorf("%s: why %q (whole organization), %q (named), want %q", a, whole.Why(a), named.Why(a), want[a])
		}
	}
}
