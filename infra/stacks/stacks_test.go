package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
)

// codeDir holds a stand-in bootstrap: the stack tests look at templates,
// not at the binary (TestBuildBootstrap builds the real one).
var codeDir string

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	dir, err := os.MkdirTemp("", "orgpatch-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("stand-in"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	codeDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	for _, b := range cache {
		os.RemoveAll(b.outdir)
	}
	os.Exit(code)
}

// built is one synthesized app with its templates.
type built struct {
	stacks    *Stacks
	outdir    string
	mgmt      map[string]any
	member    map[string]any
	forwarder map[string]any // nil without a forwarder stack
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*built{}
)

// build synthesizes the app for home with the default settings changed by
// mutate; results for the plain defaults are shared between tests.
func build(t *testing.T, home string, mutate func(*Settings)) *built {
	t.Helper()
	key := home
	if mutate == nil {
		cacheMu.Lock()
		defer cacheMu.Unlock()
		if b, ok := cache[key]; ok {
			return b
		}
	}
	s := DefaultSettings()
	s.HomeRegion = home
	if mutate != nil {
		mutate(&s)
	}
	outdir, err := os.MkdirTemp("", "orgpatch-cdkout-")
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		t.Cleanup(func() { os.RemoveAll(outdir) })
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: cdkJSONContext(t)})
	st, err := NewApp(app, AppProps{Settings: s, CodeDir: codeDir})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	b := &built{
		stacks: st,
		outdir: outdir,
		mgmt:   templateOf(st.Management.Stack),
		member: templateOf(st.Member),
	}
	if st.Forwarder != nil {
		b.forwarder = templateOf(st.Forwarder.Stack)
	}
	if mutate == nil {
		cache[key] = b
	}
	return b
}

// cdkJSONContext is the context cdk.json gives `cdk synth` (feature flags
// included), so the tests synthesize what the CLI does.
func cdkJSONContext(t *testing.T) *map[string]any {
	t.Helper()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	if doc.App != "go run ./infra" {
		t.Errorf("cdk.json app = %q, want go run ./infra", doc.App)
	}
	return &doc.Context
}

func templateOf(stack awscdk.Stack) map[string]any {
	return *assertions.Template_FromStack(stack, nil).ToJSON()
}

