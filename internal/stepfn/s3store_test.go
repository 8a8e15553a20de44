package stepfn_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// The deployed store of a run's objects, against the simulator's S3: what
// Put writes Get reads back byte for byte (as JSON, the Distributed Map's
// ItemReader format), an overwrite replaces it, and a missing key or bucket
// is an error naming the object and carrying S3's own code.
func TestS3StoreAgainstTheSimulatedS3(t *testing.T) {
	env := simtest.Start(t, nil)
	ctx := context.Background()
	client := compliance.NewS3Client(env.Config)
	const bucket = "orgpatch-runs-111111111111-us-east-1"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	store := stepfn.NewS3Store(client, bucket)
	const key = "runs/schedule-1/items.json"
	first := []byte(`[{"accounts":["111111111111"]}]`)
	if err := store.Put(ctx, key, first); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := store.Get(ctx, key)
	if err != nil || !bytes.Equal(got, first) {
		t.Fatalf("Get = %q, %v; want %q", got, err, first)
	}
	head, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if ct := aws.ToString(head.ContentType); ct != "application/json" {
		t.Errorf("stored content type %q, want application/json", ct)
	}
	second := bytes.Repeat([]byte("x"), 1<<20) // larger than the first, over one read buffer
	if err := store.Put(ctx, key, second); err != nil {
		t.Fatalf("Put again: %v", err)
	}
	if got, err := store.Get(ctx, key); err != nil || !bytes.Equal(got, second) {
		t.Fatalf("Get after overwrite: %d bytes, %v; want %d bytes", len(got), err, len(second))
	}

	for _, tc := range []struct {
		name, bucket, key, code string
		op                      func(stepfn.S3Store, string) error
	}{
		{"get of a missing key", bucket, "runs/none.json", "NoSuchKey",
			func(s stepfn.S3Store, k string) error { _, err := s.Get(ctx, k); return err }},
		{"get from a missing bucket", "orgpatch-no-such-bucket", key, "NoSuchBucket",
			func(s stepfn.S3Store, k string) error { _, err := s.Get(ctx, k); return err }},
		{"put into a missing bucket", "orgpatch-no-such-bucket", key, "NoSuchBucket",
			func(s stepfn.S3Store, k string) error { return s.Put(ctx, k, first) }},
	} {
		err := tc.op(stepfn.NewS3Store(client, tc.bucket), tc.key)
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code {
			t.Errorf("%s: %v, want S3's %s", tc.name, err, tc.code)
			continue
		}
		if want := "s3://" + tc.bucket + "/" + tc.key; !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not name %s", tc.name, err, want)
		}
	}
}
