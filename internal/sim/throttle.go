package sim

import (
	"sync"
	"time"
)

// Quota is a request-rate quota: a token bucket holding Burst tokens,
// refilled at Rate per second, one token per call.
type Quota struct {
	Rate  float64 // calls per second, sustained
	Burst int     // calls at once from a full bucket
	// Source is where the figure comes from: an AWS document, or the name
	// of the assumption made where AWS publishes none.
	Source string
}

// Where AWS documents a quota, and the assumption made where it does not.
// The package documentation lists them as one table.
const (
	sourceSTS = "IAM User Guide, IAM and AWS STS quotas: 600 requests per second per account per Region (burst not published: assumed one second's worth)"
	sourceEC2 = "Amazon EC2 API Reference, Request throttling: non-mutating actions, bucket 100, refill 20 per second"
	// S3 documents its rates per partitioned prefix; the simulator keys
	// its buckets per account x region x operation, the closest it keeps.
	sourceS3Write = "Amazon S3 User Guide, Best practices design patterns: at least 3,500 PUT/COPY/POST/DELETE requests per second per partitioned prefix (burst not published: assumed one second's worth)"
	sourceS3Read  = "Amazon S3 User Guide, Best practices design patterns: at least 5,500 GET/HEAD requests per second per partitioned prefix (burst not published: assumed one second's worth)"
	// The named assumption for the APIs whose rate AWS does not publish
	// (SSM's maintenance-window and service-setting calls, Organizations,
	// Control Tower, the Resource Groups Tagging API).
	sourceSecurityHub = "Security Hub API reference, BatchImportFindings and GetFindings: 10 requests per second, bursts of 30 per account x Region"
	sourceAssumed     = "assumption: AWS publishes no rate for this API; 10 per second with a burst of 20 per account x Region x API"
)

// DefaultQuotas returns the simulator's quotas, keyed by signing name and
// operation ("sts/AssumeRole") or by signing name alone for every operation
// of a service ("ssm"); an operation's own key wins. Every bucket is per
// caller account x region x operation.
func DefaultQuotas() map[string]Quota {
	assumed := Quota{Rate: 10, Burst: 20, Source: sourceAssumed}
	return map[string]Quota{
		ServiceSTS:                      {Rate: 600, Burst: 600, Source: sourceSTS},
		ServiceEC2:                      {Rate: 20, Burst: 100, Source: sourceEC2},
		ServiceSSM:                      assumed,
		ServiceOrganizations:            assumed,
		ServiceControlTower:             assumed,
		ServiceTagging:                  assumed,
		ServiceCloudFormation:           assumed,
		ServiceSecurityHub:              {Rate: 10, Burst: 30, Source: sourceSecurityHub},
		ServiceSTS + "/AssumeRole":      {Rate: 600, Burst: 600, Source: sourceSTS},
		ServiceEC2 + "/DescribeRegions": {Rate: 20, Burst: 100, Source: sourceEC2},
		// S3: writes (PUT and POST: the object, its parts, the bucket)
		// take the service's figure, reads (GET and HEAD) their own.
		ServiceS3:                    {Rate: 3500, Burst: 3500, Source: sourceS3Write},
		ServiceS3 + "/GetObject":     {Rate: 5500, Burst: 5500, Source: sourceS3Read},
		ServiceS3 + "/HeadObject":    {Rate: 5500, Burst: 5500, Source: sourceS3Read},
		ServiceS3 + "/HeadBucket":    {Rate: 5500, Burst: 5500, Source: sourceS3Read},
		ServiceS3 + "/ListObjectsV2": {Rate: 5500, Burst: 5500, Source: sourceS3Read},
	}
}

// throttler is a token bucket per key (account/region/service/operation),
// refilled on the wall clock, with the quota of the key's operation.
type throttler struct {
	quotas map[string]Quota

	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newThrottler(quotas map[string]Quota) *throttler {
	return &throttler{quotas: quotas, buckets: map[string]*bucket{}, now: time.Now}
}

// QuotaOf returns the quota of service's operation in quotas (keyed as
// DefaultQuotas is); false when it has none.
func QuotaOf(quotas map[string]Quota, service, op string) (Quota, bool) {
	if q, ok := quotas[service+"/"+op]; ok {
		return q, true
	}
	q, ok := quotas[service]
	return q, ok
}

// allow takes a token from the bucket of (account, region, service, op),
// reporting false when there is none.
func (t *throttler) allow(account, region, service, op string) bool {
	q, ok := QuotaOf(t.quotas, service, op)
	if !ok {
		return true
	}
	key := account + "/" + region + "/" + service + "/" + op
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(q.Burst), last: now}
		t.buckets[key] = b
	}
	b.tokens = min(float64(q.Burst), b.tokens+now.Sub(b.last).Seconds()*q.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
