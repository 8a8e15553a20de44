package stepfn_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// budgetEnv is a run over 20 members (+ management) x 2 regions whose
// workers have a tiny budget: 8 units each, 2 of them kept in reserve, a
// target budgeted at 1 unit and an account's derivation at a tenth of
// one, where every target takes at least delay.
// The unit sets how much room a loaded machine leaves the test: the batch
// arithmetic is the same whatever it is.
func budgetEnv(t *testing.T, unit, delay time.Duration) (stepfn.Env, *simtest.Env) {
	t.Helper()
	sv := simtest.Start(t, sim.GenerateOrg(sim.GenerateOptions{Accounts: 20}))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	env := stepfn.Env{Env: runtest.Env(sv, cfg)}
	env.Concurrency = 4
	env.Reserve = 2 * unit
	env.Sizing = stepfn.Sizing{WorkerTimeout: 8 * unit, TargetCost: unit, AccountCost: unit / 10}
	env.BeforeTarget = func(ctx context.Context, account, region string) { time.Sleep(delay) }
	return env, sv
}

func TestTinyBudgetAttemptsEveryAccountAcrossBatches(t *testing.T) {
	// A unit of a second: each target's 30 ms and its dozen calls fit
	// even on a loaded machine, so every batch completes.
	env, sv := budgetEnv(t, time.Second, 30*time.Millisecond)
	ctx := context.Background()
	store := stepfn.NewMemoryStore()

	d, err := stepfn.Discover(ctx, env, store, stepfn.DiscoverInput{Run: "tiny", Request: run.Request{}})
	if err != nil {
		t.Fatal(err)
	}
	// Half of (8 - 2) units is 3 units: 4 accounts of 2 regions derived
	// in 0.4 units, then 2 rounds of 1 unit, 4 targets a round (5
	// accounts would need 3.5 units).
	if d.MaxItemsPerBatch != 4 || d.Accounts != 21 {
		t.Fatalf("discovery: %d accounts, %d per batch; want 21 accounts, 4 per batch", d.Accounts, d.MaxItemsPerBatch)
	}
	out, err := stepfn.LocalMap(ctx, env, store, d)
	if err != nil {
		t.Fatal(err)
	}
	var m stepfn.Manifest
	readJSON(t, store, out.ResultWriterDetails.Key, &m)
	var children []stepfn.ChildResult
	for _, f := range m.ResultFiles[stepfn.ChildSucceeded] {
		var of []stepfn.ChildResult
		readJSON(t, store, f.Key, &of)
		children = append(children, of...)
	}
	if len(children) != 6 || len(m.ResultFiles[stepfn.ChildFailed]) != 0 {
		t.Fatalf("%d batches succeeded, failed files %v; want 6 batches (21 accounts, 4 a batch), none failed", len(children), m.ResultFiles[stepfn.ChildFailed])
	}
	rep, err := stepfn.Summarize(ctx, env.Env, store, stepfn.SummarizeInput{Discovery: d, Map: out})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Counts.Converged != 42 || rep.Counts.Targets != 42 {
		t.Errorf("counts %+v, want all 42 targets converged", rep.Counts)
	}
	runtest.AssertConverged(t, sv, runtest.AccountIDs(sim.GenerateOrg(sim.GenerateOptions{Accounts: 20})), env.Config.Regions)
}

func TestRunThatCannotAttemptEveryAccountFailsNamingThem(t *testing.T) {
	// One batch of every account: 42 targets, 4 at a time, 100 ms each,
	// need 1.1 s of a worker that has 600 ms before its reserve.
	env, _ := budgetEnv(t, 100*time.Millisecond, 100*time.Millisecond)
	env.Sizing.MaxAccounts = 21
	rep := stepfn.Run(context.Background(), env, run.Request{})

	notAttempted := map[string]bool{}
	for _, tg := range rep.Targets {
		if tg.Status == report.NotStarted {
			notAttempted[tg.Account] = true
		}
	}
	if len(notAttempted) == 0 {
		t.Fatalf("counts %+v: every target was attempted; the test does not test the failure", rep.Counts)
	}
	var na *run.NotAttemptedError
	if err := rep.Err(); !errors.As(err, &na) {
		t.Fatalf("Err() = %v, want a NotAttemptedError", err)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(notAttempted)), na.Accounts); diff != "" {
		t.Errorf("accounts named (-want +got):\n%s", diff)
	}
	if rep.Counts.NotStarted != na.Targets {
		t.Errorf("error counts %d targets, the report %d", na.Targets, rep.Counts.NotStarted)
	}
}

