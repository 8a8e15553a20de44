// Package bench measures a whole run at the scale orgpatch is built for: an
// organization of 1,000 accounts x 17 regions in the simulator, with AWS-like
// latency and throttling, converged from scratch and then again with nothing
// to do.
//
// It exists to keep promises checkable with figures that can be trusted: a
// full organization converges well inside the Lambda's 15 minutes, compared
// with a lower bound no run can beat (Bound: the fan-out, the longest chain
// of dependent calls, the tightest quota); --concurrency bounds the calls in
// flight (the simulator measures the peak) and the connections are reused
// (it counts them); a converged organization costs reads only (the second
// run's write count is zero). With Options.Command, orgpatch runs as its own
// process, so its CPU time and max RSS are measured apart from the
// simulator's.
package bench
