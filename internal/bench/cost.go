package bench

import "time"

// Cost is what one whole-organization run costs on AWS, from the cost
// model below and what the run measured.
type Cost struct {
	// LambdaGBSeconds is every worker's billed duration times its memory:
	// the measured batch walls, rounded up to the millisecond as Lambda
	// bills, at WorkerMemoryMB. The discover and summarize steps (a few
	// seconds each) are not measured apart and not counted.
	LambdaGBSeconds float64
	// StateTransitions are the Standard workflow's billed transitions:
	// parentTransitions in the parent execution, and one per child
	// execution (its Work state), retries not counted (none in a clean run).
	StateTransitions int
}

// parentTransitions are the states a run's parent execution enters when
// it does not wait its turn: Limits, Discover, Turn, Accounts, Summarize,
// Done, Converged.
const parentTransitions = 7

// Prices in us-east-1 (AWS's public price lists): Lambda on arm64 per
// GB-second, Step Functions Standard per state transition.
const (
	PriceGBSecond   = 0.0000133334
	PriceTransition = 0.000025
)

// CostOf is the cost of a run whose batches took walls.
func CostOf(walls []time.Duration) Cost {
	c := Cost{StateTransitions: parentTransitions + len(walls)}
	for _, w := range walls {
		ms := (w + time.Millisecond - 1) / time.Millisecond
		c.LambdaGBSeconds += float64(ms) / 1000 * WorkerMemoryMB / 1024
	}
	return c
}

// Dollars is the cost at the prices above.
func (c Cost) Dollars() float64 {
	return c.LambdaGBSeconds*PriceGBSecond + float64(c.StateTransitions)*PriceTransition
}