// resources returns the template's resources of type typ by logical id.
func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// only returns the one resource of type typ whose properties satisfy match.
func only(t *testing.T, tpl map[string]any, typ string, match func(props map[string]any) bool) (string, map[string]any) {
	t.Helper()
	var ids []string
	var found map[string]any
	for id, r := range resources(tpl, typ) {
		p, _ := r["Properties"].(map[string]any)
		if match == nil || match(p) {
			ids = append(ids, id)
			found = r
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want one %s matching, got %d: %v", typ, len(ids), ids)
	}
	return ids[0], found
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// lambdaLogs matches the Lambda's log group (the state machine has one too).
func lambdaLogs(p map[string]any) bool {
	return strings.HasPrefix(fmt.Sprint(p["LogGroupName"]), "/aws/lambda/")
}

func roleNamed(name string) func(map[string]any) bool {
	return func(p map[string]any) bool { return p["RoleName"] == name }
}

// roundTrip normalises Go values to what encoding/json gives back, so
// expectations written as literals compare with template values.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diff compares want and got as JSON values. Lists of policy resources
// are compared as sets: CDK orders them as it likes.
func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(sortResources(roundTrip(t, want), false), sortResources(roundTrip(t, got), false)); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// statements returns every statement of every inline policy of a role.
func statements(role map[string]any) []map[string]any {
	var out []map[string]any
	pols, _ := props(role)["Policies"].([]any)
	for _, p := range pols {
		doc := p.(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// actions lists a role's inline-policy actions, sorted.
func actions(role map[string]any) []string {
	var out []string
	for _, s := range statements(role) {
		out = append(out, strs(s["Action"])...)
	}
	sort.Strings(out)
	return out
}

// statementBySid returns the statement with that Sid.
func statementBySid(t *testing.T, role map[string]any, sid string) map[string]any {
	t.Helper()
	for _, s := range statements(role) {
		if s["Sid"] == sid {
			return s
		}
	}
	t.Fatalf("no statement %s", sid)
	return nil
}

// sortResources sorts every list under a "Resource" key (or v itself when
// isList) by its elements' JSON.
func sortResources(v any, isList bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = sortResources(x, k == "Resource")
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = sortResources(x, false)
		}
		if isList {
			sort.Slice(out, func(i, j int) bool {
				a, _ := json.Marshal(out[i])
				b, _ := json.Marshal(out[j])
				return string(a) < string(b)
			})
		}
		return out
	}
	return v
}

// resourceOf wraps a statement's Resource so diff compares it as a set.
func resourceOf(stmt map[string]any) map[string]any {
	return map[string]any{"Resource": stmt["Resource"]}
}

func sub(s string) map[string]any { return map[string]any{"Fn::Sub": s} }
func ref(s string) map[string]any { return map[string]any{"Ref": s} }
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

func TestLambdaFunction(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	_, fn := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	roleID, _ := only(t, b.mgmt, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
	logID, _ := only(t, b.mgmt, "AWS::Logs::LogGroup", lambdaLogs)
	bucketID, _ := only(t, b.mgmt, "AWS::S3::Bucket", runsBucket)
	topicID, _ := only(t, b.mgmt, "AWS::SNS::Topic", nil)
	p := props(fn)
	got := map[string]any{}
	for _, k := range []string{"FunctionName", "Runtime", "Architectures", "Handler", "Timeout", "MemorySize", "ReservedConcurrentExecutions", "Environment", "Role", "LoggingConfig"} {
		got[k] = p[k]
	}
	diff(t, "function", map[string]any{
		"FunctionName":                 "orgpatch",
		"Runtime":                      "provided.al2023",
		"Architectures":                []string{"arm64"},
		"Handler":                      "bootstrap",
		"Timeout":                      900,
		"MemorySize":                   512,
		"ReservedConcurrentExecutions": 12,
		"Environment": map[string]any{"Variables": map[string]any{
			"ORGPATCH_CONFIG_PARAMETER":  "/orgpatch/configuration",
			"ORGPATCH_REPORT_BUCKET":     ref(reportBucketID(t, b)),
			"ORGPATCH_REPORT_STALE_DAYS": ref("ReportStaleDays"),
			"ORGPATCH_REPORT_SLA_DAYS":   ref("ReportSLADays"),
			"ORGPATCH_REPORT_OWNER_TAGS": ref("ReportOwnerTags"),
			"ORGPATCH_STACK_ID":          ref("AWS::StackId"),
			"ORGPATCH_STACK_PROPERTIES":  p["Environment"].(map[string]any)["Variables"].(map[string]any)["ORGPATCH_STACK_PROPERTIES"],
			"LOG_LEVEL":                  ref("LogLevel"),
			"ORGPATCH_STATE_MACHINE_ARN": sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:orgpatch-run"),
			"ORGPATCH_RUNS_BUCKET":       ref(bucketID),
			"ORGPATCH_BUCKET_OWNER":      ref("AWS::AccountId"),
			"ORGPATCH_ALARM_TOPIC_ARN":   ref(topicID),
			"ORGPATCH_EVENT_BUS_ARN":     sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"),
		}},
		"Role":          getAtt(roleID, "Arn"),
		"LoggingConfig": map[string]any{"LogGroup": ref(logID)},
	}, got)

	qID, _ := only(t, b.mgmt, "AWS::SQS::Queue", nil)
	fnID, _ := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	_, cfg := only(t, b.mgmt, "AWS::Lambda::EventInvokeConfig", nil)
	diff(t, "async invoke config", map[string]any{
		"FunctionName":             ref(fnID),
		"Qualifier":                "$LATEST",
		"MaximumRetryAttempts":     2,
		"MaximumEventAgeInSeconds": 21600,
		"DestinationConfig":        map[string]any{"OnFailure": map[string]any{"Destination": getAtt(qID, "Arn")}},
	}, props(cfg))
}

func TestLambdaSettingsFromContext(t *testing.T) {
	b := build(t, "eu-west-1", func(s *Settings) {
		s.FunctionName = "patcher"
		s.MemorySize = 1024
		s.ReservedConcurrency = 0
		s.LogKMSKeyARN = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	})
	_, fn := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	p := props(fn)
	if p["FunctionName"] != "patcher" || p["MemorySize"] != float64(1024) {
		t.Errorf("function name/memory = %v/%v, want patcher/1024", p["FunctionName"], p["MemorySize"])
	}
	if _, ok := p["ReservedConcurrentExecutions"]; ok {
		t.Errorf("reservedConcurrency 0 should leave the function unreserved, got %v", p["ReservedConcurrentExecutions"])
	}
	_, lg := only(t, b.mgmt, "AWS::Logs::LogGroup", lambdaLogs)
	diff(t, "log group", map[string]any{
		"LogGroupName":    "/aws/lambda/patcher",
		"RetentionInDays": ref("LogRetentionDays"),
		"KmsKeyId":        "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	}, props(lg))
}

func TestLogGroup(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	_, lg := only(t, b.mgmt, "AWS::Logs::LogGroup", lambdaLogs)
	diff(t, "log group", map[string]any{
		"LogGroupName":    "/aws/lambda/orgpatch",
		"RetentionInDays": ref("LogRetentionDays"),
	}, props(lg))
	param := b.mgmt["Parameters"].(map[string]any)["LogRetentionDays"].(map[string]any)
	if param["Default"] != "14" {
		t.Errorf("LogRetentionDays default = %v, want 14", param["Default"])
	}
	if !strings.Contains(fmt.Sprint(param["AllowedValues"]), "3653") {
		t.Errorf("LogRetentionDays allowed values %v lack CloudWatch's values", param["AllowedValues"])
	}
}

func TestLambdaRolePolicy(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	_, role := only(t, b.mgmt, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
	diff(t, "actions", []string{
		"cloudformation:DescribeStacks",
		"cloudwatch:DescribeAlarms", // the promotion gates' alarms
		"controltower:GetLandingZone",
		"controltower:ListLandingZones",
		"events:PutEvents",
		"kms:Decrypt", // the alarm topic's key, through SNS
		"kms:GenerateDataKey",
		"logs:CreateLogStream",
		"logs:PutLogEvents",
		"organizations:DescribeAccount",
		"organizations:ListAccounts",
		"organizations:ListAccountsForParent",
		"organizations:ListOrganizationalUnitsForParent",
		"organizations:ListParents",
		"organizations:ListRoots",
		"organizations:ListTagsForResource",
		"s3:AbortMultipartUpload",
		"s3:GetObject",  // the report bucket's prefixes (WriteReports)
		"s3:GetObject",  // the runs bucket's prefix (RunObjects)
		"s3:GetObject",  // the promotion state (PromotionState)
		"s3:ListBucket", // the report bucket (ListReports)
		"s3:ListBucket", // the promotion state's key (FindPromotionState)
		"s3:PutObject",  // the report bucket's prefixes (WriteReports)
		"s3:PutObject",  // the runs bucket's prefix (RunObjects)
		"s3:PutObject",  // the promotion state (PromotionState)
		"sns:Publish",
		"sqs:SendMessage",
		"ssm:DeleteParameter",
		"ssm:GetParameter",
		"ssm:PutParameter",
		"states:ListExecutions",
		"states:StartExecution",
		"sts:AssumeRole",
	}, actions(role))
	// Granted once and never called: the organization's description and
	// Granted once and never called: the organization's description (its
	// roots are read by the compliance report's OU walk, its tags by rings).
	for _, unused := range []string{"organizations:DescribeOrganization"} {
		if slices.Contains(actions(role), unused) {
			t.Errorf("the Lambda role still grants %s, which it does not use", unused)
		}
	}
	if n := len(resources(b.mgmt, "AWS::IAM::Policy")); n != 0 {
		t.Errorf("the management stack has %d extra AWS::IAM::Policy resources; every grant should be in the roles' own policies", n)
	}

	// A Delete and an Update are verified with the stack's own status,
	// and no other stack's.
	diff(t, "verify stack operations", map[string]any{
		"Sid":      "VerifyStackOperations",
		"Effect":   "Allow",
		"Action":   "cloudformation:DescribeStacks",
		"Resource": ref("AWS::StackId"),
	}, statementBySid(t, role, "VerifyStackOperations"))

	diff(t, "assume role", map[string]any{
		"Sid":      "AssumeConfigurationRoleInOrganization",
		"Effect":   "Allow",
		"Action":   "sts:AssumeRole",
		"Resource": sub("arn:${AWS::Partition}:iam::*:role/sra-patch-mgmt-configuration"),
		"Condition": map[string]any{"StringEquals": map[string]any{
			"aws:PrincipalOrgID": ref("OrganizationId"),
			"aws:ResourceOrgID":  ref("OrganizationId"),
		}},
	}, statementBySid(t, role, "AssumeConfigurationRoleInOrganization"))

	diff(t, "parameter reads", map[string]any{"Resource": []any{
		sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/orgpatch/configuration"),
		sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/sra/regions/customer-control-tower-regions"),
	}}, resourceOf(statementBySid(t, role, "ReadRegionsAndConfiguration")))
	// The configuration parameter alone is written, and deleted by the
	// custom resource's Delete.
	write := statementBySid(t, role, "WriteConfiguration")
	writeActions := strs(write["Action"])
	sort.Strings(writeActions)
	diff(t, "parameter writes", map[string]any{
		"Action":   []string{"ssm:DeleteParameter", "ssm:PutParameter"},
		"Resource": sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/orgpatch/configuration"),
	}, map[string]any{"Action": writeActions, "Resource": write["Resource"]})
	logID, _ := only(t, b.mgmt, "AWS::Logs::LogGroup", lambdaLogs)
	diff(t, "log writes", getAtt(logID, "Arn"), statementBySid(t, role, "WriteOwnLogs")["Resource"])
	// Whole-organization runs: this state machine alone, this bucket's
	// runs prefix alone.
	diff(t, "runs started", sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:orgpatch-run"),
		statementBySid(t, role, "StartRuns")["Resource"])
	bucketID, _ := only(t, b.mgmt, "AWS::S3::Bucket", runsBucket)
	diff(t, "runs objects", map[string]any{"Fn::Join": []any{"", []any{getAtt(bucketID, "Arn"), "/runs/*"}}},
		statementBySid(t, role, "RunObjects")["Resource"])
	qID, _ := only(t, b.mgmt, "AWS::SQS::Queue", nil)
	diff(t, "queue sends", getAtt(qID, "Arn"), statementBySid(t, role, "SendFailedEvents")["Resource"])
	diff(t, "lambda trust", map[string]any{"Statement": []any{map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow",
		"Principal": map[string]any{"Service": "lambda.amazonaws.com"},
	}}, "Version": "2012-10-17"}, props(role)["AssumeRolePolicyDocument"])
}

// The function reads and writes the promotion state's one object, puts
// events on the home region's default bus alone, publishes to the alarm
// topic alone (its key only through SNS, and the topic's policy names the
// role), reads alarms in the home region, and is told the topic and bus.
func TestLambdaPromotionGrants(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	roleID, role := only(t, b.mgmt, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
	bucketID, _ := only(t, b.mgmt, "AWS::S3::Bucket", runsBucket)
	topicID, _ := only(t, b.mgmt, "AWS::SNS::Topic", nil)
	keyID, _ := only(t, b.mgmt, "AWS::KMS::Key", nil)
	bus := sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default")
	diff(t, "promotion state", map[string]any{"Fn::Join": []any{"", []any{getAtt(bucketID, "Arn"), "/promotion/state.json"}}},
		statementBySid(t, role, "PromotionState")["Resource"])
	find := statementBySid(t, role, "FindPromotionState")
	diff(t, "promotion state list", map[string]any{"Action": "s3:ListBucket", "Resource": getAtt(bucketID, "Arn"),
		"Condition": map[string]any{"StringEquals": map[string]any{"s3:prefix": "promotion/state.json"}}},
		map[string]any{"Action": find["Action"], "Resource": find["Resource"], "Condition": find["Condition"]})
	diff(t, "events", bus, statementBySid(t, role, "PutPromotionEvents")["Resource"])
	diff(t, "publish", ref(topicID), statementBySid(t, role, "PublishPromotionEvents")["Resource"])
	enc := statementBySid(t, role, "EncryptPromotionEvents")
	diff(t, "topic key", map[string]any{"Resource": getAtt(keyID, "Arn"), "Condition": map[string]any{"StringEquals": map[string]any{
		"kms:ViaService": sub("sns.${AWS::Region}.amazonaws.com")}}}, map[string]any{"Resource": enc["Resource"], "Condition": enc["Condition"]})
	alarms := statementBySid(t, role, "ReadGateAlarms")
	diff(t, "alarms", map[string]any{"Action": "cloudwatch:DescribeAlarms", "Resource": "*",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": ref("AWS::Region")}}},
		map[string]any{"Action": alarms["Action"], "Resource": alarms["Resource"], "Condition": alarms["Condition"]})

	_, tp := only(t, b.mgmt, "AWS::SNS::TopicPolicy", nil)
	var rolePublishes bool
	for _, s := range props(tp)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		s := s.(map[string]any)
		if s["Effect"] == "Allow" && s["Action"] == "sns:Publish" && fmt.Sprint(s["Principal"]) == fmt.Sprint(map[string]any{"AWS": getAtt(roleID, "Arn")}) {
			rolePublishes = true
		}
	}
	if !rolePublishes {
		t.Error("the alarm topic's policy does not let the function's role publish")
	}
	_, fn := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
	diff(t, "topic and bus", map[string]any{"ORGPATCH_ALARM_TOPIC_ARN": ref(topicID), "ORGPATCH_EVENT_BUS_ARN": bus},
		map[string]any{"ORGPATCH_ALARM_TOPIC_ARN": env["ORGPATCH_ALARM_TOPIC_ARN"], "ORGPATCH_EVENT_BUS_ARN": env["ORGPATCH_EVENT_BUS_ARN"]})
}

// wildcardAction matches "*" and service-wide grants such as "ssm:*".
var wildcardAction = regexp.MustCompile(`^(\*|[a-z0-9-]+:\*)$`)

func TestNoWildcardActions(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	for name, tpl := range map[string]map[string]any{"management": b.mgmt, "member": b.member, "forwarder": b.forwarder} {
		for id, r := range resources(tpl, "AWS::IAM::Role") {
			for _, a := range actions(r) {
				if wildcardAction.MatchString(a) {
					t.Errorf("%s %s grants %q", name, id, a)
				}
			}
		}
		for id, r := range resources(tpl, "AWS::IAM::Policy") {
			for _, s := range props(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				for _, a := range strs(s.(map[string]any)["Action"]) {
					if wildcardAction.MatchString(a) {
						t.Errorf("%s %s grants %q", name, id, a)
					}
				}
			}
		}
	}
}

func TestTemplatesArePartitionAware(t *testing.T) {
	for _, home := range []string{"eu-west-1", "us-east-1"} {
		b := build(t, home, nil)
		for name, tpl := range map[string]map[string]any{"management": b.mgmt, "member": b.member, "forwarder": b.forwarder} {
			if tpl == nil {
				continue
			}
			raw, err := json.Marshal(tpl)
			if err != nil {
				t.Fatal(err)
			}
			// The management template embeds the member template as a
			// string, so this covers the StackSet's body too.
			if i := strings.Index(string(raw), "arn:aws:"); i >= 0 {
				t.Errorf("%s (home %s): literal partition at %q", name, home, string(raw[max(0, i-80):min(len(raw), i+80)]))
			}
		}
	}
}

func TestDeadLetterQueue(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	qID, q := only(t, b.mgmt, "AWS::SQS::Queue", nil)
	diff(t, "queue", map[string]any{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1209600}, props(q))
	_, pol := only(t, b.mgmt, "AWS::SQS::QueuePolicy", nil)
	var denyInsecure, allowEvents bool
	for _, s := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		s := s.(map[string]any)
		if s["Effect"] == "Deny" && fmt.Sprint(s["Condition"]) == "map[Bool:map[aws:SecureTransport:false]]" && fmt.Sprint(s["Action"]) == "sqs:*" {
			denyInsecure = true
		}
		if s["Effect"] == "Allow" && fmt.Sprint(s["Principal"]) == "map[Service:events.amazonaws.com]" && s["Action"] == "sqs:SendMessage" {
			allowEvents = true
		}
	}
	if !denyInsecure {
		t.Error("the queue policy does not deny requests without TLS")
	}
	if !allowEvents {
		t.Error("the queue policy does not let EventBridge deliver undeliverable events")
	}
	diff(t, "policy queue", []any{ref(qID)}, props(pol)["Queues"])
}

func TestAlarmTopicAndAlarms(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	keyID, key := only(t, b.mgmt, "AWS::KMS::Key", nil)
	if props(key)["EnableKeyRotation"] != true {
		t.Error("topic key rotation is off")
	}
	var cloudwatchMayUse bool
	for _, s := range props(key)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		s := s.(map[string]any)
		if fmt.Sprint(s["Principal"]) == "map[Service:cloudwatch.amazonaws.com]" && s["Effect"] == "Allow" {
			diff(t, "cloudwatch key grant", []string{"kms:Decrypt", "kms:GenerateDataKey*"}, s["Action"])
			cloudwatchMayUse = true
		}
	}
	if !cloudwatchMayUse {
		t.Error("the topic key does not let CloudWatch alarms publish")
	}
	topicID, topic := only(t, b.mgmt, "AWS::SNS::Topic", nil)
	diff(t, "topic key", getAtt(keyID, "Arn"), props(topic)["KmsMasterKeyId"])
	_, tp := only(t, b.mgmt, "AWS::SNS::TopicPolicy", nil)
	if !strings.Contains(fmt.Sprint(props(tp)["PolicyDocument"]), "aws:SecureTransport:false") {
		t.Error("the topic policy does not deny requests without TLS")
	}
	// The topic policy replaces SNS's default one: without this grant the
	// alarms could not notify anyone.
	var cloudwatchMayPublish bool
	for _, s := range props(tp)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		s := s.(map[string]any)
		if fmt.Sprint(s["Principal"]) == "map[Service:cloudwatch.amazonaws.com]" && s["Effect"] == "Allow" && s["Action"] == "sns:Publish" {
			diff(t, "cloudwatch publish", map[string]any{"Resource": ref(topicID), "Condition": map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")},
				"ArnLike":      map[string]any{"aws:SourceArn": sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*")},
			}},
				map[string]any{"Resource": s["Resource"], "Condition": s["Condition"]})
			cloudwatchMayPublish = true
		}
	}
	if !cloudwatchMayPublish {
		t.Error("the topic policy does not let CloudWatch alarms publish")
	}

	_, subscription := only(t, b.mgmt, "AWS::SNS::Subscription", nil)
	if subscription["Condition"] != "HasAlarmEmail" {
		t.Errorf("subscription condition = %v, want HasAlarmEmail", subscription["Condition"])
	}
	diff(t, "subscription", map[string]any{"Protocol": "email", "Endpoint": ref("AlarmEmail"), "TopicArn": ref(topicID)}, props(subscription))
	diff(t, "HasAlarmEmail", map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{ref("AlarmEmail"), ""}}}},
		b.mgmt["Conditions"].(map[string]any)["HasAlarmEmail"])

	qID, _ := only(t, b.mgmt, "AWS::SQS::Queue", nil)
	fnID, _ := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	type alarm struct {
		Namespace, MetricName, Statistic, Comparison string
		Threshold                                    float64
		Dimension                                    any
		Actions                                      any
	}
	var got []alarm
	for _, r := range resources(b.mgmt, "AWS::CloudWatch::Alarm") {
		p := props(r)
		if r["Condition"] == "HasReportAlarm" || r["Condition"] == "HasReportSLAAlarm" {
			continue // the compliance report's (compliance_report_test.go)
		}
		if p["Metrics"] != nil {
			continue // the runs' alarm, a metric math expression: TestRunsAlarm
		}
		got = append(got, alarm{
			Namespace: fmt.Sprint(p["Namespace"]), MetricName: fmt.Sprint(p["MetricName"]), Statistic: fmt.Sprint(p["Statistic"]),
			Comparison: fmt.Sprint(p["ComparisonOperator"]), Threshold: p["Threshold"].(float64),
			Dimension: p["Dimensions"].([]any)[0].(map[string]any)["Value"], Actions: p["AlarmActions"],
		})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Namespace < got[j].Namespace })
	actions := []any{ref(topicID)}
	diff(t, "alarms", []alarm{
		{"AWS/Lambda", "Errors", "Sum", "GreaterThanOrEqualToThreshold", 1, ref(fnID), actions},
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "GreaterThanOrEqualToThreshold", 1, getAtt(qID, "QueueName"), actions},
	}, got)
}

