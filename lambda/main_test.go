package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadSettings(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		want    settings
		wantErr string // a substring of the error; "" for none
	}{
		"nothing set": {want: settings{level: slog.LevelInfo}},
		"everything set": {
			env: map[string]string{"LOG_LEVEL": "debug", "ORGPATCH_CONCURRENCY": "16",
				"ORGPATCH_CONFIG_PARAMETER": "/orgpatch/configuration", "ORGPATCH_ENDPOINT": "http://127.0.0.1:4566"},
			want: settings{level: slog.LevelDebug, concurrency: 16, parameter: "/orgpatch/configuration", endpoint: "http://127.0.0.1:4566"},
		},
		"state machine and bucket": {
			env:  map[string]string{"ORGPATCH_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:111111111111:stateMachine:orgpatch-run", "ORGPATCH_RUNS_BUCKET": "orgpatch-runs"},
			want: settings{level: slog.LevelInfo, machine: "arn:aws:states:us-east-1:111111111111:stateMachine:orgpatch-run", bucket: "orgpatch-runs"},
		},
		"state machine without its bucket": {env: map[string]string{"ORGPATCH_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:111111111111:stateMachine:orgpatch-run"}, wantErr: "ORGPATCH_RUNS_BUCKET"},
		"the reference's ERROR level":      {env: map[string]string{"LOG_LEVEL": "ERROR"}, want: settings{level: slog.LevelError}},
		"unknown log level":                {env: map[string]string{"LOG_LEVEL": "verbose"}, wantErr: "LOG_LEVEL"},
		"concurrency zero":                 {env: map[string]string{"ORGPATCH_CONCURRENCY": "0"}, wantErr: "ORGPATCH_CONCURRENCY"},
		"concurrency not a number":         {env: map[string]string{"ORGPATCH_CONCURRENCY": "lots"}, wantErr: "from 1 to 1000"},
		"concurrency over what is useful":  {env: map[string]string{"ORGPATCH_CONCURRENCY": "5000"}, wantErr: "ORGPATCH_CONCURRENCY"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := readSettings(func(k string) string { return tc.env[k] })
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
