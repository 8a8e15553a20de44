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

// S3Store is the Store of a deployed stack: its bucket, where the
// Distributed Map reads the items and writes its results.
type S3Store struct {
	api    objectsAPI
	bucket string
}

var _ Store = S3Store{}

// NewS3Store returns the store of bucket.
func NewS3Store(api *s3.Client, bucket string) S3Store { return S3Store{api: api, bucket: bucket} }

// Put writes body to key (the bucket's default encryption applies).
func (s S3Store) Put(ctx context.Context, key string, body []byte) error {
	_, err := s.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Get reads key.
func (s S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	return b, nil
}
