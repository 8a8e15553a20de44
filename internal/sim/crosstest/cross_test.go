package crosstest

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

const (
	memberAccount = "222222222222"
	memberRole    = "sra-patch-mgmt-configuration"
	dhmcSetting   = "/ssm/managed-instance/default-ec2-instance-management-role"
	dhmcRole      = "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole"
	missingWindow = "mw-0123456789abcdef0"
)

// crossScenario is orgpatch's conversation with AWS in small: who am I, the
// accounts (paginated), the regions, the landing zone, into a member
// account, a patching window with its target and task, read back, the DHMC
// setting, and the two errors orgpatch relies on telling apart.
func crossScenario() []step {
	win := map[string]any{"WindowId": "${WindowId}"}
	return []step{
		{Name: "whoami", Service: "sts", Operation: "GetCallerIdentity", As: "mgmt"},
		{Name: "accounts", Service: "organizations", Operation: "ListAccounts", As: "mgmt", PageSize: 2},
		{Name: "regions", Service: "ec2", Operation: "DescribeRegions", As: "mgmt"},
		{Name: "landing zones", Service: "controltower", Operation: "ListLandingZones", As: "mgmt"},
		{Name: "assume role", Service: "sts", Operation: "AssumeRole", As: "mgmt", Params: map[string]any{
			"RoleArn": "arn:aws:iam::" + memberAccount + ":role/" + memberRole, "RoleSessionName": "crosstest",
		}},
		{Name: "member whoami", Service: "sts", Operation: "GetCallerIdentity", As: "member"},
		{Name: "create window", Service: "ssm", Operation: "CreateMaintenanceWindow", As: "member", Capture: []string{"WindowId"}, Params: map[string]any{
			"Name": "crosstest-patching", "Description": "crosstest: install patches",
			"Schedule": "cron(0 3 ? * SUN *)", "ScheduleTimezone": "Europe/Berlin",
			"Duration": 3, "Cutoff": 1, "AllowUnassociatedTargets": false,
			"Tags": []map[string]string{{"Key": "orgpatch:managed-by", "Value": "orgpatch"}},
		}},
		{Name: "register target", Service: "ssm", Operation: "RegisterTargetWithMaintenanceWindow", As: "member", Capture: []string{"WindowTargetId"}, Params: map[string]any{
			"WindowId": "${WindowId}", "ResourceType": "INSTANCE", "Name": "crosstest-targets", "OwnerInformation": "crosstest",
			"Targets": []map[string]any{{"Key": "tag:Patch", "Values": []string{"yes"}}},
		}},
		{Name: "register task", Service: "ssm", Operation: "RegisterTaskWithMaintenanceWindow", As: "member", Capture: []string{"WindowTaskId"}, Params: map[string]any{
			"WindowId": "${WindowId}", "TaskArn": "AWS-RunPatchBaseline", "TaskType": "RUN_COMMAND", "Name": "crosstest-install",
			"Targets":  []map[string]any{{"Key": "WindowTargetIds", "Values": []string{"${WindowTargetId}"}}},
			"Priority": 1, "MaxConcurrency": "10%", "MaxErrors": "5%", "CutoffBehavior": "CONTINUE_TASK",
			"TaskInvocationParameters": map[string]any{"RunCommand": map[string]any{
				"Parameters":     map[string][]string{"Operation": {"Install"}, "RebootOption": {"RebootIfNeeded"}},
				"TimeoutSeconds": 3600,
			}},
		}},
		{Name: "describe windows", Service: "ssm", Operation: "DescribeMaintenanceWindows", As: "member", ReadOnly: true},
		{Name: "owned windows", Service: "resourcegroupstaggingapi", Operation: "GetResources", As: "member", ReadOnly: true, Params: map[string]any{
			"TagFilters":          []map[string]any{{"Key": "orgpatch:managed-by", "Values": []string{"orgpatch"}}},
			"ResourceTypeFilters": []string{"ssm:maintenancewindow"},
		}},
		{Name: "page size over 100", Service: "resourcegroupstaggingapi", Operation: "GetResources", As: "member", WantError: "InvalidParameterException", Params: map[string]any{
			"ResourcesPerPage": 101,
		}},
		{Name: "describe targets", Service: "ssm", Operation: "DescribeMaintenanceWindowTargets", As: "member", ReadOnly: true, Params: win},
		{Name: "describe tasks", Service: "ssm", Operation: "DescribeMaintenanceWindowTasks", As: "member", ReadOnly: true, Params: win},
		{Name: "get task", Service: "ssm", Operation: "GetMaintenanceWindowTask", As: "member", ReadOnly: true, Params: map[string]any{
			"WindowId": "${WindowId}", "WindowTaskId": "${WindowTaskId}",
		}},
		{Name: "set DHMC", Service: "ssm", Operation: "UpdateServiceSetting", As: "member", Params: map[string]any{
			"SettingId": dhmcSetting, "SettingValue": dhmcRole,
		}},
		{Name: "get DHMC", Service: "ssm", Operation: "GetServiceSetting", As: "member", ReadOnly: true, Params: map[string]any{"SettingId": dhmcSetting}},
		{Name: "cutoff not below duration", Service: "ssm", Operation: "CreateMaintenanceWindow", As: "member", WantError: "ValidationException", Params: map[string]any{
			"Name": "crosstest-bad", "Schedule": "cron(0 3 ? * SUN *)", "Duration": 2, "Cutoff": 2, "AllowUnassociatedTargets": false,
		}},
		{Name: "missing window", Service: "ssm", Operation: "GetMaintenanceWindow", As: "member", WantError: "DoesNotExistException", Params: map[string]any{"WindowId": missingWindow}},
	}
}

