package stacks

import (
	"fmt"
	"slices"
	"testing"

	"github.com/orgpatch/orgpatch/internal/names"
)

// evaluate resolves the template's Fn::If by its conditions, given the
// parameters' values (the others take their defaults): what CloudFormation
// deploys. It knows the condition functions the stacks use (Fn::Equals,
// Fn::Not, Fn::And, Fn::Or over Refs to parameters and literals).
func evaluate(t *testing.T, tpl map[string]any, values map[string]string) map[string]any {
	t.Helper()
	params := map[string]string{}
	for name, p := range tpl["Parameters"].(map[string]any) {
		params[name] = fmt.Sprint(p.(map[string]any)["Default"])
	}
	for k, v := range values {
		if _, ok := params[k]; !ok {
			t.Fatalf("no parameter %s", k)
		}
		params[k] = v
	}
	conditions, _ := tpl["Conditions"].(map[string]any)
	var value func(v any) string
	var holds func(c any) bool
	value = func(v any) string {
		if m, ok := v.(map[string]any); ok {
			if ref, ok := m["Ref"].(string); ok {
				return params[ref]
			}
			t.Fatalf("condition operand %v", v)
		}
		return fmt.Sprint(v)
	}
	holds = func(c any) bool {
		m := c.(map[string]any)
		for fn, args := range m {
			switch fn {
			case "Condition":
				return holds(conditions[args.(string)])
			case "Fn::Equals":
				a := args.([]any)
				return value(a[0]) == value(a[1])
			case "Fn::Not":
				return !holds(args.([]any)[0])
			case "Fn::And", "Fn::Or":
				all, some := true, false
				for _, x := range args.([]any) {
					h := holds(x)
					all, some = all && h, some || h
				}
				if fn == "Fn::And" {
					return all
				}
				return some
			}
		}
		t.Fatalf("condition %v", c)
		return false
	}
	var resolve func(v any) (any, bool) // false: AWS::NoValue
	resolve = func(v any) (any, bool) {
		switch v := v.(type) {
		case map[string]any:
			if v["Ref"] == "AWS::NoValue" {
				return nil, false
			}
			if a, ok := v["Fn::If"].([]any); ok {
				if holds(conditions[a[0].(string)]) {
					return resolve(a[1])
				}
				return resolve(a[2])
			}
			out := map[string]any{}
			for k, x := range v {
				if r, ok := resolve(x); ok {
					out[k] = r
				}
			}
			return out, true
		case []any:
			out := []any{}
			for _, x := range v {
				if r, ok := resolve(x); ok {
					out = append(out, r)
				}
			}
			return out, true
		}
		return v, true
	}
	out := map[string]any{"Parameters": tpl["Parameters"]}
	res := map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		if c, ok := r.(map[string]any)["Condition"].(string); ok && !holds(conditions[c]) {
			continue
		}
		res[id], _ = resolve(r)
	}
	out["Resources"] = res
	return out
}

// ReportSecurityHub is off by default; the Lambda reads it from its
// environment, and only with it true may the Lambda's role import findings,
// and only under the management account's default product.
func TestReportSecurityHubParameterAndGrant(t *testing.T) {
	b := build(t, "eu-west-1", nil)
	param := b.mgmt["Parameters"].(map[string]any)["ReportSecurityHub"].(map[string]any)
	diff(t, "parameter", map[string]any{"Type": "String", "Default": "false", "AllowedValues": []any{"true", "false"}},
		pick(param, "Type", "Default", "AllowedValues"))
	_, fn := only(t, b.mgmt, "AWS::Lambda::Function", nil)
	env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
	diff(t, names.EnvReportSecurityHub, ref("ReportSecurityHub"), env[names.EnvReportSecurityHub])

	for _, tc := range []struct {
		value string
		want  []string
	}{
		{"false", nil},
		{"true", []string{"securityhub:BatchImportFindings"}},
	} {
		deployed := evaluate(t, b.mgmt, map[string]string{"ReportSecurityHub": tc.value})
		_, role := only(t, deployed, "AWS::IAM::Role", roleNamed("orgpatch-lambda"))
		var got []string
		for _, a := range actions(role) {
			if len(a) > 12 && a[:12] == "securityhub:" {
				got = append(got, a)
			}
		}
		if !slices.Equal(tc.want, got) {
			t.Errorf("ReportSecurityHub=%s: Security Hub actions %v, want %v", tc.value, got, tc.want)
		}
		if tc.value == "true" {
			diff(t, "import grant", map[string]any{
				"Sid": "ImportReportFindings", "Effect": "Allow", "Action": "securityhub:BatchImportFindings",
				"Resource": sub("arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"),
			}, statementBySid(t, role, "ImportReportFindings"))
		}
	}
}
