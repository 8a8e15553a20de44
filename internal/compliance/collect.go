package compliance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	// bounded says which reads stopped at a bound of Settings.
	bounded []string
	// installed are the nodes' installed ids, when Env.InstalledRings
	// names the target's ring.
	installed installedOf
}

// collect reads one target: its managed nodes, their patch states and
// compliance, the non-compliant nodes' patches, and the EC2 instances. A
// node whose last patching run is the one prev (the previous run's records
// of the target, by node id) saw takes its patch lists from there.
//
// It reads at most s.MaxNodesPerTarget managed nodes and as many EC2
// instances, and s.MaxPatchesPerNode patches of a node; a bound hit is
// named in res.bounded.
func collect(ctx context.Context, t Target, s Settings, ssmc SSMAPI, ec2c EC2API, prev map[string]*Record) (targetResult, error) {
	// Each page becomes record fields at once, its strings copied (str):
	// the SDK decodes a page's strings into one block, which any string
	// kept from it would keep alive, so memory holds the records of the
	// targets in flight and no response.
	var res targetResult
	byID := map[string]int{} // index in res.records
	ip := ssm.NewDescribeInstanceInformationPaginator(ssmc, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(infoPageSize)})
	nodesBounded := false
	for ip.HasMorePages() && !nodesBounded {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("describe instance information: %w", err)
		}
		for _, info := range page.InstanceInformationList {
			if len(res.records) == s.MaxNodesPerTarget {
				nodesBounded = true
				res.bounded = append(res.bounded, fmt.Sprintf("more than %d managed nodes: the first %d are reported, and no EC2 instance as not managed (MaxNodesPerTarget)", s.MaxNodesPerTarget, s.MaxNodesPerTarget))
				break
			}
			r := baseRecord(t, str(info.InstanceId))
			r.ResourceType, r.NodeState = strings.Clone(string(info.ResourceType)), Unreported
			r.Name = cmp.Or(str(info.Name), str(info.ComputerName))
			r.Platform, r.PlatformName, r.PlatformVersion = strings.Clone(string(info.PlatformType)), str(info.PlatformName), str(info.PlatformVersion)
			r.ComputerName = str(info.ComputerName)
			r.AgentVersion, r.PingStatus = str(info.AgentVersion), strings.Clone(string(info.PingStatus))
			if info.LastPingDateTime != nil {
				t := *info.LastPingDateTime
				r.LastPing = &t
			}
			byID[r.ResourceId] = len(res.records)
			res.records = append(res.records, r)
		}
	}
	ids := slices.Collect(maps.Keys(byID))
	slices.Sort(ids)
	for start := 0; start < len(ids); start += patchStateBatch {
		sp := ssm.NewDescribeInstancePatchStatesPaginator(ssmc, &ssm.DescribeInstancePatchStatesInput{
			InstanceIds: ids[start:min(start+patchStateBatch, len(ids))], MaxResults: aws.Int32(patchStateBatch)})
		for sp.HasMorePages() {
			page, err := sp.NextPage(ctx)
			if err != nil {
				return res, fmt.Errorf("describe instance patch states: %w", err)
			}
			for _, s := range page.InstancePatchStates {
				if i, ok := byID[aws.ToString(s.InstanceId)]; ok {
					res.records[i].PatchState = patchStateOf(s)
				}
			}
		}
	}

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
			if i, ok := byID[aws.ToString(s.ResourceId)]; ok {
				summarize(&res.records[i], s)
				res.records[i].NodeState = Reported
			}
		}
	}

	managed := len(res.records)
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
		for _, rv := range page.Reservations {
			for _, inst := range rv.Instances {
				instances++
				id := aws.ToString(inst.InstanceId)
				state := ""
				if inst.State != nil {
					state = strings.Clone(string(inst.State.Name))
				}
				if i, ok := byID[id]; ok {
					r := &res.records[i]
					r.Name = cmp.Or(strings.Clone(tag(inst.Tags, "Name")), r.Name)
					r.InstanceState, r.OwnerTags = state, ownerTags(inst.Tags, s.OwnerTagKeys)
					continue
				}
				// Past the node bound, an instance not among the nodes read
				// may still be managed: none is reported as not managed.
				if nodesBounded || inst.State == nil || inst.State.Name == ec2types.InstanceStateNameTerminated {
					continue
				}
				r := baseRecord(t, strings.Clone(id))
				r.ResourceType, r.NodeState, r.Name = "EC2Instance", Unmanaged, strings.Clone(tag(inst.Tags, "Name"))
				r.OwnerTags, r.InstanceState = ownerTags(inst.Tags, s.OwnerTagKeys), state
				r.Platform = "Linux"
				if strings.EqualFold(string(inst.Platform), "windows") { // the wire says "windows"
					r.Platform = "Windows"
				}
				r.PlatformName = str(inst.PlatformDetails)
				res.records = append(res.records, r)
			}
		}
	}

	patchBound := 0
	for i := range res.records[:managed] {
		r := &res.records[i]
		if r.Status != NonCompliant {
			continue
		}
		if p := prev[r.ResourceId]; sameScan(p, r) {
			r.MissingPatches, r.FailedPatches, r.PendingRebootPatches, r.RejectedPatches = p.MissingPatches, p.FailedPatches, p.PendingRebootPatches, p.RejectedPatches
			r.Reused = true
			res.reused++
			continue
		}
		patches, err := nonCompliantPatches(ctx, ssmc, r.ResourceId, s.MaxPatchesPerNode)
		if err != nil {
			return res, err
		}
		if len(patches) > s.MaxPatchesPerNode {
			patches = patches[:s.MaxPatchesPerNode]
			patchBound++
		}
		for _, p := range patches {
			l := r.patchList(p.State)
			if l == nil { // AWS gives every patch item its state; one without is counted missing
				l = &r.MissingPatches
			}
			*l = append(*l, p)
		}
	}
	if patchBound > 0 {
		res.bounded = append(res.bounded, fmt.Sprintf("%d nodes with more than %d non-compliant patches: the first %d of each are reported (MaxPatchesPerNode)", patchBound, s.MaxPatchesPerNode, s.MaxPatchesPerNode))
	}
	return res, nil
}

