package names

// Ownership tag: a window or baseline carrying it is orgpatch's to update
// and delete. The reference solution tags its windows the same way, so they
// are adopted. The member roles allow writes only to resources tagged so.
const (
	OwnerTagKey   = "createdBy"
	OwnerTagValue = "SRA_Patch_Management"
)

// DefaultConfigParameter is the SSM parameter of the management account
// holding the configuration when none is named.
const DefaultConfigParameter = "/orgpatch/configuration"

// The environment variables the stack sets on the function and the Lambda
// reads (lambda/main.go says what each holds).
const (
	EnvConfigParameter = "ORGPATCH_CONFIG_PARAMETER"
	EnvStackID         = "ORGPATCH_STACK_ID"
	EnvStackProperties = "ORGPATCH_STACK_PROPERTIES"
	EnvConcurrency     = "ORGPATCH_CONCURRENCY"
	EnvReportBucket    = "ORGPATCH_REPORT_BUCKET"
	EnvReportStaleDays = "ORGPATCH_REPORT_STALE_DAYS"
	EnvStateMachineARN = "ORGPATCH_STATE_MACHINE_ARN"
	EnvRunsBucket      = "ORGPATCH_RUNS_BUCKET"
	EnvBucketOwner     = "ORGPATCH_BUCKET_OWNER"
)

// MetricsNamespace is the CloudWatch namespace of orgpatch's metrics.
const MetricsNamespace = "orgpatch"

// The compliance metrics the stack's optional alarm watches
// (organization-wide, no dimensions).
const (
	MetricNonCompliant = "ComplianceNonCompliant"
	MetricUnmonitored  = "ComplianceUnmonitored"
)

// The compliance report's objects in its bucket: records under date
// partitions the Glue table projects (dt=YYYY-MM-DD), and the pages. The
// stack's bucket policy and table location name these prefixes.
const (
	ReportRecordsPrefix = "records/"
	ReportPagesPrefix   = "pages/"
)
