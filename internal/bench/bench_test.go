package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestTinyOrganization(t *testing.T) {
	opts := Options{Accounts: 3, Regions: []string{"us-east-1", "eu-west-1"}, Latency: 2 * time.Millisecond, Concurrency: 4}
	results, err := Measure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2 (first and second run)", len(results))
	}
	first, second := results[0], results[1]
	// 4 accounts (management + 3) x 2 regions.
	if first.Targets != 8 || second.Targets != 8 {
		t.Errorf("targets = %d, %d; want 8 each", first.Targets, second.Targets)
	}
	if first.Writes == 0 {
		t.Error("first run made no writes on a fresh organization")
	}
	if second.Writes != 0 {
		t.Errorf("second run made %d writes, want 0", second.Writes)
	}
	if second.Calls == 0 {
		t.Error("second run made no calls: it cannot have checked anything")
	}
	if first.LowerBound <= 0 || first.Wall < first.LowerBound {
		t.Errorf("wall %s below lower bound %s: the bound is wrong", first.Wall, first.LowerBound)
	}
	if first.PeakHeapBytes == 0 {
		t.Error("peak heap not sampled")
	}

	var buf bytes.Buffer
	if err := WriteTable(&buf, opts, results); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"3 accounts (+ management) x 2 regions; latency 2ms per call; throttling 10 requests/s per account x region x API, burst 20; concurrency 4",
		"run", "wall", "targets", "calls", "calls/target", "writes", "peak heap MB", "lower bound", "wall/bound",
		"first (create)", "second (no change)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)
}
