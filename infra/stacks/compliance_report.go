package stacks

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
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
	// Latest is the view of the latest complete run.
	Latest   awsglue.CfnTable
	Queries  []awsathena.CfnNamedQuery
	Schedule awsevents.Rule
	Alarm    awscloudwatch.CfnAlarm
	SLAAlarm awscloudwatch.CfnAlarm
	// The parameters: ReportSchedule, ReportRetentionDays, ReportStaleDays,
	// ReportAlarmThreshold, ReportSLADays, ReportOwnerTags,
	// ReportSLAAlarmThreshold.
	ScheduleParam, RetentionParam, StaleParam, ThresholdParam awscdk.CfnParameter
	SLAParam, OwnerTagsParam, SLAThresholdParam               awscdk.CfnParameter
	// SecurityHubParam (ReportSecurityHub, default false) sends the
	// report's findings to the management account's Security Hub;
	// SecurityHub is its condition, under which the Lambda role's
	// orgpatch-securityhub policy grants the import.
	SecurityHubParam awscdk.CfnParameter
	SecurityHub      awscdk.CfnCondition
}

// reportBucketName names the report bucket (Fn::Sub): known before the
// bucket exists, so the Lambda role's own policy can grant the writes
// (lambdaPolicy) without a separate policy resource.
const reportBucketName = "orgpatch-compliance-${AWS::AccountId}-${AWS::Region}"

// reportObjectARNs are the keys the report run writes (and reads back:
// the previous run).
func reportObjectARNs() []*string {
	return []*string{
		partitionARN("s3:::" + reportBucketName + "/" + names.ReportRecordsPrefix + "*"),
		partitionARN("s3:::" + reportBucketName + "/" + names.ReportPagesPrefix + "*"),
		partitionARN("s3:::" + reportBucketName + "/" + names.ReportStatePrefix + "*"),
	}
}

// securityHubProduct is the management account's default Security Hub
// product, the only one the report imports findings under (Fn::Sub).
const securityHubProduct = "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"

// grantSecurityHubImport gives the function's role, under on, a second
// inline policy (orgpatch-securityhub) allowing BatchImportFindings on the
// default product alone. It is an Fn::If in the role's Policies, so the
// grant exists only while the parameter is true, and it stays the role's
// own, which the function depends on before its first invocation. The
// report reads nothing back from Security Hub: it keeps the Ids it sent.
func grantSecurityHubImport(fn awslambda.Function, on awscdk.CfnCondition) {
	role := fn.Role().Node().DefaultChild().(awscdk.CfnResource)
	policy := map[string]interface{}{
		"PolicyName": "orgpatch-securityhub",
		"PolicyDocument": map[string]interface{}{
			"Version": "2012-10-17",
			"Statement": []interface{}{map[string]interface{}{
				"Sid":      "ImportReportFindings",
				"Effect":   "Allow",
				"Action":   "securityhub:BatchImportFindings",
				"Resource": awscdk.Fn_Sub(jsii.String(securityHubProduct), nil),
			}},
		},
	}
	// Policies.0 is the role's orgpatch policy (lambdaPolicy).
	role.AddPropertyOverride(jsii.String("Policies.1"), awscdk.Fn_ConditionIf(on.LogicalId(), policy, awscdk.Aws_NO_VALUE()))
}

// ReportDatabase is the Glue database of the report's table.
const ReportDatabase = "orgpatch_compliance"

// ReportTable is the Glue table over the records.
const ReportTable = "records"

// ReportView is the Glue view of the latest complete run.
const ReportView = "latest"

// DefaultReportRetentionDays keeps records for 13 months: a year of audit
// evidence and the month before it.
const DefaultReportRetentionDays = 400

// prestoType is a Hive column type (names.ReportColumns) as an Athena view
// declares it: struct<a:t> is row(a t), array<t> array(t), map<k,v>
// map(k,v), string varchar, int integer.
func prestoType(hive string) string {
	t, rest := parseHive(hive)
	if rest != "" {
		panic("column type " + hive + ": trailing " + rest)
	}
	return t
}

