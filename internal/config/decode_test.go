package config

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const customJSON = `{
  "windows": [
    {
      "name": "nightly-linux",
      "description": "Linux patching",
      "schedule": "cron(0 2 ? * TUE#2 *)",
      "scheduleOffset": 2,
      "scheduleTimezone": "Europe/Berlin",
      "target": {"name": "linux-hosts", "tagKey": "PatchGroup", "tagValues": ["linux", "2019"]},
      "task": {
        "name": "linux-install",
        "document": "AWS-RunPatchBaseline",
        "operation": "Install",
        "rebootOption": "NoReboot",
        "maxConcurrency": "10%",
        "parameters": {"SnapshotId": ["{{ aws:ORCHESTRATION_ID }}"]}
      }
    }
  ],
  "regions": ["eu-central-1", "eu-west-1"],
  "controlTowerRegionsOnly": false,
  "excludedAccounts": ["123456789012"],
  "disabled": true
}`

// customYAML is customJSON as a person writes YAML: numbers unquoted.
const customYAML = `
# patch Linux only, in Europe
windows:
  - name: nightly-linux
    description: Linux patching
    schedule: cron(0 2 ? * TUE#2 *)
    scheduleOffset: 2
    scheduleTimezone: Europe/Berlin
    target:
      name: linux-hosts
      tagKey: PatchGroup
      tagValues: [linux, 2019]
    task:
      name: linux-install
      document: AWS-RunPatchBaseline
      operation: Install
      rebootOption: NoReboot
      maxConcurrency: 10%
      parameters:
        SnapshotId: ["{{ aws:ORCHESTRATION_ID }}"]
regions: [eu-central-1, eu-west-1]
controlTowerRegionsOnly: false
excludedAccounts: ["123456789012"]
disabled: true
`

func customConfig() Config {
	c := Default()
	c.Windows = []Window{{
		Name:             "nightly-linux",
		Description:      "Linux patching",
		Schedule:         "cron(0 2 ? * TUE#2 *)",
		ScheduleOffset:   2,
		ScheduleTimezone: "Europe/Berlin",
		DurationHours:    6, // the per-window defaults fill what the file leaves out
		CutoffHours:      1,
		Target:           Target{Name: "linux-hosts", TagKey: "PatchGroup", TagValues: []string{"linux", "2019"}},
		Task: Task{
			Name: "linux-install", Document: DocumentRunPatchBaseline,
			Operation: OperationInstall, RebootOption: NoReboot,
			Priority: 1, MaxConcurrency: "10%", MaxErrors: "1", TimeoutSeconds: 3600,
			Parameters: map[string][]string{"SnapshotId": {"{{ aws:ORCHESTRATION_ID }}"}},
		},
	}}
	c.Regions = []string{"eu-central-1", "eu-west-1"}
	c.ControlTowerRegionsOnly = false
	c.ExcludedAccounts = []string{"123456789012"}
	c.Disabled = true
	return c
}

