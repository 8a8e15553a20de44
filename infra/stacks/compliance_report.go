package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orgpatch/orgpatch/internal/names"
)

// ComplianceReportProps wire the report run to the Lambda and the alarm
// topic.
type ComplianceReportProps struct {
	Function awslambda.Function
	Queue    awssqs.IQueue
	Topic    awssns.ITopic
}

// ComplianceReport is the organization's patch compliance report: its own
// schedule, the bucket the records and page land in, the Glue table and
// named Athena queries over the records, and the optional alarm.
type ComplianceReport struct {
	Bucket   awss3.Bucket
	Database awsglue.CfnDatabase
	Table    awsglue.CfnTable
	Queries  []awsathena.CfnNamedQuery
	Schedule awsevents.Rule
	Alarm    awscloudwatch.CfnAlarm
	// The parameters: ReportSchedule, ReportRetentionDays, ReportStaleDays,
	// ReportAlarmThreshold.
	ScheduleParam, RetentionParam, StaleParam, ThresholdParam awscdk.CfnParameter
}

// reportBucketName names the report bucket (Fn::Sub): known before the
// bucket exists, so the Lambda role's own policy can grant the writes
// (lambdaPolicy) without a separate policy resource.
const reportBucketName = "orgpatch-compliance-${AWS::AccountId}-${AWS::Region}"

// reportObjectARNs are the keys the report run writes.
func reportObjectARNs() []*string {
	return []*string{
		partitionARN("s3:::" + reportBucketName + "/" + names.ReportRecordsPrefix + "*"),
		partitionARN("s3:::" + reportBucketName + "/" + names.ReportPagesPrefix + "*"),
	}
}

// ReportDatabase is the Glue database of the report's table.
const ReportDatabase = "orgpatch_compliance"

// ReportTable is the Glue table over the records.
const ReportTable = "records"

// reportColumns are the records' fields (compliance.Record) as Hive types;
// the JSON SerDe matches them case-insensitively.
var reportColumns = [][2]string{
	{"compliancetype", "string"}, {"resourcetype", "string"}, {"resourceid", "string"}, {"status", "string"},
	{"overallseverity", "string"},
	{"executionsummary", "struct<executionid:string,executiontype:string,executiontime:string>"},
	{"compliantsummary", "struct<compliantcount:int,severitysummary:" + severityStruct + ">"},
	{"noncompliantsummary", "struct<noncompliantcount:int,severitysummary:" + severityStruct + ">"},
	{"missingpatches", "array<struct<id:string,title:string,severity:string,details:map<string,string>>>"},
	{"account", "string"}, {"name", "string"}, {"region", "string"}, {"ou", "string"}, {"ouid", "string"},
	{"ring", "string"}, {"accountname", "string"}, {"platform", "string"}, {"platformname", "string"},
	{"platformversion", "string"}, {"agentversion", "string"}, {"pingstatus", "string"}, {"lastping", "string"},
	{"patchstate", "struct<patchgroup:string,baselineid:string,operation:string,operationstarttime:string,operationendtime:string," +
		"installedcount:int,installedothercount:int,installedpendingrebootcount:int,installedrejectedcount:int," +
		"missingcount:int,failedcount:int,notapplicablecount:int>"},
}

const severityStruct = "struct<criticalcount:int,highcount:int,mediumcount:int,lowcount:int,informationalcount:int,unspecifiedcount:int>"

