package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orgpatch/orgpatch/internal/names"
)

// MemberRolesProps say who may configure the account.
type MemberRolesProps struct {
	Settings Settings
	// TrustedRoleARN is the orgpatch Lambda role in the management account,
	// the only principal the configuration role trusts.
	TrustedRoleARN *string
	// OrganizationID is the organization (o-...): the task role publishes
	// notifications only to topics of its accounts.
	OrganizationID *string
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

// targetAndTaskWrites are the writes to a window's targets and tasks;
// windowWrites adds the writes to the window itself.
var (
	targetAndTaskWrites = []string{
		"ssm:DeregisterTargetFromMaintenanceWindow",
		"ssm:DeregisterTaskFromMaintenanceWindow",
		"ssm:RegisterTargetWithMaintenanceWindow",
		"ssm:RegisterTaskWithMaintenanceWindow",
		"ssm:UpdateMaintenanceWindowTarget",
		"ssm:UpdateMaintenanceWindowTask",
	}
	windowWrites = append([]string{"ssm:DeleteMaintenanceWindow", "ssm:UpdateMaintenanceWindow"}, targetAndTaskWrites...)
)

// notifyInOrganization lets Run Command publish a task's notifications
// (it does so as the task's service role) only to topics owned by accounts
// of the organization.
func notifyInOrganization(organizationID *string) awsiam.PolicyStatement {
	s := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("NotifyTopicsInOrganization"),
		Actions:   jsii.Strings("sns:Publish"),
		Resources: &[]*string{partitionARN("sns:*:*:*")},
	})
	s.AddCondition(jsii.String("StringEquals"), map[string]interface{}{"aws:ResourceOrgID": organizationID})
	return s
}

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
	// The confused-deputy conditions Systems Manager documents for its
	// service roles: this account, and an SSM resource of this account.
	ssmOfThisAccount := &map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
		"ArnLike":      map[string]interface{}{"aws:SourceArn": partitionARN("ssm:*:${AWS::AccountId}:*")},
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
			awsiam.NewServicePrincipal(jsii.String("ssm.amazonaws.com"), nil), ssmOfThisAccount),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"run-patch-commands": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{
					stmt("SendPatchCommands", []string{"ssm:SendCommand"}, append(documents,
						partitionARN("ec2:*:${AWS::AccountId}:instance/*"),
						partitionARN("ssm:*:${AWS::AccountId}:managed-instance/*"))...),
					stmt("FollowCommands", []string{
						"ssm:DescribeInstanceInformation",
						"ssm:GetCommandInvocation",
						"ssm:ListCommandInvocations",
						"ssm:ListCommands",
					}, jsii.String("*")),
					notifyInOrganization(p.OrganizationID),
				},
			}),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(task, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The tasks target instances chosen by tag at run time in any region of this account; the AWS documents exist in every region; command status calls support only Resource \"*\"; notification topics are named by the configuration, and aws:ResourceOrgID confines them to the organization."),
		AppliesTo: &[]interface{}{
			"Resource::*",
			"Resource::arn:<AWS::Partition>:ssm:*::document/AWS-RunPatchBaseline",
			"Resource::arn:<AWS::Partition>:ssm:*::document/AWS-UpdateSSMAgent",
			"Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:instance/*",
			"Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:managed-instance/*",
			"Resource::arn:<AWS::Partition>:sns:*:*:*",
		},
	}}, jsii.Bool(true))

	// A task can be given no role but the task role (the DHMC role goes
	// to the DHMC setting); no condition key AWS documents for
	// RegisterTaskWithMaintenanceWindow or UpdateMaintenanceWindowTask
	// names the document or requires a role, so the Lambda checks both
	// before every task write (reconcile.CheckTask).
	passRoles := stmt("PassTaskAndDHMCRoles", []string{"iam:PassRole"}, task.RoleArn(), dhmc.RoleArn())
	passRoles.AddCondition(jsii.String("StringEquals"), map[string]interface{}{
		"iam:PassedToService": "ssm.amazonaws.com",
	})
	windows := func(kind string) *string {
		return partitionARN("ssm:*:${AWS::AccountId}:" + kind + "/*")
	}
	owned := map[string]interface{}{"aws:ResourceTag/" + names.OwnerTagKey: names.OwnerTagValue}
	// The ownership tag (reconcile's): the configuration role writes only
	// windows that carry it. Windows are created only with the ownership tag, and tagged with
	// nothing else.
	createWindows := stmt("CreateOwnedWindows", []string{
		"ssm:AddTagsToResource",
		"ssm:CreateMaintenanceWindow",
	}, windows("maintenancewindow"))
	createWindows.AddCondition(jsii.String("StringEquals"), map[string]interface{}{"aws:RequestTag/" + names.OwnerTagKey: names.OwnerTagValue})
	createWindows.AddCondition(jsii.String("ForAllValues:StringEquals"), map[string]interface{}{"aws:TagKeys": []string{names.OwnerTagKey}})
	// Every write to a window, its targets or its tasks names the window
	// (maintenancewindow resource); only windows carrying the tag match.
	writeOwned := stmt("WriteOwnedWindows", windowWrites, windows("maintenancewindow"))
	writeOwned.AddCondition(jsii.String("StringEquals"), owned)
	// The target and task resources carry no tags of their own.
	writeTargetsAndTasks := stmt("WriteTargetsAndTasksOfOwnedWindows", targetAndTaskWrites, windows("windowtarget"), windows("windowtask"))
	// Patch baselines likewise: created only with the ownership tag and
	// nothing else, written (registrations included) only while they carry
	// it.
	baselines := windows("patchbaseline")
	createBaselines := stmt("CreateOwnedPatchBaselines", []string{"ssm:AddTagsToResource", "ssm:CreatePatchBaseline"}, baselines)
	createBaselines.AddCondition(jsii.String("StringEquals"), map[string]interface{}{"aws:RequestTag/" + names.OwnerTagKey: names.OwnerTagValue})
	createBaselines.AddCondition(jsii.String("ForAllValues:StringEquals"), map[string]interface{}{"aws:TagKeys": []string{names.OwnerTagKey}})
	writeBaselines := stmt("WriteOwnedPatchBaselines", []string{
		"ssm:DeletePatchBaseline",
		"ssm:DeregisterPatchBaselineForPatchGroup",
		"ssm:RegisterDefaultPatchBaseline",
		"ssm:RegisterPatchBaselineForPatchGroup",
		"ssm:UpdatePatchBaseline",
	}, baselines)
	writeBaselines.AddCondition(jsii.String("StringEquals"), owned)
	// AWS's predefined baselines, which teardown registers again as the
	// defaults, belong to AWS accounts that differ by Region: any account's
	// baseline but this one's.
	restoreDefaults := stmt("RegisterPredefinedDefaultBaselines", []string{"ssm:RegisterDefaultPatchBaseline"}, partitionARN("ssm:*:*:patchbaseline/*"))
	restoreDefaults.AddCondition(jsii.String("StringNotEquals"), map[string]interface{}{"aws:ResourceAccount": awscdk.Aws_ACCOUNT_ID()})
	config := awsiam.NewRole(c, jsii.String("ConfigurationRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(s.ConfigurationRoleName),
		Description: jsii.String("orgpatch: the management account's Lambda converges this account's patching maintenance windows, patch baselines and DHMC setting"),
		AssumedBy:   awsiam.NewArnPrincipal(p.TrustedRoleARN),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"manage-patching": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{
					stmt("ListWindows", []string{
						"ssm:DescribeMaintenanceWindows",
						// the owned windows of a region in one call
						"tag:GetResources",
					}, jsii.String("*")),
					stmt("ReadWindows", []string{
						"ssm:DescribeMaintenanceWindowTargets",
						"ssm:DescribeMaintenanceWindowTasks",
						"ssm:GetMaintenanceWindowTask",
						"ssm:ListTagsForResource",
					}, windows("maintenancewindow"), windows("windowtarget"), windows("windowtask")),
					createWindows,
					writeOwned,
					writeTargetsAndTasks,
					stmt("DescribePatchDocuments", []string{"ssm:DescribeDocument"}, documents...),
					stmt("ListPatchBaselines", []string{
						"ssm:DescribePatchBaselines",
						"ssm:DescribePatchGroups",
						"ssm:GetDefaultPatchBaseline",
					}, jsii.String("*")),
					stmt("ReadPatchBaselines", []string{"ssm:GetPatchBaseline", "ssm:ListTagsForResource"}, baselines),
					createBaselines,
					writeBaselines,
					restoreDefaults,
					stmt("ManageDHMCSetting", []string{
						"ssm:GetServiceSetting",
						"ssm:ResetServiceSetting",
						"ssm:UpdateServiceSetting",
					}, partitionARN("ssm:*:${AWS::AccountId}:"+dhmcSetting)),
					passRoles,
					stmt("ListRegions", []string{"ec2:DescribeRegions"}, jsii.String("*")),
					// The compliance report's reads (internal/compliance);
					// these List/Describe calls support only Resource "*".
					stmt("ReadPatchCompliance", []string{
						"ec2:DescribeInstances",
						"ssm:DescribeInstanceInformation",
						"ssm:DescribeInstancePatchStates",
						"ssm:ListComplianceItems",
						"ssm:ListResourceComplianceSummaries",
					}, jsii.String("*")),
				},
			}),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(config, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Window, target, task and patch baseline ids are made at run time in every governed region of this account; the AWS documents, AWS's predefined patch baselines (owned by AWS accounts that differ by region) and the DHMC setting exist per region; CreateMaintenanceWindow, DescribeMaintenanceWindows, tag:GetResources, DescribePatchBaselines, DescribePatchGroups, GetDefaultPatchBaseline, DescribeRegions and the compliance reads support only Resource \"*\"."),
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
