package main

import (
	"context"
	"fmt"
	"io"

	"github.com/orgpatch/orgpatch/internal/bench"
	"github.com/orgpatch/orgpatch/internal/config"
	runs "github.com/orgpatch/orgpatch/internal/run"
)

const benchSummary = "converge a large simulated organization twice and print the timings"

// benchCmd runs internal/bench: exit 1 when a run fails a target or the
// second run writes anything.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", "", benchSummary, stdout)
	accounts := fs.Int("accounts", bench.DefaultAccounts, "member accounts (1..100000)")
	regions := fs.Int("regions", len(config.DefaultRegions), fmt.Sprintf("regions, the first N of the default list (1..%d)", len(config.DefaultRegions)))
	latency := fs.Duration("latency", bench.DefaultLatency, "simulated latency of every call")
	rate := fs.Float64("throttle-rate", bench.DefaultThrottleRate, "calls per second allowed per account x region x API")
	burst := fs.Int("throttle-burst", bench.DefaultThrottleBurst, "burst allowed per account x region x API")
	concurrency := fs.Int("concurrency", runs.DefaultConcurrency, "targets worked on at once (1..1000)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	var problem string
	switch {
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case *accounts < 1 || *accounts > 100000:
		problem = fmt.Sprintf("-accounts %d: want 1..100000", *accounts)
	case *regions < 1 || *regions > len(config.DefaultRegions):
		problem = fmt.Sprintf("-regions %d: want 1..%d", *regions, len(config.DefaultRegions))
	case *latency <= 0:
		problem = fmt.Sprintf("-latency %s: want a positive duration such as 20ms", *latency)
	case *rate <= 0:
		problem = fmt.Sprintf("-throttle-rate %g: want a positive number", *rate)
	case *burst < 1:
		problem = fmt.Sprintf("-throttle-burst %d: want 1 or more", *burst)
	case *concurrency < 1 || *concurrency > 1000:
		problem = fmt.Sprintf("-concurrency %d: want 1..1000", *concurrency)
	}
	if problem != "" {
		fmt.Fprintf(stderr, "orgpatch bench: %s (see orgpatch bench -h)\n", problem)
		return 2
	}
	opts := bench.Options{
		Accounts:      *accounts,
		Regions:       config.DefaultRegions[:*regions],
		Latency:       *latency,
		ThrottleRate:  *rate,
		ThrottleBurst: *burst,
		Concurrency:   *concurrency,
	}
	if err := bench.Run(ctx, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "orgpatch bench: %v\n", err)
		return 1
	}
	return 0
}