// parseHive converts the type at the start of s and returns the rest.
func parseHive(s string) (string, string) {
	for _, open := range []string{"struct<", "array<", "map<"} {
		if !strings.HasPrefix(s, open) {
			continue
		}
		s = s[len(open):]
		var parts []string
		for {
			name := ""
			if open == "struct<" {
				i := strings.IndexByte(s, ':')
				name, s = s[:i]+" ", s[i+1:]
			}
			var t string
			t, s = parseHive(s)
			parts = append(parts, name+t)
			sep := s[0]
			s = s[1:]
			if sep == '>' {
				break
			}
		}
		return map[string]string{"struct<": "row", "array<": "array", "map<": "map"}[open] + "(" + strings.Join(parts, ",") + ")", s
	}
	end := strings.IndexAny(s, ",>")
	if end < 0 {
		end = len(s)
	}
	scalar := map[string]string{"string": "varchar", "int": "integer", "boolean": "boolean"}[s[:end]]
	if scalar == "" {
		panic("column type " + s[:end] + " has no view type")
	}
	return scalar, s[end:]
}

// reportColumns are the records' columns, with the view's types when
// view is set.
func reportColumns(view bool) [][2]string {
	out := make([][2]string, 0, len(names.ReportColumns))
	for _, c := range names.ReportColumns {
		if view {
			c[1] = prestoType(c[1])
		}
		out = append(out, c)
	}
	return out
}

// latestRunSQL selects the records of the latest complete run: the one
// whose Run record (written last) is the newest. Only the last 32 days'
// partitions are read: a report older than that is not "now".
const latestRunSQL = `SELECT * FROM ` + ReportDatabase + `.` + ReportTable + `
WHERE dt >= date_format(current_date - interval '32' day, '%Y-%m-%d')
AND runid = (SELECT max_by(runid, from_iso8601_timestamp(capturetime)) FROM ` + ReportDatabase + `.` + ReportTable + `
  WHERE recordtype = 'Run' AND dt >= date_format(current_date - interval '32' day, '%Y-%m-%d'))`

// prestoView is the Glue form of an Athena view: the view's definition as
// base64 JSON in ViewOriginalText ("Presto View").
func prestoView(sql string, columns [][2]string) string {
	type col struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	cols := make([]col, 0, len(columns))
	for _, c := range columns {
		cols = append(cols, col{c[0], c[1]})
	}
	b, err := json.Marshal(struct {
		OriginalSQL string `json:"originalSql"`
		Catalog     string `json:"catalog"`
		Schema      string `json:"schema"`
		Columns     []col  `json:"columns"`
	}{sql, "awsdatacatalog", ReportDatabase, cols})
	if err != nil {
		panic(err)
	}
	return "/* Presto View: " + base64.StdEncoding.EncodeToString(b) + " */"
}

