package crosstest

import (
	"testing"

	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// promotionScenario is what ring promotion (issue 22) sends, in a member
// account: its state in the runs bucket written with S3 conditional writes,
// its promote and hold events to EventBridge and its notices to the alarm
// SNS topic, and the CloudWatch alarms it may wait on, with the errors AWS
// documents for each. Every client sends S3's If-None-Match and If-Match
// (the AWS CLI v1 as put-object's --if-none-match and --if-match), and
// CloudWatch in Smithy RPC v2 CBOR.
func promotionScenario() []step {
	state := func(extra map[string]any) map[string]any {
		m := map[string]any{"Bucket": "crosstest-runs", "Key": "promotion/state.json"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	topic := "arn:aws:sns:" + simtest.Region + ":" + memberAccount + ":orgpatch-alarms"
	event := func(extra map[string]any) map[string]any {
		m := map[string]any{"Source": "orgpatch.promotion", "DetailType": "Ring promoted", "Detail": `{"ring":"canary"}`}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	alarm := func(name string, extra map[string]any) map[string]any {
		m := map[string]any{"AlarmName": name, "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
			"Statistic": "Sum", "Period": 60, "EvaluationPeriods": 3, "Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
			"Dimensions": []map[string]any{{"Name": "LoadBalancer", "Value": "app/web/1"}}, "AlarmActions": []string{topic}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	elevenEvents := make([]any, 11)
	for i := range elevenEvents {
		elevenEvents[i] = event(nil)
	}
	return []step{
		{Name: "assume role", Service: "sts", Operation: "AssumeRole", As: "mgmt", Params: map[string]any{
			"RoleArn": "arn:aws:iam::" + memberAccount + ":role/" + memberRole, "RoleSessionName": "crosstest",
		}},
		{Name: "create bucket", Service: "s3", Operation: "CreateBucket", As: "member", Params: map[string]any{"Bucket": "crosstest-runs"}},
		{Name: "if-match a missing key", Service: "s3", Operation: "PutObject", As: "member", WantError: "NoSuchKey", Params: state(map[string]any{"IfMatch": emptyETag})},
		{Name: "create state", Service: "s3", Operation: "PutObject", As: "member", Params: state(map[string]any{"IfNoneMatch": "*"})},
		{Name: "create it again", Service: "s3", Operation: "PutObject", As: "member", WantError: "PreconditionFailed", Params: state(map[string]any{"IfNoneMatch": "*"})},
		{Name: "replace a stale etag", Service: "s3", Operation: "PutObject", As: "member", WantError: "PreconditionFailed", Params: state(map[string]any{"IfMatch": `"0123456789abcdef0123456789abcdef"`})},
		{Name: "replace the current etag", Service: "s3", Operation: "PutObject", As: "member", Params: state(map[string]any{"IfMatch": emptyETag})},
		{Name: "put events", Service: "events", Operation: "PutEvents", As: "member", Params: map[string]any{"Entries": []any{
			event(nil),
			event(map[string]any{"Detail": "not json"}),
			map[string]any{"Source": "orgpatch.promotion", "Detail": "{}"}, // no DetailType
			event(map[string]any{"EventBusName": "arn:aws:events:" + simtest.Region + ":" + memberAccount + ":event-bus/default", "DetailType": "Ring held"}),
		}}},
		{Name: "eleven events", Service: "events", Operation: "PutEvents", As: "member", WantError: "ValidationException", Params: map[string]any{"Entries": elevenEvents}},
		{Name: "create topic", Service: "sns", Operation: "CreateTopic", As: "member", Params: map[string]any{"Name": "orgpatch-alarms"}},
		{Name: "list topics", Service: "sns", Operation: "ListTopics", As: "member", ReadOnly: true},
		{Name: "publish", Service: "sns", Operation: "Publish", As: "member", Capture: []string{"MessageId"}, Params: map[string]any{
			"TopicArn": topic, "Subject": "orgpatch: ring prod held", "Message": "held: canary alarm in ALARM"}},
		{Name: "publish to no topic", Service: "sns", Operation: "Publish", As: "member", WantError: "NotFound", Params: map[string]any{
			"TopicArn": topic + "-gone", "Message": "m"}},
		{Name: "publish a line-broken subject", Service: "sns", Operation: "Publish", As: "member", WantError: "InvalidParameter", Params: map[string]any{
			"TopicArn": topic, "Subject": "a\nb", "Message": "m"}},
		{Name: "put alarm", Service: "cloudwatch", Operation: "PutMetricAlarm", As: "member", Params: alarm("canary-5xx", nil)},
		{Name: "put alarm, period 45", Service: "cloudwatch", Operation: "PutMetricAlarm", As: "member", WantError: "InvalidParameterValue", Params: alarm("bad", map[string]any{"Period": 45})},
		// Not ReadOnly: SetAlarmState changes it before the reread.
		{Name: "new alarm", Service: "cloudwatch", Operation: "DescribeAlarms", As: "member", Params: map[string]any{"AlarmNames": []string{"canary-5xx"}}},
		{Name: "set alarm", Service: "cloudwatch", Operation: "SetAlarmState", As: "member", Params: map[string]any{
			"AlarmName": "canary-5xx", "StateValue": "ALARM", "StateReason": "crosstest"}},
		{Name: "alarms in ALARM", Service: "cloudwatch", Operation: "DescribeAlarms", As: "member", ReadOnly: true, Params: map[string]any{"StateValue": "ALARM"}},
		{Name: "set no alarm", Service: "cloudwatch", Operation: "SetAlarmState", As: "member", WantError: "ResourceNotFound", Params: map[string]any{
			"AlarmName": "none", "StateValue": "OK", "StateReason": "crosstest"}},
	}
}

// TestPromotionCallsSeeTheSame runs promotion's calls through the SDK, the
// AWS CLI and boto3.
func TestPromotionCallsSeeTheSame(t *testing.T) {
	clientsSeeTheSame(t, promotionScenario(), func(t *testing.T, steps []step, got []outcome, mgmt string) {
		checkCodes(t, steps, got)
		checkPaths(t, steps, got, []pathWant{
			{"create state", "etag", emptyETag},
			{"put events", "failedentrycount", 2.0},
			{"put events", "entries.1.errorcode", "MalformedDetail"},
			{"put events", "entries.2.errorcode", "InvalidArgument"},
			{"put events", "entries.0.eventid", "<id>"},
			{"create topic", "topicarn", "arn:aws:sns:" + simtest.Region + ":" + memberAccount + ":orgpatch-alarms"},
			{"list topics", "topics.#", 1.0},
			{"new alarm", "metricalarms.0.statevalue", "INSUFFICIENT_DATA"},
			{"new alarm", "metricalarms.0.alarmarn", "arn:aws:cloudwatch:" + simtest.Region + ":" + memberAccount + ":alarm:canary-5xx"},
			{"new alarm", "metricalarms.0.dimensions.0.value", "app/web/1"},
			{"alarms in ALARM", "metricalarms.0.statereason", "crosstest"},
		})
	})
}
