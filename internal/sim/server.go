package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

// Services the simulator answers, by their SigV4 signing names.
const (
	ServiceSSM           = "ssm"
	ServiceOrganizations = "organizations"
	ServiceSTS           = "sts"
	ServiceEC2           = "ec2"
	ServiceControlTower  = "controltower"
	ServiceTagging       = "tagging" // the Resource Groups Tagging API
)

// Management credentials for clients that need some: any access key the
// simulator did not issue acts as the management account's IAM user
// ManagementUserName, these included; RootAccessKeyID alone acts as the
// management account's root user (which AWS lets assume no role).
const (
	ManagementAccessKeyID     = "AKIASIMULATEDMGMT000"
	ManagementSecretAccessKey = "simulated-management-secret-key-0000000000"
	ManagementUserName        = "orgpatch-admin"
	RootAccessKeyID           = "AKIASIMULATEDROOT000"
)

// maxBody bounds a request body; AWS's own limits are far below it.
const maxBody = 8 << 20

// Option configures a Server.
type Option func(*options)

type options struct {
	latency      time.Duration
	quotas       map[string]Quota
	denied       map[string]bool
	errRate      float64
	errSeed      int64
	failAfter    int
	clock        func() time.Time
	noParams     bool
	arrivalRole  string
	arrivalAfter int
	nodesPerTgt  int
	stacks       []Stack
	// The patching simulation (clock.go).
	simClock *Clock
	catalog  *nodes.Catalog
	failSeed uint64
	failRate func(account, region, nodeID string) float64
}

// WithLatency delays every call by d before it is answered.
func WithLatency(d time.Duration) Option { return func(o *options) { o.latency = d } }

// WithThrottle limits every account x region x operation to ratePerSecond
// calls with bursts of burst (a token bucket, on the wall clock), whatever
// AWS's own quota; calls over the limit get the service's throttling error.
func WithThrottle(ratePerSecond float64, burst int) Option {
	return func(o *options) {
		q := Quota{Rate: ratePerSecond, Burst: burst, Source: "WithThrottle"}
		o.quotas = map[string]Quota{}
		for service := range serviceProtocols {
			o.quotas[service] = q
		}
	}
}

// WithQuotas throttles with quotas (DefaultQuotas, or a changed copy),
// keyed as DefaultQuotas is; an operation with no quota is not throttled.
func WithQuotas(quotas map[string]Quota) Option {
	return func(o *options) { o.quotas = maps.Clone(quotas) }
}

// WithAccessDenied makes AssumeRole into the accounts fail with AccessDenied,
// whatever their roles say.
func WithAccessDenied(accounts ...string) Option {
	return func(o *options) {
		for _, a := range accounts {
			o.denied[a] = true
		}
	}
}

// WithInternalErrorRate answers a fraction p of the calls with the service's
// internal error (HTTP 500), drawn from a generator seeded with seed.
func WithInternalErrorRate(p float64, seed int64) Option {
	return func(o *options) { o.errRate, o.errSeed = p, seed }
}

// WithFailAfterWrites fails every call once n writes (SSM writes and
// Organizations changes) have succeeded: the crash hook. See also
// (*Server).FailAfterWrites.
func WithFailAfterWrites(n int) Option { return func(o *options) { o.failAfter = n } }

// WithClock sets the clock that stamps answers (timestamps, credential
// expiry). Latency and throttling keep to the wall clock. SDK clients judge
// credential expiry by the wall clock: a clock far behind it makes them
// assume their role again before every call.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithoutCallParams keeps the call log but drops each call's parameters,
// for runs of hundreds of thousands of calls.
func WithoutCallParams() Option { return func(o *options) { o.noParams = true } }

// WithRoleArrival makes the role appear in accounts created through
// CreateAccount the way a StackSet delivers it: after the first afterAttempts
// AssumeRole attempts on it have failed (0: at creation). Without this
// option new accounts only get the role CreateAccount itself creates.
func WithRoleArrival(role string, afterAttempts int) Option {
	return func(o *options) { o.arrivalRole, o.arrivalAfter = role, afterAttempts }
}

