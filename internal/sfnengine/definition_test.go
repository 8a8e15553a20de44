package sfnengine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgpatch/orgpatch/infra/stacks"
)

// deployed is what the test deploys of the synthesized management stack:
// the state machine's definition with every token resolved, as
// CloudFormation resolves it with the parameters at their defaults.
type deployed struct {
	Definition string
	// Parameters are the stack's parameters' defaults.
	Parameters map[string]string
}

// synthesize builds the CDK app in this process, as `make synth` does
// (default settings, home region us-east-1), and resolves the state
// machine's definition: Ref to a parameter is its default, Ref to the runs
// bucket is bucket, the function's Arn is function, AWS::Partition is aws.
func synthesize(t *testing.T, bucket, function string) deployed {
	t.Helper()
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	code := t.TempDir()
	// The template is what matters here, not the binary.
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("stand-in"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := stacks.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cdkJSON); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	s := stacks.DefaultSettings()
	s.HomeRegion = "us-east-1"
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &cdkJSON.Context})
	st, err := stacks.NewApp(app, stacks.AppProps{Settings: s, CodeDir: code})
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	tpl := *assertions.Template_FromStack(st.Management.Stack, nil).ToJSON()
	d := deployed{Parameters: map[string]string{}}
	for name, p := range tpl["Parameters"].(map[string]any) {
		if v, ok := p.(map[string]any)["Default"]; ok {
			d.Parameters[name] = fmt.Sprint(v)
		}
	}
	refs := map[string]string{"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": managementAccount}
	for k, v := range d.Parameters {
		refs[k] = v
	}
	var sm map[string]any
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		switch res["Type"] {
		case "AWS::StepFunctions::StateMachine":
			sm = res
		case "AWS::S3::Bucket":
			if strings.HasPrefix(id, "RunsBucket") {
				refs[id] = bucket
			}
		}
	}
	if sm == nil {
		t.Fatal("the management stack has no state machine")
	}
	var b strings.Builder
	switch def := sm["Properties"].(map[string]any)["DefinitionString"].(type) {
	case string:
		b.WriteString(def)
	case map[string]any:
		for _, part := range def["Fn::Join"].([]any)[1].([]any) {
			b.WriteString(resolve(t, part, refs, function))
		}
	}
	d.Definition = b.String()
	if !json.Valid([]byte(d.Definition)) {
		t.Fatalf("the resolved definition is not JSON:\n%s", d.Definition)
	}
	return d
}

// resolve is one part of the definition's Fn::Join.
func resolve(t *testing.T, part any, refs map[string]string, function string) string {
	t.Helper()
	switch p := part.(type) {
	case string:
		return p
	case map[string]any:
		if ref, ok := p["Ref"].(string); ok {
			v, ok := refs[ref]
			if !ok {
				t.Fatalf("the definition refers to %s, which the test does not deploy", ref)
			}
			return v
		}
		if att, ok := p["Fn::GetAtt"].([]any); ok && att[1] == "Arn" && strings.Contains(att[0].(string), "Function") {
			return function
		}
	}
	t.Fatalf("the definition holds a token the test cannot resolve: %v", part)
	return ""
}

const managementAccount = "111111111111"
