package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// seen is what one client observes of the small organization in one
// scenario; the SDK, the AWS CLI and boto3 must all see the same.
type seen struct {
	Caller        string   `json:"caller"`          // management account from GetCallerIdentity
	Accounts      []string `json:"accounts"`        // ListAccounts, every page (page size 2)
	ProdCaller    string   `json:"prodCaller"`      // GetCallerIdentity with prod's assumed credentials
	ProdOptedIn   []string `json:"prodOptedIn"`     // DescribeRegions opt-in-status=opted-in, as prod
	NoRoleError   string   `json:"noRoleError"`     // AssumeRole into the account without the role
	NotOptedError string   `json:"notOptedError"`   // SSM in af-south-1 as the management account
	Governed      []string `json:"governed"`        // Control Tower manifest governedRegions
	MemberOrgsErr string   `json:"memberOrgsError"` // ListAccounts as prod
}

const (
	prodRole   = "arn:aws:iam::444444444444:role/" + sim.DefaultRoleName
	noRoleRole = "arn:aws:iam::555555555555:role/" + sim.DefaultRoleName
)

// smallSeen is what every client must see of small.json.
var smallSeen = seen{
	Caller:        "111111111111",
	Accounts:      []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "666666666666"},
	ProdCaller:    "444444444444",
	ProdOptedIn:   []string{"af-south-1"},
	NoRoleError:   "AccessDenied",
	NotOptedError: "UnrecognizedClientException",
	Governed:      []string{"us-east-1", "eu-west-1", "af-south-1"},
	MemberOrgsErr: "AccessDeniedException",
}

// seenBySDK runs the scenario through aws-sdk-go-v2 and checks it against
// smallSeen, so that the other clients are compared with a known answer.
func seenBySDK(t *testing.T, env *simtest.Env) seen {
	t.Helper()
	s := sdkScenario(t, env)
	if diff := cmp.Diff(smallSeen, s); diff != "" {
		t.Fatalf("the SDK sees (-want +got):\n%s", diff)
	}
	return s
}

func sdkScenario(t *testing.T, env *simtest.Env) seen {
	t.Helper()
	ctx := context.Background()
	cfg := noRetry(env.Config)
	var s seen
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	s.Caller = aws.ToString(id.Account)
	s.Accounts, _ = listAccounts(t, organizations.NewFromConfig(cfg), 2)
	prod := noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName))
	id, err = sts.NewFromConfig(prod).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	s.ProdCaller = aws.ToString(id.Account)
	regions, err := ec2.NewFromConfig(prod).DescribeRegions(ctx, &ec2.DescribeRegionsInput{Filters: []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opted-in"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regions.Regions {
		s.ProdOptedIn = append(s.ProdOptedIn, aws.ToString(r.RegionName))
	}
	_, err = sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(noRoleRole), RoleSessionName: aws.String("cmp")})
	s.NoRoleError = errCode(err)
	af := cfg.Copy()
	af.Region = "af-south-1"
	_, err = ssm.NewFromConfig(af).DescribeMaintenanceWindows(ctx, &ssm.DescribeMaintenanceWindowsInput{})
	s.NotOptedError = errCode(err)
	ct := controltower.NewFromConfig(cfg)
	lzs, err := ct.ListLandingZones(ctx, &controltower.ListLandingZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	lz, err := ct.GetLandingZone(ctx, &controltower.GetLandingZoneInput{LandingZoneIdentifier: lzs.LandingZones[0].Arn})
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		GovernedRegions []string `json:"governedRegions"`
	}
	if err := lz.LandingZone.Manifest.UnmarshalSmithyDocument(&manifest); err != nil {
		t.Fatal(err)
	}
	s.Governed = manifest.GovernedRegions
	_, err = organizations.NewFromConfig(prod).ListAccounts(ctx, &organizations.ListAccountsInput{})
	s.MemberOrgsErr = errCode(err)
	return s
}

// isolatedEnv is an environment for a CLI process: the management
// credentials and no shared configuration of the machine.
func isolatedEnv(t *testing.T) []string {
	dir := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_ACCESS_KEY_ID=" + sim.ManagementAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + sim.ManagementSecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
	}
	return env
}

var cliErrorCode = regexp.MustCompile(`An error occurred \(([A-Za-z]+)\)`)

