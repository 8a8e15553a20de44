package compliance

import (
	"slices"
	"strings"
	"time"
)

// Record types: what one line of a run's records is.
const (
	// NodeRecord is one managed node, or one EC2 instance no agent reports.
	NodeRecord = "Node"
	// CoverageRecord is one account x region in scope and whether it was
	// read, so that a run's completeness can be proved from its records.
	CoverageRecord = "Coverage"
	// RunRecord closes a run: its totals and the trend up to it. A run's
	// records hold exactly one, last; its presence says the run completed.
	RunRecord = "Run"
)

// Patch compliance statuses (AWS's ComplianceStatus). Status holds nothing
// else: a node without a compliance summary has none, and NodeState says
// why.
const (
	Compliant    = "COMPLIANT"
	NonCompliant = "NON_COMPLIANT"
)

// Node states: whether an agent reports the node and whether a patching
// run reported its compliance.
const (
	// Reported is a managed node with patch compliance.
	Reported = "REPORTED"
	// Unreported is a managed node no patching run has reported on (the
	// Patch Manager dashboard's "unreported").
	Unreported = "UNREPORTED"
	// Unmanaged is an EC2 instance no SSM Agent reports: not a managed node
	// at all.
	Unmanaged = "UNMANAGED"
)

// Coverage outcomes of an account x region.
const (
	OutcomeRead = "READ"
	// OutcomeFailed: the account or region could not be read; Reason says
	// why.
	OutcomeFailed = "FAILED"
	// OutcomeSuspended: the account is suspended (or pending closure);
	// nothing is read there.
	OutcomeSuspended = "SUSPENDED"
	// OutcomeExcluded: the configuration excludes the account.
	OutcomeExcluded = "EXCLUDED"
	// OutcomeRegionNotEnabled: the account has not opted in to the region.
	OutcomeRegionNotEnabled = "REGION_NOT_ENABLED"
)

// Record is one line of a run's records. A Node record is one managed node
// (or one unmanaged EC2 instance) in the format of seed 004
// (ComplianceType .. Name), with where it lives, what it runs and what the
// report derived from it added; a Coverage record is one account x region;
// the Run record closes the run. Field names are stable: they are the
// columns of the Athena table.
type Record struct {
	RecordType  string    `json:"RecordType"`
	RunId       string    `json:"RunId"`
	CaptureTime time.Time `json:"CaptureTime"`

	ComplianceType string `json:"ComplianceType,omitempty"`
	// ResourceType is SSM's: EC2Instance for an EC2 instance (managed or
	// not), ManagedInstance for a hybrid (mi-) node.
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceId   string `json:"ResourceId,omitempty"`
	// Status is the patch compliance status, COMPLIANT or NON_COMPLIANT;
	// empty when the node has none (NodeState says why).
	Status string `json:"Status,omitempty"`
	// OverallSeverity is AWS's: the baseline's compliance level, which is
	// UNSPECIFIED on every predefined baseline.
	OverallSeverity     string               `json:"OverallSeverity,omitempty"`
	ExecutionSummary    *ExecutionSummary    `json:"ExecutionSummary,omitempty"`
	CompliantSummary    *CompliantSummary    `json:"CompliantSummary,omitempty"`
	NonCompliantSummary *NonCompliantSummary `json:"NonCompliantSummary,omitempty"`
	// The non-compliant patches, apart by state: missing, failed to
	// install, installed but waiting for a reboot, installed though the
	// baseline rejects them.
	MissingPatches       []Patch `json:"MissingPatches,omitempty"`
	FailedPatches        []Patch `json:"FailedPatches,omitempty"`
	PendingRebootPatches []Patch `json:"PendingRebootPatches,omitempty"`
	RejectedPatches      []Patch `json:"RejectedPatches,omitempty"`
	Account              string  `json:"Account"`
	// Name is the EC2 Name tag, the activation name of a hybrid node, else
	// its computer name.
	Name string `json:"Name,omitempty"`

	Region string `json:"Region,omitempty"`
	OU     string `json:"OU"`   // path of OU names from the root, e.g. Root/Workloads/Prod
	OUId   string `json:"OUId"` // the account's parent (root or OU id)
	// Ring is the account's rollout ring (fleet.ResolveRings); empty when
	// the configuration has no rings or none selects the account.
	Ring        string `json:"Ring"`
	AccountName string `json:"AccountName"`

	// NodeState is REPORTED, UNREPORTED or UNMANAGED.
	NodeState       string     `json:"NodeState,omitempty"`
	Platform        string     `json:"Platform,omitempty"` // Linux, Windows, MacOS
	PlatformName    string     `json:"PlatformName,omitempty"`
	PlatformVersion string     `json:"PlatformVersion,omitempty"`
	ComputerName    string     `json:"ComputerName,omitempty"`
	InstanceState   string     `json:"InstanceState,omitempty"` // EC2's: running, stopped, ...
	AgentVersion    string     `json:"AgentVersion,omitempty"`
	PingStatus      string     `json:"PingStatus,omitempty"`
	LastPing        *time.Time `json:"LastPing,omitempty"`
	// OwnerTags are the node's EC2 tags named by Settings.OwnerTagKeys.
	OwnerTags  map[string]string `json:"OwnerTags,omitempty"`
	PatchState *PatchState       `json:"PatchState,omitempty"`

	// What the report derived, with the run's settings.
	// Severity is the worst effective severity of the non-compliant patches
	// (Patch.EffectiveSeverity): the real one on default baselines.
	Severity string `json:"Severity,omitempty"`
	// SecurityNonCompliant counts the non-compliant patches from security
	// advisories.
	SecurityNonCompliant int `json:"SecurityNonCompliant,omitempty"`
	// Stale: the node was never scanned, or not within the stale days.
	Stale bool `json:"Stale,omitempty"`
	// LastScanAgeDays is whole days since the last scan; absent when never.
	LastScanAgeDays *int `json:"LastScanAgeDays,omitempty"`
	OldAgent        bool `json:"OldAgent,omitempty"`
	// PastSLA counts the non-compliant patches older than their severity's
	// SLA; OldestPatchAgeDays is the age of the oldest one.
	PastSLA            int `json:"PastSLA,omitempty"`
	OldestPatchAgeDays int `json:"OldestPatchAgeDays,omitempty"`
	// Reused: the last patching run is the previous report's, so its
	// patch lists were taken from there instead of read again.
	Reused bool `json:"Reused,omitempty"`

	// A Coverage record's: the outcome, why when not read, and the nodes
	// read (managed and unmanaged).
	Outcome string `json:"Outcome,omitempty"`
	Reason  string `json:"Reason,omitempty"`
	Nodes   int    `json:"Nodes,omitempty"`

	// The Run record's: the run's totals and the runs before it, oldest
	// first (at most maxTrend).
	Trend []TrendPoint `json:"Trend,omitempty"`
}

