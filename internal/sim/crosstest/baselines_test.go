package crosstest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

// baselineScenario is orgpatch's conversation about patch baselines in one
// member account: a dev baseline created, made the Amazon Linux 2 default
// and registered for a patch group, read back every way, refused while in
// use, then unwound the way teardown does (patch group deregistered, AWS's
// predefined default registered again by its ARN, baseline deleted).
func baselineScenario() []step {
	awsAL2 := ssmsvc.PredefinedBaselineID(simtest.Region, "AMAZON_LINUX_2")
	id := map[string]any{"BaselineId": "${BaselineId}"}
	group := map[string]any{"BaselineId": "${BaselineId}", "PatchGroup": "web"}
	al2 := map[string]any{"OperatingSystem": "AMAZON_LINUX_2"}
	rules := func(days int) map[string]any {
		return map[string]any{"PatchRules": []map[string]any{{
			"PatchFilterGroup": map[string]any{"PatchFilters": []map[string]any{
				{"Key": "CLASSIFICATION", "Values": []string{"Security", "Bugfix"}},
				{"Key": "SEVERITY", "Values": []string{"Critical", "Important"}},
			}},
			"ApproveAfterDays": days, "ComplianceLevel": "HIGH",
		}}}
	}
	self := map[string]any{"Filters": []map[string]any{{"Key": "OWNER", "Values": []string{"Self"}}}}
	awsOwned := map[string]any{"Filters": []map[string]any{{"Key": "OWNER", "Values": []string{"AWS"}}, {"Key": "OPERATING_SYSTEM", "Values": []string{"AMAZON_LINUX_2"}}}}
	return []step{
		{Name: "assume role", Service: "sts", Operation: "AssumeRole", As: "mgmt", Params: map[string]any{
			"RoleArn": "arn:aws:iam::" + memberAccount + ":role/" + memberRole, "RoleSessionName": "crosstest",
		}},
		{Name: "create baseline", Service: "ssm", Operation: "CreatePatchBaseline", As: "member", Capture: []string{"BaselineId"}, Params: map[string]any{
			"Name": "orgpatch-dev-al2", "OperatingSystem": "AMAZON_LINUX_2", "Description": "dev ring", "ApprovalRules": rules(0),
			"GlobalFilters":   map[string]any{"PatchFilters": []map[string]any{{"Key": "PRODUCT", "Values": []string{"AmazonLinux2"}}}},
			"RejectedPatches": []string{"telnet"}, "RejectedPatchesAction": "BLOCK",
			"Tags": []map[string]string{{"Key": "orgpatch:managed-by", "Value": "orgpatch"}},
		}},
		{Name: "get baseline", Service: "ssm", Operation: "GetPatchBaseline", As: "member", Params: id},
		{Name: "register default", Service: "ssm", Operation: "RegisterDefaultPatchBaseline", As: "member", Params: id},
		{Name: "default while registered", Service: "ssm", Operation: "GetDefaultPatchBaseline", As: "member", Params: al2},
		{Name: "register patch group", Service: "ssm", Operation: "RegisterPatchBaselineForPatchGroup", As: "member", Params: group},
		{Name: "patch group baseline", Service: "ssm", Operation: "GetPatchBaselineForPatchGroup", As: "member", Params: map[string]any{"PatchGroup": "web", "OperatingSystem": "AMAZON_LINUX_2"}},
		{Name: "describe patch groups", Service: "ssm", Operation: "DescribePatchGroups", As: "member"},
		{Name: "own baselines", Service: "ssm", Operation: "DescribePatchBaselines", As: "member", Params: self},
		{Name: "tags", Service: "ssm", Operation: "ListTagsForResource", As: "member", Params: map[string]any{"ResourceType": "PatchBaseline", "ResourceId": "${BaselineId}"}},
		{Name: "delete while in use", Service: "ssm", Operation: "DeletePatchBaseline", As: "member", Params: id, WantError: "ResourceInUseException"},
		{Name: "windows key on linux", Service: "ssm", Operation: "CreatePatchBaseline", As: "member", WantError: "ValidationException", Params: map[string]any{
			"Name": "orgpatch-bad", "OperatingSystem": "AMAZON_LINUX_2", "GlobalFilters": map[string]any{"PatchFilters": []map[string]any{{"Key": "MSRC_SEVERITY", "Values": []string{"Critical"}}}},
		}},
		{Name: "update baseline", Service: "ssm", Operation: "UpdatePatchBaseline", As: "member", Params: map[string]any{"BaselineId": "${BaselineId}", "ApprovalRules": rules(7)}},
		{Name: "deregister patch group", Service: "ssm", Operation: "DeregisterPatchBaselineForPatchGroup", As: "member", Params: group},
		{Name: "restore AWS default", Service: "ssm", Operation: "RegisterDefaultPatchBaseline", As: "member", Params: map[string]any{"BaselineId": awsAL2}},
		{Name: "delete baseline", Service: "ssm", Operation: "DeletePatchBaseline", As: "member", Params: id},
		{Name: "deleted baseline", Service: "ssm", Operation: "GetPatchBaseline", As: "member", Params: id, WantError: "DoesNotExistException"},
		{Name: "default at the end", Service: "ssm", Operation: "GetDefaultPatchBaseline", As: "member", ReadOnly: true, Params: al2},
		{Name: "AWS baselines", Service: "ssm", Operation: "DescribePatchBaselines", As: "member", ReadOnly: true, Params: awsOwned},
		{Name: "own baselines at the end", Service: "ssm", Operation: "DescribePatchBaselines", As: "member", ReadOnly: true, Params: self},
	}
}

