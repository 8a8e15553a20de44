package stepfn

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
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

// Run is the three steps in this process, the map being LocalMap, over a
// MemoryStore: what a deployed whole-organization run does, with the same
// payloads. Local runs call run.Run instead; the parity test holds the two
// to the same report. The batches' records carry no actions; the report
// gets them back from env.OnTarget (run.Keep).
func Run(ctx context.Context, env Env, req run.Request) report.Report {
	env = env.withDefaults()
	actions := run.Keep(&env.Env)
	store := NewMemoryStore()
	d, err := Discover(ctx, env, store, DiscoverInput{Run: "local", Request: req})
	if err != nil {
		return run.Failed(env.Env, req, err)
	}
	out, err := LocalMap(ctx, env, store, d)
	if err != nil {
		return run.Failed(env.Env, req, err)
	}
	rep, err := Summarize(ctx, env.Env, store, SummarizeInput{Discovery: d, Map: out})
	if err != nil {
		return run.Failed(env.Env, req, err)
	}
	actions.Attach(&rep)
	return rep
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
		res, err := Work(ctx, env.Env, b)
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
			c.Status, c.Error, c.Cause = ChildFailed, "Panic", fleet.PanicError(log, "batch "+name, p).Error()
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
