package trigger

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orgpatch/orgpatch/internal/config"
)

// eventsDir holds one sample per trigger; the handler tests use them too.
const eventsDir = "../../events"

// outcome is what a test expects from Decode: a request, or an error
// naming a field (errField) or, when no one field is at fault, just
// wrapping ErrMalformed (errField "-").
type outcome struct {
	want     Request
	errField string
	// cfn, for CloudFormation requests, is the request type the answer
	// must be routed for.
	cfn cfn.RequestType
}

// ignoreCFNEvent leaves the verbatim cfn.Event out of Request comparisons;
// its routing fields are checked on their own.
var ignoreCFNEvent = cmp.Options{cmpopts.IgnoreFields(Request{}, "CloudFormation"),
	cmpopts.IgnoreFields(Step{}, "Payload", "Input.Config", "Input.CloudFormation")}

func TestDecodeEventsFiles(t *testing.T) {
	tests := map[string]outcome{
		"cfn-create.json": {
			want: Request{
				Source:     SourceCloudFormation,
				Action:     Converge,
				Reason:     "CloudFormation Create of OrgPatch in arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10",
				ID:         "9f5e1a0c-6a34-4d0b-9f3c-1d0a2b3c4d5e",
				Properties: map[string]any{"Disabled": "false"},
			},
			cfn: cfn.RequestCreate,
		},
		"cfn-update.json": {
			want: Request{
				Source:        SourceCloudFormation,
				Action:        Converge,
				Reason:        "CloudFormation Update of OrgPatch in arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10",
				ID:            "2c6d8e0f-1b2a-4c3d-8e9f-0a1b2c3d4e5f",
				Properties:    map[string]any{"Disabled": "false"},
				OldProperties: map[string]any{"Disabled": "true"},
			},
			cfn: cfn.RequestUpdate,
		},
		"cfn-delete.json": {
			want: Request{
				Source:     SourceCloudFormation,
				Action:     Remove,
				Reason:     "CloudFormation Delete of OrgPatch in arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10",
				ID:         "7a8b9c0d-2e3f-4a5b-9c6d-7e8f9a0b1c2d",
				Properties: map[string]any{"Disabled": "false"},
			},
			cfn: cfn.RequestDelete,
		},
		"controltower-create-managed-account.json": {want: Request{
			Source:   SourceControlTower,
			Action:   Converge,
			Accounts: []string{"444444444444"},
			Account:  "111111111111",
			Reason:   "Control Tower CreateManagedAccount of 444444444444 (workload-dev) in ou-sm01-workload succeeded",
		}},
		"controltower-update-managed-account.json": {want: Request{
			Source:   SourceControlTower,
			Action:   Converge,
			Accounts: []string{"555555555555"},
			Account:  "111111111111",
			Reason:   "Control Tower UpdateManagedAccount of 555555555555 (workload-prod) in ou-sm01-workload succeeded",
		}},
		"controltower-create-managed-account-failed.json": {want: Request{
			Source: SourceControlTower,
			Action: Ignore,
			Reason: "Control Tower CreateManagedAccount of 444444444444 is FAILED, not SUCCEEDED: AWS Control Tower cannot create an enrolled account: the account email is already in use.",
		}},
		"organizations-create-account-result.json": {want: Request{
			Source:   SourceOrganizations,
			Action:   Converge,
			Accounts: []string{"444444444444"},
			Account:  "111111111111",
			Reason:   "Organizations created account 444444444444",
		}},
		"organizations-accept-handshake.json": {want: Request{
			Source:   SourceOrganizations,
			Action:   Converge,
			Accounts: []string{"555555555555"},
			Account:  "111111111111",
			Reason:   "account 555555555555 accepted invitation h-1a2b3c4d5e6f7a8b",
		}},
		// AWS's published handshake record spells its enumerations in lower case.
		"organizations-accept-handshake-lowercase.json": {want: Request{
			Source:   SourceOrganizations,
			Action:   Converge,
			Accounts: []string{"444444444444"},
			Account:  "111111111111",
			Reason:   "account 444444444444 accepted invitation h-1a2b3c4d5e6f7a8b",
		}},
		"organizations-account-joined-organization.json": {want: Request{
			Source:   SourceOrganizations,
			Action:   Converge,
			Accounts: []string{"555555555555"},
			Account:  "111111111111",
			Reason:   "account 555555555555 joined the organization (Invited)",
		}},
		"organizations-move-account.json": {want: Request{
			Source:   SourceOrganizations,
			Action:   Converge,
			Accounts: []string{"333333333333"},
			Account:  "111111111111",
			Reason:   "account 333333333333 moved from ou-sm01-security to ou-sm01-workload",
		}},
		"organizations-tag-resource.json": {want: Request{
			Source:   SourceOrganizations,
			Action:   Converge,
			Accounts: []string{"333333333333"},
			Account:  "111111111111",
			Reason:   "account 333333333333 tags changed (TagResource)",
		}},
		"organizations-untag-resource.json": {want: Request{
			Source:   SourceOrganizations,
			Action:   Converge,
			Accounts: []string{"333333333333"},
			Account:  "111111111111",
			Reason:   "account 333333333333 tags changed (UntagResource)",
		}},
		"schedule.json": {want: Request{
			Source:  SourceSchedule,
			Action:  Converge,
			Account: "111111111111",
			Reason:  "scheduled drift repair of the whole organization",
			ID:      "89d1a02d-5ec7-412e-82f5-13505f849b41",
		}},
		"compliance-report.json": {want: Request{
			Source: SourceReport,
			Action: Report,
			Reason: "scheduled compliance report of the whole organization",
			ID:     "7bf73129-1428-4cd3-a780-95db273d1602",
		}},
		"stepfunctions-discover.json": {want: Request{
			Source: SourceStepFunctions,
			Action: RunStep,
			Reason: "step discover of run schedule-89d1a02d-5ec7-412e-82f5-13505f849b41 (scheduled drift repair of the whole organization)",
			Step: &Step{Name: StepDiscover, Run: "schedule-89d1a02d-5ec7-412e-82f5-13505f849b41",
				Started: time.Date(2026, 11, 22, 14, 0, 1, 250e6, time.UTC), Config: config.Default(),
				Input: RunInput{Source: SourceSchedule, Action: Converge, Reason: "scheduled drift repair of the whole organization"}},
		}},
		"stepfunctions-work.json": {want: Request{
			Source: SourceStepFunctions,
			Action: RunStep,
			Reason: "step work of run schedule-89d1a02d-5ec7-412e-82f5-13505f849b41: 2 accounts",
			Step:   &Step{Name: StepWork, Run: "schedule-89d1a02d-5ec7-412e-82f5-13505f849b41"},
		}},
		"stepfunctions-summarize.json": {want: Request{
			Source: SourceStepFunctions,
			Action: RunStep,
			Reason: "step summarize of run cloudformation-9f5e1a0c-6a34-4d0b-9f3c-1d0a2b3c4d5e (CloudFormation Create of OrgPatch in arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10)",
			Step: &Step{Name: StepSummarize, Run: "cloudformation-9f5e1a0c-6a34-4d0b-9f3c-1d0a2b3c4d5e", Config: config.Default(),
				Input: RunInput{Source: SourceCloudFormation, Action: Converge, Reason: "CloudFormation Create of OrgPatch in arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10"}},
			Properties: map[string]any{"Disabled": "false"},
		}, cfn: cfn.RequestCreate},
		"stepfunctions-abort.json": {want: Request{
			Source: SourceStepFunctions,
			Action: RunStep,
			Reason: "step abort of run cloudformation-7a8b9c0d-2e3f-4a5b-9c6d-7e8f9a0b1c2d (CloudFormation Delete of OrgPatch in arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10)",
			Step: &Step{Name: StepAbort, Run: "cloudformation-7a8b9c0d-2e3f-4a5b-9c6d-7e8f9a0b1c2d", Config: config.Default(),
				Input: RunInput{Source: SourceCloudFormation, Action: Remove, Reason: "CloudFormation Delete of OrgPatch in arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10"}},
			Properties: map[string]any{"Disabled": "false"},
		}, cfn: cfn.RequestDelete},
		"malformed-stepfunctions-work-bad-mode.json": {errField: "BatchInput.mode"},
		"ec2-instance-state-change.json": {want: Request{
			Source: SourceUnknown,
			Action: Ignore,
			Reason: `aws.ec2 "EC2 Instance State-change Notification" names nothing to converge`,
		}},
		"malformed-cfn-no-response-url.json": {errField: "ResponseURL"},
		"malformed-move-account-bad-id.json": {errField: "detail.requestParameters.accountId"},
		"malformed-truncated.json":           {errField: "-"},
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
				t.Fatalf("%s has no expectation: add it to this table", path)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkOutcome(t, tc, raw)
		})
	}
	for name := range tests {
		if !seen[name] {
			t.Errorf("expectation for %s, but %s has no such file", name, eventsDir)
		}
	}
}

