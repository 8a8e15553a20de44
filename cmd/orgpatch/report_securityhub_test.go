package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// report --securityhub imports the run's findings into the management
// account's Security Hub; without --bucket it says that nothing earlier is
// archived, with it it archives what the bucket's latest run left active
// and this run no longer raises.
func TestReportSecurityHub(t *testing.T) {
	env := simtest.Start(t, nil, sim.WithNodesPerTarget(6))
	cfg := configFile(t, "regions: [us-east-1]\n")
	mgmt := env.Server.ManagementAccount()
	stored := func() map[string]string {
		out := map[string]string{}
		for _, raw := range env.Server.SecurityHubFindings(mgmt, simtest.Region) {
			var f struct{ Id, RecordState string }
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			out[f.Id] = f.RecordState
		}
		return out
	}

	_, out, errs := cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--securityhub")
	first := stored()
	if len(first) == 0 {
		t.Fatalf("no finding imported\n%s", errs)
	}
	if !strings.Contains(out, "Security Hub: ") || !strings.Contains(out, "without --bucket no earlier finding is archived") {
		t.Errorf("the output does not say what went to Security Hub, or that nothing was archived:\n%s", out)
	}

	// The deployed bucket's latest run left a finding of a node that is
	// gone: this run archives it.
	const bucket = "orgpatch-compliance-test"
	gone := compliance.FindingId("111111111111", simtest.Region, "i-00000000000000bad", compliance.ProblemStale)
	client := compliance.NewS3Client(env.Config)
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	state, _ := json.Marshal(map[string]any{"runId": "earlier", "findings": []string{gone}})
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(handler.LatestRun), Body: strings.NewReader(string(state))}); err != nil {
		t.Fatal(err)
	}
	_, out, errs = cli(t, "report", "--endpoint", env.URL, "--config", cfg, "--securityhub", "--bucket", bucket, "--output", "json")
	if !json.Valid([]byte(out)) {
		t.Errorf("--output json is not JSON with --securityhub:\n%s", out)
	}
	if !strings.Contains(errs, ", 1 archived,") {
		t.Errorf("stderr does not say one finding was archived:\n%s", errs)
	}
	second := stored()
	if second[gone] != "ARCHIVED" || len(second) != len(first)+1 {
		t.Errorf("after the run with --bucket: %s %q, %d findings; want ARCHIVED and %d", gone, second[gone], len(second), len(first)+1)
	}
	for id := range first {
		if second[id] != "ACTIVE" {
			t.Errorf("%s %s after an unchanged run, want ACTIVE", id, second[id])
		}
	}
}
