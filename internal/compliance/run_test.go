package compliance

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fixture is a simulated organization with generated machines in every
// account x governed region, one account whose role is missing, and one
// target whose machines are given explicitly.
type fixture struct {
	env     *simtest.Env
	org     *sim.Org
	regions []string
}

func newFixture(t *testing.T, perTarget int) fixture {
	t.Helper()
	regions := []string{"us-east-1", "eu-west-1"}
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 4, OUs: 2, Regions: regions, MissingRole: 1})
	env := simtest.Start(t, org, sim.WithNodesPerTarget(perTarget), sim.WithClock(func() time.Time { return testNow }))
	return fixture{env: env, org: org, regions: regions}
}

func (f fixture) run(t *testing.T, s Settings) (Summary, []Record) {
	t.Helper()
	return f.runWith(t, config.Default(), s)
}

func (f fixture) runWith(t *testing.T, cfg config.Config, s Settings) (Summary, []Record) {
	t.Helper()
	res := f.runEnv(t, Env{Config: cfg, Settings: s})
	return res.sum, res.nodes
}

// result is one run's summary and records, in the order the sink saw them
// (all) and by type, the nodes sorted by place.
type result struct {
	sum             Summary
	all             []Record
	nodes, coverage []Record
	run             *Record
}

// runEnv runs a report with env's settings over the fixture, on the
// fixture's clock unless env has one.
func (f fixture) runEnv(t *testing.T, env Env) result {
	t.Helper()
	var mu sync.Mutex
	var res result
	env.Management, env.Concurrency, env.Logger = f.env.Config, 3, slog.New(slog.DiscardHandler)
	if env.Now == nil {
		env.Now = func() time.Time { return testNow }
	}
	if env.Config.ConfigurationRoleName == "" {
		env.Config = config.Default()
	}
	env.Sink = func(r *Record) error { mu.Lock(); defer mu.Unlock(); res.all = append(res.all, *r); return nil }
	sum, err := Run(context.Background(), env)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	res.sum = sum
	for i, r := range res.all {
		switch r.RecordType {
		case NodeRecord:
			res.nodes = append(res.nodes, r)
		case CoverageRecord:
			res.coverage = append(res.coverage, r)
		case RunRecord:
			res.run = &res.all[i]
		}
	}
	slices.SortFunc(res.nodes, byPlace)
	return res
}

func byPlace(a, b Record) int {
	return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region), strings.Compare(a.ResourceId, b.ResourceId))
}

