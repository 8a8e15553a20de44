package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

// ringConfig is testdata/rings.yaml as the accounts of ring (""
// for none) converge to it.
func ringConfig(t *testing.T, ring string) config.Config {
	t.Helper()
	data, err := os.ReadFile("../../testdata/rings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	eff, ok := c.ForRing(ring)
	if !ok {
		t.Fatalf("no ring %q in testdata/rings.yaml", ring)
	}
	return eff
}

// baselineState is what a user sees of the baselines of the account x
// region: each baseline with its approval delays and owner, the default per
// operating system (a baseline name; AWS's predefined ones by name too) and
// the patch groups.
type baselineState struct {
	Baselines []string          // "name OS days=[0 0] owned"
	Defaults  map[string]string // OS -> baseline name, for the OSes the tests use
	Groups    map[string]string // "group OS" -> baseline name
}

func (h *harness) baselines() baselineState {
	h.t.Helper()
	svc := h.env.Server.SSM()
	names := map[string]string{}
	var st baselineState
	for _, b := range svc.Baselines(account, region) {
		names[b.ID] = b.Name
		var days []string
		if b.ApprovalRules != nil {
			for _, r := range b.ApprovalRules.PatchRules {
				days = append(days, fmt.Sprint(aws.ToInt32(r.ApproveAfterDays)))
			}
		}
		owned := slices.ContainsFunc(b.Tags, func(t ssmsvc.Tag) bool { return t.Key == reconcile.OwnerTagKey && t.Value == reconcile.OwnerTagValue })
		st.Baselines = append(st.Baselines, fmt.Sprintf("%s %s days=%s owned=%v", b.Name, b.OperatingSystem, strings.Join(days, ","), owned))
	}
	slices.Sort(st.Baselines)
	st.Defaults = map[string]string{}
	for _, os := range []string{"AMAZON_LINUX_2", "WINDOWS", "UBUNTU"} {
		id := svc.DefaultBaselines(account, region)[os]
		if n, ok := names[id]; ok {
			st.Defaults[os] = n
		} else if id == ssmsvc.PredefinedBaselineID(region, os) {
			st.Defaults[os] = "AWS"
		} else {
			st.Defaults[os] = "missing " + id
		}
	}
	st.Groups = map[string]string{}
	for g, byOS := range svc.PatchGroups(account, region) {
		for os, id := range byOS {
			st.Groups[g+" "+os] = cmpOr(names[id], id)
		}
	}
	return st
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func convergedBaselines(days string, extra ...string) baselineState {
	bs := append([]string{
		"orgpatch-amazon-linux-2 AMAZON_LINUX_2 days=" + days + " owned=true",
		"orgpatch-windows WINDOWS days=" + days + " owned=true",
	}, extra...)
	slices.Sort(bs)
	return baselineState{
		Baselines: bs,
		Defaults:  map[string]string{"AMAZON_LINUX_2": "orgpatch-amazon-linux-2", "WINDOWS": "orgpatch-windows", "UBUNTU": "AWS"},
		Groups:    map[string]string{"web AMAZON_LINUX_2": "orgpatch-amazon-linux-2"},
	}
}

var awsDefaults = baselineState{Defaults: map[string]string{"AMAZON_LINUX_2": "AWS", "WINDOWS": "AWS", "UBUNTU": "AWS"}, Groups: map[string]string{}}

// baselineWrites are the fresh run's baseline writes: two baselines, the
// patch group, two defaults.
const baselineWrites = 5

// TestBaselinesConvergeThenNoWrites: a dev-ring account gets orgpatch's
// baselines as the defaults, approving after 0 days, and the patch group;
// a second run writes nothing; the plan before said exactly that.
func TestBaselinesConvergeThenNoWrites(t *testing.T) {
	h := newHarness(t)
	cfg := ringConfig(t, "dev")
	plan, err := reconcile.Reconcile(context.Background(), reconcile.Clients{h.client}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, DryRun: true, Documents: h.docs,
	})
	if err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, a := range plan.Actions {
		if a.Resource == reconcile.ResourceBaseline || a.Resource == reconcile.ResourceDefaultBaseline || a.Resource == reconcile.ResourcePatchGroup {
			planned = append(planned, a.String())
		}
	}
	want := []string{
		"create baseline orgpatch-amazon-linux-2: AMAZON_LINUX_2, 1 approval rules, approve after 0 days",
		"create baseline orgpatch-windows: WINDOWS, 1 approval rules, approve after 0 days",
		"create patchgroup web for AMAZON_LINUX_2: baseline orgpatch-amazon-linux-2",
		"update default AMAZON_LINUX_2 (" + ssmsvc.PredefinedBaselineID(region, "AMAZON_LINUX_2") + "): baseline: " + predefinedShort(t, "AMAZON_LINUX_2") + " -> orgpatch-amazon-linux-2",
		"update default WINDOWS (" + ssmsvc.PredefinedBaselineID(region, "WINDOWS") + "): baseline: " + predefinedShort(t, "WINDOWS") + " -> orgpatch-windows",
	}
	if diff := cmp.Diff(want, planned); diff != "" {
		t.Errorf("the plan's baseline actions (-want +got):\n%s", diff)
	}
	h.mustRun(reconcile.Converge, cfg)
	if diff := cmp.Diff(convergedBaselines("0"), h.baselines()); diff != "" {
		t.Errorf("after the run (-want +got):\n%s", diff)
	}
	if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
		t.Errorf("second run: %d writes %v, want none", writes, h.writeOps())
	}
	// The patch group resolves to its baseline, as Patch Manager asks it.
	out, err := h.client.GetPatchBaselineForPatchGroup(context.Background(), &ssm.GetPatchBaselineForPatchGroupInput{
		PatchGroup: aws.String("web"), OperatingSystem: types.OperatingSystemAmazonLinux2})
	if err != nil || h.nameOf(aws.ToString(out.BaselineId)) != "orgpatch-amazon-linux-2" {
		t.Errorf("web's AL2 baseline: %v %v, want orgpatch-amazon-linux-2", out, err)
	}
}

