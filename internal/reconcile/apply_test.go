package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
)

// TestWriteRetriesOnlyJustCreated: SSM is eventually consistent, so a
// write naming a window created moments before may be told it does not
// exist; only then is it retried, a bounded number of times.
func TestWriteRetriesOnlyJustCreated(t *testing.T) {
	defer func(b []time.Duration) { createdBackoff = b }(createdBackoff)
	createdBackoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}

	notFound := &smithy.GenericAPIError{Code: "DoesNotExistException", Message: "window not found"}
	other := &smithy.GenericAPIError{Code: "ValidationException", Message: "bad"}
	tests := map[string]struct {
		justCreated bool
		failures    int   // calls failing before success
		failWith    error // what they fail with
		wantCalls   int
		wantErr     bool
	}{
		"success":                         {justCreated: true, wantCalls: 1},
		"not found twice after a create":  {justCreated: true, failures: 2, failWith: notFound, wantCalls: 3},
		"not found for good after create": {justCreated: true, failures: 10, failWith: notFound, wantCalls: 4, wantErr: true},
		"not found on an existing window": {failures: 1, failWith: notFound, wantCalls: 1, wantErr: true},
		"other error is never retried":    {justCreated: true, failures: 1, failWith: other, wantCalls: 1, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := &applier{}
			calls := 0
			err := a.write(context.Background(), tc.justCreated, func() error {
				calls++
				if calls <= tc.failures {
					return tc.failWith
				}
				return nil
			})
			if diff := cmp.Diff(tc.wantCalls, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCalls, a.writes); diff != "" {
				t.Errorf("writes counted (-want +got):\n%s", diff)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			var apiErr smithy.APIError
			if err != nil && !errors.As(err, &apiErr) {
				t.Errorf("err = %v, does not unwrap to smithy.APIError", err)
			}
		})
	}
}

// TestUpdateSendsOnlyFieldsItKnows: apply chooses what to send by the
// plan's typed Fields; a Field a write cannot send is refused before any
// call, never silently dropped.
func TestUpdateSendsOnlyFieldsItKnows(t *testing.T) {
	tests := map[string]Action{
		"task field on a window": {Op: OpUpdate, Resource: ResourceWindow, Name: "w", Window: "w", ID: "mw-1",
			Changes: []Change{{Field: TaskPriority, From: "2", To: "1"}}, spec: &windowSpec{windowID: "mw-1"}},
		"window field on a target": {Op: OpUpdate, Resource: ResourceTarget, Name: "t", Window: "w", ID: "t-1",
			Changes: []Change{{Field: WindowSchedule, From: "a", To: "b"}}, spec: &windowSpec{windowID: "mw-1"}},
		"DHMC field on a task": {Op: OpUpdate, Resource: ResourceTask, Name: "k", Window: "w", ID: "k-1",
			Changes: []Change{{Field: DHMCValue, From: "a", To: "b"}}, spec: &windowSpec{windowID: "mw-1", task: desiredTask("arn:aws:iam::111111111111:role/task", nil, config.Default().Windows[2], TaskTarget{ID: "t-1"})}},
		"task field on DHMC": {Op: OpUpdate, Resource: ResourceDHMC, Name: DHMCSettingID,
			Changes: []Change{{Field: TaskName, From: "a", To: "b"}}, spec: dhmcValue("r")},
	}
	for name, act := range tests {
		t.Run(name, func(t *testing.T) {
			in := Input{Account: "111111111111", Partition: "aws", Config: config.Config{TaskRoleName: "task"}}
			res, err := apply(context.Background(), unusedClients(), in, []Action{act})
			if err == nil || !strings.Contains(err.Error(), "which this write cannot send") {
				t.Fatalf("apply() = %v, want the unknown field refused", err)
			}
			if res.Writes != 0 {
				t.Errorf("writes = %d, want 0", res.Writes)
			}
		})
	}
}

// TestFieldsPrintTheirLabel: plans print a Field by its label, without
// the resource it belongs to, and a map member by its key.
func TestFieldsPrintTheirLabel(t *testing.T) {
	if got, want := (Change{Field: WindowScheduleOffset, From: "0", To: "1"}).String(), "schedule offset: 0 -> 1"; got != want {
		t.Errorf("Change.String() = %q, want %q", got, want)
	}
	c := Change{Field: TaskParameter, Key: "RebootOption", From: "NoReboot", To: "RebootIfNeeded"}
	if got, want := c.String(), "RebootOption: NoReboot -> RebootIfNeeded"; got != want {
		t.Errorf("Change.String() = %q, want %q", got, want)
	}
}

// unusedClients are clients for every kind that no test call may reach:
// an SSM client without credentials or endpoint.
func unusedClients() Clients {
	return Clients{ssm.New(ssm.Options{Region: "us-east-1"})}
}