// Server is the simulated AWS organization: one http.Handler for every
// service. It is safe for concurrent use.
type Server struct {
	opts options
	ssm  *ssmsvc.Service

	inventory *nodes.Store   // the machines EC2 and SSM describe
	catalog   *nodes.Catalog // the patches SSM patches them from
	s3state   s3Store
	shub      shubStore // Security Hub's findings
	events    eventStore
	snsState  snsStore
	alarms    alarmStore // CloudWatch's

	mu       sync.RWMutex // guards the organization and the sessions
	org      *orgState
	sessions map[string]*session // issued access key id -> session
	stacks   []Stack             // CloudFormation's, set by PutStack

	writes    atomic.Int64
	failAfter atomic.Int64 // < 0: never
	requests  atomic.Uint64

	inFlight, peakInFlight atomic.Int64 // requests being served; the most at once
	conns                  atomic.Int64 // connections accepted (through ConnState)

	rngMu sync.Mutex
	rng   *mathrand.Rand

	throttle *throttler
	log      callLog
}

// New returns a Server simulating org (copied; later changes do not reach
// the caller's value).
func New(org *Org, opts ...Option) (*Server, error) {
	if err := org.Validate(); err != nil {
		return nil, err
	}
	o := options{denied: map[string]bool{}, failAfter: -1, clock: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.errRate < 0 || o.errRate > 1 {
		return nil, fmt.Errorf("WithInternalErrorRate: p %v: must be within 0..1", o.errRate)
	}
	for _, key := range sortedKeys(o.quotas) {
		if q := o.quotas[key]; q.Rate <= 0 || q.Burst < 1 {
			return nil, fmt.Errorf("quota %s: rate %v burst %d: rate must be positive and burst at least 1", key, q.Rate, q.Burst)
		}
	}
	if o.arrivalRole != "" && (!roleNameRe.MatchString(o.arrivalRole) || o.arrivalAfter < 0) {
		return nil, fmt.Errorf("WithRoleArrival: role %q after %d: role must match [\\w+=,.@-]{1,64} and attempts be 0 or more", o.arrivalRole, o.arrivalAfter)
	}
	inv, err := newInventory(org, o)
	if err != nil {
		return nil, err
	}
	ssmOpts, err := o.ssmOptions(inv)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:      o,
		inventory: inv,
		ssm:       ssmsvc.New(ssmOpts...),
		org:       newOrgState(org.clone(), o.clock()),
		sessions:  map[string]*session{},
		rng:       mathrand.New(mathrand.NewPCG(uint64(o.errSeed), 0x5eed)),
	}
	for _, st := range o.stacks {
		s.PutStack(st)
	}
	s.catalog = s.ssm.Catalog()
	if o.simClock != nil {
		o.simClock.attach(s.ssm.Advance)
	}
	s.failAfter.Store(int64(o.failAfter))
	if len(o.quotas) > 0 {
		s.throttle = newThrottler(o.quotas)
	}
	return s, nil
}

// ManagementAccount is the id of the organization's management account: the
// account of every access key the simulator did not issue.
func (s *Server) ManagementAccount() string { return s.org.mgmt }

// Quota returns the quota that throttles service's operation (by signing
// name: "sts", "AssumeRole"); false when it is not throttled.
func (s *Server) Quota(service, operation string) (Quota, bool) {
	if s.throttle == nil {
		return Quota{}, false
	}
	return QuotaOf(s.throttle.quotas, service, operation)
}

// FailAfterWrites sets the crash hook at run time: every call fails once n
// writes have been counted since the server started; n < 0 turns it off.
func (s *Server) FailAfterWrites(n int) { s.failAfter.Store(int64(n)) }

// Writes is how many writes have succeeded since the server started.
func (s *Server) Writes() int { return int(s.writes.Load()) }

// PeakInFlight is the most requests the server was answering at once since
// it started or since the last ResetPeakInFlight.
func (s *Server) PeakInFlight() int { return int(s.peakInFlight.Load()) }

// ResetPeakInFlight starts a new measurement of PeakInFlight.
func (s *Server) ResetPeakInFlight() { s.peakInFlight.Store(s.inFlight.Load()) }

// ConnState counts the connections accepted: set it as the
// http.Server's ConnState hook (a Handler alone never sees connections).
func (s *Server) ConnState(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.conns.Add(1)
	}
}

