// Package compliance answers "did patching work?" for the whole
// organization, in a form an auditor can sign: for every account x region in
// scope it reads the managed nodes, their patch states and compliance, and
// the EC2 instances no agent reports, and writes one run's records: a
// Coverage record per account x region (read, failed and why, suspended,
// excluded, region not enabled), one Node record per machine (the seed 004
// format with AWS's own statuses, plus where it lives, what it runs, its
// owner tags, its patches apart by state with a first-seen date, an age and
// an SLA), and a Run record last, carrying the trend. Every record carries
// the run id and the capture time; a retried run keeps its id.
//
// The contract:
//   - Reads only; every call is a paginated SSM or EC2 read, batched where
//     the API allows (patch states 50 nodes per call) and per node only where
//     it must (ListComplianceItems takes one resource, and only for
//     non-compliant nodes). With the previous run's records (Previous), a
//     node whose last patching run is the one already seen reuses its patch
//     lists instead: an unchanged organization costs a fraction of the calls.
//   - Severity works on AWS's predefined baselines, whose compliance level is
//     UNSPECIFIED: each patch's effective severity is the more severe of that
//     level and the vendor's; AWS's level, and its critical and security
//     counts, are kept beside it.
//   - The headline counts only compliant nodes scanned within the stale days,
//     out of every machine; the stale and the unmanaged are shown beside it.
//   - Records stream to their Sink as targets finish, and each response page
//     becomes record fields at once, so memory holds the targets in flight,
//     not the organization; the summary keeps counts and the page's list of
//     non-compliant nodes keeps the worst MaxListed.
//   - The scope can be some rings alone (Env.Rings): the promotion gate's
//     measurement reads only the earlier rings' accounts, through this same
//     collection.
//   - Targets are walked as a converge run walks them (fleet.Walk): bounded,
//     AssumeRole throttling retried, nothing started within the deadline
//     reserve (such a target's coverage is failed, not started).
//   - A target that cannot be read (role, throttling, access) is a failed
//     coverage record and in the summary; the others are still read. EC2
//     refusing DescribeInstances only loses the unmanaged-instance count
//     there.
//
// FindingsSink turns node records into Security Hub findings (ASFF), one per
// node and problem with a stable Id, imported 100 at a time as the records
// stream; closing it archives the previous run's findings this run no longer
// raised (docs/compliance.md, "Security Hub findings").
//
// Both the CLI (`orgpatch report`) and the Lambda's report run call Run.
package compliance
