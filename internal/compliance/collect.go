package compliance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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

// targetResult is what reading one target gave: its records, whether EC2
// let us see its instances, and the non-compliant nodes whose patch lists
// came from the previous run.
type targetResult struct {
	records    []Record
	ec2Visible bool
	reused     int
}

// collect reads one target: its managed nodes, their patch states and
// compliance, the non-compliant nodes' patches, and the EC2 instances. A
// node whose last patching run is the one prev (the previous run's records
// of the target, by node id) saw takes its patch lists from there.
func collect(ctx context.Context, t Target, ssmc SSMAPI, ec2c EC2API, ownerKeys []string, prev map[string]*Record) (targetResult, error) {
	var res targetResult
	var infos []types.InstanceInformation
	ip := ssm.NewDescribeInstanceInformationPaginator(ssmc, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(infoPageSize)})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("describe instance information: %w", err)
		}
		infos = append(infos, page.InstanceInformationList...)
	}

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

	instances := map[string]ec2types.Instance{}
	var unmanaged []ec2types.Instance
	managed := map[string]bool{}
	for _, info := range infos {
		managed[aws.ToString(info.InstanceId)] = true
	}
	res.ec2Visible = true
	ep := ec2.NewDescribeInstancesPaginator(ec2c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(instancesPageSize)})
	for ep.HasMorePages() {
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
				id := aws.ToString(inst.InstanceId)
				if managed[id] {
					instances[id] = inst
				} else if inst.State != nil && inst.State.Name != ec2types.InstanceStateNameTerminated {
					unmanaged = append(unmanaged, inst)
				}
			}
		}
	}

	for _, info := range infos {
		id := aws.ToString(info.InstanceId)
		r := baseRecord(t, id)
		r.ResourceType = string(info.ResourceType)
		inst, isEC2 := instances[id]
		r.Name = cmp.Or(tag(inst.Tags, "Name"), aws.ToString(info.Name), aws.ToString(info.ComputerName))
		if isEC2 && inst.State != nil {
			r.InstanceState = string(inst.State.Name)
		}
		r.OwnerTags = ownerTags(inst.Tags, ownerKeys)
		r.Platform, r.PlatformName, r.PlatformVersion = string(info.PlatformType), aws.ToString(info.PlatformName), aws.ToString(info.PlatformVersion)
		r.ComputerName = aws.ToString(info.ComputerName)
		r.AgentVersion, r.PingStatus, r.LastPing = aws.ToString(info.AgentVersion), string(info.PingStatus), info.LastPingDateTime
		r.NodeState = Unreported
		if s, ok := states[id]; ok {
			r.PatchState = patchStateOf(s)
		}
		if s, ok := summaries[id]; ok {
			summarize(&r, s)
			r.NodeState = Reported
		}
		if r.Status == NonCompliant {
			if p := prev[id]; sameScan(p, &r) {
				r.MissingPatches, r.FailedPatches, r.PendingRebootPatches, r.RejectedPatches = p.MissingPatches, p.FailedPatches, p.PendingRebootPatches, p.RejectedPatches
				r.Reused = true
				res.reused++
			} else {
				patches, err := nonCompliantPatches(ctx, ssmc, id)
				if err != nil {
					return res, err
				}
				for _, p := range patches {
					l := r.patchList(p.State)
					if l == nil { // AWS gives every patch item its state; one without is counted missing
						l = &r.MissingPatches
					}
					*l = append(*l, p)
				}
			}
		}
		res.records = append(res.records, r)
	}
	for _, inst := range unmanaged {
		id := aws.ToString(inst.InstanceId)
		r := baseRecord(t, id)
		r.ResourceType, r.NodeState, r.Name = "EC2Instance", Unmanaged, tag(inst.Tags, "Name")
		r.OwnerTags = ownerTags(inst.Tags, ownerKeys)
		if inst.State != nil {
			r.InstanceState = string(inst.State.Name)
		}
		r.Platform = "Linux"
		if strings.EqualFold(string(inst.Platform), "windows") { // the wire says "windows"
			r.Platform = "Windows"
		}
		r.PlatformName = aws.ToString(inst.PlatformDetails)
		res.records = append(res.records, r)
	}
	return res, nil
}

// sameScan reports whether the previous record prev saw the same patching
// run as r: the same execution, ended at the same time, non-compliant then
// as now. Its patch lists are then still true.
func sameScan(prev, r *Record) bool {
	if prev == nil || prev.Status != NonCompliant || prev.ExecutionSummary == nil || r.ExecutionSummary == nil {
		return false
	}
	a, b := prev.ExecutionSummary, r.ExecutionSummary
	return a.ExecutionId == b.ExecutionId && a.ExecutionTime.Equal(b.ExecutionTime) && a.ExecutionId != ""
}

func baseRecord(t Target, id string) Record {
	return Record{RecordType: NodeRecord, ComplianceType: complianceTypePatch, ResourceId: id, Account: t.Account, AccountName: t.AccountName,
		Region: t.Region, OU: t.OU, OUId: t.OUId, Ring: t.Ring}
}

func tag(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// ownerTags picks the tags named by keys; nil when the node has none of
// them.
func ownerTags(tags []ec2types.Tag, keys []string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v := tag(tags, k); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

func patchStateOf(s types.InstancePatchState) *PatchState {
	return &PatchState{
		PatchGroup: aws.ToString(s.PatchGroup), BaselineId: aws.ToString(s.BaselineId), Operation: string(s.Operation),
		OperationStartTime: aws.ToTime(s.OperationStartTime), OperationEndTime: aws.ToTime(s.OperationEndTime), RebootOption: string(s.RebootOption),
		InstalledCount: s.InstalledCount, InstalledOtherCount: s.InstalledOtherCount,
		InstalledPendingRebootCount: aws.ToInt32(s.InstalledPendingRebootCount), InstalledRejectedCount: aws.ToInt32(s.InstalledRejectedCount),
		MissingCount: s.MissingCount, FailedCount: s.FailedCount, NotApplicableCount: s.NotApplicableCount,
		CriticalNonCompliantCount: aws.ToInt32(s.CriticalNonCompliantCount), SecurityNonCompliantCount: aws.ToInt32(s.SecurityNonCompliantCount),
		OtherNonCompliantCount: aws.ToInt32(s.OtherNonCompliantCount),
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
// per call, as ListComplianceItems allows no more. The items' Details carry
// the vendor's severity, the classification, the state, the install time
// and the CVE ids (the Patch Manager guide's compliance data).
func nonCompliantPatches(ctx context.Context, ssmc SSMAPI, id string) ([]Patch, error) {
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
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list compliance items of %s: %w", id, err)
		}
		for _, it := range page.ComplianceItems {
			d := it.Details
			patch := Patch{Id: aws.ToString(it.Id), Title: aws.ToString(it.Title), Severity: string(it.Severity),
				PatchSeverity: d["PatchSeverity"], Classification: d["Classification"], State: d["PatchState"]}
			if v := d["CVEIds"]; v != "" {
				patch.CVEIds = strings.Split(v, ",")
			}
			if t, err := time.Parse(time.RFC3339, d["InstalledTime"]); err == nil {
				patch.InstalledTime = &t
			}
			out = append(out, patch)
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
