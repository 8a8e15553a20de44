package config_test

import (
	"fmt"

	"github.com/orgpatch/orgpatch/internal/config"
)

func ExampleDecode() {
	_, err := config.Decode([]byte(`
windows:
  - name: weekly-linux
    schedule: cron(0 2 ? * SUNDAY *)
    scheduleTimezone: Mars/Base
    durationHours: 2
    cutoffHours: 2
    target: {name: linux, tagKey: OS, tagValues: [Linux]}
    task: {name: linux-scan, document: AWS-RunPatchBaseline, operation: Scan}
`))
	fmt.Println(err)
	// Output:
	// invalid configuration: 3 problems:
	//   windows[0].schedule: "cron(0 2 ? * SUNDAY *)": day-of-week "SUNDAY" is not one of SUN-SAT or 1-7
	//   windows[0].scheduleTimezone: "Mars/Base": is not an IANA time zone like UTC, Europe/Berlin or America/New_York
	//   windows[0].cutoffHours: "2": must be less than durationHours (2)
}

func ExampleFromProperties() {
	c, err := config.FromProperties(map[string]any{
		"ServiceToken":    "arn:aws:lambda:us-east-1:111111111111:function:orgpatch",
		"Operation":       "Install",
		"Regions":         "us-east-1,eu-west-1",
		"Window3Schedule": "cron(0 3 ? * SAT#1 *)",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range c.Windows {
		fmt.Println(w.Name, w.Schedule, w.Task.DocumentParameters()["Operation"])
	}
	fmt.Println(c.Regions)
	// Output:
	// sra_ssm_agent_update cron(0 0 1 ? * WED *) []
	// sra_windows_maintenance cron(0 0 1 ? * THU *) [Install]
	// sra_linux_maintenance cron(0 3 ? * SAT#1 *) [Install]
	// [us-east-1 eu-west-1]
}

// The file shown in the package documentation.
func ExampleDecode_file() {
	c, err := config.Decode([]byte(`
windows:
  - name: linux-install
    schedule: cron(0 2 ? * TUE#2 *)
    scheduleTimezone: Europe/Berlin
    target: {name: linux-hosts, tagKey: PatchGroup, tagValues: [linux]}
    task:
      name: linux-install
      document: AWS-RunPatchBaseline
      operation: Install
      rebootOption: NoReboot
regions: [eu-central-1, eu-west-1]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	w := c.Windows[0]
	fmt.Println(c.WindowNames(), c.Regions, c.TaskRoleName)
	fmt.Println(w.DurationHours, w.CutoffHours, w.Task.MaxConcurrency, w.Task.MaxErrors, w.Task.DocumentParameters())
	// Output:
	// [linux-install] [eu-central-1 eu-west-1] sra-patch-mgmt-automation
	// 6 1 100 1 map[Operation:[Install] RebootOption:[NoReboot]]
}
