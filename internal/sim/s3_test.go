package sim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

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

// Conditional writes as the S3 User Guide documents them: If-None-Match: *
// creates a key only once, If-Match: ETAG replaces only the object that
// ETag names, a missing key is NoSuchKey to If-Match, and reads honour
// If-Match and If-None-Match too.
func TestS3ConditionalWrites(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := s3.NewFromConfig(noRetry(env.Config), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	put := func(body string, edit func(*s3.PutObjectInput)) (string, error) {
		in := &s3.PutObjectInput{Bucket: aws.String("runs"), Key: aws.String("state.json"), Body: strings.NewReader(body)}
		edit(in)
		out, err := c.PutObject(ctx, in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.ETag), nil
	}
	read := func() string {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("runs"), Key: aws.String("state.json")})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		return string(b)
	}
	create := func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }
	ifMatch := func(etag string) func(*s3.PutObjectInput) {
		return func(in *s3.PutObjectInput) { in.IfMatch = aws.String(etag) }
	}

	if _, err := put("v0", ifMatch(`"0123456789abcdef0123456789abcdef"`)); errCode(err) != "NoSuchKey" {
		t.Errorf("If-Match on a missing key: %s, want NoSuchKey", errCode(err))
	}
	v1, err := put("v1", create)
	if err != nil {
		t.Fatalf("If-None-Match: * on a new key: %v", err)
	}
	if _, err := put("v1 again", create); errCode(err) != "PreconditionFailed" || status(err) != 412 {
		t.Errorf("If-None-Match: * on an existing key: %s (%d), want PreconditionFailed (412)", errCode(err), status(err))
	}
	v2, err := put("v2", ifMatch(v1))
	if err != nil {
		t.Fatalf("If-Match with the current ETag: %v", err)
	}
	if _, err := put("stale", ifMatch(v1)); errCode(err) != "PreconditionFailed" {
		t.Errorf("If-Match with a replaced ETag: %s, want PreconditionFailed", errCode(err))
	}
	if got := read(); got != "v2" {
		t.Errorf("object after the refused writes: %q, want v2", got)
	}
	if _, err := put("x", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String(v2) }); errCode(err) != "NotImplemented" {
		t.Errorf("If-None-Match with an ETag on a write: %s, want NotImplemented", errCode(err))
	}

	// A multipart upload is checked when it completes.
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("runs"), Key: aws.String("state.json")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("runs"), Key: aws.String("state.json"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("v3")})
	if err != nil {
		t.Fatal(err)
	}
	complete := func(edit func(*s3.CompleteMultipartUploadInput)) error {
		in := &s3.CompleteMultipartUploadInput{Bucket: aws.String("runs"), Key: aws.String("state.json"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}
		edit(in)
		_, err := c.CompleteMultipartUpload(ctx, in)
		return err
	}
	if err := complete(func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") }); errCode(err) != "PreconditionFailed" {
		t.Errorf("complete with If-None-Match: * over an object: %s, want PreconditionFailed", errCode(err))
	}
	if err := complete(func(in *s3.CompleteMultipartUploadInput) { in.IfMatch = aws.String(v1) }); errCode(err) != "PreconditionFailed" {
		t.Errorf("complete with a stale If-Match: %s, want PreconditionFailed", errCode(err))
	}
	if err := complete(func(in *s3.CompleteMultipartUploadInput) { in.IfMatch = aws.String(v2) }); err != nil {
		t.Fatalf("complete with the current If-Match: %v", err)
	}
	if got := read(); got != "v3" {
		t.Errorf("object after the conditional upload: %q, want v3", got)
	}

	// Reads: If-Match refuses another ETag, If-None-Match answers 304 for
	// the same one.
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("runs"), Key: aws.String("state.json")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("runs"), Key: aws.String("state.json"), IfMatch: aws.String(v2)}); errCode(err) != "PreconditionFailed" {
		t.Errorf("GetObject If-Match an old ETag: %s, want PreconditionFailed", errCode(err))
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("runs"), Key: aws.String("state.json"), IfNoneMatch: head.ETag}); status(err) != 304 {
		t.Errorf("HeadObject If-None-Match the current ETag: %d, want 304", status(err))
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("runs"), Key: aws.String("state.json"), IfMatch: head.ETag}); err != nil {
		t.Errorf("HeadObject If-Match the current ETag: %v", err)
	}
}

