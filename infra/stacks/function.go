package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orgpatch/orgpatch/internal/names"
)

// PatchFunctionProps configure the orgpatch Lambda.
type PatchFunctionProps struct {
	Settings Settings
	// CodeDir holds the compiled "bootstrap" (see BuildBootstrap).
	CodeDir string
	// OrganizationID, LogLevel and LogRetentionDays are parameter values.
	OrganizationID   *string
	LogLevel         *string
	LogRetentionDays *float64
	// RunsBucket holds the whole-organization runs' objects; StateMachineName
	// names the state machine the whole-organization triggers start.
	RunsBucket       awss3.IBucket
	StateMachineName string
	// StackProperties are the custom resource's properties as the stack
	// sets them (see StackProperties): the only ones the Lambda acts on.
	StackProperties *string
}

// PatchFunction is the Lambda with what it alone uses: its role, its log
// group and the queue its failed invocations land in.
type PatchFunction struct {
	Function awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
	// Queue receives events whose invocation failed after its retries, and
	// events EventBridge could not deliver.
	Queue awssqs.Queue
	// Policy is the role's inline policy: grants on resources built after
	// the function (GrantPromotion) join it, so every grant stays in the
	// role's own policy.
	Policy awsiam.PolicyDocument
}

// defaultBusARN is the home region's default event bus, where promotion
// events go.
func defaultBusARN() *string {
	return partitionARN("events:${AWS::Region}:${AWS::AccountId}:event-bus/default")
}

// promotionStateList lets the function list the runs bucket for the
// promotion state's key alone.
func promotionStateList(bucket awss3.IBucket) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("FindPromotionState"),
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{bucket.BucketArn()},
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"s3:prefix": names.PromotionStateKey}},
	})
}

// promotionAlarms lets the function read the promotion gates' alarms.
// DescribeAlarms returns composite alarms only to a grant on "*" (the
// CloudWatch API reference), and a gate may name one, so the grant is on
// "*", confined to the home region; the role is the management account's,
// so it reads that account's alarms alone.
func promotionAlarms() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ReadGateAlarms"),
		Actions:    jsii.Strings("cloudwatch:DescribeAlarms"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:RequestedRegion": awscdk.Aws_REGION()}},
	})
}

// GrantPromotion lets the function publish promotion events to the alarm
// topic (encrypted with key): the topic alone, the key only through SNS,
// and the topic's policy names the function's role, and tells the
// function the topic's ARN.
func (f *PatchFunction) GrantPromotion(topic awssns.ITopic, key awskms.IKey) {
	f.Policy.AddStatements(
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("PublishPromotionEvents"),
			Actions:   jsii.Strings("sns:Publish"),
			Resources: &[]*string{topic.TopicArn()},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("EncryptPromotionEvents"),
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
			Resources:  &[]*string{key.KeyArn()},
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"kms:ViaService": awscdk.Fn_Sub(jsii.String("sns.${AWS::Region}.amazonaws.com"), nil)}},
		}),
	)
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrgpatchFunctionPublishes"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(f.Role.RoleArn())},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
	}))
	f.Function.AddEnvironment(jsii.String(names.EnvAlarmTopicARN), topic.TopicArn(), nil)
}

// ctRegionsParameter is where the SRA prerequisites solution publishes
// Control Tower's governed regions.
const ctRegionsParameter = "/sra/regions/customer-control-tower-regions"

