package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// The limits of one worker: a Lambda invocation at orgpatch's settings.
const (
	WorkerTimeout  = 15 * time.Minute
	WorkerMemoryMB = 512
)

// DefaultMapConcurrency is the state machine's default MaxConcurrency
// (infra/stacks, DefaultMapMaxConcurrency).
const DefaultMapConcurrency = 10

// Batch is one measured worker: one process converging one batch.
type Batch struct {
	Accounts, Targets int
	Wall              time.Duration
	MaxRSSBytes       int64
}

// DistributedResult is one whole-organization run done as the state
// machine does it: Discover, each batch in its own worker process, at most
// MapConcurrency at once, Summarize.
type DistributedResult struct {
	Accounts, Targets, Calls, Writes int
	BatchSize, MapConcurrency        int
	Batches                          []Batch
	Wall                             time.Duration
	// Bound is the least wall any run making these calls could take, every
	// worker's calls in flight at once (MapConcurrency x Concurrency).
	Bound Bound
	// Operations are the distinct service/operation pairs called.
	Operations []string
}

// Worker starts one worker process that reads a batch payload on stdin,
// talks to the simulator at endpoint as the management account, writes the
// batch's result on stdout, and ends its stderr with its peak resident
// memory ("max memory used: N kB", `orgpatch invoke -max-memory -`).
type Worker func(ctx context.Context, endpoint string) *exec.Cmd

// MeasureDistributed runs the organization of opts through the three steps,
// each batch in a process of worker, mapConcurrency at once, and measures
// every batch's wall time and the worker's maximum resident set. It fails
// when the run does (a target failed or was not attempted).
func MeasureDistributed(ctx context.Context, opts Options, mapConcurrency int, worker Worker) (DistributedResult, error) {
	opts = opts.withDefaults()
	mapConcurrency = max(mapConcurrency, 1)
	e, err := start(ctx, opts)
	if err != nil {
		return DistributedResult{}, err
	}
	defer e.close()

	// The workers hold every batch to the stored configuration, as a
	// deployed function does: store it as the stack's custom resource does.
	if err := storeConfiguration(ctx, e); err != nil {
		return DistributedResult{}, err
	}
	start := time.Now()
	store := stepfn.NewMemoryStore()
	d, err := stepfn.Discover(ctx, stepfn.Env{Env: e.env}, store, stepfn.DiscoverInput{Run: "bench", Request: run.Request{Mode: reconcile.Converge}})
	if err != nil {
		return DistributedResult{}, fmt.Errorf("bench: discover: %w", err)
	}
	var (
		mu      sync.Mutex
		batches []Batch
	)
	out, err := stepfn.MapBatches(ctx, store, d, mapConcurrency, 0, slog.New(slog.DiscardHandler), func(ctx context.Context, payload []byte) ([]byte, error) {
		var b stepfn.Batch
		if err := json.Unmarshal(payload, &b); err != nil {
			return nil, err
		}
		cmd := worker(ctx, e.url)
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(payload), &stdout, &stderr
		began := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("worker: %w: %s", err, stderr.String())
		}
		m := Batch{Accounts: len(b.Items), Wall: time.Since(began)}
		for _, it := range b.Items {
			for _, regions := range it.Regions {
				m.Targets += len(regions)
			}
		}
		// Not the rusage of the wait: a child started by vfork counts the
		// parent's (here the simulator's) pages until it execs.
		if m.MaxRSSBytes, err = maxMemory(stderr.String()); err != nil {
			return nil, err
		}
		mu.Lock()
		batches = append(batches, m)
		mu.Unlock()
		return stdout.Bytes(), nil
	})
	if err != nil {
		return DistributedResult{}, fmt.Errorf("bench: map: %w", err)
	}
	rep, err := stepfn.Summarize(ctx, e.env, store, stepfn.SummarizeInput{Discovery: d, Map: out})
	if err != nil {
		return DistributedResult{}, fmt.Errorf("bench: summarize: %w", err)
	}
	res := DistributedResult{
		Accounts: d.Accounts, Targets: rep.Counts.Targets, Calls: e.srv.CountCalls(nil), Writes: e.srv.Writes(),
		BatchSize: d.MaxItemsPerBatch, MapConcurrency: mapConcurrency, Batches: batches, Wall: time.Since(start),
	}
	res.Bound = computeBound(e.srv.Calls(), opts.Latency, mapConcurrency*opts.Concurrency, e.srv.Quota)
	ops := map[string]bool{}
	e.srv.CountCalls(func(c sim.Call) bool { ops[c.Service+"/"+c.Operation] = true; return false })
	res.Operations = slices.Sorted(maps.Keys(ops))
	if err := rep.Err(); err != nil {
		return res, fmt.Errorf("bench: the run failed: %s", rep.Summary(2000))
	}
	return res, nil
}

