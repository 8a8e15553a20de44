package sim

import "slices"

// DefaultRegions are the commercial regions enabled in every account without
// opting in: the regions the reference solution configures by default.
var defaultRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ap-southeast-2", "ca-central-1",
	"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
	"sa-east-1",
}

// optInRegions are commercial regions an account must opt into before it can
// call any service there.
var optInRegions = []string{
	"af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1",
}

// Opt-in statuses as EC2 DescribeRegions reports them.
const (
	OptInNotRequired = "opt-in-not-required"
	OptedIn          = "opted-in"
	NotOptedIn       = "not-opted-in"
)

// DefaultRegions returns the 17 commercial regions that need no opt-in.
func DefaultRegions() []string { return slices.Clone(defaultRegions) }

// OptInRegions returns the regions the simulator knows that need opting in.
func OptInRegions() []string { return slices.Clone(optInRegions) }

// regionKind tells whether region is known and whether it needs opting in.
func regionKind(region string) (known, optIn bool) {
	if slices.Contains(defaultRegions, region) {
		return true, false
	}
	if slices.Contains(optInRegions, region) {
		return true, true
	}
	return false, false
}

// allRegions lists every known region, sorted by name as EC2 lists them.
func allRegions() []string {
	all := append(slices.Clone(defaultRegions), optInRegions...)
	slices.Sort(all)
	return all
}