// str copies an SDK string out of its response (see collect).
func str(s *string) string { return strings.Clone(aws.ToString(s)) }

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
			out[k] = strings.Clone(v)
		}
	}
	return out
}

func patchStateOf(s types.InstancePatchState) *PatchState {
	return &PatchState{
		PatchGroup: str(s.PatchGroup), BaselineId: str(s.BaselineId), Operation: strings.Clone(string(s.Operation)),
		OperationStartTime: aws.ToTime(s.OperationStartTime), OperationEndTime: aws.ToTime(s.OperationEndTime), RebootOption: strings.Clone(string(s.RebootOption)),
		InstalledCount: s.InstalledCount, InstalledOtherCount: s.InstalledOtherCount,
		InstalledPendingRebootCount: aws.ToInt32(s.InstalledPendingRebootCount), InstalledRejectedCount: aws.ToInt32(s.InstalledRejectedCount),
		MissingCount: s.MissingCount, FailedCount: s.FailedCount, NotApplicableCount: s.NotApplicableCount,
		CriticalNonCompliantCount: aws.ToInt32(s.CriticalNonCompliantCount), SecurityNonCompliantCount: aws.ToInt32(s.SecurityNonCompliantCount),
		OtherNonCompliantCount: aws.ToInt32(s.OtherNonCompliantCount),
	}
}

func summarize(r *Record, s types.ResourceComplianceSummaryItem) {
	r.Status, r.OverallSeverity = strings.Clone(string(s.Status)), strings.Clone(string(s.OverallSeverity))
	if e := s.ExecutionSummary; e != nil {
		r.ExecutionSummary = &ExecutionSummary{ExecutionId: str(e.ExecutionId), ExecutionType: str(e.ExecutionType), ExecutionTime: aws.ToTime(e.ExecutionTime)}
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
// and the CVE ids (the Patch Manager guide's compliance data). It stops
// once it holds more than max, so more than max means the bound was hit.
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
			d := it.Details
			patch := Patch{Id: str(it.Id), Title: str(it.Title), Severity: strings.Clone(string(it.Severity)),
				PatchSeverity: strings.Clone(d["PatchSeverity"]), Classification: strings.Clone(d["Classification"]), State: strings.Clone(d["PatchState"])}
			if v := d["CVEIds"]; v != "" {
				patch.CVEIds = strings.Split(strings.Clone(v), ",")
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
	switch errorCode(err) {
	case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException":
		return true
	}
	return false
}

// errorCode is err's AWS error code, "" for none.
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
