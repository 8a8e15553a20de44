package sim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// The node reads page within the models' bounds and refuse what AWS
// documents refusing, through the SDK.
func TestNodeReads(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil, sim.WithNodesPerTarget(23))
	mgmt := env.Server.ManagementAccount()
	all := env.Server.Nodes().List(mgmt, simtest.Region)
	var managed, ec2Count int
	for _, n := range all {
		if n.Managed {
			managed++
		}
		if n.IsEC2() {
			ec2Count++
		}
	}
	sc, ec := ssm.NewFromConfig(env.Config), ec2.NewFromConfig(env.Config)

	seen := 0
	p := ssm.NewDescribeInstanceInformationPaginator(sc, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen += len(page.InstanceInformationList)
	}
	if seen != managed || pages != (managed+4)/5 {
		t.Errorf("DescribeInstanceInformation: %d nodes in %d pages, want %d in %d", seen, pages, managed, (managed+4)/5)
	}
	seen = 0
	ep := ec2.NewDescribeInstancesPaginator(ec, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for ep.HasMorePages() {
		page, err := ep.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(page.Reservations)
	}
	if seen != ec2Count {
		t.Errorf("DescribeInstances: %d instances, want %d", seen, ec2Count)
	}

	code := func(err error) string {
		var api smithy.APIError
		if errors.As(err, &api) {
			return api.ErrorCode()
		}
		return "no API error: " + errString(err)
	}
	id := all[0].ID
	for name, tc := range map[string]struct {
		call func() error
		want string
	}{
		"compliance items of two resources": {func() error {
			_, err := sc.ListComplianceItems(ctx, &ssm.ListComplianceItemsInput{ResourceIds: []string{id, all[1].ID}})
			return err
		}, "ValidationException"},
		"compliance items of another resource type": {func() error {
			_, err := sc.ListComplianceItems(ctx, &ssm.ListComplianceItemsInput{ResourceIds: []string{id}, ResourceTypes: []string{"EC2Instance"}})
			return err
		}, "InvalidResourceType"},
		"compliance items of an unknown node": {func() error {
			_, err := sc.ListComplianceItems(ctx, &ssm.ListComplianceItemsInput{ResourceIds: []string{"i-0123456789abcdef0"}})
			return err
		}, "InvalidResourceId"},
		"summaries by an unknown key": {func() error {
			_, err := sc.ListResourceComplianceSummaries(ctx, &ssm.ListResourceComplianceSummariesInput{Filters: []types.ComplianceStringFilter{{Key: aws.String("Colour"), Values: []string{"x"}}}})
			return err
		}, "InvalidFilter"},
		"information by an unknown key": {func() error {
			_, err := sc.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{Filters: []types.InstanceInformationStringFilter{{Key: aws.String("Colour"), Values: []string{"x"}}}})
			return err
		}, "InvalidFilterKey"},
		"information page over 50": {func() error {
			_, err := sc.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(51)})
			return err
		}, "ValidationException"},
		"patch states of 51 nodes": {func() error {
			ids := make([]string, 51)
			for i := range ids {
				ids[i] = id
			}
			_, err := sc.DescribeInstancePatchStates(ctx, &ssm.DescribeInstancePatchStatesInput{InstanceIds: ids})
			return err
		}, "ValidationException"},
		"a forged token": {func() error {
			_, err := sc.DescribeInstancePatchStates(ctx, &ssm.DescribeInstancePatchStatesInput{InstanceIds: []string{id}, NextToken: aws.String("!!")})
			return err
		}, "InvalidNextToken"},
		"instances page of 4": {func() error {
			_, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)})
			return err
		}, "InvalidParameterValue"},
		"instances by id with a page size": {func() error {
			_, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}, MaxResults: aws.Int32(5)})
			return err
		}, "InvalidParameterCombination"},
		"an instance that is not there": {func() error {
			_, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		"an unknown instance filter": {func() error {
			_, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := code(tc.call()); got != tc.want {
				t.Errorf("error %s, want %s", got, tc.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