// ExecutionSummary is the patching run that reported the compliance.
type ExecutionSummary struct {
	ExecutionId   string    `json:"ExecutionId"`
	ExecutionType string    `json:"ExecutionType"`
	ExecutionTime time.Time `json:"ExecutionTime"`
}

// SeveritySummary counts compliance items by severity.
type SeveritySummary struct {
	CriticalCount      int32 `json:"CriticalCount"`
	HighCount          int32 `json:"HighCount"`
	MediumCount        int32 `json:"MediumCount"`
	LowCount           int32 `json:"LowCount"`
	InformationalCount int32 `json:"InformationalCount"`
	UnspecifiedCount   int32 `json:"UnspecifiedCount"`
}

// CompliantSummary counts the compliant patches.
type CompliantSummary struct {
	CompliantCount  int32           `json:"CompliantCount"`
	SeveritySummary SeveritySummary `json:"SeveritySummary"`
}

// NonCompliantSummary counts the non-compliant patches.
type NonCompliantSummary struct {
	NonCompliantCount int32           `json:"NonCompliantCount"`
	SeveritySummary   SeveritySummary `json:"SeveritySummary"`
}

// Patch is one non-compliant patch of a node.
type Patch struct {
	Id    string `json:"Id"`
	Title string `json:"Title"`
	// Severity is the compliance item's: the baseline's compliance level.
	Severity string `json:"Severity"`
	// PatchSeverity is the vendor's (Critical, Important, Moderate, ...);
	// EffectiveSeverity is the more severe of the compliance level and the
	// vendor's severity on the compliance scale (severityOfPatch).
	PatchSeverity     string   `json:"PatchSeverity,omitempty"`
	EffectiveSeverity string   `json:"EffectiveSeverity"`
	Classification    string   `json:"Classification,omitempty"`
	CVEIds            []string `json:"CVEIds,omitempty"`
	// State is AWS's: Missing, Failed, InstalledPendingReboot or
	// InstalledRejected.
	State         string     `json:"State"`
	InstalledTime *time.Time `json:"InstalledTime,omitempty"`
	// FirstSeen is when a report first saw the patch non-compliant on the
	// node, kept from run to run; AgeDays counts whole days since.
	FirstSeen time.Time `json:"FirstSeen"`
	AgeDays   int       `json:"AgeDays"`
	// SLADays is the SLA of the effective severity (0: none); PastSLA says
	// the patch is older.
	SLADays int  `json:"SLADays,omitempty"`
	PastSLA bool `json:"PastSLA,omitempty"`
}

