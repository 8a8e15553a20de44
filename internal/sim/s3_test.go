package sim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// The multipart upload as S3 documents it, through the SDK.
func TestS3MultipartRules(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := s3.NewFromConfig(env.Config, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reports")}); err != nil {
		t.Fatal(err)
	}
	code := func(err error) string {
		var api smithy.APIError
		if errors.As(err, &api) {
			return api.ErrorCode()
		}
		return "no API error: " + errString(err)
	}
	start := func() string {
		out, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		return *out.UploadId
	}
	put := func(id string, n int32, size int) (string, error) {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("reports"), Key: aws.String("k"), UploadId: &id,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(bytes.Repeat([]byte{byte('a' + n)}, size))})
		if err != nil {
			return "", err
		}
		return *out.ETag, nil
	}
	complete := func(id string, parts ...types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("k"), UploadId: &id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	part := func(n int32, etag string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: &etag}
	}

	id := start()
	e1, err := put(id, 1, 5<<20)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := put(id, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := put(id, 10001, 10); code(err) != "InvalidArgument" {
		t.Errorf("part 10001: %s, want InvalidArgument", code(err))
	}
	if err := complete(id, part(2, e2), part(1, e1)); code(err) != "InvalidPartOrder" {
		t.Errorf("descending parts: %s, want InvalidPartOrder", code(err))
	}
	if err := complete(id, part(1, e2), part(2, e2)); code(err) != "InvalidPart" {
		t.Errorf("wrong ETag: %s, want InvalidPart", code(err))
	}
	if err := complete(id, part(1, e1), part(2, e2)); err != nil {
		t.Fatalf("5 MiB then a short last part: %v", err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	if len(body) != 5<<20+10 || got.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("object: %d bytes, encryption %q; want %d, AES256", len(body), got.ServerSideEncryption, 5<<20+10)
	}
	if err := complete(id, part(1, e1)); code(err) != "NoSuchUpload" {
		t.Errorf("completed upload again: %s, want NoSuchUpload", code(err))
	}

	small := start()
	s1, _ := put(small, 1, 10)
	s2, _ := put(small, 2, 10)
	if err := complete(small, part(1, s1), part(2, s2)); code(err) != "EntityTooSmall" {
		t.Errorf("a 10-byte part before the last: %s, want EntityTooSmall", code(err))
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("k"), UploadId: &small}); err != nil {
		t.Errorf("abort: %v", err)
	}
	if _, err := put(small, 3, 10); code(err) != "NoSuchUpload" {
		t.Errorf("part of an aborted upload: %s, want NoSuchUpload", code(err))
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nowhere"), Key: aws.String("k"), Body: bytes.NewReader(nil)}); code(err) != "NoSuchBucket" {
		t.Errorf("put into a missing bucket: %s, want NoSuchBucket", code(err))
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("missing")}); code(err) != "NoSuchKey" {
		t.Errorf("get a missing key: %s, want NoSuchKey", code(err))
	}
}

// An object keeps the Content-Encoding it was put with (of a single put or
// a multipart upload) and answers it on GetObject, without the aws-chunked
// framing of the upload; a missing key is NoSuchKey.
func TestS3KeepsContentEncoding(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := s3.NewFromConfig(env.Config, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reports")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("plain"), Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("zipped"), Body: bytes.NewReader([]byte("x")),
		ContentEncoding: aws.String("gzip")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("parts"), ContentEncoding: aws.String("gzip")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("reports"), Key: aws.String("parts"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("y"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("parts"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"plain": "", "zipped": "gzip", "parts": "gzip"} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		out.Body.Close()
		if got := aws.ToString(out.ContentEncoding); got != want {
			t.Errorf("%s: Content-Encoding %q, want %q", key, got, want)
		}
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("none")})
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject of a missing key: %v, want NoSuchKey", err)
	}
}