func TestEventRules(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	fnID, _ := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	rules := resources(b.mgmt, "AWS::Events::Rule")
	got := map[string]any{}
	for id, r := range rules {
		p := props(r)
		key := fmt.Sprint(p["ScheduleExpression"] != nil)
		if ep, ok := p["EventPattern"].(map[string]any); ok {
			key = fmt.Sprint(ep["source"])
			got[key] = ep
		} else if fmt.Sprint(p["ScheduleExpression"]) == fmt.Sprint(ref("ReportSchedule")) {
			got["report schedule"] = p["ScheduleExpression"] // compliance_report_test.go checks its input
		} else {
			got["schedule"] = p["ScheduleExpression"]
		}
		targets := p["Targets"].([]any)
		if len(targets) != 1 || fmt.Sprint(targets[0].(map[string]any)["Arn"]) != fmt.Sprint(getAtt(fnID, "Arn")) {
			t.Errorf("rule %s targets %v, want the Lambda only", id, targets)
		}
		// Each rule has its own permission, scoped to its ARN.
		_, perm := only(t, b.mgmt, "AWS::Lambda::Permission", func(pp map[string]any) bool {
			return fmt.Sprint(pp["SourceArn"]) == fmt.Sprint(getAtt(id, "Arn"))
		})
		diff(t, "permission of "+id, map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": getAtt(fnID, "Arn"),
			"Principal": "events.amazonaws.com", "SourceArn": getAtt(id, "Arn"),
		}, props(perm))
	}
	diff(t, "rules", map[string]any{
		"report schedule": ref("ReportSchedule"),
		"schedule": map[string]any{"Fn::If": []any{"DailyCompliance", "rate(1 day)",
			map[string]any{"Fn::Join": []any{"", []any{"rate(", ref("ComplianceFrequency"), " days)"}}}}},
		// Both rules match only events recorded in the management account.
		"[aws.controltower]": map[string]any{
			"account":     []any{ref("AWS::AccountId")},
			"source":      []string{"aws.controltower"},
			"detail-type": []string{"AWS Service Event via CloudTrail"},
			"detail":      map[string]any{"eventName": []string{"CreateManagedAccount", "UpdateManagedAccount"}},
		},
		"[aws.organizations]": map[string]any{
			"account":     []any{ref("AWS::AccountId")},
			"source":      []string{"aws.organizations"},
			"detail-type": []string{"AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"},
			"detail":      map[string]any{"eventName": []string{"CreateAccountResult", "AcceptHandshake", "AccountJoinedOrganization", "MoveAccount", "TagResource", "UntagResource"}},
		},
	}, got)
	diff(t, "DailyCompliance", map[string]any{"Fn::Equals": []any{ref("ComplianceFrequency"), "1"}},
		b.mgmt["Conditions"].(map[string]any)["DailyCompliance"])
}

