package main

import (
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/handler"
)

func TestReadSettings(t *testing.T) {
	stack := handler.Stack{ID: "arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10", Properties: map[string]string{"Disabled": "false"}}
	tests := map[string]struct {
		env     map[string]string
		want    settings
		wantErr string // a substring of the error; "" for none
	}{
		"only the stack": {want: settings{level: slog.LevelInfo, stack: stack}},
		"everything set": {
			env: map[string]string{"LOG_LEVEL": "debug", "ORGPATCH_CONCURRENCY": "16",
				"ORGPATCH_CONFIG_PARAMETER": "/orgpatch/configuration"},
			want: settings{level: slog.LevelDebug, concurrency: 16, parameter: "/orgpatch/configuration", stack: stack},
		},
		"state machine and bucket": {
			env: map[string]string{"ORGPATCH_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:111111111111:stateMachine:orgpatch-run", "ORGPATCH_RUNS_BUCKET": "orgpatch-runs",
				"ORGPATCH_BUCKET_OWNER": "111111111111"},
			want: settings{level: slog.LevelInfo, stack: stack, machine: "arn:aws:states:us-east-1:111111111111:stateMachine:orgpatch-run", bucket: "orgpatch-runs", owner: "111111111111",
				report: handler.ReportSettings{BucketOwner: "111111111111"}},
		},
		"promotion's topic and bus": {
			env:  map[string]string{"ORGPATCH_ALARM_TOPIC_ARN": "arn:aws:sns:us-east-1:111111111111:orgpatch-alarms", "ORGPATCH_EVENT_BUS_ARN": "arn:aws:events:us-east-1:111111111111:event-bus/default"},
			want: settings{level: slog.LevelInfo, stack: stack, topic: "arn:aws:sns:us-east-1:111111111111:orgpatch-alarms", bus: "arn:aws:events:us-east-1:111111111111:event-bus/default"},
		},
		"topic not an SNS ARN":             {env: map[string]string{"ORGPATCH_ALARM_TOPIC_ARN": "orgpatch-alarms"}, wantErr: "ORGPATCH_ALARM_TOPIC_ARN \"orgpatch-alarms\": want an SNS topic's ARN"},
		"bus not an event bus ARN":         {env: map[string]string{"ORGPATCH_EVENT_BUS_ARN": "arn:aws:sns:us-east-1:111111111111:x"}, wantErr: "ORGPATCH_EVENT_BUS_ARN"},
		"bucket without its owner":         {env: map[string]string{"ORGPATCH_RUNS_BUCKET": "orgpatch-runs"}, wantErr: "ORGPATCH_BUCKET_OWNER"},
		"report bucket, owner not an id":   {env: map[string]string{"ORGPATCH_REPORT_BUCKET": "r", "ORGPATCH_BUCKET_OWNER": "me"}, wantErr: "12-digit"},
		"state machine without its bucket": {env: map[string]string{"ORGPATCH_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:111111111111:stateMachine:orgpatch-run"}, wantErr: "ORGPATCH_RUNS_BUCKET"},
		// The simulator endpoint is a CLI setting: the function talks to AWS.
		"ORGPATCH_ENDPOINT ignored":       {env: map[string]string{"ORGPATCH_ENDPOINT": "http://198.51.100.7:4566"}, want: settings{level: slog.LevelInfo, stack: stack}},
		"the reference's ERROR level":     {env: map[string]string{"LOG_LEVEL": "ERROR"}, want: settings{level: slog.LevelError, stack: stack}},
		"unknown log level":               {env: map[string]string{"LOG_LEVEL": "verbose"}, wantErr: "LOG_LEVEL"},
		"concurrency zero":                {env: map[string]string{"ORGPATCH_CONCURRENCY": "0"}, wantErr: "ORGPATCH_CONCURRENCY"},
		"concurrency not a number":        {env: map[string]string{"ORGPATCH_CONCURRENCY": "lots"}, wantErr: "from 1 to 1000"},
		"concurrency over what is useful": {env: map[string]string{"ORGPATCH_CONCURRENCY": "5000"}, wantErr: "ORGPATCH_CONCURRENCY"},
		"no stack id":                     {env: map[string]string{"ORGPATCH_STACK_ID": ""}, wantErr: "ORGPATCH_STACK_ID"},
		"no stack properties":             {env: map[string]string{"ORGPATCH_STACK_PROPERTIES": ""}, wantErr: "ORGPATCH_STACK_PROPERTIES"},
		"stack properties not strings":    {env: map[string]string{"ORGPATCH_STACK_PROPERTIES": `{"Disabled": false}`}, wantErr: "ORGPATCH_STACK_PROPERTIES"},
		"report SLA and owner tags": {
			env: map[string]string{"ORGPATCH_REPORT_SLA_DAYS": "critical=3,high=14", "ORGPATCH_REPORT_OWNER_TAGS": "Owner, Squad"},
			want: settings{level: slog.LevelInfo, stack: stack, report: handler.ReportSettings{Settings: compliance.Settings{
				SLADays: map[string]int{"CRITICAL": 3, "HIGH": 14}, OwnerTagKeys: []string{"Owner", "Squad"}}}},
		},
		"no SLA, no owner tags": {
			env: map[string]string{"ORGPATCH_REPORT_SLA_DAYS": "none", "ORGPATCH_REPORT_OWNER_TAGS": "none"},
			want: settings{level: slog.LevelInfo, stack: stack, report: handler.ReportSettings{Settings: compliance.Settings{
				SLADays: map[string]int{}, OwnerTagKeys: []string{}}}},
		},
		"SLA of an unknown severity": {env: map[string]string{"ORGPATCH_REPORT_SLA_DAYS": "urgent=1"}, wantErr: "ORGPATCH_REPORT_SLA_DAYS \"urgent=1\": want severity=days"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"ORGPATCH_STACK_ID": stack.ID, "ORGPATCH_STACK_PROPERTIES": `{"Disabled":"false"}`}
			maps.Copy(env, tc.env)
			got, err := readSettings(func(k string) string { return env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readSettings() error = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(settings{})); diff != "" {
				t.Errorf("readSettings() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