// expected derives, from the simulator's inventory, the record every
// machine should get: the test's own reading of the seed 004 format.
func (f fixture) expected(t *testing.T) []Record {
	t.Helper()
	ouPath := map[string]string{f.org.Root.ID: "Root"}
	for _, o := range f.org.Root.OUs {
		ouPath[o.ID] = "Root/" + o.Name
	}
	var want []Record
	for _, a := range f.org.Accounts {
		if len(a.Roles) == 0 || a.Status != sim.StatusActive {
			continue
		}
		parent := cmp.Or(a.Parent, f.org.Root.ID)
		for _, region := range f.regions {
			for _, n := range f.env.Server.Nodes().List(a.ID, region) {
				r := Record{RecordType: NodeRecord, ComplianceType: "Patch", ResourceId: n.ID, Account: a.ID, AccountName: a.Name, Name: n.Tags["Name"],
					Region: region, OU: ouPath[parent], OUId: parent, Platform: n.Platform, InstanceState: n.State, OwnerTags: ownerTagsOf(n.Tags)}
				r.ResourceType = "EC2Instance"
				if !n.IsEC2() {
					r.ResourceType = "ManagedInstance"
				}
				if !n.Managed {
					r.NodeState = Unmanaged
					r.PlatformName = map[string]string{nodes.Windows: "Windows"}[n.Platform]
					if r.PlatformName == "" {
						r.PlatformName = "Linux/UNIX"
					}
					want = append(want, r)
					continue
				}
				r.PlatformName, r.PlatformVersion, r.ComputerName = n.PlatformName, n.PlatformVersion, n.ComputerName
				if r.Name == "" {
					r.Name = n.ComputerName
				}
				r.AgentVersion, r.PingStatus = n.AgentVersion, n.PingStatus
				lastPing := n.LastPing.Truncate(time.Millisecond)
				r.LastPing = &lastPing
				r.NodeState = Unreported
				if p := n.Patch; p != nil {
					r.NodeState = Reported
					ps := &PatchState{PatchGroup: p.PatchGroup, BaselineId: p.BaselineID, Operation: p.Operation,
						OperationStartTime: p.Started, OperationEndTime: p.Ended, RebootOption: p.RebootOption}
					r.ExecutionSummary = &ExecutionSummary{ExecutionId: p.ExecutionID, ExecutionType: "Command", ExecutionTime: p.Ended}
					r.CompliantSummary, r.NonCompliantSummary = &CompliantSummary{}, &NonCompliantSummary{}
					r.Status = Compliant
					worst := map[bool]int{true: 99, false: 99}
					for _, patch := range p.Patches {
						counter := map[string]*int32{nodes.Installed: &ps.InstalledCount, nodes.InstalledOther: &ps.InstalledOtherCount,
							nodes.InstalledPendingReboot: &ps.InstalledPendingRebootCount, nodes.InstalledRejected: &ps.InstalledRejectedCount,
							nodes.Missing: &ps.MissingCount, nodes.Failed: &ps.FailedCount, nodes.NotApplicable: &ps.NotApplicableCount}[patch.State]
						*counter++
						ok := nodes.Compliant(patch.State)
						sev := &r.CompliantSummary.SeveritySummary
						if ok {
							r.CompliantSummary.CompliantCount++
						} else {
							r.Status = NonCompliant
							r.NonCompliantSummary.NonCompliantCount++
							sev = &r.NonCompliantSummary.SeveritySummary
							critical, security := patch.ComplianceSeverity == "CRITICAL", strings.HasPrefix(patch.Classification, "Security")
							if critical {
								ps.CriticalNonCompliantCount++
							}
							if security {
								ps.SecurityNonCompliantCount++
							}
							if !critical && !security {
								ps.OtherNonCompliantCount++
							}
							mp := Patch{Id: patch.ID, Title: patch.Title, Severity: patch.ComplianceSeverity, PatchSeverity: patch.Severity,
								Classification: patch.Classification}
							if !patch.InstalledTime.IsZero() {
								it := patch.InstalledTime
								mp.InstalledTime = &it
							}
							if patch.CVEIds != "" {
								mp.CVEIds = strings.Split(patch.CVEIds, ",")
							}
							switch patch.State {
							case nodes.Missing:
								mp.State = "Missing"
								r.MissingPatches = append(r.MissingPatches, mp)
							case nodes.Failed:
								mp.State = "Failed"
								r.FailedPatches = append(r.FailedPatches, mp)
							case nodes.InstalledPendingReboot:
								mp.State = "InstalledPendingReboot"
								r.PendingRebootPatches = append(r.PendingRebootPatches, mp)
							case nodes.InstalledRejected:
								mp.State = "InstalledRejected"
								r.RejectedPatches = append(r.RejectedPatches, mp)
							}
						}
						*map[string]*int32{"CRITICAL": &sev.CriticalCount, "HIGH": &sev.HighCount, "MEDIUM": &sev.MediumCount,
							"LOW": &sev.LowCount, "INFORMATIONAL": &sev.InformationalCount, "UNSPECIFIED": &sev.UnspecifiedCount}[patch.ComplianceSeverity]++
						worst[ok] = min(worst[ok], slices.Index(nodes.Severities, patch.ComplianceSeverity))
					}
					r.OverallSeverity = nodes.Severities[worst[r.Status == Compliant]]
					for _, l := range []*[]Patch{&r.MissingPatches, &r.FailedPatches, &r.PendingRebootPatches, &r.RejectedPatches} {
						slices.SortFunc(*l, func(a, b Patch) int { return strings.Compare(a.Id, b.Id) })
					}
					r.PatchState = ps
				}
				want = append(want, r)
			}
		}
	}
	slices.SortFunc(want, byPlace)
	return want
}