// storeConfiguration writes the run's configuration where the workers read
// it (handler.DefaultConfigParameter), as the custom resource's properties.
func storeConfiguration(ctx context.Context, e *env) error {
	cfg, err := e.env.Config.JSON()
	if err != nil {
		return err
	}
	props, err := json.Marshal(map[string]string{config.PropConfiguration: string(cfg)})
	if err != nil {
		return err
	}
	_, err = ssm.NewFromConfig(e.env.Management).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(handler.DefaultConfigParameter), Value: aws.String(string(props)),
		Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("bench: store the configuration: %w", err)
	}
	return nil
}

// maxMemory reads the worker's "max memory used: N kB" line.
func maxMemory(stderr string) (int64, error) {
	i := strings.LastIndex(stderr, "max memory used: ")
	if i < 0 {
		return 0, fmt.Errorf("worker: no max memory line in its stderr: %q", stderr)
	}
	var kb int64
	if _, err := fmt.Sscanf(stderr[i:], "max memory used: %d kB", &kb); err != nil {
		return 0, fmt.Errorf("worker: max memory line: %w", err)
	}
	return kb * 1024, nil
}

// WriteDistributedTable prints the run, its batches against a worker's
// limits, and what the figures make of a larger organization.
func WriteDistributedTable(out io.Writer, opts Options, r DistributedResult, project int) error {
	opts = opts.withDefaults()
	walls := make([]time.Duration, len(r.Batches))
	var rss int64
	for i, b := range r.Batches {
		walls[i] = b.Wall
		rss = max(rss, b.MaxRSSBytes)
	}
	slices.Sort(walls)
	if len(walls) == 0 {
		return fmt.Errorf("bench: no batch ran")
	}
	median, slowest := walls[len(walls)/2], walls[len(walls)-1]
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "organization\t%d accounts (+ management) x %d regions: %d targets; latency %s per call; the quotas below\n",
		opts.Accounts, len(opts.Regions), r.Targets, opts.Latency)
	fmt.Fprintf(tw, "batches\t%d of up to %d accounts (Discover's size), %d targets at once in each worker, %d workers at once\n",
		len(r.Batches), r.BatchSize, opts.Concurrency, r.MapConcurrency)
	fmt.Fprintf(tw, "batch wall\tmedian %s, slowest %s; a worker has %s (slowest uses %.1f%%)\n",
		median.Round(time.Millisecond), slowest.Round(time.Millisecond), WorkerTimeout, 100*float64(slowest)/float64(WorkerTimeout))
	fmt.Fprintf(tw, "worker max RSS\t%.1f MB (the largest peak of the batches' processes); a worker has %d MB (%.1f%%)\n",
		float64(rss)/(1<<20), WorkerMemoryMB, 100*float64(rss)/float64(WorkerMemoryMB<<20))
	fmt.Fprintf(tw, "run wall\t%s for discover, %d batches %d at a time, summarize; %d calls, %d writes\n",
		r.Wall.Round(time.Millisecond), len(r.Batches), r.MapConcurrency, r.Calls, r.Writes)
	fmt.Fprintf(tw, "run bound\t%s (%s binds: %s); the run took %.1fx\n", round(r.Bound.Max()), r.Bound.Binds(),
		r.Bound.Terms(opts.Latency, r.MapConcurrency*opts.Concurrency), float64(r.Wall)/float64(max(r.Bound.Max(), time.Millisecond)))
	all := make([]time.Duration, len(r.Batches))
	for i, b := range r.Batches {
		all[i] = b.Wall
	}
	cost := CostOf(all)
	fmt.Fprintf(tw, "run cost\t%.1f Lambda GB-seconds (batch walls at %d MB) and %d state transitions: $%.4f at $%g per GB-second (arm64) and $%g per transition\n",
		cost.LambdaGBSeconds, WorkerMemoryMB, cost.StateTransitions, cost.Dollars(), PriceGBSecond, PriceTransition)
	if project > 0 {
		batches := (project + r.BatchSize - 1) / r.BatchSize
		rounds := (batches + r.MapConcurrency - 1) / r.MapConcurrency
		fmt.Fprintf(tw, "%d accounts\t%d batches of %d; at %d workers at once, %d rounds: about %s at the median batch wall measured here, at most %s at the slowest\n",
			project, batches, r.BatchSize, r.MapConcurrency, rounds, (time.Duration(rounds) * median).Round(time.Second), (time.Duration(rounds) * slowest).Round(time.Second))
		projected := make([]time.Duration, batches)
		for i := range projected {
			projected[i] = median
		}
		pc := CostOf(projected)
		fmt.Fprintf(tw, "its cost\t%.0f Lambda GB-seconds and %d state transitions for %d accounts at the median batch wall: $%.2f\n",
			pc.LambdaGBSeconds, pc.StateTransitions, project, pc.Dollars())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	var b strings.Builder
	writeQuotas(&b, opts.Quotas, r.Operations)
	if _, err := io.WriteString(out, b.String()); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	return nil
}

// env is a started benchmark organization.
type env struct {
	srv   *sim.Server
	url   string
	env   run.Env
	close func()
}