// Connections is how many connections ConnState has seen accepted.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// protocol is a wire protocol of one service.
type protocol int

const (
	protoJSON    protocol = iota // JSON 1.1, X-Amz-Target
	protoQuery                   // AWS Query, XML answers
	protoEC2                     // EC2 Query
	protoREST                    // REST-JSON
	protoRESTXML                 // REST-XML (S3)
	protoCBOR                    // Smithy RPC v2 CBOR (CloudWatch; its JSON 1.0 is protoJSON)
)

var serviceProtocols = map[string]protocol{
	ServiceSSM:            protoJSON,
	ServiceOrganizations:  protoJSON,
	ServiceSTS:            protoQuery,
	ServiceCloudFormation: protoQuery,
	ServiceEC2:            protoEC2,
	ServiceControlTower:   protoREST,
	ServiceS3:             protoRESTXML,
	ServiceTagging:        protoJSON,
	ServiceSecurityHub:    protoREST,
	ServiceEvents:         protoJSON,
	ServiceSNS:            protoQuery,
	ServiceCloudWatch:     protoCBOR,
}

// request is one call being served.
type request struct {
	id       string
	service  string
	proto    protocol
	op       string
	region   string
	caller   identity
	now      time.Time
	body     []byte
	form     map[string]string // Query protocols: the form values but Action and Version
	accessID string
	http     *http.Request // REST-XML: method, path, query and headers
	// throttled: the call found its quota's bucket empty.
	throttled bool
}

// identity is who signs a request.
type identity struct {
	Account string
	ARN     string
	UserID  string
}

// session is what AssumeRole issued for an access key.
type session struct {
	identity
	token   string
	expires time.Time
}

// ServeHTTP answers one AWS API call in its service's wire protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		peak := s.peakInFlight.Load()
		if n <= peak || s.peakInFlight.CompareAndSwap(peak, n) {
			break
		}
	}
	// Every call takes the latency, refused ones too (a bound computed
	// from the calls relies on it).
	if d := s.opts.latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	req := &request{id: s.requestID(), now: s.opts.clock(), http: r}
	w.Header().Set("x-amzn-RequestId", req.id)
	limit := int64(maxBody)
	if strings.Contains(r.Header.Get("Authorization"), "/"+ServiceS3+"/aws4_request") {
		limit = s3MaxBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		s.writeError(w, req, apierr.BadRequest("SerializationException", "reading the request body: %v", err))
		return
	}
	if int64(len(body)) > limit {
		s.writeError(w, req, apierr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the request body exceeds %d bytes", limit))
		return
	}
	req.body = body
	scope, scopeErr := parseAuthorization(r.Header.Get("Authorization"))
	req.service, req.region, req.accessID = scope.service, scope.region, scope.accessKey
	proto, ok := serviceProtocols[req.service]
	if !ok {
		proto = guessProtocol(r, body)
	}
	req.proto = proto
	if err := s.parseOperation(r, req); err != nil {
		s.finish(w, req, nil, err)
		return
	}
	if scopeErr != nil {
		s.finish(w, req, nil, scopeErr)
		return
	}
	if !ok {
		s.finish(w, req, nil, apierr.BadRequest("UnknownServiceException", "the simulator does not serve service %q", req.service))
		return
	}
	result, err := s.serve(req, r.Header.Get("X-Amz-Security-Token"))
	s.finish(w, req, result, err)
}

