package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/orgpatch/orgpatch/internal/bench"
	"github.com/orgpatch/orgpatch/internal/config"
	runs "github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
)

const benchSummary = "converge a large simulated organization twice and print the timings"

// benchCmd runs internal/bench: exit 1 when a run fails a target or the
// second run writes anything.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", "", benchSummary, stdout)
	accounts := fs.Int("accounts", bench.DefaultAccounts, "member accounts (1..100000)")
	regions := fs.Int("regions", len(config.DefaultRegions), fmt.Sprintf("regions, the first N of the default list (1..%d)", len(config.DefaultRegions)))
	latency := fs.Duration("latency", bench.DefaultLatency, "simulated latency of every call")
	rate := fs.Float64("throttle-rate", 0, "calls per second allowed per account x region x API, for every API; AWS's documented quotas (and the simulator's named assumptions) when 0")
	burst := fs.Int("throttle-burst", 0, "burst allowed per account x region x API, with -throttle-rate")
	concurrency := fs.Int("concurrency", runs.DefaultConcurrency, "targets worked on at once, and API calls in flight (1..1000), in each worker with -workers")
	process := fs.Bool("process", false, "run each converge as `orgpatch apply` in its own process, to measure orgpatch's CPU time and memory apart from the simulator's")
	workers := fs.Int("workers", 0, "run as the deployed state machine does: discover, each batch of accounts in its own worker process (orgpatch invoke), at most `N` at once, summarize; measures each batch's wall time and the worker's max RSS (0: one run, twice)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	problem := orgSizeProblem(fs, *accounts, *regions)
	switch {
	case problem != "":
	case *latency <= 0:
		problem = fmt.Sprintf("-latency %s: want a positive duration such as 20ms", *latency)
	case *rate < 0:
		problem = fmt.Sprintf("-throttle-rate %g: want a positive number, or 0 for AWS's quotas", *rate)
	case *rate > 0 && *burst < 1:
		problem = fmt.Sprintf("-throttle-burst %d: want 1 or more with -throttle-rate", *burst)
	case *rate == 0 && *burst != 0:
		problem = fmt.Sprintf("-throttle-burst %d: only with -throttle-rate", *burst)
	case *concurrency < 1 || *concurrency > 1000:
		problem = fmt.Sprintf("-concurrency %d: want 1..1000", *concurrency)
	case *workers < 0 || *workers > 1000:
		problem = fmt.Sprintf("-workers %d: want 0..1000", *workers)
	case *process && *workers > 0:
		problem = "-process with -workers: every batch already runs in its own worker process; give one of them"
	}
	if problem != "" {
		fmt.Fprintf(stderr, "orgpatch bench: %s (see orgpatch bench -h)\n", problem)
		return 2
	}
	opts := bench.Options{
		Accounts:    *accounts,
		Regions:     config.DefaultRegions[:*regions],
		Latency:     *latency,
		Concurrency: *concurrency,
	}
	if *rate > 0 {
		opts.Quotas = map[string]sim.Quota{}
		for service := range sim.DefaultQuotas() {
			opts.Quotas[service] = sim.Quota{Rate: *rate, Burst: *burst, Source: "-throttle-rate and -throttle-burst"}
		}
	}
	if *process {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "orgpatch bench: -process: %v\n", err)
			return 1
		}
		opts.Command = []string{self}
	}
	if *workers > 0 {
		return benchDistributed(ctx, opts, *workers, stdout, stderr)
	}
	if err := bench.Run(ctx, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "orgpatch bench: %v\n", err)
		return 1
	}
	return 0
}

// benchProjection is the organization size the distributed figures are
// projected to when the measured one is smaller.
const benchProjection = 10000

// benchDistributed measures a whole-organization run with each batch in a
// worker process: this executable's `invoke -`, the Lambda handler.
func benchDistributed(ctx context.Context, opts bench.Options, workers int, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch bench: %v\n", err)
		return 1
	}
	worker := func(ctx context.Context, endpoint string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, exe, "invoke", "--endpoint", endpoint, "--region", "us-east-1",
			"--concurrency", strconv.Itoa(opts.Concurrency), "-max-memory", "-")
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+sim.ManagementAccessKeyID, "AWS_SECRET_ACCESS_KEY="+sim.ManagementSecretAccessKey)
		return cmd
	}
	res, err := bench.MeasureDistributed(ctx, opts, workers, worker)
	project := 0
	if opts.Accounts < benchProjection {
		project = benchProjection
	}
	if len(res.Batches) > 0 {
		if werr := bench.WriteDistributedTable(stdout, opts, res, project); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch bench: %v\n", err)
		return 1
	}
	return 0
}

// orgSizeProblem is what is wrong with the arguments and the simulated
// organization's size that every bench takes, "" when nothing is.
func orgSizeProblem(fs *flagSet, accounts, regions int) string {
	switch {
	case fs.NArg() > 0:
		return fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case accounts < 1 || accounts > 100000:
		return fmt.Sprintf("-accounts %d: want 1..100000", accounts)
	case regions < 1 || regions > len(config.DefaultRegions):
		return fmt.Sprintf("-regions %d: want 1..%d", regions, len(config.DefaultRegions))
	}
	return ""
}
