package stepfn

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/report"
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
	// TargetResultBytes bounds one target's record in a worker's output,
	// whatever its outcome: Work cuts a longer record's texts to fit
	// (FitRecord), so a batch is sized from its worst case, not its usual
	// one (DefaultTargetResultBytes).
	TargetResultBytes int
	// OutputBytes bounds a worker's output: Step Functions passes at most
	// 256 KiB between states, a child execution's output included
	// (DefaultOutputBytes keeps 1 KiB of it for the output's envelope).
	OutputBytes int
	// MaxAccounts, when positive, overrides the computed batch size (tests
	// use it to build a batch too big for its worker).
	MaxAccounts int
}

// Sizing defaults. DefaultTargetCost is the time the cost model budgets a
// target (run.TargetCost.Wall: its calls at a pessimistic latency, twice
// over for throttling retries).
// A converged target's record measured 150 bytes, but a failed one carries
// AWS's message, the advice and the error's chain: a role that cannot be
// assumed makes about 950 bytes in every region of its account. Sizing
// from the usual record let 12 such accounts in a batch of 45 x 17 push
// its output past Step Functions' limit (States.DataLimitExceeded, and the
// whole batch, converged targets included, reported not attempted), so
// batches are sized from DefaultTargetResultBytes, the most any record may
// take (Work holds every record to it: FitRecord).
const (
	DefaultWorkerTimeout     = 15 * time.Minute
	DefaultTargetResultBytes = 1024
	DefaultOutputBytes       = 255 << 10
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
	// Each record is followed by a comma in the output's array.
	n := min(rounds*concurrency/targets, s.OutputBytes/(targets*(s.TargetResultBytes+1)))
	// Less the time the accounts take to derive.
	need := func(n int) time.Duration {
		return time.Duration(n)*s.AccountCost + time.Duration((n*targets+concurrency-1)/concurrency)*s.TargetCost
	}
	for n > 1 && need(n) > budget {
		n--
	}
	return max(n, 1)
}

// FitRecord cuts t's texts (reason, error message, advice, chain) until its
// JSON takes at most limit bytes, the longest first, each to half its
// length, and says whether it fits; the status, counts and names stay.
func FitRecord(t *report.Target, limit int) bool {
	for {
		b, err := json.Marshal(t)
		if err != nil || len(b) <= limit {
			return err == nil
		}
		texts := []*string{&t.Reason}
		if t.Error != nil {
			texts = append(texts, &t.Error.Message, &t.Error.Advice, &t.Error.Chain, &t.Error.Operation, &t.Error.Service, &t.Error.Code)
		}
		longest := texts[0]
		for _, p := range texts[1:] {
			if len(*p) > len(*longest) {
				longest = p
			}
		}
		if len(*longest) == 0 {
			return false
		}
		*longest = cut(*longest, len(*longest)/2)
	}
}

// cut is s's first n bytes, valid UTF-8, marked as cut.
func cut(s string, n int) string {
	if n < 4 {
		return ""
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}
