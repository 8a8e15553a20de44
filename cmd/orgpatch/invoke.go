package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/demo"
	"github.com/orgpatch/orgpatch/internal/handler"
	runs "github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/stepfn"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

const invokeSummary = "run the Lambda handler locally on one event file (- reads it from stdin)"

// invokeCmd runs the Lambda handler on one event. A CloudFormation request's
// ResponseURL is pointed at a loopback server, and what CloudFormation would
// have received is printed.
func invokeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("invoke", " EVENT.json", invokeSummary, stdout)
	endpoint := fs.String("endpoint", "", "`URL` of an AWS-compatible endpoint for every service (a simulator); AWS itself when empty")
	region := fs.String("region", "", "home `region` of the management account; AWS_REGION when empty")
	parameter := fs.String("config-parameter", handler.DefaultConfigParameter, "SSM `parameter` holding the configuration")
	output := fs.String("output", "text", "`format` of the result: text or json")
	concurrency := fs.Int("concurrency", runs.DefaultConcurrency, "targets worked on at once, and API calls in flight, as the Lambda's ORGPATCH_CONCURRENCY (1..1000)")
	reportBucket := fs.String("report-bucket", os.Getenv("ORGPATCH_REPORT_BUCKET"), "`bucket` the compliance report writes to, as the Lambda's ORGPATCH_REPORT_BUCKET; with --endpoint and none, "+simReportBucket+", created there")
	runsBucket := fs.String("runs-bucket", os.Getenv("ORGPATCH_RUNS_BUCKET"), "`bucket` of the state machine's runs, for its steps' events, as the Lambda's ORGPATCH_RUNS_BUCKET; with --endpoint and none, "+simRunsBucket+", created there")
	peak := fs.Bool("max-memory", false, "print the process's peak resident memory on stderr at the end, as Lambda's REPORT line gives Max Memory Used (Linux)")
	verbose := fs.Bool("v", false, "print the handler's JSON log lines and metrics on stderr")
	// Flags may come before or after the event file.
	var operands []string
	for rest := args; ; {
		if code, ok := parse(fs, rest, stderr); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		operands, rest = append(operands, fs.Arg(0)), fs.Args()[1:]
	}
	if len(operands) != 1 {
		fmt.Fprintf(stderr, "orgpatch invoke: want exactly one event file, got %d (usage: orgpatch invoke EVENT.json [--endpoint URL])\n", len(operands))
		return 2
	}
	if *concurrency < 1 || *concurrency > 1000 {
		fmt.Fprintf(stderr, "orgpatch invoke: --concurrency %d: want 1..1000\n", *concurrency)
		return 2
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "orgpatch invoke: --output %q: want text or json\n", *output)
		return 2
	}
	var raw []byte
	var err error
	if operands[0] == "-" {
		raw, err = io.ReadAll(stdin)
	} else {
		raw, err = os.ReadFile(operands[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch invoke: %v\n", err)
		return 2
	}
	req, err := trigger.Decode(raw)
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch invoke: %s: %v\n", operands[0], err)
		return 2
	}
	mgmt, err := awsconf.Load(ctx, awsconf.Options{Region: *region, Endpoint: *endpoint, Concurrency: *concurrency})
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch invoke: %v (or pass --region)\n", err)
		return 2
	}

	var capture *demo.Capture
	if req.CloudFormation != nil {
		capture = demo.NewCapture()
		defer capture.Close()
		if raw, err = withResponseURL(raw, capture.URL(req.CloudFormation.RequestID)); err != nil {
			fmt.Fprintf(stderr, "orgpatch invoke: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "orgpatch invoke: ResponseURL replaced by a loopback server; CloudFormation's answer is printed below\n")
	}
	logs, metrics := slog.New(slog.DiscardHandler), io.Discard
	if *verbose {
		logs, metrics = handler.NewLogger(stderr, slog.LevelInfo), stderr
	}
	deps := handler.Deps{Management: mgmt, ConfigParameter: *parameter, Concurrency: *concurrency, Logger: logs, Metrics: metrics, LoopbackAnswers: true}
	if *endpoint != "" {
		// The simulator's S3 holds the report and the runs' objects, for
		// the events that write or read them (a worker's batch does not).
		if req.Action == trigger.Report {
			*reportBucket, err = simBucket(ctx, mgmt, *reportBucket, simReportBucket)
		}
		if err == nil && req.Step != nil && req.Step.Name != trigger.StepWork {
			*runsBucket, err = simBucket(ctx, mgmt, *runsBucket, simRunsBucket)
		}
		if err != nil {
			fmt.Fprintf(stderr, "orgpatch invoke: %v\n", err)
			return 1
		}
	}
	deps.Report.Bucket = *reportBucket
	if *runsBucket != "" {
		deps.Runs = stepfn.NewS3Store(compliance.NewS3Client(mgmt), *runsBucket)
	}
	h := handler.New(deps)
	out, invokeErr := h.Invoke(ctx, raw)
	if *peak {
		defer reportPeak(stderr)
	}
	res, isResult := out.(handler.Result)
	var answer *cfn.Response
	if capture != nil {
		got, refused := capture.Responses()
		for _, r := range refused {
			fmt.Fprintf(stderr, "orgpatch invoke: CloudFormation would refuse an answer: %s\n", r)
		}
		if len(got) > 0 {
			answer = &got[len(got)-1]
		}
	}
	if req.Step != nil && !isResult {
		// A state machine step returns its step's payload: printed as
		// the state machine would receive it, then what CloudFormation
		// received from a step that answers it.
		code := printStep(stdout, stderr, out, invokeErr)
		if answer != nil {
			fmt.Fprintf(stdout, "CloudFormation received: %s, PhysicalResourceId %q, RequestId %s\n  Reason: %s\n", answer.Status, answer.PhysicalResourceID, answer.RequestID, answer.Reason)
		}
		return code
	}
	if err := printInvoke(stdout, *output, res, answer, invokeErr); err != nil {
		fmt.Fprintf(stderr, "orgpatch invoke: %v\n", err)
		return 1
	}
	switch {
	case invokeErr != nil:
		return 1
	case capture != nil && (answer == nil || answer.Status != cfn.StatusSuccess):
		return 1
	}
	return 0
}

// reportPeak prints the process's peak resident set size (VmHWM): the
// figure is the process's own since it started its executable, whatever
// the parent's size (unlike the rusage a parent reads at wait).
func reportPeak(w io.Writer) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintf(w, "orgpatch invoke: max memory used: unknown (%v)\n", err)
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Fprintf(w, "orgpatch invoke: max memory used: %s\n", strings.TrimSpace(v))
			return
		}
	}
	fmt.Fprintln(w, "orgpatch invoke: max memory used: unknown (no VmHWM)")
}