func predefinedShort(t *testing.T, os string) string {
	id := ssmsvc.PredefinedBaselineID(region, os)
	return id[strings.LastIndex(id, "/")+1:]
}

func (h *harness) nameOf(id string) string {
	for _, b := range h.env.Server.SSM().Baselines(account, region) {
		if b.ID == id {
			return b.Name
		}
	}
	return id
}

// TestRingMoveUpdatesBaselinesInPlace: a dev account moved to prod gets
// prod's 7 days by one update per baseline that sends only the approval
// rules: the same baselines, registrations untouched.
func TestRingMoveUpdatesBaselinesInPlace(t *testing.T) {
	h := newHarness(t)
	h.mustRun(reconcile.Converge, ringConfig(t, "dev"))
	before := h.env.Server.SSM().Baselines(account, region)
	res, writes := h.mustRun(reconcile.Converge, ringConfig(t, "prod"))
	if diff := cmp.Diff([]string{"UpdatePatchBaseline", "UpdatePatchBaseline"}, baselineOps(h.writeOps())); diff != "" {
		t.Errorf("baseline writes moving dev -> prod (-want +got):\n%s", diff)
	}
	for _, a := range res.Actions {
		if a.Resource == reconcile.ResourceBaseline && a.Op == reconcile.OpUpdate {
			if len(a.Changes) != 1 || a.Changes[0].Field != reconcile.BaselineApprovalRules {
				t.Errorf("update %s changes %v, want the approval rules only", a.Name, a.Changes)
			}
		}
	}
	_ = writes
	after := h.env.Server.SSM().Baselines(account, region)
	if len(before) != 2 || len(after) != 2 || before[0].ID != after[0].ID || before[1].ID != after[1].ID {
		t.Errorf("baselines replaced, not updated in place: %d before, %d after", len(before), len(after))
	}
	if diff := cmp.Diff(convergedBaselines("7"), h.baselines()); diff != "" {
		t.Errorf("after the move (-want +got):\n%s", diff)
	}
}

func baselineOps(ops []string) []string {
	var out []string
	for _, op := range ops {
		if strings.Contains(op, "PatchBaseline") || strings.Contains(op, "PatchGroup") {
			out = append(out, op)
		}
	}
	return out
}

