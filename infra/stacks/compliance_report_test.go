package stacks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/names"
)

// mentioning returns the one resource of typ in tpl whose JSON contains marker.
func mentioning(t *testing.T, tpl map[string]any, typ, marker string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, r := range resources(tpl, typ) {
		b, _ := json.Marshal(r)
		if strings.Contains(string(b), marker) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s resources mention %q, want 1", len(found), typ, marker)
	}
	return found[0]["Properties"].(map[string]any)
}

func TestReportBucketIsProtected(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	id, bucket := only(t, b.mgmt, "AWS::S3::Bucket", reportBucket)
	props := bucket["Properties"].(map[string]any)
	if bucket["DeletionPolicy"] != "Retain" {
		t.Errorf("DeletionPolicy %v, want Retain: reports outlive the stack", bucket["DeletionPolicy"])
	}
	want := map[string]any{
		"BucketEncryption":               map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
		"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"VersioningConfiguration":        map[string]any{"Status": "Enabled"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, props[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	rule := props["LifecycleConfiguration"].(map[string]any)["Rules"].([]any)[0].(map[string]any)
	ret := map[string]any{"Ref": "ReportRetentionDays"}
	if diff := cmp.Diff(ret, rule["ExpirationInDays"]); diff != "" {
		t.Errorf("expiration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ret, rule["NoncurrentVersionExpiration"].(map[string]any)["NoncurrentDays"]); diff != "" {
		t.Errorf("noncurrent expiration (-want +got):\n%s", diff)
	}
	policy := mentioning(t, b.mgmt, "AWS::S3::BucketPolicy", id)
	stmt := policy["PolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	if stmt["Effect"] != "Deny" || !cmp.Equal(stmt["Condition"], map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}) {
		t.Errorf("the bucket policy does not deny plain HTTP: %v", stmt)
	}
}

func TestReportTableQueriesAndSchedule(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	table := mentioning(t, b.mgmt, "AWS::Glue::Table", "EXTERNAL_TABLE")["TableInput"].(map[string]any)
	sd := table["StorageDescriptor"].(map[string]any)
	if sd["SerdeInfo"].(map[string]any)["SerializationLibrary"] != "org.openx.data.jsonserde.JsonSerDe" {
		t.Errorf("serde %v, want the JSON SerDe", sd["SerdeInfo"])
	}
	var cols []string
	for _, c := range sd["Columns"].([]any) {
		cols = append(cols, c.(map[string]any)["Name"].(string))
	}
	for _, want := range []string{"recordtype", "runid", "capturetime", "compliancetype", "resourceid", "status", "nodestate", "overallseverity", "severity",
		"missingpatches", "failedpatches", "pendingrebootpatches", "rejectedpatches", "account", "region", "ou", "ring", "platform", "ownertags",
		"stale", "pastsla", "outcome", "reason", "trend"} {
		if !slices.Contains(cols, want) {
			t.Errorf("the table lacks column %s: %v", want, cols)
		}
	}
	params := table["Parameters"].(map[string]any)
	if params["projection.enabled"] != "true" || params["projection.dt.type"] != "date" {
		t.Errorf("partition projection off: %v", params)
	}
	if diff := cmp.Diff([]any{map[string]any{"Name": "dt", "Type": "string"}}, table["PartitionKeys"]); diff != "" {
		t.Errorf("partition keys (-want +got):\n%s", diff)
	}
	var queries []string
	for _, q := range resources(b.mgmt, "AWS::Athena::NamedQuery") {
		queries = append(queries, q["Properties"].(map[string]any)["Name"].(string))
	}
	slices.Sort(queries)
	if diff := cmp.Diff([]string{"orgpatch-critical-missing-30-days", "orgpatch-non-compliant-by-ou", "orgpatch-not-read", "orgpatch-not-scanned",
		"orgpatch-patches-past-sla", "orgpatch-trend", "orgpatch-unmanaged-instances"}, queries); diff != "" {
		t.Errorf("named queries (-want +got):\n%s", diff)
	}
	// The not-scanned query counts with the deployed stale days, not 7.
	notScanned := mentioning(t, b.mgmt, "AWS::Athena::NamedQuery", "orgpatch-not-scanned")["QueryString"]
	if sub, ok := notScanned.(map[string]any)["Fn::Sub"].(string); !ok || !strings.Contains(sub, "lastscanagedays > ${ReportStaleDays}") {
		t.Errorf("not-scanned query %v: want it to compare with ${ReportStaleDays}", notScanned)
	}
	rule := mentioning(t, b.mgmt, "AWS::Events::Rule", "compliance report")
	if diff := cmp.Diff(map[string]any{"Ref": "ReportSchedule"}, rule["ScheduleExpression"]); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}
	transformer := rule["Targets"].([]any)[0].(map[string]any)["InputTransformer"].(map[string]any)
	template := transformer["InputTemplate"].(string)
	if !strings.Contains(template, `"source":"orgpatch"`) || !strings.Contains(template, `"detail-type":"Compliance Report"`) ||
		!strings.Contains(template, `"id":<`) || !strings.Contains(fmt.Sprint(transformer["InputPathsMap"]), "$.id") {
		t.Errorf("the target sends %s (%v), not the report event with the schedule event's id", template, transformer["InputPathsMap"])
	}
	if d := b.mgmt["Parameters"].(map[string]any)["ReportSchedule"].(map[string]any)["Default"]; d != "rate(1 day)" {
		t.Errorf("ReportSchedule default %v, want daily", d)
	}
	alarm := resources(b.mgmt, "AWS::CloudWatch::Alarm")
	conditioned := 0
	for _, a := range alarm {
		if a["Condition"] == "HasReportAlarm" {
			conditioned++
		}
	}
	if conditioned != 1 {
		t.Errorf("%d alarms under HasReportAlarm, want the optional report alarm", conditioned)
	}
	sla := 0
	for _, a := range alarm {
		if a["Condition"] == "HasReportSLAAlarm" && a["Properties"].(map[string]any)["MetricName"] == names.MetricPastSLA {
			sla++
		}
	}
	if sla != 1 {
		t.Errorf("%d past-SLA alarms under HasReportSLAAlarm, want one", sla)
	}
	if d := b.mgmt["Parameters"].(map[string]any)["ReportRetentionDays"].(map[string]any)["Default"]; d != "400" {
		t.Errorf("ReportRetentionDays default %v, want 400 (13 months)", d)
	}
}

// The latest-run view is an Athena (Presto) view whose columns are the
// table's and whose SQL picks the newest run that wrote its Run record, so
// each node counts once.
func TestReportLatestRunView(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	view := mentioning(t, b.mgmt, "AWS::Glue::Table", "VIRTUAL_VIEW")["TableInput"].(map[string]any)
	table := mentioning(t, b.mgmt, "AWS::Glue::Table", "EXTERNAL_TABLE")["TableInput"].(map[string]any)
	if view["Name"] != ReportView || view["Parameters"].(map[string]any)["presto_view"] != "true" {
		t.Fatalf("view %v", view)
	}
	text := view["ViewOriginalText"].(string)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(text, "/* Presto View: "), " */"))
	if err != nil {
		t.Fatalf("ViewOriginalText %q: %v", text, err)
	}
	var def struct {
		OriginalSQL string                        `json:"originalSql"`
		Catalog     string                        `json:"catalog"`
		Schema      string                        `json:"schema"`
		Columns     []struct{ Name, Type string } `json:"columns"`
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"recordtype = 'Run'", "max_by(runid", "FROM " + ReportDatabase + "." + ReportTable} {
		if !strings.Contains(def.OriginalSQL, want) {
			t.Errorf("view SQL lacks %q:\n%s", want, def.OriginalSQL)
		}
	}
	var tableCols, viewCols []string
	for _, c := range table["StorageDescriptor"].(map[string]any)["Columns"].([]any) {
		tableCols = append(tableCols, c.(map[string]any)["Name"].(string))
	}
	for _, c := range def.Columns {
		viewCols = append(viewCols, c.Name)
	}
	if diff := cmp.Diff(append(tableCols, "dt"), viewCols); diff != "" {
		t.Errorf("view columns are not the table's and dt (-table +view):\n%s", diff)
	}
	types := map[string]string{}
	for _, c := range def.Columns {
		types[c.Name] = c.Type
	}
	for name, want := range map[string]string{"runid": "varchar", "stale": "boolean", "nodes": "integer",
		"ownertags": "map(varchar,varchar)", "missingpatches": "array(row(id varchar,title varchar,severity varchar,patchseverity varchar,effectiveseverity varchar,classification varchar,cveids array(varchar),state varchar,installedtime varchar,firstseen varchar,agedays integer,sladays integer,pastsla boolean))"} {
		if types[name] != want {
			t.Errorf("view column %s: %s, want %s", name, types[name], want)
		}
	}
}

