// Package run converges many account x region targets at once and accounts
// for every one of them.
//
// The contract:
//   - Bounded fan-out: at most Env.Concurrency targets are worked on at a
//     time (errgroup.Group with SetLimit, deliberately not WithContext: one
//     target's failure must never cancel another's work).
//   - Failures kept apart: each target has its own context and deadline,
//     its own logger (account, region), and its own slot in the report; a
//     panic in one target becomes that target's error.
//   - Deadline aware: Run stops starting targets when its context's deadline
//     is within Env.Reserve and reports the rest as not started, so the
//     Lambda always has time to answer (and CloudFormation never hangs).
//   - A new account whose configuration role is not deployed yet (its
//     StackSet instance is still on its way) is waited for, then reported as
//     pending, not failed: the next run converges it.
//   - Throttling is the SDK's business: clients come from the management
//     aws.Config, whose retryer is the adaptive mode (internal/awsconf).
package run