// TestBaselineRemovedFromConfig: a baseline leaving the configuration loses
// its patch group, gives the default back to AWS's predefined baseline and
// is deleted, in that order.
func TestBaselineRemovedFromConfig(t *testing.T) {
	h := newHarness(t)
	cfg := ringConfig(t, "dev")
	h.mustRun(reconcile.Converge, cfg)
	cfg.Baselines = cfg.Baselines[1:] // keep Windows only
	h.mustRun(reconcile.Converge, cfg)
	if diff := cmp.Diff([]string{"DeregisterPatchBaselineForPatchGroup", "RegisterDefaultPatchBaseline", "DeletePatchBaseline"}, baselineOps(h.writeOps())); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	want := baselineState{
		Baselines: []string{"orgpatch-windows WINDOWS days=0 owned=true"},
		Defaults:  map[string]string{"AMAZON_LINUX_2": "AWS", "WINDOWS": "orgpatch-windows", "UBUNTU": "AWS"},
		Groups:    map[string]string{},
	}
	if diff := cmp.Diff(want, h.baselines()); diff != "" {
		t.Errorf("after (-want +got):\n%s", diff)
	}
}

// TestBaselineNameClash: a baseline orgpatch does not own that holds a
// configured name, or a configured patch group, is reported and left
// alone; everything else converges.
func TestBaselineNameClash(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	theirs, err := h.client.CreatePatchBaseline(ctx, &ssm.CreatePatchBaselineInput{Name: aws.String("orgpatch-windows"), OperatingSystem: types.OperatingSystemWindows})
	if err != nil {
		t.Fatal(err)
	}
	team, err := h.client.CreatePatchBaseline(ctx, &ssm.CreatePatchBaselineInput{Name: aws.String("team-al2"), OperatingSystem: types.OperatingSystemAmazonLinux2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.RegisterPatchBaselineForPatchGroup(ctx, &ssm.RegisterPatchBaselineForPatchGroupInput{BaselineId: team.BaselineId, PatchGroup: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	cfg := ringConfig(t, "dev")
	_, err = h.run(reconcile.Converge, cfg)
	if err == nil || !strings.Contains(err.Error(), "baseline orgpatch-windows ("+aws.ToString(theirs.BaselineId)+") exists without orgpatch's ownership tag") {
		t.Errorf("err = %v, want the name clash named", err)
	}
	want := baselineState{
		Baselines: []string{"orgpatch-amazon-linux-2 AMAZON_LINUX_2 days=0 owned=true", "orgpatch-windows WINDOWS days= owned=false", "team-al2 AMAZON_LINUX_2 days= owned=false"},
		Defaults:  map[string]string{"AMAZON_LINUX_2": "orgpatch-amazon-linux-2", "WINDOWS": "AWS", "UBUNTU": "AWS"},
		Groups:    map[string]string{"web AMAZON_LINUX_2": "team-al2"},
	}
	if diff := cmp.Diff(want, h.baselines()); diff != "" {
		t.Errorf("after (-want +got):\n%s", diff)
	}
	// RemoveAndReset leaves theirs alone too.
	if _, err := h.run(reconcile.RemoveAndReset, cfg); err != nil {
		t.Fatal(err)
	}
	want.Baselines = []string{"orgpatch-windows WINDOWS days= owned=false", "team-al2 AMAZON_LINUX_2 days= owned=false"}
	want.Defaults["AMAZON_LINUX_2"] = "AWS"
	if diff := cmp.Diff(want, h.baselines()); diff != "" {
		t.Errorf("after teardown (-want +got):\n%s", diff)
	}
}

// TestBaselineTeardown: teardown leaves AWS's predefined baselines as the
// defaults and no baseline orgpatch owns.
func TestBaselineTeardown(t *testing.T) {
	h := newHarness(t)
	cfg := ringConfig(t, "dev")
	h.mustRun(reconcile.Converge, cfg)
	h.mustRun(reconcile.RemoveAndReset, cfg)
	if diff := cmp.Diff(awsDefaults, h.baselines()); diff != "" {
		t.Errorf("after teardown (-want +got):\n%s", diff)
	}
	if _, writes := h.mustRun(reconcile.RemoveAndReset, cfg); writes != 0 {
		t.Errorf("second teardown: %d writes %v, want none", writes, h.writeOps())
	}
}

// TestBaselineCrashThenRerun fails every write after the Nth of a fresh
// converge and of a teardown, for every N, then reruns against a healthy
// service: never a duplicate baseline, never an operating system whose
// default is a baseline that does not exist, and the rerun converges.
func TestBaselineCrashThenRerun(t *testing.T) {
	cfg := ringConfig(t, "dev")
	for _, mode := range []reconcile.Mode{reconcile.Converge, reconcile.RemoveAndReset} {
		for n := 1; n <= baselineWrites; n++ {
			t.Run(fmt.Sprintf("%s after %d writes", mode, n), func(t *testing.T) {
				h := newHarness(t)
				cfg := cfg
				cfg.Windows, cfg.ManageDHMC = nil, false // the baselines' writes only
				if mode == reconcile.RemoveAndReset {
					h.mustRun(reconcile.Converge, cfg)
				}
				h.env.Server.FailAfterWrites(h.env.Server.Writes() + n)
				_, err := h.run(mode, cfg)
				if n < baselineWrites && err == nil {
					t.Errorf("crashed run: no error")
				}
				h.checkBaselineInvariants()
				h.env.Server.FailAfterWrites(-1)
				h.mustRun(mode, cfg)
				want := convergedBaselines("0")
				if mode == reconcile.RemoveAndReset {
					want = awsDefaults
				}
				if diff := cmp.Diff(want, h.baselines()); diff != "" {
					t.Errorf("after the rerun (-want +got):\n%s", diff)
				}
				if _, writes := h.mustRun(mode, cfg); writes != 0 {
					t.Errorf("run after: %d writes %v, want none", writes, h.writeOps())
				}
			})
		}
	}
}

func (h *harness) checkBaselineInvariants() {
	h.t.Helper()
	st := h.baselines()
	seen := map[string]bool{}
	for _, b := range st.Baselines {
		name, _, _ := strings.Cut(b, " ")
		if seen[name] {
			h.t.Errorf("baseline %s twice: %v", name, st.Baselines)
		}
		seen[name] = true
	}
	for os, d := range st.Defaults {
		if strings.HasPrefix(d, "missing") {
			h.t.Errorf("%s's default is a baseline that does not exist: %s", os, d)
		}
	}
}

// TestBaselineAdoptedAfterLostCreate: a baseline whose creation answer was
// lost carries the ownership tag, so the next run adopts it.
func TestBaselineAdoptedAfterLostCreate(t *testing.T) {
	h := newHarness(t)
	cfg := ringConfig(t, "dev")
	cfg.Windows = nil
	_, err := reconcile.Reconcile(context.Background(), reconcile.Clients{loseBaselineCreate{h.client}}, reconcile.Input{
		Account: account, Region: region, Partition: "aws", Config: cfg, Mode: reconcile.Converge, Documents: h.docs,
	})
	if err == nil || !strings.HasPrefix(err.Error(), "create patch baseline orgpatch-amazon-linux-2: ") {
		t.Fatalf("err = %v, want the lost create", err)
	}
	h.mustRun(reconcile.Converge, cfg)
	creates := 0
	for _, op := range h.writeOps() {
		if op == "CreatePatchBaseline" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("rerun made %d baselines %v, want the one the lost run had not made", creates, h.writeOps())
	}
	if diff := cmp.Diff(convergedBaselines("0"), h.baselines()); diff != "" {
		t.Errorf("after the rerun (-want +got):\n%s", diff)
	}
}

// loseBaselineCreate creates the first baseline and then answers as if the
// answer was lost.
type loseBaselineCreate struct{ *ssm.Client }

func (l loseBaselineCreate) CreatePatchBaseline(ctx context.Context, in *ssm.CreatePatchBaselineInput, opts ...func(*ssm.Options)) (*ssm.CreatePatchBaselineOutput, error) {
	if _, err := l.Client.CreatePatchBaseline(ctx, in, opts...); err != nil {
		return nil, err
	}
	return nil, &smithy.GenericAPIError{Code: "RequestTimeout", Message: "the answer was lost"}
}

// TestBaselineOutOfBandFieldsAreDrift: an alternative patch source pointing
// at an outside repository, or Windows' available security updates marked
// compliant, set on orgpatch's baseline outside orgpatch, is planned as a
// change, removed by one update, and the next run writes nothing. A source
// the configuration lists is written and kept.
func TestBaselineOutOfBandFieldsAreDrift(t *testing.T) {
	ctx := context.Background()
	outside := []types.PatchSource{{Name: aws.String("outside-repo"), Products: []string{"AmazonLinux2"},
		Configuration: aws.String("[outside]\nname=outside\nbaseurl=https://repo.example.net/\nenabled=1")}}
	tests := map[string]struct {
		baseline  string
		tamper    ssm.UpdatePatchBaselineInput
		wantField reconcile.Field
	}{
		"sources": {baseline: "orgpatch-amazon-linux-2", tamper: ssm.UpdatePatchBaselineInput{Sources: outside}, wantField: reconcile.BaselineSources},
		"available security updates compliant": {baseline: "orgpatch-windows",
			tamper: ssm.UpdatePatchBaselineInput{AvailableSecurityUpdatesComplianceStatus: types.PatchComplianceStatusCompliant}, wantField: reconcile.BaselineAvailableSecurity},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			cfg := ringConfig(t, "dev")
			h.mustRun(reconcile.Converge, cfg)
			id := h.idOf(tc.baseline)
			tamper := tc.tamper
			tamper.BaselineId = aws.String(id)
			must(h.client.UpdatePatchBaseline(ctx, &tamper))(t)

			res, writes := h.mustRun(reconcile.Converge, cfg)
			if writes != 1 {
				t.Errorf("converge after tampering: %d writes %v, want 1", writes, h.writeOps())
			}
			i := slices.IndexFunc(res.Actions, func(a reconcile.Action) bool { return a.Op == reconcile.OpUpdate && a.Name == tc.baseline })
			if i < 0 || len(res.Actions[i].Changes) != 1 || res.Actions[i].Changes[0].Field != tc.wantField {
				t.Fatalf("actions %v, want one update of %s changing %s", res.Actions, tc.baseline, tc.wantField)
			}
			got := must(h.client.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: aws.String(id)}))(t)
			if len(got.Sources) != 0 || got.AvailableSecurityUpdatesComplianceStatus != "" {
				t.Errorf("after converge: sources %v, available security updates %q, want none", got.Sources, got.AvailableSecurityUpdatesComplianceStatus)
			}
			if diff := cmp.Diff(convergedBaselines("0"), h.baselines()); diff != "" {
				t.Errorf("baselines (-want +got):\n%s", diff)
			}
			if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
				t.Errorf("next run: %d writes %v, want none", writes, h.writeOps())
			}
		})
	}

	t.Run("configured source", func(t *testing.T) {
		h := newHarness(t)
		cfg := ringConfig(t, "dev")
		for i := range cfg.Baselines {
			if cfg.Baselines[i].Name == "orgpatch-amazon-linux-2" {
				cfg.Baselines[i].Sources = []config.PatchSource{{Name: "mirror", Products: []string{"AmazonLinux2"}, Configuration: "[mirror]\nbaseurl=https://mirror.example.com/\nenabled=1"}}
			}
		}
		h.mustRun(reconcile.Converge, cfg)
		got := must(h.client.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: aws.String(h.idOf("orgpatch-amazon-linux-2"))}))(t)
		if len(got.Sources) != 1 || aws.ToString(got.Sources[0].Name) != "mirror" {
			t.Errorf("sources %v, want the configured mirror", got.Sources)
		}
		if _, writes := h.mustRun(reconcile.Converge, cfg); writes != 0 {
			t.Errorf("next run: %d writes %v, want none", writes, h.writeOps())
		}
	})
}

func (h *harness) idOf(name string) string {
	h.t.Helper()
	for _, b := range h.env.Server.SSM().Baselines(account, region) {
		if b.Name == name {
			return b.ID
		}
	}
	h.t.Fatalf("no baseline %s", name)
	return ""
}
