package fleet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// SessionName is the role session name of every AssumeRole: it shows in
// the member accounts' CloudTrail as who made the changes.
const SessionName = "orgpatch"

// Partition returns the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// RoleARN is the ARN of role name in account.
func RoleARN(partition, account, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, name)
}

// Credentials hands out, per account, an aws.Config that acts as the
// configuration role there. The role is assumed once per account and the
// credentials are cached (and refreshed before they expire) by
// aws.CredentialsCache; it is safe for concurrent use.
type Credentials struct {
	mgmt aws.Config
	sts  stscreds.AssumeRoleAPIClient
	role string

	mu    sync.Mutex
	cache map[string]*aws.CredentialsCache
}

// NewCredentials returns Credentials assuming roleName from the management
// configuration mgmt (whose region also gives the partition of the role ARNs).
func NewCredentials(mgmt aws.Config, roleName string) *Credentials {
	return &Credentials{
		mgmt:  mgmt,
		sts:   sts.NewFromConfig(mgmt),
		role:  roleName,
		cache: map[string]*aws.CredentialsCache{},
	}
}

// Config returns mgmt with the account's role credentials; set the region
// per client (ssm.NewFromConfig(cfg, awsconf.SSMIn(region)), and its
// siblings for the Tagging API and EC2).
// No call is made until a client uses it, or Retrieve is called.
func (c *Credentials) Config(account string) aws.Config {
	cfg := c.mgmt.Copy()
	cfg.Credentials = c.provider(account)
	return cfg
}

// Retrieve assumes the role in account now (or returns the cached
// credentials), so that a missing or untrusted role is reported as the
// AssumeRole failure it is, not as the first service call's.
func (c *Credentials) Retrieve(ctx context.Context, account string) error {
	if _, err := c.provider(account).Retrieve(ctx); err != nil {
		return fmt.Errorf("assume role %s: %w", RoleARN(Partition(c.mgmt.Region), account, c.role), err)
	}
	return nil
}

func (c *Credentials) provider(account string) *aws.CredentialsCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.cache[account]
	if !ok {
		arn := RoleARN(Partition(c.mgmt.Region), account, c.role)
		p = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(c.sts, arn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = SessionName
		}), func(o *aws.CredentialsCacheOptions) {
			// Refresh ahead of expiry, so that no call in flight (a
			// throttled one may retry for a while) is signed with
			// credentials about to lapse.
			o.ExpiryWindow = time.Minute
		})
		c.cache[account] = p
	}
	return p
}
