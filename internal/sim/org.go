package sim

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// DefaultRoleName is the configuration role orgpatch assumes in every
// account, as the reference solution names it.
const DefaultRoleName = "sra-patch-mgmt-configuration"

// Account statuses, as Organizations reports them.
const (
	StatusActive         = "ACTIVE"
	StatusSuspended      = "SUSPENDED"
	StatusPendingClosure = "PENDING_CLOSURE"
)

// Org is a simulated AWS organization as the JSON files in testdata/orgs
// describe it. The simulator copies it at start; later changes (CreateAccount,
// MoveAccount, tags, roles) live in the Server.
type Org struct {
	ID                string       `json:"id"`                // o-[a-z0-9]{10,32}
	ManagementAccount string       `json:"managementAccount"` // 12 digits, one of Accounts
	HomeRegion        string       `json:"homeRegion"`        // Control Tower's home region; us-east-1 when empty
	Root              Root         `json:"root"`
	Accounts          []Account    `json:"accounts"`
	LandingZone       *LandingZone `json:"landingZone,omitempty"` // nil: no Control Tower
}

// Root is the organization root and the OU tree below it.
type Root struct {
	ID   string            `json:"id"` // r-[0-9a-z]{4,32}
	Tags map[string]string `json:"tags,omitempty"`
	OUs  []OU              `json:"ous,omitempty"`
}

// OU is an organizational unit and its children.
type OU struct {
	ID   string            `json:"id"` // ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}
	Name string            `json:"name"`
	Tags map[string]string `json:"tags,omitempty"`
	OUs  []OU              `json:"ous,omitempty"`
}

// Account is one account of the organization, management account included.
type Account struct {
	ID     string            `json:"id"` // 12 digits
	Name   string            `json:"name"`
	Email  string            `json:"email"`
	Status string            `json:"status,omitempty"` // ACTIVE (default), SUSPENDED or PENDING_CLOSURE
	Parent string            `json:"parent,omitempty"` // root or OU id; the root when empty
	Tags   map[string]string `json:"tags,omitempty"`
	Roles  []Role            `json:"roles,omitempty"` // IAM roles others may assume
	// OptedInRegions are the opt-in regions (af-south-1, ...) the account
	// has enabled; the default regions are always enabled.
	OptedInRegions []string `json:"optedInRegions,omitempty"`
	// Nodes are the account's machines by region (EC2 instances, managed
	// or not, and hybrid servers); see WithNodesPerTarget for generated ones.
	Nodes map[string][]nodes.Node `json:"nodes,omitempty"`
}

// Role is an IAM role that STS AssumeRole can assume.
type Role struct {
	Name string `json:"name"`
	// Trust lists the accounts whose principals may assume the role; empty
	// means the management account only.
	Trust []string `json:"trust,omitempty"`
	// MaxSessionSeconds is the role's maximum session duration, 3600..43200;
	// 3600 when zero.
	MaxSessionSeconds int `json:"maxSessionSeconds,omitempty"`
}

// LandingZone is an AWS Control Tower landing zone in the home region.
type LandingZone struct {
	ARN             string   `json:"arn,omitempty"` // derived from the org when empty
	Version         string   `json:"version"`       // e.g. "3.3"
	GovernedRegions []string `json:"governedRegions"`
}

var (
	orgIDRe     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	rootIDRe    = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	ouIDRe      = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	accountIDRe = regexp.MustCompile(`^\d{12}$`)
	emailRe     = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
	roleNameRe  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	versionRe   = regexp.MustCompile(`^\d+\.\d+$`)

	landingZoneARNRe = regexp.MustCompile(`^arn:aws:controltower:[a-z0-9-]+:\d{12}:landingzone/[0-9A-Za-z]+$`)
)

//go:embed orgs/default.json
var defaultOrgJSON []byte

// DefaultOrg returns the built-in organization `orgpatch sim serve` and the
// demo use when no file is given.
func DefaultOrg() *Org {
	org, err := ParseOrg(defaultOrgJSON)
	if err != nil {
		panic("sim: embedded orgs/default.json: " + err.Error())
	}
	return org
}

// LoadOrg reads and validates an organization file.
func LoadOrg(path string) (*Org, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load organization: %w", err)
	}
	org, err := ParseOrg(b)
	if err != nil {
		return nil, fmt.Errorf("load organization %s: %w", path, err)
	}
	return org, nil
}

