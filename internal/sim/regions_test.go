package sim_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func describeRegions(t *testing.T, cfg aws.Config, in *ec2.DescribeRegionsInput) map[string]string {
	t.Helper()
	out, err := ec2.NewFromConfig(cfg).DescribeRegions(context.Background(), in)
	if err != nil {
		t.Fatalf("DescribeRegions: %v", err)
	}
	got := map[string]string{}
	for _, r := range out.Regions {
		got[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
		if want := "ec2." + aws.ToString(r.RegionName) + ".amazonaws.com"; aws.ToString(r.Endpoint) != want {
			t.Errorf("endpoint of %s = %q, want %q", aws.ToString(r.RegionName), aws.ToString(r.Endpoint), want)
		}
	}
	return got
}

func TestDescribeRegions(t *testing.T) {
	env := simtest.Start(t, small(t))
	prod := env.AccountConfig(t, "444444444444", sim.DefaultRoleName)

	enabled := map[string]string{}
	for _, r := range sim.DefaultRegions() {
		enabled[r] = sim.OptInNotRequired
	}
	if diff := cmp.Diff(enabled, describeRegions(t, env.Config, &ec2.DescribeRegionsInput{})); diff != "" {
		t.Errorf("management, enabled regions (-want +got):\n%s", diff)
	}

	all := describeRegions(t, env.Config, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if got := all["af-south-1"]; got != sim.NotOptedIn {
		t.Errorf("management, AllRegions: af-south-1 is %q, want not-opted-in", got)
	}
	if len(all) != len(sim.DefaultRegions())+len(sim.OptInRegions()) {
		t.Errorf("AllRegions lists %d regions, want %d", len(all), len(sim.DefaultRegions())+len(sim.OptInRegions()))
	}

	got := describeRegions(t, prod, &ec2.DescribeRegionsInput{Filters: []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opted-in"}}}})
	if diff := cmp.Diff(map[string]string{"af-south-1": sim.OptedIn}, got); diff != "" {
		t.Errorf("prod, opted-in filter (-want +got):\n%s", diff)
	}

	got = describeRegions(t, env.Config, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true), Filters: []ec2types.Filter{{Name: aws.String("region-name"), Values: []string{"eu-*", "us-east-1"}}}})
	want := map[string]string{
		"us-east-1": sim.OptInNotRequired, "eu-central-1": sim.OptInNotRequired, "eu-west-1": sim.OptInNotRequired,
		"eu-west-2": sim.OptInNotRequired, "eu-west-3": sim.OptInNotRequired, "eu-north-1": sim.OptInNotRequired,
		"eu-central-2": sim.NotOptedIn, "eu-south-1": sim.NotOptedIn, "eu-south-2": sim.NotOptedIn,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("region-name filter with wildcard (-want +got):\n%s", diff)
	}

	_, err := ec2.NewFromConfig(noRetry(env.Config)).DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{Filters: []ec2types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	if got := errCode(err); got != "InvalidParameterValue" {
		t.Errorf("unknown filter: error code %q, want InvalidParameterValue", got)
	}
}

func TestRegionNotOptedIn(t *testing.T) {
	env := simtest.Start(t, small(t))
	mgmt := noRetry(env.Config)
	mgmt.Region = "af-south-1"
	ctx := context.Background()

	_, err := ssm.NewFromConfig(mgmt).DescribeMaintenanceWindows(ctx, &ssm.DescribeMaintenanceWindowsInput{})
	if got := errCode(err); got != "UnrecognizedClientException" {
		t.Errorf("SSM in a region not opted in: error code %q, want UnrecognizedClientException", got)
	}
	_, err = sts.NewFromConfig(mgmt).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if got := errCode(err); got != "InvalidClientTokenId" {
		t.Errorf("STS in a region not opted in: error code %q, want InvalidClientTokenId", got)
	}
	_, err = ec2.NewFromConfig(mgmt).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if got := errCode(err); got != "AuthFailure" {
		t.Errorf("EC2 in a region not opted in: error code %q, want AuthFailure", got)
	}

	prod := noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName))
	prod.Region = "af-south-1"
	out, err := sts.NewFromConfig(prod).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("prod opted into af-south-1 but was refused: %v", err)
	}
	if aws.ToString(out.Account) != "444444444444" {
		t.Errorf("caller in af-south-1 = %s, want 444444444444", aws.ToString(out.Account))
	}

	if err := env.Server.OptIn("111111111111", "af-south-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(mgmt).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("after OptIn the management account is still refused: %v", err)
	}
}

func TestControlTower(t *testing.T) {
	ctx := context.Background()
	t.Run("landing zone in the home region", func(t *testing.T) {
		env := simtest.Start(t, small(t))
		c := controltower.NewFromConfig(env.Config)
		list, err := c.ListLandingZones(ctx, &controltower.ListLandingZonesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.LandingZones) != 1 {
			t.Fatalf("ListLandingZones = %d landing zones, want 1", len(list.LandingZones))
		}
		lz, err := c.GetLandingZone(ctx, &controltower.GetLandingZoneInput{LandingZoneIdentifier: list.LandingZones[0].Arn})
		if err != nil {
			t.Fatal(err)
		}
		var manifest struct {
			GovernedRegions []string `json:"governedRegions"`
		}
		if err := lz.LandingZone.Manifest.UnmarshalSmithyDocument(&manifest); err != nil {
			t.Fatalf("manifest: %v", err)
		}
		if diff := cmp.Diff([]string{"us-east-1", "eu-west-1", "af-south-1"}, manifest.GovernedRegions); diff != "" {
			t.Errorf("governedRegions (-want +got):\n%s", diff)
		}
		if got := []string{aws.ToString(lz.LandingZone.Version), string(lz.LandingZone.Status)}; !cmp.Equal(got, []string{"3.3", "ACTIVE"}) {
			t.Errorf("version, status = %v, want [3.3 ACTIVE]", got)
		}

		other := env.Config.Copy()
		other.Region = "eu-west-1"
		list, err = controltower.NewFromConfig(other).ListLandingZones(ctx, &controltower.ListLandingZonesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.LandingZones) != 0 {
			t.Errorf("outside the home region ListLandingZones = %d, want none", len(list.LandingZones))
		}

		member := noRetry(env.AccountConfig(t, "222222222222", sim.DefaultRoleName))
		_, err = controltower.NewFromConfig(member).ListLandingZones(ctx, &controltower.ListLandingZonesInput{})
		if got := errCode(err); got != "AccessDeniedException" {
			t.Errorf("member account: error code %q, want AccessDeniedException", got)
		}
	})
	t.Run("no landing zone", func(t *testing.T) {
		org := small(t)
		org.LandingZone = nil
		env := simtest.Start(t, org)
		c := controltower.NewFromConfig(noRetry(env.Config))
		list, err := c.ListLandingZones(ctx, &controltower.ListLandingZonesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.LandingZones) != 0 {
			t.Errorf("ListLandingZones = %d, want none", len(list.LandingZones))
		}
		_, err = c.GetLandingZone(ctx, &controltower.GetLandingZoneInput{LandingZoneIdentifier: aws.String("arn:aws:controltower:us-east-1:111111111111:landingzone/1A2B3C4D5E6F7G8H")})
		if got := errCode(err); got != "ResourceNotFoundException" {
			t.Errorf("GetLandingZone: error code %q, want ResourceNotFoundException", got)
		}
	})
}
