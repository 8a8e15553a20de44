package reconcile

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"golang.org/x/sync/errgroup"
)

// resourceKind is one kind of resource reconcile keeps in an account x
// region (see doc.go). Each kind lives in its own file(s) with its own
// desired and observed types, its Fields, its action payloads and the
// narrow interface of the client it calls; Reconcile, plan and apply only
// iterate resourceKinds.
type resourceKind interface {
	// resources lists the Resource of every action the kind plans, so
	// apply can hand each action back to its kind.
	resources() []Resource
	// checkClients says, before any call, whether clients hold a client
	// the kind can call (clientOf).
	checkClients(clients Clients) error
	// observe reads what the kind holds in the account x region of in and
	// returns it with what in wants of the kind. It runs concurrently with
	// the other kinds' observe.
	observe(ctx context.Context, clients Clients, in Input) (kindState, error)
	// apply makes the one write of act, one of the kind's own actions
	// (unchanged actions come too, without a write, so a kind can note
	// ids its later writes need). Every write is idempotent: re-running
	// it, or the plan it came from, after any failure converges.
	apply(ctx context.Context, a *applier, act Action) error
}

// kindState is one kind's desired and observed state in one account x
// region.
type kindState interface {
	// plan is the pure plan, decided without any call: for Converge, the
	// writes that make observed hold desired; for the remove modes, those
	// that take the kind away (resetting its account-wide settings only
	// with RemoveAndReset).
	plan() []Action
}

// resourceKinds are the kinds in the order their actions are applied: the
// windows first, then the DHMC setting, the patch baselines last (a
// baseline name clash, which the baselines' apply reports as an error,
// then stops nothing else). A new kind is one more entry.
var resourceKinds = []resourceKind{windowKind{}, dhmcKind{}, baselineKind{}}

// kindOf is the kind whose actions act on r.
func kindOf(r Resource) (resourceKind, bool) {
	for _, k := range resourceKinds {
		for _, kr := range k.resources() {
			if kr == r {
				return k, true
			}
		}
	}
	return nil, false
}

// Clients are the service clients of one account x region, each bound to
// the account's credentials and the region. A kind takes the one it calls
// by the narrow interface it declares (clientOf), so a kind of another
// service needs only its client passed here.
type Clients []any

// clientOf is the first of clients that has every call of T.
func clientOf[T any](clients Clients) (T, error) {
	for _, c := range clients {
		if t, ok := c.(T); ok {
			return t, nil
		}
	}
	var zero T
	typ := reflect.TypeFor[T]()
	calls := make([]string, typ.NumMethod())
	for i := range calls {
		calls[i] = typ.Method(i).Name
	}
	got := make([]string, len(clients))
	for i, c := range clients {
		got[i] = fmt.Sprintf("%T", c)
	}
	return zero, fmt.Errorf("clients: none has every call of %s (%s); got [%s]", typ.Name(), strings.Join(calls, ", "), strings.Join(got, ", "))
}

// mode is the effective mode: Converge with Config.Disabled is
// RemoveAndReset.
func (in Input) mode() Mode {
	if in.Mode == Converge && in.Config.Disabled {
		return RemoveAndReset
	}
	return in.Mode
}

// observe runs every kind's observe side by side; the first error cancels
// the others. The states are in the kinds' order.
func observe(ctx context.Context, clients Clients, in Input) ([]kindState, error) {
	in.tagged = newTaggedIndex(in.Tagging)
	states := make([]kindState, len(resourceKinds))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range resourceKinds {
		g.Go(func() (err error) {
			states[i], err = k.observe(gctx, clients, in)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return states, nil
}

// plan is every kind's plan, in the kinds' order. Every action but
// OpUnchanged is exactly one write, and each kind chooses the fewest
// writes, in the order they are safe to apply.
func plan(states []kindState) []Action {
	var actions []Action
	for _, s := range states {
		actions = append(actions, s.plan()...)
	}
	return actions
}
