package fleet_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestAccounts(t *testing.T) {
	// 60 members over 3 OUs, a nested OU below the first one holding the
	// first member; more accounts than one ListAccounts page holds.
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 60, OUs: 3, Suspended: 2})
	org.Root.OUs[0].OUs = []sim.OU{{ID: "ou-gen0-nested01", Name: "nested"}}
	org.Accounts[3].Parent = "ou-gen0-nested01" // member 3 (100000000003)
	sv := simtest.Start(t, org)
	api := organizations.NewFromConfig(sv.Config)

	cfg := config.Default()
	cfg.ExcludedAccounts = []string{"100000000011", "10000000001"}
	cfg.ExcludedOUs = []string{"ou-gen0-00000001"} // holds 1, 4, 7, ... and, nested, 3

	got, err := fleet.Accounts(context.Background(), api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 61-2 {
		t.Errorf("%d accounts, want 59 (61 minus 2 suspended)", len(got))
	}
	excluded := map[string]string{}
	for _, a := range got {
		if a.Excluded != "" {
			excluded[a.ID] = a.Excluded
		}
		if !a.Active() {
			t.Errorf("%s is %s, want ACTIVE only", a.ID, a.State)
		}
	}
	want := map[string]string{"100000000011": "excluded account", "100000000003": "under excluded OU ou-gen0-00000001"}
	// Members 1 and 2 are suspended; the first OU holds members 1, 4, 7, ...
	for i := 4; i <= 60; i += 3 {
		want[memberID(i)] = "under excluded OU ou-gen0-00000001"
	}
	if diff := cmp.Diff(want, excluded); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}

	named, err := fleet.Named(context.Background(), api, cfg, []string{"100000000003", "100000000001", "100000000002", "123456789012", "100000000000"})
	if err != nil {
		t.Fatal(err)
	}
	wantNamed := []fleet.Account{
		{ID: "100000000003", Name: "member-3", State: "ACTIVE", Excluded: "under excluded OU ou-gen0-00000001"},
		{ID: "100000000001", Name: "member-1", State: "SUSPENDED", Excluded: "under excluded OU ou-gen0-00000001"},
		{ID: "100000000002", Name: "member-2", State: "SUSPENDED"},
		{ID: "123456789012", State: fleet.NotFound},
		{ID: "100000000000", Name: "management", State: "ACTIVE"},
	}
	if diff := cmp.Diff(wantNamed, named); diff != "" {
		t.Errorf("Named (-want +got):\n%s", diff)
	}
}

func memberID(i int) string {
	const base = 100000000000
	return fmtID(base + i)
}

func fmtID(n int) string {
	b := make([]byte, 12)
	for i := 11; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}
