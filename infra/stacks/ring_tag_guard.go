package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsorganizations"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RingTagGuardProps configure the ring tag guard: the account tag key
// that selects rings and the principals (IAM ARNs, wildcards allowed) who
// alone may set or remove it, and the organization root it applies to.
type RingTagGuardProps struct {
	TagKey     string
	Principals []string
	RootID     *string
}

// RingTagGuard is the service control policy that limits the ring tag key.
type RingTagGuard struct {
	Policy awsorganizations.CfnPolicy
}

// NewRingTagGuard builds a service control policy, attached to the
// organization's root, that denies organizations:TagResource and
// UntagResource touching TagKey to every principal but Principals: with
// rings selected by account tag (config ringsByTag), it keeps the choice
// of an account's ring with the people named.
//
// SCPs do not bind the management account's own principals (AWS:
// "SCPs don't affect users or roles in the management account"), so there
// the guard is IAM: who holds organizations:TagResource in the management
// account (docs/rings-and-baselines.md). The SCP binds every member
// account, a delegated administrator of Organizations included.
func NewRingTagGuard(scope constructs.Construct, id string, p RingTagGuardProps) *RingTagGuard {
	c := constructs.NewConstruct(scope, jsii.String(id))
	content := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":      "OrgpatchRingTagGuard",
			"Effect":   "Deny",
			"Action":   []string{"organizations:TagResource", "organizations:UntagResource"},
			"Resource": "*",
			"Condition": map[string]any{
				"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": []string{p.TagKey}},
				"ArnNotLike":               map[string]any{"aws:PrincipalArn": p.Principals},
			},
		}},
	}
	policy := awsorganizations.NewCfnPolicy(c, jsii.String("Policy"), &awsorganizations.CfnPolicyProps{
		Name:        jsii.String("orgpatch-ring-tag-guard"),
		Description: jsii.String("orgpatch: only the named principals may set or remove the account tag that selects patching rings"),
		Type:        jsii.String("SERVICE_CONTROL_POLICY"),
		Content:     content,
		TargetIds:   &[]*string{p.RootID},
	})
	return &RingTagGuard{Policy: policy}
}
