package compliance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// SSMAPI is the part of the Systems Manager client a report reads with.
type SSMAPI interface {
	DescribeInstanceInformation(context.Context, *ssm.DescribeInstanceInformationInput, ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
	DescribeInstancePatchStates(context.Context, *ssm.DescribeInstancePatchStatesInput, ...func(*ssm.Options)) (*ssm.DescribeInstancePatchStatesOutput, error)
	ListResourceComplianceSummaries(context.Context, *ssm.ListResourceComplianceSummariesInput, ...func(*ssm.Options)) (*ssm.ListResourceComplianceSummariesOutput, error)
	ListComplianceItems(context.Context, *ssm.ListComplianceItemsInput, ...func(*ssm.Options)) (*ssm.ListComplianceItemsOutput, error)
}

// EC2API is the part of the EC2 client a report reads with.
type EC2API interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

var (
	_ SSMAPI = (*ssm.Client)(nil)
	_ EC2API = (*ec2.Client)(nil)
)

// Page sizes: each API's maximum (botocore's models; DescribeInstances'
// range is in its API reference), so that a target costs the fewest calls.
const (
	infoPageSize        = 50   // DescribeInstanceInformation: 5..50
	patchStateBatch     = 50   // DescribeInstancePatchStates: at most 50 InstanceIds
	summaryPageSize     = 50   // ListResourceComplianceSummaries: 1..50
	itemsPageSize       = 50   // ListComplianceItems: 1..50
	instancesPageSize   = 1000 // DescribeInstances: 5..1000
	complianceTypePatch = "Patch"
)

// Target is one account x region to read, with what is known about its
// account.
type Target struct {
	Account, AccountName string
	Region               string
	OU, OUId             string
	Ring                 string
}

// targetResult is what reading one target gave: its records, and whether
// EC2 let us see its instances.
type targetResult struct {
	records    []Record
	ec2Visible bool
	// bounded says which reads stopped at a bound of Settings.
	bounded []string
}

// collect reads one target: its managed nodes, their patch states and
// compliance, the non-compliant nodes' patches, and the EC2 instances.
//
// It reads at most s.MaxNodesPerTarget managed nodes and as many EC2
// instances, and s.MaxPatchesPerNode patches of a node; a bound hit is
// named in res.bounded.
func collect(ctx context.Context, t Target, s Settings, ssmc SSMAPI, ec2c EC2API) (targetResult, error) {
	var res targetResult
	var infos []types.InstanceInformation
	ip := ssm.NewDescribeInstanceInformationPaginator(ssmc, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(infoPageSize)})
	for ip.HasMorePages() && len(infos) <= s.MaxNodesPerTarget {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("describe instance information: %w", err)
		}
		infos = append(infos, page.InstanceInformationList...)
	}
	if len(infos) > s.MaxNodesPerTarget {
		infos = infos[:s.MaxNodesPerTarget]
		res.bounded = append(res.bounded, fmt.Sprintf("more than %d managed nodes: the first %d are reported, and no EC2 instance as not managed (MaxNodesPerTarget)", s.MaxNodesPerTarget, s.MaxNodesPerTarget))
	}
	// Past the bound, an instance not among the nodes read may still be
	// managed: none is reported as not managed.
	nodesBounded := len(res.bounded) > 0

	states := map[string]types.InstancePatchState{}
	for start := 0; start < len(infos); start += patchStateBatch {
		ids := make([]string, 0, patchStateBatch)
		for _, info := range infos[start:min(start+patchStateBatch, len(infos))] {
			ids = append(ids, aws.ToString(info.InstanceId))
		}
		sp := ssm.NewDescribeInstancePatchStatesPaginator(ssmc, &ssm.DescribeInstancePatchStatesInput{InstanceIds: ids, MaxResults: aws.Int32(patchStateBatch)})
		for sp.HasMorePages() {
			page, err := sp.NextPage(ctx)
			if err != nil {
				return res, fmt.Errorf("describe instance patch states: %w", err)
			}
			for _, s := range page.InstancePatchStates {
				states[aws.ToString(s.InstanceId)] = s
			}
		}
	}

	summaries := map[string]types.ResourceComplianceSummaryItem{}
	cp := ssm.NewListResourceComplianceSummariesPaginator(ssmc, &ssm.ListResourceComplianceSummariesInput{
		Filters:    []types.ComplianceStringFilter{{Key: aws.String("ComplianceType"), Values: []string{complianceTypePatch}, Type: types.ComplianceQueryOperatorTypeEqual}},
		MaxResults: aws.Int32(summaryPageSize),
	})
	for cp.HasMorePages() {
		page, err := cp.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("list resource compliance summaries: %w", err)
		}
		for _, s := range page.ResourceComplianceSummaryItems {
			summaries[aws.ToString(s.ResourceId)] = s
		}
	}

	names := map[string]string{}
	var unmanaged []ec2types.Instance
	managed := map[string]bool{}
	for _, info := range infos {
		managed[aws.ToString(info.InstanceId)] = true
	}
	res.ec2Visible = true
	ep := ec2.NewDescribeInstancesPaginator(ec2c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(instancesPageSize)})
	instances := 0
	for ep.HasMorePages() {
		if instances > s.MaxNodesPerTarget {
			res.bounded = append(res.bounded, fmt.Sprintf("more than %d EC2 instances: the first %d or so are reported (MaxNodesPerTarget)", s.MaxNodesPerTarget, s.MaxNodesPerTarget))
			break
		}
		page, err := ep.NextPage(ctx)
		if isAccessDenied(err) {
			res.ec2Visible = false
			break
		}
		if err != nil {
			return res, fmt.Errorf("describe instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				instances++
				id := aws.ToString(inst.InstanceId)
				names[id] = nameTag(inst.Tags)
				if !nodesBounded && !managed[id] && inst.State != nil && inst.State.Name != ec2types.InstanceStateNameTerminated {
					unmanaged = append(unmanaged, inst)
				}
			}
		}
	}

	patchBound := 0
	for _, info := range infos {
		id := aws.ToString(info.InstanceId)
		r := baseRecord(t, id)
		r.ResourceType = "ManagedInstance"
		r.Name = names[id]
		if r.Name == "" {
			r.Name = aws.ToString(info.Name) // hybrid nodes carry their own
		}
		r.Platform, r.PlatformName, r.PlatformVersion = string(info.PlatformType), aws.ToString(info.PlatformName), aws.ToString(info.PlatformVersion)
		r.AgentVersion, r.PingStatus, r.LastPing = aws.ToString(info.AgentVersion), string(info.PingStatus), info.LastPingDateTime
		r.Status = Unreported
		if s, ok := states[id]; ok {
			r.PatchState = patchStateOf(s)
		}
		if s, ok := summaries[id]; ok {
			summarize(&r, s)
		}
		if r.Status == NonCompliant {
			patches, err := nonCompliantPatches(ctx, ssmc, id, s.MaxPatchesPerNode)
			if err != nil {
				return res, err
			}
			if len(patches) > s.MaxPatchesPerNode {
				patches = patches[:s.MaxPatchesPerNode]
				patchBound++
			}
			r.MissingPatches = patches
		}
		res.records = append(res.records, r)
	}
	if patchBound > 0 {
		res.bounded = append(res.bounded, fmt.Sprintf("%d nodes with more than %d non-compliant patches: the first %d of each are reported (MaxPatchesPerNode)", patchBound, s.MaxPatchesPerNode, s.MaxPatchesPerNode))
	}
	for _, inst := range unmanaged {
		id := aws.ToString(inst.InstanceId)
		r := baseRecord(t, id)
		r.ResourceType, r.Status, r.Name = "EC2Instance", Unmanaged, names[id]
		r.Platform = "Linux"
		if strings.EqualFold(string(inst.Platform), "windows") { // the wire says "windows"
			r.Platform = "Windows"
		}
		r.PlatformName = aws.ToString(inst.PlatformDetails)
		res.records = append(res.records, r)
	}
	return res, nil
}

