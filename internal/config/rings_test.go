package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readRingsExample(t *testing.T) Config {
	t.Helper()
	data, err := os.ReadFile("../../testdata/rings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(data)
	if err != nil {
		t.Fatalf("testdata/rings.yaml: %v", err)
	}
	return c
}

// TestRingsExample reads testdata/rings.yaml and checks what each ring's
// accounts converge to: dev approves at once and installs on the second
// Tuesday plus a day, prod approves after 7 days a week later, and both
// keep every other window and setting of the configuration.
func TestRingsExample(t *testing.T) {
	c := readRingsExample(t)
	if diff := cmp.Diff([]string{"dev", "prod"}, c.RingNames()); diff != "" {
		t.Fatalf("rings (-want +got):\n%s", diff)
	}
	type view struct {
		Days      []int32
		Schedule  string
		Offset    int32
		Operation string
		Windows   []string
		Defaults  []string
	}
	see := func(c Config) view {
		v := view{Windows: c.WindowNames(), Defaults: DefaultOperatingSystems(c.Baselines)}
		for _, b := range c.Baselines {
			for _, r := range b.ApprovalRules {
				v.Days = append(v.Days, *r.ApproveAfterDays)
			}
		}
		for _, w := range c.Windows {
			if w.Name == "sra_linux_maintenance" {
				v.Schedule, v.Offset, v.Operation = w.Schedule, w.ScheduleOffset, w.Task.Operation
			}
		}
		return v
	}
	windows := Default().WindowNames()
	defaults := []string{"AMAZON_LINUX_2", "WINDOWS"}
	for ring, want := range map[string]view{
		"":     {Days: []int32{7, 7}, Schedule: "cron(0 0 1 ? * FRI *)", Operation: OperationScan, Windows: windows, Defaults: defaults},
		"dev":  {Days: []int32{0, 0}, Schedule: "cron(0 2 ? * TUE#2 *)", Offset: 1, Operation: OperationInstall, Windows: windows, Defaults: defaults},
		"prod": {Days: []int32{7, 7}, Schedule: "cron(0 2 ? * TUE#3 *)", Offset: 1, Operation: OperationInstall, Windows: windows, Defaults: defaults},
	} {
		eff, ok := c.ForRing(ring)
		if !ok {
			t.Fatalf("ForRing(%q): no such ring", ring)
		}
		if diff := cmp.Diff(want, see(eff)); diff != "" {
			t.Errorf("ring %q (-want +got):\n%s", ring, diff)
		}
		if eff.Rings != nil {
			t.Errorf("ring %q: the effective configuration still has rings", ring)
		}
		if err := eff.Validate(); err != nil {
			t.Errorf("ring %q: the effective configuration is invalid: %v", ring, err)
		}
	}
	if _, ok := c.ForRing("staging"); ok {
		t.Error("ForRing(staging) found a ring the file does not have")
	}
	// The effective configurations share nothing with c.
	dev, _ := c.ForRing("dev")
	*dev.Baselines[0].ApprovalRules[0].ApproveAfterDays = 99
	dev.Windows[0].Target.TagValues[0] = "changed"
	if d := *c.Baselines[0].ApprovalRules[0].ApproveAfterDays; d != 7 || c.Windows[0].Target.TagValues[0] == "changed" {
		t.Errorf("changing the dev ring's configuration changed the file's (approve after %d days)", d)
	}
}

// TestRingsCanonicalJSON: JSON gives the same bytes for the same
// configuration and Decode reads them back unchanged, rings and baselines
// included.
func TestRingsCanonicalJSON(t *testing.T) {
	c := readRingsExample(t)
	b1, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b1)
	if err != nil {
		t.Fatalf("Decode(JSON()): %v", err)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("Decode(JSON()) (-want +got):\n%s", diff)
	}
	b2, _ := back.JSON()
	if string(b1) != string(b2) {
		t.Errorf("JSON is not canonical:\n%s\n%s", b1, b2)
	}
}

// TestRingWindowsTakeDefaults: a ring's own window list starts from the
// per-window defaults, like the configuration's.
func TestRingWindowsTakeDefaults(t *testing.T) {
	c, err := Decode([]byte(`
rings:
  - name: canary
    select: {accounts: ["222222222222"]}
    windows:
      - name: canary-install
        schedule: cron(0 2 ? * TUE#2 *)
        target: {name: canary-hosts, tagKey: Canary, tagValues: ["yes"]}
        task: {name: canary-install, document: AWS-RunPatchBaseline, operation: Install}
`))
	if err != nil {
		t.Fatal(err)
	}
	eff, _ := c.ForRing("canary")
	w := eff.Windows[0]
	if len(eff.Windows) != 1 || w.ScheduleTimezone != DefaultTimezone || w.DurationHours != DefaultDurationHours || w.Task.MaxConcurrency != DefaultMaxConcurrency {
		t.Errorf("canary ring windows: %+v; want its one window with the per-window defaults", eff.Windows)
	}
}