// NewComplianceReport builds the report's resources and gives the Lambda
// what it needs to write them.
func NewComplianceReport(scope constructs.Construct, id string, p ComplianceReportProps) *ComplianceReport {
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(scope)
	r := &ComplianceReport{}
	r.ScheduleParam = awscdk.NewCfnParameter(stack, jsii.String("ReportSchedule"), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Default:               jsii.String("rate(1 day)"),
		AllowedPattern:        jsii.String(`^(rate|cron)\([^()]+\)$`),
		ConstraintDescription: jsii.String("must be an EventBridge rate(...) or cron(...) expression"),
		Description:           jsii.String("When the patch compliance report runs (an EventBridge schedule expression). Default: daily."),
	})
	r.RetentionParam = awscdk.NewCfnParameter(stack, jsii.String("ReportRetentionDays"), &awscdk.CfnParameterProps{
		Type: jsii.String("Number"), Default: jsii.String("90"), MinValue: jsii.Number(1), MaxValue: jsii.Number(3650),
		Description: jsii.String("Days the report bucket keeps records and pages (and their earlier versions) before they expire (1..3650)."),
	})
	r.StaleParam = awscdk.NewCfnParameter(stack, jsii.String("ReportStaleDays"), &awscdk.CfnParameterProps{
		Type: jsii.String("Number"), Default: jsii.String("7"), MinValue: jsii.Number(1), MaxValue: jsii.Number(365),
		Description: jsii.String("A managed node not scanned within this many days counts as not scanned (1..365)."),
	})
	r.ThresholdParam = awscdk.NewCfnParameter(stack, jsii.String("ReportAlarmThreshold"), &awscdk.CfnParameterProps{
		Type: jsii.String("Number"), Default: jsii.String("-1"), MinValue: jsii.Number(-1),
		Description: jsii.String("Alarm when non-compliant plus unmonitored nodes (not scanned, connection lost, EC2 not managed) exceed this many. -1: no alarm."),
	})

	retention := awscdk.Duration_Days(r.RetentionParam.ValueAsNumber())
	r.Bucket = awss3.NewBucket(c, jsii.String("Bucket"), &awss3.BucketProps{
		BucketName:        awscdk.Fn_Sub(jsii.String(reportBucketName), nil),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Versioned:         jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-reports"),
			Expiration:                          retention,
			NoncurrentVersionExpiration:         retention,
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(r.Bucket, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The bucket holds reports the Lambda writes and admins read through IAM; CloudTrail records the access. A log bucket per report bucket would add a resource without a reader."),
	}}, jsii.Bool(true))

	p.Function.AddEnvironment(jsii.String(names.EnvReportBucket), r.Bucket.BucketName(), nil)
	p.Function.AddEnvironment(jsii.String(names.EnvReportStaleDays), r.StaleParam.ValueAsString(), nil)
	columns := make([]interface{}, len(reportColumns))
	for i, col := range reportColumns {
		columns[i] = &awsglue.CfnTable_ColumnProperty{Name: jsii.String(col[0]), Type: jsii.String(col[1])}
	}
	location := awscdk.Fn_Join(jsii.String(""), jsii.Strings("s3://", *r.Bucket.BucketName(), "/", names.ReportRecordsPrefix))
	r.Database = awsglue.NewCfnDatabase(c, jsii.String("Database"), &awsglue.CfnDatabaseProps{
		CatalogId: awscdk.Aws_ACCOUNT_ID(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(ReportDatabase),
			Description: jsii.String("orgpatch: the organization's patch compliance records"),
		},
	})
	r.Table = awsglue.NewCfnTable(c, jsii.String("Table"), &awsglue.CfnTableProps{
		CatalogId:    awscdk.Aws_ACCOUNT_ID(),
		DatabaseName: jsii.String(ReportDatabase),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:        jsii.String(ReportTable),
			Description: jsii.String("One JSON record per managed node (and unmanaged EC2 instance) per report run, partitioned by day"),
			TableType:   jsii.String("EXTERNAL_TABLE"),
			PartitionKeys: &[]interface{}{
				&awsglue.CfnTable_ColumnProperty{Name: jsii.String("dt"), Type: jsii.String("string")},
			},
			// Partition projection: Athena derives the dt partitions from
			// the keys' dates, so no crawler or MSCK REPAIR is needed.
			Parameters: &map[string]interface{}{
				"classification":              "json",
				"projection.enabled":          "true",
				"projection.dt.type":          "date",
				"projection.dt.format":        "yyyy-MM-dd",
				"projection.dt.range":         "2024-01-01,NOW",
				"projection.dt.interval":      "1",
				"projection.dt.interval.unit": "DAYS",
				"storage.location.template":   awscdk.Fn_Join(jsii.String(""), jsii.Strings(*location, "dt=${dt}/")),
			},
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:      &columns,
				Location:     location,
				InputFormat:  jsii.String("org.apache.hadoop.mapred.TextInputFormat"),
				OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String("org.openx.data.jsonserde.JsonSerDe"),
					Parameters:           &map[string]interface{}{"ignore.malformed.json": "false"},
				},
			},
		},
	})
	r.Table.AddDependency(r.Database)

	table := ReportDatabase + "." + ReportTable
	latest := "dt = (SELECT max(dt) FROM " + table + ")"
	for _, q := range []struct{ id, name, desc, sql string }{
		{"NonCompliantByOU", "orgpatch-non-compliant-by-ou", "Non-compliant managed nodes per OU and severity, latest report day",
			"SELECT ou, overallseverity, count(*) AS nodes FROM " + table + " WHERE " + latest +
				" AND status = 'NON_COMPLIANT' GROUP BY ou, overallseverity ORDER BY nodes DESC"},
		{"UnmanagedInstances", "orgpatch-unmanaged-instances", "EC2 instances no SSM Agent reports, latest report day",
			"SELECT account, accountname, region, ou, resourceid, name, platform FROM " + table + " WHERE " + latest +
				" AND status = 'UNMANAGED' ORDER BY account, region, resourceid"},
		{"NotScanned", "orgpatch-not-scanned", "Managed nodes without a patch scan, or whose last one is older than 7 days, latest report day",
			"SELECT account, region, ou, resourceid, name, patchstate.operationendtime AS lastscan, pingstatus, agentversion FROM " + table +
				" WHERE " + latest + " AND resourcetype = 'ManagedInstance' AND (patchstate IS NULL OR from_iso8601_timestamp(patchstate.operationendtime) < current_timestamp - interval '7' day) ORDER BY lastscan"},
	} {
		r.Queries = append(r.Queries, awsathena.NewCfnNamedQuery(c, jsii.String(q.id), &awsathena.CfnNamedQueryProps{
			Name: jsii.String(q.name), Description: jsii.String(q.desc), Database: jsii.String(ReportDatabase),
			QueryString: jsii.String(strings.TrimSpace(q.sql)),
		}))
	}
	for _, q := range r.Queries {
		q.AddDependency(r.Database)
	}

	input := awsevents.RuleTargetInput_FromObject(map[string]interface{}{"source": "orgpatch", "detail-type": "Compliance Report", "detail": map[string]interface{}{}})
	r.Schedule = awsevents.NewRule(c, jsii.String("Schedule"), &awsevents.RuleProps{
		Description: jsii.String("orgpatch: the organization's patch compliance report"),
		Schedule:    awsevents.Schedule_Expression(r.ScheduleParam.ValueAsString()),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(p.Function, &awseventstargets.LambdaFunctionProps{
			Event: input, DeadLetterQueue: p.Queue, RetryAttempts: jsii.Number(4), MaxEventAge: awscdk.Duration_Hours(jsii.Number(2)),
		})},
	})

	hasAlarm := awscdk.NewCfnCondition(stack, jsii.String("HasReportAlarm"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(r.ThresholdParam.ValueAsString(), jsii.String("-1"))),
	})
	metric := func(id, name string) *awscloudwatch.CfnAlarm_MetricDataQueryProperty {
		return &awscloudwatch.CfnAlarm_MetricDataQueryProperty{
			Id: jsii.String(id), ReturnData: jsii.Bool(false),
			MetricStat: &awscloudwatch.CfnAlarm_MetricStatProperty{
				Metric: &awscloudwatch.CfnAlarm_MetricProperty{Namespace: jsii.String(names.MetricsNamespace), MetricName: jsii.String(name)},
				Period: jsii.Number(86400), Stat: jsii.String("Maximum"),
			},
		}
	}
	r.Alarm = awscloudwatch.NewCfnAlarm(c, jsii.String("Alarm"), &awscloudwatch.CfnAlarmProps{
		AlarmDescription:   jsii.String("orgpatch: more non-compliant or unmonitored nodes than ReportAlarmThreshold in the last compliance report"),
		ComparisonOperator: jsii.String("GreaterThanThreshold"),
		Threshold:          r.ThresholdParam.ValueAsNumber(),
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   jsii.String("ignore"),
		AlarmActions:       &[]interface{}{p.Topic.TopicArn()},
		Metrics: &[]interface{}{
			metric("noncompliant", names.MetricNonCompliant),
			metric("unmonitored", names.MetricUnmonitored),
			&awscloudwatch.CfnAlarm_MetricDataQueryProperty{Id: jsii.String("atrisk"), Expression: jsii.String("noncompliant + unmonitored"),
				Label: jsii.String("non-compliant and unmonitored nodes"), ReturnData: jsii.Bool(true)},
		},
	})
	r.Alarm.CfnOptions().SetCondition(hasAlarm)
	return r
}
