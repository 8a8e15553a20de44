package stepfn_test

import (
	"testing"
	"time"

	"github.com/orgpatch/orgpatch/internal/stepfn"
)

func TestBatchSize(t *testing.T) {
	for name, tc := range map[string]struct {
		s                    stepfn.Sizing
		targets, concurrency int
		reserve              time.Duration
		want                 int
	}{
		// 192 KiB of output at 256 bytes a target: 45 accounts of 17.
		"a Lambda worker, 17 regions: the output binds": {stepfn.Sizing{}, 17, 64, 30 * time.Second, 45},
		"one region":               {stepfn.Sizing{}, 1, 64, 30 * time.Second, 768},
		"slow targets: time binds": {stepfn.Sizing{TargetCost: 60 * time.Second}, 17, 64, 30 * time.Second, 26},
		// (800-200)/2 ms = 3 rounds of 100 ms, 4 targets each: 12 targets.
		"a tiny worker":       {stepfn.Sizing{WorkerTimeout: 800 * time.Millisecond, TargetCost: 100 * time.Millisecond}, 2, 4, 200 * time.Millisecond, 6},
		"never below one":     {stepfn.Sizing{WorkerTimeout: time.Second, TargetCost: time.Minute}, 17, 1, 0, 1},
		"an explicit maximum": {stepfn.Sizing{MaxAccounts: 3}, 17, 64, 0, 3},
	} {
		if got := tc.s.BatchSize(tc.targets, tc.concurrency, tc.reserve); got != tc.want {
			t.Errorf("%s: BatchSize(%d, %d, %s) = %d, want %d", name, tc.targets, tc.concurrency, tc.reserve, got, tc.want)
		}
	}
}