// resolveDefaults replaces each {"Ref": parameter} with the parameter's
// default, as CloudFormation would on a deployment that sets none.
func resolveDefaults(t *testing.T, tpl map[string]any, v any) any {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if name, ok := v["Ref"].(string); ok && len(v) == 1 {
			p, ok := tpl["Parameters"].(map[string]any)[name].(map[string]any)
			if !ok {
				t.Fatalf("Ref %s is not a parameter", name)
			}
			return p["Default"]
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = resolveDefaults(t, tpl, x)
		}
		return out
	}
	return v
}

func TestCustomResourceIsTheConfigContract(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	fnID, _ := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	_, cr := only(t, b.mgmt, "Custom::OrgPatch", nil)
	diff(t, "properties", map[string]any{
		"ServiceToken":            getAtt(fnID, "Arn"),
		"Disabled":                ref("DisablePatchManagement"),
		"Operation":               ref("Operation"),
		"RebootOption":            ref("RebootOption"),
		"Regions":                 ref("EnabledRegions"),
		"ControlTowerRegionsOnly": ref("ControlTowerRegionsOnly"),
		"ConfigurationRoleName":   "sra-patch-mgmt-configuration",
		"TaskRoleName":            "sra-patch-mgmt-automation",
		"DHMCRoleName":            "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom",
		"Window1Schedule":         ref("AgentUpdateSchedule"),
		"Window2Schedule":         ref("WindowsPatchSchedule"),
		"Window3Schedule":         ref("LinuxPatchSchedule"),
		// CloudFormation waits for a whole-organization run's answer as
		// long as it allows.
		"ServiceTimeout": "3600",
	}, props(cr))

	// With the parameters' defaults, the Lambda's decoder accepts the
	// properties and yields the reference configuration.
	resolved := resolveDefaults(t, b.mgmt, props(cr)).(map[string]any)
	resolved["ServiceToken"] = "arn:aws:lambda:eu-west-1:111122223333:function:orgpatch"
	c, err := config.FromProperties(resolved)
	if err != nil {
		t.Fatalf("FromProperties on the template's defaults: %v", err)
	}
	if diffs := cmp.Diff(config.Default(), c); diffs != "" {
		t.Errorf("the template's defaults differ from config.Default() (-want +got):\n%s", diffs)
	}

	// Operation and RebootOption reach the patch tasks.
	resolved["Operation"], resolved["RebootOption"] = "Install", "NoReboot"
	c, err = config.FromProperties(resolved)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range c.Windows {
		if w.Task.Document == config.DocumentRunPatchBaseline && (w.Task.Operation != "Install" || w.Task.RebootOption != "NoReboot") {
			t.Errorf("window %s: operation %s reboot %s, want Install NoReboot", w.Name, w.Task.Operation, w.Task.RebootOption)
		}
	}
}

