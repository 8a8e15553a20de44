package sfnengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go/logging"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/demo"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// The placeholders the definition is synthesized with; each scenario
// deploys it with its own function and bucket.
const (
	bucketPlaceholder   = "orgpatch-engine-bucket"
	functionPlaceholder = "orgpatch-engine-function"
	region              = "us-east-1"
	// motoAccount is the account moto acts as for any credentials.
	motoAccount = "123456789012"
	// timeScale is the clock supplement's factor: the state machine's
	// 60 s turn wait takes 1.2 s, its retries' 2 s first interval 40 ms.
	timeScale = 0.02
)

// engine is the independent interpreter, serving every scenario: moto_server
// with LocalStack's ASL interpreter and the supplements of testdata/engine.py,
// the Lambda service answering with the real handler, and the definition the
// CDK app synthesizes.
type engine struct {
	moto       string
	lambda     *lambdaService
	definition string
	motoConfig aws.Config
}

// startEngine starts the engine, or skips the test when moto_server is not
// installed (it is in CI).
func startEngine(t *testing.T) *engine {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(python, "-c", "import moto.server, moto.stepfunctions.parser").Run()
	}
	if _, lerr := exec.LookPath("moto_server"); err != nil || lerr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server (moto[server] 5.2) is required in CI: %v %v", err, lerr)
		}
		t.Skipf("moto_server is not installed (pip install 'moto[server]==5.2.1'): the state machine needs an independent engine: %v %v", err, lerr)
	}
	e := &engine{lambda: newLambdaService(t)}
	script, err := filepath.Abs(filepath.Join("testdata", "engine.py"))
	if err != nil {
		t.Fatal(err)
	}
	e.moto = simtest.StartMoto(t, []string{
		"ORGPATCH_LAMBDA_ENDPOINT=" + e.lambda.srv.URL,
		fmt.Sprintf("ORGPATCH_TIME_SCALE=%g", timeScale),
	}, python, script)
	d := synthesize(t, bucketPlaceholder, "arn:aws:lambda:"+region+":"+motoAccount+":function:"+functionPlaceholder)
	e.definition = d.Definition
	if e.motoConfig, err = awsconf.Load(context.Background(), awsconf.Options{
		Region: region, Endpoint: e.moto, AccessKeyID: "testing", SecretAccessKey: "testing",
	}); err != nil {
		t.Fatal(err)
	}
	// moto's answers carry no checksums; the SDK would log so on every call.
	e.motoConfig.Logger = logging.Nop{}
	return e
}

// deployment is one scenario's stack: its organization in the simulator,
// its function, bucket and state machine in the engine, and the capture of
// CloudFormation's answers.
type deployment struct {
	e       *engine
	name    string
	sv      *simtest.Env
	fn      *function
	sfn     *sfn.Client
	bucket  string
	machine string
	capture *demo.Capture
	props   map[string]any
	stack   *handler.Stack
	logs    *simtest.LockedBuffer
}

// stackID is the stack in the simulated organization's management account
// (where CloudFormation answers for it, and where the events are
// recorded): the id of the events/cfn-*.json requests, in that account.
func (d *deployment) stackID() string {
	return "arn:aws:cloudformation:us-east-1:" + d.sv.Server.ManagementAccount() + ":stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10"
}

