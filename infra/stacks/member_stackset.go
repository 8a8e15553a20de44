package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MemberStackSetProps say what to deploy where.
type MemberStackSetProps struct {
	Settings Settings
	// TemplateBody is the member-roles template (see TemplateBody).
	TemplateBody string
	// RootID is the organization root: every account under it gets the
	// roles, but for the configuration's excluded OUs and accounts.
	RootID *string
	// OrganizationID is the organization (o-...), a parameter of the
	// member template.
	OrganizationID *string
	// ExcludedAccounts are the configuration's excluded accounts.
	ExcludedAccounts []string
}

// MemberStackSet rolls the member roles out to every account of the
// organization orgpatch works in, now and as accounts join
// (auto-deployment), in the home region only: the roles are global, and the
// Lambda works every region from there.
//
// Excluded accounts get no roles, so the Lambda cannot act in them even by
// mistake: the deployment targets are the root with AccountFilterType
// DIFFERENCE and the excluded accounts, the form the StackSets API
// documents for leaving accounts out of service-managed OU targets. An
// excluded OU cannot be left out the same way: the API filters accounts,
// never OUs (no OU can be subtracted from its parent), and the OUs beside
// it are not known at synth time. Accounts under an excluded OU still get
// the roles, and the Lambda skips them (see docs/deploy.md, "Known limits").
type MemberStackSet struct {
	StackSet awscloudformation.CfnStackSet
}

// NewMemberStackSet builds the service-managed StackSet. It does not reach
// the management account itself; the management stack creates the same
// roles there.
func NewMemberStackSet(scope constructs.Construct, id string, p MemberStackSetProps) *MemberStackSet {
	c := constructs.NewConstruct(scope, jsii.String(id))
	ss := awscloudformation.NewCfnStackSet(c, jsii.String("StackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(p.Settings.StackSetName),
		Description:     jsii.String("orgpatch member roles in every account of the organization"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String("SELF"),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		ManagedExecution: map[string]interface{}{"Active": true},
		Capabilities:     jsii.Strings("CAPABILITY_NAMED_IAM"),
		// All accounts at once; an account that fails (suspended, an SCP)
		// must not hold back the others, and the Lambda reports accounts
		// whose role is missing.
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			ConcurrencyMode:            jsii.String("SOFT_FAILURE_TOLERANCE"),
			MaxConcurrentPercentage:    jsii.Number(100),
			FailureTolerancePercentage: jsii.Number(25),
			RegionConcurrencyType:      jsii.String("PARALLEL"),
		},
		Parameters: &[]interface{}{
			&awscloudformation.CfnStackSet_ParameterProperty{
				ParameterKey:   jsii.String(ManagementAccountParameter),
				ParameterValue: awscdk.Aws_ACCOUNT_ID(),
			},
			&awscloudformation.CfnStackSet_ParameterProperty{
				ParameterKey:   jsii.String(OrganizationIDParameter),
				ParameterValue: p.OrganizationID,
			},
		},
		StackInstancesGroup: &[]interface{}{
			&awscloudformation.CfnStackSet_StackInstancesProperty{
				DeploymentTargets: deploymentTargets(p),
				Regions:           &[]*string{awscdk.Aws_REGION()},
			},
		},
		TemplateBody: jsii.String(p.TemplateBody),
	})
	return &MemberStackSet{StackSet: ss}
}

// deploymentTargets are the root, minus the excluded accounts.
func deploymentTargets(p MemberStackSetProps) *awscloudformation.CfnStackSet_DeploymentTargetsProperty {
	t := &awscloudformation.CfnStackSet_DeploymentTargetsProperty{OrganizationalUnitIds: &[]*string{p.RootID}}
	if len(p.ExcludedAccounts) > 0 {
		t.AccountFilterType = jsii.String("DIFFERENCE")
		t.Accounts = jsii.Strings(p.ExcludedAccounts...)
	}
	return t
}
