package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
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
	// Quotas throttle the simulated calls (sim.DefaultQuotas when nil).
	Quotas map[string]sim.Quota
	// Concurrency is the run's fan-out bound and its bound on calls in
	// flight (run.DefaultConcurrency).
	Concurrency int
	// Command, when set, is the orgpatch command (the binary and any
	// leading arguments) run as a separate process for each run, as
	// `orgpatch apply --endpoint URL ...` against the simulator in this
	// process, so that orgpatch's own CPU time and memory are measured
	// apart from the simulator's. Empty: the runs go through run.Run in
	// this process.
	Command []string
}

// Defaults: the scale of a large organization and AWS-like latency.
const (
	DefaultAccounts = 1000
	DefaultLatency  = 20 * time.Millisecond
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
	if o.Quotas == nil {
		o.Quotas = sim.DefaultQuotas()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = run.DefaultConcurrency
	}
	return o
}

// Result is one measured run.
type Result struct {
	Name    string
	Wall    time.Duration
	Targets int // account x region pairs whose windows were read
	Calls   int // every call answered, throttled ones included
	Reads   int // the calls that change nothing
	Writes  int // the writes that succeeded
	// PeakInFlight is the most calls the simulator answered at once;
	// Connections the connections it accepted during the run.
	PeakInFlight, Connections int
	Bound                     Bound
	// Process mode only: orgpatch's CPU time (user + system) and max RSS,
	// and the simulator's (this process's) CPU time during the run.
	CPU, SimulatorCPU time.Duration
	MaxRSS            int64 // bytes
	// Operations are the distinct service/operation pairs called.
	Operations []string
}

// PerTarget divides n by the targets.
func (r Result) PerTarget(n float64) float64 {
	if r.Targets == 0 {
		return 0
	}
	return n / float64(r.Targets)
}

// Ratio is Wall over the bound (1.0 would be a perfect run).
func (r Result) Ratio() float64 {
	if r.Bound.Max() <= 0 {
		return 0
	}
	return float64(r.Wall) / float64(r.Bound.Max())
}

// Run builds the organization, converges it twice (first everything to
// create, then nothing to do) and writes the table to out. It fails when a
// run fails a target or when the second run writes anything.
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
	// The listener first, so that separate orgpatch processes can be
	// started while this process is still small (see processRunner).
	hs := httptest.NewUnstartedServer(nil)
	defer hs.Close()
	converge, cleanup, err := opts.runner(ctx, "http://"+hs.Listener.Addr().String(), opts.config())
	if err != nil {
		return nil, err
	}
	defer cleanup()

	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: opts.Accounts, OUs: 10})
	srv, err := sim.New(org, sim.WithLatency(opts.Latency), sim.WithQuotas(opts.Quotas), sim.WithoutCallParams())
	if err != nil {
		return nil, fmt.Errorf("bench: start simulator: %w", err)
	}
	hs.Config.Handler = srv
	hs.Config.ConnState = srv.ConnState
	hs.Start()

	var results []Result
	for _, name := range runs {
		srv.ResetCalls()
		srv.ResetPeakInFlight()
		writesBefore, connsBefore := srv.Writes(), srv.Connections()
		simBefore := selfCPU()
		start := time.Now()
		usage, err := converge()
		wall := time.Since(start)
		if err != nil {
			return results, fmt.Errorf("bench: %s run: %w", name, err)
		}
		res := Result{
			Name:         name,
			Wall:         wall,
			Writes:       srv.Writes() - writesBefore,
			PeakInFlight: srv.PeakInFlight(),
			Connections:  srv.Connections() - connsBefore,
			CPU:          usage.cpu,
			MaxRSS:       usage.maxRSS,
		}
		if opts.Command != nil {
			res.SimulatorCPU = selfCPU() - simBefore
		}
		calls := srv.Calls() // a copy of the run's log: 600,000 calls at 3,000 accounts
		res.count(calls)
		res.Bound = computeBound(calls, opts.Latency, opts.Concurrency, srv.Quota)
		results = append(results, res)
	}
	if w := results[1].Writes; w != 0 {
		return results, fmt.Errorf("bench: the second run made %d writes on a converged organization, want 0", w)
	}
	return results, nil
}