// deploy creates a scenario's stack around org, with cfg as the
// configuration its custom resource carries.
func (e *engine) deploy(t *testing.T, name string, org *sim.Org, cfg config.Config, opts ...sim.Option) *deployment {
	t.Helper()
	ctx := context.Background()
	d := &deployment{e: e, name: name, sv: simtest.Start(t, org, opts...), bucket: "orgpatch-runs-" + name,
		sfn: sfn.NewFromConfig(e.motoConfig), capture: demo.NewCapture(), logs: &simtest.LockedBuffer{}}
	t.Cleanup(d.capture.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the function's last log lines:\n%s", d.logs.Tail(8000))
		}
	})
	s3c := compliance.NewS3Client(e.motoConfig)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(d.bucket)}); err != nil {
		t.Fatalf("create the runs bucket: %v", err)
	}
	def := strings.ReplaceAll(strings.ReplaceAll(e.definition, bucketPlaceholder, d.bucket), functionPlaceholder, "orgpatch-"+name)
	out, err := d.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("orgpatch-run-" + name), Definition: aws.String(def),
		RoleArn: aws.String("arn:aws:iam::" + motoAccount + ":role/orgpatch-run"),
	})
	if err != nil {
		t.Fatalf("the engine refuses the synthesized definition: %v", err)
	}
	d.machine = aws.ToString(out.StateMachineArn)
	d.setStack(t, cfg)
	d.fn = e.lambda.deploy("orgpatch-"+name, d.handler(s3c))
	return d
}

// setStack sets the custom resource's properties to carry cfg, and the
// stack's properties the function knows to match (what a stack Update
// does to both).
func (d *deployment) setStack(t *testing.T, cfg config.Config) {
	t.Helper()
	conf, err := cfg.JSON()
	if err != nil {
		t.Fatal(err)
	}
	d.props = map[string]any{config.PropConfiguration: string(conf), config.PropDisabled: "false"}
	d.stack = &handler.Stack{ID: d.stackID(), Properties: map[string]string{
		config.PropConfigurationSHA256: config.ConfigurationDigest(string(conf)),
		config.PropDisabled:            "false",
	}}
}

// handler is the function's handler for the stack as it is now.
func (d *deployment) handler(s3c *s3.Client) *handler.Handler {
	return handler.New(handler.Deps{
		Management: d.sv.Config,
		Stack:      d.stack,
		RoleWait:   time.Millisecond,
		Logger:     handler.NewLogger(d.logs, slog.LevelInfo),
		Metrics:    io.Discard,
		// The capture is on loopback.
		LoopbackAnswers: true,
		Runs:            stepfn.NewS3Store(s3c, d.bucket, d.sv.Server.ManagementAccount()),
		StateMachine:    d.machine,
		Executions:      d.sfn,
	})
}

// update is a stack Update landing: CloudFormation updates the function's
// environment with the new properties (its next invocations see them), then
// sends the custom resource's Update request.
func (d *deployment) update(t *testing.T, cfg config.Config) json.RawMessage {
	t.Helper()
	old := d.props
	d.setStack(t, cfg)
	d.fn.h.Store(d.handler(compliance.NewS3Client(d.e.motoConfig)))
	return d.cfnEvent(t, "cfn-update.json", "update-"+d.name, func(ev map[string]any) {
		ev["OldResourceProperties"] = withToken(old)
	})
}

// cfnEvent is the events file's CloudFormation request for the stack as it
// is now: its properties, its own RequestId, its ResponseURL the capture.
func (d *deployment) cfnEvent(t *testing.T, file, requestID string, edit func(map[string]any)) json.RawMessage {
	t.Helper()
	ev := readEvent(t, file)
	ev["RequestId"] = requestID
	ev["ResponseURL"] = d.capture.URL(requestID)
	ev["ResourceProperties"] = withToken(d.props)
	ev["StackId"] = d.stackID()
	if edit != nil {
		edit(ev)
	}
	// CloudFormation shows the stack in the operation it sends the request
	// for, until the run answers; the function asks before it removes.
	d.sv.Server.PutStack(sim.Stack{ID: d.stackID(), Name: "orgpatch", Status: map[string]string{
		"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS", "Delete": "DELETE_IN_PROGRESS",
	}[ev["RequestType"].(string)]})
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// schedule is the schedule rule's event, with its own id (the execution's
// name).
func (d *deployment) schedule(t *testing.T, id string) json.RawMessage {
	t.Helper()
	ev := readEvent(t, "schedule.json")
	ev["id"], ev["account"] = id, d.sv.Server.ManagementAccount()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withToken(props map[string]any) map[string]any {
	p := map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:orgpatch", "ServiceTimeout": "900"}
	for k, v := range props {
		p[k] = v
	}
	return p
}

func readEvent(t *testing.T, file string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", file))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ev
}

// deliver hands an event to the function as its trigger does (an
// asynchronous invocation, outside the state machine) and returns the
// handler's error.
func (d *deployment) deliver(t *testing.T, raw json.RawMessage) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "trigger-" + d.name})
	_, err := d.fn.h.Load().Invoke(ctx, raw)
	return err
}

