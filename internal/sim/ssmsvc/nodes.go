package ssmsvc

import (
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// The managed-node and patch-compliance reads. The machines are the
// inventory's (package nodes), shared with the simulated EC2, so both
// services describe the same fleet.

// WithNodes makes the service describe the machines of inv; without it every
// account x region has none.
func WithNodes(inv *nodes.Store) Option { return func(s *Service) { s.inventory = inv } }

func init() {
	handlers["DescribeInstanceInformation"] = op((*Service).describeInstanceInformation)
	handlers["DescribeInstancePatchStates"] = op((*Service).describeInstancePatchStates)
	handlers["ListResourceComplianceSummaries"] = op((*Service).listResourceComplianceSummaries)
	handlers["ListComplianceItems"] = op((*Service).listComplianceItems)
}

// managed returns the managed nodes of ctx's account x region, by id.
func (s *Service) managed(ctx Context) []nodes.Node {
	if s.inventory == nil {
		return nil
	}
	all := s.inventory.List(ctx.Account, ctx.Region)
	return slices.DeleteFunc(all, func(n nodes.Node) bool { return !n.Managed })
}

// listPage pages items (sorted by id) after the token, which is the
// previous page's last id; a token that is not one is InvalidNextToken.
func listPage[T any](items []T, id func(T) string, maxResults *int32, def int, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		last, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(last) == 0 {
			return nil, "", apierr.BadRequest("InvalidNextToken", "The specified token is not valid.")
		}
		start, _ = slices.BinarySearchFunc(items, string(last), func(t T, k string) int { return strings.Compare(id(t), k) })
		if start < len(items) && id(items[start]) == string(last) {
			start++
		}
	}
	n := def
	if maxResults != nil {
		n = int(*maxResults)
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(id(items[end-1])))
	}
	return items[start:end], next, nil
}

type instanceInformationFilter struct {
	Key      string   `json:"key"`
	ValueSet []string `json:"valueSet"`
}

type describeInstanceInformationInput struct {
	InstanceInformationFilterList []instanceInformationFilter `json:"InstanceInformationFilterList"`
	Filters                       []Filter                    `json:"Filters"`
	MaxResults                    *int32                      `json:"MaxResults"`
	NextToken                     string                      `json:"NextToken"`
}

type instanceInformation struct {
	InstanceId       string `json:"InstanceId"`
	PingStatus       string `json:"PingStatus"`
	LastPingDateTime *epoch `json:"LastPingDateTime,omitempty"`
	AgentVersion     string `json:"AgentVersion"`
	IsLatestVersion  bool   `json:"IsLatestVersion"`
	PlatformType     string `json:"PlatformType"`
	PlatformName     string `json:"PlatformName,omitempty"`
	PlatformVersion  string `json:"PlatformVersion,omitempty"`
	ResourceType     string `json:"ResourceType"`
	IPAddress        string `json:"IPAddress,omitempty"`
	ComputerName     string `json:"ComputerName,omitempty"`
	SourceId         string `json:"SourceId"`
	SourceType       string `json:"SourceType"`
}

type describeInstanceInformationOutput struct {
	InstanceInformationList []instanceInformation `json:"InstanceInformationList"`
	NextToken               string                `json:"NextToken,omitempty"`
}

// LatestAgentVersion is the SSM Agent version the simulator reports as the
// latest (IsLatestVersion).
const LatestAgentVersion = "3.3.1142.0"

// nodeFilters are the keys both filter lists of DescribeInstanceInformation
// accept and the simulator models. The model's enum for the old list also
// names ActivationIds, IamRole and AssociationStatus: the simulated nodes
// have no activation, instance profile or association, so those match no
// node (an assumption: AWS documents no error for them).
var nodeFilters = map[string]func(n nodes.Node, v string) bool{
	"InstanceIds":       func(n nodes.Node, v string) bool { return n.ID == v },
	"AgentVersion":      func(n nodes.Node, v string) bool { return n.AgentVersion == v },
	"PingStatus":        func(n nodes.Node, v string) bool { return n.PingStatus == v },
	"PlatformTypes":     func(n nodes.Node, v string) bool { return n.Platform == v },
	"ResourceType":      func(n nodes.Node, v string) bool { return resourceType(n) == v },
	"ActivationIds":     func(nodes.Node, string) bool { return false },
	"IamRole":           func(nodes.Node, string) bool { return false },
	"AssociationStatus": func(nodes.Node, string) bool { return false },
}