// NewPatchFunction builds the Lambda.
//
// Reserved concurrency (Settings.ReservedConcurrency, default 12): the
// Distributed Map's workers (MapMaxConcurrency, at most the reserved
// concurrency less 2) plus one for a discover or summarize step and one for
// an event about one account. Whole-organization runs never overlap (a run
// waits its turn behind an older one), so the reservation bounds the load on
// the organization; a throttled step is retried by the state machine, a
// throttled event by Lambda, for up to six hours.
func NewPatchFunction(scope constructs.Construct, id string, p PatchFunctionProps) *PatchFunction {
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := p.Settings

	queue := awssqs.NewQueue(c, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// 14 days, the maximum: a failed run is noticed through the alarm,
		// and the event is the evidence; two weeks cover a holiday.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(queue, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the Lambda and its EventBridge targets."),
	}}, jsii.Bool(true))

	logProps := &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + s.FunctionName),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	}
	if s.LogKMSKeyARN != "" {
		logProps.EncryptionKey = awskms.Key_FromKeyArn(c, jsii.String("LogKey"), jsii.String(s.LogKMSKeyARN))
	}
	logGroup := awslogs.NewLogGroup(c, jsii.String("LogGroup"), logProps)
	// The retention is a parameter, which the construct's enum cannot take.
	logGroup.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(p.LogRetentionDays)

	policy := lambdaPolicy(logGroup, queue, s, p)
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		RoleName:    jsii.String(s.LambdaRoleName),
		Description: jsii.String("orgpatch Lambda: reads the organization and assumes the configuration role in its accounts"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"orgpatch": policy,
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The configuration role exists under one name in every account of the organization, so the account is a wildcard (the organization conditions bound it); Organizations and Control Tower list calls support only Resource \"*\"; the landing zone's id and home region are not known before deployment; every compliance report run writes new dated keys under the report bucket's records/ and pages/, and its latest-run state under state/; the runs' objects have one key per run under the runs/ prefix; a promotion gate may name any alarm of the home region, and DescribeAlarms returns composite alarms only to a grant on \"*\" (the grant is confined to the home region)."),
		AppliesTo: &[]interface{}{
			"Resource::arn:<AWS::Partition>:iam::*:role/" + s.ConfigurationRoleName,
			"Resource::*",
			"Resource::arn:<AWS::Partition>:controltower:*:<AWS::AccountId>:landingzone/*",
			"Resource::arn:<AWS::Partition>:s3:::orgpatch-compliance-<AWS::AccountId>-<AWS::Region>/records/*",
			"Resource::arn:<AWS::Partition>:s3:::orgpatch-compliance-<AWS::AccountId>-<AWS::Region>/pages/*",
			"Resource::arn:<AWS::Partition>:s3:::orgpatch-compliance-<AWS::AccountId>-<AWS::Region>/state/*",
			runsObjects,
		},
	}}, jsii.Bool(true))

	props := &awslambda.FunctionProps{
		FunctionName: jsii.String(s.FunctionName),
		Description:  jsii.String("orgpatch: keeps Patch Manager maintenance windows and DHMC configured in every account and region of the organization"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(p.CodeDir), nil),
		MemorySize:   jsii.Number(float64(s.MemorySize)),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(900)),
		Role:         role,
		LogGroup:     logGroup,
		// CloudFormation updates the function before the custom resource
		// that names it, so an Update's properties meet the environment
		// of the same deployment (and a rollback's the previous one's).
		Environment: &map[string]*string{
			names.EnvConfigParameter: jsii.String(s.ConfigParameterName),
			names.EnvStackID:         awscdk.Aws_STACK_ID(),
			names.EnvStackProperties: p.StackProperties,
			"LOG_LEVEL":              p.LogLevel,
			names.EnvStateMachineARN: StateMachineARN(p.StateMachineName),
			names.EnvRunsBucket:      p.RunsBucket.BucketName(),
			names.EnvEventBusARN:     defaultBusARN(),
			// Both buckets are the stack's own: every S3 call names
			// this account as the ExpectedBucketOwner.
			names.EnvBucketOwner: awscdk.Aws_ACCOUNT_ID(),
		},
	}
	if s.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(s.ReservedConcurrency))
	}
	fn := awslambda.NewFunction(c, jsii.String("Function"), props)
	// CDK makes the function depend on its role explicitly as well as
	// through Fn::GetAtt; cfn-lint warns about the duplicate (W3005).
	fn.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("cfn-lint"), map[string]interface{}{
		"config": map[string]interface{}{"ignore_checks": []string{"W3005"}},
	})
	// Failed asynchronous invocations go to the queue as an on-failure
	// destination, which records the error beside the event. Declared at
	// the L1 level: the L2 destination would also grant the role
	// sqs:GetQueueAttributes and sqs:GetQueueUrl, which it does not use.
	awslambda.NewCfnEventInvokeConfig(c, jsii.String("AsyncInvokeConfig"), &awslambda.CfnEventInvokeConfigProps{
		FunctionName:             fn.FunctionName(),
		Qualifier:                jsii.String("$LATEST"),
		MaximumRetryAttempts:     jsii.Number(2),
		MaximumEventAgeInSeconds: jsii.Number(6 * 60 * 60),
		DestinationConfig: &awslambda.CfnEventInvokeConfig_DestinationConfigProperty{
			OnFailure: &awslambda.CfnEventInvokeConfig_OnFailureProperty{Destination: queue.QueueArn()},
		},
	})

	return &PatchFunction{Function: fn, Role: role, LogGroup: logGroup, Queue: queue, Policy: policy}
}

