package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// TriggersProps wire the rules to the Lambda.
type TriggersProps struct {
	Function awslambda.IFunction
	// Queue receives events EventBridge could not deliver.
	Queue awssqs.IQueue
	// ComplianceFrequency is the parameter's value (days); Daily holds when
	// it is 1.
	ComplianceFrequency *string
	Daily               awscdk.CfnCondition
}

// Triggers are the EventBridge rules that start a run.
type Triggers struct {
	Schedule      awsevents.Rule
	ControlTower  awsevents.Rule
	Organizations awsevents.Rule
}

// OrganizationsEventNames are the Organizations events that bring an
// account into the organization, move it or change its tags (rings select
// accounts by OU and by tag); they are emitted in us-east-1 only, hence the
// forwarder stack. AccountJoinedOrganization is what the management account
// records when an invited account accepts (the AcceptHandshake call itself
// is logged in the invited account).
var OrganizationsEventNames = []string{"CreateAccountResult", "AcceptHandshake", "AccountJoinedOrganization", "MoveAccount", "TagResource", "UntagResource"}

// OrganizationsEventPattern matches OrganizationsEventNames, whether
// Organizations reports them as an API call or as a service event, recorded
// in this (the management) account only.
func OrganizationsEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Account:    &[]*string{awscdk.Aws_ACCOUNT_ID()},
		Source:     jsii.Strings("aws.organizations"),
		DetailType: jsii.Strings("AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"),
		Detail:     &map[string]interface{}{"eventName": OrganizationsEventNames},
	}
}

// NewTriggers builds the schedule, the Control Tower lifecycle rule and the
// Organizations rule. Each target retries and then hands the event to the
// dead-letter queue; each Lambda permission is scoped to its rule's ARN.
func NewTriggers(scope constructs.Construct, id string, p TriggersProps) *Triggers {
	c := constructs.NewConstruct(scope, jsii.String(id))
	target := func() awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(p.Function, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: p.Queue,
			RetryAttempts:   jsii.Number(4),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
		})
	}

	// EventBridge accepts "rate(1 day)" but not "rate(1 days)".
	expression := awscdk.Fn_ConditionIf(p.Daily.LogicalId(),
		jsii.String("rate(1 day)"),
		awscdk.Fn_Join(jsii.String(""), jsii.Strings("rate(", *p.ComplianceFrequency, " days)")),
	).ToString()

	return &Triggers{
		Schedule: awsevents.NewRule(c, jsii.String("Schedule"), &awsevents.RuleProps{
			Description: jsii.String("orgpatch: repair drift in every account on a schedule"),
			Schedule:    awsevents.Schedule_Expression(expression),
			Targets:     &[]awsevents.IRuleTarget{target()},
		}),
		ControlTower: awsevents.NewRule(c, jsii.String("ControlTowerLifecycle"), &awsevents.RuleProps{
			Description: jsii.String("orgpatch: configure accounts Control Tower Account Factory creates or updates"),
			EventPattern: &awsevents.EventPattern{
				Account:    &[]*string{awscdk.Aws_ACCOUNT_ID()},
				Source:     jsii.Strings("aws.controltower"),
				DetailType: jsii.Strings("AWS Service Event via CloudTrail"),
				Detail: &map[string]interface{}{
					"eventName": []string{"CreateManagedAccount", "UpdateManagedAccount"},
				},
			},
			Targets: &[]awsevents.IRuleTarget{target()},
		}),
		Organizations: awsevents.NewRule(c, jsii.String("Organizations"), &awsevents.RuleProps{
			Description:  jsii.String("orgpatch: configure accounts that join or move within the organization"),
			EventPattern: OrganizationsEventPattern(),
			Targets:      &[]awsevents.IRuleTarget{target()},
		}),
	}
}
