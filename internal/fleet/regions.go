package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/config"
)

// ControlTowerRegionsParameter is the SSM parameter (in the management
// account's home region) where the SRA prerequisites solution writes
// Control Tower's governed regions as a comma list.
const ControlTowerRegionsParameter = "/sra/regions/customer-control-tower-regions"

// Where a run's regions came from, for the report.
const (
	SourceExplicit     = "explicit list"
	SourceControlTower = "Control Tower landing zone"
	SourceParameter    = "SSM parameter " + ControlTowerRegionsParameter
	SourceDefault      = "default list"
)

// ControlTowerAPI is the part of the Control Tower client fleet uses.
type ControlTowerAPI interface {
	ListLandingZones(context.Context, *controltower.ListLandingZonesInput, ...func(*controltower.Options)) (*controltower.ListLandingZonesOutput, error)
	GetLandingZone(context.Context, *controltower.GetLandingZoneInput, ...func(*controltower.Options)) (*controltower.GetLandingZoneOutput, error)
}

var _ ControlTowerAPI = (*controltower.Client)(nil)

// ParameterAPI is the part of the SSM client fleet uses.
type ParameterAPI interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ ParameterAPI = (*ssm.Client)(nil)

// Regions returns the regions to converge and where they came from:
// cfg.Regions when set; else, with cfg.ControlTowerRegionsOnly, the landing
// zone's governedRegions, falling back to ControlTowerRegionsParameter when
// there is no landing zone (or Control Tower answers AccessDeniedException or
// ResourceNotFoundException: not set up here); else config.DefaultRegions. ct and param must
// be clients of the management account's home region; they are only called
// when needed. With ControlTowerRegionsOnly and neither source, it is an
// error: converging regions Control Tower does not govern is not a safe guess.
func Regions(ctx context.Context, cfg config.Config, ct ControlTowerAPI, param ParameterAPI) ([]string, string, error) {
	switch {
	case len(cfg.Regions) > 0:
		return dedupe(cfg.Regions), SourceExplicit, nil
	case !cfg.ControlTowerRegionsOnly:
		return slices.Clone(config.DefaultRegions), SourceDefault, nil
	}
	regions, err := governedRegions(ctx, ct)
	if err != nil {
		return nil, "", err
	}
	if len(regions) > 0 {
		return regions, SourceControlTower, nil
	}
	regions, err = parameterRegions(ctx, param)
	if err != nil {
		return nil, "", err
	}
	if len(regions) == 0 {
		return nil, "", fmt.Errorf("regions: controlTowerRegionsOnly is set, but there is no Control Tower landing zone and no SSM parameter %s; set regions, or set controlTowerRegionsOnly to false for the default list", ControlTowerRegionsParameter)
	}
	return regions, SourceParameter, nil
}

// governedRegions reads the landing zone manifest; nil when there is no
// landing zone (Control Tower not set up, or not in this region).
func governedRegions(ctx context.Context, ct ControlTowerAPI) ([]string, error) {
	var arn string
	p := controltower.NewListLandingZonesPaginator(ct, &controltower.ListLandingZonesInput{})
	for p.HasMorePages() && arn == "" {
		page, err := p.NextPage(ctx)
		if err != nil {
			if isCode(err, "AccessDeniedException", "ResourceNotFoundException") {
				return nil, nil
			}
			return nil, fmt.Errorf("list Control Tower landing zones: %w", err)
		}
		for _, lz := range page.LandingZones {
			arn = aws.ToString(lz.Arn)
			break
		}
	}
	if arn == "" {
		return nil, nil
	}
	resp, err := ct.GetLandingZone(ctx, &controltower.GetLandingZoneInput{LandingZoneIdentifier: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("get Control Tower landing zone %s: %w", arn, err)
	}
	if resp.LandingZone == nil || resp.LandingZone.Manifest == nil {
		return nil, fmt.Errorf("get Control Tower landing zone %s: no manifest", arn)
	}
	var manifest struct {
		GovernedRegions []string `document:"governedRegions"`
	}
	if err := resp.LandingZone.Manifest.UnmarshalSmithyDocument(&manifest); err != nil {
		return nil, fmt.Errorf("read Control Tower landing zone %s manifest: %w", arn, err)
	}
	return dedupe(manifest.GovernedRegions), nil
}

// parameterRegions reads the comma list; nil when the parameter is absent.
func parameterRegions(ctx context.Context, param ParameterAPI) ([]string, error) {
	resp, err := param.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ControlTowerRegionsParameter)})
	if err != nil {
		var nf *types.ParameterNotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, fmt.Errorf("get SSM parameter %s: %w", ControlTowerRegionsParameter, err)
	}
	var regions []string
	if resp.Parameter != nil {
		for _, r := range strings.Split(aws.ToString(resp.Parameter.Value), ",") {
			if r = strings.TrimSpace(r); r != "" {
				regions = append(regions, r)
			}
		}
	}
	return dedupe(regions), nil
}

func dedupe(in []string) []string {
	var out []string
	for _, r := range in {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// EC2API is the part of the EC2 client fleet uses.
type EC2API interface {
	DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

var _ EC2API = (*ec2.Client)(nil)

// NotOptedIn returns the regions the account (whose credentials api
// carries) has not opted in to: calls there would fail, so a run skips
// them. One DescribeRegions call.
func NotOptedIn(ctx context.Context, api EC2API) (map[string]bool, error) {
	resp, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %w", err)
	}
	out := map[string]bool{}
	for _, r := range resp.Regions {
		if aws.ToString(r.OptInStatus) == "not-opted-in" {
			out[aws.ToString(r.RegionName)] = true
		}
	}
	return out, nil
}