// Many writers racing on one key: of those creating it (If-None-Match: *)
// exactly one wins, and of those replacing one ETag (If-Match) exactly one
// wins; the others lose with 412 or 409, never silently.
func TestS3ConditionalWriteRace(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := s3.NewFromConfig(noRetry(env.Config), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	// Every body is new (round and writer), so no write repeats an ETag
	// an If-Match names.
	race := func(round int, edit func(*s3.PutObjectInput)) (winners []string, etag string) {
		const n = 32
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf("round %d writer %d", round, i)
				in := &s3.PutObjectInput{Bucket: aws.String("runs"), Key: aws.String("promotion"), Body: strings.NewReader(body)}
				edit(in)
				out, err := c.PutObject(ctx, in)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners, etag = append(winners, body), aws.ToString(out.ETag)
				case errCode(err) != "PreconditionFailed" && errCode(err) != "ConditionalRequestConflict":
					t.Errorf("%s lost with %s, want PreconditionFailed or ConditionalRequestConflict", body, errCode(err))
				}
			}()
		}
		wg.Wait()
		return winners, etag
	}
	winners, etag := race(0, func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	if len(winners) != 1 {
		t.Fatalf("If-None-Match: * winners: %q, want exactly one", winners)
	}
	for round := 1; round <= 3; round++ {
		prev := etag
		winners, etag = race(round, func(in *s3.PutObjectInput) { in.IfMatch = aws.String(prev) })
		if len(winners) != 1 {
			t.Fatalf("round %d: If-Match winners: %q, want exactly one", round, winners)
		}
	}
}

// A write landing while a conditional write is under way makes the
// conditional one a 409 ConditionalRequestConflict, and the object is the
// other write's.
func TestS3ConditionalRequestConflict(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := s3.NewFromConfig(noRetry(env.Config), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	env.Server.SetS3Unlocked(func() {
		once.Do(func() {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("runs"), Key: aws.String("k"), Body: strings.NewReader("meanwhile")}); err != nil {
				t.Errorf("the write in the window: %v", err)
			}
		})
	})
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("runs"), Key: aws.String("k"), Body: strings.NewReader("conditional"), IfNoneMatch: aws.String("*")})
	if errCode(err) != "ConditionalRequestConflict" || status(err) != 409 {
		t.Fatalf("conditional write overtaken: %s (%d), want ConditionalRequestConflict (409)", errCode(err), status(err))
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("runs"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if b, _ := io.ReadAll(out.Body); string(b) != "meanwhile" {
		t.Errorf("object: %q, want the other write's", b)
	}
}

// status is the HTTP status of err's response (0 without one).
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// s3Client is an S3 client on cfg that logs into log (the SDK's own
// messages, such as the checksum validation it skipped) and retries
// nothing.
func s3Client(cfg aws.Config, log *bytes.Buffer, edit ...func(*s3.Options)) *s3.Client {
	cfg = noRetry(cfg)
	var mu sync.Mutex
	cfg.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(log, "%s "+format+"\n", append([]any{c}, v...)...)
	})
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = true }}, edit...)...)
}

// reportsBucket starts a simulator and creates the bucket "reports" with
// an s3Client whose log it returns.
func reportsBucket(t *testing.T, edit ...func(*s3.Options)) (*simtest.Env, *s3.Client, *bytes.Buffer) {
	env := simtest.Start(t, nil)
	log := new(bytes.Buffer)
	c := s3Client(env.Config, log, edit...)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("reports")}); err != nil {
		t.Fatal(err)
	}
	return env, c, log
}

// readChecked reads key through c and fails the test unless the SDK read
// it whole without logging a word about checksums (such as that it could
// not validate the download).
func readChecked(t *testing.T, c *s3.Client, log *bytes.Buffer, key string) (*s3.GetObjectOutput, []byte) {
	t.Helper()
	get, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("reports"), Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer get.Body.Close()
	got, err := io.ReadAll(get.Body)
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	if strings.Contains(log.String(), "checksum") {
		t.Errorf("the SDK logged about checksums:\n%s", log.String())
	}
	return get, got
}

// b64 is sum (a hash's Sum) in base64, as S3's checksum headers carry it.
func b64(sum []byte) string { return base64.StdEncoding.EncodeToString(sum) }

func crc32Sum(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)) }

