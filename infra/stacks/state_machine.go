package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// RunStateMachineProps configure the whole-organization state machine.
type RunStateMachineProps struct {
	// Name is the state machine's name; the Lambda knows its ARN by it
	// (StateMachineARN), which keeps the two from depending on each other.
	Name     string
	Function awslambda.IFunction
	Bucket   awss3.IBucket
	// MaxConcurrency, FailureTolerancePercentage and FailureToleranceCount
	// are parameter values.
	MaxConcurrency             *float64
	FailureTolerancePercentage *float64
	FailureToleranceCount      *float64
	LogRetentionDays           *float64
}

// RunStateMachine runs every whole-organization run: discover (waiting its
// turn behind an older execution), a Distributed Map of the worker over the
// account batches, summarize.
type RunStateMachine struct {
	StateMachine sfn.StateMachine
	Role         awsiam.Role
	LogGroup     awslogs.LogGroup
	Map          sfn.DistributedMap
}

// The retry of every Lambda step: the Lambda service errors AWS recommends
// retrying ("Handle transient Lambda service exceptions") and Lambda's
// throttling, with exponential backoff and jitter; orgpatch's own errors
// are not retried (a worker's failure is the run's to report).
var lambdaErrors = []string{"Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException", "Lambda.AWSLambdaException",
	"Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

// turnWait is how long a run that waits behind another waits before it asks
// again.
const turnWait = 60

// StateMachineARN is the ARN of the state machine named name in the
// stack's account and region.
func StateMachineARN(name string) *string {
	return partitionARN("states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + name)
}

// NewRunStateMachine builds the state machine, its role and its log group.
//
//	Limits -> Discover -> Turn? --wait--> Wait 60 s -> Discover
//	                         \--superseded--> Superseded (succeeds: the stack's configuration changed)
//	                         \--go----> Accounts (Distributed Map: work per batch) -> Summarize -> Done? -> Succeed | Fail
//	Discover's, the map's or Summarize's own error -> Abort (answers CloudFormation FAILED) -> Fail
//
// The map tolerates every failed batch: Summarize names the accounts of
// each (not attempted, and why) and applies the stack's failure tolerance
// to the answer, so a run always ends with a summary; Abort is left for a
// failure of the run's own steps.
func NewRunStateMachine(scope constructs.Construct, id string, p RunStateMachineProps) *RunStateMachine {
	c := constructs.NewConstruct(scope, jsii.String(id))
	invoke := func(id string, payload map[string]any, resultPath string) awsstepfunctionstasks.LambdaInvoke {
		t := awsstepfunctionstasks.NewLambdaInvoke(c, jsii.String(id), &awsstepfunctionstasks.LambdaInvokeProps{
			LambdaFunction:           p.Function,
			Payload:                  sfn.TaskInput_FromObject(&payload),
			PayloadResponseOnly:      jsii.Bool(true),
			RetryOnServiceExceptions: jsii.Bool(false),
			ResultPath:               jsii.String(resultPath),
		})
		t.AddRetry(retry())
		return t
	}
	run := sfn.JsonPath_StringAt(jsii.String("$$.Execution.Name"))
	request := sfn.JsonPath_ObjectAt(jsii.String("$.request"))

	fail := sfn.NewFail(c, jsii.String("RunFailed"), &sfn.FailProps{
		Comment:   jsii.String("The run failed; the summary or the step's error says why."),
		Error:     jsii.String("RunFailed"),
		CausePath: sfn.JsonPath_StringAt(jsii.String("$.cause")),
	})
	abort := invoke("Abort", map[string]any{
		"step": "abort", "run": run, "request": request, "error": sfn.JsonPath_ObjectAt(jsii.String("$.error")),
	}, "$.abort")
	abortCause := sfn.NewPass(c, jsii.String("AbortCause"), &sfn.PassProps{
		Parameters: &map[string]any{"cause": sfn.JsonPath_Format(jsii.String("{}: {}"),
			sfn.JsonPath_StringAt(jsii.String("$.error.Error")), sfn.JsonPath_StringAt(jsii.String("$.error.Cause")))},
	})
	abort.Next(abortCause).Next(fail)
	catch := func(s interface {
		AddCatch(sfn.IChainable, *sfn.CatchProps) sfn.TaskStateBase
	}) {
		s.AddCatch(abort, &sfn.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String("$.error")})
	}

	discover := invoke("Discover", map[string]any{
		"step": "discover", "run": run, "started": sfn.JsonPath_StringAt(jsii.String("$$.Execution.StartTime")), "request": request,
	}, "$.discovery")
	catch(discover)

	// No payload: the worker gets the child execution's input as it is,
	// the batch {"Items": [...], "BatchInput": {...}}.
	worker := awsstepfunctionstasks.NewLambdaInvoke(c, jsii.String("Work"), &awsstepfunctionstasks.LambdaInvokeProps{
		LambdaFunction:           p.Function,
		PayloadResponseOnly:      jsii.Bool(true),
		RetryOnServiceExceptions: jsii.Bool(false),
	})
	worker.AddRetry(retry())
	batchInput := map[string]any{}
	for _, f := range []string{"run", "mode", "dryRun", "named", "config", "previous", "origin"} {
		batchInput[f+".$"] = "$.discovery.batchInput." + f
	}
	accounts := sfn.NewDistributedMap(c, jsii.String("Accounts"), &sfn.DistributedMapProps{
		Comment: jsii.String("One child execution per batch of accounts; each batch is one worker invocation."),
		ItemReader: sfn.NewS3JsonItemReader(&sfn.S3FileItemReaderProps{
			Bucket: p.Bucket,
			Key:    sfn.JsonPath_StringAt(jsii.String("$.discovery.itemsKey")),
		}),
		ItemBatcher: sfn.NewItemBatcher(&sfn.ItemBatcherProps{
			MaxItemsPerBatchPath: jsii.String("$.discovery.maxItemsPerBatch"),
			BatchInput:           &batchInput,
		}),
		MaxConcurrency: p.MaxConcurrency,
		// Every batch's outcome reaches Summarize, a crashed one too.
		ToleratedFailurePercentage: jsii.Number(100),
		ResultWriterV2: sfn.NewResultWriterV2(&sfn.ResultWriterV2Props{
			Bucket: p.Bucket,
			Prefix: jsii.String(RunsResultsPrefix),
		}),
		ResultPath: jsii.String("$.map"),
		Label:      jsii.String("Accounts"),
	})
	accounts.ItemProcessor(worker, nil)
	accounts.AddCatch(abort, &sfn.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: jsii.String("$.error")})

	summarize := invoke("Summarize", map[string]any{
		"step": "summarize", "run": run, "request": request,
		"discovery": sfn.JsonPath_ObjectAt(jsii.String("$.discovery")), "map": sfn.JsonPath_ObjectAt(jsii.String("$.map")),
		"limits": sfn.JsonPath_ObjectAt(jsii.String("$.limits")),
	}, "$.summary")
	catch(summarize)
	summaryCause := sfn.NewPass(c, jsii.String("SummaryCause"), &sfn.PassProps{
		Parameters: &map[string]any{"cause": sfn.JsonPath_StringAt(jsii.String("$.summary.summary"))},
	})
	done := sfn.NewChoice(c, jsii.String("Done"), nil).
		When(sfn.Condition_BooleanEquals(jsii.String("$.summary.failed"), jsii.Bool(true)), summaryCause.Next(fail), nil).
		Otherwise(sfn.NewSucceed(c, jsii.String("Converged"), nil))

	wait := sfn.NewWait(c, jsii.String("WaitTurn"), &sfn.WaitProps{
		Comment: jsii.String("An older run is under way: ask again in a minute."),
		Time:    sfn.WaitTime_Duration(awscdk.Duration_Seconds(jsii.Number(turnWait))),
	})
	superseded := sfn.NewSucceed(c, jsii.String("Superseded"), &sfn.SucceedProps{
		Comment: jsii.String("The stack's configuration changed before this run started: the update's own run converges it."),
	})
	turn := sfn.NewChoice(c, jsii.String("Turn"), nil).
		When(sfn.Condition_BooleanEquals(jsii.String("$.discovery.superseded"), jsii.Bool(true)), superseded, nil).
		When(sfn.Condition_BooleanEquals(jsii.String("$.discovery.wait"), jsii.Bool(true)), wait.Next(discover), nil).
		Otherwise(accounts.Next(summarize).Next(done))
	limits := sfn.NewPass(c, jsii.String("Limits"), &sfn.PassProps{
		Comment: jsii.String("The stack's failure tolerance, which Summarize applies to a Create's or Update's answer."),
		Parameters: &map[string]any{
			"failureTolerancePercentage": p.FailureTolerancePercentage,
			"failureToleranceCount":      p.FailureToleranceCount,
		},
		ResultPath: jsii.String("$.limits"),
	})
	definition := limits.Next(discover).Next(turn)

	logGroup := awslogs.NewLogGroup(c, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + p.Name),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	logGroup.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(p.LogRetentionDays)

	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		Description: jsii.String("orgpatch state machine: invokes orgpatch's Lambda and reads and writes the runs' objects"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"orgpatch": stateMachinePolicy(p),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The runs' objects have one key per run under the runs/ prefix; the map's child executions are named by Step Functions; CloudWatch Logs delivery and X-Ray take Resource \"*\" only."),
		AppliesTo: &[]any{
			runsObjects,
			"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:" + p.Name + ":*",
			"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:" + p.Name + "/*",
			&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Patch[A-Za-z0-9]*Function[A-Za-z0-9]*\.Arn>:\*$/`)},
			"Resource::*",
		},
	}}, jsii.Bool(true))

	sm := sfn.NewStateMachine(c, jsii.String("StateMachine"), &sfn.StateMachineProps{
		StateMachineName: jsii.String(p.Name),
		Comment:          jsii.String("orgpatch: one whole-organization run (CloudFormation Create, Update, Delete; the schedule)"),
		DefinitionBody:   sfn.DefinitionBody_FromChainable(definition),
		// The role's policy is stated in full above: CDK adds nothing.
		Role:           role.WithoutPolicyUpdates(nil),
		TracingEnabled: jsii.Bool(true),
		Logs: &sfn.LogOptions{
			Destination:          logGroup,
			Level:                sfn.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	// CDK makes the state machine depend on its role explicitly as well
	// as through Fn::GetAtt; cfn-lint warns about the duplicate (W3005).
	sm.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("cfn-lint"), map[string]any{
		"config": map[string]any{"ignore_checks": []string{"W3005"}},
	})
	// For a Distributed Map CDK attaches a policy of its own to the role,
	// immutable or not; stateMachinePolicy already states it, scoped to
	// this state machine's executions.
	sm.Node().TryRemoveChild(jsii.String("DistributedMapPolicy"))
	return &RunStateMachine{StateMachine: sm, Role: role, LogGroup: logGroup, Map: accounts}
}

// runsObjects is the cdk-nag finding of a grant on the runs' objects.
var runsObjects = &cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<RunsBucket[A-Za-z0-9]*\.Arn>\/runs\/\*$/`)}

