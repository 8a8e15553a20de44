package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
)

// createdBackoff is how long apply waits before each retry of a write that
// found a window or target created moments before missing (SSM is
// eventually consistent); after the last, the error stands.
var createdBackoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// applier executes a plan's actions in order against one account x region.
type applier struct {
	clients Clients
	// in is what is reconciled, for what a kind's writes must hold
	// whatever the plan says (the windows' task role, CheckTask).
	in     Input
	writes int
	// ids holds the ids of resources this run created or kept, for the
	// writes that follow (a task names its window and target).
	ids map[idKey]string
}

// idKey names a resource for applier.ids: its Resource and a name the
// kind chooses (for windows, targets and tasks: the window's name).
type idKey struct {
	resource Resource
	name     string
}

// apply executes actions in order through clients, stopping at the first
// failed write. The Result holds the actions done before the failure.
func apply(ctx context.Context, clients Clients, in Input, actions []Action) (Result, error) {
	a := &applier{clients: clients, in: in, ids: map[idKey]string{}}
	var res Result
	for _, act := range actions {
		if err := ctx.Err(); err != nil {
			res.Writes = a.writes
			return res, fmt.Errorf("%s %s %s: %w", act.Op, act.Resource, act.Name, context.Cause(ctx))
		}
		if err := a.do(ctx, act); err != nil {
			res.Writes = a.writes
			return res, err
		}
		res.Actions = append(res.Actions, act)
	}
	res.Writes = a.writes
	return res, nil
}

// do hands act to its kind. Unchanged actions go too, without a write,
// so a kind can note the ids its later writes need.
func (a *applier) do(ctx context.Context, act Action) error {
	k, ok := kindOf(act.Resource)
	if !ok {
		return errNoSuchAction(act)
	}
	return k.apply(ctx, a, act)
}

func errNoSuchAction(act Action) error {
	return fmt.Errorf("%s %s %s: no such action", act.Op, act.Resource, act.Name)
}

// errCannotSend is the error of an update whose plan changed a field its
// write cannot send: a kind that plans a Field must also apply it.
func errCannotSend(act Action, c Change) error {
	return fmt.Errorf("%s %s %s: the plan changes %s, which this write cannot send", act.Op, act.Resource, act.Name, c.Field)
}

// write makes one write call, counting it. When the call names a window or
// target that this run has just created and SSM answers DoesNotExist (its
// eventual consistency), the call is retried after a short wait.
func (a *applier) write(ctx context.Context, justCreated bool, call func() error) error {
	for attempt := 0; ; attempt++ {
		a.writes++
		err := call()
		if err == nil || !justCreated || !isNotFound(err) || attempt >= len(createdBackoff) {
			return err
		}
		t := time.NewTimer(createdBackoff[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// send makes the write call op(ctx, in), of any service's client, through
// a.write and returns its answer.
func send[In, Out, Opt any](ctx context.Context, a *applier, justCreated bool, op func(context.Context, In, ...Opt) (Out, error), in In) (Out, error) {
	var out Out
	err := a.write(ctx, justCreated, func() (err error) {
		out, err = op(ctx, in)
		return err
	})
	return out, err
}

// optional is nil for "", so unset fields stay unset on the wire.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// isNotFound reports whether err says the resource does not exist.
func isNotFound(err error) bool { return hasCode(err, "DoesNotExistException") }

// hasCode reports whether err is an API error with the given code.
func hasCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
