package nodes

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Ping statuses of a managed node (SSM PingStatus).
const (
	Online         = "Online"
	ConnectionLost = "ConnectionLost"
	Inactive       = "Inactive"
)

// Platform types (SSM PlatformType).
const (
	Linux   = "Linux"
	Windows = "Windows"
	MacOS   = "MacOS"
)

// Patch states (SSM PatchComplianceDataState) and how compliance counts
// them: "Patch compliance state values" in the Patch Manager guide: Missing,
// Failed, InstalledPendingReboot and InstalledRejected are non-compliant;
// Installed, InstalledOther and NotApplicable compliant.
const (
	Installed              = "INSTALLED"
	InstalledOther         = "INSTALLED_OTHER"
	InstalledPendingReboot = "INSTALLED_PENDING_REBOOT"
	InstalledRejected      = "INSTALLED_REJECTED"
	Missing                = "MISSING"
	NotApplicable          = "NOT_APPLICABLE"
	Failed                 = "FAILED"
)

// Compliant reports whether a patch in state counts as compliant.
func Compliant(state string) bool {
	return state == Installed || state == InstalledOther || state == NotApplicable
}

// Node is one machine of an account x region.
type Node struct {
	// ID is i- and 17 hex digits for an EC2 instance, mi- and 17 for a
	// hybrid server (which EC2 does not list).
	ID   string            `json:"id"`
	Tags map[string]string `json:"tags,omitempty"` // EC2 tags; Name is the name
	// State is the EC2 instance state (running, stopped); empty for mi-.
	State    string    `json:"state,omitempty"`
	Launched time.Time `json:"launched"`

	Platform        string `json:"platform"` // Linux, Windows, MacOS
	PlatformName    string `json:"platformName,omitempty"`
	PlatformVersion string `json:"platformVersion,omitempty"`
	IPAddress       string `json:"ipAddress,omitempty"`
	ComputerName    string `json:"computerName,omitempty"`

	// Managed says the SSM Agent reports the node; the fields below are
	// meaningless when it does not.
	Managed      bool      `json:"managed"`
	PingStatus   string    `json:"pingStatus,omitempty"`
	LastPing     time.Time `json:"lastPing"`
	AgentVersion string    `json:"agentVersion,omitempty"`

	// Patch is the last patching run's result; nil when never scanned.
	Patch *PatchState `json:"patch,omitempty"`
}

// IsEC2 reports whether the node is an EC2 instance.
func (n *Node) IsEC2() bool { return strings.HasPrefix(n.ID, "i-") }

// PatchState is what the last AWS-RunPatchBaseline run left on a node.
type PatchState struct {
	PatchGroup   string    `json:"patchGroup,omitempty"`
	BaselineID   string    `json:"baselineId"`
	Operation    string    `json:"operation"` // Scan or Install
	Started      time.Time `json:"started"`
	Ended        time.Time `json:"ended"`
	ExecutionID  string    `json:"executionId"` // the command id
	RebootOption string    `json:"rebootOption,omitempty"`
	Patches      []Patch   `json:"patches"`
}

// Patch is one patch's state on a node.
type Patch struct {
	ID             string `json:"id"` // KB id or package name
	Title          string `json:"title"`
	Classification string `json:"classification"`
	// Severity is the vendor's (Critical, Important, ...);
	// ComplianceSeverity is what the baseline reports a non-compliant
	// patch as (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNSPECIFIED).
	// Empty is UNSPECIFIED: a baseline without a compliance level, as all
	// of AWS's predefined baselines are.
	Severity           string    `json:"severity"`
	ComplianceSeverity string    `json:"complianceSeverity"`
	State              string    `json:"state"`
	InstalledTime      time.Time `json:"installedTime"`
	CVEIds             string    `json:"cveIds,omitempty"`
}

// Store is the inventory of every account x region. It is safe for
// concurrent use; readers get copies.
type Store struct {
	mu        sync.RWMutex
	given     map[key][]Node
	perTarget int
	epoch     time.Time
}

type key struct{ account, region string }

// New returns a Store with no machines anywhere. With perTarget > 0, every
// account x region without machines of its own gets perTarget generated
// ones, stamped relative to epoch.
func New(perTarget int, epoch time.Time) *Store {
	return &Store{given: map[key][]Node{}, perTarget: perTarget, epoch: epoch}
}

