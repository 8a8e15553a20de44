package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromProperties(t *testing.T) {
	withDefaults := func(change func(c *Config)) Config {
		c := Default()
		change(&c)
		return c
	}
	cases := map[string]struct {
		props map[string]any
		want  Config
	}{
		"no properties at all": {props: nil, want: Default()},
		"nothing but the service token": {
			props: map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:orgpatch"},
			want:  Default(),
		},
		"every override, as CloudFormation sends them": {
			props: map[string]any{
				"ServiceToken":            "arn:aws:lambda:us-east-1:123456789012:function:orgpatch",
				"ServiceTimeout":          "900",
				"Disabled":                "TRUE",
				"Operation":               "Install",
				"RebootOption":            "NoReboot",
				"Regions":                 "us-east-1, eu-west-1",
				"ControlTowerRegionsOnly": "False",
				"ExcludedAccounts":        "111111111111,222222222222",
				"ExcludedOUs":             "ou-ab12-cd34ef56",
				"ConfigurationRoleName":   "cfg-role",
				"TaskRoleName":            "task-role",
				"DHMCRoleName":            "service-role/dhmc-role",
				"Window1Schedule":         "cron(0 3 ? * SUN *)",
				"Window2Schedule":         "rate(7 days)",
				"Window3Schedule":         "cron(0 0 L * ? *)",
			},
			want: withDefaults(func(c *Config) {
				c.Disabled = true
				c.Regions = []string{"us-east-1", "eu-west-1"}
				c.ControlTowerRegionsOnly = false
				c.ExcludedAccounts = []string{"111111111111", "222222222222"}
				c.ExcludedOUs = []string{"ou-ab12-cd34ef56"}
				c.ConfigurationRoleName = "cfg-role"
				c.TaskRoleName = "task-role"
				c.DHMCRoleName = "service-role/dhmc-role"
				c.Windows[0].Schedule = "cron(0 3 ? * SUN *)"
				c.Windows[1].Schedule = "rate(7 days)"
				c.Windows[2].Schedule = "cron(0 0 L * ? *)"
				// Only the AWS-RunPatchBaseline tasks take the operation.
				for _, i := range []int{1, 2} {
					c.Windows[i].Task.Operation = OperationInstall
					c.Windows[i].Task.RebootOption = NoReboot
				}
			}),
		},
		"empty strings leave the defaults; empty lists are empty": {
			props: map[string]any{
				"Operation": "", "RebootOption": "", "ConfigurationRoleName": "",
				"Window1Schedule": "", "Regions": "", "ExcludedAccounts": " ",
			},
			want: Default(),
		},
		"lists as lists of strings": {
			props: map[string]any{
				"Regions":          []any{"us-east-1", "us-west-2"},
				"ExcludedAccounts": []string{"111111111111"},
			},
			want: withDefaults(func(c *Config) {
				c.Regions = []string{"us-east-1", "us-west-2"}
				c.ExcludedAccounts = []string{"111111111111"}
			}),
		},
		"Configuration then overrides on top": {
			props: map[string]any{
				"Configuration":   customJSON,
				"Disabled":        "false",
				"Regions":         "us-east-2",
				"Window1Schedule": "cron(0 4 ? * SAT *)",
				"Operation":       "Scan",
			},
			want: func() Config {
				c := customConfig()
				c.Disabled = false
				c.Regions = []string{"us-east-2"}
				c.Windows[0].Schedule = "cron(0 4 ? * SAT *)"
				c.Windows[0].Task.Operation = OperationScan
				return c
			}(),
		},
		"Configuration in YAML": {
			props: map[string]any{"Configuration": customYAML},
			want:  customConfig(),
		},
		"an override repairs the configuration": {
			props: map[string]any{
				"Configuration":   `{"windows": [{"name": "only-one", "schedule": "cron(bad)", "target": {"name": "tgt", "tagKey": "k", "tagValues": ["v"]}, "task": {"name": "tsk", "document": "AWS-UpdateSSMAgent"}}]}`,
				"Window1Schedule": "rate(1 day)",
			},
			want: withDefaults(func(c *Config) {
				w := windowTemplate()
				w.Name, w.Schedule = "only-one", "rate(1 day)"
				w.Target = Target{Name: "tgt", TagKey: "k", TagValues: []string{"v"}}
				w.Task.Name, w.Task.Document = "tsk", DocumentUpdateSSMAgent
				c.Windows = []Window{w}
			}),
		},
		"native booleans": {
			props: map[string]any{"Disabled": true, "ControlTowerRegionsOnly": false},
			want:  withDefaults(func(c *Config) { c.Disabled = true; c.ControlTowerRegionsOnly = false }),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := FromProperties(tc.props)
			if err != nil {
				t.Fatalf("FromProperties: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FromProperties (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromPropertiesRejects(t *testing.T) {
	allowed := "Configuration, Disabled, Operation, RebootOption, Regions, ControlTowerRegionsOnly, ExcludedAccounts, ExcludedOUs, ConfigurationRoleName, TaskRoleName, DHMCRoleName, Window1Schedule, Window2Schedule, Window3Schedule"
	cases := map[string]struct {
		props map[string]any
		want  []FieldError
	}{
		"unknown property": {
			props: map[string]any{"Disable": "true", "ServiceToken": "arn"},
			want:  []FieldError{{"Disable", "", "is not a property orgpatch takes; allowed: " + allowed}},
		},
		"bad booleans": {
			props: map[string]any{"Disabled": "yes", "ControlTowerRegionsOnly": "1"},
			want: []FieldError{
				{"Disabled", "yes", "is not true or false"},
				{"ControlTowerRegionsOnly", "1", "is not true or false"},
			},
		},
		"bad enums": {
			props: map[string]any{"Operation": "scan", "RebootOption": "Always"},
			want: []FieldError{
				{"Operation", "scan", "is not one of Scan, Install"},
				{"RebootOption", "Always", "is not one of RebootIfNeeded, NoReboot"},
			},
		},
		"not strings": {
			props: map[string]any{"TaskRoleName": 5.0, "Regions": map[string]any{}, "ExcludedOUs": []any{"ou-ab12-cd34ef56", 7.0}},
			want: []FieldError{
				{"Regions", "map[]", "is an object; want a comma-separated string or a list of strings"},
				{"ExcludedOUs[1]", "7", "is a number; want a string"},
				{"TaskRoleName", "5", "is a number; want a string"},
			},
		},
		"schedule for a window that does not exist": {
			props: map[string]any{
				"Configuration":   `{"windows": []}`,
				"Window2Schedule": "rate(7 days)",
			},
			want: []FieldError{{"Window2Schedule", "rate(7 days)", "sets the schedule of window 2, but the configuration has 0 windows"}},
		},
		"property problems and validation problems at once": {
			props: map[string]any{
				"Disabled":        "maybe",
				"Regions":         "us-east-1,,bogus",
				"Window3Schedule": "cron(0 0 1 ? * XYZ *)",
				"TaskRoleName":    "no/slash",
			},
			want: []FieldError{
				{"Disabled", "maybe", "is not true or false"},
				{"taskRoleName", "no/slash", "is not an IAM role name: 1-64 of letters, digits and +=,.@_-"},
				{"regions[1]", "", "is empty"},
				{"regions[2]", "bogus", "is not a region name like us-east-1 or us-gov-west-1"},
				{"windows[2].schedule", "cron(0 0 1 ? * XYZ *)", `day-of-week "XYZ" is not one of SUN-SAT or 1-7`},
			},
		},
		"Configuration with an unknown field": {
			props: map[string]any{"Configuration": `{"windowz": []}`},
			want:  []FieldError{{"Configuration.windowz", "", "is not a configuration field; allowed here: baselines, configurationRoleName, controlTowerRegionsOnly, dhmcRoleName, disabled, excludedAccounts, excludedOUs, manageDHMC, regions, rings, ringsByTag, taskRoleName, windows"}},
		},
		"Configuration that does not parse": {
			props: map[string]any{"Configuration": `{"disabled": tru}`},
			want:  []FieldError{{"Configuration", "", "decode configuration JSON: invalid character '}' in literal true (expecting 'e')"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := FromProperties(tc.props)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("FromProperties = %+v, %v; want a *ValidationError", got, err)
			}
			if diff := cmp.Diff(tc.want, ve.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