// A PutObject through the SDK (which sends a CRC32 by default) keeps that
// checksum: PutObject answers it, HeadObject and GetObject return it when
// checksum mode is enabled (only then), and the SDK validates the
// download with it, so it no longer logs that it could not.
func TestS3ReturnsTheUploadedChecksum(t *testing.T) {
	ctx := context.Background()
	_, c, log := reportsBucket(t)
	body := []byte("the compliance report")
	want := b64(crc32Sum(body))
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("r.json"), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(put.ChecksumCRC32); got != want || put.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("PutObject answered CRC32 %q (%s), want %q (FULL_OBJECT)", got, put.ChecksumType, want)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: aws.String("r.json"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(head.ChecksumCRC32); got != want || head.ChecksumType != types.ChecksumTypeFullObject || head.ChecksumCRC64NVME != nil {
		t.Errorf("HeadObject: CRC32 %q (%s), CRC64NVME %v; want %q (FULL_OBJECT) alone", got, head.ChecksumType, head.ChecksumCRC64NVME, want)
	}
	plain, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: aws.String("r.json")})
	if err != nil {
		t.Fatal(err)
	}
	if plain.ChecksumCRC32 != nil || plain.ChecksumType != "" {
		t.Errorf("HeadObject without checksum mode: CRC32 %v, type %q; want none", aws.ToString(plain.ChecksumCRC32), plain.ChecksumType)
	}
	get, got := readChecked(t, c, log, "r.json")
	if !bytes.Equal(got, body) || aws.ToString(get.ChecksumCRC32) != want {
		t.Errorf("GetObject: %q, CRC32 %q; want %q, %q", got, aws.ToString(get.ChecksumCRC32), body, want)
	}
}

// The SDK validates a download against the checksum S3 returns: a body
// altered on its way fails the read.
func TestS3DownloadValidatedByChecksum(t *testing.T) {
	ctx := context.Background()
	env, c, log := reportsBucket(t)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("k"), Body: strings.NewReader("accounts: 12")}); err != nil {
		t.Fatal(err)
	}
	cfg := env.Config.Copy()
	cfg.HTTPClient = flipFirstByte{next: awshttp.NewBuildableClient()}
	tampered := s3Client(cfg, log)
	get, err := tampered.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer get.Body.Close()
	if b, err := io.ReadAll(get.Body); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("reading an altered body: %q, %v; want a checksum mismatch", b, err)
	}
}

// flipFirstByte alters the first byte of every GetObject body it carries.
type flipFirstByte struct{ next aws.HTTPClient }

func (f flipFirstByte) Do(r *http.Request) (*http.Response, error) {
	resp, err := f.next.Do(r)
	if err != nil || r.Method != http.MethodGet || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) > 0 {
		b[0] ^= 1
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, err
}

// An object uploaded without a checksum gets S3's default, a CRC64NVME,
// which is CRC-64/NVME exactly: its catalogued check value (of
// "123456789", 0xae8b14860a799888), and the SDK validates it.
func TestS3DefaultChecksum(t *testing.T) {
	ctx := context.Background()
	_, c, log := reportsBucket(t, func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("k"), Body: strings.NewReader("123456789")})
	if err != nil {
		t.Fatal(err)
	}
	want := b64(binary.BigEndian.AppendUint64(nil, 0xae8b14860a799888))
	if got := aws.ToString(put.ChecksumCRC64NVME); got != want || put.ChecksumCRC32 != nil {
		t.Errorf("PutObject without a checksum answered CRC64NVME %q, CRC32 %v; want %q alone", got, put.ChecksumCRC32, want)
	}
	get, _ := readChecked(t, c, log, "k")
	if got := aws.ToString(get.ChecksumCRC64NVME); got != want || get.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("GetObject: CRC64NVME %q (%s), want %q (FULL_OBJECT)", got, get.ChecksumType, want)
	}
}

// A checksum the client chooses is kept in its algorithm; one that does
// not match the body is BadDigest and stores nothing; two at once are
// InvalidRequest.
func TestS3ChosenChecksums(t *testing.T) {
	ctx := context.Background()
	_, c, _ := reportsBucket(t)
	body := []byte("baseline")
	sha := sha256.Sum256(body)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("sha"), Body: bytes.NewReader(body),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: aws.String("sha"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(head.ChecksumSHA256); got != b64(sha[:]) || head.ChecksumCRC32 != nil {
		t.Errorf("HeadObject: SHA256 %q, CRC32 %v; want %q alone", got, head.ChecksumCRC32, b64(sha[:]))
	}
	wrong := b64(crc32Sum([]byte("another body")))
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("bad"), Body: bytes.NewReader(body), ChecksumCRC32: &wrong})
	if errCode(err) != "BadDigest" || status(err) != 400 {
		t.Errorf("a CRC32 of another body: %s (%d), want BadDigest (400)", errCode(err), status(err))
	}
	right := b64(crc32Sum(body))
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("bad"), Body: bytes.NewReader(body), ChecksumCRC32: &right, ChecksumSHA256: aws.String(b64(sha[:]))})
	if errCode(err) != "InvalidRequest" || status(err) != 400 {
		t.Errorf("two checksums: %s (%d), want InvalidRequest (400)", errCode(err), status(err))
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: aws.String("bad")}); status(err) != 404 {
		t.Errorf("the refused object: HeadObject %v, want 404", err)
	}
}

