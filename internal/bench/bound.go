package bench

import (
	"fmt"
	"time"

	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// Bound is the least wall time any run making the measured calls could
// take: the largest of three terms, each a floor on its own.
type Bound struct {
	// Fanout: every call takes at least the latency while holding one of
	// the Concurrency slots, so Calls x latency / Concurrency.
	Fanout time.Duration
	Calls  int
	// Chain: the calls of one target that must follow one another (each
	// needs an answer of the one before: run.TargetCost.Stage) x latency,
	// for the target with the longest such chain.
	Chain      time.Duration
	ChainCalls int
	ChainOf    string // account/region
	// Throttle: a token bucket with burst b refilled at r per second lets
	// at most b + r x t calls through in t, so a bucket that let n calls
	// through needs (n - b) / r; the bucket needing the longest.
	Throttle       time.Duration
	ThrottleBucket string // account/region/service/operation
	ThrottleCalls  int
	ThrottleQuota  sim.Quota
}

// Max is the bound: the largest term.
func (b Bound) Max() time.Duration { return max(b.Fanout, b.Chain, b.Throttle) }

// Binds names the term that sets the bound.
func (b Bound) Binds() string {
	switch b.Max() {
	case b.Fanout:
		return "fan-out"
	case b.Chain:
		return "chain"
	}
	return "throttle"
}

// Terms says how each term was computed.
func (b Bound) Terms(latency time.Duration, concurrency int) string {
	s := fmt.Sprintf("fan-out %s = %d calls x %s / %d; chain %s = %d dependent calls x %s (%s)",
		round(b.Fanout), b.Calls, latency, concurrency, round(b.Chain), b.ChainCalls, latency, b.ChainOf)
	if b.ThrottleBucket == "" {
		return s + "; throttle 0 (no throttled operation called)"
	}
	return s + fmt.Sprintf("; throttle %s = (%d calls - burst %d) / %g per s (%s)",
		round(b.Throttle), b.ThrottleCalls, b.ThrottleQuota.Burst, b.ThrottleQuota.Rate, b.ThrottleBucket)
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// computeBound derives the bound from the calls a run made.
func computeBound(calls []sim.Call, latency time.Duration, concurrency int, quota func(service, op string) (sim.Quota, bool)) Bound {
	b := Bound{Calls: len(calls)}
	b.Fanout = time.Duration(float64(len(calls)) * float64(latency) / float64(concurrency))

	seen := map[string]map[int]bool{} // account/region -> stages called
	passed := map[bucket]int{}        // calls each bucket let through
	for _, c := range calls {
		if c.Service == sim.ServiceSSM || c.Service == sim.ServiceTagging {
			if stage := run.TargetCost.Stage(c.Operation, c.Write); stage > 0 {
				key := c.Account + "/" + c.Region
				if seen[key] == nil {
					seen[key] = map[int]bool{}
				}
				seen[key][stage] = true
			}
		}
		if !c.Throttled {
			passed[bucket{c.Account, c.Region, c.Service, c.Operation}]++
		}
	}
	for key, st := range seen {
		if len(st) > b.ChainCalls || (len(st) == b.ChainCalls && key < b.ChainOf) {
			b.ChainCalls, b.ChainOf = len(st), key
		}
	}
	b.Chain = time.Duration(b.ChainCalls) * latency

	for k, n := range passed {
		q, ok := quota(k.service, k.op)
		if !ok || n <= q.Burst {
			continue
		}
		d := time.Duration(float64(n-q.Burst) / q.Rate * float64(time.Second))
		name := k.account + "/" + k.region + "/" + k.service + "/" + k.op
		if d > b.Throttle || (d == b.Throttle && name < b.ThrottleBucket) {
			b.Throttle, b.ThrottleBucket, b.ThrottleCalls, b.ThrottleQuota = d, name, n, q
		}
	}
	return b
}

// bucket is what the simulator throttles by.
type bucket struct{ account, region, service, op string }
