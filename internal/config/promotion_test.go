package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// promotionExample is testdata/rings.yaml with a third ring, test, that
// prod follows, and test following dev.
func promotionExample(t *testing.T) Config {
	t.Helper()
	c := readRingsExample(t)
	pct := func(v float64) *float64 { return &v }
	test := Ring{Name: "test", Select: Selector{Accounts: []string{"333333333333"}},
		Promotion: &Promotion{Follows: "dev", Soak: "72h", Gate: Gate{MinInstalledPercent: pct(95), MaxFailedPercent: pct(2), Alarms: []string{"app-health"}}}}
	c.Rings = []Ring{c.Rings[0], test, c.Rings[1]}
	c.Rings[2].Promotion = &Promotion{Follows: "test", Soak: "24h"}
	return c
}

func TestPromotionValid(t *testing.T) {
	c := promotionExample(t)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Follower("dev"); got != "test" {
		t.Errorf("dev's follower is %q, want test", got)
	}
	if got := c.Follower("prod"); got != "" {
		t.Errorf("prod's follower is %q, want none", got)
	}
	mi, mf, ms := c.Rings[2].Promotion.Gate.Thresholds()
	if mi != 100 || mf != 0 || ms != 0 {
		t.Errorf("unset thresholds are %v %v %v; want the strictest, 100 0 0", mi, mf, ms)
	}
}

