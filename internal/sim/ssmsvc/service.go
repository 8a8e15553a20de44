package ssmsvc

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// Context is who calls and where: the simulator's core resolves it from the
// request's credentials and SigV4 scope before calling Handle.
type Context struct {
	Account   string
	Region    string
	Partition string // "aws" unless the region says otherwise
	Now       time.Time
	// Principal is the caller's ARN, reported as a service setting's
	// LastModifiedUser; the account root when empty.
	Principal string
}

func (c Context) now() time.Time {
	if c.Now.IsZero() {
		return time.Now().UTC()
	}
	return c.Now.UTC()
}

func (c Context) partition() string {
	if c.Partition == "" {
		return "aws"
	}
	return c.Partition
}

// Quotas are the Systems Manager service quotas the simulator enforces.
//
// The defaults are AWS's, from "AWS Systems Manager endpoints and quotas"
// (https://docs.aws.amazon.com/general/latest/gr/ssm.html), section
// Maintenance Windows: 50 maintenance windows per account per Region, 100
// targets per maintenance window, 20 tasks per maintenance window; section
// Parameter Store: 10,000 standard parameters per account per Region;
// section Patch Manager: 50 patch baselines per account per Region, 25 patch
// groups per patch baseline. Tags: 50 per resource ("Tagging Systems
// Manager resources").
type Quotas struct {
	WindowsPerRegion       int
	TargetsPerWindow       int
	TasksPerWindow         int
	Parameters             int
	TagsPerResource        int
	BaselinesPerRegion     int
	PatchGroupsPerBaseline int
}

// DefaultQuotas are AWS's default quotas.
var DefaultQuotas = Quotas{WindowsPerRegion: 50, TargetsPerWindow: 100, TasksPerWindow: 20, Parameters: 10000, TagsPerResource: 50,
	BaselinesPerRegion: 50, PatchGroupsPerBaseline: 25}

// Option configures a Service.
type Option func(*Service)

// WithQuotas replaces the default quotas (e.g. a low window quota to test
// ResourceLimitExceededException without creating 50 windows).
func WithQuotas(q Quotas) Option { return func(s *Service) { s.quotas = q } }

// Service is the simulated Systems Manager of every account and region.
// It is safe for concurrent use: each account x region has its own lock, so
// calls for different targets do not wait for each other.
type Service struct {
	quotas Quotas
	seq    atomic.Uint64 // id generator

	inventory *nodes.Store   // machines (package nodes); nil: none anywhere
	catalog   *nodes.Catalog // released patches; nil: none

	failSeed uint64 // injected install failures (WithInstallFailures)
	failRate func(account, region, nodeID string) float64

	mu     sync.RWMutex
	states map[stateKey]*state

	docMu sync.RWMutex
	docs  map[string]*document
}

type stateKey struct{ account, region string }