// The member configuration role reads exactly what internal/compliance
// calls.
func TestMemberRoleReadsWhatTheReportCalls(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	role := mentioning(t, b.member, "AWS::IAM::Role", "ReadPatchCompliance")
	var actions []any
	for _, p := range role["Policies"].([]any) {
		for _, s := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			if s.(map[string]any)["Sid"] == "ReadPatchCompliance" {
				actions = s.(map[string]any)["Action"].([]any)
			}
		}
	}
	want := []any{"ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:DescribeInstancePatchStates", "ssm:ListComplianceItems", "ssm:ListResourceComplianceSummaries"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("report permissions (-want +got):\n%s", diff)
	}
}

// reportBucketID is the logical id of the report bucket.
func reportBucketID(t *testing.T, b *built) string {
	t.Helper()
	id, _ := only(t, b.mgmt, "AWS::S3::Bucket", reportBucket)
	return id
}

// reportBucket matches the compliance report's bucket (by its name), not
// the runs bucket.
func reportBucket(p map[string]any) bool {
	return strings.Contains(fmt.Sprint(p["BucketName"]), "orgpatch-compliance")
}

// The Lambda role writes the report bucket's two prefixes and nothing
// else, from its own policy.
func TestLambdaWritesOnlyTheReportPrefixes(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	_, role := only(t, b.mgmt, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
	resourcesOf := statementBySid(t, role, "WriteReports")["Resource"].([]any)
	want := []any{
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::orgpatch-compliance-${AWS::AccountId}-${AWS::Region}/pages/*"},
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::orgpatch-compliance-${AWS::AccountId}-${AWS::Region}/records/*"},
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::orgpatch-compliance-${AWS::AccountId}-${AWS::Region}/state/*"},
	}
	if diff := cmp.Diff(want, resourcesOf); diff != "" {
		t.Errorf("WriteReports resources (-want +got):\n%s", diff)
	}
	name := mentioning(t, b.mgmt, "AWS::S3::Bucket", "orgpatch-compliance")["BucketName"]
	if diff := cmp.Diff(map[string]any{"Fn::Sub": reportBucketName}, name); diff != "" {
		t.Errorf("bucket name (-want +got):\n%s", diff)
	}
}

// TestBucketsOnlyOrgpatchWrites: each bucket's policy denies every object
// write to any principal but orgpatch's roles: the runs bucket's to all but
// the Lambda's and the state machine's, the report bucket's to all but the
// Lambda's. Reads are left to IAM.
func TestBucketsOnlyOrgpatchWrites(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	lambdaRole, _ := only(t, b.mgmt, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
	smRole, _ := only(t, b.mgmt, "AWS::IAM::Role", func(p map[string]any) bool {
		return strings.Contains(fmt.Sprint(p["AssumeRolePolicyDocument"]), "states.amazonaws.com")
	})
	runsID, _ := only(t, b.mgmt, "AWS::S3::Bucket", runsBucket)
	for _, tc := range []struct {
		bucket  string
		writers []any
	}{
		{runsID, []any{getAtt(lambdaRole, "Arn"), getAtt(smRole, "Arn")}},
		{reportBucketID(t, b), []any{getAtt(lambdaRole, "Arn")}},
	} {
		_, policy := only(t, b.mgmt, "AWS::S3::BucketPolicy", func(p map[string]any) bool { return fmt.Sprint(p["Bucket"]) == fmt.Sprint(ref(tc.bucket)) })
		var deny map[string]any
		for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			if st := st.(map[string]any); st["Sid"] == "OnlyOrgpatchWrites" {
				deny = st
			}
		}
		if deny == nil {
			t.Fatalf("%s: no OnlyOrgpatchWrites statement in its policy", tc.bucket)
		}
		diff(t, tc.bucket+" deny", map[string]any{
			"Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": tc.writers}},
			"Resource":  map[string]any{"Fn::Join": []any{"", []any{getAtt(tc.bucket, "Arn"), "/*"}}},
		}, pick(deny, "Effect", "Principal", "Condition", "Resource"))
		for _, a := range []string{"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} {
			if !slices.Contains(deny["Action"].([]any), any(a)) {
				t.Errorf("%s: the deny lacks %s: %v", tc.bucket, a, deny["Action"])
			}
		}
	}
}