// start builds the organization of opts and serves it on loopback, and
// returns the management account's run environment against it (the
// distributed mode's Discover and Summarize run in this process).
func start(ctx context.Context, opts Options) (*env, error) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: opts.Accounts, OUs: 10})
	srv, err := sim.New(org, sim.WithLatency(opts.Latency), sim.WithQuotas(opts.Quotas), sim.WithoutCallParams())
	if err != nil {
		return nil, fmt.Errorf("bench: start simulator: %w", err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ConnState = srv.ConnState
	hs.Start()
	renv, err := opts.localEnv(ctx, hs.URL, opts.config())
	if err != nil {
		hs.Close()
		return nil, err
	}
	return &env{srv: srv, url: hs.URL, close: hs.Close, env: renv}, nil
}

// config is the configuration the benchmark converges to: the default
// one in opts' regions, whatever Control Tower governs.
func (o Options) config() config.Config {
	cfg := config.Default()
	cfg.Regions = o.Regions
	cfg.ControlTowerRegionsOnly = false
	return cfg
}

// localEnv is the run environment of this process against the simulator
// at url, as the management account: o.Concurrency bounds both the targets
// at once and the calls in flight.
func (o Options) localEnv(ctx context.Context, url string, cfg config.Config) (run.Env, error) {
	mgmt, err := awsconf.Load(ctx, awsconf.Options{
		Region:          "us-east-1",
		Endpoint:        url,
		AccessKeyID:     sim.ManagementAccessKeyID,
		SecretAccessKey: sim.ManagementSecretAccessKey,
		Concurrency:     o.Concurrency,
	})
	if err != nil {
		return run.Env{}, fmt.Errorf("bench: %w", err)
	}
	return run.Env{
		Management:  mgmt,
		Config:      cfg,
		Concurrency: o.Concurrency,
		Logger:      slog.New(slog.DiscardHandler),
	}, nil
}

// count fills in the figures taken from the call log.
func (r *Result) count(calls []sim.Call) {
	targets := map[string]bool{}
	ops := map[string]bool{}
	for _, c := range calls {
		r.Calls++
		if !c.Write {
			r.Reads++
		}
		if c.Service == sim.ServiceSSM && c.Operation == "DescribeMaintenanceWindows" {
			targets[c.Account+"/"+c.Region] = true
		}
		ops[c.Service+"/"+c.Operation] = true
	}
	r.Targets = len(targets)
	r.Operations = slices.Sorted(maps.Keys(ops))
}

// usage is what a separate orgpatch process used.
type usage struct {
	cpu    time.Duration
	maxRSS int64
}

// runner returns the function that converges the organization once, and
// the one that cleans up after the last run.
func (o Options) runner(ctx context.Context, url string, cfg config.Config) (converge func() (usage, error), cleanup func(), err error) {
	if len(o.Command) > 0 {
		return o.processRunner(ctx, url, cfg)
	}
	env, err := o.localEnv(ctx, url, cfg)
	if err != nil {
		return nil, nil, err
	}
	return func() (usage, error) {
		rep := run.Run(ctx, env, run.Request{Mode: reconcile.Converge})
		if err := rep.Err(); err != nil {
			return usage{}, errors.New(rep.Summary(2000))
		}
		return usage{}, nil
	}, func() {}, nil
}

// runs are the runs Measure makes: create, then no change.
var runs = []string{"first (create)", "second (no change)"}

// processRunner runs `orgpatch apply` against url, as an operator would,
// with the text report (written to nowhere), once per run.
//
// Linux starts a child sharing its parent's memory until it execs, and
// counts the parent's resident set into the child's max RSS at that exec;
// every child is therefore started at once, while this process holds no
// simulator yet, as a shell waiting for a line on its standard input
// before it execs orgpatch.
func (o Options) processRunner(ctx context.Context, url string, cfg config.Config) (func() (usage, error), func(), error) {
	doc, err := cfg.JSON()
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	dir, err := os.MkdirTemp("", "orgpatch-bench-")
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	type child struct {
		cmd    *exec.Cmd
		start  io.WriteCloser
		stderr *bytes.Buffer
	}
	var children []child
	cleanup := func() {
		for _, c := range children {
			c.start.Close() // a shell not started reads EOF and exits
			_ = c.cmd.Wait()
		}
		os.RemoveAll(dir)
	}
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	args := append([]string{"-c", `read go && exec "$0" "$@"`}, o.Command...)
	args = append(args, "apply", "--endpoint", url, "--region", "us-east-1",
		"--config", file, "--concurrency", strconv.Itoa(o.Concurrency))
	for range runs {
		c := child{cmd: exec.CommandContext(ctx, "/bin/sh", args...), stderr: &bytes.Buffer{}}
		c.cmd.Env = append(os.Environ(),
			"AWS_ACCESS_KEY_ID="+sim.ManagementAccessKeyID, "AWS_SECRET_ACCESS_KEY="+sim.ManagementSecretAccessKey,
			"AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
			"AWS_EC2_METADATA_DISABLED=true")
		c.cmd.Stdout, c.cmd.Stderr = io.Discard, c.stderr
		if c.start, err = c.cmd.StdinPipe(); err == nil {
			err = c.cmd.Start()
		}
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("bench: start %s: %w", o.Command[0], err)
		}
		children = append(children, c)
	}
	next := 0
	return func() (usage, error) {
		c := children[next]
		next++
		name := strings.Join(c.cmd.Args[3:], " ")
		if _, err := io.WriteString(c.start, "go\n"); err != nil {
			return usage{}, fmt.Errorf("%s: %w", name, err)
		}
		runErr := c.cmd.Wait()
		var u usage
		if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			u.maxRSS = ru.Maxrss << 10 // KiB on Linux
		}
		if runErr != nil {
			return u, fmt.Errorf("%s: %w: %s", name, runErr, lastLines(c.stderr.String(), 20))
		}
		return u, nil
	}, cleanup, nil
}

