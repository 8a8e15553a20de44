// Package sim is a simulated AWS organization that speaks the real AWS wire
// protocols, so that orgpatch's tests, demo and benchmarks run through the
// real aws-sdk-go-v2 clients (and equally the AWS CLI or boto3) with no AWS
// account.
//
// One http.Handler (Server) answers every service on one endpoint: SSM and
// Organizations (JSON 1.1), STS (Query), EC2 DescribeRegions (EC2 Query) and
// Control Tower's landing zone reads (REST-JSON). The SigV4 credential scope
// names the service and region; signatures are not verified. Any access key
// the simulator did not issue acts as the management account's IAM user
// (RootAccessKeyID alone as its root user, which may assume no role); STS
// AssumeRole issues keys that act in the target account, so every call lands
// in the (account, region) it would reach in AWS.
//
// Fidelity is the point: inputs are checked against the service models,
// errors come in each protocol's real shape with the codes AWS sends (so
// they reach smithy.APIError.ErrorCode()), a region an account has not
// opted into refuses its credentials, AssumeRole is refused where the role
// is missing or does not trust the caller (and always to a root user), and lists are paginated with
// MaxResults and NextToken. Faults are options: latency, throttling per
// account x region x operation, AccessDenied accounts, a rate of internal
// errors, and a crash hook that fails every call after the Nth write.
// Every call is logged for assertions and counts.
//
// Organizations come from JSON files (testdata/orgs/*.json, LoadOrg) or are
// generated (GenerateOrg); SSM itself is package ssmsvc.
package sim
