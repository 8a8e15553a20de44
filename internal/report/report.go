package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Status is what happened to one account x region.
type Status string

const (
	// Converged: the target now matches the desired state and at least one
	// write was made (or, in a dry run, would be made).
	Converged Status = "converged"
	// Unchanged: the target already matched; no write was made.
	Unchanged Status = "unchanged"
	// Failed: the target could not be converged; Error says where.
	Failed Status = "failed"
	// Skipped: the target is deliberately left alone (region not opted in,
	// account not ACTIVE, account excluded). Not an error.
	Skipped Status = "skipped"
	// Pending: the target cannot be worked on yet but will be (a new
	// account whose configuration role is still being deployed). Not an error.
	Pending Status = "pending"
	// NotStarted: the run stopped before reaching the target (its deadline
	// was near). The next run picks it up.
	NotStarted Status = "not-started"
	// WillChange (dry run): the plan makes at least one change to the target.
	WillChange Status = "will-change"
	// NoChange (dry run): the target already matches; the plan changes nothing.
	NoChange Status = "no-change"
)

// Statuses lists every status in the order reports show them.
var Statuses = []Status{WillChange, NoChange, Converged, Unchanged, Failed, Skipped, Pending, NotStarted}

// Label is the status as tables and summaries print it.
func (s Status) Label() string {
	switch s {
	case WillChange:
		return "will change"
	case NoChange:
		return "no change"
	}
	return string(s)
}

// Action is one change applied (or planned, in a dry run) to a target.
type Action struct {
	Kind     string `json:"kind"`     // create | update | delete | unchanged | reset | kept
	Resource string `json:"resource"` // window | target | task | dhmc
	Name     string `json:"name"`
	Detail   string `json:"detail,omitempty"`
}

// Line is the action as reports and logs print it: "create window
// orgpatch-linux: what it sets" (the detail on one line).
func (a Action) Line() string {
	line := a.Kind + " " + a.Resource + " " + a.Name
	if a.Detail != "" {
		line += ": " + oneLine(a.Detail)
	}
	return line
}

// Error locates a failure: the AWS operation and error code when the failure
// came from AWS, AWS's own message, what to check for known causes, and the
// whole error chain.
type Error struct {
	Service   string `json:"service,omitempty"`   // e.g. "SSM", "STS"
	Operation string `json:"operation,omitempty"` // e.g. "RegisterTaskWithMaintenanceWindow"
	Code      string `json:"code,omitempty"`      // e.g. "ThrottlingException"
	// Message is AWS's own message (smithy.APIError.ErrorMessage), without
	// the SDK's wrapping; the error's text when AWS sent none.
	Message string `json:"message"`
	// Advice says what to check, for a known cause.
	Advice string `json:"advice,omitempty"`
	// Scope is ScopeAccount when the failure is the whole account's (its
	// role could not be assumed, its regions not read): it covers every
	// region of the account the run meant to work on.
	Scope string `json:"scope,omitempty"`
	// Chain is the whole error, as wrapped on its way up (operation,
	// resource, request id).
	Chain string `json:"chain"`
}

// ScopeAccount is Error.Scope for a failure of the whole account.
const ScopeAccount = "account"

// ErrorOf extracts the operation, error code and AWS's message from err
// (through smithy.OperationError and smithy.APIError), with advice for
// known causes; nil for a nil err.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Message: err.Error(), Chain: err.Error()}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		e.Service, e.Operation = op.Service(), op.Operation()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
		if m := api.ErrorMessage(); m != "" {
			e.Message = m
		}
	}
	e.Advice = advice(e, err)
	return e
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// advice says what to check for the known causes of a failure; "" for
// any other.
func advice(e *Error, err error) string {
	switch {
	case e.Operation == "AssumeRole" && (e.Code == "AccessDenied" || e.Code == "AccessDeniedException"):
		return "check the member-roles StackSet instance in this account: the configuration role is missing or does not trust the orgpatch Lambda's role"
	case e.Code == "UnrecognizedClientException" || e.Code == "InvalidClientTokenId" || e.Code == "OptInRequired":
		// What AWS answers credentials used in a region the account has
		// not enabled (the simulator does the same).
		return "check that the region is enabled for this account, or leave it out of the regions"
	case throttles.IsErrorThrottle(err).Bool():
		return "AWS still throttled after the SDK's retries: lower the concurrency, or run again (only what is left is done)"
	}
	return ""
}

