package stepfn_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

func TestBatchSize(t *testing.T) {
	for name, tc := range map[string]struct {
		s                    stepfn.Sizing
		targets, concurrency int
		reserve              time.Duration
		want                 int
	}{
		// 255 KiB of output at 1 KiB and a comma a target: 14 accounts of 17
		// (deriving them takes 14 x 1.2 s, their targets 4 rounds of 3 s).
		"a Lambda worker, 17 regions: the output binds": {stepfn.Sizing{}, 17, 64, 30 * time.Second, 14},
		"one region": {stepfn.Sizing{}, 1, 64, 30 * time.Second, 254},
		// Deriving binds when records are small: n x 1.2 s + ceil(n/64) x
		// 3 s <= (900-30)/2 s: 347 x 1.2 = 416.4 s + 6 x 3 s = 434.4 s.
		"one region, small records: deriving binds": {stepfn.Sizing{TargetResultBytes: 256}, 1, 64, 30 * time.Second, 347},
		// 3 rounds of 2 minutes: 11 accounts of 17 (+ 13.2 s to derive).
		"slow targets: time binds": {stepfn.Sizing{TargetCost: 2 * time.Minute}, 17, 64, 30 * time.Second, 11},
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

// TestFitRecord: a record whose texts outgrow the bound is cut to fit,
// its account, region, status and error code kept; one that fits is left
// as it is.
func TestFitRecord(t *testing.T) {
	long := strings.Repeat("<AccessDenied> \u00e9 ", 400)
	big := report.Target{Account: "123456789012", Region: "ap-southeast-3", Mode: "converge", Status: report.Failed,
		Error: &report.Error{Service: "STS", Operation: "AssumeRole", Code: "AccessDenied", Message: long, Advice: long, Chain: long, Scope: report.ScopeAccount}}
	if !stepfn.FitRecord(&big, stepfn.DefaultTargetResultBytes) {
		t.Fatal("FitRecord could not fit a record whose texts alone are too long")
	}
	b, _ := json.Marshal(big)
	if len(b) > stepfn.DefaultTargetResultBytes {
		t.Errorf("the fitted record takes %d bytes, more than %d", len(b), stepfn.DefaultTargetResultBytes)
	}
	if big.Account != "123456789012" || big.Region != "ap-southeast-3" || big.Status != report.Failed || big.Error.Code != "AccessDenied" {
		t.Errorf("fitting changed what the record says: %+v", big)
	}
	if !strings.HasSuffix(big.Error.Message, "...") {
		t.Errorf("a cut message is not marked as cut: %q", big.Error.Message)
	}
	small := report.Target{Account: "123456789012", Region: "us-east-1", Status: report.Failed, Error: &report.Error{Message: "denied", Chain: "assume role: denied"}}
	stepfn.FitRecord(&small, stepfn.DefaultTargetResultBytes)
	if *small.Error != (report.Error{Message: "denied", Chain: "assume role: denied"}) {
		t.Errorf("a record that fits was changed: %+v", small.Error)
	}
}
