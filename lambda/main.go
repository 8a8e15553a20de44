// Command bootstrap is the orgpatch Lambda: it builds the management
// account's clients from the environment and hands every invocation to
// internal/handler. Built for provided.al2023 on arm64:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./lambda
//
// Environment:
//
//	ORGPATCH_STACK_ID          the stack's id (AWS::StackId); required
//	ORGPATCH_STACK_PROPERTIES  the custom resource's properties as the stack set them, a JSON
//	                           object of strings, ConfigurationSha256 standing for Configuration;
//	                           required (see handler.Stack)
//	ORGPATCH_CONFIG_PARAMETER  SSM parameter holding the configuration (default /orgpatch/configuration)
//	ORGPATCH_CONCURRENCY       targets worked on at once, and API calls in flight (default 64)
//	ORGPATCH_REPORT_BUCKET     bucket the compliance report run writes to (the stack's)
//	ORGPATCH_REPORT_STALE_DAYS a node not scanned within this many days counts as not scanned (default 7)
//	ORGPATCH_REPORT_SLA_DAYS   days a non-compliant patch may stay, by severity: critical=7,high=30, or none (default compliance's)
//	ORGPATCH_REPORT_OWNER_TAGS EC2 tag keys copied into each node's record, comma-separated, or none (default compliance's)
//	ORGPATCH_STATE_MACHINE_ARN the whole-organization state machine: CloudFormation and the schedule start
//	                           an execution of it (default: none, they run in the invocation)
//	ORGPATCH_RUNS_BUCKET       the bucket of the runs' work items and results (required with the state machine);
//	                           it also keeps the promotion state (promotion/state.json)
//	ORGPATCH_ALARM_TOPIC_ARN   the SNS topic promotion events go to (default: none, the event bus alone)
//	ORGPATCH_EVENT_BUS_ARN     the event bus promotion events go to: the home region's default bus's ARN
//	                           (default: the default bus)
//	LOG_LEVEL                  DEBUG, INFO, WARN or ERROR (default INFO)
//
// ORGPATCH_ENDPOINT, which points the CLI at a simulator, is not read: the
// deployed function always talks to AWS, whatever its environment says.
package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/names"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

func main() {
	if err := start(); err != nil {
		slog.Error("orgpatch cannot start", "error", err)
		os.Exit(1)
	}
}

// accountID is an AWS account id; snsTopicARN and eventBusARN are the
// ARNs the promotion events go to.
var (
	accountID   = regexp.MustCompile(`^[0-9]{12}$`)
	snsTopicARN = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	eventBusARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256}$`)
)

// settings are what the environment configures.
type settings struct {
	level       slog.Level
	concurrency int // 0: the run's default
	parameter   string
	stack       handler.Stack
	report      handler.ReportSettings
	machine     string
	bucket      string
	owner       string // the buckets' expected owner
	topic       string // the alarm topic's ARN
	bus         string // the event bus's ARN
}

// readSettings reads the environment through getenv; a bad value is an
// error naming the variable and what it takes.
func readSettings(getenv func(string) string) (settings, error) {
	s := settings{parameter: getenv(names.EnvConfigParameter), stack: handler.Stack{ID: getenv(names.EnvStackID)},
		machine: getenv(names.EnvStateMachineARN), bucket: getenv(names.EnvRunsBucket), owner: getenv(names.EnvBucketOwner)}
	s.topic, s.bus = getenv(names.EnvAlarmTopicARN), getenv(names.EnvEventBusARN)
	if s.topic != "" && !snsTopicARN.MatchString(s.topic) {
		return settings{}, fmt.Errorf("ORGPATCH_ALARM_TOPIC_ARN %q: want an SNS topic's ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)", s.topic)
	}
	if s.bus != "" && !eventBusARN.MatchString(s.bus) {
		return settings{}, fmt.Errorf("ORGPATCH_EVENT_BUS_ARN %q: want an event bus's ARN (arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME)", s.bus)
	}
	if (s.bucket != "" || getenv(names.EnvReportBucket) != "") && !accountID.MatchString(s.owner) {
		return settings{}, fmt.Errorf("ORGPATCH_BUCKET_OWNER %q: want the 12-digit id of the account that owns the buckets (AWS::AccountId)", s.owner)
	}
	if s.machine != "" && s.bucket == "" {
		return settings{}, fmt.Errorf("ORGPATCH_RUNS_BUCKET is empty: the state machine's steps need the runs' bucket")
	}
	if !strings.HasPrefix(s.stack.ID, "arn:") {
		return settings{}, fmt.Errorf("ORGPATCH_STACK_ID %q: want the stack's ARN (AWS::StackId); without it no request or configuration can be trusted", s.stack.ID)
	}
	props, err := handler.ParseStackProperties(getenv(names.EnvStackProperties))
	if err != nil {
		return settings{}, fmt.Errorf("ORGPATCH_STACK_PROPERTIES: %w", err)
	}
	s.stack.Properties = props
	s.report.Bucket, s.report.BucketOwner = getenv(names.EnvReportBucket), s.owner
	if v := getenv(names.EnvReportStaleDays); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return settings{}, fmt.Errorf("ORGPATCH_REPORT_STALE_DAYS %q: want a whole number from 1 to 365", v)
		}
		s.report.Settings.StaleAfterDays = n
	}
	if v := getenv(names.EnvReportSLADays); v != "" {
		sla, err := compliance.ParseSLADays(v)
		if err != nil {
			return settings{}, fmt.Errorf("ORGPATCH_REPORT_SLA_DAYS %w", err)
		}
		s.report.Settings.SLADays = sla
	}
	if v := getenv(names.EnvReportOwnerTags); v != "" {
		keys := []string{}
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k != "" && k != "none" {
				keys = append(keys, k)
			}
		}
		s.report.Settings.OwnerTagKeys = keys
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := s.level.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			return settings{}, fmt.Errorf("LOG_LEVEL %q: want DEBUG, INFO, WARN or ERROR", v)
		}
	}
	if v := getenv(names.EnvConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return settings{}, fmt.Errorf("ORGPATCH_CONCURRENCY %q: want a whole number from 1 to 1000", v)
		}
		s.concurrency = n
	}
	return s, nil
}

func start() error {
	s, err := readSettings(os.Getenv)
	if err != nil {
		return err
	}
	log := handler.NewLogger(os.Stdout, s.level)
	slog.SetDefault(log)
	// One figure bounds both the targets worked on at once and the API
	// calls in flight through every client.
	concurrency := cmp.Or(s.concurrency, run.DefaultConcurrency)
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{Concurrency: concurrency})
	if err != nil {
		return err
	}
	deps := handler.Deps{
		Management:      cfg,
		ConfigParameter: s.parameter,
		Stack:           &s.stack,
		Concurrency:     concurrency,
		Logger:          log,
		Report:          s.report,
		AlarmTopic:      s.topic,
		EventBus:        s.bus,
	}
	if s.bucket != "" {
		client := s3.NewFromConfig(cfg)
		deps.Runs = stepfn.NewS3Store(client, s.bucket, s.owner)
		deps.Promotion = promotion.S3Store{API: client, Bucket: s.bucket, Owner: s.owner}
	}
	if s.machine != "" {
		deps.StateMachine, deps.Executions = s.machine, sfn.NewFromConfig(cfg)
	}
	h := handler.New(deps)
	lambda.Start(h.Invoke)
	return nil
}