// Line is the failure on one line: "STS AssumeRole AccessDenied: AWS's
// message; advice".
func (e Error) Line() string {
	where := strings.TrimSpace(e.Service + " " + e.Operation + " " + e.Code)
	line := oneLine(e.Message)
	if where != "" {
		line = where + ": " + line
	}
	if e.Advice != "" {
		line += "; " + e.Advice
	}
	return line
}

// Target is the outcome for one account x region. Region is empty when the
// outcome covers the whole account (an excluded or suspended account).
type Target struct {
	Account string `json:"account"`
	Region  string `json:"region,omitempty"`
	Mode    string `json:"mode,omitempty"`
	Ring    string `json:"ring,omitempty"` // the account's ring, "" for none
	// RingWhy says what selected Ring: "account id", "OU ou-...", "tag
	// KEY=VALUE"; empty where not known.
	RingWhy  string        `json:"ringWhy,omitempty"`
	Status   Status        `json:"status"`
	Reason   string        `json:"reason,omitempty"` // why skipped, pending or not started
	Writes   int           `json:"writes"`
	Actions  []Action      `json:"actions,omitempty"`
	Error    *Error        `json:"error,omitempty"`
	Duration time.Duration `json:"durationNanos,omitempty"`

	// Err is the failure itself, with its chain intact for errors.As.
	Err error `json:"-"`
}

// Fail marks t failed with err.
func (t *Target) Fail(err error) {
	t.Status, t.Err, t.Error = Failed, err, ErrorOf(err)
}

// FailAccount marks t failed with err, a failure of its whole account.
func (t *Target) FailAccount(err error) {
	t.Fail(err)
	t.Error.Scope = ScopeAccount
}

// Changes counts the target's actions that change something (applied, or
// in a dry run, planned).
func (t Target) Changes() int {
	n := 0
	for _, a := range t.Actions {
		if a.Changes() {
			n++
		}
	}
	return n
}

// Name is "account/region", or the account alone for an account-wide outcome.
func (t Target) Name() string {
	if t.Region == "" {
		return t.Account
	}
	return t.Account + "/" + t.Region
}