// PatchState is the node's state after the last patching run
// (DescribeInstancePatchStates).
type PatchState struct {
	PatchGroup                  string    `json:"PatchGroup"`
	BaselineId                  string    `json:"BaselineId"`
	Operation                   string    `json:"Operation"`
	OperationStartTime          time.Time `json:"OperationStartTime"`
	OperationEndTime            time.Time `json:"OperationEndTime"`
	RebootOption                string    `json:"RebootOption,omitempty"`
	InstalledCount              int32     `json:"InstalledCount"`
	InstalledOtherCount         int32     `json:"InstalledOtherCount"`
	InstalledPendingRebootCount int32     `json:"InstalledPendingRebootCount"`
	InstalledRejectedCount      int32     `json:"InstalledRejectedCount"`
	MissingCount                int32     `json:"MissingCount"`
	FailedCount                 int32     `json:"FailedCount"`
	NotApplicableCount          int32     `json:"NotApplicableCount"`
	// AWS's counts of non-compliant patches: critical by the baseline's
	// compliance level, security by the advisory, other neither.
	CriticalNonCompliantCount int32 `json:"CriticalNonCompliantCount"`
	SecurityNonCompliantCount int32 `json:"SecurityNonCompliantCount"`
	OtherNonCompliantCount    int32 `json:"OtherNonCompliantCount"`
}

// LastScan is when the node was last scanned or patched; zero when never.
func (r *Record) LastScan() time.Time {
	switch {
	case r.PatchState != nil:
		return r.PatchState.OperationEndTime
	case r.ExecutionSummary != nil:
		return r.ExecutionSummary.ExecutionTime
	}
	return time.Time{}
}

// Patches returns the node's non-compliant patches, every state.
func (r *Record) Patches() []Patch {
	return slices.Concat(r.MissingPatches, r.FailedPatches, r.PendingRebootPatches, r.RejectedPatches)
}

// patchLists are the record's patch lists by AWS's patch state.
func (r *Record) patchList(state string) *[]Patch {
	switch state {
	case "Missing":
		return &r.MissingPatches
	case "Failed":
		return &r.FailedPatches
	case "InstalledPendingReboot":
		return &r.PendingRebootPatches
	case "InstalledRejected":
		return &r.RejectedPatches
	}
	return nil
}

// detached returns a deep copy of r that shares no memory with it: the
// SDK decodes a response's strings into one arena, so a string kept from
// it keeps the whole response alive. A record kept past its target (the
// summary's worst nodes) is detached.
func (r *Record) detached() Record {
	c := *r
	for _, s := range []*string{&c.RecordType, &c.RunId, &c.ComplianceType, &c.ResourceType, &c.ResourceId, &c.Status, &c.OverallSeverity,
		&c.Account, &c.Name, &c.Region, &c.OU, &c.OUId, &c.Ring, &c.AccountName, &c.NodeState, &c.Platform, &c.PlatformName,
		&c.PlatformVersion, &c.ComputerName, &c.InstanceState, &c.AgentVersion, &c.PingStatus, &c.Severity, &c.Outcome, &c.Reason} {
		*s = strings.Clone(*s)
	}
	if e := c.ExecutionSummary; e != nil {
		c.ExecutionSummary = &ExecutionSummary{strings.Clone(e.ExecutionId), strings.Clone(e.ExecutionType), e.ExecutionTime}
	}
	if p := c.PatchState; p != nil {
		ps := *p
		ps.PatchGroup, ps.BaselineId, ps.Operation, ps.RebootOption = strings.Clone(p.PatchGroup), strings.Clone(p.BaselineId), strings.Clone(p.Operation), strings.Clone(p.RebootOption)
		c.PatchState = &ps
	}
	if c.CompliantSummary != nil {
		cs := *c.CompliantSummary
		c.CompliantSummary = &cs
	}
	if c.NonCompliantSummary != nil {
		ns := *c.NonCompliantSummary
		c.NonCompliantSummary = &ns
	}
	if c.LastPing != nil {
		t := *c.LastPing
		c.LastPing = &t
	}
	if c.LastScanAgeDays != nil {
		d := *c.LastScanAgeDays
		c.LastScanAgeDays = &d
	}
	if c.OwnerTags != nil {
		tags := make(map[string]string, len(c.OwnerTags))
		for k, v := range c.OwnerTags {
			tags[strings.Clone(k)] = strings.Clone(v)
		}
		c.OwnerTags = tags
	}
	for _, l := range []*[]Patch{&c.MissingPatches, &c.FailedPatches, &c.PendingRebootPatches, &c.RejectedPatches} {
		if *l == nil {
			continue
		}
		ps := make([]Patch, len(*l))
		for i, p := range *l {
			p.Id, p.Title, p.Severity, p.PatchSeverity = strings.Clone(p.Id), strings.Clone(p.Title), strings.Clone(p.Severity), strings.Clone(p.PatchSeverity)
			p.EffectiveSeverity, p.Classification, p.State = strings.Clone(p.EffectiveSeverity), strings.Clone(p.Classification), strings.Clone(p.State)
			p.CVEIds = slices.Clone(p.CVEIds)
			for j := range p.CVEIds {
				p.CVEIds[j] = strings.Clone(p.CVEIds[j])
			}
			if p.InstalledTime != nil {
				t := *p.InstalledTime
				p.InstalledTime = &t
			}
			ps[i] = p
		}
		*l = ps
	}
	c.Trend = slices.Clone(c.Trend)
	return c
}