// ParseOrg decodes and validates an organization; unknown fields are errors,
// and every problem found is reported at once.
func ParseOrg(b []byte) (*Org, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var org Org
	if err := dec.Decode(&org); err != nil {
		return nil, fmt.Errorf("parse organization: %w", err)
	}
	if err := org.Validate(); err != nil {
		return nil, err
	}
	return &org, nil
}

// Validate reports every inconsistency of the organization, each naming the
// field and what it allows.
func (o *Org) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	// unique reports v at field as a duplicate when seen holds it already,
	// and adds it to seen.
	unique := func(seen map[string]bool, field, v string) {
		if seen[v] {
			bad("%s %q: duplicate", field, v)
		}
		seen[v] = true
	}
	if !orgIDRe.MatchString(o.ID) {
		bad("id %q: must match o-[a-z0-9]{10,32}", o.ID)
	}
	if o.HomeRegion != "" {
		if known, _ := regionKind(o.HomeRegion); !known {
			bad("homeRegion %q: not a known region (one of %s)", o.HomeRegion, strings.Join(allRegions(), ", "))
		}
	}
	if !rootIDRe.MatchString(o.Root.ID) {
		bad("root.id %q: must match r-[0-9a-z]{4,32}", o.Root.ID)
	}
	parents := map[string]bool{o.Root.ID: true}
	var walk func(path string, ous []OU)
	walk = func(path string, ous []OU) {
		for i, ou := range ous {
			p := fmt.Sprintf("%s[%d]", path, i)
			if !ouIDRe.MatchString(ou.ID) {
				bad("%s.id %q: must match ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}", p, ou.ID)
			}
			unique(parents, p+".id", ou.ID)
			if ou.Name == "" || len(ou.Name) > 128 {
				bad("%s.name %q: must be 1..128 characters", p, ou.Name)
			}
			walk(p+".ous", ou.OUs)
		}
	}
	walk("root.ous", o.Root.OUs)

	ids := map[string]bool{}
	emails := map[string]bool{}
	for i, a := range o.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		if !accountIDRe.MatchString(a.ID) {
			bad("%s.id %q: must be 12 digits", p, a.ID)
		}
		unique(ids, p+".id", a.ID)
		if a.Name == "" || len(a.Name) > 50 {
			bad("%s.name %q: must be 1..50 characters", p, a.Name)
		}
		if !emailRe.MatchString(a.Email) || len(a.Email) < 6 || len(a.Email) > 64 {
			bad("%s.email %q: must be an e-mail address of 6..64 characters", p, a.Email)
		}
		unique(emails, p+".email", a.Email)
		switch a.Status {
		case "", StatusActive, StatusSuspended, StatusPendingClosure:
		default:
			bad("%s.status %q: must be one of ACTIVE, SUSPENDED, PENDING_CLOSURE", p, a.Status)
		}
		if a.Parent != "" && !parents[a.Parent] {
			bad("%s.parent %q: no such root or OU in root", p, a.Parent)
		}
		roles := map[string]bool{}
		for j, r := range a.Roles {
			rp := fmt.Sprintf("%s.roles[%d]", p, j)
			if !roleNameRe.MatchString(r.Name) {
				bad("%s.name %q: must match [\\w+=,.@-]{1,64}", rp, r.Name)
			}
			unique(roles, rp+".name", r.Name)
			for _, t := range r.Trust {
				if !accountIDRe.MatchString(t) {
					bad("%s.trust %q: must be 12-digit account ids", rp, t)
				}
			}
			if r.MaxSessionSeconds != 0 && (r.MaxSessionSeconds < 3600 || r.MaxSessionSeconds > 43200) {
				bad("%s.maxSessionSeconds %d: must be 3600..43200", rp, r.MaxSessionSeconds)
			}
		}
		for _, region := range a.OptedInRegions {
			if known, optIn := regionKind(region); !known || !optIn {
				bad("%s.optedInRegions %q: must be an opt-in region (one of %s)", p, region, strings.Join(optInRegions, ", "))
			}
		}
	}
	if !ids[o.ManagementAccount] {
		bad("managementAccount %q: must be the id of one of accounts", o.ManagementAccount)
	}
	for i, a := range o.Accounts {
		if a.ID == o.ManagementAccount && a.Status != "" && a.Status != StatusActive {
			bad("accounts[%d].status %q: the management account must be ACTIVE", i, a.Status)
		}
	}
	if lz := o.LandingZone; lz != nil {
		if lz.ARN != "" && !landingZoneARNRe.MatchString(lz.ARN) {
			bad("landingZone.arn %q: must look like arn:aws:controltower:REGION:ACCOUNT:landingzone/ID", lz.ARN)
		}
		if !versionRe.MatchString(lz.Version) {
			bad("landingZone.version %q: must look like 3.3", lz.Version)
		}
		if len(lz.GovernedRegions) == 0 {
			bad("landingZone.governedRegions: must name at least one region")
		}
		for _, region := range lz.GovernedRegions {
			if known, _ := regionKind(region); !known {
				bad("landingZone.governedRegions %q: not a known region (one of %s)", region, strings.Join(allRegions(), ", "))
			}
		}
		if o.HomeRegion != "" && !slices.Contains(lz.GovernedRegions, o.HomeRegion) {
			bad("landingZone.governedRegions: must include the home region %s", o.HomeRegion)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid organization: %w", errors.Join(errs...))
	}
	return nil
}

