package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := map[string]struct {
		change func(c *Config)
		want   []FieldError // nil: valid
	}{
		"default":    {change: func(c *Config) {}},
		"no windows": {change: func(c *Config) { c.Windows = nil }},
		"everything optional set": {change: func(c *Config) {
			c.Regions = []string{"us-east-1", "ap-southeast-3", "us-gov-west-1", "cn-north-1", "eu-isoe-west-1"}
			c.ExcludedAccounts = []string{"111111111111", "222222222222"}
			c.ExcludedOUs = []string{"ou-ab12-cd34ef56", "ou-0000-zzzzzzzzzzzz"}
			w := &c.Windows[2]
			w.Schedule = "cron(30 23 ? * TUE#3 *)"
			w.ScheduleOffset = 6
			w.ScheduleTimezone = "America/Argentina/Buenos_Aires"
			w.DurationHours, w.CutoffHours = 24, 23
			w.Description = long(128)
			w.Target.TagKey = "Patch Group:os/linux=1@x"
			w.Target.TagValues = make([]string, 50)
			for i := range w.Target.TagValues {
				w.Target.TagValues[i] = "v" + strings.Repeat("x", i)
			}
			w.Task.Operation = OperationInstall
			w.Task.RebootOption = NoReboot
			w.Task.Priority = 0
			w.Task.MaxConcurrency, w.Task.MaxErrors = "100%", "0"
			w.Task.TimeoutSeconds = 30
			w.Task.OutputS3Bucket = "my-patch.logs-2026"
			w.Task.OutputS3KeyPrefix = "orgpatch/linux"
			w.Task.CloudWatchLogGroupName = "/orgpatch/linux_scan#1"
			w.Task.NotificationARN = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:patching"
			w.Task.NotificationEvents = []string{"Failed", "TimedOut"}
			w.Task.NotificationType = "Invocation"
			w.Task.Parameters = map[string][]string{"SnapshotId": {"{{WINDOW_EXECUTION_ID}}"}, "InstallOverrideList": {"s3://patch-lists/override.yaml"}}
			c.ManageDHMC = false
			c.DHMCRoleName = ""
		}},
		"time zones UTC and Asia/Tokyo": {change: func(c *Config) {
			c.Windows[0].ScheduleTimezone = "UTC"
			c.Windows[1].ScheduleTimezone = "Asia/Tokyo"
		}},
		"time zone Mars/Base": {
			change: func(c *Config) { c.Windows[0].ScheduleTimezone = "Mars/Base" },
			want:   []FieldError{{"windows[0].scheduleTimezone", "Mars/Base", "is not an IANA time zone like UTC, Europe/Berlin or America/New_York"}},
		},
		"time zone Local": {
			change: func(c *Config) { c.Windows[0].ScheduleTimezone = "Local" },
			want:   []FieldError{{"windows[0].scheduleTimezone", "Local", "is not an IANA time zone like UTC, Europe/Berlin or America/New_York"}},
		},
		"time zone empty": {
			change: func(c *Config) { c.Windows[0].ScheduleTimezone = "" },
			want:   []FieldError{{"windows[0].scheduleTimezone", "", "is required: an IANA time zone like UTC or America/New_York"}},
		},
		"window names": {
			change: func(c *Config) {
				c.Windows[0].Name = "ab"
				c.Windows[1].Name = "has space"
				c.Windows[2].Name = ""
			},
			want: []FieldError{
				{"windows[0].name", "ab", "is not 3-128 letters, digits, _ - or ."},
				{"windows[1].name", "has space", "is not 3-128 letters, digits, _ - or ."},
				{"windows[2].name", "", "is required: 3-128 letters, digits, _ - or ."},
			},
		},
		"window name of 129": {
			change: func(c *Config) { c.Windows[0].Name = long(129) },
			want:   []FieldError{{"windows[0].name", long(129), "is not 3-128 letters, digits, _ - or ."}},
		},
		"duplicate window names": {
			change: func(c *Config) { c.Windows[2].Name = c.Windows[0].Name },
			want:   []FieldError{{"windows[2].name", "sra_ssm_agent_update", "is also the name of windows[0]; window names must be unique"}},
		},
		"descriptions too long": {
			change: func(c *Config) {
				c.Windows[0].Description = long(129)
				c.Windows[0].Target.Description = long(129)
				c.Windows[0].Task.Description = long(129)
			},
			want: []FieldError{
				{"windows[0].description", long(129), "is 129 characters long; at most 128 are allowed"},
				{"windows[0].target.description", long(129), "is 129 characters long; at most 128 are allowed"},
				{"windows[0].task.description", long(129), "is 129 characters long; at most 128 are allowed"},
			},
		},
		"bad schedule": {
			change: func(c *Config) { c.Windows[1].Schedule = "cron(0 0 1 ? * XYZ *)" },
			want:   []FieldError{{"windows[1].schedule", "cron(0 0 1 ? * XYZ *)", `day-of-week "XYZ" is not one of SUN-SAT or 1-7`}},
		},
		"empty schedule": {
			change: func(c *Config) { c.Windows[1].Schedule = "" },
			want:   []FieldError{{"windows[1].schedule", "", "is required: cron(...), rate(...) or at(...)"}},
		},
		"rate schedule": {change: func(c *Config) { c.Windows[1].Schedule = "rate(7 days)" }},
		"offset with rate": {
			change: func(c *Config) {
				c.Windows[1].Schedule = "rate(7 days)"
				c.Windows[1].ScheduleOffset = 2
			},
			want: []FieldError{{"windows[1].scheduleOffset", "2", "is only allowed with a cron schedule, not with rate(...)"}},
		},
		"offset out of range": {
			change: func(c *Config) {
				c.Windows[0].ScheduleOffset = 7
				c.Windows[1].ScheduleOffset = -1
			},
			want: []FieldError{
				{"windows[0].scheduleOffset", "7", "is not one of 1-6 (days after the cron date)"},
				{"windows[1].scheduleOffset", "-1", "is not one of 1-6 (days after the cron date)"},
			},
		},
		"duration and cutoff out of range": {
			change: func(c *Config) {
				c.Windows[0].DurationHours = 0
				c.Windows[1].DurationHours = 25
				c.Windows[2].CutoffHours = -1
			},
			want: []FieldError{
				{"windows[0].durationHours", "0", "is not one of 1-24 (hours)"},
				{"windows[1].durationHours", "25", "is not one of 1-24 (hours)"},
				{"windows[2].cutoffHours", "-1", "is not one of 0-23 (hours)"},
			},
		},
		"cutoff not below duration": {
			change: func(c *Config) { c.Windows[0].CutoffHours = 6 },
			want:   []FieldError{{"windows[0].cutoffHours", "6", "must be less than durationHours (6)"}},
		},
		"cutoff 0": {change: func(c *Config) { c.Windows[0].CutoffHours = 0 }},
		"target tag": {
			change: func(c *Config) {
				c.Windows[0].Target.TagKey = ""
				c.Windows[0].Target.TagValues = nil
				c.Windows[1].Target.TagKey = "Instance*OS"
				c.Windows[1].Target.TagValues = []string{"Windows", "", "Windows"}
				c.Windows[2].Target.TagKey = long(129)
				c.Windows[2].Target.TagValues = []string{long(257)}
			},
			want: []FieldError{
				{"windows[0].target.tagKey", "", "is required: the tag key instances are selected by, like InstanceOS"},
				{"windows[0].target.tagValues", "", "is required: 1-50 tag values, like [Linux, Windows]"},
				{"windows[1].target.tagKey", "Instance*OS", "may hold only letters, digits, spaces and _ . : / = - @"},
				{"windows[1].target.tagValues[1]", "", "is empty"},
				{"windows[1].target.tagValues[2]", "Windows", "repeats windows[1].target.tagValues[0]"},
				{"windows[2].target.tagKey", long(129), "is 129 characters long; at most 128 are allowed"},
				{"windows[2].target.tagValues[0]", long(257), "is 257 characters long; at most 256 are allowed"},
			},
		},
		"51 tag values": {
			change: func(c *Config) {
				c.Windows[0].Target.TagValues = make([]string, 51)
				for i := range c.Windows[0].Target.TagValues {
					c.Windows[0].Target.TagValues[i] = strings.Repeat("v", i+1)
				}
			},
			want: []FieldError{{"windows[0].target.tagValues", "", "has 51 values; at most 50 are allowed"}},
		},
		"target and task names": {
			change: func(c *Config) {
				c.Windows[0].Target.Name = "x"
				c.Windows[0].Task.Name = "Update SSM Agent"
			},
			want: []FieldError{
				{"windows[0].target.name", "x", "is not 3-128 letters, digits, _ - or ."},
				{"windows[0].task.name", "Update SSM Agent", "is not 3-128 letters, digits, _ - or ."},
			},
		},
		"document": {
			change: func(c *Config) { c.Windows[0].Task.Document = "AWS-RunShellScript" },
			want:   []FieldError{{"windows[0].task.document", "AWS-RunShellScript", "is not one of AWS-RunPatchBaseline, AWS-UpdateSSMAgent"}},
		},
		"operation and reboot option values": {
			change: func(c *Config) {
				c.Windows[1].Task.Operation = "scan"
				c.Windows[1].Task.RebootOption = "Always"
				c.Windows[2].Task.Operation = ""
				c.Windows[2].Task.RebootOption = ""
			},
			want: []FieldError{
				{"windows[1].task.operation", "scan", "is not one of Scan, Install"},
				{"windows[1].task.rebootOption", "Always", "is not one of RebootIfNeeded, NoReboot"},
				{"windows[2].task.operation", "", "is required for AWS-RunPatchBaseline: one of Scan, Install"},
			},
		},
		"operation and reboot option on the agent update": {
			change: func(c *Config) {
				c.Windows[0].Task.Operation = "Install"
				c.Windows[0].Task.RebootOption = "NoReboot"
			},
			want: []FieldError{
				{"windows[0].task.operation", "Install", "applies to AWS-RunPatchBaseline only, not to AWS-UpdateSSMAgent; leave it empty"},
				{"windows[0].task.rebootOption", "NoReboot", "applies to AWS-RunPatchBaseline only, not to AWS-UpdateSSMAgent; leave it empty"},
			},
		},
		"priority, concurrency, errors, timeout": {
			change: func(c *Config) {
				c.Windows[0].Task.Priority = -1
				c.Windows[0].Task.MaxConcurrency = "0"
				c.Windows[0].Task.MaxErrors = "101%"
				c.Windows[0].Task.TimeoutSeconds = 29
				c.Windows[1].Task.MaxConcurrency = ""
				c.Windows[1].Task.MaxErrors = "-1"
				c.Windows[1].Task.TimeoutSeconds = 2592001
			},
			want: []FieldError{
				{"windows[0].task.priority", "-1", "must be 0 or more (0 runs first)"},
				{"windows[0].task.maxConcurrency", "0", "is not a number of instances (1 or more) or a percentage (1%-100%)"},
				{"windows[0].task.maxErrors", "101%", "is not a number of errors (0 or more) or a percentage (0%-100%)"},
				{"windows[0].task.timeoutSeconds", "29", "is not one of 30-2592000 (seconds)"},
				{"windows[1].task.maxConcurrency", "", "is not a number of instances (1 or more) or a percentage (1%-100%)"},
				{"windows[1].task.maxErrors", "-1", "is not a number of errors (0 or more) or a percentage (0%-100%)"},
				{"windows[1].task.timeoutSeconds", "2592001", "is not one of 30-2592000 (seconds)"},
			},
		},
		"concurrency and errors longer than 7": {
			change: func(c *Config) {
				c.Windows[0].Task.MaxConcurrency = "12345678"
				c.Windows[0].Task.MaxErrors = "12345678"
			},
			want: []FieldError{
				{"windows[0].task.maxConcurrency", "12345678", "is 8 characters long; at most 7 are allowed"},
				{"windows[0].task.maxErrors", "12345678", "is 8 characters long; at most 7 are allowed"},
			},
		},
		"concurrency and errors in range": {change: func(c *Config) {
			c.Windows[0].Task.MaxConcurrency, c.Windows[0].Task.MaxErrors = "1%", "0%"
			c.Windows[1].Task.MaxConcurrency, c.Windows[1].Task.MaxErrors = "99%", "100%"
			c.Windows[2].Task.MaxConcurrency, c.Windows[2].Task.MaxErrors = "1234567", "25"
		}},
		"output": {
			change: func(c *Config) {
				c.Windows[0].Task.OutputS3Bucket = "My_Bucket"
				c.Windows[1].Task.OutputS3KeyPrefix = "logs/"
				c.Windows[2].Task.CloudWatchLogGroupName = "bad name"
			},
			want: []FieldError{
				{"windows[0].task.outputS3Bucket", "My_Bucket", "may hold only lowercase letters, digits, . and -, and must begin and end with a letter or digit"},
				{"windows[1].task.outputS3KeyPrefix", "logs/", "needs outputS3Bucket"},
				{"windows[2].task.cloudWatchLogGroupName", "bad name", "is not a log group name: 1-512 of letters, digits and . - _ / #"},
			},
		},
		"notification without ARN": {
			change: func(c *Config) {
				c.Windows[0].Task.NotificationEvents = []string{"All"}
				c.Windows[0].Task.NotificationType = "Command"
			},
			want: []FieldError{
				{"windows[0].task.notificationEvents", "", "needs notificationArn"},
				{"windows[0].task.notificationType", "Command", "needs notificationArn"},
			},
		},
		"notification values": {
			change: func(c *Config) {
				c.Windows[0].Task.NotificationARN = "arn:aws:sqs:us-east-1:123456789012:q"
				c.Windows[0].Task.NotificationEvents = []string{"Succeeded", "All", "All"}
				c.Windows[0].Task.NotificationType = "Email"
				c.Windows[1].Task.NotificationARN = "arn:aws:sns:us-east-1:123456789012:patching"
			},
			want: []FieldError{
				{"windows[0].task.notificationArn", "arn:aws:sqs:us-east-1:123456789012:q", "is not an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:patching"},
				{"windows[0].task.notificationEvents[0]", "Succeeded", "is not one of All, InProgress, Success, TimedOut, Cancelled, Failed"},
				{"windows[0].task.notificationEvents[2]", "All", "repeats windows[0].task.notificationEvents[1]"},
				{"windows[0].task.notificationType", "Email", "is not one of Command, Invocation"},
				{"windows[1].task.notificationEvents", "", "is required with notificationArn: one or more of All, InProgress, Success, TimedOut, Cancelled, Failed"},
				{"windows[1].task.notificationType", "", "is not one of Command, Invocation"},
			},
		},
		"parameters redefining operation and reboot option": {
			change: func(c *Config) {
				c.Windows[1].Task.Parameters = map[string][]string{"Operation": {"Install"}, "RebootOption": {"NoReboot"}, "bad-name": {"x"}}
				c.Windows[0].Task.Parameters = map[string][]string{"Operation": {"Install"}}
			},
			want: []FieldError{
				{"windows[0].task.parameters.Operation", "", "is set by the task's operation field; remove it from parameters"},
				{"windows[1].task.parameters.Operation", "", "is set by the task's operation field; remove it from parameters"},
				{"windows[1].task.parameters.RebootOption", "", "is set by the task's rebootOption field; remove it from parameters"},
				{"windows[1].task.parameters", "bad-name", "is not a parameter orgpatch passes to AWS-RunPatchBaseline; allowed: InstallOverrideList, SnapshotId"},
			},
		},
		// BaselineOverride would install from any package source as root on
		// every instance; the agent's version and allowDowngrade could
		// downgrade it: none is passed, and the error names what is.
		"parameters outside the allowlist": {
			change: func(c *Config) {
				c.Windows[0].Task.Parameters = map[string][]string{"version": {"3.0.0.0"}, "allowDowngrade": {"true"}}
				c.Windows[1].Task.Parameters = map[string][]string{"BaselineOverride": {"s3://evil/baseline.json"}}
				c.Windows[2].Task.Parameters = map[string][]string{
					"InstallOverrideList": {"https://example.com/list.yaml"},
					"SnapshotId":          {"a", "b"},
				}
			},
			want: []FieldError{
				{"windows[0].task.parameters", "allowDowngrade", "is not a parameter orgpatch passes to AWS-UpdateSSMAgent; allowed: none"},
				{"windows[0].task.parameters", "version", "is not a parameter orgpatch passes to AWS-UpdateSSMAgent; allowed: none"},
				{"windows[1].task.parameters", "BaselineOverride", "is not a parameter orgpatch passes to AWS-RunPatchBaseline; allowed: InstallOverrideList, SnapshotId"},
				{"windows[2].task.parameters.InstallOverrideList", "https://example.com/list.yaml", "is not an s3://BUCKET/KEY URL: only a list in a bucket of the organization may say what to install"},
				{"windows[2].task.parameters.SnapshotId", "", "has 2 values; it takes exactly one"},
			},
		},
		"role names": {
			change: func(c *Config) {
				c.ConfigurationRoleName = ""
				c.TaskRoleName = "path/role"
				c.DHMCRoleName = "service-role/" + long(65)
			},
			want: []FieldError{
				{"configurationRoleName", "", "is required: an IAM role name"},
				{"taskRoleName", "path/role", "is not an IAM role name: 1-64 of letters, digits and +=,.@_-"},
				{"dhmcRoleName", "service-role/" + long(65), "is not an IAM role name (1-64 of letters, digits and +=,.@_-) behind an optional path like service-role/"},
			},
		},
		"DHMC role required while managed": {
			change: func(c *Config) { c.DHMCRoleName = "" },
			want:   []FieldError{{"dhmcRoleName", "", "is required: an IAM role name"}},
		},
		"DHMC role without a path": {change: func(c *Config) { c.DHMCRoleName = "MyDHMCRole" }},
		"regions": {
			change: func(c *Config) { c.Regions = []string{"us-east-1", "US-EAST-1", "useast1", "us-east-1", ""} },
			want: []FieldError{
				{"regions[1]", "US-EAST-1", "is not a region name like us-east-1 or us-gov-west-1"},
				{"regions[2]", "useast1", "is not a region name like us-east-1 or us-gov-west-1"},
				{"regions[3]", "us-east-1", "repeats regions[0]"},
				{"regions[4]", "", "is empty"},
			},
		},
		"excluded accounts and OUs": {
			change: func(c *Config) {
				c.ExcludedAccounts = []string{"12345678901", "123456789012", "123456789012"}
				c.ExcludedOUs = []string{"ou-ab12-cd34ef56", "r-ab12", "ou-AB12-cd34ef56"}
			},
			want: []FieldError{
				{"excludedAccounts[0]", "12345678901", "is not an account id of 12 digits"},
				{"excludedAccounts[2]", "123456789012", "repeats excludedAccounts[1]"},
				{"excludedOUs[1]", "r-ab12", "is not an organizational unit id like ou-ab12-cd34ef56"},
				{"excludedOUs[2]", "ou-AB12-cd34ef56", "is not an organizational unit id like ou-ab12-cd34ef56"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			err := c.Validate()
			var got []FieldError
			var ve *ValidationError
			if errors.As(err, &ve) {
				got = ve.Problems
			} else if err != nil {
				t.Fatalf("Validate() = %v; want a *ValidationError", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBucketNames(t *testing.T) {
	cases := map[string]string{
		"abc":                   "",
		"my.bucket-1":           "",
		"ab":                    "is not 3-63 characters long",
		strings.Repeat("a", 64): "is not 3-63 characters long",
		"-abc":                  "may hold only lowercase letters, digits, . and -, and must begin and end with a letter or digit",
		"abc.":                  "may hold only lowercase letters, digits, . and -, and must begin and end with a letter or digit",
		"a..b":                  "must not hold two adjacent periods",
		"192.168.5.4":           "must not be formatted as an IP address",
		"xn--abc":               `must not begin with "xn--"`,
		"sthree-logs":           `must not begin with "sthree-"`,
		"logs-s3alias":          `must not end with "-s3alias"`,
		"logs--x-s3":            `must not end with "--x-s3"`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			if got := bucketProblem(name); got != want {
				t.Errorf("bucketProblem(%q) = %q; want %q", name, got, want)
			}
		})
	}
}

func TestValidationErrorListsEveryProblem(t *testing.T) {
	c := Default()
	c.Windows[1].Schedule = "cron(0 0 1 ? * XYZ *)"
	c.Windows[2].DurationHours = 0
	c.Regions = []string{"mars-1"}
	err := c.Validate()
	want := strings.Join([]string{
		"invalid configuration: 3 problems:",
		`  regions[0]: "mars-1": is not a region name like us-east-1 or us-gov-west-1`,
		`  windows[1].schedule: "cron(0 0 1 ? * XYZ *)": day-of-week "XYZ" is not one of SUN-SAT or 1-7`,
		`  windows[2].durationHours: "0": is not one of 1-24 (hours)`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("Validate() error:\n%v\nwant:\n%s", err, want)
	}

	c = Default()
	c.TaskRoleName = ""
	want = "invalid configuration:\n  taskRoleName: is required: an IAM role name"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() error:\n%v\nwant:\n%s", err, want)
	}
}