func resourceType(n nodes.Node) string {
	if n.IsEC2() {
		return "EC2Instance"
	}
	return "ManagedInstance"
}

func (s *Service) describeInstanceInformation(ctx Context, in *describeInstanceInformationInput) (any, error) {
	var checks []func(nodes.Node) bool
	add := func(key string, values []string) error {
		fn, ok := nodeFilters[key]
		if strings.HasPrefix(key, "tag:") {
			k := key[len("tag:"):]
			fn, ok = func(n nodes.Node, v string) bool { t, has := n.Tags[k]; return has && t == v }, true
		}
		if !ok {
			return apierr.BadRequest("InvalidFilterKey", "The filter key %s is not valid.", key)
		}
		checks = append(checks, func(n nodes.Node) bool {
			return slices.ContainsFunc(values, func(v string) bool { return fn(n, v) })
		})
		return nil
	}
	for _, f := range in.InstanceInformationFilterList {
		if err := add(f.Key, f.ValueSet); err != nil {
			return nil, err
		}
	}
	for _, f := range in.Filters {
		if err := add(f.Key, f.Values); err != nil {
			return nil, err
		}
	}
	all := slices.DeleteFunc(s.managed(ctx), func(n nodes.Node) bool {
		return slices.ContainsFunc(checks, func(c func(nodes.Node) bool) bool { return !c(n) })
	})
	items, next, err := listPage(all, nodeID, in.MaxResults, 10, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeInstanceInformationOutput{InstanceInformationList: make([]instanceInformation, len(items)), NextToken: next}
	for i, n := range items {
		info := instanceInformation{
			InstanceId: n.ID, PingStatus: n.PingStatus, LastPingDateTime: stamp(n.LastPing),
			AgentVersion: n.AgentVersion, IsLatestVersion: n.AgentVersion == LatestAgentVersion,
			PlatformType: n.Platform, PlatformName: n.PlatformName, PlatformVersion: n.PlatformVersion,
			ResourceType: resourceType(n), IPAddress: n.IPAddress, ComputerName: n.ComputerName,
			SourceId: n.ID, SourceType: "AWS::EC2::Instance",
		}
		if !n.IsEC2() {
			info.SourceType = "AWS::SSM::ManagedInstance"
		}
		out.InstanceInformationList[i] = info
	}
	return out, nil
}

func nodeID(n nodes.Node) string { return n.ID }

type describeInstancePatchStatesInput struct {
	InstanceIds []string `json:"InstanceIds"`
	MaxResults  *int32   `json:"MaxResults"`
	NextToken   string   `json:"NextToken"`
}

type instancePatchState struct {
	InstanceId                   string `json:"InstanceId"`
	PatchGroup                   string `json:"PatchGroup"`
	BaselineId                   string `json:"BaselineId"`
	InstalledCount               int32  `json:"InstalledCount"`
	InstalledOtherCount          int32  `json:"InstalledOtherCount"`
	InstalledPendingRebootCount  int32  `json:"InstalledPendingRebootCount"`
	InstalledRejectedCount       int32  `json:"InstalledRejectedCount"`
	MissingCount                 int32  `json:"MissingCount"`
	FailedCount                  int32  `json:"FailedCount"`
	UnreportedNotApplicableCount int32  `json:"UnreportedNotApplicableCount"`
	NotApplicableCount           int32  `json:"NotApplicableCount"`
	OperationStartTime           *epoch `json:"OperationStartTime"`
	OperationEndTime             *epoch `json:"OperationEndTime"`
	Operation                    string `json:"Operation"`
	RebootOption                 string `json:"RebootOption,omitempty"`
	CriticalNonCompliantCount    int32  `json:"CriticalNonCompliantCount"`
	SecurityNonCompliantCount    int32  `json:"SecurityNonCompliantCount"`
	OtherNonCompliantCount       int32  `json:"OtherNonCompliantCount"`
}

type describeInstancePatchStatesOutput struct {
	InstancePatchStates []instancePatchState `json:"InstancePatchStates"`
	NextToken           string               `json:"NextToken,omitempty"`
}

// describeInstancePatchStates answers the states of the named nodes that
// have one; ids of nodes never scanned, or not there, are left out, as AWS
// leaves them out.
func (s *Service) describeInstancePatchStates(ctx Context, in *describeInstancePatchStatesInput) (any, error) {
	var found []nodes.Node
	for _, n := range s.managed(ctx) {
		if n.Patch != nil && slices.Contains(in.InstanceIds, n.ID) {
			found = append(found, n)
		}
	}
	items, next, err := listPage(found, nodeID, in.MaxResults, 10, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeInstancePatchStatesOutput{InstancePatchStates: make([]instancePatchState, len(items)), NextToken: next}
	for i, n := range items {
		p := n.Patch
		st := instancePatchState{InstanceId: n.ID, PatchGroup: p.PatchGroup, BaselineId: p.BaselineID,
			OperationStartTime: stamp(p.Started), OperationEndTime: stamp(p.Ended), Operation: p.Operation, RebootOption: p.RebootOption}
		for _, patch := range p.Patches {
			counter := map[string]*int32{
				nodes.Installed: &st.InstalledCount, nodes.InstalledOther: &st.InstalledOtherCount,
				nodes.InstalledPendingReboot: &st.InstalledPendingRebootCount, nodes.InstalledRejected: &st.InstalledRejectedCount,
				nodes.Missing: &st.MissingCount, nodes.Failed: &st.FailedCount, nodes.NotApplicable: &st.NotApplicableCount,
			}[patch.State]
			*counter++
			if nodes.Compliant(patch.State) {
				continue
			}
			// The reference counts a patch under Critical by its compliance
			// level and under Security by its advisory's classification; it
			// does not say that one excludes the other, so a critical
			// security patch counts in both (an assumption), and Other is
			// neither.
			critical, security := patch.ComplianceSeverity == "CRITICAL", strings.HasPrefix(patch.Classification, "Security")
			if critical {
				st.CriticalNonCompliantCount++
			}
			if security {
				st.SecurityNonCompliantCount++
			}
			if !critical && !security {
				st.OtherNonCompliantCount++
			}
		}
		out.InstancePatchStates[i] = st
	}
	return out, nil
}

type complianceFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
	Type   string   `json:"Type"`
}

// complianceMatch builds the predicate of ComplianceStringFilters over the
// fields an item offers; a key it does not offer is InvalidFilter. Type
// defaults to EQUAL; LESS_THAN and GREATER_THAN compare as strings (an
// assumption: AWS documents them for dates and numbers without saying how).
func complianceMatch(fs []complianceFilter, fields func(key string) (string, bool)) (func() bool, error) {
	for _, f := range fs {
		if _, ok := fields(f.Key); !ok {
			return nil, apierr.BadRequest("InvalidFilter", "The filter key %s is not valid.", f.Key)
		}
	}
	return func() bool {
		for _, f := range fs {
			v, _ := fields(f.Key)
			hit := slices.ContainsFunc(f.Values, func(want string) bool {
				switch f.Type {
				case "NOT_EQUAL":
					return v != want
				case "BEGIN_WITH":
					return strings.HasPrefix(v, want)
				case "LESS_THAN":
					return v < want
				case "GREATER_THAN":
					return v > want
				}
				return v == want
			})
			if !hit {
				return false
			}
		}
		return true
	}, nil
}

type severitySummary struct {
	CriticalCount      int32 `json:"CriticalCount"`
	HighCount          int32 `json:"HighCount"`
	MediumCount        int32 `json:"MediumCount"`
	LowCount           int32 `json:"LowCount"`
	InformationalCount int32 `json:"InformationalCount"`
	UnspecifiedCount   int32 `json:"UnspecifiedCount"`
}

func (s *severitySummary) add(severity string) {
	*map[string]*int32{"CRITICAL": &s.CriticalCount, "HIGH": &s.HighCount, "MEDIUM": &s.MediumCount,
		"LOW": &s.LowCount, "INFORMATIONAL": &s.InformationalCount, "UNSPECIFIED": &s.UnspecifiedCount}[severity]++
}

type executionSummary struct {
	ExecutionTime *epoch `json:"ExecutionTime"`
	ExecutionId   string `json:"ExecutionId,omitempty"`
	ExecutionType string `json:"ExecutionType,omitempty"`
}

type resourceComplianceSummary struct {
	ComplianceType   string           `json:"ComplianceType"`
	ResourceType     string           `json:"ResourceType"`
	ResourceId       string           `json:"ResourceId"`
	Status           string           `json:"Status"`
	OverallSeverity  string           `json:"OverallSeverity"`
	ExecutionSummary executionSummary `json:"ExecutionSummary"`
	CompliantSummary struct {
		CompliantCount  int32           `json:"CompliantCount"`
		SeveritySummary severitySummary `json:"SeveritySummary"`
	} `json:"CompliantSummary"`
	NonCompliantSummary struct {
		NonCompliantCount int32           `json:"NonCompliantCount"`
		SeveritySummary   severitySummary `json:"SeveritySummary"`
	} `json:"NonCompliantSummary"`
}

type listComplianceInput struct {
	Filters       []complianceFilter `json:"Filters"`
	ResourceIds   []string           `json:"ResourceIds"`
	ResourceTypes []string           `json:"ResourceTypes"`
	MaxResults    *int32             `json:"MaxResults"`
	NextToken     string             `json:"NextToken"`
}

type listResourceComplianceSummariesOutput struct {
	ResourceComplianceSummaryItems []resourceComplianceSummary `json:"ResourceComplianceSummaryItems"`
	NextToken                      string                      `json:"NextToken,omitempty"`
}

// Patch compliance is the only compliance type the simulator keeps: a node
// has it once a patching run reported (Patch != nil). Its overall severity
// is the most severe of its non-compliant patches', or of all its patches'
// when it is compliant.
func patchSummary(n nodes.Node) resourceComplianceSummary {
	p := n.Patch
	sum := resourceComplianceSummary{ComplianceType: "Patch", ResourceType: "ManagedInstance", ResourceId: n.ID, Status: "COMPLIANT",
		ExecutionSummary: executionSummary{ExecutionTime: stamp(p.Ended), ExecutionId: p.ExecutionID, ExecutionType: "Command"}}
	rank := len(nodes.Severities)
	worstCompliant := rank
	for _, patch := range p.Patches {
		r := slices.Index(nodes.Severities, patch.ComplianceSeverity)
		if nodes.Compliant(patch.State) {
			sum.CompliantSummary.CompliantCount++
			sum.CompliantSummary.SeveritySummary.add(patch.ComplianceSeverity)
			worstCompliant = min(worstCompliant, r)
			continue
		}
		sum.Status = "NON_COMPLIANT"
		sum.NonCompliantSummary.NonCompliantCount++
		sum.NonCompliantSummary.SeveritySummary.add(patch.ComplianceSeverity)
		rank = min(rank, r)
	}
	if sum.Status == "COMPLIANT" {
		rank = worstCompliant
	}
	sum.OverallSeverity = "UNSPECIFIED"
	if rank < len(nodes.Severities) {
		sum.OverallSeverity = nodes.Severities[rank]
	}
	return sum
}

func (s *Service) listResourceComplianceSummaries(ctx Context, in *listComplianceInput) (any, error) {
	var cur resourceComplianceSummary
	match, err := complianceMatch(in.Filters, func(key string) (string, bool) {
		switch key {
		case "ComplianceType":
			return cur.ComplianceType, true
		case "Status":
			return cur.Status, true
		case "OverallSeverity":
			return cur.OverallSeverity, true
		case "ResourceType":
			return cur.ResourceType, true
		case "ExecutionId":
			return cur.ExecutionSummary.ExecutionId, true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	var all []resourceComplianceSummary
	for _, n := range s.managed(ctx) {
		if n.Patch == nil {
			continue
		}
		if cur = patchSummary(n); match() {
			all = append(all, cur)
		}
	}
	items, next, err := listPage(all, func(r resourceComplianceSummary) string { return r.ResourceId }, in.MaxResults, 50, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listResourceComplianceSummariesOutput{ResourceComplianceSummaryItems: items, NextToken: next}, nil
}

type complianceItem struct {
	ComplianceType   string            `json:"ComplianceType"`
	ResourceType     string            `json:"ResourceType"`
	ResourceId       string            `json:"ResourceId"`
	Id               string            `json:"Id"`
	Title            string            `json:"Title"`
	Status           string            `json:"Status"`
	Severity         string            `json:"Severity"`
	ExecutionSummary executionSummary  `json:"ExecutionSummary"`
	Details          map[string]string `json:"Details"`
}

type listComplianceItemsOutput struct {
	ComplianceItems []complianceItem `json:"ComplianceItems"`
	NextToken       string           `json:"NextToken,omitempty"`
}

// patchStateNames are the PatchState values of a patch compliance item's
// Details, as the Patch Manager guide's compliance data shows them.
var patchStateNames = map[string]string{
	nodes.Installed: "Installed", nodes.InstalledOther: "InstalledOther", nodes.InstalledPendingReboot: "InstalledPendingReboot",
	nodes.InstalledRejected: "InstalledRejected", nodes.Missing: "Missing", nodes.NotApplicable: "NotApplicable", nodes.Failed: "Failed",
}

// listComplianceItems answers the compliance items of one resource: AWS's
// reference says "Currently, you can only specify one resource ID per call"
// and "the only supported resource type is ManagedInstance".
func (s *Service) listComplianceItems(ctx Context, in *listComplianceInput) (any, error) {
	if len(in.ResourceIds) != 1 {
		return nil, validation("ResourceIds: exactly one resource id is supported per call, got %d.", len(in.ResourceIds))
	}
	for _, t := range in.ResourceTypes {
		if t != "ManagedInstance" {
			return nil, apierr.BadRequest("InvalidResourceType", "The resource type %s is not valid; the supported type is ManagedInstance.", t)
		}
	}
	var cur complianceItem
	match, err := complianceMatch(in.Filters, func(key string) (string, bool) {
		switch key {
		case "ComplianceType":
			return cur.ComplianceType, true
		case "Status":
			return cur.Status, true
		case "Severity":
			return cur.Severity, true
		case "Id":
			return cur.Id, true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	managed := s.managed(ctx)
	i := slices.IndexFunc(managed, func(n nodes.Node) bool { return n.ID == in.ResourceIds[0] })
	if i < 0 {
		return nil, apierr.BadRequest("InvalidResourceId", "The resource ID %s is not valid. Verify the ID and try again.", in.ResourceIds[0])
	}
	n := managed[i]
	var all []complianceItem
	if p := n.Patch; p != nil {
		for _, patch := range p.Patches {
			cur = complianceItem{ComplianceType: "Patch", ResourceType: "ManagedInstance", ResourceId: n.ID,
				Id: patch.ID, Title: patch.Title, Status: "COMPLIANT", Severity: patch.ComplianceSeverity,
				ExecutionSummary: executionSummary{ExecutionTime: stamp(p.Ended), ExecutionId: p.ExecutionID, ExecutionType: "Command"},
				Details: map[string]string{"Classification": patch.Classification, "PatchBaselineId": p.BaselineID,
					"PatchGroup": p.PatchGroup, "PatchSeverity": patch.Severity, "PatchState": patchStateNames[patch.State]}}
			if !nodes.Compliant(patch.State) {
				cur.Status = "NON_COMPLIANT"
			}
			if !patch.InstalledTime.IsZero() {
				cur.Details["InstalledTime"] = patch.InstalledTime.UTC().Format(time.RFC3339)
			}
			if patch.CVEIds != "" {
				cur.Details["CVEIds"] = patch.CVEIds
			}
			if match() {
				all = append(all, cur)
			}
		}
	}
	slices.SortFunc(all, func(a, b complianceItem) int { return strings.Compare(a.Id, b.Id) })
	items, next, err := listPage(all, func(c complianceItem) string { return c.Id }, in.MaxResults, 50, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listComplianceItemsOutput{ComplianceItems: items, NextToken: next}, nil
}