func baseRecord(t Target, id string) Record {
	return Record{ComplianceType: complianceTypePatch, ResourceId: id, Account: t.Account, AccountName: t.AccountName,
		Region: t.Region, OU: t.OU, OUId: t.OUId, Ring: t.Ring}
}

func nameTag(tags []ec2types.Tag) string {
	for _, tag := range tags {
		if aws.ToString(tag.Key) == "Name" {
			return aws.ToString(tag.Value)
		}
	}
	return ""
}

func patchStateOf(s types.InstancePatchState) *PatchState {
	return &PatchState{
		PatchGroup: aws.ToString(s.PatchGroup), BaselineId: aws.ToString(s.BaselineId), Operation: string(s.Operation),
		OperationStartTime: aws.ToTime(s.OperationStartTime), OperationEndTime: aws.ToTime(s.OperationEndTime),
		InstalledCount: s.InstalledCount, InstalledOtherCount: s.InstalledOtherCount,
		InstalledPendingRebootCount: aws.ToInt32(s.InstalledPendingRebootCount), InstalledRejectedCount: aws.ToInt32(s.InstalledRejectedCount),
		MissingCount: s.MissingCount, FailedCount: s.FailedCount, NotApplicableCount: s.NotApplicableCount,
	}
}

func summarize(r *Record, s types.ResourceComplianceSummaryItem) {
	r.Status, r.OverallSeverity = string(s.Status), string(s.OverallSeverity)
	if e := s.ExecutionSummary; e != nil {
		r.ExecutionSummary = &ExecutionSummary{ExecutionId: aws.ToString(e.ExecutionId), ExecutionType: aws.ToString(e.ExecutionType), ExecutionTime: aws.ToTime(e.ExecutionTime)}
	}
	if c := s.CompliantSummary; c != nil {
		r.CompliantSummary = &CompliantSummary{CompliantCount: c.CompliantCount, SeveritySummary: severityOf(c.SeveritySummary)}
	}
	if n := s.NonCompliantSummary; n != nil {
		r.NonCompliantSummary = &NonCompliantSummary{NonCompliantCount: n.NonCompliantCount, SeveritySummary: severityOf(n.SeveritySummary)}
	}
}