func TestDecode(t *testing.T) {
	withDefaults := func(change func(c *Config)) Config {
		c := Default()
		change(&c)
		return c
	}
	cases := map[string]struct {
		data string
		want Config
	}{
		"JSON":                             {data: customJSON, want: customConfig()},
		"YAML":                             {data: customYAML, want: customConfig()},
		"JSON with a byte order mark":      {data: "\xef\xbb\xbf" + customJSON, want: customConfig()},
		"empty object keeps every default": {data: `{}`, want: Default()},
		"one field, the rest default": {
			data: `{"disabled": true}`,
			want: withDefaults(func(c *Config) { c.Disabled = true }),
		},
		"YAML booleans and role names": {
			data: "manageDHMC: false\ntaskRoleName: my-task-role\n",
			want: withDefaults(func(c *Config) { c.ManageDHMC = false; c.TaskRoleName = "my-task-role" }),
		},
		"empty windows list means no windows": {
			data: `{"windows": []}`,
			want: withDefaults(func(c *Config) { c.Windows = []Window{} }),
		},
		"null windows means no windows": {
			data: "windows: null\n",
			want: withDefaults(func(c *Config) { c.Windows = nil }),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Decode([]byte(tc.data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]struct {
		data string
		want string
	}{
		"unknown top-level field, JSON": {
			data: `{"regionz": ["us-east-1"]}`,
			want: "decode configuration: invalid configuration:\n  regionz: is not a configuration field; allowed here: baselines, configurationRoleName, controlTowerRegionsOnly, dhmcRoleName, disabled, excludedAccounts, excludedOUs, manageDHMC, regions, rings, ringsByTag, taskRoleName, windows",
		},
		"unknown nested fields, YAML, all at once": {
			data: "windows:\n  - name: abc\n    cron: x\n    task: {name: t, timeout: 5}\n",
			want: "decode configuration: invalid configuration: 2 problems:\n" +
				"  windows[0].cron: is not a configuration field; allowed here: cutoffHours, description, durationHours, name, schedule, scheduleOffset, scheduleTimezone, target, task\n" +
				"  windows[0].task.timeout: is not a configuration field; allowed here: cloudWatchLogGroupName, description, document, maxConcurrency, maxErrors, name, notificationArn, notificationEvents, notificationType, operation, outputS3Bucket, outputS3KeyPrefix, parameters, priority, rebootOption, timeoutSeconds",
		},
		"wrong type at the top": {
			data: `{"disabled": "yes"}`,
			want: "decode configuration: disabled: is a string; want true or false",
		},
		"wrong type in a window": {
			data: `{"windows": [{"durationHours": "six"}]}`,
			want: "decode configuration: windows[0].durationHours: is a string; want a whole number",
		},
		"fraction for a whole number": {
			data: "windows:\n  - durationHours: 1.5\n",
			want: "decode configuration: windows[0].durationHours: is the number 1.5; want a whole number",
		},
		"number out of range": {
			data: `{"windows": [{"task": {"priority": 99999999999}}]}`,
			want: "decode configuration: windows[0].task.priority: 99999999999 is out of range",
		},
		"string for a list": {
			data: `{"regions": "us-east-1"}`,
			want: "decode configuration: regions: is a string; want a list",
		},
		"number in a JSON string list": {
			data: `{"windows": [{"target": {"tagValues": [1]}}]}`,
			want: "decode configuration: windows[0].target.tagValues: is a number; want a string",
		},
		"YAML key not a string": {
			data: "windows:\n  - {1: x}\n",
			want: "decode configuration YAML: windows[0]: key 1 is not a string",
		},
		"windows not a list": {
			data: `{"windows": {"name": "x"}}`,
			want: "decode configuration: windows is an object; want a list",
		},
		"not an object": {
			data: "- a\n- b\n",
			want: "decode configuration: the document is a list; want an object",
		},
		"empty": {
			data: "",
			want: "decode configuration: the document is empty; want an object",
		},
		"broken JSON": {
			data: `{"disabled": true,}`,
			want: "decode configuration JSON: invalid character '}' looking for beginning of object key string",
		},
		"JSON followed by more": {
			data: `{} {}`,
			want: "decode configuration JSON: data after the object",
		},
		"broken YAML": {
			data: "windows: [\n",
			want: "decode configuration YAML: yaml: line 1: did not find expected node content",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Decode([]byte(tc.data))
			if err == nil {
				t.Fatalf("Decode = %+v; want error %q", got, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Decode error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestDecodeValidates(t *testing.T) {
	_, err := Decode([]byte("windows:\n  - name: x\n"))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Decode = %v; want a *ValidationError", err)
	}
	want := []FieldError{
		{"windows[0].name", "x", "is not 3-128 letters, digits, _ - or ."},
		{"windows[0].schedule", "", "is required: cron(...), rate(...) or at(...)"},
		{"windows[0].target.name", "", "is required: 3-128 letters, digits, _ - or ."},
		{"windows[0].target.tagKey", "", "is required: the tag key instances are selected by, like InstanceOS"},
		{"windows[0].target.tagValues", "", "is required: 1-50 tag values, like [Linux, Windows]"},
		{"windows[0].task.name", "", "is required: 3-128 letters, digits, _ - or ."},
		{"windows[0].task.document", "", "is not one of AWS-RunPatchBaseline, AWS-UpdateSSMAgent"},
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestJSONRoundTrips(t *testing.T) {
	everything := customConfig()
	everything.Windows[0].Task.OutputS3Bucket = "logs-bucket"
	everything.Windows[0].Task.OutputS3KeyPrefix = "orgpatch/"
	everything.Windows[0].Task.CloudWatchLogGroupName = "/orgpatch/tasks"
	everything.Windows[0].Task.NotificationARN = "arn:aws:sns:eu-west-1:123456789012:patching"
	everything.Windows[0].Task.NotificationEvents = []string{"Failed"}
	everything.Windows[0].Task.NotificationType = "Command"
	everything.Windows[0].Task.Priority = 0
	everything.Windows[0].CutoffHours = 0
	everything.Windows[0].ScheduleTimezone = "UTC"
	everything.Windows[0].Task.MaxErrors = "0"
	everything.ExcludedOUs = []string{"ou-ab12-cd34ef56"}
	everything.ManageDHMC = false
	everything.DHMCRoleName = ""

	noWindows := Default()
	noWindows.Windows = nil

	cases := map[string]Config{
		"default":          Default(),
		"every field set":  everything,
		"no windows":       noWindows,
		"zero values kept": func() Config { c := Default(); c.ControlTowerRegionsOnly = false; return c }(),
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Fatalf("the case is not valid: %v", err)
			}
			b, err := c.JSON()
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			again, err := c.JSON()
			if err != nil || !bytes.Equal(b, again) {
				t.Errorf("JSON is not stable:\n%s\n%s", b, again)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(JSON()): %v\n%s", err, b)
			}
			if diff := cmp.Diff(c, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decode(JSON()) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONIsCanonical(t *testing.T) {
	c := Default()
	c.Windows = c.Windows[1:2]
	c.Windows[0].Task.Parameters = map[string][]string{"b": {"2"}, "a": {"1"}}
	b, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"windows":[{"name":"sra_windows_maintenance","description":"Maintenance Window to scan Windows Instances","schedule":"cron(0 0 1 ? * THU *)","scheduleTimezone":"America/New_York","durationHours":6,"cutoffHours":1,"target":{"name":"Update_Windows","description":"Targets To Scan For Windows Updates On Managed Instances","tagKey":"InstanceOS","tagValues":["Windows"]},"task":{"name":"Windows_Scan","description":"Task To Scan For Patches On Managed Windows Instances","document":"AWS-RunPatchBaseline","operation":"Scan","rebootOption":"RebootIfNeeded","priority":1,"maxConcurrency":"100","maxErrors":"1","timeoutSeconds":3600,"parameters":{"a":["1"],"b":["2"]}}}],"configurationRoleName":"sra-patch-mgmt-configuration","taskRoleName":"sra-patch-mgmt-automation","dhmcRoleName":"service-role/AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom","manageDHMC":true,"controlTowerRegionsOnly":true,"disabled":false}`
	if string(b) != want {
		t.Errorf("JSON():\n%s\nwant:\n%s", b, want)
	}
}
