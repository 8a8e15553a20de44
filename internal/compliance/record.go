package compliance

import "time"

// Record statuses beyond Patch compliance's COMPLIANT and NON_COMPLIANT.
const (
	Compliant    = "COMPLIANT"
	NonCompliant = "NON_COMPLIANT"
	// Unreported is a managed node no patching run has reported on (the
	// Patch Manager dashboard's "unreported").
	Unreported = "UNREPORTED"
	// Unmanaged is an EC2 instance no SSM Agent reports: not a managed node
	// at all (ResourceType EC2Instance).
	Unmanaged = "UNMANAGED"
)

// Record is one managed node (or one unmanaged EC2 instance) in the format
// of seed 004 (ComplianceType .. Name), with where it lives and what it runs
// added. Field names are stable: they are the columns of the Athena table.
type Record struct {
	ComplianceType      string               `json:"ComplianceType"`
	ResourceType        string               `json:"ResourceType"` // ManagedInstance, or EC2Instance when unmanaged
	ResourceId          string               `json:"ResourceId"`
	Status              string               `json:"Status"`
	OverallSeverity     string               `json:"OverallSeverity,omitempty"`
	ExecutionSummary    *ExecutionSummary    `json:"ExecutionSummary,omitempty"`
	CompliantSummary    *CompliantSummary    `json:"CompliantSummary,omitempty"`
	NonCompliantSummary *NonCompliantSummary `json:"NonCompliantSummary,omitempty"`
	MissingPatches      []Patch              `json:"MissingPatches,omitempty"`
	Account             string               `json:"Account"`
	Name                string               `json:"Name"`

	Region string `json:"Region"`
	OU     string `json:"OU"`   // path of OU names from the root, e.g. Root/Workloads/Prod
	OUId   string `json:"OUId"` // the account's parent (root or OU id)
	// Ring is the account's rollout ring (fleet.ResolveRings); empty when
	// the configuration has no rings or none selects the account.
	Ring            string      `json:"Ring"`
	AccountName     string      `json:"AccountName"`
	Platform        string      `json:"Platform"` // Linux, Windows, MacOS
	PlatformName    string      `json:"PlatformName,omitempty"`
	PlatformVersion string      `json:"PlatformVersion,omitempty"`
	AgentVersion    string      `json:"AgentVersion,omitempty"`
	PingStatus      string      `json:"PingStatus,omitempty"`
	LastPing        *time.Time  `json:"LastPing,omitempty"`
	PatchState      *PatchState `json:"PatchState,omitempty"`
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

// Patch is one non-compliant patch: missing, failed, installed pending
// reboot or installed though rejected (Details.PatchState says which).
type Patch struct {
	Id       string            `json:"Id"`
	Title    string            `json:"Title"`
	Severity string            `json:"Severity"`
	Details  map[string]string `json:"Details"`
}

// PatchState is the node's state after the last patching run
// (DescribeInstancePatchStates).
type PatchState struct {
	PatchGroup                  string    `json:"PatchGroup"`
	BaselineId                  string    `json:"BaselineId"`
	Operation                   string    `json:"Operation"`
	OperationStartTime          time.Time `json:"OperationStartTime"`
	OperationEndTime            time.Time `json:"OperationEndTime"`
	InstalledCount              int32     `json:"InstalledCount"`
	InstalledOtherCount         int32     `json:"InstalledOtherCount"`
	InstalledPendingRebootCount int32     `json:"InstalledPendingRebootCount"`
	InstalledRejectedCount      int32     `json:"InstalledRejectedCount"`
	MissingCount                int32     `json:"MissingCount"`
	FailedCount                 int32     `json:"FailedCount"`
	NotApplicableCount          int32     `json:"NotApplicableCount"`
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
