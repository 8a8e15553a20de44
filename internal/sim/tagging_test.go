package sim_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

func TestGetResources(t *testing.T) {
	env := simtest.Start(t, small(t))
	ctx := context.Background()
	cfg := noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName))
	sc := ssm.NewFromConfig(cfg)
	tag := func(k, v string) ssmtypes.Tag { return ssmtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	window := func(name string, tags ...ssmtypes.Tag) string {
		out, err := sc.CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{
			Name: aws.String(name), Schedule: aws.String("rate(7 days)"), Duration: aws.Int32(2), Cutoff: 0,
			AllowUnassociatedTargets: true, Tags: tags,
		})
		if err != nil {
			t.Fatal(err)
		}
		return "arn:aws:ssm:us-east-1:444444444444:maintenancewindow/" + aws.ToString(out.WindowId)
	}
	a := window("win-a", tag("createdBy", "SRA_Patch_Management"), tag("team", "ops"))
	b := window("win-b", tag("createdBy", "SRA_Patch_Management"))
	c := window("win-c", tag("createdBy", "someone-else"))
	window("win-untagged")
	if _, err := sc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/p"), Value: aws.String("v"),
		Type: ssmtypes.ParameterTypeString, Tags: []ssmtypes.Tag{tag("createdBy", "SRA_Patch_Management")}}); err != nil {
		t.Fatal(err)
	}
	param := "arn:aws:ssm:us-east-1:444444444444:parameter/p"

	tc := resourcegroupstaggingapi.NewFromConfig(cfg)
	list := func(in resourcegroupstaggingapi.GetResourcesInput) []string {
		var arns []string
		pages := resourcegroupstaggingapi.NewGetResourcesPaginator(tc, &in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.ResourceTagMappingList {
				arns = append(arns, aws.ToString(r.ResourceARN))
			}
		}
		return arns
	}
	owner := []taggingtypes.TagFilter{{Key: aws.String("createdBy"), Values: []string{"SRA_Patch_Management"}}}
	tests := map[string]struct {
		in   resourcegroupstaggingapi.GetResourcesInput
		want []string
	}{
		"every tagged resource":          {in: resourcegroupstaggingapi.GetResourcesInput{}, want: sortedARNs(a, b, c, param)},
		"by tag value, any type":         {in: resourcegroupstaggingapi.GetResourcesInput{TagFilters: owner}, want: sortedARNs(a, b, param)},
		"by tag value, windows only":     {in: resourcegroupstaggingapi.GetResourcesInput{TagFilters: owner, ResourceTypeFilters: []string{"ssm:maintenancewindow"}}, want: sortedARNs(a, b)},
		"by service":                     {in: resourcegroupstaggingapi.GetResourcesInput{TagFilters: owner, ResourceTypeFilters: []string{"ssm"}}, want: sortedARNs(a, b, param)},
		"by key alone":                   {in: resourcegroupstaggingapi.GetResourcesInput{TagFilters: []taggingtypes.TagFilter{{Key: aws.String("team")}}}, want: []string{a}},
		"every filter must match":        {in: resourcegroupstaggingapi.GetResourcesInput{TagFilters: append(owner, taggingtypes.TagFilter{Key: aws.String("team")})}, want: []string{a}},
		"one resource a page, paginated": {in: resourcegroupstaggingapi.GetResourcesInput{TagFilters: owner, ResourcesPerPage: aws.Int32(1)}, want: sortedARNs(a, b, param)},
		"by ARN":                         {in: resourcegroupstaggingapi.GetResourcesInput{ResourceARNList: []string{c}}, want: []string{c}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, list(tt.in)); diff != "" {
				t.Errorf("ARNs (-want +got):\n%s", diff)
			}
		})
	}

	refused := map[string]resourcegroupstaggingapi.GetResourcesInput{
		"ARNs with tag filters": {ResourceARNList: []string{a}, TagFilters: owner},
		"page size 0":           {ResourcesPerPage: aws.Int32(0)},
		"page size 101":         {ResourcesPerPage: aws.Int32(101)},
		"51 tag filters":        {TagFilters: make([]taggingtypes.TagFilter, 51)},
	}
	for name, in := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := tc.GetResources(ctx, &in)
			if code := errCode(err); code != "InvalidParameterException" {
				t.Errorf("error %v (code %q), want InvalidParameterException", err, code)
			}
		})
	}
}

func sortedARNs(arns ...string) []string {
	slices.Sort(arns)
	return arns
}
