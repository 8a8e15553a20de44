package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// small loads the small test organization.
func small(t testing.TB) *sim.Org {
	t.Helper()
	org, err := sim.LoadOrg("../../testdata/orgs/small.json")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// errCode is the AWS error code of err, "" for nil.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

// noRetry returns cfg with retries off, so a test sees every error.
func noRetry(cfg aws.Config) aws.Config {
	c := cfg.Copy()
	c.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return c
}

func roleARN(account, role string) string { return "arn:aws:iam::" + account + ":role/" + role }

func TestCallerIdentity(t *testing.T) {
	env := simtest.Start(t, small(t))
	ctx := context.Background()

	got, err := sts.NewFromConfig(env.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"111111111111", "arn:aws:iam::111111111111:user/" + sim.ManagementUserName}, []string{aws.ToString(got.Account), aws.ToString(got.Arn)}); diff != "" {
		t.Errorf("management identity (-want +got):\n%s", diff)
	}

	member := env.AccountConfig(t, "222222222222", sim.DefaultRoleName)
	got, err = sts.NewFromConfig(member).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"222222222222", "arn:aws:sts::222222222222:assumed-role/sra-patch-mgmt-configuration/simtest"}
	if diff := cmp.Diff(want, []string{aws.ToString(got.Account), aws.ToString(got.Arn)}); diff != "" {
		t.Errorf("assumed identity (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(aws.ToString(got.UserId), ":simtest") {
		t.Errorf("UserId = %q, want ROLEID:simtest", aws.ToString(got.UserId))
	}
}

// TestRootMayNotAssumeRoles: AWS refuses AssumeRole to a root user
// ("Roles may not be assumed by root accounts"), whatever the role trusts;
// the management identity the simulator hands out is an IAM user, which may.
func TestRootMayNotAssumeRoles(t *testing.T) {
	env := simtest.Start(t, small(t))
	root := noRetry(env.Config)
	root.Credentials = credentials.NewStaticCredentialsProvider(sim.RootAccessKeyID, "root-secret", "")
	ctx := context.Background()
	who, err := sts.NewFromConfig(root).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::111111111111:root" {
		t.Fatalf("root identity = %v (%v), want arn:aws:iam::111111111111:root", aws.ToString(who.Arn), err)
	}
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN("444444444444", sim.DefaultRoleName)), RoleSessionName: aws.String("root")}
	_, err = sts.NewFromConfig(root).AssumeRole(ctx, in)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" || api.ErrorMessage() != "Roles may not be assumed by root accounts." {
		t.Errorf("AssumeRole as root = %v, want AccessDenied: Roles may not be assumed by root accounts.", err)
	}
	if _, err := sts.NewFromConfig(env.Config).AssumeRole(ctx, in); err != nil {
		t.Errorf("AssumeRole as the management user = %v, want the role", err)
	}
}

func TestAssumeRole(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	env := simtest.Start(t, small(t), sim.WithClock(func() time.Time { return now }))
	out, err := sts.NewFromConfig(env.Config).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(roleARN("444444444444", sim.DefaultRoleName)),
		RoleSessionName: aws.String("orgpatch"),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" {
		t.Errorf("credentials incomplete: %+v", c)
	}
	if want := now.Add(15 * time.Minute); !aws.ToTime(c.Expiration).Equal(want) {
		t.Errorf("Expiration = %v, want %v", aws.ToTime(c.Expiration), want)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::444444444444:assumed-role/sra-patch-mgmt-configuration/orgpatch"; got != want {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, want)
	}
}

