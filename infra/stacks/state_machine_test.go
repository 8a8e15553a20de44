package stacks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// definition is the state machine's definition as JSON, each token
// (Ref, Fn::GetAtt, ...) replaced by "<token JSON>" as a string.
func definition(t *testing.T, sm map[string]any) map[string]any {
	t.Helper()
	var b strings.Builder
	switch d := props(sm)["DefinitionString"].(type) {
	case string:
		b.WriteString(d)
	case map[string]any:
		parts := d["Fn::Join"].([]any)[1].([]any)
		for _, p := range parts {
			if s, ok := p.(string); ok {
				b.WriteString(s)
				continue
			}
			tok, _ := json.Marshal(p)
			if inString(b.String()) {
				b.WriteString(strings.ReplaceAll(string(tok), `"`, `'`))
			} else {
				fmt.Fprintf(&b, "%q", strings.ReplaceAll(string(tok), `"`, `'`))
			}
		}
	}
	var def map[string]any
	if err := json.Unmarshal([]byte(b.String()), &def); err != nil {
		t.Fatalf("definition: %v\n%s", err, b.String())
	}
	return def
}

// inString says whether the JSON text s ends inside a string.
func inString(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && in:
			i++
		case s[i] == '"':
			in = !in
		}
	}
	return in
}

func token(v any) string {
	b, _ := json.Marshal(v)
	return strings.ReplaceAll(string(b), `"`, `'`)
}

