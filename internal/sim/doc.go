// Package sim is a simulated AWS organization that speaks the real AWS wire
// protocols, so that orgpatch's tests, demo and benchmarks run through the
// real aws-sdk-go-v2 clients (and equally the AWS CLI or boto3) with no AWS
// account.
//
// One http.Handler (Server) answers every service on one endpoint: SSM and
// Organizations (JSON 1.1), STS (Query), EC2 DescribeRegions (EC2 Query),
// Control Tower's landing zone reads (REST-JSON) and the Resource Groups
// Tagging API's GetResources (JSON 1.1) over the SSM resources it holds.
// The SigV4 credential scope names the service and region; signatures are
// not verified. Any access key the simulator did not issue acts as the
// management account's IAM user (RootAccessKeyID alone as its root user,
// which may assume no role); STS
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
// Every call is logged for assertions and counts; the server also counts
// the connections it accepted (ConnState) and the most calls it answered at
// once (PeakInFlight).
//
// # Quotas
//
// WithQuotas(DefaultQuotas()) throttles as AWS does by default, one token
// bucket per caller account x region x operation; where AWS publishes no
// figure the simulator names its assumption:
//
//	operation                        rate/s  burst  source
//	sts AssumeRole (and all of STS)     600    600  IAM User Guide, "IAM and AWS STS quotas": 600 requests
//	                                                per second per account per Region; the burst is not
//	                                                published: assumed one second's worth
//	ec2 DescribeRegions (all of EC2)     20    100  Amazon EC2 API Reference, "Request throttling":
//	                                                non-mutating actions, bucket 100, refill 20/s
//	ssm (every operation)                10     20  assumption: AWS publishes no rate for the
//	                                                maintenance-window and service-setting APIs
//	organizations (every operation)      10     20  assumption: no published rate
//	controltower (every operation)       10     20  assumption: no published rate
//	tagging GetResources                 10     20  assumption: no published rate
//
// WithThrottle replaces them all with one figure, for fault tests.
//
// Organizations come from JSON files (testdata/orgs/*.json, LoadOrg) or are
// generated (GenerateOrg); SSM itself is package ssmsvc.
package sim
