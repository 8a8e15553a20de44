package stepfn

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// objectsAPI is the part of the S3 API a S3Store uses.
type objectsAPI interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ objectsAPI = (*s3.Client)(nil)

// DefaultMaxObjectBytes bounds what S3Store.Get reads back: a run's items
// are about 150 bytes an account, so 32 MiB holds an organization of
// 200,000 accounts (Organizations' default quota is 10) with room to
// spare, while a larger object, which orgpatch did not write, cannot
// exhaust the Lambda's memory.
const DefaultMaxObjectBytes = 32 << 20

// S3Store is the Store of a deployed stack: its bucket, where the
// Distributed Map reads the items and writes its results.
type S3Store struct {
	api    objectsAPI
	bucket string
	// owner is the account that must own the bucket: every call passes
	// it as ExpectedBucketOwner, so a bucket of the same name in another
	// account (deleted and taken, or misnamed) is refused with
	// AccessDenied instead of being written or trusted. Empty (a local
	// invoke, which knows no account) names none.
	owner *string
	// MaxBytes bounds an object Get reads (DefaultMaxObjectBytes).
	MaxBytes int64
}

var _ Store = S3Store{}

// NewS3Store returns the store of bucket, which owner (an account id)
// must own; "" checks no owner.
func NewS3Store(api *s3.Client, bucket, owner string) S3Store {
	s := S3Store{api: api, bucket: bucket, MaxBytes: DefaultMaxObjectBytes}
	if owner != "" {
		s.owner = aws.String(owner)
	}
	return s
}

// Put writes body to key (the bucket's default encryption applies).
func (s S3Store) Put(ctx context.Context, key string, body []byte) error {
	_, err := s.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), ExpectedBucketOwner: s.owner,
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Get reads key; an object larger than MaxBytes is an error, and no more
// than MaxBytes+1 of it is read.
func (s S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), ExpectedBucketOwner: s.owner})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	tooLarge := fmt.Errorf("get s3://%s/%s: the object is larger than %d bytes, more than orgpatch writes: refused", s.bucket, key, s.MaxBytes)
	if aws.ToInt64(out.ContentLength) > s.MaxBytes {
		return nil, tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(out.Body, s.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	if int64(len(b)) > s.MaxBytes {
		return nil, tooLarge
	}
	return b, nil
}
