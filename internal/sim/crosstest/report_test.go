package crosstest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// reportScenario is what the compliance report reads in a member account
// (managed nodes, patch states, compliance, EC2 instances) and what its
// Lambda writes (a put and a multipart upload), with the errors AWS
// documents for them.
func reportScenario(ids []string) []step {
	bucket := map[string]any{"Bucket": "crosstest-reports"}
	obj := func(extra map[string]any) map[string]any {
		m := map[string]any{"Bucket": "crosstest-reports", "Key": "records/dt=2026-11-27/r.jsonl"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return []step{
		{Name: "assume role", Service: "sts", Operation: "AssumeRole", As: "mgmt", Params: map[string]any{
			"RoleArn": "arn:aws:iam::" + memberAccount + ":role/" + memberRole, "RoleSessionName": "crosstest",
		}},
		{Name: "managed nodes", Service: "ssm", Operation: "DescribeInstanceInformation", As: "member", ReadOnly: true, Params: map[string]any{"MaxResults": 50}},
		{Name: "patch states", Service: "ssm", Operation: "DescribeInstancePatchStates", As: "member", ReadOnly: true, Params: map[string]any{"InstanceIds": ids, "MaxResults": 50}},
		{Name: "compliance summaries", Service: "ssm", Operation: "ListResourceComplianceSummaries", As: "member", ReadOnly: true, Params: map[string]any{
			"Filters": []map[string]any{{"Key": "ComplianceType", "Values": []string{"Patch"}, "Type": "EQUAL"}}, "MaxResults": 50}},
		{Name: "compliance items", Service: "ssm", Operation: "ListComplianceItems", As: "member", ReadOnly: true, Params: map[string]any{
			"ResourceIds": ids[:1], "ResourceTypes": []string{"ManagedInstance"}, "MaxResults": 50}},
		{Name: "compliance items of two nodes", Service: "ssm", Operation: "ListComplianceItems", As: "member", WantError: "ValidationException", Params: map[string]any{
			"ResourceIds": ids[:2]}},
		{Name: "instances", Service: "ec2", Operation: "DescribeInstances", As: "member", ReadOnly: true, Params: map[string]any{"MaxResults": 1000}},
		{Name: "instances page of 3", Service: "ec2", Operation: "DescribeInstances", As: "member", WantError: "InvalidParameterValue", Params: map[string]any{"MaxResults": 3}},
		{Name: "create bucket", Service: "s3", Operation: "CreateBucket", As: "member", Params: bucket},
		{Name: "put page", Service: "s3", Operation: "PutObject", As: "member", Params: map[string]any{"Bucket": "crosstest-reports", "Key": "pages/latest.html"}},
		{Name: "put compressed export", Service: "s3", Operation: "PutObject", As: "member", Params: map[string]any{"Bucket": "crosstest-reports", "Key": "pages/r.csv",
			"ContentType": "text/csv; charset=utf-8", "ContentEncoding": "gzip"}},
		{Name: "put, its owner expected", Service: "s3", Operation: "PutObject", As: "member", Params: obj(map[string]any{"ExpectedBucketOwner": memberAccount})},
		{Name: "put, another owner expected", Service: "s3", Operation: "PutObject", As: "member", WantError: "AccessDenied", Params: obj(map[string]any{"ExpectedBucketOwner": "999999999999"})},
		{Name: "upload, another owner expected", Service: "s3", Operation: "CreateMultipartUpload", As: "member", WantError: "AccessDenied", Params: obj(map[string]any{"ExpectedBucketOwner": "999999999999"})},
		{Name: "start upload", Service: "s3", Operation: "CreateMultipartUpload", As: "member", Capture: []string{"UploadId"}, Params: obj(nil)},
		{Name: "part 10001", Service: "s3", Operation: "UploadPart", As: "member", WantError: "InvalidArgument", Params: obj(map[string]any{"UploadId": "${UploadId}", "PartNumber": 10001})},
		// An empty last part: its ETag is the MD5 of nothing.
		{Name: "upload part", Service: "s3", Operation: "UploadPart", As: "member", Params: obj(map[string]any{"UploadId": "${UploadId}", "PartNumber": 1})},
		{Name: "complete upload", Service: "s3", Operation: "CompleteMultipartUpload", As: "member", Params: obj(map[string]any{"UploadId": "${UploadId}",
			"MultipartUpload": map[string]any{"Parts": []map[string]any{{"PartNumber": 1, "ETag": emptyETag}}}})},
		{Name: "complete it again", Service: "s3", Operation: "CompleteMultipartUpload", As: "member", WantError: "NoSuchUpload", Params: obj(map[string]any{"UploadId": "${UploadId}",
			"MultipartUpload": map[string]any{"Parts": []map[string]any{{"PartNumber": 1, "ETag": emptyETag}}}})},
		{Name: "abort an unknown upload", Service: "s3", Operation: "AbortMultipartUpload", As: "member", WantError: "NoSuchUpload", Params: obj(map[string]any{"UploadId": "no-such-upload"})},
	}
}

const emptyETag = `"d41d8cd98f00b204e9800998ecf8427e"`

// TestReportCallsSeeTheSame runs the report's reads and writes through the
// SDK, the AWS CLI and boto3 against simulators holding the same machines.
func TestReportCallsSeeTheSame(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	const perTarget = 12
	var ids []string
	for _, n := range nodes.Generate(memberAccount, simtest.Region, perTarget, now) {
		if n.Managed && n.Patch != nil {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) < 2 {
		t.Fatalf("the generator gave %d scanned nodes, want 2 or more", len(ids))
	}
	clientsSeeTheSame(t, reportScenario(ids), func(t *testing.T, steps []step, got []outcome, mgmt string) {
		checkCodes(t, steps, got)
		checkPaths(t, steps, got, []pathWant{
			{"patch states", "instancepatchstates.#", float64(len(ids))},
			{"compliance items", "complianceitems.0.compliancetype", "Patch"},
			{"compliance items", "complianceitems.0.resourceid", ids[0]},
			{"complete upload", "etag", `"59adb24ef3cdbe0297f05b395827453f-1"`}, // MD5 of the parts' MD5s, "-1"
		})
	}, sim.WithNodesPerTarget(perTarget), sim.WithClock(func() time.Time { return now }))
}

// pathWant is a value a step's response must hold at a lookup path.
type pathWant struct {
	step, path string
	want       any
}

// checkPaths checks the steps' responses against the values AWS answers.
func checkPaths(t *testing.T, steps []step, got []outcome, wants []pathWant) {
	t.Helper()
	byName := map[string]any{}
	for i, s := range steps {
		byName[s.Name] = got[i].Response
	}
	for _, w := range wants {
		if v := lookup(byName[w.step], w.path); !cmp.Equal(v, w.want) {
			t.Errorf("step %s: %s = %v, want %v", w.step, w.path, v, w.want)
		}
	}
}

// checkCodes checks every step's error code against the one AWS answers.
func checkCodes(t *testing.T, steps []step, got []outcome) {
	t.Helper()
	if len(got) != len(steps) {
		t.Fatalf("%d outcomes for %d steps", len(got), len(steps))
	}
	for i, s := range steps {
		code := ""
		if got[i].Error != nil {
			code = got[i].Error.Code
		}
		if code != s.WantError {
			t.Errorf("step %s: error code %q, want %q (%+v)", s.Name, code, s.WantError, got[i].Error)
		}
	}
}
