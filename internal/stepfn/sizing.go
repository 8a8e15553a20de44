package stepfn

import (
	"time"

	"github.com/orgpatch/orgpatch/internal/run"
)

// Sizing decides how many accounts one batch (one worker invocation) holds,
// so that a batch finishes well inside a worker's time and its result fits
// where the Distributed Map keeps it.
type Sizing struct {
	// WorkerTimeout is one worker's time limit (Lambda's maximum, 15
	// minutes). A batch is sized to need at most half of it, after Reserve.
	WorkerTimeout time.Duration
	// TargetCost is the wall time one account x region takes in a worker,
	// throttling retries included (DefaultTargetCost).
	TargetCost time.Duration
	// AccountCost is the time a worker takes to derive one account of its
	// batch again, before its targets (DefaultAccountCost).
	AccountCost time.Duration
	// TargetResultBytes is the size of one target's record in a worker's
	// output, without its actions (DefaultTargetResultBytes).
	TargetResultBytes int
	// OutputBytes bounds a worker's output: Step Functions passes at most
	// 256 KiB between states, a child execution's output included
	// (DefaultOutputBytes keeps a quarter of it free).
	OutputBytes int
	// MaxAccounts, when positive, overrides the computed batch size (tests
	// use it to build a batch too big for its worker).
	MaxAccounts int
}

// Sizing defaults. DefaultTargetCost is the time the cost model budgets a
// target (run.TargetCost.Wall: its calls at a pessimistic latency, twice
// over for throttling retries). A target's record without actions measured
// at most 150 bytes (an error message makes a failed one longer):
// DefaultTargetResultBytes allows 256.
const (
	DefaultWorkerTimeout     = 15 * time.Minute
	DefaultTargetResultBytes = 256
	DefaultOutputBytes       = 192 << 10
)

// DefaultTargetCost is run.TargetCost.Wall(), DefaultAccountCost
// run.TargetCost.DeriveWall().
var (
	DefaultTargetCost  = run.TargetCost.Wall()
	DefaultAccountCost = run.TargetCost.DeriveWall()
)

func (s Sizing) withDefaults() Sizing {
	if s.WorkerTimeout <= 0 {
		s.WorkerTimeout = DefaultWorkerTimeout
	}
	if s.TargetCost <= 0 {
		s.TargetCost = DefaultTargetCost
	}
	if s.AccountCost <= 0 {
		s.AccountCost = DefaultAccountCost
	}
	if s.TargetResultBytes <= 0 {
		s.TargetResultBytes = DefaultTargetResultBytes
	}
	if s.OutputBytes <= 0 {
		s.OutputBytes = DefaultOutputBytes
	}
	return s
}

// BatchSize is the number of accounts per batch for accounts of at most
// targets account x region targets each, worked on concurrency at a time
// with reserve kept free before the worker's deadline: the smaller of what
// half the worker's remaining time allows (each account derived again one
// after another, then its targets in rounds) and what its output allows,
// and at least one.
func (s Sizing) BatchSize(targets, concurrency int, reserve time.Duration) int {
	s = s.withDefaults()
	if s.MaxAccounts > 0 {
		return s.MaxAccounts
	}
	targets = max(targets, 1)
	concurrency = max(concurrency, 1)
	// Targets run concurrency at a time: rounds of TargetCost each.
	budget := (s.WorkerTimeout - reserve) / 2
	rounds := int(budget / s.TargetCost)
	n := min(rounds*concurrency/targets, s.OutputBytes/(targets*s.TargetResultBytes))
	// Less the time the accounts take to derive.
	need := func(n int) time.Duration {
		return time.Duration(n)*s.AccountCost + time.Duration((n*targets+concurrency-1)/concurrency)*s.TargetCost
	}
	for n > 1 && need(n) > budget {
		n--
	}
	return max(n, 1)
}