func checkOutcome(t *testing.T, tc outcome, raw []byte) {
	t.Helper()
	got, err := Decode(raw)
	if tc.errField != "" {
		if err == nil {
			t.Fatalf("Decode() = %+v, want an error", got)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode() error %v does not wrap ErrMalformed", err)
		}
		if tc.errField == "-" {
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("Decode() error %v names no field, want %s", err, tc.errField)
		}
		if fe.Field != tc.errField {
			t.Errorf("Decode() error names field %q, want %q (%v)", fe.Field, tc.errField, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Decode(): %v", err)
	}
	if diff := cmp.Diff(tc.want, got, ignoreCFNEvent); diff != "" {
		t.Errorf("Decode() mismatch (-want +got):\n%s", diff)
	}
	if tc.cfn == "" {
		if got.CloudFormation != nil {
			t.Errorf("Decode() carries a CloudFormation request for a %s event", got.Source)
		}
		return
	}
	if got.CloudFormation == nil {
		t.Fatalf("Decode() lost the CloudFormation request: nothing could answer it")
	}
	ev := got.CloudFormation
	if ev.RequestType != tc.cfn || ev.ResponseURL == "" || ev.RequestID == "" || ev.StackID == "" || ev.LogicalResourceID == "" {
		t.Errorf("CloudFormation routing = %+v, want type %s with ResponseURL, RequestId, StackId, LogicalResourceId", ev, tc.cfn)
	}
	if _, ok := ev.ResourceProperties["ServiceToken"]; !ok {
		t.Errorf("Decode() altered the event's own ResourceProperties: ServiceToken gone")
	}
}

// mutated reads an events file, lets edit change the decoded JSON, and
// returns it encoded again.
func mutated(t *testing.T, file string, edit func(ev map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	edit(ev)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// set walks a path of object keys; the last key is set to value (deleted
// when value is the package-level deleteKey).
func set(ev map[string]any, path string, value any) {
	keys := strings.Split(path, ".")
	m := ev
	for _, k := range keys[:len(keys)-1] {
		m = m[k].(map[string]any)
	}
	if value == deleteKey {
		delete(m, keys[len(keys)-1])
		return
	}
	m[keys[len(keys)-1]] = value
}

type deleteMarker struct{}

var deleteKey = deleteMarker{}

func TestDecodeVariants(t *testing.T) {
	const (
		handshake = "organizations-accept-handshake.json"
		move      = "organizations-move-account.json"
		created   = "organizations-create-account-result.json"
		ct        = "controltower-create-managed-account.json"
	)
	tests := map[string]struct {
		raw []byte
		outcome
	}{
		"invitation sent to an e-mail address: the caller is the account that joined": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.responseElements.handshake.parties", []any{
					map[string]any{"id": "o-small00001", "type": "ORGANIZATION"},
					map[string]any{"id": "owner@example.com", "type": "EMAIL"},
				})
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Converge, Accounts: []string{"555555555555"},
				Account: "111111111111",
				Reason:  "account 555555555555 accepted invitation h-1a2b3c4d5e6f7a8b",
			}},
		},
		"management account listed as a party is not the account that joined": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.responseElements.handshake.parties", []any{
					map[string]any{"id": "111111111111", "type": "ACCOUNT"},
					map[string]any{"id": "555555555555", "type": "ACCOUNT"},
				})
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Converge, Accounts: []string{"555555555555"},
				Account: "111111111111",
				Reason:  "account 555555555555 accepted invitation h-1a2b3c4d5e6f7a8b",
			}},
		},
		// Enumerations compare as AWS's records vary: in any case.
		"created account in lower case": {
			raw: mutated(t, created, func(ev map[string]any) {
				set(ev, "detail.serviceEventDetails.createAccountStatus.state", "succeeded")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Converge, Accounts: []string{"444444444444"},
				Account: "111111111111",
				Reason:  "Organizations created account 444444444444",
			}},
		},
		"declined handshake in lower case": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.responseElements.handshake.state", "declined")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: "handshake h-1a2b3c4d5e6f7a8b is declined, not ACCEPTED",
			}},
		},
		"account joined without an account id": {
			raw: mutated(t, "organizations-account-joined-organization.json", func(ev map[string]any) {
				set(ev, "detail.serviceEventDetails.accountId", "")
			}),
			outcome: outcome{errField: "detail.serviceEventDetails.accountId"},
		},
		"declined handshake": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.responseElements.handshake.state", "DECLINED")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: "handshake h-1a2b3c4d5e6f7a8b is DECLINED, not ACCEPTED",
			}},
		},
		"accepted enable-all-features handshake: no account joined": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.responseElements.handshake.action", "ENABLE_ALL_FEATURES")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: "handshake h-1a2b3c4d5e6f7a8b is ENABLE_ALL_FEATURES, not an invitation: no account joined",
			}},
		},
		"handshake party with a bad account id": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.responseElements.handshake.parties", []any{
					map[string]any{"id": "55555555555x", "type": "ACCOUNT"},
				})
			}),
			outcome: outcome{errField: "detail.responseElements.handshake.parties[0].id"},
		},
		"failed AcceptHandshake call": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.errorCode", "HandshakeConstraintViolationException")
				set(ev, "detail.responseElements", nil)
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: "Organizations AcceptHandshake failed (HandshakeConstraintViolationException): nothing changed",
			}},
		},
		"AcceptHandshake without its response": {
			raw: mutated(t, handshake, func(ev map[string]any) {
				set(ev, "detail.responseElements", nil)
			}),
			outcome: outcome{errField: "detail.responseElements"},
		},
		"failed MoveAccount call": {
			raw: mutated(t, move, func(ev map[string]any) {
				set(ev, "detail.errorCode", "AccessDenied")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: "Organizations MoveAccount failed (AccessDenied): nothing changed",
			}},
		},
		"MoveAccount without an account id": {
			raw: mutated(t, move, func(ev map[string]any) {
				set(ev, "detail.requestParameters.accountId", deleteKey)
			}),
			outcome: outcome{errField: "detail.requestParameters.accountId"},
		},
		"other Organizations API call": {
			raw: mutated(t, move, func(ev map[string]any) {
				set(ev, "detail.eventName", "CreatePolicy")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: `Organizations CreatePolicy (AWS API Call via CloudTrail) names no account to converge`,
			}},
		},
		"tags of an OU select no ring": {
			raw: mutated(t, "organizations-tag-resource.json", func(ev map[string]any) {
				set(ev, "detail.requestParameters.resourceId", "ou-sm01-workload")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: "Organizations TagResource of ou-sm01-workload: not an account, so no account changes ring",
			}},
		},
		"UntagResource without a resource id": {
			raw: mutated(t, "organizations-untag-resource.json", func(ev map[string]any) {
				set(ev, "detail.requestParameters.resourceId", deleteKey)
			}),
			outcome: outcome{errField: "detail.requestParameters.resourceId"},
		},
		"account creation reported as an API call": {
			raw: mutated(t, created, func(ev map[string]any) {
				set(ev, "detail-type", "AWS API Call via CloudTrail")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Converge, Accounts: []string{"444444444444"},
				Account: "111111111111",
				Reason:  "Organizations created account 444444444444",
			}},
		},
		"account creation failed": {
			raw: mutated(t, created, func(ev map[string]any) {
				set(ev, "detail.serviceEventDetails.createAccountStatus.state", "FAILED")
				set(ev, "detail.serviceEventDetails.createAccountStatus.accountId", deleteKey)
				set(ev, "detail.serviceEventDetails.createAccountStatus.failureReason", "EMAIL_ALREADY_EXISTS")
			}),
			outcome: outcome{want: Request{
				Source: SourceOrganizations, Action: Ignore,
				Reason: "Organizations CreateAccountResult is FAILED, not SUCCEEDED (EMAIL_ALREADY_EXISTS)",
			}},
		},
		"account created without status": {
			raw: mutated(t, created, func(ev map[string]any) {
				set(ev, "detail.serviceEventDetails", map[string]any{})
			}),
			outcome: outcome{errField: "detail.serviceEventDetails.createAccountStatus"},
		},
		"account created with a short id": {
			raw: mutated(t, created, func(ev map[string]any) {
				set(ev, "detail.serviceEventDetails.createAccountStatus.accountId", "4444")
			}),
			outcome: outcome{errField: "detail.serviceEventDetails.createAccountStatus.accountId"},
		},
		"Control Tower account still in progress": {
			raw: mutated(t, ct, func(ev map[string]any) {
				set(ev, "detail.serviceEventDetails.createManagedAccountStatus.state", "IN_PROGRESS")
				set(ev, "detail.serviceEventDetails.createManagedAccountStatus.message", "")
			}),
			outcome: outcome{want: Request{
				Source: SourceControlTower, Action: Ignore,
				Reason: "Control Tower CreateManagedAccount of 444444444444 is IN_PROGRESS, not SUCCEEDED",
			}},
		},
		"Control Tower status under the other event's key": {
			raw: mutated(t, ct, func(ev map[string]any) {
				set(ev, "detail.eventName", "UpdateManagedAccount")
			}),
			outcome: outcome{errField: "detail.serviceEventDetails.updateManagedAccountStatus"},
		},
		"Control Tower success without an account id": {
			raw: mutated(t, ct, func(ev map[string]any) {
				set(ev, "detail.serviceEventDetails.createManagedAccountStatus.account", map[string]any{})
			}),
			outcome: outcome{errField: "detail.serviceEventDetails.createManagedAccountStatus.account.accountId"},
		},
		"Control Tower landing zone event": {
			raw: mutated(t, ct, func(ev map[string]any) {
				set(ev, "detail.eventName", "SetupLandingZone")
			}),
			outcome: outcome{want: Request{
				Source: SourceControlTower, Action: Ignore,
				Reason: "Control Tower SetupLandingZone is not an account lifecycle event",
			}},
		},
		"Control Tower event without detail": {
			raw: mutated(t, ct, func(ev map[string]any) {
				set(ev, "detail", deleteKey)
			}),
			outcome: outcome{errField: "detail"},
		},
		"CloudTrail detail without an event name": {
			raw: mutated(t, ct, func(ev map[string]any) {
				set(ev, "detail.eventName", deleteKey)
			}),
			outcome: outcome{errField: "detail.eventName"},
		},
		"other EventBridge rule from aws.events": {
			raw: mutated(t, "schedule.json", func(ev map[string]any) {
				set(ev, "detail-type", "Some Other Event")
			}),
			outcome: outcome{want: Request{
				Source: SourceSchedule, Action: Ignore,
				Reason: `aws.events event "Some Other Event" is not the schedule`,
			}},
		},
		"envelope with an empty source": {
			raw: mutated(t, "schedule.json", func(ev map[string]any) {
				set(ev, "source", "")
			}),
			outcome: outcome{errField: "source"},
		},
		"CloudFormation request without RequestType value": {
			raw: mutated(t, "cfn-create.json", func(ev map[string]any) {
				set(ev, "RequestType", "")
			}),
			outcome: outcome{errField: "RequestType"},
		},
		"CloudFormation request of an unknown type": {
			raw: mutated(t, "cfn-create.json", func(ev map[string]any) {
				set(ev, "RequestType", "Replace")
			}),
			outcome: outcome{errField: "RequestType"},
		},
		"CloudFormation request with a relative ResponseURL": {
			raw: mutated(t, "cfn-create.json", func(ev map[string]any) {
				set(ev, "ResponseURL", "/response")
			}),
			outcome: outcome{errField: "ResponseURL"},
		},
		"CloudFormation request without RequestId": {
			raw: mutated(t, "cfn-delete.json", func(ev map[string]any) {
				set(ev, "RequestId", deleteKey)
			}),
			outcome: outcome{errField: "RequestId"},
		},
		"CloudFormation request without StackId": {
			raw: mutated(t, "cfn-update.json", func(ev map[string]any) {
				set(ev, "StackId", deleteKey)
			}),
			outcome: outcome{errField: "StackId"},
		},
		"a step of an unknown name": {
			raw:     mutated(t, "stepfunctions-discover.json", func(ev map[string]any) { ev["step"] = "explore" }),
			outcome: outcome{errField: "step"},
		},
		"a step of a run that is no execution name": {
			raw:     mutated(t, "stepfunctions-discover.json", func(ev map[string]any) { ev["run"] = "schedule 1" }),
			outcome: outcome{errField: "run"},
		},
		"discover without its start": {
			raw:     mutated(t, "stepfunctions-discover.json", func(ev map[string]any) { delete(ev, "started") }),
			outcome: outcome{errField: "started"},
		},
		"a run with a configuration that does not validate": {
			raw:     mutated(t, "stepfunctions-discover.json", func(ev map[string]any) { set(ev, "request.config.windows", []any{map[string]any{"name": "w"}}) }),
			outcome: outcome{errField: "request.config"},
		},
		"a run that answers a CloudFormation request without its stack": {
			raw:     mutated(t, "stepfunctions-summarize.json", func(ev map[string]any) { set(ev, "request.cloudFormation.StackId", "") }),
			outcome: outcome{errField: "request.cloudFormation.StackId"},
		},
		"summarize without the map's manifest": {
			raw:     mutated(t, "stepfunctions-summarize.json", func(ev map[string]any) { delete(ev, "map") }),
			outcome: outcome{errField: "map.ResultWriterDetails.Key"},
		},
		"abort without the error": {
			raw:     mutated(t, "stepfunctions-abort.json", func(ev map[string]any) { delete(ev, "error") }),
			outcome: outcome{errField: "error"},
		},
		"a batch without items": {
			raw:     mutated(t, "stepfunctions-work.json", func(ev map[string]any) { ev["Items"] = []any{} }),
			outcome: outcome{errField: "Items"},
		},
		"a batch with a bad account": {
			raw: mutated(t, "stepfunctions-work.json", func(ev map[string]any) {
				set(ev, "Items", []any{map[string]any{"account": "12", "regions": map[string]any{}}})
			}),
			outcome: outcome{errField: "Items[0].account"},
		},
		"a batch with an account in a ring the configuration does not have": {
			raw: mutated(t, "stepfunctions-work.json", func(ev map[string]any) {
				set(ev, "Items", []any{map[string]any{"account": "222222222222", "ring": "canary", "regions": map[string]any{"converge": []any{"us-east-1"}}}})
			}),
			outcome: outcome{errField: "Items[0].ring"},
		},
		"a batch whose previous configuration does not validate": {
			raw:     mutated(t, "stepfunctions-work.json", func(ev map[string]any) { set(ev, "BatchInput.previous", map[string]any{"windows": 3}) }),
			outcome: outcome{errField: "BatchInput.previous"},
		},
		"a batch with a null previous configuration": {
			raw: mutated(t, "stepfunctions-work.json", func(ev map[string]any) { set(ev, "BatchInput.previous", nil) }),
			outcome: outcome{want: Request{Source: SourceStepFunctions, Action: RunStep,
				Reason: "step work of run schedule-89d1a02d-5ec7-412e-82f5-13505f849b41: 2 accounts",
				Step:   &Step{Name: StepWork, Run: "schedule-89d1a02d-5ec7-412e-82f5-13505f849b41"}}},
		},
		"a step that is also an EventBridge event": {raw: []byte(`{"step":"discover","source":"aws.events"}`), outcome: outcome{errField: "-"}},
		"both CloudFormation and EventBridge":      {raw: []byte(`{"RequestType":"Create","source":"aws.events"}`), outcome: outcome{errField: "-"}},
		"neither CloudFormation nor EventBridge":   {raw: []byte(`{"hello":"world"}`), outcome: outcome{errField: "-"}},
		"JSON null":                                {raw: []byte(`null`), outcome: outcome{errField: "-"}},
		"JSON array":                               {raw: []byte(`[{"source":"aws.events"}]`), outcome: outcome{errField: "-"}},
		"empty input":                              {raw: []byte(``), outcome: outcome{errField: "-"}},
		"source of the wrong type":                 {raw: []byte(`{"source":12,"detail-type":"Scheduled Event"}`), outcome: outcome{errField: "-"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { checkOutcome(t, tc.outcome, tc.raw) })
	}
}