// Counts are how many targets ended in each status, the changes by kind
// of resource, and the writes made.
type Counts struct {
	Targets    int `json:"targets"`
	WillChange int `json:"willChange,omitempty"` // dry run
	NoChange   int `json:"noChange,omitempty"`   // dry run
	Converged  int `json:"converged"`
	Unchanged  int `json:"unchanged"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	Pending    int `json:"pending"`
	NotStarted int `json:"notStarted"`
	// Changes are the actions applied (in a dry run: planned), by resource
	// ("window", "target", "task", "dhmc") in the order they first appear.
	Changes []ResourceChanges `json:"changes,omitempty"`
	// Writes are the write calls made (retries included): 0 in a dry run.
	Writes int `json:"writes"`
}

// ResourceChanges counts the actions on one kind of resource.
type ResourceChanges struct {
	Resource string `json:"resource"`
	Create   int    `json:"create"`
	Update   int    `json:"update"`
	Delete   int    `json:"delete"`
	Reset    int    `json:"reset"`
}

// Total is every change of r.
func (r ResourceChanges) Total() int { return r.Create + r.Update + r.Delete + r.Reset }

// Action kinds, as reconcile names them.
const (
	KindCreate    = "create"
	KindUpdate    = "update"
	KindDelete    = "delete"
	KindReset     = "reset"
	KindUnchanged = "unchanged"
	// KindKept is a resource left as it was because it is not orgpatch's
	// to change (its Detail says why): shown, never counted as a change.
	KindKept = "kept"
)

// Changes says whether the action changes something (not unchanged, not kept).
func (a Action) Changes() bool { return a.Kind != KindUnchanged && a.Kind != KindKept }

// add counts one action.
func (c *Counts) add(a Action) {
	if !a.Changes() {
		return
	}
	i := slices.IndexFunc(c.Changes, func(r ResourceChanges) bool { return r.Resource == a.Resource })
	if i < 0 {
		c.Changes = append(c.Changes, ResourceChanges{Resource: a.Resource})
		i = len(c.Changes) - 1
	}
	r := &c.Changes[i]
	switch a.Kind {
	case KindCreate:
		r.Create++
	case KindUpdate:
		r.Update++
	case KindDelete:
		r.Delete++
	case KindReset:
		r.Reset++
	}
}

// Of returns the count for s.
func (c Counts) Of(s Status) int {
	switch s {
	case WillChange:
		return c.WillChange
	case NoChange:
		return c.NoChange
	case Converged:
		return c.Converged
	case Unchanged:
		return c.Unchanged
	case Failed:
		return c.Failed
	case Skipped:
		return c.Skipped
	case Pending:
		return c.Pending
	case NotStarted:
		return c.NotStarted
	}
	return 0
}

// Report is the record of one run.
type Report struct {
	Mode    string   `json:"mode"`
	DryRun  bool     `json:"dryRun"`
	Regions []string `json:"regions"`
	// RegionSource says where Regions came from (explicit, Control Tower, ...).
	RegionSource string        `json:"regionSource,omitempty"`
	Started      time.Time     `json:"started"`
	Duration     time.Duration `json:"durationNanos"`
	Counts       Counts        `json:"counts"`
	Targets      []Target      `json:"targets"`
	// Warnings are what the run noticed but did not stop for: a ring that
	// selects nothing.
	Warnings []string `json:"warnings,omitempty"`

	// Error is a failure of the run as a whole (the organization or the
	// regions could not be read), before any target was worked on.
	Error *Error `json:"error,omitempty"`
	err   error
}

// Fail records a failure of the run as a whole.
func (r *Report) Fail(err error) {
	r.err, r.Error = err, ErrorOf(err)
}

// Tally recomputes Counts from Targets.
func (r *Report) Tally() {
	c := Counts{Targets: len(r.Targets)}
	for _, t := range r.Targets {
		c.Writes += t.Writes
		for _, a := range t.Actions {
			c.add(a)
		}
		switch t.Status {
		case WillChange:
			c.WillChange++
		case NoChange:
			c.NoChange++
		case Converged:
			c.Converged++
		case Unchanged:
			c.Unchanged++
		case Failed:
			c.Failed++
		case Skipped:
			c.Skipped++
		case Pending:
			c.Pending++
		case NotStarted:
			c.NotStarted++
		}
	}
	r.Counts = c
}

// Err joins the run's own failure and the errors of the failed targets,
// each prefixed with its account and region; nil when nothing failed. Skipped, pending and
// not-started targets are not errors.
func (r Report) Err() error {
	var errs []error
	switch {
	case r.err != nil:
		errs = append(errs, r.err)
	case r.Error != nil:
		errs = append(errs, errors.New(r.Error.Message))
	}
	for _, t := range r.Targets {
		if t.Status != Failed {
			continue
		}
		switch {
		case t.Err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", t.Name(), t.Err))
		case t.Error != nil:
			errs = append(errs, fmt.Errorf("%s: %s", t.Name(), t.Error.Message))
		default:
			errs = append(errs, fmt.Errorf("%s: failed", t.Name()))
		}
	}
	return errors.Join(errs...)
}

// Failed returns the failed targets, in report order.
func (r Report) Failed() []Target {
	var out []Target
	for _, t := range r.Targets {
		if t.Status == Failed {
			out = append(out, t)
		}
	}
	return out
}
