package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestBadInputIsRefusedBeforeAnyCall(t *testing.T) {
	env := simtest.Start(t, nil)
	badConfig := configFile(t, "windows:\n  - name: w1\n    schedule: cron(0 0 1 ? * WED *)\n    durationHours: 30\n    target: {name: t, tagKey: InstanceOS, tagValues: [Linux]}\n    task: {name: k, document: AWS-UpdateSSMAgent}\n")
	unknownField := configFile(t, "regoins: [us-east-1]\n")
	badRings := configFile(t, "baselines:\n  - {name: b1, operatingSystem: WINDOWS_95}\nrings:\n  - {name: dev, select: {}}\n")
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"RequestType": "Create", "RequestId": "r", "StackId": "s", "LogicalResourceId": "l"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args []string
		// want is in the message; a configuration file's problems are
		// listed one a line under the first, which names --config.
		want string
	}{
		"output":             {[]string{"plan", "--output", "xml"}, `orgpatch plan: --output "xml": want text or json`},
		"concurrency":        {[]string{"apply", "--concurrency", "0"}, "orgpatch apply: --concurrency 0: want a whole number from 1 to 1000"},
		"accounts":           {[]string{"apply", "--accounts", "111111111111,12345"}, `orgpatch apply: --accounts: "12345" is not a 12-digit account id`},
		"endpoint":           {[]string{"plan", "--endpoint", "ftp://example.com"}, `orgpatch plan: --endpoint "ftp://example.com": want an http:// or https:// URL with a host`},
		"region":             {[]string{"plan", "--region", "Mars"}, `orgpatch plan: --region "Mars": want a region name such as us-east-1`},
		"missing config":     {[]string{"apply", "--config", "/nonexistent/orgpatch.yaml"}, "orgpatch apply: --config: open /nonexistent/orgpatch.yaml: no such file or directory"},
		"config field":       {[]string{"apply", "--config", badConfig}, "windows[0].durationHours"},
		"config unknown":     {[]string{"teardown", "--yes", "--config", unknownField}, "regoins"},
		"config rings":       {[]string{"plan", "--config", badRings}, "baselines[0].operatingSystem: \"WINDOWS_95\": is not one of WINDOWS"},
		"unknown flag":       {[]string{"apply", "--force"}, "orgpatch apply: flag provided but not defined: -force (see orgpatch apply -h)"},
		"argument":           {[]string{"plan", "now"}, `orgpatch plan: unexpected argument "now" (see orgpatch plan -h)`},
		"invoke no event":    {[]string{"invoke"}, "orgpatch invoke: want exactly one event file, got 0 (usage: orgpatch invoke EVENT.json [--endpoint URL])"},
		"invoke malformed":   {[]string{"invoke", event}, "ResponseURL: missing from the CloudFormation request"},
		"invoke unreadable":  {[]string{"invoke", "/nonexistent/event.json"}, "orgpatch invoke: open /nonexistent/event.json: no such file or directory"},
		"bench regions":      {[]string{"bench", "-regions", "40"}, "orgpatch bench: -regions 40: want 1..17 (see orgpatch bench -h)"},
		"bench two modes":    {[]string{"bench", "-process", "-workers", "2"}, "orgpatch bench: -process with -workers: every batch already runs in its own worker process; give one of them"},
		"demo argument":      {[]string{"demo", "-x"}, "orgpatch demo: flag provided but not defined: -x (see orgpatch demo -h)"},
		"unknown command":    {[]string{"destroy"}, `orgpatch: unknown command "destroy"`},
		"teardown off a tty": {[]string{"teardown"}, "orgpatch teardown: refusing to tear down without --yes: stdin is not a terminal to confirm on"},
	} {
		t.Run(name, func(t *testing.T) {
			oldTerminal := stdinIsTerminal
			t.Cleanup(func() { stdinIsTerminal = oldTerminal })
			stdinIsTerminal = func() bool { return false }
			args := tc.args
			if !slices.Contains(args, "--endpoint") && (args[0] == "plan" || args[0] == "apply" || args[0] == "teardown" || args[0] == "invoke" && len(args) > 1) {
				args = append(args, "--endpoint="+env.URL)
			}
			code, _, errs := cli(t, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			first, _, _ := strings.Cut(errs, "\n")
			switch {
			case strings.HasPrefix(name, "config"):
				if !strings.Contains(first, "--config") || !strings.Contains(errs, tc.want) {
					t.Errorf("stderr %q, want a message naming --config and %q", errs, tc.want)
				}
			case name == "unknown command":
				if !strings.Contains(first, tc.want) || !strings.Contains(errs, "usage: orgpatch COMMAND") {
					t.Errorf("stderr %q, want %q and the usage", errs, tc.want)
				}
			default:
				if !strings.Contains(first, tc.want) || strings.Count(errs, "\n") != 1 {
					t.Errorf("stderr %q, want one line with %q", errs, tc.want)
				}
			}
			if n := env.Server.CountCalls(nil); n != 0 {
				t.Errorf("%d calls reached the simulator, want none", n)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := cli(t, "help")
	if code != 0 {
		t.Errorf("orgpatch help: exit %d", code)
	}
	for name, c := range commands {
		if !strings.Contains(out, "  "+name+strings.Repeat(" ", 13-len(name))+c.summary+"\n") {
			t.Errorf("orgpatch help does not list %q with its summary:\n%s", name, out)
		}
	}
	code, _, errs := cli(t)
	if code != 2 || !strings.Contains(errs, "usage: orgpatch COMMAND") {
		t.Errorf("orgpatch alone: exit %d, stderr %q; want 2 and the usage", code, errs)
	}
	for _, args := range [][]string{{"plan", "-h"}, {"help", "plan"}} {
		code, out, _ := cli(t, args...)
		if code != 0 || !strings.HasPrefix(out, "usage: orgpatch plan [flags]\n"+planSummary) || strings.Count(out, "-accounts") != 1 {
			t.Errorf("orgpatch %s: exit %d, output:\n%s", strings.Join(args, " "), code, out)
		}
	}
}

func TestInvoke(t *testing.T) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 2, Regions: []string{"us-east-1", "eu-west-1"}})
	env := simtest.Start(t, org)
	code, out, errs := cli(t, "invoke", "../../events/cfn-create.json", "--endpoint", env.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, want := range []string{
		"trigger cloudformation, action converge: CloudFormation Create of OrgPatch",
		"6 targets: 6 converged; window 18 created; target 18 created; task 18 created; dhmc 6 updated; 60 writes",
		`CloudFormation received: SUCCESS, PhysicalResourceId "orgpatch", RequestId 9f5e1a0c-6a34-4d0b-9f3c-1d0a2b3c4d5e`,
		`Data: {"Converged":6,"Failed":0,"Pending":0,"Targets":6,"Writes":60}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = cli(t, "invoke", "--endpoint", env.URL, "../../events/schedule.json")
	if code != 0 || !strings.Contains(out, "6 targets: 6 unchanged\n0 writes") {
		t.Errorf("schedule after create: exit %d, output:\n%s", code, out)
	}
}

// TestInvokeEverySampleAgainstTheSimulator: the samples of the state
// machine's steps and of the report run through invoke against a simulator:
// a step's nested ResponseURL goes to the loopback capture, and the report
// and the runs' objects go to the simulator's S3.
func TestInvokeEverySampleAgainstTheSimulator(t *testing.T) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 2, Regions: []string{"us-east-1", "eu-west-1"}})
	env := simtest.Start(t, org)
	if code, out, errs := cli(t, "invoke", "../../events/cfn-create.json", "--endpoint", env.URL); code != 0 {
		t.Fatalf("create: exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, tc := range []struct{ file, want string }{
		{"stepfunctions-abort.json", "CloudFormation received: FAILED"},
		{"stepfunctions-discover.json", `"itemsKey":"runs/schedule-89d1a02d-5ec7-412e-82f5-13505f849b41/items.json"`},
		{"compliance-report.json", "trigger report-schedule, action report"},
	} {
		code, out, errs := cli(t, "invoke", "--endpoint", env.URL, "../../events/"+tc.file)
		if !strings.Contains(out, tc.want) || strings.Contains(errs+out, "amazonaws.com") {
			t.Errorf("%s: exit %d, stderr %q, output:\n%s\nwant %q and nothing sent to AWS", tc.file, code, errs, out, tc.want)
		}
	}
	objects := env.Server.CountCalls(func(c sim.Call) bool { return c.Service == "s3" && c.Operation == "PutObject" })
	if objects == 0 {
		t.Error("neither the discover step nor the report wrote to the simulator's S3")
	}
}

func TestDemoCommand(t *testing.T) {
	code, out, errs := cli(t, "demo")
	if code != 0 {
		t.Fatalf("orgpatch demo: exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, want := range []string{"=== Step 6/8: promotion: prod gets the patches dev tested", "=== Step 7/8: disable and tear down", "=== Step 8/8: the organization's patch compliance", "demo passed: 8 steps,"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestMain lets the test binary stand in for orgpatch when a test starts
// it as a worker process (bench -workers), with ORGPATCH_TEST_AS_MAIN set.
func TestMain(m *testing.M) {
	if os.Getenv("ORGPATCH_TEST_AS_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestBenchWorkers runs a whole-organization run as the state machine does,
// each batch in a worker process, and prints its figures.
func TestBenchWorkers(t *testing.T) {
	t.Setenv("ORGPATCH_TEST_AS_MAIN", "1")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "-workers", "2", "-accounts", "4", "-regions", "2", "-latency", "1ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"4 accounts (+ management) x 2 regions: 10 targets", "batches         1 of up to", "worker max RSS", "10000 accounts", "quotas of the operations called", "sts/AssumeRole "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}
