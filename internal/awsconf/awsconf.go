// Package awsconf builds every aws.Config orgpatch uses, in one place.
//
// The Lambda, the CLI, the tests and the benchmarks all come through Load, so
// pointing everything at the simulator is one setting (Options.Endpoint), and
// the retry policy (the SDK's adaptive mode, which backs off on throttling)
// is the same everywhere.
package awsconf

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
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
	if opts.HTTPClient != nil {
		loaders = append(loaders, config.WithHTTPClient(opts.HTTPClient))
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