func TestAssumeRoleRefused(t *testing.T) {
	org := small(t)
	// 333333333333's role trusts only the audit account.
	org.Accounts[2].Roles = []sim.Role{{Name: sim.DefaultRoleName, Trust: []string{"222222222222"}}}
	env := simtest.Start(t, org, sim.WithAccessDenied("444444444444"))
	client := sts.NewFromConfig(noRetry(env.Config))

	tests := map[string]struct {
		arn      string
		session  string
		duration int32 // not sent when 0
		want     string
	}{
		"role missing":                      {arn: roleARN("555555555555", sim.DefaultRoleName), session: "s1", want: "AccessDenied"},
		"caller not trusted":                {arn: roleARN("333333333333", sim.DefaultRoleName), session: "s1", want: "AccessDenied"},
		"account does not exist":            {arn: roleARN("999999999999", sim.DefaultRoleName), session: "s1", want: "AccessDenied"},
		"account suspended":                 {arn: roleARN("666666666666", sim.DefaultRoleName), session: "s1", want: "AccessDenied"},
		"access denied fault":               {arn: roleARN("444444444444", sim.DefaultRoleName), session: "s1", want: "AccessDenied"},
		"session name too short":            {arn: roleARN("222222222222", sim.DefaultRoleName), session: "s", want: "ValidationError"},
		"session name bad character":        {arn: roleARN("222222222222", sim.DefaultRoleName), session: "a b", want: "ValidationError"},
		"duration below 900":                {arn: roleARN("222222222222", sim.DefaultRoleName), session: "s1", duration: 899, want: "ValidationError"},
		"duration above the role's maximum": {arn: roleARN("222222222222", sim.DefaultRoleName), session: "s1", duration: 7200, want: "ValidationError"},
		"role arn too short":                {arn: "arn:aws:iam::1:r", session: "s1", want: "ValidationError"},
		"not a role arn":                    {arn: "arn:aws:iam::222222222222:user/alice", session: "s1", want: "ValidationError"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := &sts.AssumeRoleInput{RoleArn: aws.String(tc.arn), RoleSessionName: aws.String(tc.session)}
			if tc.duration != 0 {
				in.DurationSeconds = aws.Int32(tc.duration)
			}
			_, err := client.AssumeRole(context.Background(), in)
			if got := errCode(err); got != tc.want {
				t.Errorf("error code = %q, want %q (%v)", got, tc.want, err)
			}
			var re interface{ HTTPStatusCode() int }
			if tc.want == "AccessDenied" && errors.As(err, &re) && re.HTTPStatusCode() != 403 {
				t.Errorf("HTTP status = %d, want 403", re.HTTPStatusCode())
			}
		})
	}
}

func TestAssumeRoleChain(t *testing.T) {
	org := small(t)
	org.Accounts[2].Roles = []sim.Role{
		{Name: "from-audit", Trust: []string{"222222222222"}},
		{Name: "long-chain", Trust: []string{"222222222222"}, MaxSessionSeconds: 43200},
	}
	env := simtest.Start(t, org)
	audit := env.AccountConfig(t, "222222222222", sim.DefaultRoleName)
	out, err := sts.NewFromConfig(audit).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN("333333333333", "from-audit")), RoleSessionName: aws.String("chain"),
	})
	if err != nil {
		t.Fatalf("the audit account is trusted: %v", err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); !strings.Contains(got, "::333333333333:assumed-role/from-audit/") {
		t.Errorf("AssumedRoleUser.Arn = %q", got)
	}
	_, err = sts.NewFromConfig(noRetry(audit)).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN("333333333333", "long-chain")), RoleSessionName: aws.String("chain"), DurationSeconds: aws.Int32(7200),
	})
	if got := errCode(err); got != "ValidationError" {
		t.Errorf("chained session of 2 hours: error code %q, want ValidationError", got)
	}
}

func TestExpiredCredentials(t *testing.T) {
	now := time.Now()
	env := simtest.Start(t, small(t), sim.WithClock(func() time.Time { return now }))
	out, err := sts.NewFromConfig(env.Config).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN("222222222222", sim.DefaultRoleName)), RoleSessionName: aws.String("short"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := noRetry(env.Config)
	c := out.Credentials
	// withToken presents the assumed key with sessionToken.
	withToken := func(sessionToken string) aws.CredentialsProvider {
		return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: sessionToken}, nil
		})
	}
	cfg.Credentials = withToken(*c.SessionToken)
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("fresh credentials refused: %v", err)
	}
	now = now.Add(61 * time.Minute)
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if got := errCode(err); got != "ExpiredTokenException" {
		t.Errorf("after expiry: error code = %q, want ExpiredTokenException", got)
	}
	cfg.Credentials = withToken("forged")
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if got := errCode(err); got != "InvalidClientTokenId" {
		t.Errorf("wrong session token: error code = %q, want InvalidClientTokenId", got)
	}
}
