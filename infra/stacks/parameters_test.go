package stacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
)

// oneInstallWindow is a configuration file that differs from every
// parameter's SRA default: one window, Tuesdays, installing without
// reboots, in two named regions.
const oneInstallWindow = `
regions: [eu-west-1, us-east-1]
controlTowerRegionsOnly: false
windows:
  - name: weekly_install
    schedule: cron(0 0 2 ? * TUE *)
    target: {name: all_linux, tagKey: InstanceOS, tagValues: [Linux]}
    task: {name: install_linux, document: AWS-RunPatchBaseline, operation: Install, rebootOption: NoReboot}
`

// writeConfigFile writes a configuration file and returns its path.
func writeConfigFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orgpatch.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildWithConfig synthesizes the app with body as its configFile and
// returns it with the configuration the file decodes to.
func buildWithConfig(t *testing.T, body string) (*built, config.Config) {
	t.Helper()
	path := writeConfigFile(t, body)
	conf, err := LoadConfiguration(path)
	if err != nil {
		t.Fatalf("LoadConfiguration: %v", err)
	}
	want, err := config.Decode([]byte(body))
	if err != nil {
		t.Fatalf("the test's configuration does not decode: %v", err)
	}
	return build(t, "eu-west-1", func(s *Settings) { s.Configuration = conf }), want
}

// overriding are the parameters whose values the custom resource applies
// on top of the configuration.
var overriding = []string{
	"DisablePatchManagement", "Operation", "RebootOption",
	"AgentUpdateSchedule", "WindowsPatchSchedule", "LinuxPatchSchedule",
	"EnabledRegions", "ControlTowerRegionsOnly",
}

func TestConfigFileGivesParameterDefaults(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		// defaults of the overriding parameters that exist
		defaults map[string]string
		// the properties that reference a parameter, and which
		refs map[string]string
		// substrings of parameter descriptions
		descriptions map[string][]string
	}{
		"one window installing on Tuesdays": {
			file: oneInstallWindow,
			defaults: map[string]string{
				"DisablePatchManagement":  "false",
				"Operation":               "Install",
				"RebootOption":            "NoReboot",
				"AgentUpdateSchedule":     "cron(0 0 2 ? * TUE *)",
				"EnabledRegions":          "eu-west-1,us-east-1",
				"ControlTowerRegionsOnly": "false",
			},
			refs: map[string]string{
				"Disabled":                "DisablePatchManagement",
				"Operation":               "Operation",
				"RebootOption":            "RebootOption",
				"Window1Schedule":         "AgentUpdateSchedule",
				"Regions":                 "EnabledRegions",
				"ControlTowerRegionsOnly": "ControlTowerRegionsOnly",
			},
			descriptions: map[string][]string{
				"AgentUpdateSchedule": {`window 1, "weekly_install"`},
				"Operation":           {`"weekly_install"`},
				"RebootOption":        {`"weekly_install"`},
			},
		},
		"agent updates only, disabled": {
			file: `
disabled: true
windows:
  - name: agent_update
    schedule: rate(7 days)
    target: {name: everything, tagKey: InstanceOS, tagValues: [Linux, Windows]}
    task: {name: update_agent, document: AWS-UpdateSSMAgent}
`,
			defaults: map[string]string{
				"DisablePatchManagement":  "true",
				"AgentUpdateSchedule":     "rate(7 days)",
				"EnabledRegions":          "",
				"ControlTowerRegionsOnly": "true",
			},
			refs: map[string]string{
				"Disabled":                "DisablePatchManagement",
				"Window1Schedule":         "AgentUpdateSchedule",
				"Regions":                 "EnabledRegions",
				"ControlTowerRegionsOnly": "ControlTowerRegionsOnly",
			},
			descriptions: map[string][]string{
				"AgentUpdateSchedule": {`window 1, "agent_update"`, "AWS-UpdateSSMAgent"},
			},
		},
		"four windows, reboots left to the document": {
			file: `
windows:
  - name: linux_a
    schedule: cron(0 0 3 ? * MON *)
    target: {name: group_a, tagKey: Group, tagValues: [a]}
    task: {name: a_install, document: AWS-RunPatchBaseline, operation: Install}
  - name: linux_b
    schedule: cron(0 0 3 ? * TUE *)
    target: {name: group_b, tagKey: Group, tagValues: [b]}
    task: {name: b_install, document: AWS-RunPatchBaseline, operation: Install}
  - name: linux_c
    schedule: at(2027-01-05T03:00:00)
    target: {name: group_c, tagKey: Group, tagValues: [c]}
    task: {name: c_install, document: AWS-RunPatchBaseline, operation: Install}
  - name: linux_d
    schedule: cron(0 0 3 ? * THU *)
    target: {name: group_d, tagKey: Group, tagValues: [d]}
    task: {name: d_install, document: AWS-RunPatchBaseline, operation: Install}
`,
			defaults: map[string]string{
				"DisablePatchManagement":  "false",
				"Operation":               "Install",
				"AgentUpdateSchedule":     "cron(0 0 3 ? * MON *)",
				"WindowsPatchSchedule":    "cron(0 0 3 ? * TUE *)",
				"LinuxPatchSchedule":      "at(2027-01-05T03:00:00)",
				"EnabledRegions":          "",
				"ControlTowerRegionsOnly": "true",
			},
			refs: map[string]string{
				"Disabled":                "DisablePatchManagement",
				"Operation":               "Operation",
				"Window1Schedule":         "AgentUpdateSchedule",
				"Window2Schedule":         "WindowsPatchSchedule",
				"Window3Schedule":         "LinuxPatchSchedule",
				"Regions":                 "EnabledRegions",
				"ControlTowerRegionsOnly": "ControlTowerRegionsOnly",
			},
			descriptions: map[string][]string{
				"WindowsPatchSchedule": {`window 2, "linux_b"`},
				"LinuxPatchSchedule":   {`window 3, "linux_c"`},
				"Operation":            {`"linux_a", "linux_b", "linux_c", "linux_d"`},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			b, want := buildWithConfig(t, tc.file)
			params := b.mgmt["Parameters"].(map[string]any)

			defaults := map[string]string{}
			for _, name := range overriding {
				if p, ok := params[name].(map[string]any); ok {
					defaults[name], _ = p["Default"].(string)
				}
			}
			if d := cmp.Diff(tc.defaults, defaults); d != "" {
				t.Errorf("defaults of the parameters that override the file (-want +got):\n%s", d)
			}

			_, cr := only(t, b.mgmt, ConfigurationResourceType, nil)
			refs := map[string]string{}
			for prop, v := range props(cr) {
				m, _ := v.(map[string]any)
				if r, ok := m["Ref"].(string); ok {
					refs[prop] = r
				}
			}
			if d := cmp.Diff(tc.refs, refs); d != "" {
				t.Errorf("properties set from parameters (-want +got):\n%s", d)
			}

			for name, parts := range tc.descriptions {
				desc, _ := params[name].(map[string]any)["Description"].(string)
				for _, part := range parts {
					if !strings.Contains(desc, part) {
						t.Errorf("description of %s %q does not say %s", name, desc, part)
					}
				}
			}

			// A deployment that leaves every parameter alone deploys
			// the file as written.
			resolved := resolveDefaults(t, b.mgmt, props(cr)).(map[string]any)
			resolved["ServiceToken"] = "arn:aws:lambda:eu-west-1:111122223333:function:orgpatch"
			got, err := config.FromProperties(resolved)
			if err != nil {
				t.Fatalf("FromProperties on the template's defaults: %v", err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("the deployed configuration differs from the file (-want +got):\n%s", d)
			}

			// The console's parameter groups name only parameters that exist.
			groups := b.mgmt["Metadata"].(map[string]any)["AWS::CloudFormation::Interface"].(map[string]any)["ParameterGroups"].([]any)
			for _, g := range groups {
				for _, name := range strs(g.(map[string]any)["Parameters"]) {
					if _, ok := params[name]; !ok {
						t.Errorf("parameter group names %s, which is not a parameter", name)
					}
				}
			}
		})
	}
}

