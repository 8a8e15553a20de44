package crosstest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The comparisons are only as good as these helpers: they must keep the
// differences a user of a client would see and drop only the ones the
// canonical form says it drops.

func TestJSONShape(t *testing.T) {
	m := &model{Shapes: map[string]modelShape{
		"Out":   {Type: "structure", Members: map[string]shapeRef{"Name": {"Str"}, "When": {"Time"}, "Items": {"List"}, "Params": {"Map"}}},
		"Str":   {Type: "string"},
		"Time":  {Type: "timestamp"},
		"Int":   {Type: "integer"},
		"List":  {Type: "list", Member: &shapeRef{"Item"}},
		"Item":  {Type: "structure", Members: map[string]shapeRef{"N": {"Int"}}},
		"Map":   {Type: "map", Value: &shapeRef{"Strs"}},
		"Strs":  {Type: "list", Member: &shapeRef{"Str"}},
		"Empty": {Type: "structure"},
	}}
	for name, tc := range map[string]struct {
		body        string
		shape       string
		wantPaths   []string
		wantUnknown []string
	}{
		"model members, list items merged, map keys folded": {
			body:  `{"Name":"w","When":1.5,"Items":[{"N":1},{"N":2}],"Params":{"Operation":["Install"],"RebootOption":["NoReboot"]}}`,
			shape: "Out",
			wantPaths: []string{
				"Items array", "Items[] object", "Items[].N number", "Name string",
				"Params object", "Params.{} array", "Params.{}[] string", "When number",
			},
		},
		"unknown member and wrong wire type": {
			body:        `{"Name":"w","When":"2026-11-22T10:00:00Z","name":"again"}`,
			shape:       "Out",
			wantPaths:   []string{"Name string", "When string", "name string"},
			wantUnknown: []string{"When: string, the model says number", "name"},
		},
		"no model: every key literal": {
			body:      `{"__type":"DoesNotExistException","Message":"gone","Params":{"a":[1]}}`,
			wantPaths: []string{"Message string", "Params object", "Params.a array", "Params.a[] number", "__type string"},
		},
		"empty body": {shape: "Empty"},
	} {
		t.Run(name, func(t *testing.T) {
			paths, unknown, err := jsonShape([]byte(tc.body), m, tc.shape)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUnknown, unknown, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("unknown (-want +got):\n%s", diff)
			}
		})
	}
}

func TestXMLShape(t *testing.T) {
	body := `<?xml version="1.0"?>
<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <regionInfo>
    <item><regionName>us-east-1</regionName><optInStatus>opt-in-not-required</optInStatus></item>
    <item><regionName>af-south-1</regionName></item>
  </regionInfo>
</DescribeRegionsResponse>`
	got, err := xmlShape([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DescribeRegionsResponse element",
		"DescribeRegionsResponse/regionInfo element",
		"DescribeRegionsResponse/regionInfo/item element",
		"DescribeRegionsResponse/regionInfo/item/optInStatus text",
		"DescribeRegionsResponse/regionInfo/item/regionName text",
		"DescribeRegionsResponse/requestId text",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shape (-want +got):\n%s", diff)
	}
	if _, err := xmlShape([]byte("<html><body>500</html>")); err == nil {
		t.Error("a broken page has a shape; want an error")
	}
}

// TestCanonicalForms checks that an SDK output and the JSON botocore
// decodes for the same answer meet in one canonical form, and that a
// changed value still shows.
func TestCanonicalForms(t *testing.T) {
	sdk := &ssm.GetMaintenanceWindowOutput{
		WindowId: aws.String("mw-0123456789abcdef0"), Name: aws.String("patch"),
		Duration: aws.Int32(3), Cutoff: 1, Enabled: true, AllowUnassociatedTargets: false,
		CreatedDate: aws.Time(time.Unix(1763800000, 0)),
	}
	cli := `{"WindowId":"mw-0123456789abcdef0","Name":"patch","Duration":3,"Cutoff":1,"Enabled":true,
		"AllowUnassociatedTargets":false,"CreatedDate":1763800000.0,"ResponseMetadata":{"RequestId":"r"}}`
	var decoded any
	if err := json.Unmarshal([]byte(cli), &decoded); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(canonGo(sdk), canonJSON(decoded)); diff != "" {
		t.Errorf("canonical forms of one answer differ (-sdk +cli):\n%s", diff)
	}
	tasks := &ssm.DescribeMaintenanceWindowTasksOutput{Tasks: []types.MaintenanceWindowTask{{
		Type: types.MaintenanceWindowTaskTypeRunCommand, Priority: 1,
		Targets: []types.Target{{Key: aws.String("WindowTargetIds"), Values: []string{"t-1"}}},
	}}}
	botoJSON := `{"Tasks":[{"Type":"AUTOMATION","Priority":1,"Targets":[{"Key":"WindowTargetIds","Values":["t-1"]}]}]}`
	if err := json.Unmarshal([]byte(botoJSON), &decoded); err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(canonGo(tasks), canonJSON(decoded)) {
		t.Error("RUN_COMMAND and AUTOMATION tasks have one canonical form; want them apart")
	}
}

func TestKebab(t *testing.T) {
	for op, want := range map[string]string{
		"GetCallerIdentity":                     "get-caller-identity",
		"RegisterTaskWithMaintenanceWindow":     "register-task-with-maintenance-window",
		"DescribeRegions":                       "describe-regions",
		"ListOrganizationalUnitsForParent":      "list-organizational-units-for-parent",
		"DeregisterTargetFromMaintenanceWindow": "deregister-target-from-maintenance-window",
	} {
		if got := kebab(op); got != want {
			t.Errorf("kebab(%q) = %q, want %q", op, got, want)
		}
	}
}
