package stacks

import (
	"path"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orgpatch/orgpatch/internal/names"
)

// RunsPrefix is where every object of the whole-organization runs lives in
// the runs bucket: the work items and records (RunsPrefix<run>/) and the
// Distributed Map's results (RunsResultsPrefix). The state machine and the
// Lambda may touch nothing else. internal/run writes the same keys.
const (
	RunsPrefix        = "runs/"
	RunsResultsPrefix = RunsPrefix + "results"
)

// runsRetentionDays is how long a run's items and results are kept: long
// enough to redrive a failed map run and to read what happened, then gone.
// promotionHistoryDays is how long the promotion state's earlier versions
// are kept (each promotion, hold and override wrote one): past a year of
// audits. The state itself (names.PromotionStateKey) never expires: prod's
// pins live in it, and a ring whose state vanished would fall back to its
// configured delay.
const (
	runsRetentionDays    = 30
	promotionHistoryDays = 400
)

// RunsBucket is the S3 bucket of the whole-organization runs.
type RunsBucket struct {
	Bucket awss3.Bucket
}

// NewRunsBucket builds the bucket: encrypted (S3-managed keys), TLS only,
// public access blocked, objects owned by the bucket owner, versioned (an
// object overwritten or deleted keeps its earlier version, so a rewrite of
// a run's items can be seen), and a lifecycle that expires the runs'
// objects (RunsPrefix), their earlier versions and abandoned multipart
// uploads after runsRetentionDays, and the promotion state's earlier
// versions after promotionHistoryDays. Only orgpatch's roles may write it (onlyWriters, in
// the management stack, once the roles exist). It is retained when the stack is deleted: CloudFormation
// cannot delete a bucket that still holds objects, and the lifecycle
// empties it within a month.
func NewRunsBucket(scope constructs.Construct, id string) *RunsBucket {
	c := constructs.NewConstruct(scope, jsii.String(id))
	b := awss3.NewBucket(c, jsii.String("Bucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireRuns"),
			Prefix:                              jsii.String(RunsPrefix),
			Expiration:                          awscdk.Duration_Days(jsii.Number(runsRetentionDays)),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(runsRetentionDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}, {
			Id:                                  jsii.String("KeepPromotionHistory"),
			Prefix:                              jsii.String(path.Dir(names.PromotionStateKey) + "/"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(promotionHistoryDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(b, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The bucket holds only the runs' work items and results, written by orgpatch's own state machine and Lambda; who ran what is in their CloudTrail and execution history, so server access logs would add a second bucket for no reader."),
	}}, jsii.Bool(true))
	return &RunsBucket{Bucket: b}
}
