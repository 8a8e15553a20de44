package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"

	"github.com/orgpatch/orgpatch/internal/compliance"
)

const reportSummary = "report the organization's patch compliance: a table, JSON, JSON Lines records, an HTML page"

var agentVersionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,3}$`)

// reportFlags are report's flags; the connection flags are converge's.
type reportFlags struct {
	conn      convergeFlags
	output    string
	htmlFile  string
	records   string
	staleDays int
	minAgent  string
}

func (f *reportFlags) register(fs *flagSet) {
	fs.StringVar(&f.conn.endpoint, "endpoint", "", "`URL` of an AWS-compatible endpoint for every service (a simulator); AWS itself when empty")
	fs.StringVar(&f.conn.configFile, "config", "", "configuration `file` (JSON or YAML) giving the role, regions and exclusions; the default configuration when empty")
	fs.StringVar(&f.conn.region, "region", "", "home `region` of the management account; AWS_REGION when empty")
	fs.IntVar(&f.conn.concurrency, "concurrency", compliance.DefaultConcurrency, "account x region targets read at once, and API calls in flight (1..1000)")
	fs.BoolVar(&f.conn.verbose, "v", false, "log every target as JSON lines on stderr")
	fs.StringVar(&f.output, "output", "text", "`format` on stdout: text (the summary table), json (the summary) or jsonl (one record per node)")
	fs.StringVar(&f.htmlFile, "html", "", "also write the summary as a self-contained HTML page to `file`")
	fs.StringVar(&f.records, "records", "", "also write one JSON record per node (JSON Lines) to `file`")
	fs.IntVar(&f.staleDays, "stale-days", compliance.DefaultStaleAfterDays, "a node not scanned within this many `days` counts as not scanned (1..365)")
	fs.StringVar(&f.minAgent, "min-agent", compliance.DefaultMinAgentVersion, "SSM Agent `version` below which an agent counts as old")
}

// check validates report's own flags.
func (f *reportFlags) check() error {
	switch f.output {
	case "text", "json", "jsonl":
	default:
		return fmt.Errorf("--output %q: want text, json or jsonl", f.output)
	}
	if f.staleDays < 1 || f.staleDays > 365 {
		return fmt.Errorf("--stale-days %d: want a whole number from 1 to 365", f.staleDays)
	}
	if !agentVersionPattern.MatchString(f.minAgent) {
		return fmt.Errorf("--min-agent %q: want a dotted version such as 3.0.502", f.minAgent)
	}
	f.conn.output = "text" // converge's check of its own --output
	return nil
}

func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f reportFlags
	fs := newFlagSet("report", "", reportSummary, stdout)
	f.register(fs)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "orgpatch report: unexpected argument %q (see orgpatch report -h)\n", fs.Arg(0))
		return 2
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "orgpatch report: %v\n", err)
		return code
	}
	if err := f.check(); err != nil {
		return fail(2, err)
	}
	s, err := f.conn.validate(ctx)
	if err != nil {
		return fail(2, err)
	}
	// The files are opened before any AWS call, so a bad path costs nothing.
	var page, records *os.File
	for _, o := range []struct {
		flag, path string
		file       **os.File
	}{{"--html", f.htmlFile, &page}, {"--records", f.records, &records}} {
		if o.path == "" {
			continue
		}
		if *o.file, err = os.Create(o.path); err != nil {
			return fail(2, fmt.Errorf("%s: %w", o.flag, err))
		}
		defer (*o.file).Close()
	}

	var sinks []func(*compliance.Record) error
	var buffers []*bufio.Writer
	if f.output == "jsonl" {
		b := bufio.NewWriter(stdout)
		buffers = append(buffers, b)
		sinks = append(sinks, compliance.JSONLines(b))
	}
	if records != nil {
		b := bufio.NewWriter(records)
		buffers = append(buffers, b)
		sinks = append(sinks, compliance.JSONLines(b))
	}
	logger := slog.New(slog.DiscardHandler)
	if f.conn.verbose {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	sum, err := compliance.Run(ctx, compliance.Env{
		Management: s.mgmt, Config: s.cfg, Concurrency: f.conn.concurrency, Logger: logger,
		Settings: compliance.Settings{StaleAfterDays: f.staleDays, MinAgentVersion: f.minAgent},
		Sink: func(r *compliance.Record) error {
			for _, sink := range sinks {
				if err := sink(r); err != nil {
					return err
				}
			}
			return nil
		},
	})
	for _, b := range buffers {
		if ferr := b.Flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		return fail(1, err)
	}
	switch f.output {
	case "text":
		err = sum.WriteTable(stdout)
	case "json":
		err = sum.WriteJSON(stdout)
	}
	if err == nil && page != nil {
		if err = sum.WriteHTML(page); err == nil {
			err = page.Close()
		}
		if err == nil && f.output == "text" {
			fmt.Fprintf(stdout, "\nHTML page: %s\n", f.htmlFile)
		}
	}
	if err == nil && records != nil {
		err = records.Close()
	}
	if err != nil {
		return fail(1, err)
	}
	if sum.Failed > 0 {
		return 1
	}
	return 0
}
