package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestReportBadFlagsCallNothing(t *testing.T) {
	env := simtest.Start(t, nil, sim.WithNodesPerTarget(3))
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--output", "csv"}, `--output "csv": want text, json or jsonl`},
		{[]string{"--stale-days", "0"}, "--stale-days 0: want a whole number from 1 to 365"},
		{[]string{"--min-agent", "latest"}, `--min-agent "latest": want a dotted version such as 3.0.502`},
		{[]string{"--concurrency", "0"}, "--concurrency 0: want a whole number from 1 to 1000"},
		{[]string{"--html", filepath.Join(dir, "no", "such", "dir", "r.html")}, "--html: open"},
		{[]string{"--records", dir}, "--records: open"},
	} {
		code, _, errs := cli(t, append([]string{"report", "--endpoint", env.URL}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	if n := env.Server.CountCalls(nil); n != 0 {
		t.Errorf("bad flags made %d calls, want 0", n)
	}
}

// The default organization has an account without the configuration role,
// so the report exits 1 naming it, and still reports every other target.
func TestReportOutputs(t *testing.T) {
	env := simtest.Start(t, nil, sim.WithNodesPerTarget(5))
	cfg := configFile(t, "regions: [us-east-1, eu-west-1]\n")
	page, records := filepath.Join(t.TempDir(), "r.html"), filepath.Join(t.TempDir(), "r.jsonl")

	code, out, errs := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--html", page, "--records", records)
	if code != 1 {
		t.Fatalf("exit %d, stderr %q; want 1 for the account without its role", code, errs)
	}
	for _, want := range []string{"Patch compliance at ", "organization", "by OU, worst first", "Not readable (1):\n  666666666666", "HTML page: " + page} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Every machine of every readable account x region is one record, in
	// the stream on stdout and in the file alike.
	want := 0
	for _, a := range env.Server.Org().Accounts {
		if a.ID == "666666666666" || a.Status != sim.StatusActive {
			continue
		}
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			want += len(env.Server.Nodes().List(a.ID, r))
		}
	}
	_, stream, _ := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--output", "jsonl")
	file, err := os.ReadFile(records)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stdout": stream, "--records": string(file)} {
		n := 0
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			var r compliance.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ComplianceType != "Patch" || r.Account == "" || r.Region == "" {
				t.Fatalf("%s line %d: %v %q", name, n+1, err, sc.Text())
			}
			n++
		}
		if n != want {
			t.Errorf("%s: %d records, want %d", name, n, want)
		}
	}
	_, js, _ := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--output", "json")
	var sum compliance.Summary
	if err := json.Unmarshal([]byte(js), &sum); err != nil || sum.Organization.Nodes+sum.Organization.Unmanaged != want || sum.Failed != 1 {
		t.Errorf("--output json: %v; nodes %d + unmanaged %d, failed %d; want %d machines, 1 failed", err, sum.Organization.Nodes, sum.Organization.Unmanaged, sum.Failed, want)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("--html %s: %v, %d bytes without a chart", page, err, len(b))
	}
}
