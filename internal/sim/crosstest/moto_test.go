package crosstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// startMoto runs moto_server on a free loopback port until the test ends
// and returns its URL.
func startMoto(t *testing.T) string {
	t.Helper()
	return simtest.StartMoto(t, nil, needTool(t, "moto_server"))
}

// exchange is the raw HTTP answer to one call.
type exchange struct {
	status int
	body   []byte
}

type exchangeKey struct{}

// recorder keeps the raw answer of a call whose context carries an
// *exchange.
type recorder struct{ next aws.HTTPClient }

func (r recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	ex, ok := req.Context().Value(exchangeKey{}).(*exchange)
	if err != nil || !ok {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	ex.status, ex.body = resp.StatusCode, body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// diffCase is one call made against moto_server and the simulator alike.
type diffCase struct {
	Name      string
	Service   string // key of the models; with Operation, of sdkOps
	Operation string
	Params    map[string]any
	// Capture names values of the response (canonical paths, see lookup)
	// that later cases use as "${Name}".
	Capture map[string]string
	// MotoOnly cases prepare moto (which starts with no organization);
	// they are not compared.
	MotoOnly bool
	// WantError is the error code AWS documents for the call; "" for
	// success. The simulator must answer it.
	WantError string
	// Documented are members (shape paths) AWS's answer carries here
	// beyond what the simulator's answer shows; an error's message member,
	// as the model's error shape spells it, is documented by itself.
	Documented []string
}

// departure is how an answer departs from the one AWS documents: a
// different status and error code, a different shape altogether, or the
// members it leaves out or adds.
type departure struct {
	Why    string
	Status int    // the HTTP status answered instead, when not 0
	Error  string // the error code answered instead ("" for success), when Status is set
	Shape  []string
	Lacks  []string
	Adds   []string
}

// apply returns what an answer departing as d from want looks like.
func (d departure) apply(want result) result {
	if d.Status != 0 {
		want.Status, want.Error = d.Status, d.Error
	}
	if d.Shape != nil || d.Error == notAWSError {
		want.Shape = d.Shape
	}
	want.Shape = applyDeparture(want.Shape, d.Lacks, d.Adds)
	return want
}

// result is what one endpoint answered to a case.
type result struct {
	Status int
	Error  string   // error code; "" on success
	Shape  []string // of the body, success or error
}

const (
	missMW  = "mw-0123456789abcdef0"
	dhmcARN = "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole"
)

func diffCases() []diffCase {
	window := map[string]any{
		"Name": "differential", "Description": "moto and the simulator",
		"Schedule": "cron(0 3 ? * SUN *)", "ScheduleTimezone": "Etc/UTC",
		"Duration": 3, "Cutoff": 1, "AllowUnassociatedTargets": false,
		"Tags": []map[string]string{{"Key": "orgpatch:managed-by", "Value": "orgpatch"}},
	}
	win := map[string]any{"WindowId": "${WindowId}"}
	return []diffCase{
		{Name: "CreateMaintenanceWindow", Service: "ssm", Operation: "CreateMaintenanceWindow", Params: window, Capture: map[string]string{"WindowId": "windowid"}},
		{Name: "GetMaintenanceWindow", Service: "ssm", Operation: "GetMaintenanceWindow", Params: win, Documented: []string{"NextExecutionTime string"}},
		{Name: "DescribeMaintenanceWindows", Service: "ssm", Operation: "DescribeMaintenanceWindows", Documented: []string{"WindowIdentities[].NextExecutionTime string"}},
		{Name: "RegisterTargetWithMaintenanceWindow", Service: "ssm", Operation: "RegisterTargetWithMaintenanceWindow", Capture: map[string]string{"WindowTargetId": "windowtargetid"}, Params: map[string]any{
			"WindowId": "${WindowId}", "ResourceType": "INSTANCE", "Name": "differential-targets", "Description": "tagged for patching",
			"Targets": []map[string]any{{"Key": "tag:Patch", "Values": []string{"yes"}}},
		}},
		{Name: "DescribeMaintenanceWindowTargets", Service: "ssm", Operation: "DescribeMaintenanceWindowTargets", Params: win},
		{Name: "RegisterTaskWithMaintenanceWindow", Service: "ssm", Operation: "RegisterTaskWithMaintenanceWindow", Capture: map[string]string{"WindowTaskId": "windowtaskid"}, Params: map[string]any{
			"WindowId": "${WindowId}", "TaskArn": "AWS-RunPatchBaseline", "TaskType": "RUN_COMMAND", "Name": "differential-install", "Description": "install patches",
			"Targets":  []map[string]any{{"Key": "WindowTargetIds", "Values": []string{"${WindowTargetId}"}}},
			"Priority": 1, "MaxConcurrency": "10%", "MaxErrors": "5%",
			"TaskInvocationParameters": map[string]any{"RunCommand": map[string]any{
				"Parameters": map[string][]string{"Operation": {"Install"}, "RebootOption": {"RebootIfNeeded"}},
			}},
		}},
		{Name: "DescribeMaintenanceWindowTasks", Service: "ssm", Operation: "DescribeMaintenanceWindowTasks", Params: win},
		{Name: "GetMaintenanceWindowTask", Service: "ssm", Operation: "GetMaintenanceWindowTask", Params: map[string]any{"WindowId": "${WindowId}", "WindowTaskId": "${WindowTaskId}"}},
		{Name: "UpdateMaintenanceWindow", Service: "ssm", Operation: "UpdateMaintenanceWindow", Params: map[string]any{"WindowId": "${WindowId}", "Duration": 4}},
		{Name: "UpdateMaintenanceWindowTarget", Service: "ssm", Operation: "UpdateMaintenanceWindowTarget", Params: map[string]any{"WindowId": "${WindowId}", "WindowTargetId": "${WindowTargetId}", "Name": "renamed-targets"}},
		{Name: "UpdateMaintenanceWindowTask", Service: "ssm", Operation: "UpdateMaintenanceWindowTask", Params: map[string]any{"WindowId": "${WindowId}", "WindowTaskId": "${WindowTaskId}", "MaxErrors": "1"}},
		{Name: "AddTagsToResource", Service: "ssm", Operation: "AddTagsToResource", Params: map[string]any{
			"ResourceType": "MaintenanceWindow", "ResourceId": "${WindowId}", "Tags": []map[string]string{{"Key": "team", "Value": "platform"}},
		}},
		{Name: "ListTagsForResource", Service: "ssm", Operation: "ListTagsForResource", Params: map[string]any{"ResourceType": "MaintenanceWindow", "ResourceId": "${WindowId}"}},
		{Name: "RemoveTagsFromResource", Service: "ssm", Operation: "RemoveTagsFromResource", Params: map[string]any{"ResourceType": "MaintenanceWindow", "ResourceId": "${WindowId}", "TagKeys": []string{"team"}}},
		{Name: "ListTagsForResource/missing window", Service: "ssm", Operation: "ListTagsForResource", WantError: "InvalidResourceId", Params: map[string]any{"ResourceType": "MaintenanceWindow", "ResourceId": missMW}},
		{Name: "DeregisterTaskFromMaintenanceWindow", Service: "ssm", Operation: "DeregisterTaskFromMaintenanceWindow", Params: map[string]any{"WindowId": "${WindowId}", "WindowTaskId": "${WindowTaskId}"}},
		{Name: "DeregisterTargetFromMaintenanceWindow", Service: "ssm", Operation: "DeregisterTargetFromMaintenanceWindow", Params: map[string]any{"WindowId": "${WindowId}", "WindowTargetId": "${WindowTargetId}"}},
		{Name: "DeleteMaintenanceWindow", Service: "ssm", Operation: "DeleteMaintenanceWindow", Params: win},
		{Name: "GetMaintenanceWindow/missing", Service: "ssm", Operation: "GetMaintenanceWindow", WantError: "DoesNotExistException", Params: map[string]any{"WindowId": missMW}},
		{Name: "RegisterTargetWithMaintenanceWindow/missing window", Service: "ssm", Operation: "RegisterTargetWithMaintenanceWindow", WantError: "DoesNotExistException", Params: map[string]any{
			"WindowId": missMW, "ResourceType": "INSTANCE", "Targets": []map[string]any{{"Key": "tag:Patch", "Values": []string{"yes"}}},
		}},
		{Name: "CreateMaintenanceWindow/cutoff>=duration", Service: "ssm", Operation: "CreateMaintenanceWindow", WantError: "ValidationException", Params: map[string]any{
			"Name": "differential-bad", "Schedule": "cron(0 3 ? * SUN *)", "Duration": 2, "Cutoff": 2, "AllowUnassociatedTargets": false,
		}},
		{Name: "CreateMaintenanceWindow/duration 30 cutoff 40", Service: "ssm", Operation: "CreateMaintenanceWindow", WantError: "ValidationException", Params: map[string]any{
			"Name": "differential-bad", "Schedule": "cron(0 3 ? * SUN *)", "Duration": 30, "Cutoff": 40, "AllowUnassociatedTargets": false,
		}},
		{Name: "DescribeDocument/AWS-RunPatchBaseline", Service: "ssm", Operation: "DescribeDocument", Params: map[string]any{"Name": "AWS-RunPatchBaseline"}},
		{Name: "DescribeDocument/missing", Service: "ssm", Operation: "DescribeDocument", WantError: "InvalidDocument", Params: map[string]any{"Name": "differential-no-such-document"}},
		{Name: "GetServiceSetting", Service: "ssm", Operation: "GetServiceSetting", Params: map[string]any{"SettingId": dhmcSetting}},
		{Name: "UpdateServiceSetting", Service: "ssm", Operation: "UpdateServiceSetting", Params: map[string]any{"SettingId": dhmcSetting, "SettingValue": dhmcARN}},
		{Name: "PutParameter", Service: "ssm", Operation: "PutParameter", Params: map[string]any{"Name": "/orgpatch/differential", "Value": "v1", "Type": "String"}},
		{Name: "PutParameter/exists", Service: "ssm", Operation: "PutParameter", WantError: "ParameterAlreadyExists", Params: map[string]any{"Name": "/orgpatch/differential", "Value": "v2", "Type": "String"}},
		{Name: "GetParameter", Service: "ssm", Operation: "GetParameter", Params: map[string]any{"Name": "/orgpatch/differential"}},
		{Name: "DeleteParameter", Service: "ssm", Operation: "DeleteParameter", Params: map[string]any{"Name": "/orgpatch/differential"}},
		{Name: "GetParameter/missing", Service: "ssm", Operation: "GetParameter", WantError: "ParameterNotFound", Params: map[string]any{"Name": "/orgpatch/differential"}},
		{Name: "DeleteParameter/missing", Service: "ssm", Operation: "DeleteParameter", WantError: "ParameterNotFound", Params: map[string]any{"Name": "/orgpatch/differential"}},

		{Name: "CreateOrganization", MotoOnly: true, Service: "organizations", Operation: "CreateOrganization", Params: map[string]any{"FeatureSet": "ALL"}},
		{Name: "ListRoots/moto", MotoOnly: true, Service: "organizations", Operation: "ListRoots", Capture: map[string]string{"RootId": "roots.0.id"}},
		{Name: "CreateOrganizationalUnit", MotoOnly: true, Service: "organizations", Operation: "CreateOrganizationalUnit", Params: map[string]any{"ParentId": "${RootId}", "Name": "Security"}},
		{Name: "CreateAccount", MotoOnly: true, Service: "organizations", Operation: "CreateAccount", Params: map[string]any{"AccountName": "audit", "Email": "audit@moto.example.com"}},
		{Name: "DescribeOrganization", Service: "organizations", Operation: "DescribeOrganization", Capture: map[string]string{"Mgmt": "organization.masteraccountid"}},
		{Name: "ListRoots", Service: "organizations", Operation: "ListRoots", Capture: map[string]string{"RootId": "roots.0.id"}},
		{Name: "ListAccounts", Service: "organizations", Operation: "ListAccounts"},
		{Name: "DescribeAccount", Service: "organizations", Operation: "DescribeAccount", Params: map[string]any{"AccountId": "${Mgmt}"}},
		{Name: "DescribeAccount/missing", Service: "organizations", Operation: "DescribeAccount", WantError: "AccountNotFoundException", Params: map[string]any{"AccountId": "000000000000"}},
		{Name: "ListParents", Service: "organizations", Operation: "ListParents", Params: map[string]any{"ChildId": "${Mgmt}"}},
		{Name: "ListOrganizationalUnitsForParent", Service: "organizations", Operation: "ListOrganizationalUnitsForParent", Params: map[string]any{"ParentId": "${RootId}"}},
		{Name: "ListAccountsForParent", Service: "organizations", Operation: "ListAccountsForParent", Params: map[string]any{"ParentId": "${RootId}"}},
		{Name: "ListTagsForResource/account", Service: "organizations", Operation: "ListTagsForResource", Params: map[string]any{"ResourceId": "${Mgmt}"}},

		{Name: "GetCallerIdentity", Service: "sts", Operation: "GetCallerIdentity"},
		{Name: "AssumeRole", Service: "sts", Operation: "AssumeRole", Params: map[string]any{
			"RoleArn": "arn:aws:iam::" + memberAccount + ":role/" + memberRole, "RoleSessionName": "differential",
		}},
		{Name: "AssumeRole/session name too short", Service: "sts", Operation: "AssumeRole", WantError: "ValidationError", Params: map[string]any{
			"RoleArn": "arn:aws:iam::" + memberAccount + ":role/" + memberRole, "RoleSessionName": "x",
		}},
		{Name: "DescribeRegions", Service: "ec2", Operation: "DescribeRegions"},
		{Name: "DescribeRegions/unknown region", Service: "ec2", Operation: "DescribeRegions", WantError: "InvalidParameterValue", Params: map[string]any{"RegionNames": []string{"xx-nowhere-1"}}},
	}
}

// Departures that several cases share.
var (
	assumeRoleShape = []string{
		"AssumeRoleResponse element", "AssumeRoleResponse/AssumeRoleResult element",
		"AssumeRoleResponse/AssumeRoleResult/AssumedRoleUser element",
		"AssumeRoleResponse/AssumeRoleResult/AssumedRoleUser/Arn text",
		"AssumeRoleResponse/AssumeRoleResult/AssumedRoleUser/AssumedRoleId text",
		"AssumeRoleResponse/AssumeRoleResult/Credentials element",
		"AssumeRoleResponse/AssumeRoleResult/Credentials/AccessKeyId text",
		"AssumeRoleResponse/AssumeRoleResult/Credentials/Expiration text",
		"AssumeRoleResponse/AssumeRoleResult/Credentials/SecretAccessKey text",
		"AssumeRoleResponse/AssumeRoleResult/Credentials/SessionToken text",
		"AssumeRoleResponse/AssumeRoleResult/PackedPolicySize text",
		"AssumeRoleResponse/ResponseMetadata element", "AssumeRoleResponse/ResponseMetadata/RequestId text",
	}
	notImplemented = func(op string) departure {
		return departure{
			Why:    "moto does not implement " + op + ": it answers HTTP 500 with an HTML page, AWS answers the operation",
			Status: http.StatusInternalServerError, Error: notAWSError,
		}
	}
	acceptsBadWindow = func(what string) departure {
		return departure{
			Why:    "moto creates a window with " + what + "; AWS answers ValidationException",
			Status: http.StatusOK, Shape: []string{"WindowId string"},
		}
	}
	messageTwice = departure{
		Why:  "moto's error carries its message twice, as Message and as message; the model's error shape names only message",
		Adds: []string{"Message string"},
	}
	noNullNextToken = departure{
		Why:  "moto sends \"NextToken\": null on the last page; AWS leaves out a member it has no value for",
		Adds: []string{"NextToken null"},
	}
)

// motoDepartures are the ways moto 5.2.1 departs from the AWS
// documentation on diffCases, keyed by case name: each says what moto
// answers instead of the answer AWS documents. Each must stay exactly
// true: when moto changes, the test says so and the entry goes.
var motoDepartures = map[string]departure{
	"GetMaintenanceWindow": {
		Why:   "moto's GetMaintenanceWindow leaves out AllowUnassociatedTargets, CreatedDate, ModifiedDate and NextExecutionTime, which AWS returns",
		Lacks: []string{"AllowUnassociatedTargets boolean", "CreatedDate number", "ModifiedDate number", "NextExecutionTime string"},
	},
	"DescribeMaintenanceWindows": {
		Why:   "moto's window identities leave out NextExecutionTime, which AWS returns for an enabled window",
		Lacks: []string{"WindowIdentities[].NextExecutionTime string"},
	},
	"DescribeMaintenanceWindowTargets": {
		Why:  "moto sends OwnerInformation as \"\" for a target registered without it; AWS leaves out a member that was never set",
		Adds: []string{"Targets[].OwnerInformation string"},
	},
	"DescribeMaintenanceWindowTasks": {
		Why: "moto leaves out a task's Type (it answers TaskType, which is no member of AWS's MaintenanceWindowTask), " +
			"and CutoffBehavior and ServiceRoleArn, which the simulator reports with AWS's defaults (CONTINUE_TASK, the service-linked role) when registration left them out",
		Lacks: []string{"Tasks[].Type string", "Tasks[].CutoffBehavior string", "Tasks[].ServiceRoleArn string"},
	},
	"GetMaintenanceWindowTask":      notImplemented("GetMaintenanceWindowTask"),
	"UpdateMaintenanceWindow":       notImplemented("UpdateMaintenanceWindow"),
	"UpdateMaintenanceWindowTarget": notImplemented("UpdateMaintenanceWindowTarget"),
	"UpdateMaintenanceWindowTask":   notImplemented("UpdateMaintenanceWindowTask"),
	"GetServiceSetting":             notImplemented("GetServiceSetting (no service settings at all)"),
	"UpdateServiceSetting":          notImplemented("UpdateServiceSetting (no service settings at all)"),
	"DeregisterTaskFromMaintenanceWindow": {
		Why:   "moto answers DeregisterTaskFromMaintenanceWindow with an empty object; AWS returns the WindowId and WindowTaskId",
		Lacks: []string{"WindowId string", "WindowTaskId string"},
	},
	"DeregisterTargetFromMaintenanceWindow": {
		Why:   "moto answers DeregisterTargetFromMaintenanceWindow with an empty object; AWS returns the WindowId and WindowTargetId",
		Lacks: []string{"WindowId string", "WindowTargetId string"},
	},
	"DeleteMaintenanceWindow": {
		Why:   "moto answers DeleteMaintenanceWindow with an empty object; AWS returns the WindowId",
		Lacks: []string{"WindowId string"},
	},
	"CreateMaintenanceWindow/cutoff>=duration":      acceptsBadWindow("a cutoff of 2 hours in a window of 2 (cutoff not below duration)"),
	"CreateMaintenanceWindow/duration 30 cutoff 40": acceptsBadWindow("duration 30 and cutoff 40 (the model allows 1..24 and 0..23)"),
	"DescribeDocument/AWS-RunPatchBaseline": {
		Why:    "moto has no AWS-owned documents: AWS-RunPatchBaseline is InvalidDocument there",
		Status: http.StatusBadRequest, Error: "InvalidDocument", Shape: []string{"Message string", "__type string"},
	},
	"PutParameter/exists":     messageTwice,
	"GetParameter/missing":    messageTwice,
	"DeleteParameter/missing": messageTwice,
	"AssumeRole/session name too short": {
		Why:    "moto assumes a role for a one-character RoleSessionName; AWS answers ValidationError (the model's minimum is 2)",
		Status: http.StatusOK, Shape: assumeRoleShape,
	},
	"DescribeRegions/unknown region": {
		Why:    "moto answers an unknown region name with an empty region list; AWS answers InvalidParameterValue (Invalid region)",
		Status: http.StatusOK, Shape: []string{"DescribeRegionsResponse element", "DescribeRegionsResponse/regionInfo text", "DescribeRegionsResponse/requestId text"},
	},
	"ListAccounts":                     noNullNextToken,
	"ListOrganizationalUnitsForParent": noNullNextToken,
	"ListAccountsForParent":            noNullNextToken,
}

// motoState are differences that come from the state each side starts
// from, not from a departure.
var motoState = map[string]departure{
	"DescribeOrganization": {
		Why: "moto's new organization has service control policies enabled, as CreateOrganization documents; the simulated one has no policy type enabled",
		Adds: []string{"Organization.AvailablePolicyTypes[] object", "Organization.AvailablePolicyTypes[].Status string",
			"Organization.AvailablePolicyTypes[].Type string"},
	},
}

// simDeparture is where the simulator itself departs from the AWS
// documentation: the members its answer carries that AWS's does not
// (Adds) and those it leaves out (Lacks).
type simDeparture = departure

var messageCase = simDeparture{
	Why:   "the simulator's JSON errors carry message; this error's shape in the AWS model names it Message",
	Lacks: []string{"Message string"}, Adds: []string{"message string"},
}

// simDepartures are the simulator's known departures from AWS on
// diffCases, keyed by case name, each reported to be fixed. They must stay
// exactly true too: when one is fixed the test fails until its entry goes.
var simDepartures = map[string]simDeparture{
	"GetMaintenanceWindow/missing":                       messageCase,
	"RegisterTargetWithMaintenanceWindow/missing window": messageCase,
	"CreateMaintenanceWindow/cutoff>=duration":           messageCase,
	"CreateMaintenanceWindow/duration 30 cutoff 40":      messageCase,
	"DescribeDocument/missing":                           messageCase,
	"DescribeAccount/missing":                            messageCase,
}

// TestMotoDifferential runs diffCases against moto_server and against the
// simulator through the Go SDK and compares the raw answers. The simulator
// must answer as AWS documents (the error code, only members of the
// model's output or error shape, the documented members), but for the
// departures in simDepartures; moto must answer as AWS does, but for the
// departures in motoDepartures and the differences of state in motoState.
func TestMotoDifferential(t *testing.T) {
	python := needPythonModules(t, "botocore")
	motoURL := startMoto(t)
	dir := botocoreDir(t, python)
	models := map[string]*model{
		"ssm":           loadModel(t, dir, "ssm", "2014-11-06"),
		"organizations": loadModel(t, dir, "organizations", "2016-11-28"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := simtest.Start(t, nil)
	simCfg := differentialConfig(ctx, t, env.URL, sim.ManagementAccessKeyID, sim.ManagementSecretAccessKey)
	motoCfg := differentialConfig(ctx, t, motoURL, "testing", "testing")

	simNames, motoNames := map[string]string{}, map[string]string{}
	ran := map[string]bool{}
	for _, c := range diffCases() {
		if c.MotoOnly {
			if r, _ := call(ctx, t, motoCfg, c, motoNames, nil); r.Error != "" {
				t.Fatalf("preparing moto: %s: %s %v", c.Name, r.Error, r.Shape)
			}
			continue
		}
		ran[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			m := models[c.Service]
			simGot, undefined := call(ctx, t, simCfg, c, simNames, m)
			if simGot.Error != c.WantError {
				t.Errorf("simulator: error code %q, want %q as AWS documents", simGot.Error, c.WantError)
			}
			for _, u := range undefined {
				if strings.Contains(u, ": ") {
					t.Errorf("simulator: %s", u)
				}
			}
			documented := append(slices.Clone(c.Documented), m.messageMember(simGot.Error)...)
			sd, simDeparts := simDepartures[c.Name]
			gotDeparture := simDeparture{Lacks: subtract(documented, simGot.Shape), Adds: typed(simGot.Shape, undefined)}
			if diff := cmp.Diff(sd, gotDeparture, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(departure{}, "Why"), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				why := "the simulator departs from the AWS model where no departure is named"
				if simDeparts {
					why = "the simulator no longer departs as simDepartures says (" + sd.Why + ")"
				}
				t.Errorf("%s (-want +got):\n%s", why, diff)
			}
			// What AWS answers: the simulator's answer without its departure.
			aws := simGot
			aws.Shape = applyDeparture(simGot.Shape, sd.Adds, sd.Lacks)

			motoGot, _ := call(ctx, t, motoCfg, c, motoNames, nil)
			want := aws
			d, departs := motoDepartures[c.Name]
			if departs {
				want = d.apply(want)
			}
			st, differs := motoState[c.Name]
			if differs {
				want = st.apply(want)
			}
			if m != nil && want.Error != "" && len(m.messageMember(want.Error)) == 0 {
				// The model's error shape names no message member, so
				// neither spelling is AWS's.
				want.Shape, motoGot.Shape = foldMessage(want.Shape), foldMessage(motoGot.Shape)
			}
			if diff := cmp.Diff(want, motoGot, cmpopts.EquateEmpty()); diff != "" {
				why := "moto departs from AWS where no departure is named"
				if departs || differs {
					why = "moto no longer departs exactly as named (" + d.Why + st.Why + ")"
				}
				t.Errorf("%s (-want +moto):\n%s", why, diff)
			}
		})
	}
	for _, table := range []map[string]departure{motoDepartures, motoState, simDepartures} {
		for name := range table {
			if !ran[name] {
				t.Errorf("a departure names %q, which no case runs", name)
			}
		}
	}
}

// typed returns the paths of shape (path and type) whose path is one of
// members.
func typed(shape, members []string) []string {
	var out []string
	for _, p := range shape {
		path, _, _ := strings.Cut(p, " ")
		if slices.Contains(members, path) {
			out = append(out, p)
		}
	}
	return out
}

// foldMessage spells a top-level message member in lower case.
func foldMessage(shape []string) []string {
	out := slices.Clone(shape)
	for i, p := range out {
		if p == "Message string" {
			out[i] = "message string"
		}
	}
	slices.Sort(out)
	return out
}

// messageMember is the documented message member of an error's answer:
// the member of the model's error shape that carries it; none on success,
// without a model, or when the shape names no message.
func (m *model) messageMember(code string) []string {
	if m == nil || code == "" {
		return nil
	}
	for name := range m.Shapes[code].Members {
		if strings.EqualFold(name, "message") {
			return []string{name + " string"}
		}
	}
	return nil
}

// differentialConfig acts with static keys against endpoint, recording raw
// answers and never retrying, so each case is one exchange.
func differentialConfig(ctx context.Context, t *testing.T, endpoint, key, secret string) aws.Config {
	t.Helper()
	cfg, err := awsconf.Load(ctx, awsconf.Options{
		Region: simtest.Region, Endpoint: endpoint, AccessKeyID: key, SecretAccessKey: secret, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Wrapped after loading: awsconf refuses a plain *http.Client when
	// AWS_CA_BUNDLE is set, and the loaded client honours the bundle.
	cfg.HTTPClient = recorder{next: cfg.HTTPClient}
	return cfg
}

// notAWSError is result.Error for an answer that carries no AWS error (a
// server's HTML error page).
const notAWSError = "(no AWS error in the answer)"

// call makes c through the SDK against cfg's endpoint and returns the raw
// answer's status, error code and shape, and the members of a JSON answer
// that m (when not nil) does not define for the operation's output or the
// error's shape.
func call(ctx context.Context, t *testing.T, cfg aws.Config, c diffCase, names map[string]string, m *model) (result, []string) {
	t.Helper()
	op, ok := sdkOps[c.Service+"."+c.Operation]
	if !ok {
		t.Fatalf("case %s: no SDK call for %s.%s", c.Name, c.Service, c.Operation)
	}
	params, err := substitute(c.Params, names)
	if err != nil {
		t.Fatalf("case %s: %v", c.Name, err)
	}
	if c.Params == nil {
		params = []byte("{}")
	}
	ex := &exchange{}
	out, err := op(context.WithValue(ctx, exchangeKey{}, ex), cfg, params)
	r := result{Status: ex.status}
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae):
		r.Error = ae.ErrorCode()
	case err != nil && ex.status >= 500:
		r.Error = notAWSError
		return r, nil
	case err != nil:
		t.Fatalf("case %s: %v", c.Name, err)
	default:
		resp := canonGo(out)
		for name, path := range c.Capture {
			v, ok := lookup(resp, path).(string)
			if !ok {
				t.Fatalf("case %s: no %s at %s in %v", c.Name, name, path, resp)
			}
			names[name] = v
		}
	}
	if c.Service == "sts" || c.Service == "ec2" {
		if r.Shape, err = xmlShape(ex.body); err != nil {
			t.Errorf("case %s: %v", c.Name, err)
		}
		return r, nil
	}
	shape := ""
	if m != nil {
		shape = m.outputShape(c.Operation)
		if r.Error != "" {
			shape = r.Error
		}
	}
	var unknown []string
	r.Shape, unknown, err = jsonShape(ex.body, m, shape)
	if err != nil {
		t.Errorf("case %s: %v", c.Name, err)
	}
	if r.Error != "" {
		// __type carries the code in every JSON 1.1 error; an error shape
		// without members says nothing of the message's spelling.
		unknown = subtract(unknown, []string{"__type"})
		if m != nil && len(m.Shapes[r.Error].Members) == 0 {
			unknown = subtract(unknown, []string{"message", "Message"})
		}
	}
	return r, unknown
}