// ownerTagsOf is what OwnerTags holds under the default keys.
func ownerTagsOf(tags map[string]string) map[string]string {
	var out map[string]string
	for _, k := range DefaultOwnerTagKeys {
		if v, ok := tags[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// derived are the fields the report derives from what it read; the tests
// of derive check them, the comparison with the simulator ignores them.
var derived = cmpopts.IgnoreFields(Record{}, "RunId", "CaptureTime", "Severity", "SecurityNonCompliant", "Stale", "LastScanAgeDays",
	"OldAgent", "PastSLA", "OldestPatchAgeDays", "Reused")

var derivedPatch = cmpopts.IgnoreFields(Patch{}, "EffectiveSeverity", "FirstSeen", "AgeDays", "SLADays", "PastSLA")

func TestRecordsMatchTheSimulator(t *testing.T) {
	f := newFixture(t, 30)
	explicit := f.org.Accounts[1].ID
	ended := testNow.Add(-30 * 24 * time.Hour)
	if err := f.env.Server.Nodes().Put(explicit, "eu-west-1",
		nodes.Node{ID: "i-0aaaaaaaaaaaaaaa1", State: "running", Platform: nodes.Windows, PlatformName: "Microsoft Windows Server 2016 Datacenter",
			Tags: map[string]string{"Name": "seed-004"}, Managed: true, PingStatus: nodes.ConnectionLost, AgentVersion: "2.3.1319.0", LastPing: testNow.Add(-72 * time.Hour),
			Patch: &nodes.PatchState{PatchGroup: "windows-core-baseline", BaselineID: "pb-0c67a82f35616e86e", Operation: "Scan", Started: ended.Add(-time.Minute), Ended: ended,
				ExecutionID: "ad378d84-32a9-4cac-a504-5b99490c37d4", Patches: []nodes.Patch{
					{ID: "KB4485447", Title: "2019-02 Servicing Stack Update for Windows Server 2016 for x64-based Systems (KB4485447)", Classification: "SecurityUpdates", Severity: "Critical", ComplianceSeverity: "UNSPECIFIED", State: nodes.Missing},
					{ID: "KB890830", Title: "Windows Malicious Software Removal Tool - February 2018 (KB890830)", Classification: "UpdateRollups", Severity: "Unspecified", ComplianceSeverity: "UNSPECIFIED", State: nodes.Missing},
					{ID: "KB4462917", Title: "2018-10 Cumulative Update", Classification: "SecurityUpdates", Severity: "Critical", ComplianceSeverity: "UNSPECIFIED", State: nodes.Installed, InstalledTime: ended.Add(-24 * time.Hour)},
				}}},
		nodes.Node{ID: "i-0aaaaaaaaaaaaaaa2", State: "running", Platform: nodes.Linux, Tags: map[string]string{"Name": "no-agent"}},
	); err != nil {
		t.Fatal(err)
	}
	sum, got := f.run(t, Settings{})
	want := f.expected(t)
	if diff := gocmp.Diff(want, got, derived, derivedPatch); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
	var seed *Record
	for i := range got {
		if got[i].ResourceId == "i-0aaaaaaaaaaaaaaa1" {
			seed = &got[i]
		}
	}
	if seed == nil || seed.Status != NonCompliant || len(seed.MissingPatches) != 2 || seed.NonCompliantSummary.SeveritySummary.UnspecifiedCount != 2 || seed.CompliantSummary.CompliantCount != 1 {
		t.Fatalf("the seed 004 node: %+v", seed)
	}
	// On a baseline without compliance levels, the node's severity is its
	// patches' own: the servicing stack update is Critical for Microsoft.
	if seed.OverallSeverity != "UNSPECIFIED" || seed.Severity != SeverityCritical || seed.SecurityNonCompliant != 1 || !seed.OldAgent || !seed.Stale {
		t.Errorf("seed 004 node: overall %s, severity %s, security %d, old agent %v, stale %v; want UNSPECIFIED, CRITICAL, 1, true, true",
			seed.OverallSeverity, seed.Severity, seed.SecurityNonCompliant, seed.OldAgent, seed.Stale)
	}

	// The summary against the same records, counted plainly.
	var nodesN, unmanaged, nonCompliant, oldAgent, lost, notScanned int
	for _, r := range want {
		if r.NodeState == Unmanaged {
			unmanaged++
			continue
		}
		nodesN++
		if r.Status == NonCompliant {
			nonCompliant++
		}
		if r.AgentVersion == "3.0.431.0" || r.AgentVersion == "2.3.1319.0" {
			oldAgent++
		}
		if r.PingStatus == "ConnectionLost" {
			lost++
		}
		if r.PatchState == nil || testNow.Sub(r.PatchState.OperationEndTime) > 7*24*time.Hour {
			notScanned++
		}
	}
	o := sum.Organization
	if o.Nodes != nodesN || o.Unmanaged != unmanaged || o.NonCompliant != nonCompliant || o.OldAgent != oldAgent || o.ConnectionLost != lost || o.NotScanned != notScanned {
		t.Errorf("organization counts %+v; want nodes %d unmanaged %d nonCompliant %d oldAgent %d connectionLost %d notScanned %d",
			o, nodesN, unmanaged, nonCompliant, oldAgent, lost, notScanned)
	}
	if o.Critical+o.High+o.Medium+o.Low+o.Informational+o.Unspecified != o.NonCompliant {
		t.Errorf("severities do not add up to the non-compliant nodes: %+v", o)
	}
	if sum.Failed != 2 || len(sum.Failures) != 2 || !strings.Contains(sum.Failures[0].Error, "AccessDenied") {
		t.Errorf("failures %d %+v: want the account without its role, in both regions", sum.Failed, sum.Failures)
	}
	if want := 2 * 4; sum.Targets != want { // management + 3 readable members, 2 regions
		t.Errorf("targets read %d, want %d", sum.Targets, want)
	}
	for _, gs := range [][]Group{sum.ByOU, sum.ByAccount, sum.ByRegion} {
		if !slices.IsSortedFunc(gs, worseGroup) {
			t.Errorf("groups not worst first: %+v", gs)
		}
		total := 0
		for _, g := range gs {
			total += g.Counts.Nodes
		}
		if total != nodesN {
			t.Errorf("groups hold %d nodes, want %d", total, nodesN)
		}
	}
	if len(sum.Listed) != nonCompliant || !slices.IsSortedFunc(sum.Listed, worseNode) {
		t.Errorf("listed %d non-compliant nodes (sorted: %v), want %d", len(sum.Listed), slices.IsSortedFunc(sum.Listed, worseNode), nonCompliant)
	}
}

// With rings configured, every record names its account's ring as a
// converge run resolves it: the first ring that selects the account (by OU
// here, or by id), none when no ring does.
func TestRecordsNameTheirRing(t *testing.T) {
	f := newFixture(t, 1)
	devOU := f.org.Root.OUs[0].ID
	want := map[string]string{}
	var prodAccount string
	for _, a := range f.org.Accounts {
		if len(a.Roles) == 0 {
			continue
		}
		switch {
		case a.Parent == devOU:
			want[a.ID] = "dev"
		case prodAccount == "":
			prodAccount = a.ID
			want[a.ID] = "prod"
		default:
			want[a.ID] = ""
		}
	}
	if !slices.Contains(slices.Collect(maps.Values(want)), "") || !slices.Contains(slices.Collect(maps.Values(want)), "dev") {
		t.Fatalf("the generated organization gives no account to both a ring and none: %v", want)
	}
	cfg := config.Default()
	cfg.Rings = []config.Ring{
		{Name: "dev", Select: config.Selector{OUs: []string{devOU}}},
		// Also selects the dev OU's accounts, which dev took first.
		{Name: "prod", Select: config.Selector{OUs: []string{devOU}, Accounts: []string{prodAccount}}},
	}
	_, got := f.runWith(t, cfg, Settings{})
	if len(got) == 0 {
		t.Fatal("no records")
	}
	for _, r := range got {
		if r.Ring != want[r.Account] {
			t.Errorf("record %s of account %s: ring %q, want %q", r.ResourceId, r.Account, r.Ring, want[r.Account])
		}
	}
}

func TestStaleAfterAndListBound(t *testing.T) {
	f := newFixture(t, 40)
	a, _ := f.run(t, Settings{StaleAfterDays: 7, MaxListed: 3})
	b, _ := f.run(t, Settings{StaleAfterDays: 60, MaxListed: 3})
	if a.Organization.NotScanned <= b.Organization.NotScanned || b.Organization.NotScanned < b.Organization.Unreported {
		t.Errorf("not scanned within 7 days %d, within 60 days %d (unreported %d): a longer window must count fewer, never below the unreported",
			a.Organization.NotScanned, b.Organization.NotScanned, b.Organization.Unreported)
	}
	if len(a.Listed) != 3 || a.MoreNonCompliant != a.Organization.NonCompliant-3 {
		t.Errorf("listed %d, more %d of %d non-compliant: want the 3 worst and the rest counted", len(a.Listed), a.MoreNonCompliant, a.Organization.NonCompliant)
	}
	ages := 0
	for _, k := range a.ScanAge {
		ages += k.Count
	}
	if ages != a.Organization.Nodes {
		t.Errorf("scan-age buckets hold %d nodes, want %d", ages, a.Organization.Nodes)
	}
	versions := slices.Collect(maps.Keys(map[string]bool{}))
	for _, v := range a.AgentVersions {
		versions = append(versions, v.Key)
	}
	if !slices.IsSortedFunc(versions, func(x, y string) int { return -compareVersions(x, y) }) {
		t.Errorf("agent versions not newest first: %v", versions)
	}
}

func TestOlderAgent(t *testing.T) {
	for v, want := range map[string]bool{"3.0.431.0": true, "2.3.1319.0": true, "3.0.502": false, "3.0.502.0": false, "3.0.1031.0": false, "3.3.40.0": false, "": false} {
		if got := OlderAgent(v, DefaultMinAgentVersion); got != want {
			t.Errorf("OlderAgent(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestThrottledAssumeRoleIsRetried: 20 accounts assume their role at once
// from the management account, whose AssumeRole quota here is a burst of 5
// then 10 a second, and the SDK gives up at the first throttle: the walk's
// own retry (fleet.Walk, the converge run's) must carry every account, so
// that the report reads every target and fails none.
func TestThrottledAssumeRoleIsRetried(t *testing.T) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 19, Regions: []string{"us-east-1"}})
	env := simtest.Start(t, org, sim.WithThrottle(10, 5), sim.WithNodesPerTarget(1))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1"}
	mgmt := env.Config.Copy()
	mgmt.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) }
	sum, err := Run(context.Background(), Env{
		Management: mgmt, Config: cfg, Concurrency: 20,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return testNow },
		Sink: func(*Record) error { return nil },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.Failed != 0 || sum.Targets != 20 {
		t.Errorf("%d targets read, %d failed %+v; want all 20 read", sum.Targets, sum.Failed, sum.Failures)
	}
	throttled := env.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "AssumeRole" && c.ErrorCode != "" })
	if throttled == 0 {
		t.Error("no AssumeRole was throttled: the test does not test the retry")
	}
}
