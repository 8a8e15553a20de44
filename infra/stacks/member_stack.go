package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MemberRolesStackProps configure the member-roles template.
type MemberRolesStackProps struct {
	awscdk.StackProps
	Settings Settings
}

// ManagementAccountParameter is the member template's parameter naming the
// account whose Lambda role the configuration role trusts.
const ManagementAccountParameter = "ManagementAccountId"

// OrganizationIDParameter is the member template's parameter naming the
// organization, whose topics alone the task role may notify.
const OrganizationIDParameter = "OrganizationId"

// NewMemberRolesStack is the template the StackSet rolls out to every
// member account. It needs no CDK bootstrap in the accounts (no assets, no
// bootstrap version check) and carries no CDK metadata, so it deploys as a
// plain StackSet template.
func NewMemberRolesStack(scope constructs.Construct, id string, props *MemberRolesStackProps) awscdk.Stack {
	sp := props.StackProps
	sp.Synthesizer = awscdk.NewBootstraplessSynthesizer(nil)
	sp.AnalyticsReporting = jsii.Bool(false)
	if sp.Description == nil {
		sp.Description = jsii.String("orgpatch member roles: configuration role, maintenance-window task role, DHMC role")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	awscdk.NewCfnParameter(stack, jsii.String(ManagementAccountParameter), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		AllowedPattern:        jsii.String(`^\d{12}$`),
		ConstraintDescription: jsii.String("must be a 12-digit account id"),
		Description:           jsii.String("The management account, where the orgpatch Lambda runs."),
	})
	org := awscdk.NewCfnParameter(stack, jsii.String(OrganizationIDParameter), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		AllowedPattern:        jsii.String(`^o-[a-z0-9]{10,32}$`),
		ConstraintDescription: jsii.String("must be an organization id (o-...)"),
		Description:           jsii.String("The organization: the task role notifies only topics of its accounts."),
	})
	NewMemberRoles(stack, "Roles", MemberRolesProps{
		Settings:       props.Settings,
		OrganizationID: org.ValueAsString(),
		TrustedRoleARN: awscdk.Fn_Sub(jsii.String(
			"arn:${AWS::Partition}:iam::${"+ManagementAccountParameter+"}:role/"+props.Settings.LambdaRoleName), nil),
	})
	return stack
}

// TemplateBody synthesizes the stage holding stack and returns the stack's
// template as compact JSON, ready for a StackSet's TemplateBody. The stack
// must live in its own Stage (not the app) so that synthesizing it early
// does not freeze the rest of the app.
func TemplateBody(stack awscdk.Stack) (string, error) {
	stage := awscdk.Stage_Of(stack)
	if stage == nil || stage.Node().Scope() == nil {
		return "", fmt.Errorf("template body of %s: the stack must be inside a nested Stage", *stack.StackName())
	}
	art := stage.Synth(nil).GetStackArtifact(stack.ArtifactId())
	raw, err := os.ReadFile(*art.TemplateFullPath())
	if err != nil {
		return "", fmt.Errorf("template body of %s: %w", *stack.StackName(), err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fmt.Errorf("template body of %s: %w", *stack.StackName(), err)
	}
	return buf.String(), nil
}
