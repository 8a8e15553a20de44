package promotion

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// TestReadAlarms reads the gates' alarms from the simulator's CloudWatch:
// OK, ALARM and INSUFFICIENT_DATA (a new alarm) by name, an alarm that
// does not exist left out, and more names than one call takes.
func TestReadAlarms(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	cw := cloudwatch.NewFromConfig(env.Config)
	put := func(name string, state cwtypes.StateValue) {
		t.Helper()
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), MetricName: aws.String("5xx"), Namespace: aws.String("App"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
			t.Fatal(err)
		}
		if state != cwtypes.StateValueInsufficientData {
			if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: state, StateReason: aws.String("test")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("app-health", cwtypes.StateValueOk)
	put("checkout", cwtypes.StateValueInsufficientData)
	put("m-119", cwtypes.StateValueAlarm)

	cfg := chain(false)
	p := *cfg.Rings[1].Promotion
	p.Gate.Alarms = []string{"app-health", "checkout", "gone"}
	for i := range 120 {
		p.Gate.Alarms = append(p.Gate.Alarms, fmt.Sprintf("m-%03d", i))
	}
	cfg.Rings[1].Promotion = &p
	got, err := ReadAlarms(ctx, cw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	calls := env.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "DescribeAlarms" && c.ErrorCode == "" })
	if got["app-health"] != AlarmOK || got["checkout"] != AlarmInsufficientData || got["m-119"] != AlarmAlarm || calls != 2 {
		t.Fatalf("states %v in %d calls", got, calls)
	}
	if _, ok := got["gone"]; ok {
		t.Error("an alarm that does not exist has a state")
	}
}
