package main

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io"
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
		{[]string{"--csv", dir}, "--csv: open"},
		{[]string{"--sla", "urgent=3"}, `--sla "urgent=3": want severity=days, the severity one of critical, high, medium, low, informational, unspecified`},
		{[]string{"--sla", "critical=0"}, `--sla "critical=0": want a whole number of days from 1 to 3650`},
		{[]string{"--run-id", "a/b"}, `--run-id "a/b": want 1 to 128 letters`},
		{[]string{"--previous", filepath.Join(dir, "none.jsonl.gz")}, "--previous: open"},
		{[]string{"--bucket", "orgpatch-compliance"}, `--bucket "orgpatch-compliance": only with --securityhub`},
		{[]string{"--securityhub", "--bucket", "Reports_Bucket"}, `--bucket "Reports_Bucket": want an S3 bucket name`},
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
	dir := t.TempDir()
	page, records, csvFile := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.jsonl.gz"), filepath.Join(dir, "r.csv")

	code, out, errs := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--html", page, "--records", records, "--csv", csvFile)
	if code != 1 {
		t.Fatalf("exit %d, stderr %q; want 1 for the account without its role", code, errs)
	}
	for _, want := range []string{"Patch compliance at ", "% compliant and scanned within 7 days", "organization", "by OU, worst first",
		"Not read (10 read, 2 failed, 2 suspended):\n  666666666666 eu-west-1: FAILED: ", "777777777777 us-east-1: SUSPENDED", "HTML page: " + page} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Every machine of every readable account x region is one record, in
	// the stream on stdout and in the file alike; every account x region
	// in scope one coverage record; the run one Run record, last.
	want, targets := 0, 0
	for _, a := range env.Server.Org().Accounts {
		targets += 2
		if a.ID == "666666666666" || a.Status != sim.StatusActive {
			continue
		}
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			want += len(env.Server.Nodes().List(a.ID, r))
		}
	}
	_, stream, _ := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--output", "jsonl")
	f, err := os.Open(records)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("--records %s is not gzip: %v", records, err)
	}
	file, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stdout": stream, "--records": string(file)} {
		count := map[string]int{}
		last := ""
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			var r compliance.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.RunId == "" || (r.RecordType != compliance.RunRecord && r.Account == "") {
				t.Fatalf("%s line %d: %v %q", name, len(count)+1, err, sc.Text())
			}
			count[r.RecordType]++
			last = r.RecordType
		}
		if count[compliance.NodeRecord] != want || count[compliance.CoverageRecord] != targets || count[compliance.RunRecord] != 1 || last != compliance.RunRecord {
			t.Errorf("%s: records %v, the last a %s; want %d nodes, %d coverage, one Run last", name, count, last, want, targets)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(string(must(os.ReadFile(csvFile))))).ReadAll()
	if err != nil || len(rows) != want+1 || rows[0][0] != "RunId" {
		t.Errorf("--csv: %v, %d rows; want the header and %d nodes", err, len(rows), want)
	}
	_, js, _ := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--output", "json")
	var sum compliance.Summary
	if err := json.Unmarshal([]byte(js), &sum); err != nil || sum.Organization.Nodes+sum.Organization.Unmanaged != want || sum.Failed != 2 {
		t.Errorf("--output json: %v; nodes %d + unmanaged %d, failed %d; want %d machines, 2 failed", err, sum.Organization.Nodes, sum.Organization.Unmanaged, sum.Failed, want)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("--html %s: %v, %d bytes without a chart", page, err, len(b))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A second report with the first's records reuses the patch lists of the
// nodes not scanned since: no compliance item is read again, and every
// missing patch keeps the date the first run saw it.
func TestReportReusesThePreviousRun(t *testing.T) {
	env := simtest.Start(t, nil, sim.WithNodesPerTarget(150))
	cfg := configFile(t, "regions: [us-east-1]\n")
	dir := t.TempDir()
	first, second := filepath.Join(dir, "1.jsonl.gz"), filepath.Join(dir, "2.jsonl")
	cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--records", first, "--run-id", "first")
	items := func() int {
		return env.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "ListComplianceItems" })
	}
	before, calls := items(), env.Server.CountCalls(nil)
	if before == 0 {
		t.Fatal("the first run read no compliance items")
	}
	_, out, errs := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--previous", first, "--records", second, "--run-id", "second")
	if n := items() - before; n != 0 {
		t.Errorf("the second run read compliance items %d times; want 0: no node was scanned since\n%s", n, errs)
	}
	if again := env.Server.CountCalls(nil) - calls; 2*again > calls {
		t.Errorf("the second run made %d calls, the first %d: want at most half", again, calls)
	}
	if !strings.Contains(out, "reused from run first") {
		t.Errorf("the table does not say what was reused:\n%s", out)
	}
	firstSeen := map[string]string{}
	for _, r := range readRecords(t, first) {
		for _, p := range r.Patches() {
			firstSeen[r.ResourceId+" "+p.Id] = p.FirstSeen.String()
		}
	}
	reused := 0
	for _, r := range readRecords(t, second) {
		if r.Reused {
			reused++
		}
		for _, p := range r.Patches() {
			if firstSeen[r.ResourceId+" "+p.Id] != p.FirstSeen.String() {
				t.Errorf("%s %s first seen %s; the first run saw it at %s", r.ResourceId, p.Id, p.FirstSeen, firstSeen[r.ResourceId+" "+p.Id])
			}
		}
	}
	if reused == 0 || reused != len(firstSeenNodes(firstSeen)) {
		t.Errorf("%d records reused, want every non-compliant node's (%d)", reused, len(firstSeenNodes(firstSeen)))
	}
}

func firstSeenNodes(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[strings.Fields(k)[0]] = true
	}
	return out
}

// readRecords reads a records file, gzip-compressed or not.
func readRecords(t *testing.T, path string) []compliance.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	var out []compliance.Record
	dec := json.NewDecoder(r)
	for dec.More() {
		var rec compliance.Record
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}
