package promotion

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
)

var (
	released = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	after    = released.Add(24 * time.Hour)
	before   = released.Add(-24 * time.Hour)
)

// node is a managed node of ring whose last patching run was op, ended at
// end, with missing and failed patch counts.
func node(ring, op string, end time.Time, missing, failed int32) compliance.Record {
	r := compliance.Record{RecordType: compliance.NodeRecord, Ring: ring, NodeState: compliance.Reported}
	if op != "" {
		r.PatchState = &compliance.PatchState{Operation: op, OperationEndTime: end, MissingCount: missing, FailedCount: failed}
	} else {
		r.NodeState = compliance.Unreported
	}
	return r
}

// nodes are n nodes of dev: installed of them installed cleanly after the
// release, failed failed, and the rest were last scanned before it.
func nodes(n, installed, failed int) []compliance.Record {
	var out []compliance.Record
	for i := range n {
		switch {
		case i < installed:
			out = append(out, node("dev", "Install", after, 0, 0))
		case i < installed+failed:
			out = append(out, node("dev", "Install", after, 0, 1))
		default:
			out = append(out, node("dev", "Scan", before, 3, 0))
		}
	}
	return out
}

func pf(v float64) *float64 { return &v }

var gate = config.Promotion{Follows: "dev", Soak: "72h", Gate: config.Gate{
	MinInstalledPercent: pf(95), MaxFailedPercent: pf(2), MaxStalePercent: pf(5), Alarms: []string{"app-health"}}}

func TestGateEdges(t *testing.T) {
	ok := map[string]string{"app-health": AlarmOK}
	soaked := released.Add(72 * time.Hour)
	cases := map[string]struct {
		nodes  []compliance.Record
		alarms map[string]string
		now    time.Time
		want   string // "" holds
	}{
		"exactly at every threshold": {nodes: append(nodes(100, 95, 2), node("dev", "", time.Time{}, 0, 0)), alarms: ok, now: soaked,
			want: "prod waits: dev 94.1% installed < 95%"},
		"at the thresholds":   {nodes: nodes(100, 95, 0), alarms: ok, now: soaked},
		"failed at 2%":        {nodes: nodes(50, 48, 1), alarms: ok, now: soaked},
		"just below":          {nodes: nodes(1000, 949, 0), alarms: ok, now: soaked, want: "prod waits: dev 94.9% installed < 95%; dev 5.1% not scanned since its set > 5%"},
		"failed just above":   {nodes: nodes(1000, 970, 21), alarms: ok, now: soaked, want: "prod waits: dev 2.1% failed > 2%"},
		"no nodes":            {alarms: ok, now: soaked, want: "prod waits: dev has no managed nodes: nothing was tested"},
		"only other rings":    {nodes: []compliance.Record{node("prod", "Install", after, 0, 0)}, alarms: ok, now: soaked, want: "prod waits: dev has no managed nodes: nothing was tested"},
		"all stale":           {nodes: nodes(4, 0, 0), alarms: ok, now: soaked, want: "prod waits: dev 0.0% installed < 95%; dev 100.0% not scanned since its set > 5%"},
		"soak not passed":     {nodes: nodes(10, 10, 0), alarms: ok, now: soaked.Add(-time.Hour), want: "prod waits: dev's soak ends 2026-11-13 12:00 UTC"},
		"alarm in ALARM":      {nodes: nodes(10, 10, 0), alarms: map[string]string{"app-health": AlarmAlarm}, now: soaked, want: "prod waits: alarm app-health is ALARM"},
		"alarm without data":  {nodes: nodes(10, 10, 0), alarms: map[string]string{"app-health": AlarmInsufficientData}, now: soaked, want: "prod waits: alarm app-health is INSUFFICIENT_DATA"},
		"alarm missing":       {nodes: nodes(10, 10, 0), now: soaked, want: "prod waits: alarm app-health does not exist"},
		"unmanaged not count": {nodes: append(nodes(10, 10, 0), compliance.Record{RecordType: compliance.NodeRecord, Ring: "dev", NodeState: compliance.Unmanaged}), alarms: ok, now: soaked},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := Measure(tc.nodes, "dev", released)
			if got := Gate("prod", gate, f, tc.alarms, tc.now); got != tc.want {
				t.Errorf("gate on %+v:\n got %q\nwant %q", f, got, tc.want)
			}
		})
	}
}