func retry() *sfn.RetryProps {
	return &sfn.RetryProps{
		Errors:         jsii.Strings(lambdaErrors...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
		MaxAttempts:    jsii.Number(6),
		BackoffRate:    jsii.Number(2),
		JitterStrategy: sfn.JitterType_FULL,
	}
}

// stateMachinePolicy is everything the state machine does: invoke the
// Lambda, run its map's child executions (and redrive them), read the work
// items and write the results under the runs prefix, deliver its logs and
// traces.
func stateMachinePolicy(p RunStateMachineProps) awsiam.PolicyDocument {
	stmt := func(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String(sid),
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		})
	}
	fn := p.Function.FunctionArn()
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
		Statements: &[]awsiam.PolicyStatement{
			stmt("InvokeOrgpatch", []string{"lambda:InvokeFunction"}, fn, jsii.String(*fn+":*")),
			stmt("RunMapChildren", []string{"states:StartExecution"}, StateMachineARN(p.Name)),
			stmt("ManageMapChildren", []string{"states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"},
				partitionARN("states:${AWS::Region}:${AWS::AccountId}:execution:"+p.Name+":*"),
				partitionARN("states:${AWS::Region}:${AWS::AccountId}:execution:"+p.Name+"/*")),
			stmt("RunObjects", []string{"s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"},
				p.Bucket.ArnForObjects(jsii.String(RunsPrefix+"*"))),
			stmt("DeliverLogs", []string{
				"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
				"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
			}, jsii.String("*")),
			stmt("Traces", []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"},
				jsii.String("*")),
		},
	})
}
