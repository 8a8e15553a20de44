package ssmsvc

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// botoShape is a shape of botocore's service-2.json.
type botoShape struct {
	Type     string                            `json:"type"`
	Required []string                          `json:"required"`
	Members  map[string]struct{ Shape string } `json:"members"`
	Member   *struct{ Shape string }           `json:"member"`
	Key      *struct{ Shape string }           `json:"key"`
	Value    *struct{ Shape string }           `json:"value"`
	Min      *float64                          `json:"min"`
	Max      *float64                          `json:"max"`
	Pattern  string                            `json:"pattern"`
	Enum     []string                          `json:"enum"`
}

type botoModel struct {
	Operations map[string]struct {
		Input *struct{ Shape string } `json:"input"`
	} `json:"operations"`
	Shapes map[string]botoShape `json:"shapes"`
}

// loadBotocoreSSM reads the SSM model from the machine's botocore (not the
// copy smodel embeds), so the test checks the simulator against the source.
func loadBotocoreSSM(t *testing.T) *botoModel {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))").Output()
	if err != nil {
		t.Skipf("no botocore on this machine: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "ssm")
	versions, err := os.ReadDir(dir)
	if err != nil || len(versions) == 0 {
		t.Fatalf("botocore has no ssm model in %s: %v", dir, err)
	}
	p := filepath.Join(dir, versions[len(versions)-1].Name(), "service-2.json")
	raw, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		var gz []byte
		if gz, err = os.ReadFile(p + ".gz"); err == nil {
			var r *gzip.Reader
			if r, err = gzip.NewReader(bytes.NewReader(gz)); err == nil {
				raw, err = io.ReadAll(r)
			}
		}
	}
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	var m botoModel
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode %s: %v", p, err)
	}
	return &m
}

// violation is one constrained member set to a value that breaks it.
type violation struct {
	path  []any // map keys and list indexes from the request's root
	value any
	what  string
}

// violations lists, for the shape at path (whose current value is cur, nil
// when absent), every constraint and a value breaking it, and descends into
// the members present in the base request.
func violations(m *botoModel, shapeName string, path []any, cur any) []violation {
	s := m.Shapes[shapeName]
	var out []violation
	add := func(v any, what string) {
		out = append(out, violation{path: clonePath(path), value: v, what: fmt.Sprintf("%s %s (%s)", shapeName, what, pathString(path))})
	}
	switch s.Type {
	case "string":
		if s.Min != nil && *s.Min > 0 {
			add(strings.Repeat("a", int(*s.Min)-1), "below min length")
		}
		if s.Max != nil && *s.Max < 70000 {
			add(strings.Repeat("a", int(*s.Max)+1), "above max length")
		}
		if len(s.Enum) > 0 {
			add("NOT_IN_THE_ENUM", "outside the enum")
		}
		if s.Pattern != "" {
			if v, ok := breakPattern(s.Pattern, s.Min, s.Max); ok {
				add(v, "outside the pattern")
			} else {
				add(unbreakable(s.Pattern), "outside the pattern")
			}
		}
	case "integer", "long":
		if s.Min != nil {
			add(*s.Min-1, "below min")
		}
		if s.Max != nil && *s.Max < 1e15 {
			add(*s.Max+1, "above max")
		}
	case "list":
		if s.Min != nil && *s.Min > 0 {
			add([]any{}, "below min items")
		}
		items, _ := cur.([]any)
		if s.Max != nil && *s.Max < 2000 {
			var item any = "a"
			if m.Shapes[s.Member.Shape].Type == "structure" {
				item = map[string]any{}
			}
			if len(items) > 0 {
				item = items[0]
			}
			add(repeat(item, int(*s.Max)+1), "above max items")
		}
		if len(items) > 0 {
			out = append(out, violations(m, s.Member.Shape, append(clonePath(path), 0), items[0])...)
		}
	case "map":
		obj, _ := cur.(map[string]any)
		if s.Min != nil && *s.Min > 0 {
			add(map[string]any{}, "below min entries")
		}
		for k, v := range obj {
			for _, kv := range violations(m, s.Key.Shape, nil, nil) {
				if key, ok := kv.value.(string); ok {
					add(map[string]any{key: v}, "key "+kv.what)
				}
			}
			out = append(out, violations(m, s.Value.Shape, append(clonePath(path), k), v)...)
			break
		}
	case "structure":
		obj, _ := cur.(map[string]any)
		names := make([]string, 0, len(s.Members))
		for n := range s.Members {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			mv, present := obj[n]
			if !present && len(path) > 0 && obj == nil {
				continue
			}
			if present {
				out = append(out, violations(m, s.Members[n].Shape, append(clonePath(path), n), mv)...)
				continue
			}
			// Absent members: only their own scalar constraints.
			for _, v := range violations(m, s.Members[n].Shape, append(clonePath(path), n), nil) {
				if len(v.path) == len(path)+1 {
					out = append(out, v)
				}
			}
		}
		for _, r := range s.Required {
			if obj != nil {
				add(deleted(r), "without required "+r)
			}
		}
	}
	return out
}

