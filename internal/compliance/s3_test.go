package compliance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestS3UploadStreamsInParts(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	client := NewS3Client(env.Config)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reports")}); err != nil {
		t.Fatal(err)
	}
	const n = 9000 // about 11 MiB of records: three parts
	u := NewS3Upload(ctx, client, "reports", "records/part.jsonl", Object{ContentType: "application/x-ndjson"})
	rec := Record{ComplianceType: "Patch", ResourceType: "ManagedInstance", Status: NonCompliant, Account: "111111111111", Region: "eu-west-1",
		MissingPatches: []Patch{{Id: "KB890830", Title: string(bytes.Repeat([]byte("t"), 1000)), Severity: "UNSPECIFIED"}}}
	for i := range n {
		rec.ResourceId = "i-" + string(rune('a'+i%26))
		if err := u.Sink(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	parts := env.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "UploadPart" && c.ErrorCode == "" })
	completes := env.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "CompleteMultipartUpload" && c.ErrorCode == "" })
	if parts < 2 || completes != 1 {
		t.Errorf("%d parts, %d completions; want a multipart upload of several parts", parts, completes)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("records/part.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out.Body)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Account != rec.Account {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		lines++
	}
	if lines != n {
		t.Errorf("%d records read back, want %d", lines, n)
	}

	// An aborted upload leaves no object and no upload behind.
	a := NewS3Upload(ctx, client, "reports", "records/aborted.jsonl", Object{ContentType: "application/x-ndjson"})
	for range 6000 {
		_ = a.Sink(&rec)
	}
	if err := a.Abort(errors.New("run failed")); err == nil {
		t.Errorf("an aborted upload reports no error")
	}
	if _, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("records/aborted.jsonl")}); err == nil {
		t.Errorf("the aborted object exists")
	}
}
