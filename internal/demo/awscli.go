package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// awsCLI runs the AWS CLI (`aws`, on PATH) against the simulator as the
// configuration role in account, the way an administrator checks an
// account by hand, and decodes its JSON answer into out. Only the role's
// keys, the endpoint and the home region reach it: no profile, no
// credentials file, no instance metadata. ok is false when no AWS CLI is
// installed; the caller then reads through the SDK and says so.
func (d *demo) awsCLI(ctx context.Context, account string, out any, args ...string) (ok bool, err error) {
	exe, err := exec.LookPath("aws")
	if err != nil {
		return false, nil
	}
	creds, err := d.admin.creds.Config(account).Credentials.Retrieve(ctx)
	if err != nil {
		return true, fmt.Errorf("%s: credentials for the AWS CLI: %w", account, err)
	}
	cmd := exec.CommandContext(ctx, exe, append(args, "--endpoint-url", d.endpoint, "--region", homeRegion, "--output", "json")...)
	// The caller's own profile must not leak in (an AWS_PROFILE naming a
	// profile the empty config lacks is an error too).
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_PROFILE=") || strings.HasPrefix(kv, "AWS_DEFAULT_PROFILE=")
	})
	cmd.Env = append(env,
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey, "AWS_SESSION_TOKEN="+creds.SessionToken,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return true, fmt.Errorf("%s: aws %s: %w: %s", account, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return true, fmt.Errorf("%s: aws %s answered %q: %w", account, strings.Join(args, " "), stdout.String(), err)
	}
	return true, nil
}
