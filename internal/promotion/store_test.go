package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// simStore is an S3Store on a fresh simulator's bucket.
func simStore(t *testing.T) (S3Store, *simtest.Env) {
	t.Helper()
	env := simtest.Start(t, nil)
	client := compliance.NewS3Client(env.Config)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("orgpatch-runs")}); err != nil {
		t.Fatal(err)
	}
	return S3Store{API: client, Bucket: "orgpatch-runs", Owner: env.Server.ManagementAccount()}, env
}

func TestS3StoreConditionalWrites(t *testing.T) {
	ctx := context.Background()
	store, env := simStore(t)
	st, etag, err := store.Load(ctx)
	if err != nil || etag != "" || st.Rings != nil {
		t.Fatalf("empty bucket: %+v %q %v", st, etag, err)
	}
	first := State{Rings: map[string]*RingState{"dev": {Set: &Set{Cutoff: "2026-11-03", ReleasedAt: released, Source: "cycle"}}}}
	etag1, err := store.Save(ctx, first, "")
	if err != nil {
		t.Fatal(err)
	}
	// A second creator loses: the state exists.
	if _, err := store.Save(ctx, State{}, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v; want ErrConflict", err)
	}
	second := first.Clone()
	second.Rings["prod"] = &RingState{Hold: &Hold{Reason: "prod waits: dev has no set yet"}}
	etag2, err := store.Save(ctx, second, etag1)
	if err != nil {
		t.Fatal(err)
	}
	// A writer still holding the first version loses.
	if _, err := store.Save(ctx, State{}, etag1); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale write: %v; want ErrConflict", err)
	}
	got, etag, err := store.Load(ctx)
	if err != nil || etag != etag2 || got.Rings["dev"].Set.Cutoff != "2026-11-03" {
		t.Fatalf("read back %+v %q %v", got, etag, err)
	}
	// Every call named the bucket's owner.
	if n := env.Server.CountCalls(func(c sim.Call) bool { return c.Service == "s3" }); n == 0 {
		t.Error("no S3 call was seen")
	}
	// A bucket of another account is refused before anything is read.
	other := store
	other.Owner = "123456789012"
	if _, _, err := other.Load(ctx); err == nil {
		t.Error("a bucket owned by another account was read")
	}
}

// TestUpdateRacesLoseNothing: writers race on the state in the
// simulator's S3; each one's change lands, on top of the others'.
func TestUpdateRacesLoseNothing(t *testing.T) {
	ctx := context.Background()
	store, env := simStore(t)
	const writers = 6
	var racers []func() error
	for i := range writers {
		racers = append(racers, func() error {
			_, err := Update(ctx, store, func(st State) (State, error) {
				st = st.Clone()
				st.History = append(st.History, Decision{Ring: "dev", Kind: HoldKind, Reason: fmt.Sprintf("writer %d", i)})
				return st, nil
			})
			return err
		})
	}
	race(t, racers...)
	st, _, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range st.History {
		seen[d.Reason] = true
	}
	if len(st.History) != writers || len(seen) != writers {
		t.Errorf("history holds %d decisions (%d distinct); want each of the %d writers' once", len(st.History), len(seen), writers)
	}
	t.Logf("%d writes lost a race and were made again", env.Server.CountCalls(func(c sim.Call) bool {
		return c.Operation == "PutObject" && (c.ErrorCode == "PreconditionFailed" || c.ErrorCode == "ConditionalRequestConflict")
	}))
}

// TestUpdateReDecidesOnConflict: a writer that saves between another's
// load and save makes that save fail; Update loads again and applies the
// change to what the first writer left.
func TestUpdateReDecidesOnConflict(t *testing.T) {
	ctx := context.Background()
	store, env := simStore(t)
	calls := 0
	_, err := Update(ctx, store, func(st State) (State, error) {
		calls++
		if calls == 1 {
			if _, err := Update(ctx, store, func(st State) (State, error) {
				return State{Rings: map[string]*RingState{"prod": {Hold: &Hold{Reason: "prod held by bob: freeze", Manual: true}}}}, nil
			}); err != nil {
				return State{}, err
			}
		}
		st = st.Clone()
		if st.Rings == nil {
			st.Rings = map[string]*RingState{}
		}
		st.Rings["dev"] = &RingState{Set: &Set{Cutoff: "2026-11-03"}}
		return st, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := store.Load(ctx)
	if calls != 2 || st.Rings["prod"] == nil || st.Rings["dev"] == nil {
		t.Fatalf("after %d rounds the state is %+v; want both writers' changes", calls, st.Rings)
	}
	if n := env.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "PutObject" && c.ErrorCode == "PreconditionFailed" }); n != 1 {
		t.Errorf("%d PutObject calls failed their precondition; want 1", n)
	}
}

// TestSchedulesAndAPersonRace: two scheduled runs and a person's hold at
// once on the simulator's S3. Whoever wins, prod is promoted at most once,
// the person's hold is in the state and every event is sent (at least
// once: a racing run may send an event another has sent, not yet recorded).
func TestSchedulesAndAPersonRace(t *testing.T) {
	ctx := context.Background()
	store, env := simStore(t)
	cfg := chain(false)
	if _, err := store.Save(ctx, State{Rings: map[string]*RingState{"dev": {Set: &Set{Cutoff: "2026-11-03", ReleasedAt: released, Source: "cycle"}}}}, ""); err != nil {
		t.Fatal(err)
	}
	pub := Publisher{Events: eventbridge.NewFromConfig(env.Config)}
	now := released.Add(100 * time.Hour)
	in := Inputs{Now: now, By: "orgpatch-fn", Nodes: nodes(10, 10, 0), Alarms: map[string]string{"app-health": AlarmOK}}
	scheduled := func() error { _, _, err := Scheduled(ctx, store, pub, cfg, in); return err }
	race(t, scheduled, scheduled, func() error {
		_, _, err := Override(ctx, store, pub, cfg, func(st State) (Decision, error) {
			return HoldRing(cfg, st, "prod", "freeze", "arn:aws:iam::999999999999:user/bob", now)
		})
		return err
	})
	st, _, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	promotions, cycles := 0, 0
	for _, d := range st.History {
		switch {
		case d.Ring == "prod" && d.Kind == Promote:
			promotions++
		case d.Ring == "dev" && d.Kind == StartCycle:
			cycles++ // a run after the promotion starts dev's next cycle
		}
	}
	if h := st.Rings["prod"].Hold; promotions > 1 || cycles > promotions || h == nil || !h.Manual {
		t.Errorf("prod promoted %d times, dev's cycle started %d times, hold %+v; want at most once each, and the person's hold kept:\n%s",
			promotions, cycles, h, decisions(st.History))
	}
	if len(st.Unpublished) != 0 {
		t.Errorf("%d events not sent", len(st.Unpublished))
	}
	events := env.Server.Events(env.Server.ManagementAccount(), simtest.Region)
	ids := map[string]bool{}
	for _, e := range events {
		var d EventDetail
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatal(err)
		}
		ids[d.ID] = true
	}
	if got, want := len(ids), len(st.History); got != want {
		t.Errorf("%d distinct events sent (%d in all); want %d; history:\n%s", got, len(events), want, decisions(st.History))
	}
}

// race runs fns at once, each on its own goroutine, and fails the test
// with the first error.
func race(t *testing.T, fns ...func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		wg.Go(func() { errs <- fn() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