// printStep writes a step's output as JSON, and its error on stderr.
func printStep(stdout, stderr io.Writer, out any, invokeErr error) int {
	if invokeErr != nil {
		fmt.Fprintf(stderr, "orgpatch invoke: the step failed (the state machine would retry or catch it): %v\n", invokeErr)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		fmt.Fprintf(stderr, "orgpatch invoke: write result: %v\n", err)
		return 1
	}
	return 0
}

// withResponseURL returns the request with its ResponseURL replaced, every
// other member as it was: the CloudFormation request's own, or, for a step
// of a run CloudFormation started, the one of the request the step carries
// (request.cloudFormation).
func withResponseURL(raw []byte, url string) ([]byte, error) {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("CloudFormation request: %w", err)
	}
	if _, ok := ev["ResponseURL"]; !ok {
		if _, ok := ev["request"]; ok {
			var req map[string]json.RawMessage
			if err := json.Unmarshal(ev["request"], &req); err != nil {
				return nil, fmt.Errorf("step's request: %w", err)
			}
			inner, err := withResponseURL(req["cloudFormation"], url)
			if err != nil {
				return nil, err
			}
			req["cloudFormation"] = inner
			if ev["request"], err = json.Marshal(req); err != nil {
				return nil, fmt.Errorf("encode the step's request: %w", err)
			}
			return json.Marshal(ev)
		}
	}
	u, err := json.Marshal(url)
	if err != nil {
		return nil, fmt.Errorf("encode ResponseURL: %w", err)
	}
	ev["ResponseURL"] = u
	out, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode CloudFormation request: %w", err)
	}
	return out, nil
}

// The buckets invoke uses in a simulator when none is named.
const (
	simReportBucket = "orgpatch-report"
	simRunsBucket   = "orgpatch-runs"
)

// simBucket is name, or else fallback created in the endpoint's S3 (an
// existing one of ours is fine).
func simBucket(ctx context.Context, cfg aws.Config, name, fallback string) (string, error) {
	if name != "" {
		return name, nil
	}
	_, err := compliance.NewS3Client(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fallback)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return "", fmt.Errorf("create bucket %s in the endpoint's S3: %w", fallback, err)
	}
	return fallback, nil
}

func printInvoke(w io.Writer, format string, res handler.Result, answer *cfn.Response, invokeErr error) error {
	if format == "json" {
		out := struct {
			Result                 handler.Result `json:"result"`
			Error                  string         `json:"error,omitempty"`
			CloudFormationResponse *cfn.Response  `json:"cloudFormationResponse,omitempty"`
			Report                 any            `json:"report,omitempty"`
		}{Result: res, CloudFormationResponse: answer}
		if invokeErr != nil {
			out.Error = invokeErr.Error()
		}
		if res.Report != nil {
			out.Report = res.Report
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return nil
	}
	fmt.Fprintf(w, "trigger %s, action %s: %s\n", res.Trigger, res.Action, res.Reason)
	if res.Report != nil {
		fmt.Fprintln(w)
		if err := res.Report.WriteBriefTable(w); err != nil {
			return err
		}
	} else if res.Summary != "" {
		fmt.Fprintln(w, res.Summary)
	}
	if answer != nil {
		fmt.Fprintf(w, "\nCloudFormation received: %s, PhysicalResourceId %q, RequestId %s\n  Reason: %s\n", answer.Status, answer.PhysicalResourceID, answer.RequestID, answer.Reason)
		if len(answer.Data) > 0 {
			data, err := json.Marshal(answer.Data)
			if err != nil {
				return fmt.Errorf("encode response data: %w", err)
			}
			fmt.Fprintf(w, "  Data: %s\n", data)
		}
	}
	if invokeErr != nil {
		var malformed *trigger.FieldError
		if errors.As(invokeErr, &malformed) {
			fmt.Fprintf(w, "\nthe handler refused the event: %v\n", invokeErr)
		} else {
			fmt.Fprintf(w, "\nthe handler returned an error (Lambda would retry the event): %v\n", invokeErr)
		}
	}
	return nil
}