// selfCPU is this process's CPU time so far (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lastLines is the end of s, at most n lines.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// WriteTable prints the results with the conditions they were measured in.
func WriteTable(out io.Writer, opts Options, results []Result) error {
	opts = opts.withDefaults()
	mode := "orgpatch and the simulator in one process (run.Run)"
	if len(opts.Command) > 0 {
		mode = "orgpatch apply in its own process, the simulator in the bench's"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "organization: %d accounts (+ management) x %d regions; latency %s per call; concurrency %d; %s\n",
		opts.Accounts, len(opts.Regions), opts.Latency, opts.Concurrency, mode)
	writeQuotas(&b, opts.Quotas, usedQuotas(results))
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "run\twall\ttargets\tcalls\tcalls/target\treads/target\twrites\tpeak in flight\tnew connections\tbound\tbinds\twall/bound\t"
	if len(opts.Command) > 0 {
		header += "orgpatch CPU s\tCPU ms/target\torgpatch max RSS MiB\tsimulator CPU s\t"
	}
	fmt.Fprintln(tw, header)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.1f\t%d\t%d\t%d\t%s\t%s\t%.2f\t",
			r.Name, round(r.Wall), r.Targets, r.Calls, r.PerTarget(float64(r.Calls)), r.PerTarget(float64(r.Reads)), r.Writes,
			r.PeakInFlight, r.Connections, round(r.Bound.Max()), r.Bound.Binds(), r.Ratio())
		if len(opts.Command) > 0 {
			fmt.Fprintf(tw, "%.1f\t%.2f\t%.0f\t%.1f\t", r.CPU.Seconds(), r.PerTarget(float64(r.CPU)/float64(time.Millisecond)),
				float64(r.MaxRSS)/(1<<20), r.SimulatorCPU.Seconds())
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	b.WriteString("\nbound = the largest of: fan-out (calls x latency / concurrency), chain (the longest run of dependent calls in one target x latency), throttle (per bucket, (calls let through - burst) / rate)\n")
	for _, r := range results {
		fmt.Fprintf(&b, "  %s: %s\n", r.Name, r.Bound.Terms(opts.Latency, opts.Concurrency))
	}
	if _, err := io.WriteString(out, b.String()); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	return nil
}

// writeQuotas lists the quotas of ops ("service/operation").
func writeQuotas(b *strings.Builder, quotas map[string]sim.Quota, ops []string) {
	fmt.Fprintf(b, "quotas of the operations called (per caller account x region x operation):\n")
	for _, op := range ops {
		service, name, _ := strings.Cut(op, "/")
		if q, ok := sim.QuotaOf(quotas, service, name); ok {
			fmt.Fprintf(b, "  %-45s %6g/s burst %4d  %s\n", op, q.Rate, q.Burst, q.Source)
		} else {
			fmt.Fprintf(b, "  %-45s not throttled\n", op)
		}
	}
}

// usedQuotas lists the operations the runs called.
func usedQuotas(results []Result) []string {
	ops := map[string]bool{}
	for _, r := range results {
		for _, op := range r.Operations {
			ops[op] = true
		}
	}
	return slices.Sorted(maps.Keys(ops))
}
