package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/orgpatch/orgpatch/internal/sim"
)

// awsCLI runs the AWS CLI against the simulator at url with the given
// credentials (no file of the machine's user read) and decodes its JSON
// answer.
type awsCLI struct {
	t                  *testing.T
	bin, url           string
	key, secret, token string
}

func (c awsCLI) call(args ...string) map[string]any {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--endpoint-url", c.url, "--output", "json", "--region", "us-east-1"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+c.key, "AWS_SECRET_ACCESS_KEY="+c.secret, "AWS_SESSION_TOKEN="+c.token,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		c.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		c.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// as is the CLI acting in account through its configuration role.
func (c awsCLI) as(account string) awsCLI {
	c.t.Helper()
	out := c.call("sts", "assume-role", "--role-arn", "arn:aws:iam::"+account+":role/"+sim.DefaultRoleName, "--role-session-name", "rings-test")
	creds := out["Credentials"].(map[string]any)
	c.key, c.secret, c.token = creds["AccessKeyId"].(string), creds["SecretAccessKey"].(string), creds["SessionToken"].(string)
	return c
}

// defaultBaseline is the name and approval delays of the default baseline
// of os.
func (c awsCLI) defaultBaseline(os string) (id, name string, days []float64) {
	c.t.Helper()
	id = c.call("ssm", "get-default-patch-baseline", "--operating-system", os)["BaselineId"].(string)
	b := c.call("ssm", "get-patch-baseline", "--baseline-id", id)
	if rules, ok := b["ApprovalRules"].(map[string]any); ok {
		for _, r := range rules["PatchRules"].([]any) {
			days = append(days, r.(map[string]any)["ApproveAfterDays"].(float64))
		}
	}
	return id, b["Name"].(string), days
}

// TestRingsThroughTheAWSCLI is the "done when", as a user runs it:
// `orgpatch sim serve`, `orgpatch apply --config testdata/rings.yaml`, and
// the AWS CLI reading each account's baselines.
func TestRingsThroughTheAWSCLI(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("aws not on PATH (CI=true: the tool is required): %v", err)
		}
		t.Skipf("aws not on PATH: %v", err)
	}
	url, _, _ := serve(t, "--org", "../../testdata/orgs/rings.json")
	const rings = "../../testdata/rings.yaml"
	code, out, errs := cli(t, "apply", "--endpoint", url, "--config", rings)
	if code != 0 {
		t.Fatalf("apply exit %d, stderr %q\n%s", code, errs, out)
	}
	mgmt := awsCLI{t: t, bin: bin, url: url, key: sim.ManagementAccessKeyID, secret: sim.ManagementSecretAccessKey}
	for account, want := range map[string]float64{"222222222222": 0, "333333333333": 7} {
		c := mgmt.as(account)
		for _, os := range []string{"AMAZON_LINUX_2", "WINDOWS"} {
			_, name, days := c.defaultBaseline(os)
			if !strings.HasPrefix(name, "orgpatch-") || len(days) != 1 || days[0] != want {
				t.Errorf("%s %s default: %s approving after %v days, want orgpatch's after %v", account, os, name, days, want)
			}
		}
		al2, _, _ := c.defaultBaseline("AMAZON_LINUX_2")
		if got := c.call("ssm", "get-patch-baseline-for-patch-group", "--patch-group", "web", "--operating-system", "AMAZON_LINUX_2")["BaselineId"]; got != al2 {
			t.Errorf("%s: patch group web resolves to %v, want %s", account, got, al2)
		}
	}

	if code, out, _ = cli(t, "apply", "--endpoint", url, "--config", rings); code != 0 || !strings.Contains(out, "0 writes") {
		t.Errorf("second apply: exit %d, want 0 writes:\n%s", code, out)
	}

	if code, out, errs = cli(t, "teardown", "--yes", "--endpoint", url, "--config", rings); code != 0 {
		t.Fatalf("teardown exit %d, stderr %q\n%s", code, errs, out)
	}
	// The dev and the prod account (the CLI takes a second a call, so not
	// all six): the testdata organization holds no baseline but orgpatch's.
	for _, account := range []string{"222222222222", "333333333333"} {
		c := mgmt.as(account)
		for _, os := range []string{"AMAZON_LINUX_2", "WINDOWS"} {
			if _, name, _ := c.defaultBaseline(os); !strings.HasPrefix(name, "AWS-") {
				t.Errorf("%s %s default after teardown: %s, want AWS's predefined baseline", account, os, name)
			}
		}
		if own := c.call("ssm", "describe-patch-baselines", "--filters", "Key=OWNER,Values=Self")["BaselineIdentities"].([]any); len(own) != 0 {
			t.Errorf("%s: baselines left after teardown: %v", account, own)
		}
	}
}