func TestRunStateMachine(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	smID, sm := only(t, b.mgmt, "AWS::StepFunctions::StateMachine", nil)
	fnID, _ := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	bucketID, _ := only(t, b.mgmt, "AWS::S3::Bucket", runsBucket)
	def := definition(t, sm)
	states := def["States"].(map[string]any)
	var names []string
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	diff(t, "states", []string{"Abort", "AbortCause", "Accounts", "Converged", "Discover", "Done", "Limits", "RunFailed", "Summarize", "SummaryCause", "Superseded", "Turn", "WaitTurn"}, names)
	if def["StartAt"] != "Limits" {
		t.Errorf("StartAt = %v, want Limits", def["StartAt"])
	}

	m := states["Accounts"].(map[string]any)
	diff(t, "distributed map", map[string]any{
		"Type":          "Map",
		"Label":         "Accounts",
		"ItemProcessor": map[string]any{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
		"ItemReader": map[string]any{
			"Resource":     "arn:" + token(ref("AWS::Partition")) + ":states:::s3:getObject",
			"ReaderConfig": map[string]any{"InputType": "JSON"},
			"Parameters":   map[string]any{"Bucket": token(ref(bucketID)), "Key.$": "$.discovery.itemsKey"},
		},
		"ItemBatcher": map[string]any{
			"MaxItemsPerBatchPath": "$.discovery.maxItemsPerBatch",
			"BatchInput": map[string]any{
				"run.$": "$.discovery.batchInput.run", "mode.$": "$.discovery.batchInput.mode", "dryRun.$": "$.discovery.batchInput.dryRun",
				"named.$":  "$.discovery.batchInput.named",
				"config.$": "$.discovery.batchInput.config", "previous.$": "$.discovery.batchInput.previous",
				"origin.$": "$.discovery.batchInput.origin",
			},
		},
		"MaxConcurrency":             token(ref("MapMaxConcurrency")),
		"ToleratedFailurePercentage": 100,
		"ResultWriter": map[string]any{
			"Resource":   "arn:" + token(ref("AWS::Partition")) + ":states:::s3:putObject",
			"Parameters": map[string]any{"Bucket": token(ref(bucketID)), "Prefix": "runs/results"},
		},
		"ResultPath": "$.map",
		"Next":       "Summarize",
		"Catch":      []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": "$.error", "Next": "Abort"}},
	}, map[string]any{
		"Type": m["Type"], "Label": m["Label"],
		"ItemProcessor": m["ItemProcessor"].(map[string]any)["ProcessorConfig"],
		"ItemReader":    m["ItemReader"], "ItemBatcher": m["ItemBatcher"],
		"MaxConcurrency": m["MaxConcurrency"], "ToleratedFailurePercentage": m["ToleratedFailurePercentage"],
		"ResultWriter": m["ResultWriter"], "ResultPath": m["ResultPath"], "Next": m["Next"], "Catch": m["Catch"],
	})
	diff(t, "limits", map[string]any{
		"failureTolerancePercentage": token(ref("FailureTolerancePercentage")), "failureToleranceCount": token(ref("FailureToleranceCount")),
	}, states["Limits"].(map[string]any)["Parameters"])
	if _, ok := m["ToleratedFailurePercentagePath"]; ok {
		t.Error("the map stops on failed batches: Summarize must name their accounts, under any tolerance")
	}

	// Every Lambda step, the map's worker included, retries Lambda's
	// throttling and service errors with backoff; the steps outside the
	// map answer CloudFormation FAILED through Abort when they fail.
	worker := m["ItemProcessor"].(map[string]any)["States"].(map[string]any)["Work"].(map[string]any)
	tasks := map[string]map[string]any{"Work": worker}
	for _, n := range []string{"Discover", "Summarize", "Abort"} {
		tasks[n] = states[n].(map[string]any)
	}
	wantRetry := []any{map[string]any{
		"ErrorEquals": lambdaErrors, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2, "JitterStrategy": "FULL",
	}}
	for name, task := range tasks {
		diff(t, name+" retry", wantRetry, task["Retry"])
		if fn := task["Resource"]; fn != token(getAtt(fnID, "Arn")) {
			t.Errorf("%s invokes %v, want orgpatch's function", name, fn)
		}
	}
	if _, ok := worker["Parameters"]; ok {
		t.Errorf("the worker has Parameters %v: it must get the batch as the map gives it", worker["Parameters"])
	}
	for _, n := range []string{"Discover", "Summarize"} {
		diff(t, n+" catch", []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": "$.error", "Next": "Abort"}}, tasks[n]["Catch"])
	}
	diff(t, "abort then fail", "AbortCause", tasks["Abort"]["Next"])
	diff(t, "abort's cause keeps the error's name", map[string]any{"cause.$": "States.Format('{}: {}', $.error.Error, $.error.Cause)"},
		states["AbortCause"].(map[string]any)["Parameters"])
	diff(t, "summarize payload", map[string]any{
		"step": "summarize", "run.$": "$$.Execution.Name", "request.$": "$.request", "discovery.$": "$.discovery", "map.$": "$.map", "limits.$": "$.limits",
	}, tasks["Summarize"]["Parameters"])
	diff(t, "retried errors", []string{"Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException", "Lambda.AWSLambdaException",
		"Lambda.SdkClientException", "Lambda.TooManyRequestsException"}, lambdaErrors)
	diff(t, "discover payload", map[string]any{
		"step": "discover", "run.$": "$$.Execution.Name", "started.$": "$$.Execution.StartTime", "request.$": "$.request",
	}, tasks["Discover"]["Parameters"])
	diff(t, "turn", []any{
		map[string]any{"Variable": "$.discovery.superseded", "BooleanEquals": true, "Next": "Superseded"},
		map[string]any{"Variable": "$.discovery.wait", "BooleanEquals": true, "Next": "WaitTurn"},
	}, states["Turn"].(map[string]any)["Choices"])
	diff(t, "wait", 60, states["WaitTurn"].(map[string]any)["Seconds"])

	p := props(sm)
	diff(t, "tracing", map[string]any{"Enabled": true}, p["TracingConfiguration"])
	logID, _ := only(t, b.mgmt, "AWS::Logs::LogGroup", func(p map[string]any) bool { return p["LogGroupName"] == "/aws/vendedlogs/states/orgpatch-run" })
	diff(t, "logging", map[string]any{
		"Level": "ALL", "IncludeExecutionData": false,
		"Destinations": []any{map[string]any{"CloudWatchLogsLogGroup": map[string]any{"LogGroupArn": getAtt(logID, "Arn")}}},
	}, p["LoggingConfiguration"])
	if p["StateMachineName"] != "orgpatch-run" {
		t.Errorf("state machine name %v, want orgpatch-run (the Lambda's ARN for it)", p["StateMachineName"])
	}

	// The role: invoke orgpatch's function only, read and write the runs
	// prefix only, run its own map's children.
	roleID := p["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	role := resources(b.mgmt, "AWS::IAM::Role")[roleID]
	diff(t, "state machine actions", []string{
		"lambda:InvokeFunction",
		"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
		"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
		"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject",
		"states:DescribeExecution", "states:RedriveExecution", "states:StartExecution", "states:StopExecution",
		"xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
	}, actions(role))
	diff(t, "invoke", []any{getAtt(fnID, "Arn"), map[string]any{"Fn::Join": []any{"", []any{getAtt(fnID, "Arn"), ":*"}}}},
		statementBySid(t, role, "InvokeOrgpatch")["Resource"])
	diff(t, "objects", map[string]any{"Fn::Join": []any{"", []any{getAtt(bucketID, "Arn"), "/runs/*"}}},
		statementBySid(t, role, "RunObjects")["Resource"])
	diff(t, "map children", sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:orgpatch-run"),
		statementBySid(t, role, "RunMapChildren")["Resource"])
	if smID == "" {
		t.Fatal("no state machine")
	}
}

// runsBucket matches the runs bucket (by its lifecycle rule), not the
// compliance report's.
func runsBucket(p map[string]any) bool {
	return strings.Contains(fmt.Sprint(p["LifecycleConfiguration"]), "ExpireRuns")
}

func TestRunsBucket(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	bucketID, bucket := only(t, b.mgmt, "AWS::S3::Bucket", runsBucket)
	p := props(bucket)
	diff(t, "bucket", map[string]any{
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
			"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"LifecycleConfiguration": map[string]any{"Rules": []any{map[string]any{
			"Id": "ExpireRuns", "Status": "Enabled", "Prefix": "runs/", "ExpirationInDays": 30,
			"NoncurrentVersionExpiration":    map[string]any{"NoncurrentDays": 30},
			"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1}}, map[string]any{
			// The promotion state itself never expires: prod's pins are in it.
			"Id": "KeepPromotionHistory", "Status": "Enabled", "Prefix": "promotion/",
			"NoncurrentVersionExpiration":    map[string]any{"NoncurrentDays": 400},
			"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1}}}},
		"OwnershipControls":       map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
	}, p)
	if bucket["DeletionPolicy"] != "Retain" {
		t.Errorf("bucket deletion policy %v, want Retain", bucket["DeletionPolicy"])
	}
	// The runs bucket's own policy (the report bucket has one too).
	_, policy := only(t, b.mgmt, "AWS::S3::BucketPolicy", func(p map[string]any) bool { return fmt.Sprint(p["Bucket"]) == fmt.Sprint(ref(bucketID)) })
	if !strings.Contains(fmt.Sprint(props(policy)["PolicyDocument"]), "aws:SecureTransport:false") {
		t.Error("the bucket policy does not deny requests without TLS")
	}
}

func TestRunsAlarmAndMapParameters(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	smID, _ := only(t, b.mgmt, "AWS::StepFunctions::StateMachine", nil)
	topicID, _ := only(t, b.mgmt, "AWS::SNS::Topic", nil)
	_, alarm := only(t, b.mgmt, "AWS::CloudWatch::Alarm", func(p map[string]any) bool {
		// The compliance report's alarm is metric math too; the runs'
		// reads Step Functions' metrics.
		return p["Metrics"] != nil && strings.Contains(fmt.Sprint(p["Metrics"]), "AWS/States")
	})
	p := props(alarm)
	diff(t, "runs alarm", map[string]any{"Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Actions": []any{ref(topicID)}},
		map[string]any{"Threshold": p["Threshold"], "ComparisonOperator": p["ComparisonOperator"], "Actions": p["AlarmActions"]})
	var metrics []string
	for _, m := range p["Metrics"].([]any) {
		m := m.(map[string]any)
		if stat, ok := m["MetricStat"].(map[string]any); ok {
			metric := stat["Metric"].(map[string]any)
			dim := metric["Dimensions"].([]any)[0].(map[string]any)["Value"]
			if dim.(map[string]any)["Ref"] != smID {
				t.Errorf("alarm metric %v is not the state machine's", metric["MetricName"])
			}
			metrics = append(metrics, fmt.Sprint(metric["Namespace"], " ", metric["MetricName"]))
		} else {
			diff(t, "expression", "failed + timedOut + aborted", m["Expression"])
		}
	}
	sort.Strings(metrics)
	diff(t, "alarm metrics", []string{"AWS/States ExecutionsAborted", "AWS/States ExecutionsFailed", "AWS/States ExecutionsTimedOut"}, metrics)

	params := b.mgmt["Parameters"].(map[string]any)
	diff(t, "map concurrency", map[string]any{"Type": "Number", "Default": "10", "MinValue": 1, "MaxValue": 10},
		pick(params["MapMaxConcurrency"].(map[string]any), "Type", "Default", "MinValue", "MaxValue"))
	diff(t, "failure tolerance percentage", map[string]any{"Type": "Number", "Default": "5", "MinValue": 0, "MaxValue": 100},
		pick(params["FailureTolerancePercentage"].(map[string]any), "Type", "Default", "MinValue", "MaxValue"))
	diff(t, "failure tolerance count", map[string]any{"Type": "Number", "Default": "1", "MinValue": 0, "MaxValue": 100000},
		pick(params["FailureToleranceCount"].(map[string]any), "Type", "Default", "MinValue", "MaxValue"))
	if _, ok := params["MapToleratedFailurePercentage"]; ok {
		t.Error("MapToleratedFailurePercentage is still a parameter: the map tolerates every batch, the stack's tolerance is FailureTolerance*")
	}

	// The map's concurrency is bounded by the reserved concurrency.
	wide := build(t, "eu-west-1", func(s *Settings) { s.ReservedConcurrency = 52 })
	wp := wide.mgmt["Parameters"].(map[string]any)["MapMaxConcurrency"].(map[string]any)
	diff(t, "map concurrency under 52 reserved", map[string]any{"Default": "10", "MaxValue": 50}, pick(wp, "Default", "MaxValue"))
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}