// TestClientsSeeTheSame runs crossScenario through the Go SDK, the AWS CLI
// and boto3, each against its own fresh simulator of the same organization,
// and asserts that they sent the same calls and saw the same answers.
func TestClientsSeeTheSame(t *testing.T) {
	clientsSeeTheSame(t, crossScenario(), checkSDKRun)
}

// clientsSeeTheSame runs steps through the Go SDK, the AWS CLI and boto3,
// each against its own fresh simulator of the default organization (made
// with opts), pins the SDK's outcomes with check, and asserts that the three
// clients sent the same calls and saw the same answers.
func clientsSeeTheSame(t *testing.T, steps []step, check func(t *testing.T, steps []step, got []outcome, mgmt string), opts ...sim.Option) {
	clientsSeeTheSameInPhases(t, [][]step{steps}, nil, check, func() []sim.Option { return opts })
}

// clientsSeeTheSameInPhases is clientsSeeTheSame with steps in phases and
// between(server) run after each phase but the last (e.g. advancing the
// simulated clock); each client's simulator is made with newOpts(), so
// every run has options of its own (a clock of its own). Steps acting as
// the member must follow an AssumeRole of their own phase.
func clientsSeeTheSameInPhases(t *testing.T, phases [][]step, between func(t *testing.T, s *sim.Server), check func(t *testing.T, steps []step, got []outcome, mgmt string), newOpts func() []sim.Option) {
	awsCLI := needTool(t, "aws")
	python := needPythonModules(t, "boto3")
	// A bound, not a pace: the CLI starts one process a step, which takes
	// seconds on a loaded machine.
	var steps []step
	for _, p := range phases {
		steps = append(steps, p...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(3*time.Minute, time.Duration(len(steps))*20*time.Second))
	defer cancel()

	type run struct {
		env   *simtest.Env
		names map[string]string
		got   []outcome
		calls []string
	}
	runs := map[string]*run{}
	for _, client := range []string{"sdk", "cli", "boto3"} {
		r := &run{env: simtest.Start(t, nil, newOpts()...), names: map[string]string{}}
		for i, phase := range phases {
			switch client {
			case "sdk":
				r.got = append(r.got, runSDK(ctx, t, r.env.Config, nil, phase, r.names)...)
			case "cli":
				r.got = append(r.got, runCLI(ctx, t, awsCLI, r.env.URL, simtest.Region, sim.ManagementAccessKeyID, sim.ManagementSecretAccessKey, phase, r.names)...)
			case "boto3":
				r.got = append(r.got, runBoto3(ctx, t, python, r.env.URL, simtest.Region, sim.ManagementAccessKeyID, sim.ManagementSecretAccessKey, phase, r.names)...)
			}
			if i < len(phases)-1 && between != nil {
				between(t, r.env.Server)
			}
		}
		r.calls = callSequence(r.env.Server, r.names)
		// Each simulator gives the role its own id, as AWS gives every role
		// a unique one: it compares like the ids the run created.
		roleID, _, _ := strings.Cut(fmt.Sprint(lookup(responseOf(r.got, "assume role"), "assumedroleuser.assumedroleid")), ":")
		r.names["RoleId"] = roleID
		runs[client] = r
	}

	sdk := runs["sdk"]
	t.Run("sdk sees what AWS answers", func(t *testing.T) {
		check(t, steps, sdk.got, sdk.env.Server.ManagementAccount())
	})
	for _, client := range []string{"cli", "boto3"} {
		r := runs[client]
		t.Run(client+" sees what the sdk sees", func(t *testing.T) {
			// The same simulator read through the SDK right after the
			// client's run: identical ids and values, nothing renamed.
			var readSteps []step
			var clientSaw []outcome
			for i, s := range steps {
				if s.ReadOnly {
					readSteps = append(readSteps, s)
					clientSaw = append(clientSaw, r.got[i])
				}
			}
			member := r.env.AccountConfig(t, memberAccount, memberRole)
			sdkSaw := runSDK(ctx, t, r.env.Config, &member, readSteps, r.names)
			if diff := cmp.Diff(sdkSaw, clientSaw); diff != "" {
				t.Errorf("%s's simulator read through the SDK (-sdk +%s):\n%s", client, client, diff)
			}
		})
		t.Run(client+" run equals the sdk run", func(t *testing.T) {
			if diff := cmp.Diff(placeholders(sdk.got, sdk.names), placeholders(r.got, r.names)); diff != "" {
				t.Errorf("scenario outcomes (-sdk +%s):\n%s", client, diff)
			}
			if diff := cmp.Diff(sdk.calls, r.calls); diff != "" {
				t.Errorf("calls the simulator served (-sdk +%s):\n%s", client, diff)
			}
		})
	}
}

// placeholders replaces the ids a run created by their names, so runs
// against different simulators compare.
func placeholders(got []outcome, names map[string]string) []outcome {
	repl := map[string]string{}
	for k, v := range names {
		repl[v] = "<" + k + ">"
	}
	out := make([]outcome, len(got))
	for i, o := range got {
		out[i] = outcome{Name: o.Name, Error: o.Error, Response: replaceStrings(o.Response, repl)}
	}
	return out
}

// callSequence is what the simulator served, in order: account, service,
// operation, error code and, for the JSON protocols, the request's members
// with the run's ids as placeholders and the idempotency token (random in
// every client) left out.
func callSequence(s *sim.Server, names map[string]string) []string {
	repl := map[string]string{}
	for k, v := range names {
		repl[v] = "<" + k + ">"
	}
	var seq []string
	for _, c := range s.Calls() {
		line := fmt.Sprintf("%s %s %s %s", c.Account, c.Service, c.Operation, c.ErrorCode)
		var params map[string]any
		if c.Service != sim.ServiceSTS && c.Service != sim.ServiceEC2 && json.Unmarshal(c.Params, &params) == nil {
			delete(params, "ClientToken")
			b, _ := json.Marshal(replaceStrings(params, repl))
			line += " " + string(b)
		}
		seq = append(seq, line)
	}
	return seq
}

// checkSDKRun pins the SDK's run to what AWS answers, so the three clients
// cannot agree on something wrong.
func checkSDKRun(t *testing.T, steps []step, got []outcome, mgmt string) {
	t.Helper()
	byName := checkErrors(t, steps, got)
	wantAccounts := []any{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "666666666666", "777777777777"}
	for _, tc := range []struct {
		step, path string
		want       any
	}{
		{"whoami", "account", mgmt},
		{"whoami", "arn", "arn:aws:iam::" + mgmt + ":user/" + sim.ManagementUserName},
		{"assume role", "assumedroleuser.arn", "arn:aws:sts::" + memberAccount + ":assumed-role/" + memberRole + "/crosstest"},
		{"member whoami", "account", memberAccount},
		{"member whoami", "userid", lookup(byName["assume role"], "assumedroleuser.assumedroleid")},
		{"member whoami", "arn", "arn:aws:sts::" + memberAccount + ":assumed-role/" + memberRole + "/crosstest"},
		{"landing zones", "landingzones.#", 1.0},
		{"describe windows", "windowidentities.#", 1.0},
		{"describe windows", "windowidentities.0.name", "crosstest-patching"},
		{"describe windows", "windowidentities.0.duration", 3.0},
		{"describe windows", "windowidentities.0.cutoff", 1.0},
		{"describe targets", "targets.0.targets.0.key", "tag:Patch"},
		{"describe tasks", "tasks.0.taskarn", "AWS-RunPatchBaseline"},
		{"get task", "taskarn", "AWS-RunPatchBaseline"},
		{"get task", "maxconcurrency", "10%"},
		{"get task", "taskinvocationparameters.runcommand.parameters.operation.0", "Install"},
		{"get DHMC", "servicesetting.settingvalue", dhmcRole},
		{"get DHMC", "servicesetting.status", "Customized"},
	} {
		if got := lookup(byName[tc.step], tc.path); !cmp.Equal(got, tc.want) {
			t.Errorf("step %s: %s = %v, want %v", tc.step, tc.path, got, tc.want)
		}
	}
	if id := fmt.Sprint(lookup(byName["assume role"], "assumedroleuser.assumedroleid")); !roleIDRe.MatchString(id) {
		t.Errorf("step assume role: AssumedRoleId %q, want the role's id (AROA and 17 letters or digits) and the session name", id)
	}
	var ids []any
	accounts, _ := lookup(byName["accounts"], "accounts").([]any)
	for _, a := range accounts {
		ids = append(ids, lookup(a, "id"))
	}
	if diff := cmp.Diff(wantAccounts, ids); diff != "" {
		t.Errorf("ListAccounts over every page: account ids (-want +got):\n%s", diff)
	}
}

// checkErrors checks that every step failed with the error code it wants
// (none for most) and returns the responses by step name.
func checkErrors(t *testing.T, steps []step, got []outcome) map[string]any {
	t.Helper()
	if len(got) != len(steps) {
		t.Fatalf("%d outcomes for %d steps", len(got), len(steps))
	}
	byName := map[string]any{}
	for i, s := range steps {
		code := ""
		if got[i].Error != nil {
			code = got[i].Error.Code
		}
		if code != s.WantError {
			t.Errorf("step %s: error code %q, want %q (%+v)", s.Name, code, s.WantError, got[i].Error)
		}
		byName[s.Name] = got[i].Response
	}
	return byName
}

var roleIDRe = regexp.MustCompile(`^AROA[A-Z0-9]{17}:crosstest$`)

// responseOf is the response of the named step.
func responseOf(got []outcome, name string) any {
	for _, o := range got {
		if o.Name == name {
			return o.Response
		}
	}
	return nil
}

// lookup follows a dotted path of canonical member names and list indexes
// in v; "#" is the length of a list.
func lookup(v any, path string) any {
	for _, p := range splitPath(path) {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if p == "#" {
				return float64(len(x))
			}
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func splitPath(path string) []string {
	var parts []string
	start := 0
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == '.' {
			parts = append(parts, path[start:i])
			start = i + 1
		}
	}
	return parts
}