func TestPatchTasksThatDisagreeFailSynth(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		errs []string // substrings the error must name
	}{
		"operation": {
			file: `
windows:
  - name: windows_scan
    schedule: cron(0 0 1 ? * THU *)
    target: {name: windows, tagKey: InstanceOS, tagValues: [Windows]}
    task: {name: windows_scan, document: AWS-RunPatchBaseline, operation: Scan}
  - name: linux_install
    schedule: cron(0 0 1 ? * FRI *)
    target: {name: linux, tagKey: InstanceOS, tagValues: [Linux]}
    task: {name: linux_install, document: AWS-RunPatchBaseline, operation: Install}
`,
			errs: []string{"configFile", "disagree on operation", `window "windows_scan": Scan`, `window "linux_install": Install`, "Operation parameter"},
		},
		"rebootOption set on one task only": {
			file: `
windows:
  - name: windows_install
    schedule: cron(0 0 1 ? * THU *)
    target: {name: windows, tagKey: InstanceOS, tagValues: [Windows]}
    task: {name: windows_install, document: AWS-RunPatchBaseline, operation: Install, rebootOption: NoReboot}
  - name: linux_install
    schedule: cron(0 0 1 ? * FRI *)
    target: {name: linux, tagKey: InstanceOS, tagValues: [Linux]}
    task: {name: linux_install, document: AWS-RunPatchBaseline, operation: Install}
`,
			errs: []string{"disagree on rebootOption", `window "windows_install": NoReboot`, `window "linux_install": not set`, "RebootOption parameter"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeConfigFile(t, tc.file)
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error, want one naming %v", what, tc.errs)
				}
				for _, e := range tc.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("%s: error %q does not name %q", what, err, e)
					}
				}
			}

			// `cdk synth` with the file in the context.
			ctx := map[string]any{"homeRegion": "eu-west-1", "configFile": path}
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
			_, err := SettingsFromContext(app)
			check("SettingsFromContext", err)

			// NewApp refuses such settings however they were made.
			conf, err := LoadConfiguration(path)
			if err != nil {
				t.Fatalf("LoadConfiguration: %v", err)
			}
			s := DefaultSettings()
			s.HomeRegion, s.Configuration = "eu-west-1", conf
			_, err = NewApp(awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())}), AppProps{Settings: s, CodeDir: codeDir})
			check("NewApp", err)
		})
	}
}

// TestConfigFileCarriesRingsAndBaselines: a configFile's rings and
// baselines reach the Configuration property unchanged, so the Lambda
// converges each ring's accounts to them.
func TestConfigFileCarriesRingsAndBaselines(t *testing.T) {
	conf, err := LoadConfiguration("../../testdata/rings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Decode([]byte(conf))
	if err != nil {
		t.Fatalf("the Configuration property does not decode: %v", err)
	}
	if diff := cmp.Diff([]string{"dev", "prod"}, got.RingNames()); diff != "" {
		t.Errorf("rings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"orgpatch-amazon-linux-2", "orgpatch-windows"}, config.BaselineNames(got.Baselines)); diff != "" {
		t.Errorf("baselines (-want +got):\n%s", diff)
	}
}