// serve authenticates, applies the faults and dispatches.
func (s *Server) serve(req *request, token string) (any, error) {
	caller, err := s.authenticate(req, token)
	if err != nil {
		return nil, err
	}
	req.caller = caller
	if req.service != ServiceOrganizations {
		if !s.regionEnabled(caller.Account, req.region) {
			return nil, regionDisabled(req)
		}
	}
	if s.opts.errRate > 0 {
		s.rngMu.Lock()
		fail := s.rng.Float64() < s.opts.errRate
		s.rngMu.Unlock()
		if fail {
			return nil, internalError(req, "simulated internal error")
		}
	}
	if s.throttle != nil && !s.throttle.allow(caller.Account, req.region, req.service, req.op) {
		req.throttled = true
		return nil, throttled(req)
	}
	// The crash hook: a write takes its slot before it runs, so concurrent
	// writes never overshoot the Nth; the slot is given back if it fails.
	write := s.isWrite(req)
	reserved := false
	if n := s.failAfter.Load(); n >= 0 {
		if write {
			reserved = s.reserveWrite(n)
		}
		if !reserved && s.writes.Load() >= n {
			return nil, internalError(req, "simulated crash: %d writes done, every call fails now", n)
		}
	}
	var result any
	switch req.service {
	case ServiceSSM:
		result, err = s.ssm.Handle(ssmsvc.Context{Account: caller.Account, Region: req.region, Partition: "aws", Now: req.now, Principal: caller.ARN}, req.op, json.RawMessage(req.body))
	case ServiceOrganizations:
		result, err = s.organizations(req)
	case ServiceSTS:
		result, err = s.sts(req)
	case ServiceEC2:
		result, err = s.ec2(req)
	case ServiceControlTower:
		result, err = s.controlTower(req)
	case ServiceS3:
		result, err = s.s3(req)
	case ServiceTagging:
		result, err = s.tagging(req)
	case ServiceCloudFormation:
		result, err = s.cloudFormation(req)
	case ServiceSecurityHub:
		result, err = s.securityHub(req)
	case ServiceEvents:
		result, err = s.eventBridge(req)
	case ServiceSNS:
		result, err = s.sns(req)
	case ServiceCloudWatch:
		result, err = s.cloudWatch(req)
	}
	switch {
	case write && err == nil && !reserved:
		s.writes.Add(1)
	case reserved && err != nil:
		s.writes.Add(-1)
	}
	return result, err
}

// reserveWrite counts one more write if fewer than n were counted.
func (s *Server) reserveWrite(n int64) bool {
	for {
		w := s.writes.Load()
		if w >= n {
			return false
		}
		if s.writes.CompareAndSwap(w, w+1) {
			return true
		}
	}
}

// isWrite reports whether the call changes state.
func (s *Server) isWrite(req *request) bool {
	switch req.service {
	case ServiceSSM:
		return ssmsvc.IsWrite(req.op)
	case ServiceOrganizations:
		return orgWrites[req.op]
	case ServiceS3:
		return req.op != "GetObject" && req.op != "HeadObject" && req.op != "HeadBucket" && req.op != "ListObjectsV2"
	case ServiceSecurityHub:
		return req.op == "BatchImportFindings"
	case ServiceEvents:
		return req.op == "PutEvents"
	case ServiceSNS:
		return req.op == "CreateTopic" || req.op == "Publish"
	case ServiceCloudWatch:
		return req.op == "PutMetricAlarm" || req.op == "SetAlarmState"
	}
	return false
}

// authenticate resolves the caller: an issued key is its session (when its
// token matches and it has not expired); any other key is the management
// account.
func (s *Server) authenticate(req *request, token string) (identity, error) {
	s.mu.RLock()
	sess, issued := s.sessions[req.accessID]
	s.mu.RUnlock()
	if !issued {
		if strings.HasPrefix(req.accessID, "ASIA") && token != "" {
			// A session key the simulator never issued (another run's).
			return identity{}, invalidToken(req)
		}
		m := s.org.mgmt
		if req.accessID == RootAccessKeyID {
			return identity{Account: m, ARN: "arn:aws:iam::" + m + ":root", UserID: m}, nil
		}
		return identity{Account: m, ARN: "arn:aws:iam::" + m + ":user/" + ManagementUserName, UserID: "AIDASIMULATEDMGMTUSR"}, nil
	}
	if token != sess.token {
		return identity{}, invalidToken(req)
	}
	if !req.now.Before(sess.expires) {
		return identity{}, apierr.New(http.StatusBadRequest, "ExpiredTokenException", "The security token included in the request is expired")
	}
	return sess.identity, nil
}