// TestWorkTakesTheDocumentedBatch feeds the worker a batch in the shape
// a Distributed Map with an ItemBatcher passes a Lambda: {"Items": [...],
// "BatchInput": {...}}.
func TestWorkTakesTheDocumentedBatch(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	raw, err := os.ReadFile("../../events/stepfunctions-work.json")
	if err != nil {
		t.Fatal(err)
	}
	var b stepfn.Batch
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	// The worker's own configuration (the handler's: the stored one) is
	// the batch's.
	cfg, err := config.Decode(b.BatchInput.Config)
	if err != nil {
		t.Fatal(err)
	}
	res, err := stepfn.Work(context.Background(), runtest.Env(sv, cfg), b)
	if err != nil {
		t.Fatal(err)
	}
	var got []runtest.Outcome
	for _, tg := range res.Targets {
		got = append(got, runtest.Outcome{Target: tg.Name(), Status: tg.Status})
		if len(tg.Actions) != 0 {
			t.Errorf("%s carries %d actions; a batch's records carry none (Env.OnTarget and the log get them)", tg.Name(), len(tg.Actions))
		}
	}
	// The small organization's governed regions; af-south-1 is not opted in.
	want := []runtest.Outcome{
		{Target: "111111111111/af-south-1", Status: report.Skipped},
		{Target: "111111111111/eu-west-1", Status: report.Converged},
		{Target: "111111111111/us-east-1", Status: report.Converged},
		{Target: "222222222222/af-south-1", Status: report.Skipped},
		{Target: "222222222222/eu-west-1", Status: report.Converged},
		{Target: "222222222222/us-east-1", Status: report.Converged},
	}
	slices.SortFunc(got, func(a, b runtest.Outcome) int { return strings.Compare(a.Target, b.Target) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	for _, account := range []string{"111111111111", "222222222222"} {
		if diff := cmp.Diff(runtest.DefaultWindowNames(), runtest.WindowNames(t, sv, account, "us-east-1")); diff != "" {
			t.Errorf("%s/us-east-1 windows (-want +got):\n%s", account, diff)
		}
	}
}

// TestWorkRejectsBadBatches: a batch that does not decode is refused before
// any call, naming the field.
func TestWorkRejectsBadBatches(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg, _ := config.Default().JSON()
	for name, tc := range map[string]struct {
		batch stepfn.Batch
		want  string
	}{
		"no config":     {stepfn.Batch{BatchInput: stepfn.BatchInput{Mode: "converge"}}, "batch: BatchInput.config is missing"},
		"unknown field": {stepfn.Batch{BatchInput: stepfn.BatchInput{Mode: "converge", Config: json.RawMessage(`{"windowz":[]}`)}}, `batch: BatchInput.config: json: unknown field "windowz"`},
		"bad mode":      {stepfn.Batch{BatchInput: stepfn.BatchInput{Mode: "fix", Config: cfg}}, `batch: BatchInput.mode "fix" is not one of converge, remove, teardown`},
		"bad account": {stepfn.Batch{Items: []stepfn.Item{{Account: "12", Regions: map[reconcile.Mode][]string{"converge": {"us-east-1"}}}},
			BatchInput: stepfn.BatchInput{Mode: "converge", Config: cfg}}, `batch: Items[0].account "12" is not a 12-digit account id`},
		"unknown ring": {stepfn.Batch{Items: []stepfn.Item{{Account: "222222222222", Ring: "canary", Regions: map[reconcile.Mode][]string{"converge": {"us-east-1"}}}},
			BatchInput: stepfn.BatchInput{Mode: "converge", Config: cfg}}, `batch: Items[0].ring: "canary" is not a ring: the configuration has none`},
	} {
		t.Run(name, func(t *testing.T) {
			sv.Server.ResetCalls()
			_, err := stepfn.Work(context.Background(), runtest.Env(sv, config.Default()), tc.batch)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
			if n := sv.Server.CountCalls(nil); n != 0 {
				t.Errorf("%d calls made for a bad batch", n)
			}
		})
	}
}

func readJSON(t *testing.T, store stepfn.Store, key string, v any) {
	t.Helper()
	b, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// TestSummarizeReadsTheDocumentedManifest feeds the last step a
// ResultWriter's manifest.json and result files as AWS documents them
// (child executions with their Input and Output as JSON strings, a failed
// one with Error and Cause): the failed batch's accounts are named as not
// attempted, with the batch's error.
func TestSummarizeReadsTheDocumentedManifest(t *testing.T) {
	dir := "../../testdata/stepfunctions/"
	store := stepfn.NewMemoryStore()
	ctx := context.Background()
	put := func(key, file string) {
		b, err := os.ReadFile(dir + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, key, b); err != nil {
			t.Fatal(err)
		}
	}
	var m stepfn.Manifest
	b, err := os.ReadFile(dir + "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var in stepfn.SummarizeInput
	items, err := os.ReadFile(dir + "items.json")
	if err != nil {
		t.Fatal(err)
	}
	// The items' digest, as Discover returns it.
	sum := sha256.Sum256(items)
	in.Discovery = stepfn.Discovery{Run: "orgpatch-schedule-3d1f0a", ItemsKey: "runs/x/items.json", RecordKey: "runs/x/record.json",
		ItemsSHA256: hex.EncodeToString(sum[:])}
	in.Map.MapRunArn = m.MapRunArn
	in.Map.ResultWriterDetails.Bucket, in.Map.ResultWriterDetails.Key = m.DestinationBucket, "results/6dbfba93-bcff-410b-9b5c-abf41ae9eddb/manifest.json"
	put(in.Discovery.ItemsKey, "items.json")
	put(in.Discovery.RecordKey, "record.json")
	put(in.Map.ResultWriterDetails.Key, "manifest.json")
	put(m.ResultFiles["SUCCEEDED"][0].Key, "SUCCEEDED_0.json")
	put(m.ResultFiles["FAILED"][0].Key, "FAILED_0.json")

	env := run.Env{Logger: slog.New(slog.DiscardHandler)}
	rep, err := stepfn.Summarize(ctx, env, store, in)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Target, Mode, Status, Reason string }
	var got []row
	for _, tg := range rep.Targets {
		got = append(got, row{tg.Name(), tg.Mode, string(tg.Status), tg.Reason})
	}
	lost := "batch failed: Lambda.Unknown: The cause could not be determined because Lambda did not return an error type. Returned payload: {\"errorMessage\":\"2025-11-27T05:15:00.000Z 5c1e Task timed out after 900.00 seconds\"}"
	want := []row{
		{"111111111111/eu-west-1", "converge", "converged", ""},
		{"111111111111/us-east-1", "converge", "failed", ""},
		{"222222222222/us-east-1", "converge", "not-started", lost},
		{"333333333333/eu-west-1", "teardown", "not-started", lost},
		{"333333333333/us-east-1", "converge", "not-started", lost},
		{"666666666666", "", "skipped", "account state SUSPENDED"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	var na *run.NotAttemptedError
	if !errors.As(rep.Err(), &na) || !slices.Equal(na.Accounts, []string{"222222222222", "333333333333"}) || na.Targets != 3 {
		t.Errorf("Err() = %v, want 3 targets of 222222222222 and 333333333333 not attempted", rep.Err())
	}
	if !strings.Contains(rep.Err().Error(), "111111111111/us-east-1: operation error SSM") {
		t.Errorf("Err() = %v, want the failed target too", rep.Err())
	}
}