// Put replaces the machines of account x region (none: no machines there,
// even when generation is on).
func (s *Store) Put(account, region string, ns ...Node) error {
	ns = slices.Clone(ns)
	for i := range ns {
		if p := ns[i].Patch; p != nil {
			cp := *p
			cp.Patches = slices.Clone(p.Patches)
			for j := range cp.Patches {
				if cp.Patches[j].ComplianceSeverity == "" {
					cp.Patches[j].ComplianceSeverity = Unspecified
				}
			}
			ns[i].Patch = &cp
		}
		if err := ns[i].validate(); err != nil {
			return fmt.Errorf("node %d of %s/%s: %w", i, account, region, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.given[key{account, region}] = ns
	return nil
}

// List returns the machines of account x region, sorted by id.
func (s *Store) List(account, region string) []Node {
	s.mu.RLock()
	ns, ok := s.given[key{account, region}]
	s.mu.RUnlock()
	if !ok {
		if s.perTarget == 0 {
			return nil
		}
		ns = Generate(account, region, s.perTarget, s.epoch)
	} else {
		ns = slices.Clone(ns)
	}
	slices.SortFunc(ns, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return ns
}

// Get returns one machine of account x region.
func (s *Store) Get(account, region, id string) (Node, bool) {
	for _, n := range s.List(account, region) {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

func (n *Node) validate() error {
	switch {
	case !idPattern.MatchString(n.ID):
		return fmt.Errorf("id %q: want i- or mi- and 17 hex digits", n.ID)
	case !slices.Contains([]string{Linux, Windows, MacOS}, n.Platform):
		return fmt.Errorf("platform %q: want Linux, Windows or MacOS", n.Platform)
	case n.IsEC2() && n.State != "running" && n.State != "stopped":
		return fmt.Errorf("state %q: an EC2 instance is running or stopped", n.State)
	case !n.IsEC2() && !n.Managed:
		return fmt.Errorf("a hybrid (mi-) node is managed by definition")
	case n.Managed && !slices.Contains([]string{Online, ConnectionLost, Inactive}, n.PingStatus):
		return fmt.Errorf("pingStatus %q: want Online, ConnectionLost or Inactive", n.PingStatus)
	case n.Managed && n.AgentVersion == "":
		return fmt.Errorf("agentVersion: required for a managed node")
	}
	if n.Patch != nil {
		if n.Patch.Operation != "Scan" && n.Patch.Operation != "Install" {
			return fmt.Errorf("patch.operation %q: want Scan or Install", n.Patch.Operation)
		}
		for _, p := range n.Patch.Patches {
			if !slices.Contains(states, p.State) {
				return fmt.Errorf("patch %s state %q: want one of %s", p.ID, p.State, strings.Join(states, ", "))
			}
			if !slices.Contains(Severities, p.ComplianceSeverity) {
				return fmt.Errorf("patch %s complianceSeverity %q: want one of %s", p.ID, p.ComplianceSeverity, strings.Join(Severities, ", "))
			}
		}
	}
	return nil
}

var states = []string{Installed, InstalledOther, InstalledPendingReboot, InstalledRejected, Missing, NotApplicable, Failed}

// Unspecified is the compliance severity of a patch whose baseline sets no
// compliance level.
const Unspecified = "UNSPECIFIED"

// Severities are the compliance severities, most severe first.
var Severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", Unspecified}

// Update runs f on the machines of account x region (sorted by id; the
// generated ones materialized, so from now on they are kept, not derived)
// and keeps what f leaves when it returns nil and every machine is valid.
func (s *Store) Update(account, region string, f func(ns []Node) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{account, region}
	ns, ok := s.given[k]
	if ok {
		ns = slices.Clone(ns)
	} else if s.perTarget > 0 {
		ns = Generate(account, region, s.perTarget, s.epoch)
	}
	slices.SortFunc(ns, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	if err := f(ns); err != nil {
		return err
	}
	for i := range ns {
		if err := ns[i].validate(); err != nil {
			return fmt.Errorf("node %s of %s/%s: %w", ns[i].ID, account, region, err)
		}
	}
	s.given[k] = ns
	return nil
}