// regionEnabled reports whether account may call services in region.
func (s *Server) regionEnabled(account, region string) bool {
	known, optIn := regionKind(region)
	if !known {
		return false
	}
	if !optIn {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.org.accounts[account]
	return a != nil && a.optedIn[region]
}

// issue creates the credentials of a new session and returns its access key.
func (s *Server) issue(id identity, d time.Duration, now time.Time) (string, *session) {
	sess := &session{identity: id, token: randomString(tokenAlphabet, 356), expires: now.Add(d)}
	key := "ASIA" + randomString(keyAlphabet, 16)
	s.mu.Lock()
	s.sessions[key] = sess
	s.mu.Unlock()
	return key, sess
}

const (
	keyAlphabet   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("sim: crypto/rand: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// requestID returns a fresh request id shaped like AWS's.
func (s *Server) requestID() string {
	n := s.requests.Add(1)
	return fmt.Sprintf("5e1a0000-0000-4000-8000-%012x", n)
}

// finish writes the answer and logs the call.
func (s *Server) finish(w http.ResponseWriter, req *request, result any, err error) {
	call := Call{
		Time:      req.now,
		Account:   req.caller.Account,
		Region:    req.region,
		Service:   req.service,
		Operation: req.op,
		Write:     s.isWrite(req),
		Throttled: req.throttled,
	}
	if !s.opts.noParams {
		call.Params = req.params()
	}
	if err != nil {
		e := apierr.As(err)
		call.ErrorCode = e.Code
		s.writeError(w, req, err)
	} else if werr := s.writeResult(w, req, result); werr != nil {
		call.ErrorCode = "InternalServerError"
	}
	s.log.add(call)
}

// params returns the call's parameters as JSON.
func (req *request) params() json.RawMessage {
	if req.form != nil {
		b, err := json.Marshal(req.form)
		if err != nil {
			return nil
		}
		return b
	}
	if len(bytes.TrimSpace(req.body)) == 0 {
		return nil
	}
	if req.proto == protoCBOR {
		return cborParams(req.body)
	}
	if !json.Valid(req.body) {
		return nil
	}
	return json.RawMessage(req.body)
}

// regionDisabled is how AWS refuses a call to a region the account has not
// enabled: the region does not know the caller's credentials.
func regionDisabled(req *request) error {
	switch req.proto {
	case protoQuery, protoCBOR:
		return apierr.New(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	case protoEC2:
		return apierr.New(http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials")
	case protoREST:
		return apierr.New(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
	case protoRESTXML:
		return apierr.New(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	return apierr.New(http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
}

// invalidToken refuses a session key the simulator does not know or whose
// session token does not match.
func invalidToken(req *request) error { return regionDisabled(req) }

// internalError is the service's own 500 answer.
func internalError(req *request, format string, args ...any) error {
	code := map[string]string{
		ServiceSSM:            "InternalServerError",
		ServiceOrganizations:  "ServiceException",
		ServiceSTS:            "InternalFailure",
		ServiceEC2:            "InternalError",
		ServiceControlTower:   "InternalServerException",
		ServiceS3:             "InternalError",
		ServiceTagging:        "InternalServiceException",
		ServiceCloudFormation: "InternalFailure",
		ServiceSecurityHub:    "InternalException",
		ServiceEvents:         "InternalException",
		ServiceSNS:            "InternalError",
		ServiceCloudWatch:     "InternalServiceError",
	}[req.service]
	return apierr.New(http.StatusInternalServerError, code, format, args...)
}

// throttled is the service's own throttling answer.
func throttled(req *request) error {
	switch req.service {
	case ServiceOrganizations:
		return apierr.New(http.StatusBadRequest, "TooManyRequestsException", "You have sent too many requests in too short a period of time. The quota helps protect against denial-of-service attacks. Try again later.")
	case ServiceSTS:
		return apierr.New(http.StatusBadRequest, "Throttling", "Rate exceeded")
	case ServiceEC2:
		return apierr.New(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
	case ServiceControlTower:
		return apierr.New(http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
	case ServiceS3:
		return apierr.New(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case ServiceTagging:
		return apierr.New(http.StatusBadRequest, "ThrottledException", "Rate exceeded")
	case ServiceCloudFormation:
		return apierr.New(http.StatusBadRequest, "Throttling", "Rate exceeded")
	case ServiceSecurityHub:
		return apierr.New(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
	case ServiceSNS:
		return apierr.New(http.StatusTooManyRequests, "Throttled", "Rate exceeded")
	case ServiceCloudWatch:
		return apierr.New(http.StatusBadRequest, "Throttling", "Rate exceeded")
	}
	return apierr.New(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