// TestFunctionEnvironmentIsTheStacksProperties: the properties the
// function's environment carries (ORGPATCH_STACK_PROPERTIES) are, once
// CloudFormation resolves them, exactly the custom resource's, the
// Configuration property as its SHA-256: for the parameters' defaults and
// for other values, with and without a configuration file.
func TestFunctionEnvironmentIsTheStacksProperties(t *testing.T) {
	conf, err := config.Default().JSON()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*built{
		"defaults":             build(t, "eu-west-1", nil),
		"a configuration file": build(t, "eu-west-1", func(s *Settings) { s.Configuration = string(conf) }),
	} {
		for _, values := range []map[string]any{nil, {"Operation": "Install", "EnabledRegions": "eu-west-1,us-east-1", "LinuxPatchSchedule": "rate(7 days)"}} {
			t.Run(name, func(t *testing.T) {
				resolve := func(v any) any {
					return resolveJoins(t, resolveParameters(t, b.mgmt, v, values))
				}
				_, fn := only(t, b.mgmt, "AWS::Lambda::Function", nil)
				env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
				var got map[string]string
				if err := json.Unmarshal([]byte(resolve(env["ORGPATCH_STACK_PROPERTIES"]).(string)), &got); err != nil {
					t.Fatalf("ORGPATCH_STACK_PROPERTIES is not a JSON object of strings: %v", err)
				}
				_, cr := only(t, b.mgmt, "Custom::OrgPatch", nil)
				want := map[string]string{}
				for k, v := range resolve(props(cr)).(map[string]any) {
					switch k {
					case "ServiceToken", "ServiceTimeout": // CloudFormation's own, not the configuration
					case config.PropConfiguration:
						want[config.PropConfigurationSHA256] = config.ConfigurationDigest(v.(string))
					default:
						want[k] = v.(string)
					}
				}
				diff(t, "the function's stack properties", want, got)
			})
		}
	}
}

// resolveParameters is resolveDefaults with values overriding the defaults.
func resolveParameters(t *testing.T, tpl map[string]any, v any, values map[string]any) any {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if name, ok := v["Ref"].(string); ok && len(v) == 1 {
			if x, ok := values[name]; ok {
				return x
			}
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = resolveParameters(t, tpl, x, values)
		}
		return resolveDefaults(t, tpl, out)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = resolveParameters(t, tpl, x, values)
		}
		return out
	}
	return v
}

// resolveJoins evaluates Fn::Join over resolved strings.
func resolveJoins(t *testing.T, v any) any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if j, ok := m["Fn::Join"].([]any); ok && len(m) == 1 {
		var parts []string
		for _, p := range j[1].([]any) {
			s, ok := resolveJoins(t, p).(string)
			if !ok {
				t.Fatalf("Fn::Join over a %T: %v", p, p)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, j[0].(string))
	}
	out := map[string]any{}
	for k, x := range m {
		out[k] = resolveJoins(t, x)
	}
	return out
}

func TestCustomResourceOrdering(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	_, cr := only(t, b.mgmt, "Custom::OrgPatch", nil)
	deps := strs(cr["DependsOn"])
	want := []string{}
	for _, typ := range []string{"AWS::CloudFormation::StackSet", "AWS::StepFunctions::StateMachine"} {
		id, _ := only(t, b.mgmt, typ, nil)
		want = append(want, id)
	}
	// The state machine's last step answers the custom resource.
	logID, _ := only(t, b.mgmt, "AWS::Logs::LogGroup", lambdaLogs)
	want = append(want, logID)
	for _, name := range []string{"sra-patch-mgmt-configuration", "sra-patch-mgmt-automation", "AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom"} {
		id, _ := only(t, b.mgmt, "AWS::IAM::Role", roleNamed(name))
		want = append(want, id)
	}
	for _, id := range want {
		found := false
		for _, d := range deps {
			found = found || d == id
		}
		if !found {
			t.Errorf("the custom resource does not depend on %s (depends on %v): it could run before the roles exist or be deleted after them", id, deps)
		}
	}
}

