// Package awsconf builds every aws.Config orgpatch uses, in one place.
//
// The Lambda, the CLI, the tests and the benchmarks all come through Load, so
// pointing everything at the simulator is one setting (Options.Endpoint), and
// the retry policy (the SDK's adaptive mode, which backs off on throttling)
// is the same everywhere.
//
// Load is also where a run's --concurrency becomes a bound on the calls in
// flight (Options.Concurrency): every client derived from the returned
// configuration (the management account's, the ones STS assumes roles
// with, every member account's) shares one limit and one pool of
// connections sized to it. The limit sits in the SDK's middleware stack,
// around each HTTP attempt, rather than in the fan-out code: account
// preparation, targets and the reads inside one target then share it
// without any of them knowing, and retry back-off waits hold no slot.
package awsconf

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"
)

// DefaultMaxAttempts is how many times a call is tried before its error is
// returned. Throttling and 5xx answers are retried with backoff.
const DefaultMaxAttempts = 8

// Options say where the clients talk to and as whom.
type Options struct {
	// Region is the client region; when empty the environment's is used.
	Region string
	// Endpoint, when set, is the BaseEndpoint of every service client
	// (a simulator's URL). Empty means the real AWS endpoints.
	Endpoint string
	// AccessKeyID and SecretAccessKey, when set, are static credentials;
	// otherwise the SDK's default chain is used.
	AccessKeyID, SecretAccessKey, SessionToken string
	// MaxAttempts overrides DefaultMaxAttempts when positive.
	MaxAttempts int
	// HTTPClient overrides the SDK's HTTP client when set. It is the SDK's
	// buildable client because the loader adds transport options to it
	// (AWS_CA_BUNDLE, set on many machines, needs that); a plain
	// *http.Client would make Load fail there.
	HTTPClient *awshttp.BuildableClient
	// Concurrency, when positive, bounds the API calls in flight at once
	// through every client derived from the configuration, and sizes the
	// pool of kept-alive connections to it (unless HTTPClient is set).
	Concurrency int
}

// Load returns the aws.Config for opts.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	loaders := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = attempts
				})
			})
		}),
	}
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	if opts.Endpoint != "" {
		loaders = append(loaders, config.WithBaseEndpoint(opts.Endpoint))
	}
	if opts.AccessKeyID != "" {
		loaders = append(loaders, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	client := opts.HTTPClient
	if opts.Concurrency > 0 {
		loaders = append(loaders, config.WithAPIOptions([]func(*middleware.Stack) error{
			newInFlightLimit(opts.Concurrency).add,
		}))
		if client == nil {
			client = pooledClient(opts.Concurrency)
		}
	}
	if client != nil {
		loaders = append(loaders, config.WithHTTPClient(client))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS region: set AWS_REGION or pass a region")
	}
	return cfg, nil
}

// pooledClient is the SDK's buildable client (so AWS_CA_BUNDLE still
// applies) keeping a connection alive per call that may be in flight: at
// most concurrency calls run at once, so as many idle connections per host
// let every call reuse one instead of opening (with a TLS handshake against
// AWS) a new one. The total is twice that, for runs spread over several
// regional endpoints.
func pooledClient(concurrency int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = concurrency
		tr.MaxIdleConns = 2 * concurrency
	})
}

// inFlightLimit holds one of a fixed number of slots for each HTTP attempt,
// from before the request is sent until its response body has been read
// and closed.
type inFlightLimit struct{ slots chan struct{} }

func newInFlightLimit(n int) *inFlightLimit {
	return &inFlightLimit{slots: make(chan struct{}, n)}
}

// add puts the limit first in the deserialize step, which runs once per
// attempt inside the retry loop and around the body's reading and closing.
func (l *inFlightLimit) add(stack *middleware.Stack) error {
	return stack.Deserialize.Add(l, middleware.Before)
}

func (*inFlightLimit) ID() string { return "OrgpatchInFlightLimit" }

func (l *inFlightLimit) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return middleware.DeserializeOutput{}, middleware.Metadata{}, fmt.Errorf("wait for a free call slot: %w", context.Cause(ctx))
	}
	defer func() { <-l.slots }()
	return next.HandleDeserialize(ctx, in)
}
