// Package compliance answers "did patching work?" for the whole
// organization: for every account x region in scope it reads the managed
// nodes, their patch states and compliance, and the EC2 instances no agent
// reports, and turns them into one record per node (the seed 004 format, the
// record a central team collects from every account, plus account, region,
// OU, ring and platform) and a summary: nodes, compliant, non-compliant by
// severity, not scanned within N days, agent older than the SRA's minimum,
// connection lost, EC2 instances not managed, by organization, OU, account
// and region, worst offenders first.
//
// The contract:
//   - Reads only; every call is a paginated SSM or EC2 read, batched where
//     the API allows (patch states 50 nodes per call) and per node only where
//     it must (ListComplianceItems takes one resource, and only for
//     non-compliant nodes).
//   - Records stream to their Sink as targets finish, so memory grows with
//     the concurrency, not with the organization; the summary keeps counts,
//     and the page's list of non-compliant nodes keeps the worst MaxListed.
//   - Targets are walked as a converge run walks them (fleet.Walk): bounded,
//     AssumeRole throttling retried, nothing started within the deadline
//     reserve (such a target is reported failed, not started).
//   - A target that cannot be read (role, throttling, access) is reported
//     as failed in the summary; the others are still read. EC2 refusing
//     DescribeInstances only loses the unmanaged-instance count there.
//
// Both the CLI (`orgpatch report`) and the Lambda's report run call Run.
package compliance
