package sim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// orgState is the live organization; Server.mu guards it (mgmt, id and
// rootID never change).
type orgState struct {
	id, mgmt, rootID, home string
	accounts               map[string]*accountState
	order                  []string // account ids, listing order
	ous                    map[string]*ouState
	ouOrder                []string
	tags                   map[string]map[string]string // resource id -> tags
	created                map[string]*createStatus
	pending                map[string]*pendingRole // account -> role still to arrive
	attempts               map[string]int          // "account/role" -> failed AssumeRole attempts
	lz                     *LandingZone
	nextID                 int
}

type accountState struct {
	id, name, email, status, parent string
	joinedMethod                    string
	joined                          time.Time
	roles                           map[string]Role
	optedIn                         map[string]bool
}

type ouState struct {
	id, name, parent string
}

type createStatus struct {
	id, name, account, state, reason string
	requested                        time.Time
}

type pendingRole struct {
	role      string
	remaining int
}

func newOrgState(o *Org, now time.Time) *orgState {
	st := &orgState{
		id: o.ID, mgmt: o.ManagementAccount, rootID: o.Root.ID, home: o.HomeRegion,
		accounts: map[string]*accountState{},
		ous:      map[string]*ouState{},
		tags:     map[string]map[string]string{},
		created:  map[string]*createStatus{},
		pending:  map[string]*pendingRole{},
		attempts: map[string]int{},
	}
	if st.home == "" {
		st.home = "us-east-1"
	}
	if len(o.Root.Tags) > 0 {
		st.tags[o.Root.ID] = maps.Clone(o.Root.Tags)
	}
	var walk func(parent string, ous []OU)
	walk = func(parent string, ous []OU) {
		for _, ou := range ous {
			st.ous[ou.ID] = &ouState{id: ou.ID, name: ou.Name, parent: parent}
			st.ouOrder = append(st.ouOrder, ou.ID)
			if len(ou.Tags) > 0 {
				st.tags[ou.ID] = maps.Clone(ou.Tags)
			}
			walk(ou.ID, ou.OUs)
		}
	}
	walk(o.Root.ID, o.Root.OUs)
	for _, a := range o.Accounts {
		as := &accountState{
			id: a.ID, name: a.Name, email: a.Email, status: a.Status, parent: a.Parent,
			joinedMethod: "CREATED", joined: now.Add(-365 * 24 * time.Hour),
			roles: map[string]Role{}, optedIn: map[string]bool{},
		}
		if as.status == "" {
			as.status = StatusActive
		}
		if as.parent == "" {
			as.parent = o.Root.ID
		}
		for _, r := range a.Roles {
			as.roles[r.Name] = r
		}
		for _, r := range a.OptedInRegions {
			as.optedIn[r] = true
		}
		if len(a.Tags) > 0 {
			st.tags[a.ID] = maps.Clone(a.Tags)
		}
		st.accounts[a.ID] = as
		st.order = append(st.order, a.ID)
	}
	if o.LandingZone != nil {
		lz := *o.LandingZone
		lz.GovernedRegions = slices.Clone(lz.GovernedRegions)
		if lz.ARN == "" {
			lz.ARN = fmt.Sprintf("arn:aws:controltower:%s:%s:landingzone/%s", st.home, st.mgmt, landingZoneID(o.ID))
		}
		st.lz = &lz
	}
	return st
}

// landingZoneID derives a stable 16-character landing zone id from the org.
func landingZoneID(orgID string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var h uint64 = 14695981039346656037
	for i := 0; i < len(orgID); i++ {
		h = (h ^ uint64(orgID[i])) * 1099511628211
	}
	b := make([]byte, 16)
	for i := range b {
		b[i] = alphabet[h%36]
		h = h/36 + uint64(i)*7919
	}
	return string(b)
}

// newAccountID returns an id no account has.
func (st *orgState) newAccountID() string {
	for {
		st.nextID++
		id := fmt.Sprintf("9%011d", st.nextID)
		if st.accounts[id] == nil {
			return id
		}
	}
}

// isParent reports whether id is the root or an OU.
func (st *orgState) isParent(id string) bool {
	return id == st.rootID || st.ous[id] != nil
}

// snapshot returns the organization as it is now, in file form.
func (st *orgState) snapshot() *Org {
	o := &Org{ID: st.id, ManagementAccount: st.mgmt, HomeRegion: st.home, Root: Root{ID: st.rootID, Tags: maps.Clone(st.tags[st.rootID])}}
	var children func(parent string) []OU
	children = func(parent string) []OU {
		var out []OU
		for _, id := range st.ouOrder {
			ou := st.ous[id]
			if ou.parent == parent {
				out = append(out, OU{ID: ou.id, Name: ou.name, Tags: maps.Clone(st.tags[ou.id]), OUs: children(ou.id)})
			}
		}
		return out
	}
	o.Root.OUs = children(st.rootID)
	for _, id := range st.order {
		a := st.accounts[id]
		acc := Account{ID: a.id, Name: a.name, Email: a.email, Status: a.status, Parent: a.parent, Tags: maps.Clone(st.tags[a.id])}
		for _, name := range sortedKeys(a.roles) {
			r := a.roles[name]
			r.Trust = slices.Clone(r.Trust)
			acc.Roles = append(acc.Roles, r)
		}
		if len(a.optedIn) > 0 {
			acc.OptedInRegions = sortedKeys(a.optedIn)
		}
		o.Accounts = append(o.Accounts, acc)
	}
	if st.lz != nil {
		lz := *st.lz
		lz.GovernedRegions = slices.Clone(lz.GovernedRegions)
		o.LandingZone = &lz
	}
	return o
}

