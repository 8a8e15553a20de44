package stepfn_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// A batch's records carry no actions, whatever changed.
func TestWorkRecordsCarryNoActions(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1"}
	env := runtest.Env(sv, cfg)
	var mu sync.Mutex
	handed := 0
	env.OnTarget = func(tg report.Target) {
		mu.Lock()
		defer mu.Unlock()
		handed += tg.Changes()
	}
	raw, err := cfg.JSON()
	if err != nil {
		t.Fatal(err)
	}
	b := stepfn.Batch{
		Items:      []stepfn.Item{{Account: "222222222222", Regions: map[reconcile.Mode][]string{reconcile.Converge: {"us-east-1"}}}},
		BatchInput: stepfn.BatchInput{Run: "t", Mode: reconcile.Converge, Config: raw, Previous: json.RawMessage("null")},
	}
	res, err := stepfn.Work(context.Background(), env, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range res.Targets {
		if len(tg.Actions) != 0 {
			t.Errorf("%s: the batch's record carries %d actions, want none", tg.Name(), len(tg.Actions))
		}
	}
	if handed != 10 {
		t.Errorf("OnTarget was handed %d changes, want 10", handed)
	}
}

// TestRingsTravelInTheWorkItems: Discover writes each account's ring into
// its work item, so a worker, which has only the batch, gives the account
// its ring's configuration; an item of a ring the batch's configuration
// does not have is refused before any call.
func TestRingsTravelInTheWorkItems(t *testing.T) {
	sv, env := runtest.RingsEnv(t)
	ctx := context.Background()
	store := stepfn.NewMemoryStore()
	d, err := stepfn.Discover(ctx, stepfn.Env{Env: env}, store, stepfn.DiscoverInput{Run: "rings", Request: run.Request{}})
	if err != nil {
		t.Fatal(err)
	}
	var items []stepfn.Item
	readJSON(t, store, d.ItemsKey, &items)
	got := map[string]string{}
	for _, it := range items {
		got[it.Account] = it.Ring
	}
	want := map[string]string{"111111111111": "", "222222222222": "dev", "333333333333": "prod", "444444444444": "prod", "555555555555": "dev", "666666666666": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the items' rings (-want +got):\n%s", diff)
	}

	// One batch of the dev account alone converges it to dev's settings.
	var dev stepfn.Item
	for _, it := range items {
		if it.Account == "222222222222" {
			dev = it
		}
	}
	res, err := stepfn.Work(ctx, env, stepfn.Batch{Items: []stepfn.Item{dev}, BatchInput: d.BatchInput})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range res.Targets {
		if tg.Ring != "dev" || tg.Status != report.Converged {
			t.Errorf("%s: ring %q, %s (%v); want dev, converged", tg.Name(), tg.Ring, tg.Status, tg.Err)
		}
	}
	v := runtest.RingViewOf(t, sv, "222222222222")
	if v.Days != 0 || v.Schedule != "cron(0 2 ? * TUE#2 *)" || v.Offset != 1 {
		t.Errorf("the dev account after its batch: %+v, want dev's settings", v)
	}

	dev.Ring = "canary"
	sv.Server.ResetCalls()
	if _, err := stepfn.Work(ctx, env, stepfn.Batch{Items: []stepfn.Item{dev}, BatchInput: d.BatchInput}); err == nil ||
		err.Error() != `batch: Items[0].ring: "canary" is not one of the configuration's rings: dev, prod` {
		t.Errorf("a batch with an unknown ring: %v", err)
	}
	if n := sv.Server.CountCalls(nil); n != 0 {
		t.Errorf("%d calls made for a batch with an unknown ring", n)
	}
}
