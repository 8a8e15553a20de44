package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWindowNames(t *testing.T) {
	c := Default()
	want := []string{"sra_ssm_agent_update", "sra_windows_maintenance", "sra_linux_maintenance"}
	if diff := cmp.Diff(want, c.WindowNames()); diff != "" {
		t.Errorf("WindowNames (-want +got):\n%s", diff)
	}
	c.Windows = nil
	if got := c.WindowNames(); len(got) != 0 {
		t.Errorf("WindowNames of no windows = %q; want none", got)
	}
}

func TestExclusionsAreExact(t *testing.T) {
	c := Default()
	c.ExcludedAccounts = []string{"111111111111"}
	c.ExcludedOUs = []string{"ou-ab12-cd34ef56"}
	cases := map[string]struct {
		got, want bool
	}{
		"excluded account":                 {c.IsExcludedAccount("111111111111"), true},
		"other account":                    {c.IsExcludedAccount("222222222222"), false},
		"substring of an excluded account": {c.IsExcludedAccount("1111"), false},
		"empty account id":                 {c.IsExcludedAccount(""), false},
		"excluded OU":                      {c.IsExcludedOU("ou-ab12-cd34ef56"), true},
		"substring of an excluded OU":      {c.IsExcludedOU("ou-ab12"), false},
		"OU id given as an account":        {c.IsExcludedAccount("ou-ab12-cd34ef56"), false},
		"nothing excluded by default":      {Default().IsExcludedAccount("111111111111"), false},
	}
	for name, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", name, tc.got, tc.want)
		}
	}
}

func TestDocumentParameters(t *testing.T) {
	d := Default()
	cases := map[string]struct {
		task Task
		want map[string][]string
	}{
		"agent update has none": {task: d.Windows[0].Task},
		"patch baseline scan": {
			task: d.Windows[1].Task,
			want: map[string][]string{"Operation": {"Scan"}, "RebootOption": {"RebootIfNeeded"}},
		},
		"patch baseline with extras, no reboot option": {
			task: Task{Document: DocumentRunPatchBaseline, Operation: "Install",
				Parameters: map[string][]string{"SnapshotId": {"s"}, "InstallOverrideList": {"u"}}},
			want: map[string][]string{"Operation": {"Install"}, "SnapshotId": {"s"}, "InstallOverrideList": {"u"}},
		},
		"agent update passes extras only": {
			task: Task{Document: DocumentUpdateSSMAgent, Operation: "Install",
				Parameters: map[string][]string{"allowDowngrade": {"false"}}},
			want: map[string][]string{"allowDowngrade": {"false"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.task.DocumentParameters()); diff != "" {
				t.Errorf("DocumentParameters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDocumentParametersIsACopy(t *testing.T) {
	task := Task{Document: DocumentUpdateSSMAgent, Parameters: map[string][]string{"version": {"3.0"}}}
	p := task.DocumentParameters()
	p["version"][0] = "changed"
	p["other"] = []string{"x"}
	if diff := cmp.Diff(map[string][]string{"version": {"3.0"}}, task.Parameters); diff != "" {
		t.Errorf("changing the result changed the task (-want +got):\n%s", diff)
	}
}