// deleted marks a member to remove from the structure at the path.
type deleted string

// unbreakable marks a pattern the walk found no violating value for: the
// test fails on it, so a constraint is never left unchecked silently.
type unbreakable string

// breakPattern returns a value of allowed length that the pattern refuses:
// a few typical strings, then runs of one character at every allowed length
// (fixed-length id patterns such as mw-[0-9a-f]{17} need the exact length).
func breakPattern(pattern string, minLen, maxLen *float64) (string, bool) {
	if strings.HasPrefix(pattern, `^(?!\s*$)`) {
		return "   ", true
	}
	re, err := regexp.Compile(`^(?:` + javaToGo(pattern) + `)$`)
	if err != nil {
		return "", false
	}
	candidates := []string{"!", "~!~", "a b c", " ", "0", "-", "$", "\u00e9\u00e9\u00e9", "aaaaaaaaaaaaaaaaaaaa!", strings.Repeat("!", 40)}
	lo, hi := 1, 200
	if minLen != nil {
		lo = max(lo, int(*minLen))
	}
	if maxLen != nil {
		hi = min(hi, int(*maxLen))
	}
	for n := lo; n <= hi; n++ {
		for _, c := range []string{"!", " ", "\u00e9", "a", "0"} {
			candidates = append(candidates, strings.Repeat(c, n))
		}
	}
	for _, c := range candidates {
		n := float64(len([]rune(c)))
		if (minLen == nil || n >= *minLen) && (maxLen == nil || n <= *maxLen) && !re.MatchString(c) {
			return c, true
		}
	}
	return "", false
}

var javaUnicode = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)

func javaToGo(p string) string { return javaUnicode.ReplaceAllString(p, `\x{$1}`) }

func clonePath(p []any) []any { return append([]any(nil), p...) }

