// Package ssmsvc is the simulated AWS Systems Manager of every account and
// region: the maintenance windows with their targets, tasks and tags, the
// AWS-owned patching documents, the Default Host Management Configuration
// service setting, Parameter Store parameters, and patch baselines with
// their default and patch group registrations beside AWS's predefined
// baselines of every Region (stable ARNs, one default per operating system).
//
// It answers as the AWS API Reference documents: every request is first
// checked against the SSM service model (package smodel), so a missing
// required member, a too-long name or an unknown enum value is the same
// ValidationException AWS sends; then the semantic rules AWS enforces are
// applied (cutoff below duration, valid cron/rate/at schedules, IANA time
// zones, references to existing windows, targets and documents, the filter
// keys each operating system takes, approve-after-days or approve-until-date,
// no deleting a baseline in use, ClientToken idempotency, service quotas)
// with AWS's error codes. Pagination honours
// MaxResults and NextToken, so callers' paginators are exercised.
//
// Windows run: Advance(after, until) runs every enabled window occurrence
// in that interval, in time order (schedule.go computes occurrences and
// NextExecutionTime). A RUN_COMMAND task of AWS-RunPatchBaseline resolves
// its targets (window targets by InstanceIds, tag:<key> or tag-key) and,
// on each managed Online node, evaluates the node's baseline (its patch
// group's, else its operating system's default; AWS's predefined ones with
// their documented rules) over the catalog (package nodes): a Scan reports
// approved patches MISSING, an Install installs them (INSTALLED, or
// INSTALLED_PENDING_REBOOT with NoReboot; FAILED when WithInstallFailures
// says so). The run is recorded as a window execution with its tasks and
// as a command with one invocation per target, which
// DescribeMaintenanceWindowExecutions, DescribeMaintenanceWindowExecutionTasks,
// ListCommands and ListCommandInvocations answer; DescribeAvailablePatches
// lists the catalog and DescribeInstancePatches a node's patches. Every
// assumption where AWS documents nothing is named where it is made
// (patching.go, runs.go) and in docs/simulator.md.
//
// The simulator's core resolves the caller's account and region and calls
// Handle with the JSON 1.1 body; tests of other packages read the resulting
// state through the snapshot methods (Windows, ServiceSetting, Parameter)
// and change the AWS-owned world through PublishDocumentVersion.
package ssmsvc
