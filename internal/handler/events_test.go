package handler_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// effect is what one events file does to the small organization (every
// account given its role) through the handler.
type effect struct {
	// deployed: the default configuration is stored first, as a deployed
	// stack holds it.
	deployed bool
	// before is an events file run first, to set the scene.
	before string
	// err: the invocation returns an error (Lambda retries, then the DLQ).
	err bool
	// malformed: the error is the decoder's: nothing was done.
	malformed bool
	// answer is the CloudFormation status sent; "" means none may be sent.
	answer cfn.StatusType
	// windows are the accounts holding windows afterwards (us-east-1).
	windows []string
	// writers are the accounts that made write calls (the management
	// account's include storing the configuration).
	writers []string
	// noCalls: not one AWS call.
	noCalls bool
}

func TestEventsThroughHandler(t *testing.T) {
	all := members
	tests := map[string]effect{
		"cfn-create.json": {answer: cfn.StatusSuccess, windows: all, writers: all},
		"cfn-update.json": {deployed: true, answer: cfn.StatusSuccess, windows: all, writers: all},
		// Delete removes every owned window, then the configuration parameter.
		"cfn-delete.json": {before: "cfn-create.json", answer: cfn.StatusSuccess, windows: nil,
			writers: []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"}},
		"controltower-create-managed-account.json":        {deployed: true, windows: []string{"444444444444"}, writers: []string{"444444444444"}},
		"controltower-update-managed-account.json":        {deployed: true, windows: []string{"555555555555"}, writers: []string{"555555555555"}},
		"controltower-create-managed-account-failed.json": {deployed: true, noCalls: true},
		"organizations-create-account-result.json":        {deployed: true, windows: []string{"444444444444"}, writers: []string{"444444444444"}},
		"organizations-accept-handshake.json":             {deployed: true, windows: []string{"555555555555"}, writers: []string{"555555555555"}},
		"organizations-accept-handshake-lowercase.json":   {deployed: true, windows: []string{"444444444444"}, writers: []string{"444444444444"}},
		"organizations-account-joined-organization.json":  {deployed: true, windows: []string{"555555555555"}, writers: []string{"555555555555"}},
		"organizations-move-account.json":                 {deployed: true, windows: []string{"333333333333"}, writers: []string{"333333333333"}},
		"organizations-tag-resource.json":                 {deployed: true, windows: []string{"333333333333"}, writers: []string{"333333333333"}},
		"organizations-untag-resource.json":               {deployed: true, windows: []string{"333333333333"}, writers: []string{"333333333333"}},
		"schedule.json":                                   {deployed: true, windows: all, writers: all},
		"ec2-instance-state-change.json":                  {deployed: true, noCalls: true},
		// Reads only; this harness has no report bucket, so it fails
		// (compliance_test.go runs it with one).
		"compliance-report.json":             {deployed: true, err: true},
		"malformed-cfn-no-response-url.json": {err: true, malformed: true, noCalls: true},
		"malformed-move-account-bad-id.json": {err: true, malformed: true, noCalls: true},
		"malformed-truncated.json":           {err: true, malformed: true, noCalls: true},
		// The steps of a whole-organization execution, which must carry the
		// stored configuration. Discover only reads.
		"stepfunctions-discover.json": {deployed: true},
		"stepfunctions-work.json":     {deployed: true, windows: []string{"111111111111", "222222222222"}, writers: []string{"111111111111", "222222222222"}},
		// No map results in this store: the run answers FAILED, calling no AWS API.
		"stepfunctions-summarize.json":               {answer: cfn.StatusFailed, noCalls: true},
		"stepfunctions-abort.json":                   {answer: cfn.StatusFailed, noCalls: true},
		"malformed-stepfunctions-work-bad-mode.json": {err: true, malformed: true, noCalls: true},
	}
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			tc, ok := tests[name]
			if !ok {
				t.Fatalf("%s has no expected effect: add it to this table", path)
			}
			x := newHarness(t, nil, nil).withAllRoles(t)
			if tc.deployed {
				x.deployed(t, config.Default())
			}
			if tc.before != "" {
				if _, err := x.invoke(t, x.event(t, tc.before)); err != nil {
					t.Fatalf("setting the scene with %s: %v", tc.before, err)
				}
				x.sv.Server.ResetCalls()
			}
			answersBefore := len(x.cfn.answers())

			_, err := x.invoke(t, x.event(t, name))

			if tc.err != (err != nil) {
				t.Errorf("Invoke() error = %v, want error: %v", err, tc.err)
			}
			if tc.malformed && !errors.Is(err, trigger.ErrMalformed) {
				t.Errorf("Invoke() error = %v, want the decoder's", err)
			}
			answers := x.cfn.answers()[answersBefore:]
			switch {
			case tc.answer == "" && len(answers) > 0:
				t.Errorf("CloudFormation got %d answers to a non-CloudFormation event", len(answers))
			case tc.answer != "" && len(answers) != 1:
				t.Errorf("CloudFormation got %d answers, want exactly 1", len(answers))
			case tc.answer != "":
				got := answers[0].Response
				if got.Status != tc.answer || got.PhysicalResourceID != handler.PhysicalResourceID {
					t.Errorf("answer = %s with physical id %q, want %s with %q (reason %q)",
						got.Status, got.PhysicalResourceID, tc.answer, handler.PhysicalResourceID, got.Reason)
				}
				if got.RequestID == "" || got.StackID == "" || got.LogicalResourceID != "OrgPatch" {
					t.Errorf("answer does not route back to its request: %+v", got)
				}
			}
			if calls := x.sv.Server.Calls(); tc.noCalls && len(calls) > 0 {
				t.Errorf("%d AWS calls for an event that names nothing to do; first: %s %s", len(calls), calls[0].Service, calls[0].Operation)
			}
			if tc.noCalls {
				return
			}
			if diff := cmp.Diff(tc.windows, x.windowed(t)); diff != "" {
				t.Errorf("accounts holding windows (-want +got):\n%s", diff)
			}
			for _, a := range tc.windows {
				if diff := cmp.Diff(defaultWindows(), x.windows(t, a, "us-east-1")); diff != "" {
					t.Errorf("%s windows (-want +got):\n%s", a, diff)
				}
			}
			if diff := cmp.Diff(tc.writers, x.writers()); diff != "" {
				t.Errorf("accounts that wrote (-want +got):\n%s", diff)
			}
		})
	}
	for name := range tests {
		if !seen[name] {
			t.Errorf("expected effect for %s, but %s has no such file", name, eventsDir)
		}
	}
}
