package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// AlarmsProps name what is watched and who is told.
type AlarmsProps struct {
	Function awslambda.IFunction
	Queue    awssqs.IQueue
	// StateMachine runs the whole-organization runs.
	StateMachine awsstepfunctions.IStateMachine
	// Email, when HasEmail holds, is subscribed to the topic.
	Email    *string
	HasEmail awscdk.CfnCondition
}

// Alarms tell an admin that a run failed: the Lambda reported an error, an
// event ended in the dead-letter queue, or a whole-organization run ended
// failed, timed out or aborted.
type Alarms struct {
	Topic        awssns.Topic
	Key          awskms.Key
	QueueAlarm   awscloudwatch.Alarm
	ErrorsAlarm  awscloudwatch.Alarm
	RunsAlarm    awscloudwatch.Alarm
	Subscription awssns.CfnSubscription
}

// alarmsOfThisAccount confines CloudWatch's use of the topic and its key to
// this account's alarms in this region (the confused-deputy conditions
// CloudWatch documents for alarm actions).
func alarmsOfThisAccount() *map[string]interface{} {
	return &map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
		"ArnLike":      map[string]interface{}{"aws:SourceArn": partitionARN("cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*")},
	}
}

// NewAlarms builds the topic and the alarms. The topic is encrypted with a
// customer-managed key because CloudWatch cannot publish to a topic under
// the AWS-managed alias/aws/sns key (its policy cannot be extended); the
// key's policy lets CloudWatch alarms of this account use it.
func NewAlarms(scope constructs.Construct, id string, p AlarmsProps) *Alarms {
	c := constructs.NewConstruct(scope, jsii.String(id))

	key := awskms.NewKey(c, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("orgpatch alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: alarmsOfThisAccount(),
	}), nil)

	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("orgpatch alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy that enforceSSL creates replaces SNS's default
	// policy, so CloudWatch's right to publish is stated explicitly.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: alarmsOfThisAccount(),
	}))
	sub := awssns.NewCfnSubscription(c, jsii.String("EmailSubscription"), &awssns.CfnSubscriptionProps{
		Protocol: jsii.String("email"),
		Endpoint: p.Email,
		TopicArn: topic.TopicArn(),
	})
	sub.CfnOptions().SetCondition(p.HasEmail)

	action := awscloudwatchactions.NewSnsAction(topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))

	queueAlarm := awscloudwatch.NewAlarm(c, jsii.String("DeadLetterQueueAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("An orgpatch event failed after its retries and is in the dead-letter queue: read it, fix the cause, then delete it."),
		Metric: p.Queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    five,
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	queueAlarm.AddAlarmAction(action)

	errorsAlarm := awscloudwatch.NewAlarm(c, jsii.String("ErrorsAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("An orgpatch run reported an error: its log names the failed accounts and regions."),
		Metric: p.Function.MetricErrors(&awscloudwatch.MetricOptions{
			Period:    five,
			Statistic: jsii.String("Sum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	errorsAlarm.AddAlarmAction(action)

	// A run that left any account not attempted ends FAILED too.
	runs := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("failed + timedOut + aborted"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"failed":   p.StateMachine.MetricFailed(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}),
			"timedOut": p.StateMachine.MetricTimedOut(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}),
			"aborted":  p.StateMachine.MetricAborted(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}),
		},
		Period: five,
		Label:  jsii.String("Whole-organization runs that did not succeed"),
	})
	runsAlarm := awscloudwatch.NewAlarm(c, jsii.String("RunsAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String("A whole-organization orgpatch run did not succeed: its execution in the Step Functions console names the accounts not attempted or failed."),
		Metric:             runs,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	runsAlarm.AddAlarmAction(action)

	return &Alarms{Topic: topic, Key: key, QueueAlarm: queueAlarm, ErrorsAlarm: errorsAlarm, RunsAlarm: runsAlarm, Subscription: sub}
}
