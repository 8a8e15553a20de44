package awsconf

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// The clients a run makes for every account x region (SSM, the Tagging
// API, EC2) take their region here, with an endpoint resolver that
// remembers its answers.
//
// The SDK resolves the endpoint of every call by evaluating the service's
// endpoint rules afresh, from parameters that depend only on the region and
// the configuration (base endpoint, FIPS, dual-stack). At organization scale
// that is the same few answers computed hundreds of thousands of times: it
// was about a tenth of orgpatch's CPU time in a no-change run. The rules
// are a pure function of the parameters, so one answer per distinct
// parameters, kept for the life of the process, is the same answer.

// SSMIn sets an SSM client's region, and its memoizing endpoint resolver.
func SSMIn(region string) func(*ssm.Options) {
	return func(o *ssm.Options) { o.Region, o.EndpointResolverV2 = region, ssmEndpoints }
}

// TaggingIn sets a Tagging API client's region, and its memoizing
// endpoint resolver.
func TaggingIn(region string) func(*resourcegroupstaggingapi.Options) {
	return func(o *resourcegroupstaggingapi.Options) { o.Region, o.EndpointResolverV2 = region, taggingEndpoints }
}

// EC2In sets an EC2 client's region, and its memoizing endpoint resolver.
func EC2In(region string) func(*ec2.Options) {
	return func(o *ec2.Options) { o.Region, o.EndpointResolverV2 = region, ec2Endpoints }
}

var (
	ssmEndpoints     = &endpointMemo[ssm.EndpointParameters]{resolve: ssm.NewDefaultEndpointResolverV2().ResolveEndpoint}
	taggingEndpoints = &endpointMemo[resourcegroupstaggingapi.EndpointParameters]{resolve: resourcegroupstaggingapi.NewDefaultEndpointResolverV2().ResolveEndpoint}
	ec2Endpoints     = &endpointMemo[ec2.EndpointParameters]{resolve: ec2.NewDefaultEndpointResolverV2().ResolveEndpoint}
)

// regionalParameters are the endpoint parameters of the services whose
// endpoints depend on nothing but these four (SSM, the Tagging API, EC2):
// their EndpointParameters types have exactly these fields.
type regionalParameters interface {
	~struct {
		Region       *string
		UseDualStack *bool
		UseFIPS      *bool
		Endpoint     *string
	}
}

// endpointMemo is an endpoint resolver that resolves each distinct set of
// parameters once. It is safe for concurrent use. (A typed map: sync.Map's
// keys are interfaces, whose hashing walks the struct by reflection and
// cost more than it saved.)
type endpointMemo[P regionalParameters] struct {
	resolve func(context.Context, P) (smithyendpoints.Endpoint, error)
	mu      sync.RWMutex
	known   map[endpointKey]smithyendpoints.Endpoint
}

// endpointKey is the values of a regionalParameters, nil told apart from
// the zero value.
type endpointKey struct {
	region, endpoint                         string
	dualStack, fips                          bool
	regionSet, endpointSet, dualSet, fipsSet bool
}

func (m *endpointMemo[P]) ResolveEndpoint(ctx context.Context, params P) (smithyendpoints.Endpoint, error) {
	p := struct {
		Region       *string
		UseDualStack *bool
		UseFIPS      *bool
		Endpoint     *string
	}(params)
	var k endpointKey
	if p.Region != nil {
		k.region, k.regionSet = *p.Region, true
	}
	if p.Endpoint != nil {
		k.endpoint, k.endpointSet = *p.Endpoint, true
	}
	if p.UseDualStack != nil {
		k.dualStack, k.dualSet = *p.UseDualStack, true
	}
	if p.UseFIPS != nil {
		k.fips, k.fipsSet = *p.UseFIPS, true
	}
	m.mu.RLock()
	e, ok := m.known[k]
	m.mu.RUnlock()
	if ok {
		return e, nil
	}
	e, err := m.resolve(ctx, params)
	if err != nil {
		return e, err // not kept: the next call tries again
	}
	m.mu.Lock()
	if m.known == nil {
		m.known = map[endpointKey]smithyendpoints.Endpoint{}
	}
	m.known[k] = e
	m.mu.Unlock()
	return e, nil
}
