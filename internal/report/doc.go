// Package report is the record of one run: for every account x region, what
// happened to it (converged, unchanged, failed, skipped, pending, not
// started; in a plan: will change, no change), the actions applied or
// planned, counted by resource, and, for a failure, where it failed
// (account, region, AWS operation, AWS error code), AWS's own message, what
// to check for known causes, and the whole error chain.
//
// It exists so that a run over thousands of targets never ends with "something
// failed": the Lambda returns Err (built from the failed targets only, so a
// pending or skipped target never fails a deployment), CloudFormation gets a
// Summary that fits its 4 KB Reason, and the CLI prints a table or JSON whose
// field names are stable for scripts.
package report
