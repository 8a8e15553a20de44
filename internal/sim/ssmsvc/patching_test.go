package ssmsvc

import (
	"testing"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

func TestApprovalRules(t *testing.T) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	days := func(n int32) *int32 { return &n }
	rel := func(id, class, sev string, released time.Time) nodes.Release {
		return nodes.Release{ID: id, Name: id, OS: "AMAZON_LINUX_2023", Product: "AmazonLinux2023", Classification: class, Severity: sev, Released: released}
	}
	security := PatchFilterGroup{PatchFilters: []PatchFilter{{Key: "CLASSIFICATION", Values: []string{"Security"}}}}
	after7 := &Baseline{OperatingSystem: "AMAZON_LINUX_2023", RejectedPatchesAction: "ALLOW_AS_DEPENDENCY",
		ApprovalRules: &PatchRuleGroup{PatchRules: []PatchRule{{PatchFilterGroup: security, ApproveAfterDays: days(7), ComplianceLevel: "HIGH"}}}}
	until := &Baseline{OperatingSystem: "AMAZON_LINUX_2023",
		ApprovalRules: &PatchRuleGroup{PatchRules: []PatchRule{{PatchFilterGroup: security, ApproveUntilDate: "2026-03-05"}}}}
	listed := &Baseline{OperatingSystem: "AMAZON_LINUX_2023", ApprovedPatches: []string{"curl", "openssl"}, ApprovedPatchesComplianceLevel: "CRITICAL",
		RejectedPatches: []string{"openssl"}, RejectedPatchesAction: "BLOCK",
		ApprovalRules: &PatchRuleGroup{PatchRules: []PatchRule{{PatchFilterGroup: security, ApproveAfterDays: days(0)}}}}
	for _, tc := range []struct {
		name      string
		b         *Baseline
		r         nodes.Release
		want      bool
		wantLevel string
	}{
		{"8 days under ApproveAfterDays 7", after7, rel("a", "Security", "Critical", at.AddDate(0, 0, -8)), true, "HIGH"},
		{"exactly 7 days", after7, rel("a", "Security", "Critical", at.AddDate(0, 0, -7)), true, "HIGH"},
		{"6 days under ApproveAfterDays 7", after7, rel("a", "Security", "Critical", at.AddDate(0, 0, -6)), false, ""},
		{"a bug fix the rule does not select", after7, rel("a", "Bugfix", "None", at.AddDate(0, 0, -30)), false, ""},
		{"released on ApproveUntilDate (late that day)", until, rel("a", "Security", "Low", time.Date(2026, 3, 5, 23, 59, 0, 0, time.UTC)), true, "UNSPECIFIED"},
		{"released the day after ApproveUntilDate", until, rel("a", "Security", "Low", time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)), false, ""},
		{"in ApprovedPatches though no rule selects it", listed, rel("curl", "Enhancement", "None", at.AddDate(0, 0, -1)), true, "CRITICAL"},
		{"approved and rejected: rejected wins", listed, rel("openssl", "Security", "Critical", at.AddDate(0, 0, -1)), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, level := Approval(tc.b, tc.r, at)
			if got != tc.want || level != tc.wantLevel {
				t.Errorf("Approval = %v, %q; want %v, %q", got, level, tc.want, tc.wantLevel)
			}
		})
	}
}

// A scan reports approved missing patches MISSING and installed ones by
// whether the baseline approves or rejects them; an install installs the
// approved missing ones, pending a reboot with NoReboot, or fails them.
func TestPatchRunStates(t *testing.T) {
	at := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	rel := func(id string, ago int) nodes.Release {
		return nodes.Release{ID: id, Name: id, OS: "AMAZON_LINUX_2023", Product: "AmazonLinux2023", Classification: "Security", Severity: "Critical", Released: at.AddDate(0, 0, -ago)}
	}
	releases := []nodes.Release{rel("old", 200), rel("blocked-old", 150), rel("fresh", 2), rel("due", 10), rel("blocked", 10)}
	b := &Baseline{ID: "pb-0123456789abcdef0", OperatingSystem: "AMAZON_LINUX_2023", RejectedPatches: []string{"blocked", "blocked-old"}, RejectedPatchesAction: "BLOCK",
		ApprovalRules: &PatchRuleGroup{PatchRules: []PatchRule{{PatchFilterGroup: PatchFilterGroup{}, ApproveAfterDays: func() *int32 { n := int32(7); return &n }(), ComplianceLevel: "MEDIUM"}}}}
	n := nodes.Node{ID: "i-0123456789abcdef0", Launched: at.AddDate(0, 0, -100)}
	states := func() map[string]string {
		out := map[string]string{}
		for _, p := range n.Patch.Patches {
			out[p.ID] = p.State
		}
		return out
	}
	check := func(step string, want map[string]string) {
		t.Helper()
		got := states()
		if len(got) != len(want) {
			t.Errorf("%s: states %v, want %v", step, got, want)
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: %s is %q, want %q (all: %v)", step, id, got[id], w, got)
			}
		}
	}
	if (patchRun{operation: "Scan", reboot: "RebootIfNeeded", at: at, commandID: "c1"}).apply(&n, b, releases) {
		t.Fatal("a scan failed")
	}
	check("scan", map[string]string{"old": nodes.Installed, "blocked-old": nodes.InstalledRejected, "due": nodes.Missing})
	if n.Patch.ExecutionID != "c1" || !n.Patch.Ended.Equal(at) || n.Patch.BaselineID != b.ID {
		t.Errorf("scan state %+v: want command c1 ended at %s with baseline %s", n.Patch, at, b.ID)
	}
	if !(patchRun{operation: "Install", reboot: "NoReboot", at: at, commandID: "c2", failInstalls: true}).apply(&n, b, releases) {
		t.Error("an install whose failure was injected did not fail")
	}
	check("failed install", map[string]string{"old": nodes.Installed, "blocked-old": nodes.InstalledRejected, "due": nodes.Failed})
	(patchRun{operation: "Install", reboot: "NoReboot", at: at, commandID: "c3"}).apply(&n, b, releases)
	check("install without reboot", map[string]string{"old": nodes.Installed, "blocked-old": nodes.InstalledRejected, "due": nodes.InstalledPendingReboot})
	later := at.AddDate(0, 0, 7)
	(patchRun{operation: "Install", reboot: "RebootIfNeeded", at: later, commandID: "c4"}).apply(&n, b, releases)
	check("install with reboot a week later", map[string]string{"old": nodes.Installed, "blocked-old": nodes.InstalledRejected, "due": nodes.Installed, "fresh": nodes.Installed})
	for _, p := range n.Patch.Patches {
		if p.ID == "due" && (p.ComplianceSeverity != "MEDIUM" || !p.InstalledTime.Equal(at)) {
			t.Errorf("due: severity %s installed %s, want MEDIUM installed %s", p.ComplianceSeverity, p.InstalledTime, at)
		}
	}
}
