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
	owner := env.Server.ManagementAccount()
	store := stepfn.NewS3Store(client, bucket, owner)
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
		err := tc.op(stepfn.NewS3Store(client, tc.bucket, owner), tc.key)
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

// TestS3StoreRefusesAnotherOwnerAndLargeObjects: the store names its
// account as the bucket's expected owner, so a bucket of that name owned by
// anyone else is refused with S3's AccessDenied, for reads and writes; and
// an object larger than MaxBytes is refused without being read whole.
func TestS3StoreRefusesAnotherOwnerAndLargeObjects(t *testing.T) {
	env := simtest.Start(t, nil)
	ctx := context.Background()
	client := compliance.NewS3Client(env.Config)
	const bucket, key = "orgpatch-runs-owner", "runs/r/items.json"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	ours := stepfn.NewS3Store(client, bucket, env.Server.ManagementAccount())
	if err := ours.Put(ctx, key, []byte(`[]`)); err != nil {
		t.Fatalf("Put as the owner: %v", err)
	}
	other := stepfn.NewS3Store(client, bucket, "999999999999")
	for name, err := range map[string]error{
		"put": other.Put(ctx, key, []byte(`[{"account":"forged"}]`)),
		"get": func() error { _, err := other.Get(ctx, key); return err }(),
	} {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
			t.Errorf("%s with another expected owner: %v, want AccessDenied", name, err)
		}
	}
	if got, err := ours.Get(ctx, key); err != nil || string(got) != `[]` {
		t.Errorf("the object after the refused put: %q, %v; want it unchanged", got, err)
	}

	big := bytes.Repeat([]byte(" "), 1<<20)
	if err := ours.Put(ctx, key, big); err != nil {
		t.Fatal(err)
	}
	ours.MaxBytes = 1<<20 - 1
	if _, err := ours.Get(ctx, key); err == nil || !strings.Contains(err.Error(), "larger than 1048575 bytes") {
		t.Errorf("Get of a 1 MiB object with a bound of 1 MiB - 1: %v, want refused naming the bound", err)
	}
	ours.MaxBytes = 1 << 20
	if got, err := ours.Get(ctx, key); err != nil || len(got) != len(big) {
		t.Errorf("Get at exactly the bound: %d bytes, %v; want all %d", len(got), err, len(big))
	}
}
