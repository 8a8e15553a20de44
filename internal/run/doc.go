// Package run is the core every entry point calls once: it decides the
// whole change, converges many account x region targets at once, and
// accounts for every one of them.
//
// The contract:
//   - One decision: from the desired configuration and the previous one
//     (Env.Previous: an Update's old properties, or the stored
//     configuration the CLI reads), every target is worked out once:
//     converge where the new configuration applies; tear down where the
//     previous one applied and the new one does not (regions dropped,
//     accounts newly excluded by id or OU), with the previous
//     configuration; accounts that left the organization stay out. A plan
//     (Request.DryRun) is the same decision without the writes, so the
//     CLI's plan and the Lambda's Update show and do the same thing.
//   - Bounded fan-out: at most Env.Concurrency targets are worked on at a
//     time (errgroup.Group with SetLimit, deliberately not WithContext: one
//     target's failure must never cancel another's work).
//   - Failures kept apart: each target has its own context and deadline,
//     its own logger (account, region), and its own slot in the report; a
//     panic in one target becomes that target's error.
//   - Three steps, one code path: Discover (the fleet, each account's
//     ring, and what a configuration change removes -> work items, batches
//     of accounts; an item names its account's ring, and Work gives its
//     targets that ring's configuration from the batch's),
//     Work (one batch -> one record per target) and Summarize (the results
//     -> the report). They take and return the JSON payloads a Step
//     Functions Distributed Map passes (steps.go); Run chains them in this
//     process, so the CLI, the demo and a deployed run share every decision.
//   - Memory grows with the concurrency, not with the organization: a
//     target's changes leave as it finishes (Env.OnTarget, and the
//     "target done" log line), and its record keeps none. Run puts them
//     back into its report, equal lists of changes kept once.
//   - Batches are sized from the cost of a target (Sizing) so that one
//     finishes well inside a worker's time and its result fits Step
//     Functions' payload limit whatever its targets' outcomes: sized from
//     the worst-case record, which Work holds every record to (FitRecord).
//   - Nothing starves: every target of the items is in the report, and a
//     target no batch reached (its batch failed, or its worker ran out of
//     time) is not started; a run with any target not started fails with a
//     NotAttemptedError naming the accounts, never succeeds.
//   - Deadline aware: Work stops starting targets when its context's
//     deadline is within Env.Reserve and reports the rest as not started, so
//     the Lambda always has time to answer (and CloudFormation never hangs).
//   - A new account whose configuration role is not deployed yet (its
//     StackSet instance is still on its way) is waited for, then reported as
//     pending, not failed: the next run converges it.
//   - Throttling is the SDK's business: clients come from the management
//     aws.Config, whose retryer is the adaptive mode (internal/awsconf).
package run
