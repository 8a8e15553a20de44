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
		// 192 KiB of output at 256 bytes a target: 45 accounts of 17
		// (45 x 1.2 s to derive + 12 rounds of 3 s = 90 s of 435 s).
		"a Lambda worker, 17 regions: the output binds": {stepfn.Sizing{}, 17, 64, 30 * time.Second, 45},
		// Deriving binds: n x 1.2 s + ceil(n/64) x 3 s <= (900-30)/2 s:
		// 347 x 1.2 = 416.4 s + 6 x 3 s = 434.4 s.
		"one region: deriving binds": {stepfn.Sizing{}, 1, 64, 30 * time.Second, 347},
		// 6 rounds of 60 s (7 leave no time to derive): 22 accounts x 17
		// targets in 6 rounds of 64, + 22 x 1.2 s = 386.4 s of 435 s.
		"slow targets: time binds": {stepfn.Sizing{TargetCost: 60 * time.Second}, 17, 64, 30 * time.Second, 22},
		// (800-200)/2 ms = 300 ms, rounds of 100 ms, 4 targets each, 10 ms
		// to derive an account: 4 accounts (40 ms + 2 rounds = 240 ms);
		// 5 need 50 ms + 3 rounds = 350 ms.
		"a tiny worker deriving": {stepfn.Sizing{WorkerTimeout: 800 * time.Millisecond, TargetCost: 100 * time.Millisecond, AccountCost: 10 * time.Millisecond}, 2, 4, 200 * time.Millisecond, 4},
		"never below one":        {stepfn.Sizing{WorkerTimeout: time.Second, TargetCost: time.Minute}, 17, 1, 0, 1},
		"an explicit maximum":    {stepfn.Sizing{MaxAccounts: 3}, 17, 64, 0, 3},
	} {
		if got := tc.s.BatchSize(tc.targets, tc.concurrency, tc.reserve); got != tc.want {
			t.Errorf("%s: BatchSize(%d, %d, %s) = %d, want %d", name, tc.targets, tc.concurrency, tc.reserve, got, tc.want)
		}
	}
}
