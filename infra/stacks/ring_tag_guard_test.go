package stacks

import (
	"testing"
)

// TestRingTagGuard: off by default; when configured, one service control
// policy on the organization's root denies tagging and untagging the ring
// key to every principal but the named ones.
func TestRingTagGuard(t *testing.T) {
	if n := len(resources(build(t, "eu-west-1", nil).mgmt, "AWS::Organizations::Policy")); n != 0 {
		t.Error("a ring tag guard without the setting: want none by default")
	}
	principals := []string{"arn:aws:iam::111122223333:role/PlatformAdmin"}
	b := build(t, "eu-west-1", func(s *Settings) { s.RingTagGuardKey, s.RingTagGuardPrincipals = "ring", principals })
	_, policy := only(t, b.mgmt, "AWS::Organizations::Policy", nil)
	p := props(policy)
	diff(t, "guard", map[string]any{"Type": "SERVICE_CONTROL_POLICY", "TargetIds": []any{ref("OrganizationRootId")}}, pick(p, "Type", "TargetIds"))
	diff(t, "guard statement", map[string]any{
		"Effect": "Deny", "Action": []any{"organizations:TagResource", "organizations:UntagResource"}, "Resource": "*",
		"Condition": map[string]any{
			"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": []any{"ring"}},
			"ArnNotLike":               map[string]any{"aws:PrincipalArn": []any{principals[0]}},
		},
	}, pick(p["Content"].(map[string]any)["Statement"].([]any)[0].(map[string]any), "Effect", "Action", "Resource", "Condition"))
}