// New returns a Service with no windows, parameters or customized settings
// anywhere, and the AWS-owned documents at their first version.
func New(opts ...Option) *Service {
	s := &Service{quotas: DefaultQuotas, states: map[stateKey]*state{}, docs: awsDocuments()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// state is one account x region.
type state struct {
	mu       sync.Mutex
	windows  map[string]*Window
	tokens   map[string]idempotent // operation/ClientToken -> first call
	params   map[string]*parameter
	settings map[string]*setting
	// The account's patch baselines by id, the default baseline registered
	// per operating system (absent: AWS's predefined default), and the
	// patch group registrations.
	baselines map[string]*Baseline
	defaults  map[string]string
	groups    map[groupKey]string
	// What the windows ran, in order (runs.go).
	executions []*WindowExecution
	commands   []*Command
}

type idempotent struct {
	fingerprint string // the request as first sent
	id          string
}

func (s *Service) state(account, region string) *state {
	k := stateKey{account, region}
	s.mu.RLock()
	st := s.states[k]
	s.mu.RUnlock()
	if st != nil {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st = s.states[k]; st == nil {
		st = &state{windows: map[string]*Window{}, tokens: map[string]idempotent{},
			params: map[string]*parameter{}, settings: map[string]*setting{},
			baselines: map[string]*Baseline{}, defaults: map[string]string{}, groups: map[groupKey]string{}}
		s.states[k] = st
	}
	return st
}

// existing returns the state of account x region, nil when nothing was ever
// done there (the snapshot methods do not create states).
func (s *Service) existing(account, region string) *state {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.states[stateKey{account, region}]
}

type handler func(s *Service, ctx Context, body json.RawMessage) (any, error)

// op adapts a typed operation to a handler: the body is decoded into Req.
func op[Req any](f func(*Service, Context, *Req) (any, error)) handler {
	return func(s *Service, ctx Context, body json.RawMessage) (any, error) {
		req := new(Req)
		if len(body) > 0 {
			if err := json.Unmarshal(body, req); err != nil {
				return nil, apierr.BadRequest("SerializationException", "cannot decode request: %v", err)
			}
		}
		return f(s, ctx, req)
	}
}

var handlers = map[string]handler{
	"CreateMaintenanceWindow":               op((*Service).createWindow),
	"GetMaintenanceWindow":                  op((*Service).getWindow),
	"UpdateMaintenanceWindow":               op((*Service).updateWindow),
	"DeleteMaintenanceWindow":               op((*Service).deleteWindow),
	"DescribeMaintenanceWindows":            op((*Service).describeWindows),
	"RegisterTargetWithMaintenanceWindow":   op((*Service).registerTarget),
	"UpdateMaintenanceWindowTarget":         op((*Service).updateTarget),
	"DeregisterTargetFromMaintenanceWindow": op((*Service).deregisterTarget),
	"DescribeMaintenanceWindowTargets":      op((*Service).describeTargets),
	"RegisterTaskWithMaintenanceWindow":     op((*Service).registerTask),
	"UpdateMaintenanceWindowTask":           op((*Service).updateTask),
	"DeregisterTaskFromMaintenanceWindow":   op((*Service).deregisterTask),
	"GetMaintenanceWindowTask":              op((*Service).getTask),
	"DescribeMaintenanceWindowTasks":        op((*Service).describeTasks),
	"AddTagsToResource":                     op((*Service).addTags),
	"RemoveTagsFromResource":                op((*Service).removeTags),
	"ListTagsForResource":                   op((*Service).listTags),
	"DescribeDocument":                      op((*Service).describeDocument),
	"GetServiceSetting":                     op((*Service).getServiceSetting),
	"UpdateServiceSetting":                  op((*Service).updateServiceSetting),
	"ResetServiceSetting":                   op((*Service).resetServiceSetting),
	"GetParameter":                          op((*Service).getParameter),
	"PutParameter":                          op((*Service).putParameter),
	"DeleteParameter":                       op((*Service).deleteParameter),
	"CreatePatchBaseline":                   op((*Service).createBaseline),
	"GetPatchBaseline":                      op((*Service).getBaseline),
	"UpdatePatchBaseline":                   op((*Service).updateBaseline),
	"DeletePatchBaseline":                   op((*Service).deleteBaseline),
	"DescribePatchBaselines":                op((*Service).describeBaselines),
	"RegisterDefaultPatchBaseline":          op((*Service).registerDefaultBaseline),
	"GetDefaultPatchBaseline":               op((*Service).getDefaultBaseline),
	"RegisterPatchBaselineForPatchGroup":    op((*Service).registerPatchGroup),
	"DeregisterPatchBaselineForPatchGroup":  op((*Service).deregisterPatchGroup),
	"GetPatchBaselineForPatchGroup":         op((*Service).getPatchGroupBaseline),
	"DescribePatchGroups":                   op((*Service).describePatchGroups),
}

// Handle runs one JSON 1.1 operation (the part of X-Amz-Target after the
// dot) on the request body. The result is marshalled as the response body;
// an error is an *apierr.Error (anything else is answered as
// InternalServerError by the core).
//
// The body is checked against the SSM model first: a value of the wrong
// JSON type is a SerializationException, any other broken constraint a
// ValidationException listing every violation as AWS words it.
func (s *Service) Handle(ctx Context, operation string, body json.RawMessage) (any, error) {
	h, ok := handlers[operation]
	if !ok {
		return nil, apierr.BadRequest("UnknownOperationException", "operation %s is not supported", operation)
	}
	if vs := smodel.Validate("ssm", operation, body); len(vs) > 0 {
		for _, v := range vs {
			if v.Constraint == smodel.Type {
				return nil, apierr.BadRequest("SerializationException", "%s", v.Message)
			}
		}
		return nil, validation("%s", smodel.Message(vs))
	}
	return h(s, ctx, body)
}

// IsWrite reports whether operation changes state; the core counts writes
// for its fail-after-N-writes fault and the call log.
func IsWrite(operation string) bool {
	for _, p := range []string{"Create", "Update", "Delete", "Register", "Deregister", "Add", "Remove", "Reset", "Put"} {
		if strings.HasPrefix(operation, p) {
			return true
		}
	}
	return false
}

func validation(format string, args ...any) error {
	return apierr.BadRequest("ValidationException", format, args...)
}

func windowNotFound(id string) error {
	return apierr.BadRequest("DoesNotExistException", "Maintenance window %s does not exist", id)
}

// next returns a new number for an id; ids are unique per Service and
// deterministic for a given order of calls.
func (s *Service) next() uint64 { return s.seq.Add(1) }

// mix is splitmix64's finalizer: a bijection, so distinct inputs give
// distinct ids that do not look sequential.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newWindowID returns "mw-" and 17 lower-case hex digits.
func (s *Service) newWindowID() string {
	n := s.next()
	return fmt.Sprintf("mw-%x%016x", n&0xf, mix(n))
}

// newUUID returns a version-4 shaped UUID.
func (s *Service) newUUID() string {
	n := s.next()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], mix(n))
	binary.BigEndian.PutUint64(b[8:], mix(^n))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// epoch is a timestamp as JSON 1.1 sends it: seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(fmt.Sprintf("%d.%03d", t.Unix(), t.Nanosecond()/1e6)), nil
}

func stamp(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// checkToken implements ClientToken idempotency: the first call with a token
// records the request and the id it created; a repeat with the same request
// returns that id (ok true), with a different one IdempotentParameterMismatch.
func (st *state) checkToken(scope, token string, req any) (id string, ok bool, fingerprint string, err error) {
	if token == "" {
		return "", false, "", nil
	}
	b, err := json.Marshal(req)
	if err != nil {
		return "", false, "", fmt.Errorf("fingerprint request: %w", err)
	}
	fingerprint = string(b)
	prev, seen := st.tokens[scope+"/"+token]
	if !seen {
		return "", false, fingerprint, nil
	}
	if prev.fingerprint != fingerprint {
		return "", false, "", apierr.BadRequest("IdempotentParameterMismatch",
			"Request with client token %s was already made with different parameters", token)
	}
	return prev.id, true, "", nil
}

func (st *state) rememberToken(scope, token, fingerprint, id string) {
	if token != "" {
		st.tokens[scope+"/"+token] = idempotent{fingerprint: fingerprint, id: id}
	}
}

// register runs a Register*WithMaintenanceWindow call under the lock of
// ctx's account x region: a repeat of an earlier call with the same
// ClientToken answers that call's id; otherwise add adds to the window
// windowID (DoesNotExistException when there is none) and returns the new
// id, which the token then remembers.
func (s *Service) register(ctx Context, operation, token string, req any, windowID string, add func(w *Window) (string, error)) (string, error) {
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	id, done, fp, err := st.checkToken(operation, token, req)
	if err != nil || done {
		return id, err
	}
	w, ok := st.windows[windowID]
	if !ok {
		return "", windowNotFound(windowID)
	}
	if id, err = add(w); err != nil {
		return "", err
	}
	st.rememberToken(operation, token, fp, id)
	return id, nil
}
