package compliance

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Upload sizes: S3's minimum part (5 MiB) and two parts in flight, so an
// upload holds about 15 MiB however many records stream through it.
const (
	uploadPartSize    = 5 << 20
	uploadConcurrency = 2
)

// S3Upload streams records to one S3 object as JSON Lines through a
// multipart upload (the SDK's transfer manager): parts leave as they fill,
// so memory stays bounded by the part size, not by the organization.
type S3Upload struct {
	pw   *io.PipeWriter
	buf  *bufio.Writer
	gz   *gzip.Writer // nil when not compressed
	w    io.Writer    // gz or buf
	enc  *json.Encoder
	done chan error
}

// Object describes an object to upload.
type Object struct {
	ContentType string
	// Gzip compresses what is written. With ContentEncoding "gzip" the
	// object says so, and browsers and the SDK unpack it on download;
	// without, it is a .gz file (what Athena reads by its key's suffix).
	Gzip            bool
	ContentEncoding string
}

// NewS3Upload starts the upload of bucket/key; write with Sink or Write,
// then call Close (or Abort).
func NewS3Upload(ctx context.Context, client transfermanager.S3APIClient, bucket, key string, o Object) *S3Upload {
	pr, pw := io.Pipe()
	u := &S3Upload{pw: pw, buf: bufio.NewWriterSize(pw, 64<<10), done: make(chan error, 1)}
	u.w = u.buf
	if o.Gzip {
		u.gz = gzip.NewWriter(u.buf)
		u.w = u.gz
	}
	u.enc = json.NewEncoder(u.w)
	tm := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes, o.MultipartUploadThreshold, o.Concurrency = uploadPartSize, uploadPartSize, uploadConcurrency
	})
	go func() {
		_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: pr, ContentType: aws.String(o.ContentType),
			ContentEncoding: nilIfEmpty(o.ContentEncoding),
		})
		if err != nil {
			err = fmt.Errorf("upload s3://%s/%s: %w", bucket, key, err)
		}
		pr.CloseWithError(err) // unblocks a writer if the upload failed first
		u.done <- err
	}()
	return u
}

// Write adds raw bytes (the page).
func (u *S3Upload) Write(p []byte) (int, error) { return u.w.Write(p) }

// Sink writes one record as a line.
func (u *S3Upload) Sink(r *Record) error { return u.enc.Encode(r) }

// Close finishes the upload and returns its error.
func (u *S3Upload) Close() error {
	var err error
	if u.gz != nil {
		err = u.gz.Close()
	}
	if err == nil {
		err = u.buf.Flush()
	}
	if err != nil {
		u.pw.CloseWithError(err)
		return <-u.done
	}
	u.pw.Close()
	return <-u.done
}

// Abort stops the upload; the transfer manager aborts the multipart upload,
// so no part is left behind.
func (u *S3Upload) Abort(cause error) error {
	u.pw.CloseWithError(cause)
	return <-u.done
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NewS3Client returns an S3 client for cfg; with an endpoint set (a
// simulator), it addresses buckets by path, as the simulator serves them.
func NewS3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.BaseEndpoint != nil
	})
}