func TestEventRulesComeAfterTheCustomResource(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	crID, _ := only(t, b.mgmt, "Custom::OrgPatch", nil)
	rules := resources(b.mgmt, "AWS::Events::Rule")
	if len(rules) != 4 {
		t.Fatalf("%d event rules, want the schedule, Control Tower, Organizations and compliance report ones", len(rules))
	}
	for id, r := range rules {
		if !slices.Contains(strs(r["DependsOn"]), crID) {
			t.Errorf("rule %s does not depend on the custom resource %s (DependsOn %v): it could start a run before the first Create, or after the Delete removed the windows", id, crID, r["DependsOn"])
		}
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("excludedAccounts: ['111122223333']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf, err := LoadConfiguration(good)
	if err != nil {
		t.Fatalf("LoadConfiguration: %v", err)
	}
	decoded, err := config.Decode([]byte(conf))
	if err != nil {
		t.Fatalf("the Configuration property does not decode: %v", err)
	}
	if diffs := cmp.Diff([]string{"111122223333"}, decoded.ExcludedAccounts); diffs != "" {
		t.Errorf("excluded accounts (-want +got):\n%s", diffs)
	}

	b := build(t, "eu-west-1", func(s *Settings) { s.Configuration = conf })
	_, cr := only(t, b.mgmt, "Custom::OrgPatch", nil)
	if got := props(cr)["Configuration"]; got != conf {
		t.Errorf("Configuration property = %v, want %s", got, conf)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("windowz: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfiguration(bad); err == nil || !strings.Contains(err.Error(), "windowz") {
		t.Errorf("LoadConfiguration(bad) = %v, want an error naming windowz", err)
	}
	if _, err := LoadConfiguration(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadConfiguration(missing) = %v, want not-exist", err)
	}
}

func TestParameters(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	params := b.mgmt["Parameters"].(map[string]any)
	for name, want := range map[string]map[string]any{
		"DisablePatchManagement":  {"Type": "String", "Default": "false", "AllowedValues": []string{"true", "false"}},
		"Operation":               {"Type": "String", "Default": "Scan", "AllowedValues": []string{"Scan", "Install"}},
		"RebootOption":            {"Type": "String", "Default": "RebootIfNeeded", "AllowedValues": []string{"RebootIfNeeded", "NoReboot"}},
		"AgentUpdateSchedule":     {"Type": "String", "Default": "cron(0 0 1 ? * WED *)", "AllowedPattern": schedulePattern},
		"WindowsPatchSchedule":    {"Type": "String", "Default": "cron(0 0 1 ? * THU *)", "AllowedPattern": schedulePattern},
		"LinuxPatchSchedule":      {"Type": "String", "Default": "cron(0 0 1 ? * FRI *)", "AllowedPattern": schedulePattern},
		"EnabledRegions":          {"Type": "String", "Default": "", "AllowedPattern": `^$|^([a-z0-9-]{1,64})$|^(([a-z0-9-]{1,64},)*[a-z0-9-]{1,64})$`},
		"ControlTowerRegionsOnly": {"Type": "String", "Default": "true", "AllowedValues": []string{"true", "false"}},
		"ComplianceFrequency":     {"Type": "Number", "Default": "7", "MinValue": 1, "MaxValue": 30},
		"AlarmEmail":              {"Type": "String", "Default": "", "AllowedPattern": `^$|^[^\s@]+@[^\s@]+\.[^\s@]+$`},
		"OrganizationId":          {"Type": "String", "AllowedPattern": `^o-[a-z0-9]{10,32}$`},
		"OrganizationRootId":      {"Type": "String", "AllowedPattern": `^r-[0-9a-z]{4,32}$`},
		"LogLevel":                {"Type": "String", "Default": "INFO", "AllowedValues": []string{"DEBUG", "INFO", "WARN", "ERROR"}},
	} {
		p, ok := params[name].(map[string]any)
		if !ok {
			t.Errorf("no parameter %s", name)
			continue
		}
		if d, _ := p["Description"].(string); len(d) < 10 {
			t.Errorf("parameter %s has no description", name)
		}
		got := map[string]any{}
		for k := range want {
			got[k] = p[k]
		}
		diff(t, "parameter "+name, want, got)
	}

	// The patterns accept what admins type and refuse the usual mistakes.
	for _, tc := range []struct {
		param, value string
		ok           bool
	}{
		{"EnabledRegions", "", true},
		{"EnabledRegions", "us-east-1,eu-west-1", true},
		{"EnabledRegions", "us-east-1, eu-west-1", false},
		{"AgentUpdateSchedule", "cron(0 0 1 ? * WED *)", true},
		{"AgentUpdateSchedule", "rate(7 days)", true},
		{"AgentUpdateSchedule", "at(2027-01-05T03:00:00)", true},
		{"AgentUpdateSchedule", "every wednesday", false},
		{"AlarmEmail", "", true},
		{"AlarmEmail", "ops@example.com", true},
		{"AlarmEmail", "ops@", false},
		{"OrganizationId", "o-abcd123456", true},
		{"OrganizationId", "abcd123456", false},
		{"OrganizationRootId", "r-ab12", true},
		{"OrganizationRootId", "ou-ab12-11111111", false},
	} {
		pattern := params[tc.param].(map[string]any)["AllowedPattern"].(string)
		if got := regexp.MustCompile(pattern).MatchString(tc.value); got != tc.ok {
			t.Errorf("%s %q accepted = %v, want %v", tc.param, tc.value, got, tc.ok)
		}
	}
}

func TestStackSet(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	lambdaRoleID, _ := only(t, b.mgmt, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
	_, ss := only(t, b.mgmt, "AWS::CloudFormation::StackSet", nil)
	p := props(ss)
	body := p["TemplateBody"].(string)
	delete(p, "TemplateBody")
	delete(p, "Description")
	diff(t, "stack set", map[string]any{
		"StackSetName":     "orgpatch-member-roles",
		"PermissionModel":  "SERVICE_MANAGED",
		"CallAs":           "SELF",
		"AutoDeployment":   map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
		"ManagedExecution": map[string]any{"Active": true},
		"Capabilities":     []string{"CAPABILITY_NAMED_IAM"},
		"OperationPreferences": map[string]any{
			"ConcurrencyMode": "SOFT_FAILURE_TOLERANCE", "MaxConcurrentPercentage": 100,
			"FailureTolerancePercentage": 25, "RegionConcurrencyType": "PARALLEL",
		},
		"Parameters": []any{
			map[string]any{"ParameterKey": "ManagementAccountId", "ParameterValue": ref("AWS::AccountId")},
			map[string]any{"ParameterKey": "OrganizationId", "ParameterValue": ref("OrganizationId")},
		},
		"StackInstancesGroup": []any{map[string]any{
			"DeploymentTargets": map[string]any{"OrganizationalUnitIds": []any{ref("OrganizationRootId")}},
			"Regions":           []any{ref("AWS::Region")},
		}},
	}, p)

	var embedded map[string]any
	if err := json.Unmarshal([]byte(body), &embedded); err != nil {
		t.Fatalf("TemplateBody is not JSON: %v", err)
	}
	diff(t, "embedded member template", b.member, embedded)

	found := false
	for _, d := range strs(ss["DependsOn"]) {
		found = found || d == lambdaRoleID
	}
	if !found {
		t.Errorf("the StackSet does not wait for the Lambda role its roles trust (DependsOn %v)", ss["DependsOn"])
	}

	// The configuration's excluded accounts get no member roles: the
	// root's accounts, minus them.
	c, err := config.Decode([]byte("excludedAccounts: ['111122223333', '444455556666']\nexcludedOUs: ['ou-ab12-11111111']\n"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	excluded := build(t, "eu-west-1", func(s *Settings) { s.Configuration = string(conf) })
	_, ss = only(t, excluded.mgmt, "AWS::CloudFormation::StackSet", nil)
	diff(t, "deployment targets with exclusions", []any{map[string]any{
		"DeploymentTargets": map[string]any{
			"OrganizationalUnitIds": []any{ref("OrganizationRootId")},
			"AccountFilterType":     "DIFFERENCE",
			"Accounts":              []string{"111122223333", "444455556666"},
		},
		"Regions": []any{ref("AWS::Region")},
	}}, props(ss)["StackInstancesGroup"])
}

func TestMemberTemplate(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	var params []string
	for name := range b.member["Parameters"].(map[string]any) {
		params = append(params, name)
	}
	sort.Strings(params)
	diff(t, "member parameters (no BootstrapVersion: member accounts are not bootstrapped)", []string{"ManagementAccountId", "OrganizationId"}, params)
	if len(resources(b.member, "AWS::CDK::Metadata")) != 0 || b.member["Rules"] != nil {
		t.Error("the member template carries CDK metadata or bootstrap rules")
	}
	checkMemberRoles(t, b.member, sub("arn:${AWS::Partition}:iam::${ManagementAccountId}:role/orgpatch-lambda"))

	// The management account gets the same roles, trusting the role itself.
	lambdaRoleID, _ := only(t, b.mgmt, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
	checkMemberRoles(t, b.mgmt, getAtt(lambdaRoleID, "Arn"))
}

func checkMemberRoles(t *testing.T, tpl map[string]any, trusted any) {
	t.Helper()
	taskID, task := only(t, tpl, "AWS::IAM::Role", roleNamed("sra-patch-mgmt-automation"))
	dhmcID, dhmc := only(t, tpl, "AWS::IAM::Role", roleNamed("AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom"))
	_, cfg := only(t, tpl, "AWS::IAM::Role", roleNamed("sra-patch-mgmt-configuration"))

	diff(t, "configuration role trust", map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"AWS": trusted},
	}}}, props(cfg)["AssumeRolePolicyDocument"])
	diff(t, "configuration role actions", []string{
		"ec2:DescribeInstances", // the compliance report's reads (compliance_report_test.go)
		"ec2:DescribeRegions",
		"iam:PassRole",
		"ssm:AddTagsToResource",
		"ssm:CreateMaintenanceWindow",
		"ssm:CreatePatchBaseline",
		"ssm:DeleteMaintenanceWindow",
		"ssm:DeletePatchBaseline",
		"ssm:DeregisterPatchBaselineForPatchGroup",
		"ssm:DeregisterTargetFromMaintenanceWindow",
		"ssm:DeregisterTaskFromMaintenanceWindow",
		"ssm:DescribeDocument",
		"ssm:DescribeInstanceInformation",
		"ssm:DescribeInstancePatchStates",
		"ssm:DescribeMaintenanceWindowTargets",
		"ssm:DescribeMaintenanceWindowTasks",
		"ssm:DescribeMaintenanceWindows",
		"ssm:DescribePatchBaselines",
		"ssm:DescribePatchGroups",
		"ssm:GetDefaultPatchBaseline",
		"ssm:GetMaintenanceWindowTask",
		"ssm:GetPatchBaseline",
		"ssm:GetServiceSetting",
		"ssm:ListComplianceItems",
		"ssm:ListResourceComplianceSummaries",
		"ssm:ListTagsForResource",
		"ssm:RegisterDefaultPatchBaseline",
		"ssm:RegisterPatchBaselineForPatchGroup",
		"ssm:RegisterTargetWithMaintenanceWindow",
		"ssm:RegisterTaskWithMaintenanceWindow",
		"ssm:ResetServiceSetting",
		"ssm:UpdateMaintenanceWindow",
		"ssm:UpdateMaintenanceWindowTarget",
		"ssm:UpdateMaintenanceWindowTask",
		"ssm:UpdatePatchBaseline",
		"ssm:UpdateServiceSetting",
		"tag:GetResources",
	}, slices.Compact(actions(cfg)))
	for _, unused := range []string{"ssm:GetMaintenanceWindow", "ssm:RemoveTagsFromResource"} {
		if slices.Contains(actions(cfg), unused) {
			t.Errorf("the configuration role still grants %s, which orgpatch does not use", unused)
		}
	}
	// Windows are created only with the ownership tag and nothing else,
	// and written only while they carry it; their targets and tasks are
	// written only through such a window (each such call names it).
	windowARN := sub("arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:maintenancewindow/*")
	create := statementBySid(t, cfg, "CreateOwnedWindows")
	diff(t, "window creation", map[string]any{
		"Action":   []string{"ssm:AddTagsToResource", "ssm:CreateMaintenanceWindow"},
		"Resource": windowARN,
		"Condition": map[string]any{
			"StringEquals":              map[string]any{"aws:RequestTag/createdBy": "SRA_Patch_Management"},
			"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{"createdBy"}},
		},
	}, map[string]any{"Action": strs(create["Action"]), "Resource": create["Resource"], "Condition": create["Condition"]})
	owned := statementBySid(t, cfg, "WriteOwnedWindows")
	diff(t, "writes to owned windows", map[string]any{
		"Action": []string{
			"ssm:DeleteMaintenanceWindow", "ssm:DeregisterTargetFromMaintenanceWindow", "ssm:DeregisterTaskFromMaintenanceWindow",
			"ssm:RegisterTargetWithMaintenanceWindow", "ssm:RegisterTaskWithMaintenanceWindow", "ssm:UpdateMaintenanceWindow",
			"ssm:UpdateMaintenanceWindowTarget", "ssm:UpdateMaintenanceWindowTask",
		},
		"Resource":  windowARN,
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/createdBy": "SRA_Patch_Management"}},
	}, map[string]any{"Action": sorted(strs(owned["Action"])), "Resource": owned["Resource"], "Condition": owned["Condition"]})
	diff(t, "target and task resources", map[string]any{"Resource": []any{
		sub("arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:windowtarget/*"),
		sub("arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:windowtask/*"),
	}}, resourceOf(statementBySid(t, cfg, "WriteTargetsAndTasksOfOwnedWindows")))
	// Patch baselines as windows: created only with the ownership tag,
	// written only while they carry it; AWS's predefined ones (other
	// accounts') only registered again as defaults.
	baselineARN := sub("arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:patchbaseline/*")
	createBaselines := statementBySid(t, cfg, "CreateOwnedPatchBaselines")
	diff(t, "baseline creation", map[string]any{
		"Action":   []string{"ssm:AddTagsToResource", "ssm:CreatePatchBaseline"},
		"Resource": baselineARN,
		"Condition": map[string]any{
			"StringEquals":              map[string]any{"aws:RequestTag/createdBy": "SRA_Patch_Management"},
			"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{"createdBy"}},
		},
	}, map[string]any{"Action": strs(createBaselines["Action"]), "Resource": createBaselines["Resource"], "Condition": createBaselines["Condition"]})
	writeBaselines := statementBySid(t, cfg, "WriteOwnedPatchBaselines")
	diff(t, "writes to owned baselines", map[string]any{
		"Action": []string{
			"ssm:DeletePatchBaseline", "ssm:DeregisterPatchBaselineForPatchGroup", "ssm:RegisterDefaultPatchBaseline",
			"ssm:RegisterPatchBaselineForPatchGroup", "ssm:UpdatePatchBaseline",
		},
		"Resource":  baselineARN,
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/createdBy": "SRA_Patch_Management"}},
	}, map[string]any{"Action": sorted(strs(writeBaselines["Action"])), "Resource": writeBaselines["Resource"], "Condition": writeBaselines["Condition"]})
	diff(t, "baseline reads", baselineARN, statementBySid(t, cfg, "ReadPatchBaselines")["Resource"])
	restore := statementBySid(t, cfg, "RegisterPredefinedDefaultBaselines")
	diff(t, "predefined defaults", map[string]any{
		"Resource":  sub("arn:${AWS::Partition}:ssm:*:*:patchbaseline/*"),
		"Condition": map[string]any{"StringNotEquals": map[string]any{"aws:ResourceAccount": ref("AWS::AccountId")}},
	}, map[string]any{"Resource": restore["Resource"], "Condition": restore["Condition"]})
	diff(t, "DHMC setting", sub("arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:servicesetting/ssm/managed-instance/default-ec2-instance-management-role"),
		statementBySid(t, cfg, "ManageDHMCSetting")["Resource"])
	diff(t, "documents", map[string]any{"Resource": []any{
		sub("arn:${AWS::Partition}:ssm:*::document/AWS-RunPatchBaseline"),
		sub("arn:${AWS::Partition}:ssm:*::document/AWS-UpdateSSMAgent"),
	}}, resourceOf(statementBySid(t, cfg, "DescribePatchDocuments")))
	pass := statementBySid(t, cfg, "PassTaskAndDHMCRoles")
	diff(t, "pass role", map[string]any{
		"Sid": "PassTaskAndDHMCRoles", "Effect": "Allow", "Action": "iam:PassRole",
		"Resource":  []any{getAtt(taskID, "Arn"), getAtt(dhmcID, "Arn")},
		"Condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ssm.amazonaws.com"}},
	}, pass)

	diff(t, "task role trust", map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "ssm.amazonaws.com"},
		"Condition": map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")},
			"ArnLike":      map[string]any{"aws:SourceArn": sub("arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:*")},
		},
	}}}, props(task)["AssumeRolePolicyDocument"])
	diff(t, "task role actions", []string{
		"sns:Publish",
		"ssm:DescribeInstanceInformation",
		"ssm:GetCommandInvocation",
		"ssm:ListCommandInvocations",
		"ssm:ListCommands",
		"ssm:SendCommand",
	}, actions(task))
	diff(t, "send command resources", map[string]any{"Resource": []any{
		sub("arn:${AWS::Partition}:ssm:*::document/AWS-RunPatchBaseline"),
		sub("arn:${AWS::Partition}:ssm:*::document/AWS-UpdateSSMAgent"),
		sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"),
		sub("arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:managed-instance/*"),
	}}, resourceOf(statementBySid(t, task, "SendPatchCommands")))
	if slices.Contains(actions(task), "ssm:CancelCommand") {
		t.Error("the task role still grants ssm:CancelCommand, which no task uses")
	}
	notify := statementBySid(t, task, "NotifyTopicsInOrganization")
	org := ref("OrganizationId")
	diff(t, "notifications only to the organization's topics", map[string]any{
		"Action": "sns:Publish", "Resource": sub("arn:${AWS::Partition}:sns:*:*:*"),
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": org}},
	}, map[string]any{"Action": notify["Action"], "Resource": notify["Resource"], "Condition": notify["Condition"]})

	dp := props(dhmc)
	diff(t, "DHMC role", map[string]any{
		"Path":              "/service-role/",
		"ManagedPolicyArns": []any{sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy")},
		"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "ssm.amazonaws.com"},
		}}},
	}, map[string]any{"Path": dp["Path"], "ManagedPolicyArns": dp["ManagedPolicyArns"], "AssumeRolePolicyDocument": dp["AssumeRolePolicyDocument"]})
	if dp["Policies"] != nil {
		t.Errorf("the DHMC role has inline policies beside the AWS one: %v", dp["Policies"])
	}
}

