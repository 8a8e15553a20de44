package awsconf_test

import (
	"context"
	"os"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/orgpatch/orgpatch/internal/awsconf"
)

func TestLoadPointsEveryClientAtTheEndpoint(t *testing.T) {
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{
		Region: "eu-west-1", Endpoint: "http://127.0.0.1:9", AccessKeyID: "AKID", SecretAccessKey: "secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:9" {
		t.Errorf("BaseEndpoint = %v, want http://127.0.0.1:9", cfg.BaseEndpoint)
	}
	if got := cfg.Retryer().MaxAttempts(); got != awsconf.DefaultMaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", got, awsconf.DefaultMaxAttempts)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" {
		t.Errorf("credentials = %+v, %v; want the static AKID", creds, err)
	}
}

func TestLoadWithHTTPClientAndCABundle(t *testing.T) {
	// Machines that set AWS_CA_BUNDLE make the loader add root CAs to the
	// HTTP client's transport; the option must take a client that allows it.
	t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
	if _, statErr := os.Stat("/etc/ssl/certs/ca-certificates.crt"); statErr != nil {
		t.Skip("no system CA bundle on this machine")
	}
	_, err := awsconf.Load(context.Background(), awsconf.Options{
		Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret",
		HTTPClient: awshttp.NewBuildableClient(),
	})
	if err != nil {
		t.Fatalf("Load with a custom client and AWS_CA_BUNDLE: %v", err)
	}
}

func TestLoadRefusesNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	_, err := awsconf.Load(context.Background(), awsconf.Options{AccessKeyID: "AKID", SecretAccessKey: "s"})
	if err == nil {
		t.Fatal("Load with no region succeeded; want an error naming the region")
	}
}
