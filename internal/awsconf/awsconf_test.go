package awsconf_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
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

func TestConcurrencyBoundsCallsInFlightAndConnections(t *testing.T) {
	const concurrency = 3
	env, cfg := boundedSim(t, concurrency, sim.WithLatency(20*time.Millisecond))
	// Calls through different clients (and a member account's, whose
	// AssumeRole goes through STS) share the one bound.
	member := cfg.Copy()
	member.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg),
		"arn:aws:iam::"+sim.DefaultOrg().Accounts[1].ID+":role/"+sim.DefaultRoleName))
	orgs, ssmc := organizations.NewFromConfig(cfg), ssm.NewFromConfig(member)
	callAtOnce(t, 40, 1, func(i int) (err error) {
		if i%2 == 0 {
			_, err = orgs.ListRoots(context.Background(), &organizations.ListRootsInput{})
		} else {
			_, err = ssmc.DescribeMaintenanceWindows(context.Background(), &ssm.DescribeMaintenanceWindowsInput{})
		}
		return err
	})
	if got := env.Server.PeakInFlight(); got > concurrency || got < 2 {
		t.Errorf("peak calls in flight = %d, want 2..%d: 40 calls at once must share %d slots", got, concurrency, concurrency)
	}
	if got := env.Server.Connections(); got > concurrency {
		t.Errorf("%d connections accepted for 41 calls, want at most %d (the concurrency): connections are not reused", got, concurrency)
	}
}

// Over many calls a connection is dropped only when something is wrong.
// The SDK's request bodies used to make net/http drop sound connections
// at random (see addBodyWithoutWriteTo): 1,600 calls opened 5 to 13.
func TestManyCallsReuseTheirConnections(t *testing.T) {
	const concurrency = 4
	env, cfg := boundedSim(t, concurrency, sim.WithQuotas(map[string]sim.Quota{})) // no throttling: no error answers
	client := ssm.NewFromConfig(cfg)
	callAtOnce(t, 16, 100, func(int) error {
		_, err := client.DescribeMaintenanceWindows(context.Background(), &ssm.DescribeMaintenanceWindowsInput{})
		return err
	})
	if got := env.Server.Connections(); got > concurrency {
		t.Errorf("1,600 calls opened %d connections, want at most %d (the concurrency)", got, concurrency)
	}
}

// boundedSim starts a simulator and loads the management account's
// configuration for it with the concurrency.
func boundedSim(t *testing.T, concurrency int, opts ...sim.Option) (*simtest.Env, aws.Config) {
	t.Helper()
	env := simtest.Start(t, nil, opts...)
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{
		Region: simtest.Region, Endpoint: env.URL, Concurrency: concurrency,
		AccessKeyID: sim.ManagementAccessKeyID, SecretAccessKey: sim.ManagementSecretAccessKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return env, cfg
}

// callAtOnce runs call in n goroutines at once, each calling it times
// times (with its goroutine's number), and fails the test on an error.
func callAtOnce(t *testing.T, n, times int, call func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n*times)
	for i := range n {
		wg.Go(func() {
			for range times {
				errs <- call(i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
