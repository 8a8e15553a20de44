package smodel

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validWindow is a CreateMaintenanceWindow body that satisfies the model.
const validWindow = `{"Name":"patch-scan","Schedule":"cron(0 2 ? * SUN *)","Duration":3,"Cutoff":1,"AllowUnassociatedTargets":false}`

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		service, op, body string
		want              []Violation
	}{
		"valid input has no violation": {service: "ssm", op: "CreateMaintenanceWindow", body: validWindow},
		"unknown members are ignored": {service: "ssm", op: "CreateMaintenanceWindow",
			body: `{"Name":"patch-scan","Schedule":"rate(1 days)","Duration":3,"Cutoff":1,"AllowUnassociatedTargets":true,"Colour":"blue"}`},
		"missing required members, in member order": {service: "ssm", op: "CreateMaintenanceWindow", body: `{"Name":"abc","Cutoff":null}`,
			want: []Violation{
				{Path: "allowUnassociatedTargets", Constraint: Required, Message: "Value null at 'allowUnassociatedTargets' failed to satisfy constraint: Member must not be null"},
				{Path: "cutoff", Constraint: Required, Message: "Value null at 'cutoff' failed to satisfy constraint: Member must not be null"},
				{Path: "duration", Constraint: Required, Message: "Value null at 'duration' failed to satisfy constraint: Member must not be null"},
				{Path: "schedule", Constraint: Required, Message: "Value null at 'schedule' failed to satisfy constraint: Member must not be null"},
			}},
		"string too short and outside its pattern": {service: "ssm", op: "GetMaintenanceWindow", body: `{"WindowId":"mw-1"}`,
			want: []Violation{
				{Path: "windowId", Constraint: Length, Message: "Value 'mw-1' at 'windowId' failed to satisfy constraint: Member must have length greater than or equal to 20"},
				{Path: "windowId", Constraint: Pattern, Message: "Value 'mw-1' at 'windowId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^mw-[0-9a-f]{17}$"},
			}},
		"number above its range": {service: "ssm", op: "CreateMaintenanceWindow",
			body: `{"Name":"patch-scan","Schedule":"rate(1 days)","Duration":25,"Cutoff":1,"AllowUnassociatedTargets":false}`,
			want: []Violation{{Path: "duration", Constraint: Range, Message: "Value '25' at 'duration' failed to satisfy constraint: Member must have value less than or equal to 24"}}},
		"number below its range": {service: "organizations", op: "ListAccounts", body: `{"MaxResults":0}`,
			want: []Violation{{Path: "maxResults", Constraint: Range, Message: "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"}}},
		"enum": {service: "ssm", op: "ListTagsForResource", body: `{"ResourceType":"Window","ResourceId":"mw-0123456789abcdef0"}`,
			want: []Violation{{Path: "resourceType", Constraint: Enum, Message: "Value 'Window' at 'resourceType' failed to satisfy constraint: Member must satisfy enum value set: [Document, ManagedInstance, MaintenanceWindow, Parameter, PatchBaseline, OpsItem, OpsMetadata, Automation, Association]"}}},
		"list too long and nested members": {service: "ssm", op: "RegisterTargetWithMaintenanceWindow",
			body: `{"WindowId":"mw-0123456789abcdef0","ResourceType":"INSTANCE","Targets":[{"Key":"tag:A","Values":["x"]},{"Key":"","Values":[]},{"Key":"k"},{"Key":"k"},{"Key":"k"},{"Key":"k"}]}`,
			want: []Violation{
				{Path: "targets", Constraint: Length, Message: "Value '[{Key=tag:A, Values=[x]}, {Key=, Values=[]}, {Key=k}, {Key=k}, {Key=k}, {Key=k}]' at 'targets' failed to satisfy constraint: Member must have length less than or equal to 5"},
				{Path: "targets.2.member.key", Constraint: Length, Message: "Value '' at 'targets.2.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
			}},
		"map keys and values": {service: "ssm", op: "RegisterTaskWithMaintenanceWindow",
			body: `{"WindowId":"mw-0123456789abcdef0","TaskArn":"AWS-RunPatchBaseline","TaskType":"RUN_COMMAND","TaskParameters":{"":{"Values":[""]}}}`,
			want: []Violation{
				{Path: "taskParameters", Constraint: Length, Message: "Value '' at 'taskParameters' failed to satisfy constraint: Member must have length greater than or equal to 1"},
				{Path: "taskParameters..values.1.member", Constraint: Length, Message: "Value '' at 'taskParameters..values.1.member' failed to satisfy constraint: Member must have length greater than or equal to 1"},
			}},
		"not-blank lookahead": {service: "ssm", op: "RegisterTaskWithMaintenanceWindow",
			body: `{"WindowId":"mw-0123456789abcdef0","TaskArn":"AWS-RunPatchBaseline","TaskType":"RUN_COMMAND","AlarmConfiguration":{"Alarms":[{"Name":"   "}]}}`,
			want: []Violation{{Path: "alarmConfiguration.alarms.1.member.name", Constraint: Pattern, Message: "Value '   ' at 'alarmConfiguration.alarms.1.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!\\s*$).+"}}},
		"string where a number belongs": {service: "ssm", op: "CreateMaintenanceWindow",
			body: `{"Name":"patch-scan","Schedule":"rate(1 days)","Duration":"3","Cutoff":1,"AllowUnassociatedTargets":false}`,
			want: []Violation{{Path: "duration", Constraint: Type, Message: "Value '3' at 'duration' failed to satisfy constraint: Member must be a number of type integer"}}},
		"unknown operation is not checked": {service: "ssm", op: "SendCommand", body: `{}`},
		"unknown service is not checked":   {service: "lambda", op: "Invoke", body: `{}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Validate(tc.service, tc.op, json.RawMessage(tc.body))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate(%s, %s) (-want +got):\n%s", tc.service, tc.op, diff)
			}
		})
	}
}

func TestValidateValueAcceptsQueryStrings(t *testing.T) {
	tests := map[string]struct {
		in   map[string]any
		want []Constraint
	}{
		"numeric string in range": {in: map[string]any{"RoleArn": "arn:aws:iam::111111111111:role/r", "RoleSessionName": "session", "DurationSeconds": "3600"}},
		"numeric string out of range": {in: map[string]any{"RoleArn": "arn:aws:iam::111111111111:role/r", "RoleSessionName": "session", "DurationSeconds": "60"},
			want: []Constraint{{"durationSeconds", Range}}},
		"not a number":   {in: map[string]any{"RoleArn": "arn:aws:iam::111111111111:role/r", "RoleSessionName": "session", "DurationSeconds": "soon"}, want: []Constraint{{"durationSeconds", Type}}},
		"missing member": {in: map[string]any{"RoleArn": "arn:aws:iam::111111111111:role/r"}, want: []Constraint{{"roleSessionName", Required}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []Constraint
			for _, v := range ValidateValue("sts", "AssumeRole", tc.in) {
				got = append(got, Constraint{v.Path, v.Constraint})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ValidateValue (-want +got):\n%s", diff)
			}
		})
	}
}

// Constraint is a violation without its message, for compact tables.
type Constraint struct{ Path, Kind string }

func TestMessage(t *testing.T) {
	one := Violation{Message: "Value 'a' at 'x' failed to satisfy constraint: Member must have length greater than or equal to 3"}
	two := Violation{Message: "Value null at 'y' failed to satisfy constraint: Member must not be null"}
	tests := map[string]struct {
		in   []Violation
		want string
	}{
		"none": {},
		"one":  {in: []Violation{one}, want: "1 validation error detected: " + one.Message},
		"two":  {in: []Violation{one, two}, want: "2 validation errors detected: " + one.Message + "; " + two.Message},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Message(tc.in)); diff != "" {
				t.Errorf("Message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEveryServiceLoadsWithItsOperations(t *testing.T) {
	for svc, op := range map[string]string{"ssm": "CreateMaintenanceWindow", "organizations": "ListAccounts", "sts": "AssumeRole", "ec2": "DescribeRegions", "controltower": "ListLandingZones"} {
		if !Has(svc, op) {
			t.Errorf("Has(%s, %s) = false; the embedded model should describe it (operations: %v)", svc, op, Operations(svc))
		}
	}
	if Has("ssm", "SendCommand") {
		t.Errorf("Has(ssm, SendCommand) = true; the simulator does not implement it")
	}
}
