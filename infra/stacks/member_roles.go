package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// MemberRolesProps say who may configure the account.
type MemberRolesProps struct {
	Settings Settings
	// TrustedRoleARN is the orgpatch Lambda role in the management account,
	// the only principal the configuration role trusts.
	TrustedRoleARN *string
}

// MemberRoles are the three roles orgpatch needs in every account it
// configures, the management account included.
type MemberRoles struct {
	// ConfigurationRole is what the Lambda assumes to manage windows and
	// the DHMC setting.
	ConfigurationRole awsiam.Role
	// TaskRole is the maintenance-window tasks' service role.
	TaskRole awsiam.Role
	// DHMCRole is the role Default Host Management Configuration gives
	// instances.
	DHMCRole awsiam.Role
}

// patchDocuments are the AWS-owned documents orgpatch tasks run.
var patchDocuments = []string{"AWS-RunPatchBaseline", "AWS-UpdateSSMAgent"}

// dhmcSetting is the service setting that holds the DHMC role.
const dhmcSetting = "servicesetting/ssm/managed-instance/default-ec2-instance-management-role"

// NewMemberRoles builds the roles. Every grant is named action by action;
// resources are scoped to this account's maintenance windows, the two
// documents, the DHMC setting and these roles wherever the action supports
// resource-level permissions.
func NewMemberRoles(scope constructs.Construct, id string, p MemberRolesProps) *MemberRoles {
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := p.Settings
	stmt := func(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String(sid),
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		})
	}
	documents := make([]*string, len(patchDocuments))
	for i, d := range patchDocuments {
		documents[i] = partitionARN("ssm:*::document/" + d)
	}
	sourceAccount := &map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
	}

	dhmc := awsiam.NewRole(c, jsii.String("DHMCRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(s.DHMCRoleName),
		Path:        jsii.String(DHMCRolePath),
		Description: jsii.String("Default Host Management Configuration: lets Systems Manager manage EC2 instances without an instance profile"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ssm.amazonaws.com"), nil),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromManagedPolicyArn(c, jsii.String("DHMCPolicy"),
				partitionARN("iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy")),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dhmc, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM4"),
		Reason:    jsii.String("Systems Manager documents AmazonSSMManagedEC2InstanceDefaultPolicy as the DHMC role's policy; AWS keeps it in step with what the SSM Agent needs."),
		AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy"},
	}}, jsii.Bool(true))

	task := awsiam.NewRole(c, jsii.String("TaskRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(s.TaskRoleName),
		Description: jsii.String("orgpatch maintenance-window tasks: run the patch and agent-update documents on this account's instances"),
		AssumedBy: awsiam.NewPrincipalWithConditions(
			awsiam.NewServicePrincipal(jsii.String("ssm.amazonaws.com"), nil), sourceAccount),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"run-patch-commands": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{
					stmt("SendPatchCommands", []string{"ssm:SendCommand"}, append(documents,
						partitionARN("ec2:*:${AWS::AccountId}:instance/*"),
						partitionARN("ssm:*:${AWS::AccountId}:managed-instance/*"))...),
					stmt("FollowCommands", []string{
						"ssm:CancelCommand",
						"ssm:DescribeInstanceInformation",
						"ssm:GetCommandInvocation",
						"ssm:ListCommandInvocations",
						"ssm:ListCommands",
					}, jsii.String("*")),
				},
			}),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(task, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The tasks target instances chosen by tag at run time in any region of this account; the AWS documents exist in every region; command status calls support only Resource \"*\"."),
		AppliesTo: &[]interface{}{
			"Resource::*",
			"Resource::arn:<AWS::Partition>:ssm:*::document/AWS-RunPatchBaseline",
			"Resource::arn:<AWS::Partition>:ssm:*::document/AWS-UpdateSSMAgent",
			"Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:instance/*",
			"Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:managed-instance/*",
		},
	}}, jsii.Bool(true))

	passRoles := stmt("PassTaskAndDHMCRoles", []string{"iam:PassRole"}, task.RoleArn(), dhmc.RoleArn())
	passRoles.AddCondition(jsii.String("StringEquals"), map[string]interface{}{
		"iam:PassedToService": "ssm.amazonaws.com",
	})
	windows := func(kind string) *string {
		return partitionARN("ssm:*:${AWS::AccountId}:" + kind + "/*")
	}
	config := awsiam.NewRole(c, jsii.String("ConfigurationRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(s.ConfigurationRoleName),
		Description: jsii.String("orgpatch: the management account's Lambda converges this account's patching maintenance windows, patch baselines and DHMC setting"),
		AssumedBy:   awsiam.NewArnPrincipal(p.TrustedRoleARN),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"manage-patching": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{
					stmt("CreateAndListWindows", []string{
						"ssm:CreateMaintenanceWindow",
						"ssm:DescribeMaintenanceWindows",
					}, jsii.String("*")),
					stmt("ManageWindows", []string{
						"ssm:AddTagsToResource",
						"ssm:DeleteMaintenanceWindow",
						"ssm:DeregisterTargetFromMaintenanceWindow",
						"ssm:DeregisterTaskFromMaintenanceWindow",
						"ssm:DescribeMaintenanceWindowTargets",
						"ssm:DescribeMaintenanceWindowTasks",
						"ssm:GetMaintenanceWindow",
						"ssm:GetMaintenanceWindowTask",
						"ssm:ListTagsForResource",
						"ssm:RegisterTargetWithMaintenanceWindow",
						"ssm:RegisterTaskWithMaintenanceWindow",
						"ssm:RemoveTagsFromResource",
						"ssm:UpdateMaintenanceWindow",
						"ssm:UpdateMaintenanceWindowTarget",
						"ssm:UpdateMaintenanceWindowTask",
					}, windows("maintenancewindow"), windows("windowtarget"), windows("windowtask")),
					stmt("DescribePatchDocuments", []string{"ssm:DescribeDocument"}, documents...),
					stmt("ListPatchBaselines", []string{
						"ssm:DescribePatchBaselines",
						"ssm:DescribePatchGroups",
						"ssm:GetDefaultPatchBaseline",
					}, jsii.String("*")),
					stmt("ManagePatchBaselines", []string{
						"ssm:AddTagsToResource",
						"ssm:CreatePatchBaseline",
						"ssm:DeletePatchBaseline",
						"ssm:DeregisterPatchBaselineForPatchGroup",
						"ssm:GetPatchBaseline",
						"ssm:ListTagsForResource",
						"ssm:RegisterPatchBaselineForPatchGroup",
						"ssm:UpdatePatchBaseline",
					}, windows("patchbaseline")),
					// AWS's predefined baselines, which teardown registers
					// again as the defaults, belong to AWS accounts that
					// differ by Region.
					stmt("RegisterDefaultPatchBaselines", []string{"ssm:RegisterDefaultPatchBaseline"},
						partitionARN("ssm:*:*:patchbaseline/*")),
					stmt("ManageDHMCSetting", []string{
						"ssm:GetServiceSetting",
						"ssm:ResetServiceSetting",
						"ssm:UpdateServiceSetting",
					}, partitionARN("ssm:*:${AWS::AccountId}:"+dhmcSetting)),
					passRoles,
					stmt("ListRegions", []string{"ec2:DescribeRegions"}, jsii.String("*")),
				},
			}),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(config, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Window, target, task and patch baseline ids are made at run time in every governed region of this account; the AWS documents, AWS's predefined patch baselines (owned by AWS accounts that differ by region) and the DHMC setting exist per region; CreateMaintenanceWindow, DescribeMaintenanceWindows, DescribePatchBaselines, DescribePatchGroups, GetDefaultPatchBaseline and DescribeRegions support only Resource \"*\"."),
		AppliesTo: &[]interface{}{
			"Resource::*",
			"Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:maintenancewindow/*",
			"Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:windowtarget/*",
			"Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:windowtask/*",
			"Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:patchbaseline/*",
			"Resource::arn:<AWS::Partition>:ssm:*:*:patchbaseline/*",
			"Resource::arn:<AWS::Partition>:ssm:*::document/AWS-RunPatchBaseline",
			"Resource::arn:<AWS::Partition>:ssm:*::document/AWS-UpdateSSMAgent",
			"Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:" + dhmcSetting,
		},
	}}, jsii.Bool(true))

	return &MemberRoles{ConfigurationRole: config, TaskRole: task, DHMCRole: dhmc}
}
