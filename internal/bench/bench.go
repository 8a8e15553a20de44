package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"text/tabwriter"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// Options shape the benchmark; zero fields take the defaults below.
type Options struct {
	// Accounts is the number of member accounts (DefaultAccounts); the
	// management account comes on top.
	Accounts int
	// Regions are the regions converged (config.DefaultRegions, 17).
	Regions []string
	// Latency is added to every simulated call (DefaultLatency).
	Latency time.Duration
	// ThrottleRate and ThrottleBurst: the token bucket per account x region
	// x API (DefaultThrottleRate, DefaultThrottleBurst).
	ThrottleRate  float64
	ThrottleBurst int
	// Concurrency is the run's fan-out bound (run.DefaultConcurrency).
	Concurrency int
}

// Defaults: the scale of a large organization and AWS-like service behaviour.
const (
	DefaultAccounts      = 1000
	DefaultLatency       = 20 * time.Millisecond
	DefaultThrottleRate  = 10
	DefaultThrottleBurst = 20
)

func (o Options) withDefaults() Options {
	if o.Accounts <= 0 {
		o.Accounts = DefaultAccounts
	}
	if len(o.Regions) == 0 {
		o.Regions = config.DefaultRegions
	}
	if o.Latency <= 0 {
		o.Latency = DefaultLatency
	}
	if o.ThrottleRate <= 0 {
		o.ThrottleRate = DefaultThrottleRate
	}
	if o.ThrottleBurst <= 0 {
		o.ThrottleBurst = DefaultThrottleBurst
	}
	if o.Concurrency <= 0 {
		o.Concurrency = run.DefaultConcurrency
	}
	return o
}

// Result is one measured run.
type Result struct {
	Name          string
	Wall          time.Duration
	Targets       int
	Calls         int
	Writes        int
	PeakHeapBytes uint64
	// LowerBound is the fastest the fan-out allows: the calls on one
	// target's path, each taking the latency, for every target, divided by
	// the concurrency.
	LowerBound time.Duration
	Report     report.Report
}

// CallsPerTarget is the mean number of calls per account x region.
func (r Result) CallsPerTarget() float64 {
	if r.Targets == 0 {
		return 0
	}
	return float64(r.Calls) / float64(r.Targets)
}

// Ratio is Wall over LowerBound (1.0 would be a perfect fan-out).
func (r Result) Ratio() float64 {
	if r.LowerBound <= 0 {
		return 0
	}
	return float64(r.Wall) / float64(r.LowerBound)
}

// Run builds the organization, converges it twice (first everything to
// create, then nothing to do) and writes the table to out. It fails when a
// run reports a failed target or when the second run writes anything.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	results, err := Measure(ctx, opts)
	if err != nil {
		return err
	}
	return WriteTable(out, opts, results)
}

// Measure runs the benchmark and returns the two runs' results.
func Measure(ctx context.Context, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	e, err := start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	srv, env := e.srv, e.env

	var results []Result
	for _, name := range []string{"first (create)", "second (no change)"} {
		srv.ResetCalls()
		writesBefore := srv.Writes()
		runtime.GC()
		peak := startHeapSampler()
		start := time.Now()
		rep := run.Run(ctx, env, run.Request{Mode: reconcile.Converge})
		wall := time.Since(start)
		res := Result{
			Name:          name,
			Wall:          wall,
			Targets:       rep.Counts.Targets,
			Calls:         srv.CountCalls(nil),
			Writes:        srv.Writes() - writesBefore,
			PeakHeapBytes: peak(),
			Report:        rep,
		}
		if res.Targets > 0 {
			perTarget := float64(res.Calls) / float64(res.Targets)
			res.LowerBound = time.Duration(perTarget * float64(opts.Latency) * float64(res.Targets) / float64(opts.Concurrency))
		}
		results = append(results, res)
		if err := rep.Err(); err != nil {
			return results, fmt.Errorf("bench: %s run: %s", name, rep.Summary(2000))
		}
	}
	if w := results[1].Writes; w != 0 {
		return results, fmt.Errorf("bench: the second run made %d writes on a converged organization, want 0", w)
	}
	return results, nil
}

// start builds the organization of opts and serves it on loopback, and
// returns the management account's run environment against it.
func start(ctx context.Context, opts Options) (*env, error) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: opts.Accounts, OUs: 10})
	srv, err := sim.New(org,
		sim.WithLatency(opts.Latency),
		sim.WithThrottle(opts.ThrottleRate, opts.ThrottleBurst),
		sim.WithoutCallParams())
	if err != nil {
		return nil, fmt.Errorf("bench: start simulator: %w", err)
	}
	hs := httptest.NewServer(srv)
	mgmt, err := awsconf.Load(ctx, awsconf.Options{
		Region:          "us-east-1",
		Endpoint:        hs.URL,
		AccessKeyID:     sim.ManagementAccessKeyID,
		SecretAccessKey: sim.ManagementSecretAccessKey,
		// Every call goes to one loopback host: keep a connection per
		// worker alive instead of opening (and leaving in TIME_WAIT) one
		// per call.
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = 4 * opts.Concurrency
			tr.MaxIdleConnsPerHost = 4 * opts.Concurrency
		}),
	})
	if err != nil {
		hs.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	cfg := config.Default()
	cfg.Regions = opts.Regions
	cfg.ControlTowerRegionsOnly = false
	return &env{srv: srv, url: hs.URL, close: hs.Close, env: run.Env{
		Management:  mgmt,
		Config:      cfg,
		Concurrency: opts.Concurrency,
		Logger:      slog.New(slog.DiscardHandler),
	}}, nil
}

// WriteTable prints the results with the conditions they were measured in.
func WriteTable(out io.Writer, opts Options, results []Result) error {
	opts = opts.withDefaults()
	if _, err := fmt.Fprintf(out, "organization: %d accounts (+ management) x %d regions; latency %s per call; throttling %g requests/s per account x region x API, burst %d; concurrency %d\n\n",
		opts.Accounts, len(opts.Regions), opts.Latency, opts.ThrottleRate, opts.ThrottleBurst, opts.Concurrency); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\twall\ttargets\tcalls\tcalls/target\twrites\tpeak heap MB\tlower bound\twall/bound\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%d\t%.1f\t%s\t%.2f\t\n",
			r.Name, r.Wall.Round(time.Millisecond), r.Targets, r.Calls, r.CallsPerTarget(), r.Writes,
			float64(r.PeakHeapBytes)/(1<<20), r.LowerBound.Round(time.Millisecond), r.Ratio())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	_, err := fmt.Fprintln(out, "\nlower bound = calls/target x latency x targets / concurrency; peak heap includes the in-process simulator")
	if err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	return nil
}

// startHeapSampler samples the live heap every 10 ms until the returned
// function is called, which returns the peak seen.
func startHeapSampler() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	var (
		mu   sync.Mutex
		peak = read()
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				v := read()
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return max(peak, read())
	}
}