// chain is dev -> prod, prod gated as gate; prod's Windows baseline is
// pinned by list when listed.
func chain(listed bool) config.Config {
	seven := int32(7)
	rule := []config.ApprovalRule{{Filters: []config.PatchFilter{{Key: "CLASSIFICATION", Values: []string{"Security"}}}, ApproveAfterDays: &seven}}
	c := config.Default()
	c.Baselines = []config.Baseline{
		{Name: "al2", OperatingSystem: "AMAZON_LINUX_2", Default: true, ApprovalRules: rule},
		{Name: "win", OperatingSystem: "WINDOWS", Default: true, ApprovalRules: rule},
	}
	if listed {
		c.Baselines[1].PromotionPin = config.PinApprovedPatches
	}
	p := gate
	c.Rings = []config.Ring{
		{Name: "dev", Select: config.Selector{Accounts: []string{"111111111111"}}},
		{Name: "prod", Select: config.Selector{Accounts: []string{"222222222222"}}, Promotion: &p},
	}
	return c
}

func decisions(ds []Decision) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s %s: %s\n", d.Ring, d.Kind, d.Reason)
	}
	return b.String()
}

// TestCycle runs two patch cycles through Decide and Apply: dev's first
// set, prod held during the soak, promoted after, dev's next cycle, and a
// failing dev that holds prod until a person promotes it.
func TestCycle(t *testing.T) {
	cfg := chain(false)
	ok := map[string]string{"app-health": AlarmOK}
	step := func(st State, in Inputs, want string) State {
		t.Helper()
		in.By = "orgpatch-fn"
		ds := Decide(cfg, st, in)
		if got := decisions(ds); got != want {
			t.Fatalf("at %s:\n got %s\nwant %s", in.Now, got, want)
		}
		return Apply(cfg, st, ds)
	}
	st := step(State{}, Inputs{Now: released}, "dev start-cycle: dev starts its first cycle: patches released up to 2026-11-03\n"+
		"prod hold: prod waits: dev has no set yet; until its first promotion prod approves by its configured delay\n")
	// The first run pins nothing: prod keeps its delay.
	if pinned, err := Pin(cfg, st); err != nil || *mustRing(t, pinned, "prod").Baselines[0].ApprovalRules[0].ApproveAfterDays != 7 {
		t.Fatalf("prod before its first promotion: %v", err)
	}
	st = step(st, Inputs{Now: released.Add(48 * time.Hour), Nodes: nodes(20, 20, 0), Alarms: ok},
		"dev unchanged: dev keeps its set up to 2026-11-03 until prod takes it\nprod hold: prod waits: dev's soak ends 2026-11-13 12:00 UTC\n")
	st = step(st, Inputs{Now: released.Add(73 * time.Hour), Nodes: nodes(20, 20, 0), Alarms: ok},
		"dev unchanged: dev keeps its set up to 2026-11-03 until prod takes it\nprod promote: prod's gate held: dev 100.0% installed, 0.0% failed, 0.0% stale of 20 nodes\n")
	pinned, err := Pin(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if r := mustRing(t, pinned, "prod").Baselines[0].ApprovalRules[0]; r.ApproveUntilDate != "2026-11-03" || r.ApproveAfterDays != nil {
		t.Fatalf("prod after its promotion approves until %q after %v", r.ApproveUntilDate, r.ApproveAfterDays)
	}
	if r := mustRing(t, pinned, "dev").Baselines[0].ApprovalRules[0]; r.ApproveAfterDays == nil || *r.ApproveAfterDays != 7 {
		t.Fatalf("dev was pinned: %+v", r)
	}
	// The second cycle: dev moves on now that prod has its set; a fifth of
	// dev's installs fail.
	second := released.Add(14 * 24 * time.Hour)
	st = step(st, Inputs{Now: second, Nodes: nodes(20, 20, 0), Alarms: ok},
		"dev start-cycle: prod has dev's set up to 2026-11-03: dev starts a cycle up to 2026-11-17\nprod unchanged: prod has dev's set up to 2026-11-03\n")
	late := second.Add(96 * time.Hour)
	bad := nodes(20, 16, 4)
	for i := range bad {
		bad[i].PatchState.OperationEndTime = late.Add(-time.Hour)
	}
	st = step(st, Inputs{Now: late, Nodes: bad, Alarms: ok},
		"dev unchanged: dev keeps its set up to 2026-11-17 until prod takes it\nprod hold: prod waits: dev 80.0% installed < 95%; dev 20.0% failed > 2%\n")
	if n := len(st.Unpublished); n != 6 {
		t.Errorf("%d events waiting; want 6 (two cycle starts, three holds, a promotion)", n)
	}
	// The same hold again changes nothing and is no new event.
	again := Apply(cfg, st, Decide(cfg, st, Inputs{Now: late, Nodes: bad, Alarms: ok}))
	if len(again.Unpublished) != 6 || len(again.History) != len(st.History) {
		t.Errorf("an unchanged hold was recorded again")
	}
	d, err := PromoteRing(cfg, st, "prod", "", "CVE-2026-1234 is exploited; the failures are a known agent issue", "arn:aws:iam::999999999999:user/alice", late)
	if err != nil {
		t.Fatal(err)
	}
	st = Apply(cfg, st, []Decision{d})
	if rs := st.Rings["prod"]; rs.Set.Cutoff != "2026-11-17" || rs.Hold != nil || !strings.Contains(rs.Reason, "alice") {
		t.Errorf("after the override prod is %+v", rs)
	}
}

func mustRing(t *testing.T, c config.Config, ring string) config.Config {
	t.Helper()
	eff, ok := c.ForRing(ring)
	if !ok {
		t.Fatalf("no ring %s", ring)
	}
	return eff
}

// TestRingsChangeMidCycle: a ring added takes no set until its gate
// holds, a ring removed has its state dropped, and a ring whose follows
// changed keeps its set and is measured against its new earlier ring.
func TestRingsChangeMidCycle(t *testing.T) {
	cfg := chain(false)
	st := State{Rings: map[string]*RingState{
		"dev":  {Set: &Set{Cutoff: "2026-11-03", ReleasedAt: released, Source: "cycle"}},
		"prod": {Set: &Set{Cutoff: "2026-10-01", ReleasedAt: before, Source: "dev"}},
		"old":  {Set: &Set{Cutoff: "2026-09-01"}},
	}}
	// test is inserted between dev and prod; prod now follows test.
	p := gate
	p.Follows = "test"
	testRing := config.Ring{Name: "test", Select: config.Selector{Accounts: []string{"333333333333"}}, Promotion: &gate}
	cfg.Rings = []config.Ring{cfg.Rings[0], testRing, cfg.Rings[1]}
	cfg.Rings[2].Promotion = &p
	now := released.Add(100 * time.Hour)
	ds := Decide(cfg, st, Inputs{Now: now, Nodes: nodes(10, 10, 0), Alarms: map[string]string{"app-health": AlarmOK}})
	want := "dev unchanged: dev keeps its set up to 2026-11-03 until test takes it\n" +
		"test promote: test's gate held: dev 100.0% installed, 0.0% failed, 0.0% stale of 10 nodes\n" +
		"prod hold: prod waits: test has no set yet\n" +
		"old dropped: old is no longer a ring of the configuration: its promotion state is dropped\n"
	if got := decisions(ds); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	st = Apply(cfg, st, ds)
	if _, ok := st.Rings["old"]; ok || st.Rings["prod"].Set.Cutoff != "2026-10-01" {
		t.Errorf("after the change: %+v", st.Rings)
	}
}

// TestAccountMovesDuringSoak: the figures are the ring's accounts now. A
// dev account whose nodes failed moves to prod during the soak: its nodes
// count for prod, and dev's gate holds on the nodes still in dev.
func TestAccountMovesDuringSoak(t *testing.T) {
	all := nodes(10, 8, 2)
	if f := Measure(all, "dev", released); f.Failed != 2 {
		t.Fatalf("before the move: %+v", f)
	}
	for i := 8; i < 10; i++ {
		all[i].Ring = "prod" // the account moved; the collection names its ring now
	}
	f := Measure(all, "dev", released)
	if f.Managed != 8 || f.Failed != 0 || f.InstalledPercent != 100 {
		t.Errorf("after the move dev is %+v; want its 8 remaining nodes, all installed", f)
	}
}

// TestUnmeasuredEarlierRingHolds: when part of dev could not be read, prod
// holds naming why, even though the nodes that were read pass its gate.
func TestUnmeasuredEarlierRingHolds(t *testing.T) {
	cfg := chain(false)
	st := State{Rings: map[string]*RingState{"dev": {Set: &Set{Cutoff: "2026-11-03", ReleasedAt: released}}}}
	in := Inputs{Now: released.Add(100 * time.Hour), Nodes: nodes(10, 10, 0), Alarms: map[string]string{"app-health": AlarmOK}}
	if d := Decide(cfg, st, in)[1]; d.Kind != Promote {
		t.Fatalf("every dev node read: %s %s; want prod promoted", d.Kind, d.Reason)
	}
	in.Unmeasured = map[string]string{"dev": "1 target(s) could not be read; first: 222222222222 us-east-1: AccessDenied"}
	d := Decide(cfg, st, in)[1]
	if d.Kind != HoldKind || d.Reason != "prod waits: dev could not be measured: 1 target(s) could not be read; first: 222222222222 us-east-1: AccessDenied" {
		t.Fatalf("part of dev unread: %s %q; want prod held naming it", d.Kind, d.Reason)
	}
}

// TestApprovedPatchesLimit: a list pin never truncates: more than 50
// installed ids for a baseline pinned by list hold the ring, saying why.
func TestApprovedPatchesLimit(t *testing.T) {
	cfg := chain(true)
	st := State{Rings: map[string]*RingState{"dev": {Set: &Set{Cutoff: "2026-11-03", ReleasedAt: released}}}}
	in := Inputs{Now: released.Add(100 * time.Hour), Nodes: nodes(10, 10, 0), Alarms: map[string]string{"app-health": AlarmOK},
		Installed: map[string]map[string][]string{"dev": {"WINDOWS": make([]string, 51)}}}
	for i := range in.Installed["dev"]["WINDOWS"] {
		in.Installed["dev"]["WINDOWS"][i] = fmt.Sprintf("KB%07d", i)
	}
	notRead := in
	notRead.Installed = nil
	if d := Decide(cfg, st, notRead)[1]; d.Kind != HoldKind || d.Reason != "prod waits: its baselines win are pinned by approvedPatches, and what dev installed was not read" {
		t.Fatalf("installed patches not read: %s %s", d.Kind, d.Reason)
	}
	ds := Decide(cfg, st, in)
	if d := ds[1]; d.Kind != HoldKind || !strings.Contains(d.Reason, "prod waits: its WINDOWS baseline win is pinned by approvedPatches, which holds at most 50 ids, and the set has 51") {
		t.Fatalf("51 patches: %s %s", d.Kind, d.Reason)
	}
	in.Installed["dev"]["WINDOWS"] = in.Installed["dev"]["WINDOWS"][:50]
	ds = Decide(cfg, st, in)
	if d := ds[1]; d.Kind != Promote || len(d.To.Patches["WINDOWS"]) != 50 {
		t.Fatalf("50 patches: %s %s", d.Kind, d.Reason)
	}
	pinned, err := Pin(cfg, Apply(cfg, st, ds))
	if err != nil {
		t.Fatal(err)
	}
	if win := mustRing(t, pinned, "prod").Baselines[1]; len(win.ApprovedPatches) != 50 || win.ApprovalRules != nil {
		t.Errorf("prod's Windows baseline: %d approved, rules %v", len(win.ApprovedPatches), win.ApprovalRules)
	}
}

// TestPersonHoldsAgainstSchedule: a person's hold sticks through the
// scheduled runs whose gate holds, until a person promotes.
func TestPersonHoldsAgainstSchedule(t *testing.T) {
	cfg := chain(false)
	st := State{Rings: map[string]*RingState{"dev": {Set: &Set{Cutoff: "2026-11-03", ReleasedAt: released}}}}
	h, err := HoldRing(cfg, st, "prod", "change freeze until the 20th", "arn:aws:iam::999999999999:user/bob", released)
	if err != nil {
		t.Fatal(err)
	}
	st = Apply(cfg, st, []Decision{h})
	in := Inputs{Now: released.Add(100 * time.Hour), Nodes: nodes(10, 10, 0), Alarms: map[string]string{"app-health": AlarmOK}}
	ds := Decide(cfg, st, in)
	if d := ds[1]; d.Kind != HoldKind || d.Reason != "prod held by arn:aws:iam::999999999999:user/bob: change freeze until the 20th" {
		t.Fatalf("schedule under a person's hold: %s %s", d.Kind, d.Reason)
	}
	p, err := PromoteRing(cfg, Apply(cfg, st, ds), "prod", "", "freeze over", "arn:aws:iam::999999999999:user/bob", in.Now)
	if err != nil {
		t.Fatal(err)
	}
	st = Apply(cfg, st, []Decision{p})
	if ds := Decide(cfg, st, in); ds[1].Kind != Unchanged {
		t.Errorf("after the promote: %s", decisions(ds))
	}
}

func TestOverrideErrors(t *testing.T) {
	cfg := chain(true)
	st := State{}
	now := released
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(PromoteRing(cfg, st, "stage", "", "x", "me", now)), `promote: "stage" is not one of the configuration's rings: dev, prod`},
		{second(PromoteRing(cfg, st, "prod", "", " ", "me", now)), "promote prod: --reason is required"},
		{second(PromoteRing(cfg, st, "prod", "2026-13-01", "x", "me", now)), `--cutoff "2026-13-01" is not a date`},
		{second(PromoteRing(cfg, st, "prod", "2026-11-01", "x", "me", now)), "pinned by approvedPatches, which a cut-off does not list"},
		{second(PromoteRing(cfg, st, "prod", "", "x", "me", now)), "dev has no set to promote yet: give --cutoff"},
		{second(HoldRing(cfg, st, "prod", "", "me", now)), "hold prod: --reason is required"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
}

func second(_ Decision, err error) error { return err }

func timeMinutes(n int) time.Duration { return time.Duration(n) * time.Minute }

// TestScanAfterInstall: a node keeps only its last run's state; a scan
// after the release that finds nothing missing counts as installed, one
// that finds patches missing counts as neither installed nor stale.
func TestScanAfterInstall(t *testing.T) {
	f := Measure([]compliance.Record{node("dev", "Scan", after, 0, 0), node("dev", "Scan", after, 2, 0)}, "dev", released)
	if f.Managed != 2 || f.Installed != 1 || f.Stale != 0 || f.Failed != 0 {
		t.Errorf("figures %+v; want 2 managed, 1 installed, none stale or failed", f)
	}
}

// TestThreeRingChain: dev -> test -> prod. test keeps its set while prod
// soaks it, as dev does while test soaks dev's; the view and the next
// configuration say what the next run does.
func TestThreeRingChain(t *testing.T) {
	cfg := chain(false)
	p := gate
	p.Follows = "test"
	testRing := config.Ring{Name: "test", Select: config.Selector{Accounts: []string{"333333333333"}}, Promotion: &gate}
	cfg.Rings = []config.Ring{cfg.Rings[0], testRing, cfg.Rings[1]}
	cfg.Rings[2].Promotion = &p
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := State{Rings: map[string]*RingState{
		"dev":  {Set: &Set{Cutoff: "2026-11-03", ReleasedAt: released}},
		"test": {Set: &Set{Cutoff: "2026-10-27", ReleasedAt: released}},
		"prod": {Set: &Set{Cutoff: "2026-10-20", ReleasedAt: before}},
	}}
	all := append(nodes(10, 10, 0), nodes(10, 10, 0)...)
	for i := range 10 {
		all[i].Ring = "test"
	}
	in := Inputs{Now: released.Add(100 * time.Hour), Nodes: all, Alarms: map[string]string{"app-health": AlarmOK}}
	want := "dev keeps its set up to 2026-11-03 until test takes it\n" +
		"test keeps its set up to 2026-10-27 until prod takes it\n" +
		"prod's gate held: test 100.0% installed, 0.0% failed, 0.0% stale of 10 nodes\n"
	var got string
	for _, v := range View(cfg, st, in) {
		got += v.Next.Reason + "\n"
	}
	if got != want {
		t.Fatalf("view:\n%s\nwant:\n%s", got, want)
	}
	next, err := Next(cfg, st, in)
	if err != nil {
		t.Fatal(err)
	}
	if r := mustRing(t, next, "prod").Baselines[0].ApprovalRules[0]; r.ApproveUntilDate != "2026-10-27" {
		t.Errorf("prod's next cut-off %q, want test's 2026-10-27", r.ApproveUntilDate)
	}
	if r := mustRing(t, next, "test").Baselines[0].ApprovalRules[0]; r.ApproveUntilDate != "2026-10-27" {
		t.Errorf("test's cut-off %q moved, want 2026-10-27", r.ApproveUntilDate)
	}
}

func TestSetString(t *testing.T) {
	for _, tc := range []struct {
		set  *Set
		want string
	}{
		{nil, "none"},
		{&Set{Cutoff: "2026-11-03"}, "up to 2026-11-03"},
		{&Set{Cutoff: "2026-11-03", Patches: map[string][]string{"WINDOWS": {"KB1", "KB2"}, "AMAZON_LINUX_2": {}}}, "up to 2026-11-03 (2 listed patches)"},
	} {
		if got := tc.set.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.set, got, tc.want)
		}
	}
}
