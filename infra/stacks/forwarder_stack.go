package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// OrganizationsEventsRegion is the only region AWS Organizations emits its
// CloudTrail events in.
const OrganizationsEventsRegion = "us-east-1"

// ForwarderStackProps configure the forwarder; StackProps.Env must put it in
// us-east-1.
type ForwarderStackProps struct {
	awscdk.StackProps
	// HomeRegion is where the management stack's default event bus is.
	HomeRegion string
}

// ForwarderStack carries Organizations events from us-east-1 to the home
// region's default event bus, where the management stack's rule picks them
// up like any local event.
type ForwarderStack struct {
	Stack awscdk.Stack
	Rule  awsevents.Rule
	Role  awsiam.Role
}

// NewForwarderStack builds the forwarding rule and the role EventBridge
// uses to put events on the home bus, allowed on that bus only.
func NewForwarderStack(scope constructs.Construct, id string, props *ForwarderStackProps) *ForwarderStack {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("orgpatch: forward AWS Organizations account events from us-east-1 to " + props.HomeRegion)
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)

	bus := awsevents.EventBus_FromEventBusArn(stack, jsii.String("HomeBus"),
		partitionARN("events:"+props.HomeRegion+":${AWS::AccountId}:event-bus/default"))
	role := awsiam.NewRole(stack, jsii.String("ForwardRole"), &awsiam.RoleProps{
		Description: jsii.String("orgpatch: EventBridge puts forwarded Organizations events on the home region's default bus"),
		AssumedBy: awsiam.NewPrincipalWithConditions(
			awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
			&map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
				// The rule's own ARN would make the role and the rule
				// depend on each other; this account's rules here.
				"ArnLike": map[string]interface{}{"aws:SourceArn": partitionARN("events:${AWS::Region}:${AWS::AccountId}:rule/*")},
			}),
	})
	rule := awsevents.NewRule(stack, jsii.String("ForwardOrganizationsEvents"), &awsevents.RuleProps{
		Description:  jsii.String("orgpatch: forward account events to " + props.HomeRegion),
		EventPattern: OrganizationsEventPattern(),
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewEventBus(bus, &awseventstargets.EventBusProps{Role: role}),
		},
	})
	return &ForwarderStack{Stack: stack, Rule: rule, Role: role}
}