// Org returns the organization as it is now (accounts created, moved,
// closed; roles added), in the form of an organization file.
func (s *Server) Org() *Org {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.org.snapshot()
}

// AddRole creates (or replaces) role in account, trusted by the trust
// accounts (none: the management account): what a StackSet instance does.
func (s *Server) AddRole(account, role string, trust ...string) error {
	if !roleNameRe.MatchString(role) {
		return fmt.Errorf("add role %q: name must match [\\w+=,.@-]{1,64}", role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.org.accounts[account]
	if a == nil {
		return fmt.Errorf("add role %s: no account %s", role, account)
	}
	a.roles[role] = Role{Name: role, Trust: slices.Clone(trust)}
	if p := s.org.pending[account]; p != nil && p.role == role {
		delete(s.org.pending, account)
	}
	return nil
}

// RemoveRole deletes role from account.
func (s *Server) RemoveRole(account, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.org.accounts[account]
	if a == nil {
		return fmt.Errorf("remove role %s: no account %s", role, account)
	}
	if _, ok := a.roles[role]; !ok {
		return fmt.Errorf("remove role %s: account %s has no such role", role, account)
	}
	delete(a.roles, role)
	return nil
}

// OptIn enables an opt-in region for account.
func (s *Server) OptIn(account, region string) error {
	if known, optIn := regionKind(region); !known || !optIn {
		return fmt.Errorf("opt in %s: not an opt-in region", region)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.org.accounts[account]
	if a == nil {
		return fmt.Errorf("opt in %s: no account %s", region, account)
	}
	a.optedIn[region] = true
	return nil
}

// SetAccountStatus sets an account's status (ACTIVE, SUSPENDED or
// PENDING_CLOSURE), as AWS does when it suspends or closes one.
func (s *Server) SetAccountStatus(account, status string) error {
	switch status {
	case StatusActive, StatusSuspended, StatusPendingClosure:
	default:
		return fmt.Errorf("set account status %q: must be one of ACTIVE, SUSPENDED, PENDING_CLOSURE", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.org.accounts[account]
	if a == nil {
		return fmt.Errorf("set account status: no account %s", account)
	}
	if account == s.org.mgmt && status != StatusActive {
		return fmt.Errorf("set account status: the management account %s must stay ACTIVE", account)
	}
	a.status = status
	return nil
}

// CreateAccount adds an ACTIVE account under the root as Organizations'
// CreateAccount does (with its OrganizationAccountAccessRole and the
// WithRoleArrival role), and returns its id.
func (s *Server) CreateAccount(name, email string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.createAccount(name, email, "", nil)
	if st.state != "SUCCEEDED" {
		return "", fmt.Errorf("create account %s: %s", name, st.reason)
	}
	return st.account, nil
}

// createAccount runs CreateAccount; s.mu is held.
func (s *Server) createAccount(name, email, roleName string, tags map[string]string) *createStatus {
	st := s.org
	now := s.opts.clock()
	cs := &createStatus{id: "car-" + lowerRandom(12), name: name, requested: now}
	st.created[cs.id] = cs
	for _, a := range st.accounts {
		if a.email == email {
			cs.state, cs.reason = "FAILED", "EMAIL_ALREADY_EXISTS"
			return cs
		}
	}
	if roleName == "" {
		roleName = "OrganizationAccountAccessRole"
	}
	a := &accountState{
		id: st.newAccountID(), name: name, email: email, status: StatusActive, parent: st.rootID,
		joinedMethod: "CREATED", joined: now,
		roles:   map[string]Role{roleName: {Name: roleName}},
		optedIn: map[string]bool{},
	}
	st.accounts[a.id] = a
	st.order = append(st.order, a.id)
	if len(tags) > 0 {
		st.tags[a.id] = tags
	}
	if r := s.opts.arrivalRole; r != "" {
		if s.opts.arrivalAfter == 0 {
			a.roles[r] = Role{Name: r}
		} else {
			st.pending[a.id] = &pendingRole{role: r, remaining: s.opts.arrivalAfter}
		}
	}
	cs.state, cs.account = "SUCCEEDED", a.id
	return cs
}

func lowerRandom(n int) string { return randomString("abcdefghijklmnopqrstuvwxyz0123456789", n) }
