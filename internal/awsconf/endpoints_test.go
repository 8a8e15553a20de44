package awsconf

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

func TestEndpointMemoResolvesEachParametersOnce(t *testing.T) {
	calls := 0
	fail := true
	m := &endpointMemo[ssm.EndpointParameters]{resolve: func(ctx context.Context, p ssm.EndpointParameters) (smithyendpoints.Endpoint, error) {
		calls++
		if aws.ToString(p.Region) == "mars-1" && fail {
			return smithyendpoints.Endpoint{}, errors.New("no such region")
		}
		return ssm.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
	}}
	params := func(region string, fips bool, endpoint *string) ssm.EndpointParameters {
		// Fresh pointers each time, as the SDK binds them for every call.
		return ssm.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(false), Endpoint: endpoint}
	}
	host := func(p ssm.EndpointParameters) string {
		t.Helper()
		e, err := m.ResolveEndpoint(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		return e.URI.Host
	}
	for range 3 {
		if got := host(params("eu-west-1", false, nil)); got != "ssm.eu-west-1.amazonaws.com" {
			t.Fatalf("eu-west-1: host %q", got)
		}
	}
	if calls != 1 {
		t.Errorf("3 calls with the same parameters resolved %d times, want 1", calls)
	}
	if got := host(params("eu-west-1", true, nil)); got != "ssm-fips.eu-west-1.amazonaws.com" {
		t.Errorf("FIPS: host %q, want the FIPS endpoint", got)
	}
	if got := host(params("us-east-2", false, nil)); got != "ssm.us-east-2.amazonaws.com" {
		t.Errorf("us-east-2: host %q", got)
	}
	if got := host(params("eu-west-1", false, aws.String("http://127.0.0.1:4566"))); got != "127.0.0.1:4566" {
		t.Errorf("base endpoint: host %q", got)
	}
	if calls != 4 {
		t.Errorf("4 distinct parameters resolved %d times, want 4", calls)
	}
	// A failure is not remembered.
	if _, err := m.ResolveEndpoint(context.Background(), params("mars-1", false, nil)); err == nil {
		t.Fatal("mars-1 resolved; want the resolver's error")
	}
	fail = false
	if _, err := m.ResolveEndpoint(context.Background(), params("mars-1", false, nil)); err != nil {
		t.Errorf("mars-1 after the resolver recovered: %v", err)
	}
}
