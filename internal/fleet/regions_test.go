package fleet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func loadSmall(t *testing.T) *sim.Org {
	t.Helper()
	org, err := sim.LoadOrg("../../testdata/orgs/small.json")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func TestRegions(t *testing.T) {
	noLandingZone := func(t *testing.T) *sim.Org {
		org := loadSmall(t)
		org.LandingZone = nil
		return org
	}
	cases := map[string]struct {
		org        func(*testing.T) *sim.Org
		cfg        func(*config.Config)
		parameter  string // written to the management account before the call
		want       []string
		wantSource string
		wantErr    string
	}{
		"explicit list wins over Control Tower": {
			org:        loadSmall,
			cfg:        func(c *config.Config) { c.Regions = []string{"eu-west-2", "us-east-1", "eu-west-2"} },
			want:       []string{"eu-west-2", "us-east-1"},
			wantSource: fleet.SourceExplicit,
		},
		"Control Tower governed regions": {
			org:        loadSmall,
			cfg:        func(c *config.Config) { c.ControlTowerRegionsOnly = true },
			parameter:  "ca-central-1",
			want:       []string{"us-east-1", "eu-west-1", "af-south-1"},
			wantSource: fleet.SourceControlTower,
		},
		"SSM parameter without a landing zone": {
			org:        noLandingZone,
			cfg:        func(c *config.Config) { c.ControlTowerRegionsOnly = true },
			parameter:  "us-east-1, eu-central-1,,us-west-2",
			want:       []string{"us-east-1", "eu-central-1", "us-west-2"},
			wantSource: fleet.SourceParameter,
		},
		"default list": {
			org:        loadSmall,
			cfg:        func(c *config.Config) { c.ControlTowerRegionsOnly = false },
			want:       config.DefaultRegions,
			wantSource: fleet.SourceDefault,
		},
		"Control Tower only, but neither source": {
			org:     noLandingZone,
			cfg:     func(c *config.Config) { c.ControlTowerRegionsOnly = true },
			wantErr: "regions: controlTowerRegionsOnly is set, but there is no Control Tower landing zone and no SSM parameter /sra/regions/customer-control-tower-regions",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sv := simtest.Start(t, tc.org(t))
			ssmClient := ssm.NewFromConfig(sv.Config)
			if tc.parameter != "" {
				_, err := ssmClient.PutParameter(context.Background(), &ssm.PutParameterInput{
					Name: aws.String(fleet.ControlTowerRegionsParameter), Value: aws.String(tc.parameter), Type: ssmtypes.ParameterTypeStringList,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			cfg := config.Default()
			tc.cfg(&cfg)
			got, source, err := fleet.Regions(context.Background(), cfg, controltower.NewFromConfig(sv.Config), ssmClient)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("regions (-want +got):\n%s", diff)
			}
			if source != tc.wantSource {
				t.Errorf("source = %q, want %q", source, tc.wantSource)
			}
		})
	}
}

func TestNotOptedIn(t *testing.T) {
	sv := simtest.Start(t, loadSmall(t))
	creds := fleet.NewCredentials(sv.Config, sim.DefaultRoleName)
	cases := map[string]struct {
		account  string
		optedOut []string // among af-south-1 and the default regions
	}{
		"opted in to af-south-1":     {account: "444444444444"},
		"not opted in to af-south-1": {account: "222222222222", optedOut: []string{"af-south-1"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := creds.Retrieve(context.Background(), tc.account); err != nil {
				t.Fatal(err)
			}
			got, err := fleet.NotOptedIn(context.Background(), ec2.NewFromConfig(creds.Config(tc.account)))
			if err != nil {
				t.Fatal(err)
			}
			var optedOut []string
			for _, r := range append([]string{"af-south-1"}, config.DefaultRegions...) {
				if got[r] {
					optedOut = append(optedOut, r)
				}
			}
			if diff := cmp.Diff(tc.optedOut, optedOut); diff != "" {
				t.Errorf("not opted in (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCredentialsAssumeOncePerAccount(t *testing.T) {
	sv := simtest.Start(t, loadSmall(t))
	creds := fleet.NewCredentials(sv.Config, sim.DefaultRoleName)
	for range 3 {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			client := ssm.NewFromConfig(creds.Config("333333333333"), func(o *ssm.Options) { o.Region = region })
			if _, err := client.DescribeMaintenanceWindows(context.Background(), &ssm.DescribeMaintenanceWindowsInput{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := sv.Server.CallCount("sts", "AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls for 6 calls in one account, want 1", n)
	}
	if n := sv.Server.CountCalls(func(c sim.Call) bool { return c.Service == "ssm" && c.Account == "333333333333" }); n != 6 {
		t.Errorf("%d SSM calls landed in 333333333333, want 6", n)
	}

	err := creds.Retrieve(context.Background(), "555555555555")
	if err == nil || !strings.Contains(err.Error(), "assume role arn:aws:iam::555555555555:role/"+sim.DefaultRoleName) {
		t.Errorf("Retrieve for an account without the role: %v, want an error naming the role ARN", err)
	}
}