// Multipart: an upload created with CRC32 gets the composite checksum (the
// CRC32 of the parts' CRC32s, "-N") unless it asks for FULL_OBJECT; one
// created without gets S3's default full-object CRC64NVME; a part in
// another algorithm, and a type its algorithm cannot take, are refused.
func TestS3MultipartChecksums(t *testing.T) {
	ctx := context.Background()
	_, c, log := reportsBucket(t)
	parts := [][]byte{bytes.Repeat([]byte("a"), 5<<20), []byte("tail")}
	whole := bytes.Join(parts, nil)
	upload := func(key string, alg types.ChecksumAlgorithm, typ types.ChecksumType) (*s3.CompleteMultipartUploadOutput, error) {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("reports"), Key: &key, ChecksumAlgorithm: alg, ChecksumType: typ})
		if err != nil {
			return nil, err
		}
		if up.ChecksumAlgorithm != alg || alg != "" && up.ChecksumType == "" {
			t.Errorf("%s: CreateMultipartUpload answered %q %q, want %q", key, up.ChecksumAlgorithm, up.ChecksumType, alg)
		}
		var done []types.CompletedPart
		for i, p := range parts {
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("reports"), Key: &key, UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), ChecksumAlgorithm: alg})
			if err != nil {
				return nil, err
			}
			done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
		}
		return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("reports"), Key: &key, UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	}
	head := func(key string) *s3.HeadObjectOutput {
		out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: &key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	composite := b64(crc32Sum(append(crc32Sum(parts[0]), crc32Sum(parts[1])...))) + "-2"
	done, err := upload("composite", types.ChecksumAlgorithmCrc32, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(done.ChecksumCRC32); got != composite || done.ChecksumType != types.ChecksumTypeComposite {
		t.Errorf("CompleteMultipartUpload: CRC32 %q (%s), want %q (COMPOSITE)", got, done.ChecksumType, composite)
	}
	if h := head("composite"); aws.ToString(h.ChecksumCRC32) != composite || h.ChecksumType != types.ChecksumTypeComposite {
		t.Errorf("HeadObject of the composite: %q (%s), want %q (COMPOSITE)", aws.ToString(h.ChecksumCRC32), h.ChecksumType, composite)
	}

	if _, err := upload("full", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject); err != nil {
		t.Fatal(err)
	}
	if h := head("full"); aws.ToString(h.ChecksumCRC32) != b64(crc32Sum(whole)) || h.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("HeadObject of the full-object CRC32: %q (%s), want %q (FULL_OBJECT)", aws.ToString(h.ChecksumCRC32), h.ChecksumType, b64(crc32Sum(whole)))
	}

	if _, err := upload("default", "", ""); err != nil {
		t.Fatal(err)
	}
	nvme := crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	nvme.Write(whole)
	if h := head("default"); aws.ToString(h.ChecksumCRC64NVME) != b64(nvme.Sum(nil)) || h.ChecksumType != types.ChecksumTypeFullObject || h.ChecksumCRC32 != nil {
		t.Errorf("HeadObject of an upload without a checksum: CRC64NVME %q (%s), CRC32 %v; want %q (FULL_OBJECT) alone",
			aws.ToString(h.ChecksumCRC64NVME), h.ChecksumType, h.ChecksumCRC32, b64(nvme.Sum(nil)))
	}
	if _, b := readChecked(t, c, log, "default"); !bytes.Equal(b, whole) {
		t.Errorf("GetObject of the multipart object: %d bytes, want %d", len(b), len(whole))
	}

	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("mixed"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("reports"), Key: aws.String("mixed"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(parts[1]), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if errCode(err) != "InvalidRequest" {
		t.Errorf("a CRC32 part of a CRC32C upload: %s, want InvalidRequest", errCode(err))
	}
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("reports"), Key: aws.String("k"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumType: types.ChecksumTypeFullObject})
	if errCode(err) != "InvalidRequest" || !strings.Contains(errString(err), "FULL_OBJECT") {
		t.Errorf("a full-object SHA256: %v, want InvalidRequest naming FULL_OBJECT", err)
	}
}
