package promotion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/names"
)

// StateKey is the state's object in the runs bucket.
const StateKey = names.PromotionStateKey

// maxStateBytes bounds the state document read back: the history and the
// unpublished events are bounded, so a bigger object is not orgpatch's.
const maxStateBytes = 8 << 20

// ErrConflict is a Save that lost a race: the state changed since it was
// loaded (S3's 412 PreconditionFailed, or 409 ConditionalRequestConflict
// while another conditional write is in flight). Load again and re-decide.
var ErrConflict = errors.New("promotion state changed since it was read")

// Store keeps the state durably. Load returns the state and its version
// (etag, "" when there is none yet); Save writes it only if the stored
// version is still etag ("" creates it only if none exists), returning
// the new version, or ErrConflict.
type Store interface {
	Load(ctx context.Context) (State, string, error)
	Save(ctx context.Context, st State, etag string) (string, error)
}

// S3API is what S3Store calls.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// S3Store is the state in the runs bucket (StateKey), written only with
// conditional writes: If-None-Match "*" to create it, If-Match its ETag to
// change it. Owner is the bucket's account, passed as ExpectedBucketOwner
// on every call like every other runs-bucket call.
type S3Store struct {
	API    S3API
	Bucket string
	Owner  string
}

var _ Store = S3Store{}

// Load reads the state; a bucket without it is the empty state.
func (s S3Store) Load(ctx context.Context) (State, string, error) {
	out, err := s.API.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(StateKey), ExpectedBucketOwner: nilIfEmpty(s.Owner)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return State{}, "", nil
	}
	if err != nil {
		return State{}, "", fmt.Errorf("read s3://%s/%s: %w", s.Bucket, StateKey, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxStateBytes+1))
	if err != nil {
		return State{}, "", fmt.Errorf("read s3://%s/%s: %w", s.Bucket, StateKey, err)
	}
	if len(data) > maxStateBytes {
		return State{}, "", fmt.Errorf("read s3://%s/%s: larger than %d bytes; not a promotion state orgpatch wrote", s.Bucket, StateKey, maxStateBytes)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, "", fmt.Errorf("read s3://%s/%s: %w", s.Bucket, StateKey, err)
	}
	return st, aws.ToString(out.ETag), nil
}

// Save writes the state if it is still at version etag.
func (s S3Store) Save(ctx context.Context, st State, etag string) (string, error) {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return "", fmt.Errorf("encode promotion state: %w", err)
	}
	in := &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(StateKey), Body: bytes.NewReader(data),
		ContentType: aws.String("application/json"), ExpectedBucketOwner: nilIfEmpty(s.Owner)}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := s.API.PutObject(ctx, in)
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
		return "", fmt.Errorf("write s3://%s/%s: %w (%s)", s.Bucket, StateKey, ErrConflict, ae.ErrorCode())
	}
	if err != nil {
		return "", fmt.Errorf("write s3://%s/%s: %w", s.Bucket, StateKey, err)
	}
	return aws.ToString(out.ETag), nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// MaxAttempts bounds Update's load-change-save rounds.
const MaxAttempts = 8

// Update loads the state, applies change and saves it conditionally. When
// another writer saved in between, it loads again and applies change to
// what that writer left, so both changes land: at most MaxAttempts
// rounds, with the SDK's jittered backoff between them.
func Update(ctx context.Context, store Store, change func(State) (State, error)) (State, error) {
	backoff := retry.NewExponentialJitterBackoff(time.Second)
	for attempt := 1; ; attempt++ {
		st, etag, err := store.Load(ctx)
		if err != nil {
			return State{}, err
		}
		next, err := change(st)
		if err != nil {
			return State{}, err
		}
		_, err = store.Save(ctx, next, etag)
		switch {
		case err == nil:
			return next, nil
		case !errors.Is(err, ErrConflict):
			return State{}, err
		case attempt == MaxAttempts:
			return State{}, fmt.Errorf("promotion state: lost the race to another writer %d times; gave up: %w", attempt, err)
		}
		delay, _ := backoff.BackoffDelay(attempt, err)
		select {
		case <-ctx.Done():
			return State{}, ctx.Err()
		case <-time.After(delay):
		}
	}
}
