package promotion

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// fakeAlarms answers DescribeAlarms by name, as CloudWatch does (the
// simulator does not serve CloudWatch yet): names it does not have are
// left out, and at most 100 names per call.
type fakeAlarms struct {
	metric, composite map[string]cwtypes.StateValue
	calls             int
}

func (f *fakeAlarms) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.calls++
	if len(in.AlarmNames) > 100 {
		return nil, fmt.Errorf("ValidationError: %d AlarmNames", len(in.AlarmNames))
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, n := range in.AlarmNames {
		if s, ok := f.metric[n]; ok && slices.Contains(in.AlarmTypes, cwtypes.AlarmTypeMetricAlarm) {
			out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), StateValue: s})
		}
		if s, ok := f.composite[n]; ok && slices.Contains(in.AlarmTypes, cwtypes.AlarmTypeCompositeAlarm) {
			out.CompositeAlarms = append(out.CompositeAlarms, cwtypes.CompositeAlarm{AlarmName: aws.String(n), StateValue: s})
		}
	}
	return out, nil
}

func TestReadAlarms(t *testing.T) {
	cfg := chain(false)
	p := *cfg.Rings[1].Promotion
	p.Gate.Alarms = []string{"app-health", "checkout", "gone"}
	for i := range 120 {
		p.Gate.Alarms = append(p.Gate.Alarms, fmt.Sprintf("m-%03d", i))
	}
	cfg.Rings[1].Promotion = &p
	api := &fakeAlarms{metric: map[string]cwtypes.StateValue{"app-health": cwtypes.StateValueOk, "m-119": cwtypes.StateValueAlarm},
		composite: map[string]cwtypes.StateValue{"checkout": cwtypes.StateValueInsufficientData}}
	got, err := ReadAlarms(context.Background(), api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got["app-health"] != AlarmOK || got["checkout"] != AlarmInsufficientData || got["m-119"] != AlarmAlarm || api.calls != 2 {
		t.Fatalf("states %v in %d calls", got, api.calls)
	}
	if _, ok := got["gone"]; ok {
		t.Error("an alarm that does not exist has a state")
	}
}
