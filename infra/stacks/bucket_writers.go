package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// objectWrites are the S3 actions that change a bucket's objects: puts
// (multipart uploads included: CreateMultipartUpload, UploadPart and
// CompleteMultipartUpload are authorized as s3:PutObject), deletes,
// aborts, and changes to an object's ACL, tags, retention or legal hold.
var objectWrites = []string{
	"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload",
	"s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
	"s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
}

// onlyWriters adds to bucket's policy a statement denying every object
// write to any principal but the writers' roles, whatever IAM grants them
// (an explicit deny wins over any allow in the same account): an
// administrator of the management account cannot rewrite a run's work
// items or a report, only orgpatch's own roles can. The lifecycle's
// expirations are S3's own and not affected. The condition is on
// aws:PrincipalArn, which for an assumed role's session is the role's ARN.
func onlyWriters(bucket awss3.IBucket, writers ...awsiam.IRole) {
	arns := make([]*string, len(writers))
	for i, r := range writers {
		arns[i] = r.RoleArn()
	}
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyOrgpatchWrites"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings(objectWrites...),
		Resources:  jsii.Strings(*bucket.ArnForObjects(jsii.String("*"))),
		Conditions: &map[string]interface{}{"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": arns}},
	}))
}
