package crosstest

import (
	"testing"

	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// securityHubScenario is what the report's Security Hub sink sends: a
// finding imported, imported again ARCHIVED (an update in place, not a
// second finding), one for another account and one of a product the caller
// does not own (both refused in FailedFindings, as AWS refuses them for the
// default product) with one of another schema version, then the findings
// read back a page at a time.
func securityHubScenario() []step {
	product := "arn:aws:securityhub:" + simtest.Region + ":${Account}:product/${Account}/default"
	finding := func(id, account, product, state string) map[string]any {
		return map[string]any{
			"SchemaVersion": "2018-10-08", "Id": id, "ProductArn": product, "GeneratorId": "orgpatch-compliance",
			"AwsAccountId": account, "Types": []string{"Software and Configuration Checks/Patch Management"},
			"CreatedAt": "2026-11-27T03:00:00Z", "UpdatedAt": "2026-11-27T03:00:00Z",
			"Severity": map[string]any{"Label": "HIGH"}, "Title": "Node past its patch SLA", "Description": "crosstest",
			"Resources":   []map[string]any{{"Type": "Other", "Id": "arn:aws:ssm:" + simtest.Region + ":" + memberAccount + ":managed-instance/mi-0123"}},
			"RecordState": state,
		}
	}
	old := finding("orgpatch/old-schema", "${Account}", product, "ACTIVE")
	old["SchemaVersion"] = "2017-01-01"
	return []step{
		{Name: "whoami", Service: "sts", Operation: "GetCallerIdentity", As: "mgmt", Capture: []string{"Account"}},
		{Name: "assume role", Service: "sts", Operation: "AssumeRole", As: "mgmt", Params: map[string]any{
			"RoleArn": "arn:aws:iam::" + memberAccount + ":role/" + memberRole, "RoleSessionName": "crosstest",
		}},
		{Name: "import", Service: "securityhub", Operation: "BatchImportFindings", As: "mgmt", Params: map[string]any{
			"Findings": []any{finding("orgpatch/a", "${Account}", product, "ACTIVE"), finding("orgpatch/b", "${Account}", product, "ACTIVE")},
		}},
		{Name: "archive", Service: "securityhub", Operation: "BatchImportFindings", As: "mgmt", Params: map[string]any{
			"Findings": []any{finding("orgpatch/a", "${Account}", product, "ARCHIVED")},
		}},
		{Name: "refused", Service: "securityhub", Operation: "BatchImportFindings", As: "mgmt", Params: map[string]any{
			"Findings": []any{
				finding("orgpatch/other-account", memberAccount, product, "ACTIVE"),
				finding("orgpatch/other-product", "${Account}", "arn:aws:securityhub:"+simtest.Region+"::product/aws/guardduty", "ACTIVE"),
				old,
			},
		}},
		{Name: "archived", Service: "securityhub", Operation: "GetFindings", As: "mgmt", ReadOnly: true, Params: map[string]any{
			"Filters": map[string]any{"RecordState": []map[string]any{{"Value": "ARCHIVED", "Comparison": "EQUALS"}}},
		}},
		{Name: "all findings", Service: "securityhub", Operation: "GetFindings", As: "mgmt", ReadOnly: true, PageSize: 1},
	}
}

// TestSecurityHubCallsSeeTheSame runs the Security Hub sink's calls through
// the SDK, the AWS CLI and boto3.
func TestSecurityHubCallsSeeTheSame(t *testing.T) {
	clientsSeeTheSame(t, securityHubScenario(), func(t *testing.T, steps []step, got []outcome, mgmt string) {
		checkCodes(t, steps, got)
		checkPaths(t, steps, got, []pathWant{
			{"import", "successcount", 2.0},
			{"archive", "successcount", 1.0},
			{"refused", "failedcount", 3.0},
			{"refused", "failedfindings.2.errorcode", "InvalidInput"},
			{"refused", "failedfindings.0.id", "orgpatch/other-account"},
			{"refused", "failedfindings.0.errorcode", "AccessDeniedException"},
			{"refused", "failedfindings.1.id", "orgpatch/other-product"},
			{"archived", "findings.#", 1.0},
			{"archived", "findings.0.id", "orgpatch/a"},
			{"archived", "findings.0.awsaccountid", mgmt},
			{"all findings", "findings.#", 2.0},
		})
	})
}