func severityOf(s *types.SeveritySummary) SeveritySummary {
	if s == nil {
		return SeveritySummary{}
	}
	return SeveritySummary{CriticalCount: s.CriticalCount, HighCount: s.HighCount, MediumCount: s.MediumCount,
		LowCount: s.LowCount, InformationalCount: s.InformationalCount, UnspecifiedCount: s.UnspecifiedCount}
}

// nonCompliantPatches lists a node's non-compliant patch items: one node
// per call, as ListComplianceItems allows no more. It stops once it holds
// more than max, so more than max means the bound was hit.
func nonCompliantPatches(ctx context.Context, ssmc SSMAPI, id string, max int) ([]Patch, error) {
	var out []Patch
	p := ssm.NewListComplianceItemsPaginator(ssmc, &ssm.ListComplianceItemsInput{
		ResourceIds:   []string{id},
		ResourceTypes: []string{"ManagedInstance"},
		Filters: []types.ComplianceStringFilter{
			{Key: aws.String("ComplianceType"), Values: []string{complianceTypePatch}, Type: types.ComplianceQueryOperatorTypeEqual},
			{Key: aws.String("Status"), Values: []string{NonCompliant}, Type: types.ComplianceQueryOperatorTypeEqual},
		},
		MaxResults: aws.Int32(itemsPageSize),
	})
	for p.HasMorePages() && len(out) <= max {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list compliance items of %s: %w", id, err)
		}
		for _, it := range page.ComplianceItems {
			out = append(out, Patch{Id: aws.ToString(it.Id), Title: aws.ToString(it.Title), Severity: string(it.Severity), Details: it.Details})
		}
	}
	return out, nil
}

func isAccessDenied(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException":
		return true
	}
	return false
}
