package promotion

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/orgpatch/orgpatch/internal/config"
)

// AlarmsAPI is what ReadAlarms calls: CloudWatch in the management
// account's home region.
type AlarmsAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

var _ AlarmsAPI = (*cloudwatch.Client)(nil)

// maxAlarmNames is DescribeAlarms' limit of AlarmNames per call.
const maxAlarmNames = 100

// ReadAlarms reads the states of every alarm cfg's gates name, metric and
// composite alarms alike, by name; an alarm that does not exist is absent
// from the result (Gate says so).
func ReadAlarms(ctx context.Context, api AlarmsAPI, cfg config.Config) (map[string]string, error) {
	states := map[string]string{}
	for names := range slices.Chunk(gateAlarms(cfg), maxAlarmNames) {
		pages := cloudwatch.NewDescribeAlarmsPaginator(api, &cloudwatch.DescribeAlarmsInput{AlarmNames: names,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("read the promotion gates' alarms: %w", err)
			}
			for _, a := range page.MetricAlarms {
				states[aws.ToString(a.AlarmName)] = string(a.StateValue)
			}
			for _, a := range page.CompositeAlarms {
				states[aws.ToString(a.AlarmName)] = string(a.StateValue)
			}
		}
	}
	return states, nil
}
