package report

import (
	"errors"
	"fmt"
	"time"

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
)

// Statuses lists every status in the order reports show them.
var Statuses = []Status{Converged, Unchanged, Failed, Skipped, Pending, NotStarted}

// Action is one change applied (or planned, in a dry run) to a target.
type Action struct {
	Kind     string `json:"kind"`     // create | update | delete | unchanged | reset
	Resource string `json:"resource"` // window | target | task | dhmc
	Name     string `json:"name"`
	Detail   string `json:"detail,omitempty"`
}

// Error locates a failure: the AWS operation and error code when the failure
// came from AWS, and the whole message.
type Error struct {
	Service   string `json:"service,omitempty"`   // e.g. "SSM", "STS"
	Operation string `json:"operation,omitempty"` // e.g. "RegisterTaskWithMaintenanceWindow"
	Code      string `json:"code,omitempty"`      // e.g. "ThrottlingException"
	Message   string `json:"message"`
}

// ErrorOf extracts the operation and error code from err (through
// smithy.OperationError and smithy.APIError); nil for a nil err.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Message: err.Error()}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		e.Service, e.Operation = op.Service(), op.Operation()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
	}
	return e
}

// Target is the outcome for one account x region. Region is empty when the
// outcome covers the whole account (an excluded or suspended account).
type Target struct {
	Account  string        `json:"account"`
	Region   string        `json:"region,omitempty"`
	Mode     string        `json:"mode,omitempty"`
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

// Name is "account/region", or the account alone for an account-wide outcome.
func (t Target) Name() string {
	if t.Region == "" {
		return t.Account
	}
	return t.Account + "/" + t.Region
}

// Counts are how many targets ended in each status, and the writes made.
type Counts struct {
	Targets    int `json:"targets"`
	Converged  int `json:"converged"`
	Unchanged  int `json:"unchanged"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	Pending    int `json:"pending"`
	NotStarted int `json:"notStarted"`
	Writes     int `json:"writes"`
}

// Of returns the count for s.
func (c Counts) Of(s Status) int {
	switch s {
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
		switch t.Status {
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
