package run

import "time"

// CallCost is the cost model of one account x region target: how many
// calls it makes, which of them wait for one another, and the time a
// target is budgeted. The batch sizing of a Step Functions run
// (internal/stepfn), the benchmark's bound (internal/bench) and the
// arithmetic the README quotes all take it from here.
type CallCost struct {
	// Created and Unchanged are the SSM and tagging calls of a target of
	// the default configuration where everything is created, and where
	// nothing changes (TestTargetCostIsWhatATargetCalls holds them to what
	// a target does; `orgpatch bench` measured 13.2 and 12.2 calls per
	// target at 300 accounts x 17 regions, the fraction being the
	// per-account calls (AssumeRole, DescribeRegions), the organization's
	// and the documents' (read once per region and run) shared out).
	Created, Unchanged int
	// Budgeted is the calls a target is allowed for: Created, with headroom.
	Budgeted int
	// SlowCall is the pessimistic latency of one call the budget assumes.
	SlowCall time.Duration
	// Retries multiplies the budget's time, for throttling retries.
	Retries int
	// Derive is the calls a worker makes, one after another, to derive
	// one account of its batch again before any of its targets
	// (stepfn.Work, through Decide with Request.Only): DescribeAccount,
	// ListParents up to the root (an exclusion or a ring by OU; 4 levels
	// budgeted) and ListTagsForResource (a ring by tag).
	Derive int
}

// TargetCost is the cost of a target today.
var TargetCost = CallCost{Created: 13, Unchanged: 12, Budgeted: 15, SlowCall: 100 * time.Millisecond, Retries: 2, Derive: 6}

// Wall is the time a target is budgeted: Budgeted calls at SlowCall each,
// Retries times over (15 x 100 ms x 2 = 3 s).
func (c CallCost) Wall() time.Duration {
	return time.Duration(c.Budgeted*c.Retries) * c.SlowCall
}

// DeriveWall is the time deriving one account is budgeted: Derive calls
// at SlowCall each, Retries times over (6 x 100 ms x 2 = 1.2 s).
func (c CallCost) DeriveWall() time.Duration {
	return time.Duration(c.Derive*c.Retries) * c.SlowCall
}

// Stage is where a target's call sits in its chain of calls that depend on
// one another (internal/reconcile's observe, then apply), 0 for a call
// outside the chain. The windows are listed (and the owned ones found
// through the Resource Groups Tagging API beside them), then the tags of
// any window the two disagree on are read, then the owned windows' targets
// and tasks, then each Run Command task's parameters. Any write comes after
// all the reads (the plan is computed from them), one stage more. Reads not
// listed (the service setting, documents) run beside the first stage.
func (CallCost) Stage(operation string, write bool) int {
	if write {
		return writeStage
	}
	return stages[operation]
}

var stages = map[string]int{
	"DescribeMaintenanceWindows":       1,
	"GetResources":                     1,
	"ListTagsForResource":              2,
	"DescribeMaintenanceWindowTargets": 3,
	"DescribeMaintenanceWindowTasks":   3,
	"GetMaintenanceWindowTask":         4,
}

const writeStage = 5
