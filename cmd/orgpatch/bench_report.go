package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/orgpatch/orgpatch/internal/bench"
	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
)

const benchReportSummary = "time `orgpatch report` over a large simulated organization, simulator and report in separate processes"

func benchReportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench report", "", benchReportSummary, stdout)
	accounts := fs.Int("accounts", 999, "member accounts besides the management account (1..100000)")
	regions := fs.Int("regions", len(config.DefaultRegions), fmt.Sprintf("regions, the first N of the default list (1..%d)", len(config.DefaultRegions)))
	perTarget := fs.Int("nodes", 10, "machines per account x region (1..1000)")
	concurrency := fs.Int("concurrency", compliance.DefaultConcurrency, "targets read at once (1..1000)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	problem := orgSizeProblem(fs, *accounts, *regions)
	switch {
	case problem != "":
	case *perTarget < 1 || *perTarget > 1000:
		problem = fmt.Sprintf("-nodes %d: want 1..1000", *perTarget)
	case *concurrency < 1 || *concurrency > 1000:
		problem = fmt.Sprintf("-concurrency %d: want 1..1000", *concurrency)
	}
	if problem != "" {
		fmt.Fprintf(stderr, "orgpatch bench report: %s (see orgpatch bench report -h)\n", problem)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch bench report: %v\n", err)
		return 1
	}
	o := bench.ReportOptions{Binary: self, Accounts: *accounts, Regions: config.DefaultRegions[:*regions], Nodes: *perTarget, Concurrency: *concurrency}
	res, err := bench.Report(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch bench report: %v\n", err)
		return 1
	}
	if err := bench.WriteReportTable(stdout, o, res); err != nil {
		fmt.Fprintf(stderr, "orgpatch bench report: %v\n", err)
		return 1
	}
	return 0
}
