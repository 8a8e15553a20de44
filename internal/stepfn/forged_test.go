package stepfn_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// TestForgedBatchesAreRefused: a worker trusts nothing of its batch but
// the account ids. A batch Discover did not write (a prod account on dev's
// ring, an excluded account, a teardown or a region its account does not
// get, another previous configuration), whether invoked directly or read
// from a rewritten items file, is refused naming the item's field and why,
// and writes nothing.
func TestForgedBatchesAreRefused(t *testing.T) {
	sv, env := runtest.RingsEnv(t)
	env.Config.ExcludedAccounts = []string{"666666666666"}
	ctx := context.Background()
	store := stepfn.NewMemoryStore()
	d, err := stepfn.Discover(ctx, stepfn.Env{Env: env}, store, stepfn.DiscoverInput{Run: "forged", Request: run.Request{}})
	if err != nil {
		t.Fatal(err)
	}
	var items []stepfn.Item
	readJSON(t, store, d.ItemsKey, &items)
	item := func(account string) stepfn.Item {
		for _, it := range items {
			if it.Account == account {
				return it
			}
		}
		t.Fatalf("no item for %s", account)
		return stepfn.Item{}
	}
	regions := item("333333333333").Regions[reconcile.Converge]
	tests := map[string]struct {
		item  stepfn.Item
		input func(*stepfn.BatchInput)
		want  string
	}{
		"prod account on dev's ring": {
			item: stepfn.Item{Account: "333333333333", Ring: "dev", Regions: map[reconcile.Mode][]string{reconcile.Converge: regions}},
			want: `Items[0].ring "dev" is not account 333333333333's ring (prod)`,
		},
		"excluded account": {
			item: stepfn.Item{Account: "666666666666", Regions: map[reconcile.Mode][]string{reconcile.Converge: regions}},
			want: "account 666666666666 gets nothing in this run (excluded account)",
		},
		"teardown of a converged account": {
			item: stepfn.Item{Account: "333333333333", Ring: "prod", Regions: map[reconcile.Mode][]string{reconcile.RemoveAndReset: regions}},
			want: "Items[0].regions map[teardown:",
		},
		"a region the configuration does not govern": {
			item: stepfn.Item{Account: "333333333333", Ring: "prod", Regions: map[reconcile.Mode][]string{reconcile.Converge: append(regions, "ap-southeast-2")}},
			want: "are not what account 333333333333 gets in this run",
		},
		"a previous configuration the run does not have": {
			item:  item("333333333333"),
			input: func(in *stepfn.BatchInput) { in.Previous = in.Config },
			want:  "BatchInput.previous is not the stack's previous configuration",
		},
		"a remove the run was not asked for": {
			item:  item("333333333333"),
			input: func(in *stepfn.BatchInput) { in.Mode = reconcile.RemoveKeepSettings },
			want:  "Items[0].regions map[converge:",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sv.Server.ResetCalls()
			in := d.BatchInput
			if tc.input != nil {
				tc.input(&in)
			}
			_, err := stepfn.Work(ctx, env, stepfn.Batch{Items: []stepfn.Item{tc.item}, BatchInput: in})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Work() = %v, want a refusal naming %q", err, tc.want)
			}
			if n := sv.Server.CountCalls(func(c sim.Call) bool { return c.Write }); n != 0 {
				t.Errorf("%d writes for a forged batch", n)
			}
		})
	}

	// The items file rewritten between Discover and the map: the batch
	// holding the forged item is refused, and Summarize refuses the items
	// Discover did not write, so the run cannot report success.
	t.Run("rewritten items file", func(t *testing.T) {
		sv.Server.ResetCalls()
		forged := []stepfn.Item{{Account: "333333333333", Ring: "dev", Regions: map[reconcile.Mode][]string{reconcile.Converge: regions}}}
		body, err := json.Marshal(forged)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, d.ItemsKey, body); err != nil {
			t.Fatal(err)
		}
		out, err := stepfn.LocalMap(ctx, stepfn.Env{Env: env}, store, d)
		if err != nil {
			t.Fatal(err)
		}
		if n := sv.Server.CountCalls(func(c sim.Call) bool { return c.Write }); n != 0 {
			t.Errorf("%d writes for a rewritten items file", n)
		}
		_, err = stepfn.Summarize(ctx, env, store, stepfn.SummarizeInput{Discovery: d, Map: out})
		if err == nil || !strings.Contains(err.Error(), "is not the items Discover wrote") {
			t.Errorf("Summarize() = %v, want the rewritten items refused", err)
		}
	})
}
