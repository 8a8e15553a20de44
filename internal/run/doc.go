// Package run is the core every entry point calls once: it decides the
// whole change, converges many account x region targets at once, and
// accounts for every one of them. It is plain Go: typed plans and results,
// no payloads; the Step Functions run is an adapter over it
// (internal/stepfn), held to the same reports by a parity test.
//
// The contract:
//   - One decision (Decide): from the desired configuration and the
//     previous one (Env.Previous: an Update's old properties, or the
//     stored configuration the CLI reads), every target is worked out once:
//     converge where the new configuration applies; tear down where the
//     previous one applied and the new one does not (regions dropped,
//     accounts newly excluded by id or OU), with the previous
//     configuration; accounts that left the organization stay out. Each
//     account converges to its ring's configuration (of Env.Pinned, when
//     set: the configuration with the promotion state's pins, which
//     differs from Config only in promoted rings' approval rules). A plan
//     (Request.DryRun) is the same decision without the writes, so the
//     CLI's plan and the Lambda's Update show and do the same thing.
//   - Converge works on a plan's accounts through the one fan-out
//     (fleet.Walk): bounded concurrency (Env.Concurrency; errgroup with
//     SetLimit, never WithContext), AssumeRole throttling retried, a new
//     account's role waited for, the deadline reserve kept (Env.Reserve).
//     Run is Decide, Converge and Complete in this process.
//   - Failures kept apart: each target has its own context and deadline,
//     its own logger (account, region), and its own slot in the report; a
//     panic in one target becomes that target's error.
//   - Memory grows with the concurrency, not with the organization: a
//     target's changes leave as it finishes (Env.OnTarget, and the
//     "target done" log line), and its outcome keeps none. Run puts them
//     back into its report (ActionLog), equal lists of changes kept once.
//   - Nothing starves: every target of the plan is in the report, and one
//     the walk did not start is not started; a run with any target not
//     started fails with a NotAttemptedError naming the accounts, never
//     succeeds (Complete).
//   - A new account whose configuration role is not deployed yet (its
//     StackSet instance is still on its way) is waited for, then reported as
//     pending, not failed: the next run converges it.
//   - Throttling of the services is the SDK's business: clients come from
//     the management aws.Config, whose retryer is the adaptive mode
//     (internal/awsconf).
//   - A target costs TargetCost's calls, and a worker's derivation of an
//     account (Request.Only) its Derive calls; the Step Functions batches
//     are sized, and the benchmark's bound is computed, from that one
//     model.
package run