// TestBadBaselinesAndRings: every problem of a bad file is named at once,
// with the field and what is allowed, before anything else happens.
func TestBadBaselinesAndRings(t *testing.T) {
	_, err := Decode([]byte(`
baselines:
  - name: bad-os
    operatingSystem: WINDOWS_95
  - name: linux
    operatingSystem: AMAZON_LINUX_2
    default: true
    patchGroups: [web, web]
    globalFilters: [{key: MSRC_SEVERITY, values: [Critical]}]
    approvalRules:
      - filters: [{key: CLASSIFICATION, values: [Security]}]
        approveAfterDays: 7
        approveUntilDate: "2026-01-01"
      - filters: [{key: SEVERITY, values: [Critical]}]
      - filters: [{key: SEVERITY, values: [Critical]}]
        approveUntilDate: "2026-13-40"
        complianceLevel: SEVERE
  - name: linux-too
    operatingSystem: AMAZON_LINUX_2
    default: true
    patchGroups: [web]
    approvalRules: [{filters: [{key: PRODUCT, values: ["*"]}], approveAfterDays: 400}]
    sources: [{name: x, products: [], configuration: ""}]
rings:
  - name: dev
    select: {}
    approveAfterDays: -1
    windowOverrides:
      - {window: no-such-window, schedule: "cron(0 2 ? * TUE *)"}
      - {window: sra_linux_maintenance, schedule: "rate(7 days)", scheduleOffset: 2, operation: Patch}
    baselines:
      - {name: a-win, operatingSystem: WINDOWS, default: true, approvalRules: [{filters: [{key: PRODUCT, values: ["*"]}], approveAfterDays: 0}],
         availableSecurityUpdatesComplianceStatus: MAYBE, sources: [{name: mirror, products: [WindowsServer2022], configuration: "[m]"}]}
      - {name: b-win, operatingSystem: WINDOWS, default: true, approvalRules: [{filters: [{key: PRODUCT, values: ["*"]}], approveAfterDays: 0}]}
  - name: dev
    select: {ous: [ou-bad], accounts: ["12345"], tags: [{key: ""}]}
`))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Decode: %v, want a *ValidationError", err)
	}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.Field)
	}
	want := []string{
		"baselines[0].operatingSystem",
		"baselines[1].globalFilters[0].key",
		"baselines[1].approvalRules[0]",
		"baselines[1].approvalRules[1]",
		"baselines[1].approvalRules[2].complianceLevel",
		"baselines[1].approvalRules[2].approveUntilDate",
		"baselines[1].patchGroups[1]",
		"baselines[2].approvalRules[0].approveAfterDays",
		"baselines[2].sources[0].name",
		"baselines[2].sources[0].products",
		"baselines[2].sources[0].configuration",
		"baselines[2].default",
		"baselines[2].patchGroups[0]",
		"rings[0].select",
		"rings[0].baselines[0].availableSecurityUpdatesComplianceStatus",
		"rings[0].baselines[0].sources",
		"rings[0].baselines[1].default",
		"rings[0].approveAfterDays",
		"rings[0].windowOverrides[0].window",
		"rings[0].windowOverrides[1].scheduleOffset",
		"rings[0].windowOverrides[1].operation",
		"rings[1].name",
		"rings[1].select.ous[0]",
		"rings[1].select.accounts[0]",
		"rings[1].select.tags[0].key",
		"rings[1].select.tags",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields named (-want +got):\n%s\n%v", diff, err)
	}
	for _, needle := range []string{
		`"WINDOWS_95": is not one of WINDOWS, AMAZON_LINUX`,
		`"MSRC_SEVERITY": is not a filter key AMAZON_LINUX_2 takes; it takes CLASSIFICATION, PRODUCT, SEVERITY`,
		"sets both approveAfterDays and approveUntilDate",
		"baselines[1] is already the default for AMAZON_LINUX_2",
		"is also registered with baselines[1] for AMAZON_LINUX_2",
		"applies to Linux baselines only, not WINDOWS",
		"selects accounts by tag, so whoever may tag accounts in Organizations can move an account between rings; set ringsByTag: true",
		`"MAYBE": is not one of COMPLIANT, NON_COMPLIANT`,
		"is not a window of this ring; its windows are sra_ssm_agent_update, sra_windows_maintenance, sra_linux_maintenance",
	} {
		if !strings.Contains(err.Error(), needle) {
			t.Errorf("the error does not say %q:\n%v", needle, err)
		}
	}
}

// TestRingsByTagIsExplicit: a ring selecting by tag needs ringsByTag, and
// ringsByTag needs a ring that selects by tag; both are named up front.
func TestRingsByTagIsExplicit(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml, wantField string
	}{
		"tag without the choice":   {yaml: "rings: [{name: dev, select: {tags: [{key: ring, values: [dev]}]}}]", wantField: "rings[0].select.tags"},
		"the choice without a tag": {yaml: "ringsByTag: true\nrings: [{name: dev, select: {ous: [ou-ab12-cd34ef56]}}]", wantField: "ringsByTag"},
		"both":                     {yaml: "ringsByTag: true\nrings: [{name: dev, select: {tags: [{key: ring, values: [dev]}]}}]"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(tc.yaml))
			var ve *ValidationError
			switch {
			case tc.wantField == "" && err != nil:
				t.Fatalf("Decode: %v, want it accepted", err)
			case tc.wantField == "":
			case !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != tc.wantField:
				t.Errorf("Decode: %v, want one problem at %s", err, tc.wantField)
			}
		})
	}
}