// storeConfiguration writes the stack's properties to the configuration
// parameter, as the stack's Create did, for the triggers that read it.
func (d *deployment) storeConfiguration(t *testing.T) {
	t.Helper()
	body, err := json.Marshal(d.props)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssm.NewFromConfig(d.sv.Config).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(handler.DefaultConfigParameter), Type: ssmtypes.ParameterTypeString,
		Value: aws.String(string(body)), Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("store the configuration: %v", err)
	}
}

// execution is one execution's end, as DescribeExecution reports it.
type execution struct {
	Name, Status, Error, Cause string
	Output                     map[string]any
}

// executions lists the state machine's executions, oldest first.
func (d *deployment) executions(t *testing.T) []sfntypes.ExecutionListItem {
	t.Helper()
	var out []sfntypes.ExecutionListItem
	p := sfn.NewListExecutionsPaginator(d.sfn, &sfn.ListExecutionsInput{StateMachineArn: aws.String(d.machine)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list executions: %v", err)
		}
		out = append(out, page.Executions...)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// waitAll waits until no execution of the state machine runs and returns
// how each ended, oldest first.
func (d *deployment) waitAll(t *testing.T, within time.Duration) []execution {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		list := d.executions(t)
		running := 0
		for _, e := range list {
			if e.Status == sfntypes.ExecutionStatusRunning {
				running++
			}
		}
		if running == 0 && len(list) > 0 {
			var out []execution
			for _, e := range list {
				out = append(out, d.describe(t, aws.ToString(e.ExecutionArn)))
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d executions still running after %s\nfunction's invocations: %s", running, len(list), within, d.steps())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitFor waits until the function has received n invocations of step.
func (d *deployment) waitFor(t *testing.T, step string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(d.fn.invocations(step)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s invocations after %s, want %d; invocations: %s", len(d.fn.invocations(step)), step, within, n, d.steps())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *deployment) describe(t *testing.T, arn string) execution {
	t.Helper()
	out, err := d.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("describe %s: %v", arn, err)
	}
	e := execution{Name: aws.ToString(out.Name), Status: string(out.Status), Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause)}
	if out.Output != nil {
		if err := json.Unmarshal([]byte(*out.Output), &e.Output); err != nil {
			t.Fatalf("execution %s's output: %v", e.Name, err)
		}
	}
	return e
}

// steps lists the invocations so far, one line each, for failure messages.
func (d *deployment) steps() string {
	var b strings.Builder
	for _, inv := range d.fn.invocations("") {
		fmt.Fprintf(&b, "\n  %s %d %s %.300s", inv.Step, inv.Status, inv.FunctionError, inv.Response)
	}
	return b.String()
}

// answers are CloudFormation's answers received, in order.
func (d *deployment) answers(t *testing.T) []cfn.Response {
	t.Helper()
	got, refused := d.capture.Responses()
	for _, r := range refused {
		t.Errorf("CloudFormation would refuse an answer: %s", r)
	}
	return got
}

// batches are the work invocations' payloads, decoded.
func (d *deployment) batches(t *testing.T) []stepfn.Batch {
	t.Helper()
	var out []stepfn.Batch
	for _, inv := range d.fn.invocations("work") {
		var b stepfn.Batch
		if err := json.Unmarshal(inv.Payload, &b); err != nil {
			t.Fatalf("a worker received %.200s: %v", inv.Payload, err)
		}
		out = append(out, b)
	}
	return out
}