func TestPromotionProblems(t *testing.T) {
	cases := map[string]struct {
		change func(c *Config)
		want   []FieldError
	}{
		"follows a later ring": {func(c *Config) { c.Rings[1].Promotion.Follows = "prod" }, []FieldError{
			{"rings[1].promotion.follows", "prod", "comes after this ring (rings[2]); follow an earlier ring: dev"}}},
		"unknown ring": {func(c *Config) { c.Rings[1].Promotion.Follows = "staging" }, []FieldError{
			{"rings[1].promotion.follows", "staging", "is not a ring; follow an earlier ring: dev"}}},
		"self": {func(c *Config) { c.Rings[0].Promotion = &Promotion{Follows: "dev"} }, []FieldError{
			{"rings[0].promotion.follows", "dev", "is this ring itself; follow an earlier ring: none"}}},
		"missing follows": {func(c *Config) { c.Rings[1].Promotion.Follows = "" }, []FieldError{
			{"rings[1].promotion.follows", "", "is required: the earlier ring this ring takes its patches from, one of dev"}}},
		"two followers": {func(c *Config) { c.Rings[2].Promotion.Follows = "dev" }, []FieldError{
			{"rings[2].promotion.follows", "dev", "is already followed by rings[1]; a ring is followed by at most one ring (chain them: dev, test follows dev, prod follows test)"}}},
		"percent 120 and negative": {func(c *Config) {
			v, w := 120.0, -1.0
			c.Rings[1].Promotion.Gate.MinInstalledPercent, c.Rings[1].Promotion.Gate.MaxStalePercent = &v, &w
		}, []FieldError{
			{"rings[1].promotion.gate.minInstalledPercent", "120", "is not a percentage of 0-100"},
			{"rings[1].promotion.gate.maxStalePercent", "-1", "is not a percentage of 0-100"}}},
		"bad alarm names": {func(c *Config) { c.Rings[1].Promotion.Gate.Alarms = []string{"", strings.Repeat("a", 256), "ok"} }, []FieldError{
			{"rings[1].promotion.gate.alarms[0]", "", "is empty"},
			{"rings[1].promotion.gate.alarms[1]", strings.Repeat("a", 256), "is not a CloudWatch alarm name: 1-255 characters, no leading or trailing space"}}},
		"bad soak": {func(c *Config) { c.Rings[1].Promotion.Soak = "3d"; c.Rings[2].Promotion.Soak = "2161h" }, []FieldError{
			{"rings[1].promotion.soak", "3d", "is not a duration of 0h to 2160h, like 72h or 90m"},
			{"rings[2].promotion.soak", "2161h", "is not a duration of 0h to 2160h, like 72h or 90m"}}},
		"bad pin": {func(c *Config) { c.Baselines[0].PromotionPin = "approveAfterDays" }, []FieldError{
			{"baselines[0].promotionPin", "approveAfterDays", "is not one of approveUntilDate, approvedPatches"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := promotionExample(t)
			tc.change(&c)
			err := c.Validate()
			var got []FieldError
			if ve, ok := err.(*ValidationError); ok {
				got = ve.Problems
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPromotionDecode reads promotion settings from YAML, and names a
// field the promotion does not have.
func TestPromotionDecode(t *testing.T) {
	doc := `
baselines:
  - {name: al2, operatingSystem: AMAZON_LINUX_2, default: true, promotionPin: approvedPatches,
     approvalRules: [{filters: [{key: CLASSIFICATION, values: [Security]}], approveAfterDays: 7}]}
rings:
  - {name: dev, select: {accounts: ["111111111111"]}, approveAfterDays: 0}
  - name: prod
    select: {accounts: ["222222222222"]}
    promotion: {follows: dev, soak: 72h, gate: {minInstalledPercent: 95, maxFailedPercent: 2, maxStalePercent: 5, alarms: [app-health]}}
`
	c, err := Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Rings[1].Promotion
	if p == nil || p.Follows != "dev" || p.SoakDuration().Hours() != 72 || *p.Gate.MaxStalePercent != 5 || c.Baselines[0].PromotionPin != PinApprovedPatches {
		t.Fatalf("decoded %+v, pin %q", p, c.Baselines[0].PromotionPin)
	}
	_, err = Decode([]byte(strings.Replace(doc, "soak: 72h", "soakHours: 72", 1)))
	if err == nil || !strings.Contains(err.Error(), "rings[1].promotion.soakHours: is not a configuration field; allowed here: follows, gate, soak") {
		t.Fatalf("soakHours: %v", err)
	}
}

func TestPinRing(t *testing.T) {
	c := promotionExample(t)
	c.Baselines[1].PromotionPin = PinApprovedPatches
	pinned, err := c.PinRing("prod", "2026-11-10", map[string][]string{"WINDOWS": {"KB2", "KB1"}})
	if err != nil {
		t.Fatal(err)
	}
	eff, _ := pinned.ForRing("prod")
	al2, win := eff.Baselines[0], eff.Baselines[1]
	if r := al2.ApprovalRules[0]; r.ApproveAfterDays != nil || r.ApproveUntilDate != "2026-11-10" {
		t.Errorf("prod's Amazon Linux rule: after %v until %q; want until 2026-11-10 only", r.ApproveAfterDays, r.ApproveUntilDate)
	}
	if win.ApprovalRules != nil || !cmp.Equal(win.ApprovedPatches, []string{"KB1", "KB2"}) {
		t.Errorf("prod's Windows baseline: rules %v, approved %v; want no rules, KB1 KB2", win.ApprovalRules, win.ApprovedPatches)
	}
	if err := eff.Validate(); err != nil {
		t.Errorf("pinned configuration: %v", err)
	}
	// c itself and the other rings are untouched.
	devEff, _ := pinned.ForRing("dev")
	if d := devEff.Baselines[0].ApprovalRules[0].ApproveAfterDays; d == nil || *d != 0 {
		t.Errorf("dev's delay became %v", d)
	}
	if d := c.Baselines[0].ApprovalRules[0].ApproveAfterDays; d == nil || *d != 7 || c.Baselines[1].ApprovedPatches != nil {
		t.Errorf("PinRing changed its receiver")
	}

	many := make([]string, 51)
	for i := range many {
		many[i] = "KB" + strings.Repeat("9", i+1)
	}
	if _, err := c.PinRing("prod", "2026-11-10", map[string][]string{"WINDOWS": many}); err == nil ||
		!strings.Contains(err.Error(), "would approve 51 WINDOWS patches; approvedPatches holds at most 50") {
		t.Errorf("51 patches: %v", err)
	}
	if _, err := c.PinRing("prod", "11/10/2026", nil); err == nil {
		t.Error("a cut-off that is no date was pinned")
	}
}
