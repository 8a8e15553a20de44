package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// What a target changed leaves the worker as the target finishes (through
// Env.OnTarget, and in the log), not in the batch's records; Run's report
// gets the actions back, equal lists shared, so that it grows with the
// targets that changed by little more than a pointer each.
func TestChangesLeaveAsEachTargetFinishes(t *testing.T) {
	sv := simtest.Start(t, runtest.LoadSmall(t))
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	cfg.ExcludedAccounts = []string{"555555555555"} // no role there
	var logged bytes.Buffer
	env := runtest.Env(sv, cfg)
	env.Logger = slog.New(slog.NewJSONHandler(&logged, nil))
	var mu sync.Mutex
	handed := map[string]int{} // changes handed to OnTarget, by target
	env.OnTarget = func(tg report.Target) {
		mu.Lock()
		defer mu.Unlock()
		handed[tg.Name()] = tg.Changes()
	}
	rep := run.Run(context.Background(), env, run.Request{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}

	var changed []report.Target
	for _, tg := range rep.Targets {
		if tg.Status != report.Converged {
			continue
		}
		changed = append(changed, tg)
		// 3 windows x (window, target, task) + DHMC
		if tg.Changes() != 10 {
			t.Errorf("%s: report keeps %d changes, want 10", tg.Name(), tg.Changes())
		}
		if handed[tg.Name()] != tg.Changes() {
			t.Errorf("%s: OnTarget was handed %d changes, the report has %d", tg.Name(), handed[tg.Name()], tg.Changes())
		}
	}
	if len(changed) < 2 {
		t.Fatalf("%d targets converged, want several", len(changed))
	}
	for _, tg := range changed[1:] {
		if &tg.Actions[0] != &changed[0].Actions[0] {
			t.Errorf("%s and %s made the same changes but keep two copies of them", tg.Name(), changed[0].Name())
		}
	}
	if got, want := rep.Counts.Changes, []report.ResourceChanges{
		{Resource: "window", Create: 3 * len(changed)}, {Resource: "target", Create: 3 * len(changed)},
		{Resource: "task", Create: 3 * len(changed)}, {Resource: "dhmc", Update: len(changed)},
	}; !slices.Equal(got, want) {
		t.Errorf("counted changes %+v, want %+v", got, want)
	}

	// Each changed target's log record lists its changes.
	lines := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		var rec struct {
			Msg, Account, Region string
			Changes              []string
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if rec.Msg == "target done" {
			lines[rec.Account+"/"+rec.Region] = rec.Changes
		}
	}
	for _, tg := range changed {
		got := lines[tg.Name()]
		if len(got) != 10 || !strings.HasPrefix(got[0], "create ") {
			t.Errorf("%s: logged changes %q, want its 10 changes, one line each", tg.Name(), got)
		}
	}
}