// lambdaPolicy is everything the Lambda does with its own credentials; all
// work inside the accounts happens through the configuration role.
func lambdaPolicy(logGroup awslogs.LogGroup, queue awssqs.Queue, s Settings, p PatchFunctionProps) awsiam.PolicyDocument {
	organizationID := p.OrganizationID
	stmt := func(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String(sid),
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		})
	}
	assume := stmt("AssumeConfigurationRoleInOrganization", []string{"sts:AssumeRole"},
		partitionARN("iam::*:role/"+s.ConfigurationRoleName))
	// PrincipalOrgID keeps the grant void should the management account
	// ever leave the organization; ResourceOrgID is what confines it to
	// roles in accounts of this organization.
	assume.AddCondition(jsii.String("StringEquals"), map[string]interface{}{
		"aws:PrincipalOrgID": organizationID,
		"aws:ResourceOrgID":  organizationID,
	})
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
		Statements: &[]awsiam.PolicyStatement{
			stmt("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				logGroup.LogGroupArn()),
			assume,
			stmt("ReadOrganization", []string{
				"organizations:DescribeAccount",
				"organizations:ListAccounts",
				"organizations:ListAccountsForParent",
				"organizations:ListOrganizationalUnitsForParent",
				"organizations:ListParents",
				"organizations:ListRoots", // the compliance report's OU walk
				// Rings select accounts by their Organizations tags.
				"organizations:ListTagsForResource",
			}, jsii.String("*")),
			stmt("ListLandingZones", []string{"controltower:ListLandingZones"}, jsii.String("*")),
			stmt("ReadLandingZone", []string{"controltower:GetLandingZone"},
				partitionARN("controltower:*:${AWS::AccountId}:landingzone/*")),
			stmt("ReadRegionsAndConfiguration", []string{"ssm:GetParameter"},
				partitionARN("ssm:${AWS::Region}:${AWS::AccountId}:parameter"+ctRegionsParameter),
				partitionARN("ssm:${AWS::Region}:${AWS::AccountId}:parameter"+s.ConfigParameterName)),
			// The custom resource's Delete deletes the parameter, so
			// the stack leaves nothing behind.
			stmt("WriteConfiguration", []string{"ssm:PutParameter", "ssm:DeleteParameter"},
				partitionARN("ssm:${AWS::Region}:${AWS::AccountId}:parameter"+s.ConfigParameterName)),
			stmt("SendFailedEvents", []string{"sqs:SendMessage"}, queue.QueueArn()),
			// The report run writes its objects and reads the previous
			// run's; listing lets a missing object answer NoSuchKey
			// instead of AccessDenied (the first run).
			stmt("WriteReports", []string{"s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"}, reportObjectARNs()...),
			stmt("ListReports", []string{"s3:ListBucket"}, partitionARN("s3:::"+reportBucketName)),
			// Whole-organization triggers start the state machine; its
			// discover step lists the running executions to wait its turn.
			stmt("StartRuns", []string{"states:StartExecution", "states:ListExecutions"},
				StateMachineARN(p.StateMachineName)),
			stmt("RunObjects", []string{"s3:GetObject", "s3:PutObject"},
				p.RunsBucket.ArnForObjects(jsii.String(RunsPrefix+"*"))),
			// The promotion state: one object, read and written with
			// conditional writes; listing (of that key alone) lets the
			// first run's missing object answer NoSuchKey, not AccessDenied.
			stmt("PromotionState", []string{"s3:GetObject", "s3:PutObject"},
				p.RunsBucket.ArnForObjects(jsii.String(names.PromotionStateKey))),
			promotionStateList(p.RunsBucket),
			// Promotion events go to the home region's default bus.
			stmt("PutPromotionEvents", []string{"events:PutEvents"}, defaultBusARN()),
			promotionAlarms(),
			// A Delete (and an Update's teardown) is acted on only while
			// CloudFormation shows this stack in that operation.
			stmt("VerifyStackOperations", []string{"cloudformation:DescribeStacks"}, awscdk.Aws_STACK_ID()),
		},
	})
}
