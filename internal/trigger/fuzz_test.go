package trigger

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode holds Decode to its contract on any input: it never panics;
// an error always wraps ErrMalformed; a request always has a known source
// and action, a reason, only 12-digit account ids, and a CloudFormation
// request exactly when it came from CloudFormation (or is a step of a run
// CloudFormation started), complete enough to be answered, and a step
// exactly when it came from the state machine. The seed corpus is events/*.json plus testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	sources := map[Source]bool{SourceCloudFormation: true, SourceControlTower: true, SourceOrganizations: true, SourceSchedule: true, SourceReport: true, SourceStepFunctions: true, SourceUnknown: true}
	actions := map[Action]bool{Converge: true, Remove: true, Ignore: true, Report: true, RunStep: true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := Decode(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode() error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !sources[req.Source] || !actions[req.Action] {
			t.Fatalf("Decode() = source %q action %q, not known values", req.Source, req.Action)
		}
		if req.Reason == "" {
			t.Fatalf("Decode() = %+v without a reason", req)
		}
		for _, id := range req.Accounts {
			if !accountIDPattern.MatchString(id) {
				t.Fatalf("Decode() account %q is not 12 digits", id)
			}
		}
		if req.Action == Ignore && len(req.Accounts) > 0 {
			t.Fatalf("Decode() ignores yet names accounts %v", req.Accounts)
		}
		if (req.Source == SourceStepFunctions) != (req.Step != nil) {
			t.Fatalf("Decode() source %s with step %v", req.Source, req.Step)
		}
		if (req.Source == SourceCloudFormation) != (req.CloudFormation != nil) && req.Source != SourceStepFunctions {
			t.Fatalf("Decode() source %s with CloudFormation request %v", req.Source, req.CloudFormation)
		}
		if ev := req.CloudFormation; ev != nil && (ev.ResponseURL == "" || ev.RequestID == "" || ev.StackID == "" || ev.LogicalResourceID == "") {
			t.Fatalf("Decode() accepted a CloudFormation request that cannot be answered: %+v", ev)
		}
	})
}