func repeat(v any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func pathString(p []any) string {
	parts := make([]string, len(p))
	for i, e := range p {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ".")
}

// apply returns a copy of base with the violation applied.
func apply(t *testing.T, base map[string]any, v violation) string {
	t.Helper()
	b, _ := json.Marshal(base)
	var root any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	at := func(node any, e any) any {
		if k, ok := e.(string); ok {
			return node.(map[string]any)[k]
		}
		return node.([]any)[e.(int)]
	}
	if d, ok := v.value.(deleted); ok {
		node := root
		for _, e := range v.path {
			node = at(node, e)
		}
		delete(node.(map[string]any), string(d))
	} else {
		parent := root
		for _, e := range v.path[:len(v.path)-1] {
			parent = at(parent, e)
		}
		switch k := v.path[len(v.path)-1].(type) {
		case string:
			parent.(map[string]any)[k] = v.value
		case int:
			parent.([]any)[k] = v.value
		}
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestModelConstraintsAnswerValidationException sends, for every
// constrained member of every implemented operation (as the machine's
// botocore models it), a request breaking that one constraint, raw over
// HTTP so no client-side check interferes, and expects AWS's
// ValidationException.
func TestModelConstraintsAnswerValidationException(t *testing.T) {
	m := loadBotocoreSSM(t)
	ts := newTestServer(t)
	bases := baseRequests(t, ts)
	ops := make([]string, 0, len(handlers))
	for op := range handlers {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	total := 0
	for _, op := range ops {
		if !smodel.Has("ssm", op) {
			t.Errorf("%s is implemented but smodel has no model of it; add it to smodel/internal/gen", op)
		}
		base, ok := bases[op]
		if !ok {
			t.Errorf("no base request for %s", op)
			continue
		}
		b, _ := json.Marshal(base)
		if _, code, out := ts.raw(t, op, string(b)); code == "ValidationException" || code == "SerializationException" {
			t.Errorf("%s: the base request itself is refused: %v", op, out)
			continue
		}
		in := m.Operations[op].Input
		if in == nil {
			continue
		}
		vs := violations(m, in.Shape, nil, base)
		for _, v := range vs {
			if p, ok := v.value.(unbreakable); ok {
				t.Errorf("%s: %s: no value breaks the pattern %s; teach breakPattern one", op, v.what, string(p))
				continue
			}
			body := apply(t, base, v)
			total++
			status, code, out := ts.raw(t, op, body)
			msg, _ := out["message"].(string)
			if status != 400 || code != "ValidationException" || !strings.Contains(msg, "failed to satisfy constraint") {
				t.Errorf("%s with %s: %d %s %q, want 400 ValidationException naming the constraint\nbody: %.300s", op, v.what, status, code, msg, body)
			}
		}
	}
	if total < 200 {
		t.Errorf("only %d constraint cases were generated; the walk over the model is broken", total)
	}
	t.Logf("%d constraint violations over %d operations answered ValidationException", total, len(ops))
}

// baseRequests are valid requests of every operation, rich enough that the
// walk reaches nested members; they run against windows, targets and tasks
// created here.
func baseRequests(t *testing.T, ts *testServer) map[string]map[string]any {
	t.Helper()
	call := func(op, body string) map[string]any {
		_, code, out := ts.raw(t, op, body)
		if code != "" {
			t.Fatalf("setup %s: %v", op, out)
		}
		return out
	}
	w := call("CreateMaintenanceWindow", `{"Name":"model-window","Schedule":"cron(0 2 ? * SUN *)","Duration":3,"Cutoff":1,"AllowUnassociatedTargets":false}`)["WindowId"].(string)
	target := func() string {
		return call("RegisterTargetWithMaintenanceWindow", `{"WindowId":"`+w+`","ResourceType":"INSTANCE","Targets":[{"Key":"tag:Patch","Values":["yes"]}]}`)["WindowTargetId"].(string)
	}
	t1, t2 := target(), target()
	runCommand := map[string]any{
		"Comment": "scan", "DocumentHash": strings.Repeat("a", 64), "DocumentHashType": "Sha256", "DocumentVersion": "1",
		"OutputS3BucketName": "patch-logs", "OutputS3KeyPrefix": "scan/", "Parameters": map[string]any{"Operation": []any{"Scan"}},
		"ServiceRoleArn": "arn:aws:iam::111111111111:role/task", "TimeoutSeconds": 600,
		"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "/orgpatch", "CloudWatchOutputEnabled": true},
		"NotificationConfig":     map[string]any{"NotificationArn": "arn:aws:sns:eu-west-1:111111111111:patch", "NotificationEvents": []any{"Failed"}, "NotificationType": "Command"},
	}
	task := func(extra map[string]any) map[string]any {
		r := map[string]any{
			"WindowId": w, "TaskArn": "AWS-RunPatchBaseline", "TaskType": "RUN_COMMAND", "Priority": 1,
			"Targets": []any{map[string]any{"Key": "WindowTargetIds", "Values": []any{t1}}}, "MaxConcurrency": "10%", "MaxErrors": "1",
			"ServiceRoleArn": "arn:aws:iam::111111111111:role/task", "Name": "task-name", "Description": "d", "CutoffBehavior": "CANCEL_TASK",
			"TaskInvocationParameters": map[string]any{"RunCommand": runCommand},
			"TaskParameters":           map[string]any{"Operation": map[string]any{"Values": []any{"Scan"}}},
			"LoggingInfo":              map[string]any{"S3BucketName": "patch-logs", "S3KeyPrefix": "p", "S3Region": "eu-west-1"},
			"AlarmConfiguration":       map[string]any{"IgnorePollAlarmFailure": false, "Alarms": []any{map[string]any{"Name": "alarm"}}},
		}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	body, _ := json.Marshal(task(nil))
	k1 := call("RegisterTaskWithMaintenanceWindow", string(body))["WindowTaskId"].(string)
	k2 := call("RegisterTaskWithMaintenanceWindow", string(body))["WindowTaskId"].(string)
	call("PutParameter", `{"Name":"/base","Value":"v","Type":"String"}`)
	window := map[string]any{"Name": "model-window-2", "Schedule": "cron(0 2 ? * SUN *)", "Duration": 3, "Cutoff": 1, "AllowUnassociatedTargets": false,
		"Description": "d", "ScheduleTimezone": "UTC", "ScheduleOffset": 2, "StartDate": "2026-01-01T00:00:00Z", "EndDate": "2027-01-01T00:00:00Z"}
	update := map[string]any{"WindowId": w, "Enabled": true, "Replace": false}
	for k, v := range window {
		update[k] = v
	}
	create := map[string]any{"ClientToken": "model-token", "Tags": []any{map[string]any{"Key": "k", "Value": "v"}}}
	for k, v := range window {
		create[k] = v
	}
	rules := map[string]any{"PatchRules": []any{map[string]any{
		"PatchFilterGroup": map[string]any{"PatchFilters": []any{map[string]any{"Key": "CLASSIFICATION", "Values": []any{"Security"}}}},
		"ComplianceLevel":  "HIGH", "ApproveAfterDays": 7, "EnableNonSecurity": false}}}
	baseline := map[string]any{"Name": "model-baseline", "Description": "d",
		"GlobalFilters":   map[string]any{"PatchFilters": []any{map[string]any{"Key": "PRODUCT", "Values": []any{"AmazonLinux2"}}}},
		"ApprovalRules":   rules,
		"ApprovedPatches": []any{"kernel"}, "ApprovedPatchesComplianceLevel": "LOW", "ApprovedPatchesEnableNonSecurity": true,
		"RejectedPatches": []any{"telnet"}, "RejectedPatchesAction": "BLOCK",
		"Sources": []any{map[string]any{"Name": "extra-repo", "Products": []any{"AmazonLinux2"}, "Configuration": "[extra]"}},
		"AvailableSecurityUpdatesComplianceStatus": "NON_COMPLIANT"}
	createBaseline := map[string]any{"OperatingSystem": "AMAZON_LINUX_2", "ClientToken": "baseline-token", "Tags": []any{map[string]any{"Key": "k", "Value": "v"}}}
	updateBaseline := map[string]any{"Replace": false}
	for k, v := range baseline {
		createBaseline[k] = v
		updateBaseline[k] = v
	}
	b1 := call("CreatePatchBaseline", `{"Name":"model-b1","OperatingSystem":"AMAZON_LINUX_2"}`)["BaselineId"].(string)
	updateBaseline["BaselineId"] = b1
	call("RegisterPatchBaselineForPatchGroup", `{"BaselineId":"`+b1+`","PatchGroup":"model-group"}`)
	targets := []any{map[string]any{"Key": "tag:Patch", "Values": []any{"yes"}}}
	filter := func(k, v string) []any { return []any{map[string]any{"Key": k, "Values": []any{v}}} }
	complianceFilter := []any{map[string]any{"Key": "ComplianceType", "Values": []any{"Patch"}, "Type": "EQUAL"}}
	return map[string]map[string]any{
		"CreateMaintenanceWindow":    create,
		"GetMaintenanceWindow":       {"WindowId": w},
		"UpdateMaintenanceWindow":    update,
		"DeleteMaintenanceWindow":    {"WindowId": "mw-0123456789abcdef0"},
		"DescribeMaintenanceWindows": {"Filters": filter("Name", "x"), "MaxResults": 10},
		"RegisterTargetWithMaintenanceWindow": {"WindowId": w, "ResourceType": "INSTANCE", "Targets": targets, "OwnerInformation": "o",
			"Name": "target-name", "Description": "d", "ClientToken": "target-token"},
		"UpdateMaintenanceWindowTarget": {"WindowId": w, "WindowTargetId": t1, "Targets": targets, "OwnerInformation": "o",
			"Name": "target-name", "Description": "d", "Replace": false},
		"DeregisterTargetFromMaintenanceWindow": {"WindowId": w, "WindowTargetId": t2, "Safe": true},
		"DescribeMaintenanceWindowTargets":      {"WindowId": w, "Filters": filter("Type", "INSTANCE"), "MaxResults": 10},
		"RegisterTaskWithMaintenanceWindow":     task(map[string]any{"ClientToken": "task-token"}),
		"UpdateMaintenanceWindowTask":           task(map[string]any{"WindowTaskId": k1, "Replace": false}),
		"DeregisterTaskFromMaintenanceWindow":   {"WindowId": w, "WindowTaskId": k2},
		"GetMaintenanceWindowTask":              {"WindowId": w, "WindowTaskId": k1},
		"DescribeMaintenanceWindowTasks":        {"WindowId": w, "Filters": filter("TaskType", "RUN_COMMAND"), "MaxResults": 10},
		"AddTagsToResource":                     {"ResourceType": "MaintenanceWindow", "ResourceId": w, "Tags": []any{map[string]any{"Key": "k", "Value": "v"}}},
		"RemoveTagsFromResource":                {"ResourceType": "MaintenanceWindow", "ResourceId": w, "TagKeys": []any{"k"}},
		"ListTagsForResource":                   {"ResourceType": "MaintenanceWindow", "ResourceId": w},
		"DescribeDocument":                      {"Name": "AWS-RunPatchBaseline", "DocumentVersion": "1"},
		"GetServiceSetting":                     {"SettingId": DHMCSettingID},
		"UpdateServiceSetting":                  {"SettingId": DHMCSettingID, "SettingValue": "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole"},
		"ResetServiceSetting":                   {"SettingId": DHMCSettingID},
		"GetParameter":                          {"Name": "/base", "WithDecryption": true},
		"PutParameter": {"Name": "/base", "Value": "v2", "Type": "String", "Overwrite": true, "Description": "d", "AllowedPattern": ".*",
			"Tier": "Standard", "DataType": "text"},
		"DeleteParameter": {"Name": "/base-delete"},
		"DescribeInstanceInformation": {"InstanceInformationFilterList": []any{map[string]any{"key": "PingStatus", "valueSet": []any{"Online"}}},
			"Filters": filter("PlatformTypes", "Linux"), "MaxResults": 10},
		"DescribeInstancePatchStates":     {"InstanceIds": []any{"i-0123456789abcdef0"}, "MaxResults": 10},
		"ListResourceComplianceSummaries": {"Filters": complianceFilter, "MaxResults": 10},
		"ListComplianceItems": {"ResourceIds": []any{"i-0123456789abcdef0"}, "ResourceTypes": []any{"ManagedInstance"},
			"Filters": complianceFilter, "MaxResults": 10},
		"CreatePatchBaseline":                  createBaseline,
		"GetPatchBaseline":                     {"BaselineId": b1},
		"UpdatePatchBaseline":                  updateBaseline,
		"DeletePatchBaseline":                  {"BaselineId": "pb-0123456789abcdef0"},
		"DescribePatchBaselines":               {"Filters": filter("NAME_PREFIX", "model"), "MaxResults": 10},
		"RegisterDefaultPatchBaseline":         {"BaselineId": b1},
		"GetDefaultPatchBaseline":              {"OperatingSystem": "AMAZON_LINUX_2"},
		"RegisterPatchBaselineForPatchGroup":   {"BaselineId": b1, "PatchGroup": "model-group"},
		"DeregisterPatchBaselineForPatchGroup": {"BaselineId": b1, "PatchGroup": "other-group"},
		"GetPatchBaselineForPatchGroup":        {"PatchGroup": "model-group", "OperatingSystem": "AMAZON_LINUX_2"},
		"DescribePatchGroups":                  {"Filters": filter("NAME_PREFIX", "model"), "MaxResults": 10},
		"DescribeAvailablePatches":             {"Filters": filter("PRODUCT", "AmazonLinux2023"), "MaxResults": 10},
		"DescribeInstancePatches":              {"InstanceId": "i-0123456789abcdef0", "Filters": filter("State", "Missing"), "MaxResults": 10},
		"DescribeMaintenanceWindowExecutions":  {"WindowId": w, "Filters": filter("ExecutedAfter", "2026-01-01T00:00:00Z"), "MaxResults": 10},
		"DescribeMaintenanceWindowExecutionTasks": {"WindowExecutionId": "0b1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
			"Filters": filter("STATUS", "SUCCESS"), "MaxResults": 10},
		"ListCommands": {"CommandId": "0b1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5", "InstanceId": "i-0123456789abcdef0",
			"Filters": []any{map[string]any{"key": "Status", "value": "Success"}}, "MaxResults": 10},
		"ListCommandInvocations": {"CommandId": "0b1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5", "InstanceId": "i-0123456789abcdef0",
			"Filters": []any{map[string]any{"key": "Status", "value": "Success"}}, "MaxResults": 10, "Details": true},
	}
}
