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
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
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
	apiOptions := []func(*middleware.Stack) error{addBodyWithoutWriteTo}
	client := opts.HTTPClient
	if opts.Concurrency > 0 {
		apiOptions = append(apiOptions, newInFlightLimit(opts.Concurrency).add)
		if client == nil {
			client = pooledClient(opts.Concurrency)
		}
	}
	loaders = append(loaders, config.WithAPIOptions(apiOptions))
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
// applies) with a connection per call that may be in flight, and no more:
// at most concurrency calls run at once, so as many connections per host,
// all kept alive, let every call reuse one instead of opening (with a TLS
// handshake against AWS) a new one. MaxConnsPerHost makes that a bound,
// not a hope: without it a call that starts in the instant between a
// response's end and its connection's return to the idle pool dials a
// new connection, and the pool then closes one, so a long run keeps
// opening connections. The idle total is twice the concurrency, for runs
// spread over several regional endpoints.
func pooledClient(concurrency int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxConnsPerHost = concurrency
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

// addBodyWithoutWriteTo hides the WriteTo method of every request body
// from net/http, which otherwise closes a sound connection at random.
//
// The SDK closes a request's body as soon as the response is back, while
// net/http, having written Content-Length bytes, asks the body once more
// for bytes beyond them. That last look races the SDK's close: when it
// comes second, the SDK's closed body answers io.Copy's WriteTo with
// io.EOF as an error (a Read answers a plain end of stream), net/http
// takes it for a failed write and drops the connection, and the next call
// dials a new one (a TLS handshake against AWS). Without WriteTo, the copy
// reads, and a closed body reads as the end it is.
func addBodyWithoutWriteTo(stack *middleware.Stack) error {
	return stack.Deserialize.Add(bodyWithoutWriteTo{}, middleware.Before)
}

type bodyWithoutWriteTo struct{}

func (bodyWithoutWriteTo) ID() string { return "OrgpatchBodyWithoutWriteTo" }

func (bodyWithoutWriteTo) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return next.HandleDeserialize(ctx, in)
	}
	stream := req.GetStream()
	if _, ok := stream.(io.WriterTo); ok {
		var body io.Reader = struct{ io.Reader }{stream}
		if rs, ok := stream.(io.ReadSeeker); ok {
			body = struct{ io.ReadSeeker }{rs} // keeps the retries' rewinding
		}
		r, err := req.SetStream(body)
		if err != nil {
			return middleware.DeserializeOutput{}, middleware.Metadata{}, fmt.Errorf("request body: %w", err)
		}
		in.Request = r
	}
	return next.HandleDeserialize(ctx, in)
}
