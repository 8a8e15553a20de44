// Package trigger turns whatever reaches the Lambda into a Request: what to
// converge (the whole organization, or these accounts) and how (converge,
// remove, or nothing at all).
//
// A Request never says what happened. The reconciler is level-based: it
// re-reads the organization and every target's real state, so the trigger
// only has to be right about *who* may have changed. An event that names no
// one (a failed account creation, a declined handshake, an unrelated event)
// is an Ignore with a Reason for the logs, never an error: the Lambda must
// not retry it. Input that cannot be understood (not JSON, an envelope with
// no source, an account id that is not 12 digits, a CloudFormation request
// without a ResponseURL) is an error naming the field, and no work is done.
//
// The steps of a whole-organization execution (discover, a Distributed
// Map's batch, summarize, abort) are inputs too: a Request with a Step,
// whose configurations are validated here, before any AWS call.
//
// Decode is pure: no AWS calls, no clock, no environment.
package trigger
