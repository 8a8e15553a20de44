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
	EnvReportSLADays   = "ORGPATCH_REPORT_SLA_DAYS"
	EnvReportOwnerTags = "ORGPATCH_REPORT_OWNER_TAGS"
	EnvStateMachineARN = "ORGPATCH_STATE_MACHINE_ARN"
	EnvRunsBucket      = "ORGPATCH_RUNS_BUCKET"
	EnvBucketOwner     = "ORGPATCH_BUCKET_OWNER"
	EnvAlarmTopicARN   = "ORGPATCH_ALARM_TOPIC_ARN"
	EnvEventBusARN     = "ORGPATCH_EVENT_BUS_ARN"
)

// PromotionStateKey is the promotion state's object in the runs bucket
// (promotion.StateKey): the function's role may read and write it alone.
const PromotionStateKey = "promotion/state.json"

// MetricsNamespace is the CloudWatch namespace of orgpatch's metrics.
const MetricsNamespace = "orgpatch"

// The compliance metrics the stack's optional alarm watches
// (organization-wide, no dimensions).
const (
	MetricNonCompliant = "ComplianceNonCompliant"
	MetricUnmonitored  = "ComplianceUnmonitored"
	MetricPastSLA      = "CompliancePastSLA"
)

// The compliance report's objects in its bucket: records under date
// partitions the Glue table projects (dt=YYYY-MM-DD), and the pages. The
// stack's bucket policy and table location name these prefixes.
const (
	ReportRecordsPrefix = "records/"
	ReportPagesPrefix   = "pages/"
	ReportStatePrefix   = "state/"
)

// The compliance report's defaults the stack's parameters offer, as the
// function reads them (compliance's tests hold them to its defaults).
const (
	DefaultReportSLADays   = "critical=7,high=30,medium=90,low=180"
	DefaultReportOwnerTags = "Owner,Team,CostCenter"
)

// ReportColumns are the compliance records' fields as the Glue table's
// columns, in Hive types (compliance's tests hold them to its Record).
var ReportColumns = [][2]string{
	{"recordtype", "string"},
	{"runid", "string"},
	{"capturetime", "string"},
	{"compliancetype", "string"},
	{"resourcetype", "string"},
	{"resourceid", "string"},
	{"status", "string"},
	{"overallseverity", "string"},
	{"executionsummary", "struct<executionid:string,executiontype:string,executiontime:string>"},
	{"compliantsummary", "struct<compliantcount:int,severitysummary:struct<criticalcount:int,highcount:int,mediumcount:int,lowcount:int,informationalcount:int,unspecifiedcount:int>>"},
	{"noncompliantsummary", "struct<noncompliantcount:int,severitysummary:struct<criticalcount:int,highcount:int,mediumcount:int,lowcount:int,informationalcount:int,unspecifiedcount:int>>"},
	{"missingpatches", "array<struct<id:string,title:string,severity:string,patchseverity:string,effectiveseverity:string,classification:string,cveids:array<string>,state:string,installedtime:string,firstseen:string,agedays:int,sladays:int,pastsla:boolean>>"},
	{"failedpatches", "array<struct<id:string,title:string,severity:string,patchseverity:string,effectiveseverity:string,classification:string,cveids:array<string>,state:string,installedtime:string,firstseen:string,agedays:int,sladays:int,pastsla:boolean>>"},
	{"pendingrebootpatches", "array<struct<id:string,title:string,severity:string,patchseverity:string,effectiveseverity:string,classification:string,cveids:array<string>,state:string,installedtime:string,firstseen:string,agedays:int,sladays:int,pastsla:boolean>>"},
	{"rejectedpatches", "array<struct<id:string,title:string,severity:string,patchseverity:string,effectiveseverity:string,classification:string,cveids:array<string>,state:string,installedtime:string,firstseen:string,agedays:int,sladays:int,pastsla:boolean>>"},
	{"account", "string"},
	{"name", "string"},
	{"region", "string"},
	{"ou", "string"},
	{"ouid", "string"},
	{"ring", "string"},
	{"accountname", "string"},
	{"nodestate", "string"},
	{"platform", "string"},
	{"platformname", "string"},
	{"platformversion", "string"},
	{"computername", "string"},
	{"instancestate", "string"},
	{"agentversion", "string"},
	{"pingstatus", "string"},
	{"lastping", "string"},
	{"ownertags", "map<string,string>"},
	{"patchstate", "struct<patchgroup:string,baselineid:string,operation:string,operationstarttime:string,operationendtime:string,rebootoption:string,installedcount:int,installedothercount:int,installedpendingrebootcount:int,installedrejectedcount:int,missingcount:int,failedcount:int,notapplicablecount:int,criticalnoncompliantcount:int,securitynoncompliantcount:int,othernoncompliantcount:int>"},
	{"severity", "string"},
	{"securitynoncompliant", "int"},
	{"stale", "boolean"},
	{"lastscanagedays", "int"},
	{"oldagent", "boolean"},
	{"pastsla", "int"},
	{"oldestpatchagedays", "int"},
	{"reused", "boolean"},
	{"outcome", "string"},
	{"reason", "string"},
	{"nodes", "int"},
	{"trend", "array<struct<runid:string,time:string,machines:int,compliantcurrent:int,noncompliant:int,critical:int,pastsla:int,notscanned:int,unmanaged:int,notread:int>>"},
}
