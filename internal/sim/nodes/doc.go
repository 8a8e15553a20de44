// Package nodes is the simulated organization's machines: the EC2 instances
// and hybrid (mi-) servers of every account x region, whether the SSM Agent
// reports each one (a managed node), with its agent version, ping status and
// platform, and its patch state from the last AWS-RunPatchBaseline run.
//
// It exists so that the two services that describe the same machines, EC2
// (DescribeInstances) and Systems Manager (DescribeInstanceInformation, the
// patch states and compliance), read one inventory and cannot disagree. The
// compliance report is checked against it.
//
// Machines come from the organization file, from Put, or are generated: with
// a per-target count, every account x region not given explicitly gets that
// many machines, derived deterministically from (account, region) on every
// read, so an organization of 170,000 nodes costs no memory to hold, until
// a patching run writes their states (Update keeps them from then on).
//
// Catalog is the patches vendors released, with release dates, severities,
// classifications and CVE ids per operating system: NewCatalog holds the
// generated machines' own patches, Generate adds a deterministic stream of
// them over a date range from a seed, Add releases chosen ones.
package nodes