func TestForwarder(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	if b.forwarder == nil {
		t.Fatal("home eu-west-1: no forwarder stack")
	}
	if got := *b.stacks.Forwarder.Stack.Region(); got != "us-east-1" {
		t.Errorf("forwarder region = %s, want us-east-1", got)
	}
	bus := sub("arn:${AWS::Partition}:events:eu-west-1:${AWS::AccountId}:event-bus/default")
	roleID, role := only(t, b.forwarder, "AWS::IAM::Role", nil)
	_, rule := only(t, b.forwarder, "AWS::Events::Rule", nil)
	diff(t, "forwarded events", map[string]any{
		"account":     []any{ref("AWS::AccountId")},
		"source":      []string{"aws.organizations"},
		"detail-type": []string{"AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"},
		"detail":      map[string]any{"eventName": []string{"CreateAccountResult", "AcceptHandshake", "AccountJoinedOrganization", "MoveAccount", "TagResource", "UntagResource"}},
	}, props(rule)["EventPattern"])
	diff(t, "forward target", []any{map[string]any{"Arn": bus, "Id": "Target0", "RoleArn": getAtt(roleID, "Arn")}}, props(rule)["Targets"])
	diff(t, "forward role trust", map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
		"Condition": map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")},
			"ArnLike":      map[string]any{"aws:SourceArn": sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*")},
		},
	}}}, props(role)["AssumeRolePolicyDocument"])
	_, pol := only(t, b.forwarder, "AWS::IAM::Policy", nil)
	diff(t, "forward role policy", map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Action": "events:PutEvents", "Effect": "Allow", "Resource": bus,
	}}}, props(pol)["PolicyDocument"])

	if b := build(t, "us-east-1", nil); b.stacks.Forwarder != nil {
		t.Error("home us-east-1: a forwarder stack was built; Organizations events already arrive there")
	}
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	for _, home := range []string{"eu-west-1", "us-east-1"} {
		b := build(t, home, nil)
		list := []awscdk.Stack{b.stacks.Management.Stack, b.stacks.Member}
		if b.stacks.Forwarder != nil {
			list = append(list, b.stacks.Forwarder.Stack)
		}
		for _, st := range list {
			a := assertions.Annotations_FromStack(st)
			match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			for _, m := range append(*a.FindError(jsii.String("*"), match), *a.FindWarning(jsii.String("*"), match)...) {
				t.Errorf("%s (home %s): %s: %v", *st.StackName(), home, *m.Id, m.Entry.Data)
			}
		}
	}
}

func TestTemplatesPassCfnLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not on PATH; CI must run it (pip install cfn-lint)")
		}
		t.Skip("cfn-lint is not on PATH")
	}
	// The default configuration in both kinds of home region, and a
	// configuration file with one window (fewer parameters).
	oneWindow, _ := buildWithConfig(t, oneInstallWindow)
	for _, tc := range []struct {
		home string
		b    *built
	}{
		{"eu-west-1", build(t, "eu-west-1", nil)},
		{"us-east-1", build(t, "us-east-1", nil)},
		{"eu-west-1, one window from configFile", oneWindow},
	} {
		home, b := tc.home, tc.b
		assembly := awscdk.Stage_Of(b.stacks.Management.Stack).Synth(nil)
		files := []string{*assembly.GetStackArtifact(b.stacks.Management.Stack.ArtifactId()).TemplateFullPath()}
		if b.stacks.Forwarder != nil {
			files = append(files, *assembly.GetStackArtifact(b.stacks.Forwarder.Stack.ArtifactId()).TemplateFullPath())
		}
		member := awscdk.Stage_Of(b.stacks.Member).Synth(nil)
		files = append(files, *member.GetStackArtifact(b.stacks.Member.ArtifactId()).TemplateFullPath())
		if len(files) != 3 && b.stacks.Forwarder != nil {
			t.Fatalf("want three templates, got %v", files)
		}
		// Warnings count too: the templates are clean, and a new warning
		// is worth a look before it is waved through.
		out, err := exec.Command(lint, append([]string{"--format", "parseable", "--"}, files...)...).CombinedOutput()
		if err != nil {
			t.Errorf("cfn-lint (home %s): %v\n%s", home, err, out)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