func TestAWSCLISeesWhatTheSDKSees(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH")
	}
	env := simtest.Start(t, small(t))
	want := seenBySDK(t, env)
	base := isolatedEnv(t)

	cli := func(extraEnv []string, args ...string) ([]byte, string) {
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", env.URL, "--output", "json"}, args...)...)
		cmd.Env = append(append([]string{}, base...), extraEnv...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			m := cliErrorCode.FindStringSubmatch(stderr.String())
			if m == nil {
				t.Fatalf("aws %v: %v\n%s", args, err, stderr.String())
			}
			return nil, m[1]
		}
		return out, ""
	}
	decode := func(b []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}

	var got seen
	var id struct{ Account string }
	out, _ := cli(nil, "sts", "get-caller-identity")
	decode(out, &id)
	got.Caller = id.Account

	var accounts struct{ Accounts []struct{ Id string } }
	out, _ = cli(nil, "organizations", "list-accounts", "--page-size", "2")
	decode(out, &accounts)
	for _, a := range accounts.Accounts {
		got.Accounts = append(got.Accounts, a.Id)
	}

	var assumed struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	out, _ = cli(nil, "sts", "assume-role", "--role-arn", prodRole, "--role-session-name", "cli")
	decode(out, &assumed)
	prod := []string{
		"AWS_ACCESS_KEY_ID=" + assumed.Credentials.AccessKeyId,
		"AWS_SECRET_ACCESS_KEY=" + assumed.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + assumed.Credentials.SessionToken,
	}
	out, _ = cli(prod, "sts", "get-caller-identity")
	decode(out, &id)
	got.ProdCaller = id.Account

	var regions struct{ Regions []struct{ RegionName string } }
	out, _ = cli(prod, "ec2", "describe-regions", "--filters", "Name=opt-in-status,Values=opted-in")
	decode(out, &regions)
	for _, r := range regions.Regions {
		got.ProdOptedIn = append(got.ProdOptedIn, r.RegionName)
	}

	_, got.NoRoleError = cli(nil, "sts", "assume-role", "--role-arn", noRoleRole, "--role-session-name", "cli")
	_, got.NotOptedError = cli(nil, "ssm", "describe-maintenance-windows", "--region", "af-south-1")

	var lzs struct{ LandingZones []struct{ Arn string } }
	out, _ = cli(nil, "controltower", "list-landing-zones")
	decode(out, &lzs)
	var lz struct {
		LandingZone struct {
			Manifest struct {
				GovernedRegions []string `json:"governedRegions"`
			} `json:"manifest"`
		} `json:"landingZone"`
	}
	out, _ = cli(nil, "controltower", "get-landing-zone", "--landing-zone-identifier", lzs.LandingZones[0].Arn)
	decode(out, &lz)
	got.Governed = lz.LandingZone.Manifest.GovernedRegions
	_, got.MemberOrgsErr = cli(prod, "organizations", "list-accounts")

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the AWS CLI sees otherwise than the SDK (-sdk +cli):\n%s", diff)
	}
}

const boto3Scenario = `
import json, sys, boto3, botocore.config, botocore.exceptions
url, prod_role, no_role = sys.argv[1:4]
cfg = botocore.config.Config(retries={"total_max_attempts": 1})
def client(name, region="us-east-1", creds=None):
    kw = dict(endpoint_url=url, region_name=region, config=cfg)
    if creds:
        kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    return boto3.client(name, **kw)
def code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return ""
s = {}
s["caller"] = client("sts").get_caller_identity()["Account"]
pages = client("organizations").get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 2})
s["accounts"] = [a["Id"] for p in pages for a in p["Accounts"]]
prod = client("sts").assume_role(RoleArn=prod_role, RoleSessionName="boto3")["Credentials"]
s["prodCaller"] = client("sts", creds=prod).get_caller_identity()["Account"]
regions = client("ec2", creds=prod).describe_regions(Filters=[{"Name": "opt-in-status", "Values": ["opted-in"]}])
s["prodOptedIn"] = [r["RegionName"] for r in regions["Regions"]]
s["noRoleError"] = code(lambda: client("sts").assume_role(RoleArn=no_role, RoleSessionName="boto3"))
s["notOptedError"] = code(lambda: client("ssm", "af-south-1").describe_maintenance_windows())
ct = client("controltower")
arn = ct.list_landing_zones()["landingZones"][0]["arn"]
s["governed"] = ct.get_landing_zone(landingZoneIdentifier=arn)["landingZone"]["manifest"]["governedRegions"]
s["memberOrgsError"] = code(lambda: client("organizations", creds=prod).list_accounts())
print(json.dumps(s))
`

func TestBoto3SeesWhatTheSDKSees(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	if exec.Command(python, "-c", "import boto3").Run() != nil {
		t.Skip("boto3 not installed")
	}
	env := simtest.Start(t, small(t))
	want := seenBySDK(t, env)
	cmd := exec.Command(python, "-c", boto3Scenario, env.URL, prodRole, noRoleRole)
	cmd.Env = isolatedEnv(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 scenario: %v\n%s", err, stderr.String())
	}
	var got seen
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("boto3 sees otherwise than the SDK (-sdk +boto3):\n%s", diff)
	}
}
