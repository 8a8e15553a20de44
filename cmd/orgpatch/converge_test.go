package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/report"
	runs "github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// cli runs orgpatch in-process with the simulator's management
// credentials in the environment, as a user who exported them would.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", sim.ManagementAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sim.ManagementSecretAccessKey)
	t.Setenv("AWS_REGION", simtest.Region)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// configFile writes a configuration file and returns its path.
func configFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orgpatch.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// twoRegions converges us-east-1 and eu-west-1 and leaves out the default
// organization's account without the configuration role.
const twoRegions = "regions: [us-east-1, eu-west-1]\nexcludedAccounts: ['666666666666']\n"

// windows returns the names of the windows in account x region.
func windows(t *testing.T, env *simtest.Env, account, region string) []string {
	t.Helper()
	api := ssm.NewFromConfig(env.AccountConfig(t, account, sim.DefaultRoleName), func(o *ssm.Options) { o.Region = region })
	out, err := api.DescribeMaintenanceWindows(context.Background(), &ssm.DescribeMaintenanceWindowsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range out.WindowIdentities {
		names = append(names, *w.Name)
	}
	sort.Strings(names)
	return names
}

var sraWindows = []string{"sra_linux_maintenance", "sra_ssm_agent_update", "sra_windows_maintenance"}

func TestPlanChangesNothing(t *testing.T) {
	env := simtest.Start(t, nil)
	code, out, errs := cli(t, "plan", "--endpoint", env.URL, "--config", configFile(t, twoRegions))
	if code != 0 {
		t.Fatalf("plan exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"Plan (dry run: nothing was changed)",
		"The same 10 changes in 10 targets (111111111111/eu-west-1, ",
		"  create window sra_ssm_agent_update: cron(0 0 1 ? * WED *) America/New_York, 6h, cutoff 1h\n",
		"666666666666  -             skipped  0        excluded account\n(10 targets with the same changes, listed once below, not shown)\n",
		"\n11 targets: 10 will change, 1 skipped\n",
		"window: 30 to create, 0 to update, 0 to delete, 0 to reset\n",
		"dhmc: 0 to create, 10 to update, 0 to delete, 0 to reset\n",
		"plan only: nothing was changed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	checkCountsMatchListing(t, out)
	if n := env.Server.WriteCalls(); n != 0 {
		t.Errorf("plan made %d writes, want 0", n)
	}
}

// TestPlanOnTheDefaultOrganization: on the default `sim serve`
// organization the plan ends with counts that match the changes it lists,
// and the account without the configuration role is one line.
func TestPlanOnTheDefaultOrganization(t *testing.T) {
	env := simtest.Start(t, nil)
	code, out, _ := cli(t, "plan", "--endpoint", env.URL)
	if code != 1 {
		t.Errorf("plan exit %d, want 1 (666666666666 has no configuration role)", code)
	}
	checkCountsMatchListing(t, out)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "666666666666 ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "STS AssumeRole AccessDenied: ") ||
		!strings.Contains(lines[0], "check the member-roles StackSet instance in this account") ||
		strings.Contains(lines[0], "operation error") {
		t.Errorf("the role-less account's lines = %q, want one line with the code, AWS's message and the advice\n%s", lines, out)
	}
}

// checkCountsMatchListing checks that the counts a plan ends with are
// those of the changes it lists (a group of N targets counting N times).
func checkCountsMatchListing(t *testing.T, out string) {
	t.Helper()
	listed := map[string]map[string]int{} // resource -> kind -> count
	section := out[strings.Index(out, "Planned changes (dry run):\n"):]
	section, counts, _ := strings.Cut(section, "\n\n")
	times := 0
	for _, l := range strings.Split(section, "\n")[1:] {
		var n int
		switch {
		case strings.HasPrefix(l, "The same "):
			_, after, _ := strings.Cut(l, " changes in ")
			fmt.Sscanf(strings.ReplaceAll(after, ",", ""), "%d targets", &n)
			times = n
		case strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " "):
			times = 1
		case strings.HasPrefix(l, "  "):
			f := strings.Fields(l)
			if listed[f[1]] == nil {
				listed[f[1]] = map[string]int{}
			}
			listed[f[1]][f[0]] += times
		}
	}
	printed := map[string]map[string]int{}
	for _, l := range strings.Split(counts, "\n") {
		var resource string
		var c, u, d, r int
		if n, _ := fmt.Sscanf(l, "%s %d to create, %d to update, %d to delete, %d to reset", &resource, &c, &u, &d, &r); n == 5 {
			m := map[string]int{}
			for kind, v := range map[string]int{"create": c, "update": u, "delete": d, "reset": r} {
				if v > 0 {
					m[kind] = v
				}
			}
			printed[strings.TrimSuffix(resource, ":")] = m
		}
	}
	if len(printed) == 0 {
		t.Fatalf("no counts printed:\n%s", out)
	}
	if diff := cmp.Diff(listed, printed); diff != "" {
		t.Errorf("counts printed vs changes listed (-listed +printed):\n%s\n%s", diff, out)
	}
}

func TestApplyConvergesThenPlanShowsNothing(t *testing.T) {
	env := simtest.Start(t, nil)
	cfg := configFile(t, twoRegions)
	code, out, errs := cli(t, "apply", "--endpoint", env.URL, "--config", cfg)
	if code != 0 {
		t.Fatalf("apply exit %d, stderr %q\n%s", code, errs, out)
	}
	// 5 ACTIVE accounts with the role x 2 regions, 10 writes each; the
	// excluded account is skipped.
	if want := "11 targets: 10 converged, 1 skipped\nwindow: 30 created, 0 updated, 0 deleted, 0 reset\n"; !strings.Contains(out, want) {
		t.Errorf("apply output lacks %q:\n%s", want, out)
	}
	if diff := cmp.Diff(sraWindows, windows(t, env, "444444444444", "eu-west-1")); diff != "" {
		t.Errorf("windows after apply (-want +got):\n%s", diff)
	}
	writes := env.Server.WriteCalls()
	code, out, _ = cli(t, "plan", "--endpoint", env.URL, "--config", cfg, "--output", "json")
	if code != 0 {
		t.Fatalf("plan exit %d", code)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("plan --output json is not a report: %v\n%s", err, out)
	}
	want := report.Counts{Targets: 11, NoChange: 10, Skipped: 1}
	if diff := cmp.Diff(want, rep.Counts); diff != "" || !rep.DryRun {
		t.Errorf("plan after apply: dryRun %v, counts (-want +got):\n%s", rep.DryRun, diff)
	}
	if n := env.Server.WriteCalls(); n != writes {
		t.Errorf("plan after apply wrote %d times", n-writes)
	}
}

func TestApplyExitsOneWhenATargetFails(t *testing.T) {
	env := simtest.Start(t, nil)
	code, out, _ := cli(t, "apply", "--endpoint", env.URL, "--config", configFile(t, "regions: [us-east-1]\n"))
	if code != 1 {
		t.Errorf("apply exit %d, want 1 (666666666666 has no configuration role)", code)
	}
	if want := "666666666666  us-east-1  converge  failed  0        STS AssumeRole AccessDenied: "; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if diff := cmp.Diff(sraWindows, windows(t, env, "222222222222", "us-east-1")); diff != "" {
		t.Errorf("the other accounts are converged all the same (-want +got):\n%s", diff)
	}
}

func TestApplyNamedAccounts(t *testing.T) {
	env := simtest.Start(t, nil)
	code, out, errs := cli(t, "apply", "--endpoint", env.URL, "--config", configFile(t, twoRegions), "--accounts", "333333333333")
	if code != 0 {
		t.Fatalf("apply exit %d, stderr %q", code, errs)
	}
	if want := "2 targets: 2 converged\n"; !strings.Contains(out, want) || !strings.Contains(out, "\n20 writes") {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if got := windows(t, env, "222222222222", "us-east-1"); len(got) != 0 {
		t.Errorf("an account not named got windows: %v", got)
	}
}

func TestTeardown(t *testing.T) {
	for name, tc := range map[string]struct {
		args     []string
		terminal bool
		typed    string
		wantCode int
		wantErr  string
		wantLeft []string // windows left in 222222222222/us-east-1
		wantJSON bool     // stdout is the report as JSON
	}{
		"--yes tears down": {args: []string{"--yes"}, wantCode: 0},
		"off a terminal without --yes refuses": {
			wantCode: 2,
			wantErr:  "orgpatch teardown: refusing to tear down without --yes: stdin is not a terminal to confirm on\n",
			wantLeft: sraWindows,
		},
		"yes typed on the terminal tears down": {terminal: true, typed: "yes\n", wantCode: 0},
		"with --output json the report alone is on stdout": {
			args: []string{"--output", "json"}, terminal: true, typed: "yes\n", wantCode: 0, wantJSON: true,
		},
		"anything else typed changes nothing": {
			terminal: true, typed: "y\n", wantCode: 1,
			wantErr:  "orgpatch teardown: not confirmed; nothing changed\n",
			wantLeft: sraWindows,
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := simtest.Start(t, nil)
			cfg := configFile(t, twoRegions)
			if code, _, errs := cli(t, "apply", "--endpoint", env.URL, "--config", cfg); code != 0 {
				t.Fatalf("apply exit %d: %s", code, errs)
			}
			oldIn, oldTerminal := stdin, stdinIsTerminal
			t.Cleanup(func() { stdin, stdinIsTerminal = oldIn, oldTerminal })
			stdin, stdinIsTerminal = strings.NewReader(tc.typed), func() bool { return tc.terminal }
			env.Server.ResetCalls()
			code, out, errs := cli(t, append([]string{"teardown", "--endpoint", env.URL, "--config", cfg}, tc.args...)...)
			if calls := env.Server.CountCalls(nil); tc.wantCode == 2 && calls != 0 {
				t.Errorf("a refused teardown made %d AWS calls", calls)
			}
			if code != tc.wantCode || (!tc.wantJSON && errs != tc.wantErr) {
				t.Errorf("teardown exit %d, stderr %q; want %d, %q\n%s", code, errs, tc.wantCode, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.wantLeft, windows(t, env, "222222222222", "us-east-1")); diff != "" {
				t.Errorf("windows left (-want +got):\n%s", diff)
			}
			asked := out
			if tc.wantJSON {
				asked = errs
				var rep report.Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Mode != "teardown" || rep.Counts.Writes != 40 {
					t.Errorf("stdout is not the teardown's report (%v):\n%s", err, out)
				}
			}
			if tc.terminal && !strings.Contains(asked, "Type yes to tear down:") {
				t.Errorf("no confirmation asked:\n%s", asked)
			}
		})
	}
}

func TestProgressLinesOffATerminal(t *testing.T) {
	old := progressEvery
	t.Cleanup(func() { progressEvery = old })
	progressEvery = 20 * time.Millisecond
	var out bytes.Buffer
	env := &runs.Env{}
	rep := progress(context.Background(), "apply", &out, env, func() report.Report {
		for range 3 {
			env.BeforeTarget(context.Background(), "111111111111", "us-east-1")
		}
		time.Sleep(100 * time.Millisecond)
		return report.Report{Mode: "converge"}
	})
	if rep.Mode != "converge" {
		t.Errorf("progress returned %+v, not work's report", rep)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "orgpatch apply: 3 targets started, ") || strings.Contains(out.String(), "\r") {
		t.Errorf("progress printed %q, want plain lines ending with 3 targets started", out.String())
	}
	if env.BeforeTarget != nil {
		t.Errorf("progress left its BeforeTarget hook in the environment")
	}
}
