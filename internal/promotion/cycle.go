package promotion

import (
	"context"
	"errors"
	"fmt"

	"github.com/orgpatch/orgpatch/internal/config"
)

// Scheduled is one scheduled run's promotion step: decide on the state as
// stored (re-deciding on what a racing writer left), save it, then
// publish its events and every event a run before could not. It returns
// the decisions taken and the state saved; a publish error leaves the
// events in the state for the next run and is returned after the state
// was saved. in.Alarms is read by the caller (ReadAlarms), in.Nodes come
// from the compliance collection.
func Scheduled(ctx context.Context, store Store, pub Publisher, cfg config.Config, in Inputs) (State, []Decision, error) {
	var ds []Decision
	st, err := Update(ctx, store, func(st State) (State, error) {
		ds = Decide(cfg, st, in)
		return Apply(cfg, st, ds), nil
	})
	if err != nil {
		return State{}, nil, err
	}
	st, err = publish(ctx, store, pub, st)
	return st, ds, err
}

// Override applies a person's decision (PromoteRing, HoldRing, made by
// decide on the state as stored, and made again if another writer saved in
// between), saves it and publishes its event.
func Override(ctx context.Context, store Store, pub Publisher, cfg config.Config, decide func(State) (Decision, error)) (State, Decision, error) {
	var d Decision
	st, err := Update(ctx, store, func(st State) (State, error) {
		var err error
		if d, err = decide(st); err != nil {
			return State{}, err
		}
		return Apply(cfg, st, []Decision{d}), nil
	})
	if err != nil {
		return State{}, Decision{}, err
	}
	st, err = publish(ctx, store, pub, st)
	return st, d, err
}

// publish sends st's unpublished events and records what was sent.
func publish(ctx context.Context, store Store, pub Publisher, st State) (State, error) {
	if len(st.Unpublished) == 0 {
		return st, nil
	}
	sent, perr := pub.Publish(ctx, st.Unpublished)
	saved, err := Update(ctx, store, func(st State) (State, error) { return st.Sent(sent), nil })
	if err != nil {
		return st, errors.Join(perr, fmt.Errorf("record the published events: %w", err))
	}
	if perr != nil {
		return saved, fmt.Errorf("promotion events (kept, sent again by the next run): %w", perr)
	}
	return saved, nil
}