// clone returns a deep copy of o.
func (o *Org) clone() *Org {
	b, err := json.Marshal(o)
	if err != nil {
		panic("sim: marshal organization: " + err.Error())
	}
	var c Org
	if err := json.Unmarshal(b, &c); err != nil {
		panic("sim: unmarshal organization: " + err.Error())
	}
	return &c
}

// GenerateOptions shape a generated organization.
type GenerateOptions struct {
	// Accounts is the number of member accounts, the management account
	// not counted.
	Accounts int
	// OUs is the number of OUs under the root; members are spread over them
	// in turn (none: all under the root).
	OUs int
	// Regions, when set, are the governed regions of a Control Tower landing
	// zone (home region: the first); every account opts into the opt-in
	// regions among them. Empty: no landing zone.
	Regions []string
	// RoleName is the configuration role present in every account,
	// management included; DefaultRoleName when empty.
	RoleName string
	// MissingRole is how many members (the last ones) lack the role.
	MissingRole int
	// Suspended is how many members (the first ones) are SUSPENDED.
	Suspended int
}

// GenerateOrg builds a deterministic organization: management account
// 100000000000, members 100000000001 upwards, OUs ou-gen0-0000000N.
func GenerateOrg(o GenerateOptions) *Org {
	role := o.RoleName
	if role == "" {
		role = DefaultRoleName
	}
	org := &Org{
		ID:                "o-gen0000000",
		ManagementAccount: "100000000000",
		HomeRegion:        "us-east-1",
		Root:              Root{ID: "r-gen0"},
	}
	var optedIn []string
	if len(o.Regions) > 0 {
		org.HomeRegion = o.Regions[0]
		org.LandingZone = &LandingZone{Version: "3.3", GovernedRegions: slices.Clone(o.Regions)}
		for _, r := range o.Regions {
			if _, optIn := regionKind(r); optIn {
				optedIn = append(optedIn, r)
			}
		}
	}
	for i := range o.OUs {
		org.Root.OUs = append(org.Root.OUs, OU{ID: fmt.Sprintf("ou-gen0-%08d", i+1), Name: fmt.Sprintf("ou-%d", i+1)})
	}
	org.Accounts = append(org.Accounts, Account{
		ID: org.ManagementAccount, Name: "management", Email: "management@example.com",
		Status: StatusActive, Roles: []Role{{Name: role}}, OptedInRegions: optedIn,
	})
	for i := range o.Accounts {
		a := Account{
			ID:             fmt.Sprintf("%012d", 100000000001+i),
			Name:           fmt.Sprintf("member-%d", i+1),
			Email:          fmt.Sprintf("member-%d@example.com", i+1),
			Status:         StatusActive,
			OptedInRegions: optedIn,
		}
		if o.OUs > 0 {
			a.Parent = org.Root.OUs[i%o.OUs].ID
		}
		if i < o.Suspended {
			a.Status = StatusSuspended
		}
		if i < o.Accounts-o.MissingRole {
			a.Roles = []Role{{Name: role}}
		}
		org.Accounts = append(org.Accounts, a)
	}
	return org
}
