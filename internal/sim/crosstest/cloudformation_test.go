package crosstest

import (
	"testing"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// crossStack is the management stack the function asks CloudFormation
// about, mid-deletion.
var crossStack = sim.Stack{
	ID:      "arn:aws:cloudformation:" + simtest.Region + ":111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10",
	Name:    "orgpatch",
	Status:  "DELETE_IN_PROGRESS",
	Created: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC),
}

// cloudFormationScenario is the function's one CloudFormation read: its
// own stack by id, by name, and a stack that does not exist.
func cloudFormationScenario() []step {
	return []step{
		{Name: "stack by id", Service: "cloudformation", Operation: "DescribeStacks", As: "mgmt", ReadOnly: true, Params: map[string]any{"StackName": crossStack.ID}},
		{Name: "stack by name", Service: "cloudformation", Operation: "DescribeStacks", As: "mgmt", ReadOnly: true, Params: map[string]any{"StackName": "orgpatch"}},
		{Name: "missing stack", Service: "cloudformation", Operation: "DescribeStacks", As: "mgmt", WantError: "ValidationError", Params: map[string]any{"StackName": "attacker"}},
	}
}

// TestCloudFormationReadsSeeTheSame runs DescribeStacks through the SDK,
// the AWS CLI and boto3 against simulators holding the same stack.
func TestCloudFormationReadsSeeTheSame(t *testing.T) {
	clientsSeeTheSame(t, cloudFormationScenario(), func(t *testing.T, steps []step, got []outcome, mgmt string) {
		checkCodes(t, steps, got)
		for _, i := range []int{0, 1} {
			for path, want := range map[string]any{
				"stacks.0.stackid":     crossStack.ID,
				"stacks.0.stackstatus": "DELETE_IN_PROGRESS",
				"stacks.0.stackname":   "orgpatch",
			} {
				if v := lookup(got[i].Response, path); v != want {
					t.Errorf("step %s: %s = %v, want %v", steps[i].Name, path, v, want)
				}
			}
		}
	}, sim.WithStacks(crossStack))
}
