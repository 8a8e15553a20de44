package bench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkRuns asserts what every bench run promises: the first run creates,
// the second writes nothing, no run beats its bound, and no more calls
// were in flight than the concurrency.
func checkRuns(t *testing.T, opts Options, results []Result) {
	t.Helper()
	if len(results) != 2 {
		t.Fatalf("%d results, want 2 (first and second run)", len(results))
	}
	first, second := results[0], results[1]
	wantTargets := (opts.Accounts + 1) * len(opts.Regions)
	if first.Targets != wantTargets || second.Targets != wantTargets {
		t.Errorf("targets = %d, %d; want %d each", first.Targets, second.Targets, wantTargets)
	}
	if first.Writes == 0 {
		t.Error("first run made no writes on a fresh organization")
	}
	if second.Writes != 0 {
		t.Errorf("second run made %d writes, want 0", second.Writes)
	}
	for _, r := range results {
		if r.Bound.Max() <= 0 || r.Wall < r.Bound.Max() {
			t.Errorf("%s: wall %s below the bound %s (%s): the bound is wrong", r.Name, r.Wall, r.Bound.Max(), r.Bound.Terms(opts.Latency, opts.Concurrency))
		}
		if r.PeakInFlight > opts.Concurrency || r.PeakInFlight < 1 {
			t.Errorf("%s: peak calls in flight %d, want 1..%d (the concurrency)", r.Name, r.PeakInFlight, opts.Concurrency)
		}
		if r.Connections > opts.Concurrency {
			t.Errorf("%s: %d new connections, want at most %d (the concurrency: one per call in flight, each kept alive)", r.Name, r.Connections, opts.Concurrency)
		}
	}
}

func TestTinyOrganization(t *testing.T) {
	opts := Options{Accounts: 3, Regions: []string{"us-east-1", "eu-west-1"}, Latency: 2 * time.Millisecond, Concurrency: 4}
	results, err := Measure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkRuns(t, opts, results)

	var buf bytes.Buffer
	if err := WriteTable(&buf, opts, results); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"3 accounts (+ management) x 2 regions; latency 2ms per call; concurrency 4",
		"sts/AssumeRole", "600/s burst  600  IAM User Guide",
		"ssm/DescribeMaintenanceWindows", "assumption: AWS publishes no rate",
		"peak in flight", "new connections", "reads/target", "binds", "wall/bound",
		"first (create)", "second (no change)", "fan-out", "chain", "throttle",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)
}

// A bucket that lets few calls through binds the bound: a run of the
// management account's AssumeRole at 50 per second.
func TestThrottleBinds(t *testing.T) {
	opts := Options{Accounts: 2, Regions: []string{"us-east-1"}, Latency: time.Millisecond, Concurrency: 8}
	opts = opts.withDefaults()
	q := opts.Quotas["sts/AssumeRole"]
	q.Rate, q.Burst = 50, 1
	opts.Quotas["sts/AssumeRole"] = q
	results, err := Measure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkRuns(t, opts, results)
	for _, r := range results {
		t.Logf("%s: wall %s, %s", r.Name, r.Wall, r.Bound.Terms(opts.Latency, opts.Concurrency))
	}
	if b := results[0].Bound; b.Binds() != "throttle" || !strings.HasSuffix(b.ThrottleBucket, "/sts/AssumeRole") {
		t.Errorf("first run's bound %s binds by %s on %q, want the throttle on AssumeRole", b.Max(), b.Binds(), b.ThrottleBucket)
	}
}

func TestSeparateProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds orgpatch")
	}
	bin := filepath.Join(t.TempDir(), "orgpatch")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/orgpatch").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	opts := Options{Accounts: 2, Regions: []string{"us-east-1", "eu-west-1"}, Latency: 2 * time.Millisecond, Concurrency: 4, Command: []string{bin}}
	results, err := Measure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkRuns(t, opts, results)
	for _, r := range results {
		if r.CPU <= 0 || r.MaxRSS <= 0 {
			t.Errorf("%s: orgpatch CPU %s, max RSS %d: not measured", r.Name, r.CPU, r.MaxRSS)
		}
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, opts, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "orgpatch max RSS MiB") {
		t.Errorf("table lacks orgpatch's own figures:\n%s", buf.String())
	}
	t.Log("\n" + buf.String())
}

// TestCostOf: the run's cost adds the batches' billed walls at a worker's
// memory and counts one transition per batch besides the parent's.
func TestCostOf(t *testing.T) {
	c := CostOf([]time.Duration{1500 * time.Millisecond, 499*time.Millisecond + 1})
	if c.StateTransitions != parentTransitions+2 {
		t.Errorf("transitions = %d, want %d", c.StateTransitions, parentTransitions+2)
	}
	// 1.5 s + 0.5 s (0.499000001 s billed as 0.5 s) at 512 MB: 1 GB-second.
	if c.LambdaGBSeconds != 1.0 {
		t.Errorf("GB-seconds = %v, want 1", c.LambdaGBSeconds)
	}
}
