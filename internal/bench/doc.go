// Package bench measures a whole run at the scale orgpatch is built for: an
// organization of 1,000 accounts x 17 regions in the simulator, with AWS-like
// latency and throttling, converged from scratch and then again with nothing
// to do.
//
// It exists to keep two promises checkable: a full organization converges
// well inside the Lambda's 15 minutes (the wall time is compared with the
// lower bound the fan-out allows), and a converged organization costs reads
// only (the second run's write count is zero).
package bench
