// Package sim is a simulated AWS organization that speaks the real AWS wire
// protocols, so that orgpatch's tests, demo and benchmarks run through the
// real aws-sdk-go-v2 clients (and equally the AWS CLI or boto3) with no AWS
// account.
//
// One http.Handler (Server) answers every service on one endpoint: SSM and
// Organizations (JSON 1.1), STS (Query), EC2 DescribeRegions and
// DescribeInstances (EC2 Query), Control Tower's landing zone reads
// (REST-JSON), the Resource Groups Tagging API's GetResources (JSON 1.1)
// over the SSM resources it holds, S3's bucket and object calls
// (REST-XML, path-style; with the objects' checksums) for the compliance report, and Security Hub's
// BatchImportFindings and GetFindings (REST-JSON) for its findings: a
// finding is kept per account x region by ProductArn and Id, so importing
// it again updates it; only the caller's default product and its own
// AwsAccountId are accepted, the rest answered in FailedFindings. For ring
// promotion: S3's conditional writes (If-None-Match: *, If-Match: ETAG; 412
// PreconditionFailed, 409 ConditionalRequestConflict when another write
// lands during a conditional one), EventBridge's PutEvents (JSON 1.1) on
// each account x region's default bus, SNS's CreateTopic, ListTopics and
// Publish (Query), and CloudWatch's PutMetricAlarm, DescribeAlarms and
// SetAlarmState in Smithy RPC v2 CBOR (what the Go SDK sends) and AWS JSON
// 1.0 (what botocore, so the AWS CLI and boto3, sends). EventBridge and SNS
// have no API to read back what they were sent: Server.Events and
// Server.Messages do it for tests and the demo. The machines SSM and EC2
// describe are package nodes.
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
//	operation                            rate/s  burst  source
//	sts AssumeRole (and all of STS)         600    600  IAM User Guide, "IAM and AWS STS quotas": 600 requests
//	                                                    per second per account per Region; the burst is not
//	                                                    published: assumed one second's worth
//	ec2 DescribeRegions, DescribeInstances   20    100  Amazon EC2 API Reference, "Request throttling":
//	  (all of EC2)                                      non-mutating actions, bucket 100, refill 20/s
//	ssm (every operation)                    10     20  assumption: AWS publishes no rate for the
//	                                                    maintenance-window, service-setting, patch
//	                                                    baseline and compliance-read APIs
//	s3 PutObject, UploadPart, the other    3500   3500  Amazon S3 User Guide, "Best practices design
//	  writes (all of S3)                                patterns": 3,500 PUT/COPY/POST/DELETE per second
//	                                                    per partitioned prefix; burst assumed one
//	                                                    second's worth, buckets per operation, not prefix
//	s3 GetObject, HeadObject,              5500   5500  the same page: 5,500 GET/HEAD per second
//	  HeadBucket, ListObjectsV2                         per partitioned prefix; burst assumed likewise
//	organizations (every operation)          10     20  assumption: no published rate
//	controltower (every operation)           10     20  assumption: no published rate
//	tagging GetResources                     10     20  assumption: no published rate
//	securityhub (both operations)            10     30  Security Hub API reference: 10 per second,
//	                                                    bursts of 30
//	events PutEvents                      10000  10000  EventBridge User Guide, "EventBridge quotas":
//	                                                    10,000 per second in us-east-1 (less in smaller
//	                                                    Regions; us-east-1's applied everywhere); burst
//	                                                    assumed one second's worth
//	sns Publish                           30000  30000  AWS General Reference, "Amazon SNS endpoints and
//	                                                    quotas": 30,000 per second in us-east-1 (9,000 in
//	                                                    us-west-2 and eu-west-1, 1,500 elsewhere; us-east-1's
//	                                                    applied everywhere); burst assumed likewise
//	sns CreateTopic, ListTopics              10     20  assumption: the simulator's figure for APIs
//	                                                    whose rate it does not take from AWS
//	monitoring DescribeAlarms                 9      9  CloudWatch User Guide, "CloudWatch service quotas":
//	                                                    9 per second; burst assumed one second's worth
//	monitoring PutMetricAlarm,                3      3  the same page: 3 per second each
//	  SetAlarmState
//
// WithThrottle replaces them all with one figure, for fault tests.
//
// # Patching over time
//
// With WithSimClock(NewClock(start)) the server's time stands still until
// Clock.Advance or (*Server).Advance moves it; the advance runs, in time
// order, every maintenance window occurrence that fell due (package ssmsvc:
// schedules in their time zones with their offsets, StartDate and EndDate),
// and a window's AWS-RunPatchBaseline task scans or installs on its targets
// by the baselines' approval rules over the patch catalog (nodes.Catalog:
// WithCatalog, or the default one holding the generated machines' patches;
// (*Server).Catalog releases more). WithInstallFailures injects install
// failures at a rate per account, region or node, deterministically.
// Nothing runs unless the clock is advanced, and an advance looks at
// windows, not nodes. Sessions AssumeRole issued expire by the simulated
// clock: after a long advance, callers assume their role again.
//
// Organizations come from JSON files (testdata/orgs/*.json, LoadOrg) or are
// generated (GenerateOrg); SSM itself is package ssmsvc.
package sim
