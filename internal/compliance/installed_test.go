package compliance_test

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// installStart is a Wednesday noon; dev's install window runs on Sunday
// 02:00.
var installStart = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// devFleet is a simulated organization whose dev account (the first OU)
// has two Amazon Linux 2023 nodes and a Windows node, launched 30 days
// before the start (so the catalog's older patches were on them before any
// run: approved ones INSTALLED, the others INSTALLED_OTHER), baselines for
// both operating systems (Amazon Linux approving alClasses, Windows
// security updates, 7 days after release) and a Sunday window installing
// with NoReboot (INSTALLED_PENDING_REBOOT), which has run when devFleet
// returns. extraPerWeek more patches a week are released in the four weeks
// before the start. With brokenDev, dev has a second account whose
// configuration role is missing, so it cannot be read.
type devFleet struct {
	env        *simtest.Env
	cfg        config.Config
	dev        *ssm.Client
	devAccount string
	ids        []string
	os         map[string]string // node id -> operating system
}

func newDevFleet(t *testing.T, alClasses []string, extraPerWeek int, brokenDev bool) devFleet {
	t.Helper()
	ctx := context.Background()
	cat, err := nodes.NewCatalog(installStart)
	if err != nil {
		t.Fatal(err)
	}
	if extraPerWeek > 0 {
		if err := cat.Generate(7, installStart.AddDate(0, 0, -28), installStart.AddDate(0, 0, -8), extraPerWeek); err != nil {
			t.Fatal(err)
		}
	}
	gen := sim.GenerateOptions{Accounts: 2, OUs: 2, Regions: []string{simtest.Region}}
	if brokenDev {
		gen.Accounts, gen.MissingRole = 3, 1 // the third member is dev's second
	}
	org := sim.GenerateOrg(gen)
	clock := sim.NewClock(installStart)
	env := simtest.Start(t, org, sim.WithSimClock(clock), sim.WithCatalog(cat))
	f := devFleet{env: env, os: map[string]string{}}
	devOU, prodOU := org.Root.OUs[0].ID, org.Root.OUs[1].ID
	for _, a := range org.Accounts {
		if a.Parent == devOU && f.devAccount == "" {
			f.devAccount = a.ID
		}
	}
	launched := installStart.AddDate(0, 0, -30)
	var ns []nodes.Node
	for i, id := range []string{"i-0a00000000000000a", "i-0b00000000000000b", "i-0c00000000000000c"} {
		n := nodes.Node{ID: id, State: "running", Launched: launched, Platform: nodes.Linux, PlatformName: "Amazon Linux", PlatformVersion: "2023",
			Managed: true, PingStatus: nodes.Online, LastPing: installStart, AgentVersion: "3.3.1142.0", Tags: map[string]string{"Patch Group": "dev"}}
		if i == 2 {
			n.Platform, n.PlatformName, n.PlatformVersion = nodes.Windows, "Microsoft Windows Server 2022 Datacenter", "10.0.20348"
		}
		ns = append(ns, n)
		f.ids, f.os[id] = append(f.ids, id), nodes.OSOf(n)
	}
	if err := env.Server.Nodes().Put(f.devAccount, simtest.Region, ns...); err != nil {
		t.Fatal(err)
	}
	f.dev = ssm.NewFromConfig(env.AccountConfig(t, f.devAccount, sim.DefaultRoleName))
	for os, classes := range map[types.OperatingSystem][]string{types.OperatingSystemAmazonLinux2023: alClasses, types.OperatingSystemWindows: {"SecurityUpdates"}} {
		b, err := f.dev.CreatePatchBaseline(ctx, &ssm.CreatePatchBaselineInput{Name: aws.String("dev-" + strings.ToLower(string(os))), OperatingSystem: os,
			ApprovalRules: &types.PatchRuleGroup{PatchRules: []types.PatchRule{{ApproveAfterDays: aws.Int32(7),
				PatchFilterGroup: &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{{Key: types.PatchFilterKeyClassification, Values: classes}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.dev.RegisterPatchBaselineForPatchGroup(ctx, &ssm.RegisterPatchBaselineForPatchGroupInput{BaselineId: b.BaselineId, PatchGroup: aws.String("dev")}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := f.dev.CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{Name: aws.String("dev-install"), Schedule: aws.String("cron(0 2 ? * SUN *)"),
		Duration: aws.Int32(3), Cutoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := f.dev.RegisterTargetWithMaintenanceWindow(ctx, &ssm.RegisterTargetWithMaintenanceWindowInput{WindowId: w.WindowId, ResourceType: types.MaintenanceWindowResourceTypeInstance,
		Targets: []types.Target{{Key: aws.String("tag:Patch Group"), Values: []string{"dev"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.dev.RegisterTaskWithMaintenanceWindow(ctx, &ssm.RegisterTaskWithMaintenanceWindowInput{WindowId: w.WindowId, TaskType: types.MaintenanceWindowTaskTypeRunCommand,
		TaskArn: aws.String("AWS-RunPatchBaseline"), MaxConcurrency: aws.String("100%"), MaxErrors: aws.String("0"),
		Targets: []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{aws.ToString(tg.WindowTargetId)}}},
		TaskInvocationParameters: &types.MaintenanceWindowTaskInvocationParameters{RunCommand: &types.MaintenanceWindowRunCommandParameters{
			Parameters: map[string][]string{"Operation": {"Install"}, "RebootOption": {"NoReboot"}}}}}); err != nil {
		t.Fatal(err)
	}
	if ran, err := env.Server.Advance(4 * 24 * time.Hour); err != nil || ran != 1 {
		t.Fatalf("dev's install window: ran %d, %v; want 1 run", ran, err)
	}

	f.cfg = config.Default()
	f.cfg.Baselines = []config.Baseline{
		{Name: "al2023", OperatingSystem: "AMAZON_LINUX_2023", Default: true, PromotionPin: config.PinApprovedPatches,
			ApprovalRules: []config.ApprovalRule{{Filters: []config.PatchFilter{{Key: "CLASSIFICATION", Values: alClasses}}, ApproveAfterDays: aws.Int32(7)}}},
		{Name: "windows", OperatingSystem: "WINDOWS", Default: true,
			ApprovalRules: []config.ApprovalRule{{Filters: []config.PatchFilter{{Key: "CLASSIFICATION", Values: []string{"SecurityUpdates"}}}, ApproveAfterDays: aws.Int32(7)}}},
	}
	f.cfg.Rings = []config.Ring{
		{Name: "dev", Select: config.Selector{OUs: []string{devOU}}},
		{Name: "prod", Select: config.Selector{OUs: []string{prodOU}}, Promotion: &config.Promotion{Follows: "dev"}},
	}
	return f
}

// collect runs the compliance collection over f's organization, reading
// the installed ids of rings.
func (f devFleet) collect(t *testing.T, rings []string) (compliance.Summary, []compliance.Record) {
	t.Helper()
	var recs []compliance.Record
	sum, err := compliance.Run(context.Background(), compliance.Env{Management: f.env.Config, Config: f.cfg, InstalledRings: rings,
		Logger: slog.New(slog.DiscardHandler), Now: f.env.Server.Now,
		Sink: func(r *compliance.Record) error {
			if r.RecordType == compliance.NodeRecord {
				recs = append(recs, *r)
			}
			return nil
		}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, recs
}

// simulatorInstalled is what the simulator says each node has, read
// without a filter: the ids per operating system in the two installed
// states, and every state seen.
func (f devFleet) simulatorInstalled(t *testing.T) (map[string][]string, map[types.PatchComplianceDataState]int) {
	t.Helper()
	ids, states := map[string]map[string]bool{}, map[types.PatchComplianceDataState]int{}
	for _, id := range f.ids {
		p := ssm.NewDescribeInstancePatchesPaginator(f.dev, &ssm.DescribeInstancePatchesInput{InstanceId: aws.String(id)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, patch := range page.Patches {
				states[patch.State]++
				if patch.State == types.PatchComplianceDataStateInstalled || patch.State == types.PatchComplianceDataStateInstalledPendingReboot {
					if ids[f.os[id]] == nil {
						ids[f.os[id]] = map[string]bool{}
					}
					ids[f.os[id]][aws.ToString(patch.KBId)] = true
				}
			}
		}
	}
	out := map[string][]string{}
	for os, set := range ids {
		out[os] = slices.Sorted(maps.Keys(set))
	}
	return out, states
}

// devSet is dev's set as its cycle started, before the install window.
func devSet() promotion.State {
	return promotion.State{Rings: map[string]*promotion.RingState{"dev": {Set: &promotion.Set{Cutoff: "2026-02-25", ReleasedAt: installStart, Source: "cycle"}}}}
}

// After dev's install window the collection's installed ids are exactly
// what the simulator installed, per operating system, and promote prod,
// whose list-pinned baseline then approves them.
func TestInstalledPromotesAListPin(t *testing.T) {
	f := newDevFleet(t, []string{"Security"}, 0, false)
	want, states := f.simulatorInstalled(t)
	if states[types.PatchComplianceDataStateInstalled] == 0 || states[types.PatchComplianceDataStateInstalledPendingReboot] == 0 || states[types.PatchComplianceDataStateInstalledOther] == 0 {
		t.Fatalf("the fixture should have INSTALLED, INSTALLED_PENDING_REBOOT and INSTALLED_OTHER patches: %v", states)
	}
	if len(want["AMAZON_LINUX_2023"]) == 0 || len(want["WINDOWS"]) == 0 {
		t.Fatalf("the simulator installed nothing on one operating system: %v", want)
	}
	rings := promotion.InstalledRings(f.cfg)
	if !slices.Equal(rings, []string{"dev"}) {
		t.Fatalf("InstalledRings = %v, want [dev] (prod pins Amazon Linux by list)", rings)
	}
	f.env.Server.ResetCalls()
	sum, recs := f.collect(t, rings)
	if diff := gocmp.Diff(compliance.Installed{"dev": want}, sum.Installed); diff != "" {
		t.Errorf("installed ids (-simulator +collected):\n%s", diff)
	}
	// One page of installed patches per node, one baseline read per
	// baseline of the target.
	if got := f.env.Server.CallCount("ssm", "DescribeInstancePatches"); got != len(f.ids) {
		t.Errorf("DescribeInstancePatches calls = %d, want one per node (%d)", got, len(f.ids))
	}
	if got := f.env.Server.CallCount("ssm", "GetPatchBaseline"); got != 2 {
		t.Errorf("GetPatchBaseline calls = %d, want one per baseline (2)", got)
	}

	st := devSet()
	ds := promotion.Decide(f.cfg, st, promotion.Inputs{Nodes: recs, Installed: sum.Installed, By: "test", Now: f.env.Server.Now()})
	prod := ds[slices.IndexFunc(ds, func(d promotion.Decision) bool { return d.Ring == "prod" })]
	if prod.Kind != promotion.Promote {
		t.Fatalf("prod: %s %s, want promote", prod.Kind, prod.Reason)
	}
	pinned, err := promotion.Pin(f.cfg, promotion.Apply(f.cfg, st, ds))
	if err != nil {
		t.Fatal(err)
	}
	eff, ok := pinned.ForRing("prod")
	if !ok {
		t.Fatal("no ring prod")
	}
	pinnedAL := 0
	for _, b := range eff.Baselines {
		if b.OperatingSystem != "AMAZON_LINUX_2023" {
			continue
		}
		pinnedAL++
		if !slices.Equal(b.ApprovedPatches, want["AMAZON_LINUX_2023"]) || b.ApprovalRules != nil {
			t.Errorf("prod's pinned %s baseline approves %v (rules %v), want dev's installed %v and no rules", b.Name, b.ApprovedPatches, b.ApprovalRules, want["AMAZON_LINUX_2023"])
		}
	}
	if pinnedAL != 1 {
		t.Errorf("prod has %d Amazon Linux 2023 baselines, want 1", pinnedAL)
	}
}

// More than 50 installed ids for a baseline pinned by list hold prod,
// saying why, and nothing is cut short.
func TestInstalledMoreThanAListHolds(t *testing.T) {
	f := newDevFleet(t, []string{"Security", "Bugfix", "Enhancement"}, 25, false)
	want, _ := f.simulatorInstalled(t)
	n := len(want["AMAZON_LINUX_2023"])
	if n <= config.MaxPatchIDs {
		t.Fatalf("the fixture installed %d Amazon Linux patches, want more than %d", n, config.MaxPatchIDs)
	}
	sum, recs := f.collect(t, promotion.InstalledRings(f.cfg))
	if got := len(sum.Installed["dev"]["AMAZON_LINUX_2023"]); got != n {
		t.Errorf("collected %d Amazon Linux ids, the simulator installed %d", got, n)
	}
	ds := promotion.Decide(f.cfg, devSet(), promotion.Inputs{Nodes: recs, Installed: sum.Installed, By: "test", Now: f.env.Server.Now()})
	prod := ds[slices.IndexFunc(ds, func(d promotion.Decision) bool { return d.Ring == "prod" })]
	if prod.Kind != promotion.HoldKind || !strings.Contains(prod.Reason, "holds at most 50 ids, and the set has") {
		t.Errorf("prod: %s %s, want held for more than 50 ids", prod.Kind, prod.Reason)
	}
}

// Off, the default, the collection reads no installed patches; a node
// past MaxPatchesPerNode leaves its ring out rather than short.
func TestInstalledOffAndBounded(t *testing.T) {
	f := newDevFleet(t, []string{"Security"}, 0, false)
	f.env.Server.ResetCalls()
	sum, _ := f.collect(t, nil)
	if sum.Installed != nil {
		t.Errorf("installed read without being asked: %v", sum.Installed)
	}
	for _, op := range []string{"DescribeInstancePatches", "GetPatchBaseline"} {
		if got := f.env.Server.CallCount("ssm", op); got != 0 {
			t.Errorf("%s calls = %d with the option off, want 0", op, got)
		}
	}
	var recs []compliance.Record
	bounded, err := compliance.Run(context.Background(), compliance.Env{Management: f.env.Config, Config: f.cfg, InstalledRings: []string{"dev"},
		Settings: compliance.Settings{MaxPatchesPerNode: 1}, Logger: slog.New(slog.DiscardHandler), Now: f.env.Server.Now,
		Sink: func(r *compliance.Record) error { recs = append(recs, *r); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bounded.Installed["dev"]; ok || len(bounded.Bounded) == 0 || !strings.Contains(bounded.Bounded[0].Error, "installed patches") {
		t.Errorf("bounded at 1 patch a node: installed %v, bounded %+v; want dev left out and the bound named", bounded.Installed, bounded.Bounded)
	}
}

// A node whose baseline no longer exists (deleted since its run, or one of
// AWS's predefined baselines, which GetPatchBaseline takes only by ARN) is
// not counted; the other operating systems' lists stand.
func TestInstalledSkipsABaselineGone(t *testing.T) {
	ctx := context.Background()
	f := newDevFleet(t, []string{"Security"}, 0, false)
	want, _ := f.simulatorInstalled(t)
	win, err := f.dev.GetPatchBaselineForPatchGroup(ctx, &ssm.GetPatchBaselineForPatchGroupInput{PatchGroup: aws.String("dev"), OperatingSystem: types.OperatingSystemWindows})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.dev.DeregisterPatchBaselineForPatchGroup(ctx, &ssm.DeregisterPatchBaselineForPatchGroupInput{BaselineId: win.BaselineId, PatchGroup: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dev.DeletePatchBaseline(ctx, &ssm.DeletePatchBaselineInput{BaselineId: win.BaselineId}); err != nil {
		t.Fatal(err)
	}
	f.env.Server.ResetCalls()
	sum, _ := f.collect(t, []string{"dev"})
	if diff := gocmp.Diff(compliance.Installed{"dev": {"AMAZON_LINUX_2023": want["AMAZON_LINUX_2023"]}}, sum.Installed); diff != "" {
		t.Errorf("installed ids with the Windows baseline gone (-want +got):\n%s", diff)
	}
	if got := f.env.Server.CallCount("ssm", "DescribeInstancePatches"); got != 2 {
		t.Errorf("DescribeInstancePatches calls = %d, want 2 (the Windows node's baseline is gone)", got)
	}
}

// A ring with an account x region that could not be read gives no list:
// its follower holds, saying what dev installed was not read, rather than
// take part of it.
func TestInstalledUnreadTargetLeavesTheRingOut(t *testing.T) {
	f := newDevFleet(t, []string{"Security"}, 0, true)
	sum, recs := f.collect(t, []string{"dev"})
	if sum.Failed == 0 {
		t.Fatalf("no target failed: %+v", sum.Coverage)
	}
	if _, ok := sum.Installed["dev"]; ok {
		t.Errorf("dev's installed ids given with one of its targets unread: %v", sum.Installed)
	}
	ds := promotion.Decide(f.cfg, devSet(), promotion.Inputs{Nodes: recs, Installed: sum.Installed, By: "test", Now: f.env.Server.Now()})
	prod := ds[slices.IndexFunc(ds, func(d promotion.Decision) bool { return d.Ring == "prod" })]
	if prod.Kind != promotion.HoldKind || !strings.Contains(prod.Reason, "what dev installed was not read") {
		t.Errorf("prod: %s %s, want held: what dev installed was not read", prod.Kind, prod.Reason)
	}
}