func glueColumns(cols [][2]string) *[]interface{} {
	out := make([]interface{}, len(cols))
	for i, col := range cols {
		out[i] = &awsglue.CfnTable_ColumnProperty{Name: jsii.String(col[0]), Type: jsii.String(col[1])}
	}
	return &out
}

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
		Type: jsii.String("Number"), Default: jsii.String(strconv.Itoa(DefaultReportRetentionDays)), MinValue: jsii.Number(1), MaxValue: jsii.Number(3650),
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

	r.SLAParam = awscdk.NewCfnParameter(stack, jsii.String("ReportSLADays"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Default: jsii.String(names.DefaultReportSLADays),
		AllowedPattern:        jsii.String(`^none$|^(critical|high|medium|low|informational|unspecified)=[0-9]{1,4}(,(critical|high|medium|low|informational|unspecified)=[0-9]{1,4})*$`),
		ConstraintDescription: jsii.String("must be severity=days pairs separated by commas, e.g. critical=7,high=30, or none"),
		Description:           jsii.String("Days a non-compliant patch may stay before it is past its SLA, by severity (the vendor's severity where the baseline sets no compliance level)."),
	})
	r.OwnerTagsParam = awscdk.NewCfnParameter(stack, jsii.String("ReportOwnerTags"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Default: jsii.String(names.DefaultReportOwnerTags),
		Description: jsii.String("EC2 tag keys copied into each node's record as its owner, separated by commas; none for no tag."),
	})
	r.SLAThresholdParam = awscdk.NewCfnParameter(stack, jsii.String("ReportSLAAlarmThreshold"), &awscdk.CfnParameterProps{
		Type: jsii.String("Number"), Default: jsii.String("-1"), MinValue: jsii.Number(-1),
		Description: jsii.String("Alarm when more nodes than this have a patch past its SLA. -1: no alarm."),
	})

	r.SecurityHubParam = awscdk.NewCfnParameter(stack, jsii.String("ReportSecurityHub"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Default: jsii.String("false"), AllowedValues: jsii.Strings("true", "false"),
		Description: jsii.String("true sends each report's findings (nodes past SLA, unmanaged, stale or with an old SSM Agent) to this account's Security Hub in this region and archives them once resolved; Security Hub must be enabled here. Default: false."),
	})
	r.SecurityHub = awscdk.NewCfnCondition(stack, jsii.String("ReportSecurityHubOn"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(r.SecurityHubParam.ValueAsString(), jsii.String("true")),
	})
	grantSecurityHubImport(p.Function, r.SecurityHub)

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
	p.Function.AddEnvironment(jsii.String(names.EnvReportSLADays), r.SLAParam.ValueAsString(), nil)
	p.Function.AddEnvironment(jsii.String(names.EnvReportOwnerTags), r.OwnerTagsParam.ValueAsString(), nil)
	p.Function.AddEnvironment(jsii.String(names.EnvReportSecurityHub), r.SecurityHubParam.ValueAsString(), nil)
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
			Description: jsii.String("Per report run: one record per managed node and unmanaged EC2 instance, one per account x region (coverage), one for the run; gzip JSON Lines partitioned by day"),
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
				Columns:      glueColumns(reportColumns(false)),
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

	viewColumns := append(reportColumns(false), [2]string{"dt", "string"})
	prestoColumns := append(reportColumns(true), [2]string{"dt", "varchar"})
	r.Latest = awsglue.NewCfnTable(c, jsii.String("LatestRun"), &awsglue.CfnTableProps{
		CatalogId:    awscdk.Aws_ACCOUNT_ID(),
		DatabaseName: jsii.String(ReportDatabase),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:             jsii.String(ReportView),
			Description:      jsii.String("The records of the latest complete report run: each node once"),
			TableType:        jsii.String("VIRTUAL_VIEW"),
			Parameters:       &map[string]interface{}{"presto_view": "true", "comment": "Presto View"},
			ViewOriginalText: jsii.String(prestoView(latestRunSQL, prestoColumns)),
			ViewExpandedText: jsii.String("/* Presto View */"),
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:   glueColumns(viewColumns),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{},
			},
		},
	})
	r.Latest.AddDependency(r.Table)

	latest := ReportDatabase + "." + ReportView
	nodes := " FROM " + latest + " WHERE recordtype = 'Node'"
	allPatches := "concat(coalesce(missingpatches, ARRAY[]), coalesce(failedpatches, ARRAY[]), coalesce(pendingrebootpatches, ARRAY[]), coalesce(rejectedpatches, ARRAY[]))"
	for _, q := range []struct {
		id, name, desc, sql string
		sub                 bool // the SQL names parameters (Fn::Sub)
	}{
		{"NonCompliantByOU", "orgpatch-non-compliant-by-ou", "Non-compliant managed nodes per OU and severity (the patches' own), latest run",
			"SELECT ou, severity, count(*) AS nodes" + nodes + " AND status = 'NON_COMPLIANT' GROUP BY ou, severity ORDER BY nodes DESC", false},
		{"UnmanagedInstances", "orgpatch-unmanaged-instances", "EC2 instances no SSM Agent reports, latest run",
			"SELECT account, accountname, region, ou, resourceid, name, platform, instancestate, ownertags" + nodes +
				" AND nodestate = 'UNMANAGED' ORDER BY account, region, resourceid", false},
		{"NotScanned", "orgpatch-not-scanned", "Managed nodes without a patch scan within ReportStaleDays, latest run",
			"SELECT account, region, ou, resourceid, name, lastscanagedays, pingstatus, agentversion" + nodes +
				" AND nodestate <> 'UNMANAGED' AND (lastscanagedays IS NULL OR lastscanagedays > ${ReportStaleDays}) ORDER BY lastscanagedays DESC", true},
		{"PastSLA", "orgpatch-patches-past-sla", "Non-compliant patches older than their severity's SLA (ReportSLADays), latest run",
			"SELECT account, region, resourceid, name, p.id, p.state, p.effectiveseverity, p.firstseen, p.agedays, p.sladays" + nodes +
				" CROSS JOIN UNNEST(" + allPatches + ") AS t(p) WHERE p.pastsla ORDER BY p.agedays DESC", false},
		{"CriticalMissing30Days", "orgpatch-critical-missing-30-days", "Critical patches missing for more than 30 days, latest run",
			"SELECT account, region, resourceid, name, p.id, p.title, p.cveids, p.firstseen, p.agedays" + nodes +
				" CROSS JOIN UNNEST(missingpatches) AS t(p) WHERE p.effectiveseverity = 'CRITICAL' AND p.agedays > 30 ORDER BY p.agedays DESC", false},
		{"NotRead", "orgpatch-not-read", "Account x region targets in scope that the latest run did not read, and why",
			"SELECT account, accountname, region, outcome, reason FROM " + latest + " WHERE recordtype = 'Coverage' AND outcome <> 'READ' ORDER BY account, region", false},
		{"Trend", "orgpatch-trend", "Every run's headline figures, newest first",
			"SELECT runid, capturetime, nodes FROM " + ReportDatabase + "." + ReportTable + " WHERE recordtype = 'Run' ORDER BY capturetime DESC", false},
	} {
		sql := jsii.String(strings.TrimSpace(q.sql))
		if q.sub {
			sql = awscdk.Fn_Sub(sql, nil)
		}
		r.Queries = append(r.Queries, awsathena.NewCfnNamedQuery(c, jsii.String(q.id), &awsathena.CfnNamedQueryProps{
			Name: jsii.String(q.name), Description: jsii.String(q.desc), Database: jsii.String(ReportDatabase),
			QueryString: sql,
		}))
	}
	for _, q := range r.Queries {
		q.AddDependency(r.Latest)
	}

	// The event's id names the run: Lambda's retries of the event keep it,
	// so a retried run replaces its own objects.
	input := awsevents.RuleTargetInput_FromObject(map[string]interface{}{"source": "orgpatch", "detail-type": "Compliance Report",
		"id": awsevents.EventField_EventId(), "detail": map[string]interface{}{}})
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

	hasSLAAlarm := awscdk.NewCfnCondition(stack, jsii.String("HasReportSLAAlarm"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(r.SLAThresholdParam.ValueAsString(), jsii.String("-1"))),
	})
	r.SLAAlarm = awscloudwatch.NewCfnAlarm(c, jsii.String("SLAAlarm"), &awscloudwatch.CfnAlarmProps{
		AlarmDescription:   jsii.String("orgpatch: more nodes with a patch past its SLA than ReportSLAAlarmThreshold in the last compliance report"),
		ComparisonOperator: jsii.String("GreaterThanThreshold"),
		Threshold:          r.SLAThresholdParam.ValueAsNumber(),
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   jsii.String("ignore"),
		AlarmActions:       &[]interface{}{p.Topic.TopicArn()},
		Namespace:          jsii.String(names.MetricsNamespace),
		MetricName:         jsii.String(names.MetricPastSLA),
		Period:             jsii.Number(86400),
		Statistic:          jsii.String("Maximum"),
	})
	r.SLAAlarm.CfnOptions().SetCondition(hasSLAAlarm)
	return r
}
