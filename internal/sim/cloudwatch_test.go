package sim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func alarmInput(name string) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
		Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(10),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
		Dimensions:         []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/web/1")}},
		AlarmActions:       []string{"arn:aws:sns:us-east-1:111111111111:orgpatch-alarms"},
	}
}

// An alarm starts INSUFFICIENT_DATA, SetAlarmState moves it, putting it
// again keeps its state, and DescribeAlarms filters by name and state.
func TestCloudWatchAlarmLifecycle(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, small(t))
	c := cloudwatch.NewFromConfig(noRetry(env.Config))
	for _, name := range []string{"canary-5xx", "prod-5xx"} {
		if _, err := c.PutMetricAlarm(ctx, alarmInput(name)); err != nil {
			t.Fatal(err)
		}
	}
	describe := func(in *cloudwatch.DescribeAlarmsInput) []types.MetricAlarm {
		t.Helper()
		out, err := c.DescribeAlarms(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.MetricAlarms
	}
	got := describe(&cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"canary-5xx"}})
	if len(got) != 1 || got[0].StateValue != types.StateValueInsufficientData || aws.ToString(got[0].AlarmArn) != "arn:aws:cloudwatch:us-east-1:111111111111:alarm:canary-5xx" ||
		aws.ToFloat64(got[0].Threshold) != 10 || aws.ToInt32(got[0].Period) != 60 || len(got[0].Dimensions) != 1 || got[0].StateUpdatedTimestamp == nil {
		t.Fatalf("new alarm: %+v", got)
	}
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("canary-5xx"), StateValue: types.StateValueAlarm, StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("prod-5xx"), StateValue: types.StateValueOk, StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutMetricAlarm(ctx, alarmInput("canary-5xx")); err != nil {
		t.Fatal(err)
	}
	if got := describe(&cloudwatch.DescribeAlarmsInput{StateValue: types.StateValueAlarm}); len(got) != 1 || aws.ToString(got[0].AlarmName) != "canary-5xx" {
		t.Errorf("alarms in ALARM after the update: %+v, want canary-5xx alone", got)
	}
	if got := describe(&cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("prod")}); len(got) != 1 || got[0].StateValue != types.StateValueOk {
		t.Errorf("prefix prod: %+v", got)
	}
	// Another account's alarms are its own.
	member := cloudwatch.NewFromConfig(noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName)))
	if out, err := member.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("member's alarms: %v %v, want none", out, err)
	}
	if _, err := member.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("canary-5xx"), StateValue: types.StateValueOk, StateReason: aws.String("x")}); errCode(err) != "ResourceNotFound" {
		t.Errorf("SetAlarmState on another account's alarm: %s, want ResourceNotFound", errCode(err))
	}
}

// The documented refusals, with the codes CloudWatch sends.
func TestCloudWatchRefusals(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := cloudwatch.NewFromConfig(noRetry(env.Config))
	for name, tc := range map[string]struct {
		edit func(*cloudwatch.PutMetricAlarmInput)
		want string
	}{
		"period 45":           {func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(45) }, "InvalidParameterValue"},
		"no comparison":       {func(in *cloudwatch.PutMetricAlarmInput) { in.ComparisonOperator = "" }, "MissingParameter"},
		"both statistics":     {func(in *cloudwatch.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") }, "InvalidParameterCombination"},
		"six alarm actions":   {func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmActions = make([]string, 6) }, "ValidationError"},
		"bad comparison enum": {func(in *cloudwatch.PutMetricAlarmInput) { in.ComparisonOperator = "Bigger" }, "ValidationError"},
	} {
		in := alarmInput("a")
		tc.edit(in)
		if _, err := c.PutMetricAlarm(ctx, in); errCode(err) != tc.want {
			t.Errorf("%s: %s, want %s", name, errCode(err), tc.want)
		}
	}
	if _, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")}); errCode(err) != "InvalidParameterCombination" {
		t.Errorf("names and prefix: %s, want InvalidParameterCombination", errCode(err))
	}
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("none"), StateValue: types.StateValueOk, StateReason: aws.String("x")}); errCode(err) != "ResourceNotFound" {
		t.Errorf("unknown alarm: %s, want ResourceNotFound", errCode(err))
	}
	if _, err := c.PutMetricAlarm(ctx, alarmInput("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: types.StateValueOk, StateReason: aws.String("x"), StateReasonData: aws.String("{not json")}); errCode(err) != "InvalidFormat" {
		t.Errorf("StateReasonData not JSON: %s, want InvalidFormat", errCode(err))
	}
}

// DescribeAlarms pages by MaxRecords in name order, through the SDK's
// paginator.
func TestCloudWatchDescribeAlarmsPages(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := cloudwatch.NewFromConfig(noRetry(env.Config))
	for i := range 120 {
		if _, err := c.PutMetricAlarm(ctx, alarmInput(fmt.Sprintf("alarm-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range out.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
	}
	if pages != 3 || len(names) != 120 || names[0] != "alarm-000" || names[119] != "alarm-119" {
		t.Errorf("%d alarms in %d pages (first %v), want 120 in 3 of at most 50", len(names), pages, names[:min(3, len(names))])
	}
}