// TestClientsSeeTheSameBaselines runs baselineScenario through the Go SDK,
// the AWS CLI and boto3.
func TestClientsSeeTheSameBaselines(t *testing.T) {
	clientsSeeTheSame(t, baselineScenario(), func(t *testing.T, steps []step, got []outcome, _ string) {
		t.Helper()
		byName := checkErrors(t, steps, got)
		created := lookup(byName["create baseline"], "baselineid")
		awsAL2 := ssmsvc.PredefinedBaselineID(simtest.Region, "AMAZON_LINUX_2")
		for _, tc := range []struct {
			step, path string
			want       any
		}{
			{"get baseline", "name", "orgpatch-dev-al2"},
			// The canonical form drops zero values and empty lists (the SDK
			// cannot tell them from absent ones): 0 days and no baselines
			// read as nil; ssmsvc's tests pin the 0 itself.
			{"get baseline", "approvalrules.patchrules.0.approveafterdays", nil},
			{"get baseline", "approvalrules.patchrules.0.compliancelevel", "HIGH"},
			{"get baseline", "rejectedpatchesaction", "BLOCK"},
			{"default while registered", "baselineid", created},
			{"patch group baseline", "baselineid", created},
			{"describe patch groups", "mappings.#", 1.0},
			{"describe patch groups", "mappings.0.patchgroup", "web"},
			{"describe patch groups", "mappings.0.baselineidentity.defaultbaseline", true},
			{"own baselines", "baselineidentities.#", 1.0},
			{"tags", "taglist.0.key", "orgpatch:managed-by"},
			{"update baseline", "approvalrules.patchrules.0.approveafterdays", 7.0},
			{"default at the end", "baselineid", awsAL2},
			{"AWS baselines", "baselineidentities.#", 1.0},
			{"AWS baselines", "baselineidentities.0.baselinename", "AWS-AmazonLinux2DefaultPatchBaseline"},
			{"AWS baselines", "baselineidentities.0.defaultbaseline", true},
			{"own baselines at the end", "baselineidentities", nil},
		} {
			if got := lookup(byName[tc.step], tc.path); !cmp.Equal(got, tc.want) {
				t.Errorf("step %s: %s = %v, want %v", tc.step, tc.path, got, tc.want)
			}
		}
	})
}
