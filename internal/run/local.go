package run

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orgpatch/orgpatch/internal/report"
)

// MemoryStore is a Store in memory: what a run in this process keeps its
// objects in. It is safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	objects map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{objects: map[string][]byte{}} }

// Put stores body under key, replacing what was there.
func (s *MemoryStore) Put(_ context.Context, key string, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = body
	return nil
}

// Get returns what key holds; the error wraps fs.ErrNotExist when nothing.
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return b, nil
}

// runInProcess is Run: the three steps in this process, the map being
// LocalMap. The batches' records carry no actions; the report gets them
// back from env.OnTarget (see actionLog).
func runInProcess(ctx context.Context, env Env, req Request) report.Report {
	env = env.withDefaults()
	actions := &actionLog{byTarget: map[string][]report.Action{}, lists: map[string][]report.Action{}}
	if next := env.OnTarget; next != nil {
		env.OnTarget = func(t report.Target) { actions.add(t); next(t) }
	} else {
		env.OnTarget = actions.add
	}
	store := NewMemoryStore()
	fail := func(err error) report.Report {
		mode := req.Mode
		if mode == "" {
			mode = "converge"
		}
		rep := report.Report{Mode: string(mode), DryRun: req.DryRun, Started: env.Clock.Now()}
		rep.Fail(err)
		env.Logger.Error("run failed", "error", err)
		return rep
	}
	d, err := Discover(ctx, env, store, DiscoverInput{Run: "local", Request: req})
	if err != nil {
		return fail(err)
	}
	out, err := LocalMap(ctx, env, store, d)
	if err != nil {
		return fail(err)
	}
	rep, err := Summarize(ctx, env, store, SummarizeInput{Discovery: d, Map: out})
	if err != nil {
		return fail(err)
	}
	actions.attach(&rep)
	return rep
}

// actionLog keeps the actions of the targets of a run in this process
// that changed something, for its report. Equal lists of actions (every
// new account's, say) are kept once and shared, so the report grows with
// the targets that changed by a map entry each, not by their actions.
// It is safe for concurrent use.
type actionLog struct {
	mu       sync.Mutex
	byTarget map[string][]report.Action // by Target.Name
	lists    map[string][]report.Action // the distinct lists, by their lines
}

func (l *actionLog) add(t report.Target) {
	if t.Changes() == 0 {
		return
	}
	var key strings.Builder
	for _, a := range t.Actions {
		key.WriteString(a.Kind + "\x00" + a.Resource + "\x00" + a.Name + "\x00" + a.Detail + "\x00")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	list, ok := l.lists[key.String()]
	if !ok {
		list = slices.Clone(t.Actions)
		l.lists[key.String()] = list
	}
	l.byTarget[t.Name()] = list
}

// attach gives each target of rep its actions, and counts them.
func (l *actionLog) attach(rep *report.Report) {
	for i := range rep.Targets {
		t := &rep.Targets[i]
		t.Actions = l.byTarget[t.Name()]
	}
	rep.Tally()
}

// LocalMap is the Distributed Map in this process over Work: MapBatches
// with env.Batches at a time. With env.Sizing.WorkerTimeout set, each batch
// has that long, as a worker does; unset, batches have ctx's deadline alone
// (a workstation has no worker timeout).
func LocalMap(ctx context.Context, env Env, store Store, d Discovery) (MapOutput, error) {
	timeout := env.Sizing.WorkerTimeout
	env = env.withDefaults()
	return MapBatches(ctx, store, d, env.Batches, timeout, env.Logger, func(ctx context.Context, payload []byte) ([]byte, error) {
		var b Batch
		if err := json.Unmarshal(payload, &b); err != nil {
			return nil, err
		}
		res, err := Work(ctx, env, b)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	})
}

// Worker runs one batch: the Batch payload in ({"Items", "BatchInput"}),
// the BatchResult payload out.
type Worker func(ctx context.Context, batch []byte) ([]byte, error)

// MapBatches does what the Distributed Map does, in this process: it reads
// d's items from store, cuts them into batches of d.MaxItemsPerBatch, runs
// worker on each (concurrency at a time; each with timeout, when positive)
// and writes the results as a ResultWriter does: result files of child
// results by status, and manifest.json, whose location it returns. A batch
// whose worker fails or panics is a FAILED child, its items in its Input.
func MapBatches(ctx context.Context, store Store, d Discovery, concurrency int, timeout time.Duration, log *slog.Logger, worker Worker) (MapOutput, error) {
	if log == nil {
		log = slog.Default()
	}
	var items []json.RawMessage
	if err := getJSON(ctx, store, d.ItemsKey, &items); err != nil {
		return MapOutput{}, err
	}
	size := max(d.MaxItemsPerBatch, 1)
	var batches [][]json.RawMessage
	for len(items) > 0 {
		n := min(size, len(items))
		batches = append(batches, items[:n])
		items = items[n:]
	}
	children := make([]ChildResult, len(batches))
	var g errgroup.Group
	g.SetLimit(max(concurrency, 1))
	for i, items := range batches {
		g.Go(func() error {
			children[i] = runChild(ctx, log, timeout, fmt.Sprintf("%s-%d", d.Run, i), items, d.BatchInput, worker)
			return nil
		})
	}
	_ = g.Wait() // every child returns nil; outcomes are in children
	prefix := "results/" + d.Run + "/"
	m := Manifest{DestinationBucket: "memory", MapRunArn: "local:" + d.Run, ResultFiles: map[string][]ResultFile{
		ChildSucceeded: {}, ChildFailed: {}, ChildPending: {},
	}}
	for _, status := range []string{ChildSucceeded, ChildFailed} {
		var of []ChildResult
		for _, c := range children {
			if c.Status == status {
				of = append(of, c)
			}
		}
		if len(of) == 0 {
			continue
		}
		b, err := json.Marshal(of)
		if err != nil {
			return MapOutput{}, fmt.Errorf("encode results: %w", err)
		}
		key := prefix + status + "_0.json"
		if err := store.Put(ctx, key, b); err != nil {
			return MapOutput{}, fmt.Errorf("write %s: %w", key, err)
		}
		m.ResultFiles[status] = append(m.ResultFiles[status], ResultFile{Key: key, Size: int64(len(b))})
	}
	var out MapOutput
	out.MapRunArn = m.MapRunArn
	out.ResultWriterDetails.Bucket, out.ResultWriterDetails.Key = m.DestinationBucket, prefix+"manifest.json"
	return out, putJSON(ctx, store, out.ResultWriterDetails.Key, m)
}

// runChild is one child execution: the batch's payload as JSON in, the
// worker, its output out; a failure or a panic is a FAILED child. With a
// timeout, the child has that long, as a worker does.
func runChild(ctx context.Context, log *slog.Logger, timeout time.Duration, name string, items []json.RawMessage, in BatchInput, worker Worker) (c ChildResult) {
	c = ChildResult{Name: name, Status: ChildFailed}
	input, err := json.Marshal(struct {
		Items      []json.RawMessage `json:"Items"`
		BatchInput BatchInput        `json:"BatchInput"`
	}{items, in})
	if err != nil {
		c.Error, c.Cause = "States.Runtime", err.Error()
		return c
	}
	c.Input = string(input)
	defer func() {
		if p := recover(); p != nil {
			c.Status, c.Error, c.Cause = ChildFailed, "Panic", panicError(log, "batch "+name, p).Error()
		}
	}()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	output, err := worker(ctx, input)
	if err != nil {
		c.Error, c.Cause = "Error", err.Error()
		return c
	}
	c.Status, c.Output = ChildSucceeded, string(output)
	return c
}
