package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ManagementStackProps configure the management stack.
type ManagementStackProps struct {
	awscdk.StackProps
	Settings Settings
	// CodeDir holds the compiled Lambda "bootstrap".
	CodeDir string
	// MemberTemplateBody is the member-roles template for the StackSet.
	MemberTemplateBody string
}

// ManagementStack is everything in the management account's home region.
type ManagementStack struct {
	Stack         awscdk.Stack
	Parameters    *Parameters
	Function      *PatchFunction
	Alarms        *Alarms
	Triggers      *Triggers
	Roles         *MemberRoles
	StackSet      *MemberStackSet
	Configuration *Configuration
	Report        *ComplianceReport
	RunsBucket    *RunsBucket
	// RingTagGuard is the optional ring tag SCP (nil unless configured).
	RingTagGuard *RingTagGuard
	Runs         *RunStateMachine
}

// NewManagementStack builds the management stack. The custom resource is
// created after the roles and deleted before them: on create the roles
// exist in every account before the first run, and on delete the Lambda
// still has its roles while it removes the windows. Only the EventBridge
// rules come after it, so that no trigger runs before the first Create or
// after the Delete.
func NewManagementStack(scope constructs.Construct, id string, props *ManagementStackProps) *ManagementStack {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("orgpatch: Patch Manager maintenance windows and DHMC in every account of the organization")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	s := props.Settings

	params := NewParameters(stack, s)
	bucket := NewRunsBucket(stack, "Runs")
	fn := NewPatchFunction(stack, "Patch", PatchFunctionProps{
		Settings:         s,
		CodeDir:          props.CodeDir,
		OrganizationID:   params.OrganizationID.ValueAsString(),
		LogLevel:         params.LogLevel.ValueAsString(),
		LogRetentionDays: params.LogRetentionDays.ValueAsNumber(),
		RunsBucket:       bucket.Bucket,
		StateMachineName: s.StateMachineName(),
		StackProperties:  StackProperties(s, params),
	})
	runs := NewRunStateMachine(stack, "Run", RunStateMachineProps{
		Name:                       s.StateMachineName(),
		Function:                   fn.Function,
		Bucket:                     bucket.Bucket,
		MaxConcurrency:             params.MapMaxConcurrency.ValueAsNumber(),
		FailureTolerancePercentage: params.FailureTolerancePercentage.ValueAsNumber(),
		FailureToleranceCount:      params.FailureToleranceCount.ValueAsNumber(),
		LogRetentionDays:           params.LogRetentionDays.ValueAsNumber(),
	})
	alarms := NewAlarms(stack, "Alarms", AlarmsProps{
		Function:     fn.Function,
		Queue:        fn.Queue,
		StateMachine: runs.StateMachine,
		Email:        params.AlarmEmail.ValueAsString(),
		HasEmail:     params.HasAlarmEmail,
	})
	fn.GrantPromotion(alarms.Topic, alarms.Key)
	triggers := NewTriggers(stack, "Triggers", TriggersProps{
		Function:            fn.Function,
		Queue:               fn.Queue,
		ComplianceFrequency: params.ComplianceFrequency.ValueAsString(),
		Daily:               params.DailyCompliance,
	})
	report := NewComplianceReport(stack, "ComplianceReport", ComplianceReportProps{
		Function: fn.Function,
		Queue:    fn.Queue,
		Topic:    alarms.Topic,
	})
	// Service-managed StackSets skip the management account: its roles
	// come from the same construct here.
	roles := NewMemberRoles(stack, "ManagementAccountRoles", MemberRolesProps{
		Settings:       s,
		TrustedRoleARN: fn.Role.RoleArn(),
		OrganizationID: params.OrganizationID.ValueAsString(),
	})
	// Only the Lambda writes work items, records and reports; the state
	// machine writes the Distributed Map's results.
	onlyWriters(bucket.Bucket, fn.Role, runs.Role)
	onlyWriters(report.Bucket, fn.Role)
	var guard *RingTagGuard
	if s.RingTagGuardKey != "" {
		guard = NewRingTagGuard(stack, "RingTagGuard", RingTagGuardProps{
			TagKey: s.RingTagGuardKey, Principals: s.RingTagGuardPrincipals, RootID: params.OrganizationRootID.ValueAsString(),
		})
	}
	effective, err := s.EffectiveConfiguration()
	if err != nil {
		panic(fmt.Sprintf("stacks.NewManagementStack: %v", err)) // NewApp validated it
	}
	stackSet := NewMemberStackSet(stack, "MemberRoles", MemberStackSetProps{
		ExcludedAccounts: effective.ExcludedAccounts,
		Settings:         s,
		TemplateBody:     props.MemberTemplateBody,
		RootID:           params.OrganizationRootID.ValueAsString(),
		OrganizationID:   params.OrganizationID.ValueAsString(),
	})
	// The member configuration roles trust the Lambda role by ARN, which
	// IAM accepts only once the role exists.
	stackSet.StackSet.Node().AddDependency(fn.Role)

	cfg := NewConfiguration(stack, "Configuration", ConfigurationProps{
		Settings:   s,
		Function:   fn.Function,
		Parameters: params,
	})
	// The queue itself, not its construct: the rules add a queue policy
	// under it, and the rules come after the custom resource.
	// The state machine too: its last step answers the custom resource,
	// and on delete the run removing the windows needs it.
	cfg.Resource.Node().AddDependency(roles.ConfigurationRole, roles.TaskRole, roles.DHMCRole, stackSet.StackSet, fn.LogGroup, fn.Queue.Node().DefaultChild(), runs.StateMachine)
	// The rules come after the custom resource: on create they start once
	// the first full run has stored the configuration, and on delete they
	// are gone before its Delete removes the windows, so no event can
	// converge anything again afterwards.
	for _, rule := range []awsevents.Rule{triggers.Schedule, triggers.ControlTower, triggers.Organizations, report.Schedule} {
		rule.Node().AddDependency(cfg.Resource)
	}

	return &ManagementStack{
		Stack:         stack,
		Parameters:    params,
		Function:      fn,
		Alarms:        alarms,
		Triggers:      triggers,
		Roles:         roles,
		StackSet:      stackSet,
		Configuration: cfg,
		Report:        report,
		RunsBucket:    bucket,
		Runs:          runs,
		RingTagGuard:  guard,
	}
}
