package handler_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// stackID is the stack of the events/cfn-*.json requests.
const stackID = "arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10"

// stackConfiguration is the configuration file a stack was synthesized
// with: the defaults, the Linux window only.
func stackConfiguration(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.Windows = cfg.Windows[2:]
	body, err := cfg.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// deployedStack is a handler that knows its stack, as the Lambda does from
// its environment, after the stack's Create has converged every account.
func deployedStack(t *testing.T) (*harness, map[string]any) {
	t.Helper()
	conf := stackConfiguration(t)
	props := map[string]any{config.PropConfiguration: conf, config.PropDisabled: "false", config.PropOperation: "Scan"}
	stack := &handler.Stack{ID: stackID, Properties: map[string]string{
		config.PropConfigurationSHA256: config.ConfigurationDigest(conf),
		config.PropDisabled:            "false",
		config.PropOperation:           "Scan",
	}}
	x := newHarness(t, nil, func(d *handler.Deps) { d.Stack = stack }).withAllRoles(t)
	if _, err := x.invoke(t, x.cfnEvent(t, "cfn-create.json", props)); err != nil {
		t.Fatal(err)
	}
	if a := onlyAnswer(t, x); a.Response.Status != cfn.StatusSuccess {
		t.Fatalf("the stack's own Create answered %s: %s", a.Response.Status, a.Response.Reason)
	}
	x.sv.Server.ResetCalls()
	return x, props
}

// TestParameterWritersCannotChangeWhatAccountsReceive: a principal that may
// write (or delete) the configuration parameter but not update the stack or
// the function changes nothing any account receives; every trigger then
// fails, which is the alarm path (Lambda's retries, the on-failure
// destination, the dead-letter queue's alarm).
func TestParameterWritersCannotChangeWhatAccountsReceive(t *testing.T) {
	tamper := map[string]func(props map[string]any) (value string, remove bool){
		"Operation set to Install": func(p map[string]any) (string, bool) {
			p[config.PropOperation] = "Install"
			return mustMarshal(t, p), false
		},
		"disabled": func(p map[string]any) (string, bool) {
			p[config.PropDisabled] = "true"
			return mustMarshal(t, p), false
		},
		"another configuration file": func(p map[string]any) (string, bool) {
			cfg := config.Default()
			cfg.Windows[2].Task.MaxConcurrency = "1"
			body, err := cfg.JSON()
			if err != nil {
				t.Fatal(err)
			}
			p[config.PropConfiguration] = string(body)
			return mustMarshal(t, p), false
		},
		"a property the stack does not set": func(p map[string]any) (string, bool) {
			p[config.PropRegions] = "eu-west-1"
			return mustMarshal(t, p), false
		},
		"the old format (a bare configuration)": func(map[string]any) (string, bool) {
			body, err := config.Default().JSON()
			if err != nil {
				t.Fatal(err)
			}
			return string(body), false
		},
		"deleted": func(map[string]any) (string, bool) { return "", true },
	}
	for name, edit := range tamper {
		t.Run(name, func(t *testing.T) {
			x, props := deployedStack(t)
			before := x.windows(t, "222222222222", "us-east-1")
			value, remove := edit(props)
			client := ssm.NewFromConfig(x.sv.Config)
			var err error
			if remove {
				_, err = client.DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String(paramName)})
			} else {
				_, err = client.PutParameter(context.Background(), &ssm.PutParameterInput{
					Name: aws.String(paramName), Value: aws.String(value), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			x.sv.Server.ResetCalls()

			for _, file := range []string{"schedule.json", "organizations-move-account.json"} {
				_, err := x.invoke(t, x.event(t, file))
				if err == nil || !strings.Contains(err.Error(), paramName) {
					t.Errorf("%s: Invoke() = %v, want an error naming %s (the alarm path)", file, err, paramName)
				}
			}
			if n := x.sv.Server.WriteCalls(); n != 0 {
				t.Errorf("%d write calls after the parameter was %s, want 0", n, name)
			}
			for _, c := range x.sv.Server.Calls() {
				if c.Account != "111111111111" || c.Operation != "GetParameter" {
					t.Errorf("call beyond reading the parameter: %s %s %s", c.Account, c.Service, c.Operation)
				}
			}
			if got := x.windows(t, "222222222222", "us-east-1"); !slices.Equal(got, before) {
				t.Errorf("windows of 222222222222 = %v, want them as the stack left them: %v", got, before)
			}
		})
	}
}

// TestStackUpdateStillGoverns: the stack's own Update (the function's
// environment updated first, as CloudFormation orders it) is acted on.
func TestStackUpdateStillGoverns(t *testing.T) {
	x, props := deployedStack(t)
	newProps := map[string]any{config.PropConfiguration: props[config.PropConfiguration], config.PropDisabled: "true", config.PropOperation: "Scan"}
	stack := &handler.Stack{ID: stackID, Properties: map[string]string{
		config.PropConfigurationSHA256: config.ConfigurationDigest(props[config.PropConfiguration].(string)),
		config.PropDisabled:            "true",
		config.PropOperation:           "Scan",
	}}
	y := rebind(t, x, stack)
	y.sv.Server.PutStack(sim.Stack{ID: stackID, Name: "orgpatch", Status: "UPDATE_IN_PROGRESS"})
	if _, err := y.invoke(t, y.cfnEvent(t, "cfn-update.json", newProps)); err != nil {
		t.Fatal(err)
	}
	answers := y.cfn.answers()
	if got := answers[len(answers)-1].Response; got.Status != cfn.StatusSuccess {
		t.Fatalf("the stack's own Update answered %s: %s", got.Status, got.Reason)
	}
	if got := y.windowed(t); len(got) != 0 {
		t.Errorf("after the Update to disabled windows remain in %v", got)
	}
	if _, err := y.invoke(t, y.event(t, "schedule.json")); err != nil {
		t.Errorf("schedule after the stack's Update: %v, want the stored configuration accepted", err)
	}
}

// rebind builds x's handler again, over x's simulator and recorder, for a
// function whose environment now names stack.
func rebind(t *testing.T, x *harness, stack *handler.Stack) *harness {
	t.Helper()
	x.h = handler.New(handler.Deps{
		Management: x.sv.Config, ConfigParameter: paramName, Concurrency: 8, RoleWait: 1,
		Logger: handler.NewLogger(x.logs, slog.LevelDebug), Metrics: x.metrics, LoopbackAnswers: true, Stack: stack,
	})
	return x
}

// TestForgedRequestsAreRefused: a custom resource request for another
// stack, or one carrying properties the stack did not set, is answered
// FAILED, fails the invocation (the alarm path) and makes no AWS call.
func TestForgedRequestsAreRefused(t *testing.T) {
	tests := map[string]struct {
		edit func(ev map[string]any)
		want string
	}{
		"another stack": {
			edit: func(ev map[string]any) {
				ev["StackId"] = "arn:aws:cloudformation:us-east-1:111111111111:stack/attacker/00000000-0000-0000-0000-000000000000"
			},
			want: "stack/attacker",
		},
		"this stack, other properties": {
			edit: func(ev map[string]any) {
				ev["ResourceProperties"].(map[string]any)[config.PropOperation] = "Install"
			},
			want: "Operation (differs)",
		},
		"this stack, another configuration": {
			edit: func(ev map[string]any) {
				ev["ResourceProperties"].(map[string]any)[config.PropConfiguration] = `{"windows": []}`
			},
			want: "Configuration (differs)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x, props := deployedStack(t)
			before := len(x.cfn.answers())
			raw := x.rewrite(t, x.cfnEvent(t, "cfn-update.json", props), tc.edit)

			_, err := x.invoke(t, raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Invoke() = %v, want a refusal naming %q", err, tc.want)
			}
			answers := x.cfn.answers()[before:]
			if len(answers) != 1 || answers[0].Response.Status != cfn.StatusFailed {
				t.Fatalf("answers %+v, want one FAILED", answers)
			}
			if !strings.Contains(answers[0].Response.Reason, tc.want) {
				t.Errorf("reason %q does not name %q", answers[0].Response.Reason, tc.want)
			}
			if calls := x.sv.Server.Calls(); len(calls) != 0 {
				t.Errorf("%d AWS calls for a refused request; first %s %s", len(calls), calls[0].Service, calls[0].Operation)
			}
		})
	}
}

// TestAnswersGoOnlyToCloudFormation: without LoopbackAnswers (the Lambda),
// an answer goes only to https://cloudformation-custom-resource-response-
// <region>... hosts; a redirect is not followed; no log line carries the
// presigned URL's query (its signature).
func TestAnswersGoOnlyToCloudFormation(t *testing.T) {
	redirected := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected++ }))
	defer target.Close()
	redirector := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirector.Close()

	const secret = "X-Amz-Signature=feedfacecafe"
	for name, url := range map[string]string{
		"plain http to CloudFormation's host": "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?" + secret,
		"another host":                        "https://attacker.example.com/x?" + secret,
		"another region's bucket":             "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x?" + secret,
		"a look-alike host":                   "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.example.com/x?" + secret,
		"loopback":                            redirector.URL + "/x?" + secret,
	} {
		t.Run(name, func(t *testing.T) {
			x := newHarness(t, nil, func(d *handler.Deps) { d.LoopbackAnswers = false })
			raw := x.rewrite(t, x.cfnEvent(t, "cfn-create.json", map[string]any{"Disabled": "maybe"}), func(ev map[string]any) {
				ev["ResponseURL"] = url
			})
			_, err := x.invoke(t, raw)
			if err == nil {
				t.Errorf("Invoke() = nil, want the answer refused")
			}
			if strings.Contains(x.logs.String(), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
				t.Errorf("the presigned URL's query reached the log or the error")
			}
		})
	}
	if redirected != 0 {
		t.Errorf("a redirect was followed %d times", redirected)
	}

	// With loopback allowed (as in tests), the redirect itself is still
	// not followed: the answer fails on the 307.
	x := newHarness(t, nil, nil)
	raw := x.rewrite(t, x.cfnEvent(t, "cfn-create.json", map[string]any{"Disabled": "maybe"}), func(ev map[string]any) {
		ev["ResponseURL"] = redirector.URL + "/x?" + secret
	})
	if _, err := x.invoke(t, raw); err == nil || !strings.Contains(err.Error(), "307") {
		t.Errorf("Invoke() = %v, want the answer failed on the redirect", err)
	}
	if redirected != 0 {
		t.Errorf("a redirect was followed %d times", redirected)
	}
	if strings.Contains(x.logs.String(), secret) {
		t.Errorf("the presigned URL's query reached the log")
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
