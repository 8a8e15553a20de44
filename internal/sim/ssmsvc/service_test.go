package ssmsvc

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

func TestIsWrite(t *testing.T) {
	writes := map[string]bool{
		"CreateMaintenanceWindow": true, "UpdateMaintenanceWindow": true, "DeleteMaintenanceWindow": true,
		"RegisterTargetWithMaintenanceWindow": true, "UpdateMaintenanceWindowTarget": true, "DeregisterTargetFromMaintenanceWindow": true,
		"RegisterTaskWithMaintenanceWindow": true, "UpdateMaintenanceWindowTask": true, "DeregisterTaskFromMaintenanceWindow": true,
		"AddTagsToResource": true, "RemoveTagsFromResource": true, "UpdateServiceSetting": true, "ResetServiceSetting": true,
		"PutParameter": true, "DeleteParameter": true,
		"CreatePatchBaseline": true, "UpdatePatchBaseline": true, "DeletePatchBaseline": true, "RegisterDefaultPatchBaseline": true,
		"RegisterPatchBaselineForPatchGroup": true, "DeregisterPatchBaselineForPatchGroup": true,
	}
	for op := range handlers {
		if got := IsWrite(op); got != writes[op] {
			t.Errorf("IsWrite(%s) = %v, want %v", op, got, writes[op])
		}
	}
}

func TestHandleRefusals(t *testing.T) {
	s := New()
	ctx := Context{Account: account, Region: region, Now: testNow}
	tests := map[string]struct {
		op, body string
		code     string
		message  string
	}{
		"unknown operation": {op: "SendCommand", body: `{}`, code: "UnknownOperationException", message: "operation SendCommand is not supported"},
		"string for a number": {op: "CreateMaintenanceWindow", body: `{"Name":"abc","Schedule":"rate(1 days)","Duration":"3","Cutoff":1,"AllowUnassociatedTargets":false}`,
			code: "SerializationException", message: "Value '3' at 'duration' failed to satisfy constraint: Member must be a number of type integer"},
		"not JSON": {op: "GetMaintenanceWindow", body: `{"WindowId":`, code: "SerializationException"},
		"every violation listed": {op: "CreateMaintenanceWindow", body: `{"Name":"a","Schedule":"rate(1 days)","Duration":30,"Cutoff":1,"AllowUnassociatedTargets":false}`,
			code: "ValidationException", message: "3 validation errors detected: Value '30' at 'duration' failed to satisfy constraint: Member must have value less than or equal to 24; " +
				"Value 'a' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 3; " +
				"Value 'a' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{3,128}$"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := s.Handle(ctx, tc.op, json.RawMessage(tc.body))
			e := apierr.As(err)
			if e.Code != tc.code || (tc.message != "" && e.Message != tc.message) || e.HTTPStatus() != 400 {
				t.Errorf("Handle = %d %s %q, want 400 %s %q", e.HTTPStatus(), e.Code, e.Message, tc.code, tc.message)
			}
		})
	}
}

// TestConcurrentTargets runs writers on many account x region states and
// one shared window at once; run with -race it checks the locking, and it
// checks that no write is lost.
func TestConcurrentTargets(t *testing.T) {
	s := New()
	shared := Context{Account: account, Region: region, Now: testNow}
	out, err := s.Handle(shared, "CreateMaintenanceWindow", json.RawMessage(`{"Name":"shared","Schedule":"rate(1 days)","Duration":2,"Cutoff":1,"AllowUnassociatedTargets":false}`))
	if err != nil {
		t.Fatal(err)
	}
	w := out.(windowIDOutput).WindowId
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			own := Context{Account: fmt.Sprintf("%012d", i), Region: region, Now: testNow}
			for j := range 5 {
				if _, err := s.Handle(own, "CreateMaintenanceWindow", json.RawMessage(fmt.Sprintf(`{"Name":"w-%d","Schedule":"rate(1 days)","Duration":2,"Cutoff":1,"AllowUnassociatedTargets":false}`, j))); err != nil {
					t.Error(err)
				}
				if _, err := s.Handle(shared, "RegisterTargetWithMaintenanceWindow", json.RawMessage(`{"WindowId":"`+w+`","ResourceType":"INSTANCE","Targets":[{"Key":"tag:A","Values":["b"]}]}`)); err != nil {
					t.Error(err)
				}
				s.Windows(own.Account, region)
			}
		})
	}
	wg.Wait()
	if n := len(s.Windows(account, region)[0].Targets); n != 80 {
		t.Errorf("%d targets on the shared window, want 80", n)
	}
	for i := range 16 {
		if n := len(s.Windows(fmt.Sprintf("%012d", i), region)); n != 5 {
			t.Errorf("account %d has %d windows, want 5", i, n)
		}
	}
}

func TestWindowsIsASnapshot(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	w := mustCreateWindow(t, c, windowInput("snapshot"))
	target := mustRegisterTarget(t, c, targetInput(w))
	mustRegisterTask(t, c, taskInput(w, target))
	snap := ts.svc.Windows(account, region)
	snap[0].Name = "changed"
	snap[0].Targets[0].Targets[0].Values[0] = "changed"
	snap[0].Tasks[0].TaskInvocationParameters.RunCommand.Parameters["Operation"][0] = "changed"
	again := ts.svc.Windows(account, region)[0]
	if again.Name != "snapshot" || again.Targets[0].Targets[0].Values[0] != "yes" || again.Tasks[0].TaskInvocationParameters.RunCommand.Parameters["Operation"][0] != "Scan" {
		t.Errorf("changing a snapshot changed the service: %+v", again)
	}
	if got := ts.svc.Windows("999999999999", region); got != nil {
		t.Errorf("an untouched account has windows %+v", got)
	}
}
