package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/handler"
)

const reportSummary = "report the organization's patch compliance: a table, JSON, JSON Lines records, CSV, an HTML page"

var agentVersionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,3}$`)

// reportFlags are report's flags; the connection flags are converge's.
type reportFlags struct {
	conn      convergeFlags
	output    string
	htmlFile  string
	records   string
	csvFile   string
	previous  string
	runID     string
	staleDays int
	minAgent  string
	sla       string
	ownerTags string
	hub       bool
	bucket    string

	slaDays map[string]int // parsed from sla by check
}

func (f *reportFlags) register(fs *flagSet) {
	f.conn.registerConnection(fs, "configuration `file` (JSON or YAML) giving the role, regions and exclusions; the default configuration when empty", compliance.DefaultConcurrency)
	fs.StringVar(&f.output, "output", "text", "`format` on stdout: text (the summary table), json (the summary) or jsonl (one record per node)")
	fs.StringVar(&f.htmlFile, "html", "", "also write the summary as a self-contained HTML page to `file`")
	fs.StringVar(&f.records, "records", "", "also write the run's records (JSON Lines: coverage, one per node, the run) to `file`, gzip-compressed when it ends in .gz")
	fs.StringVar(&f.csvFile, "csv", "", "also write one CSV row per node to `file` (the full export)")
	fs.StringVar(&f.previous, "previous", "", "an earlier run's records `file` (--records of that run): reuse the patch lists of nodes not scanned since, keep first-seen dates, extend the trend")
	fs.StringVar(&f.runID, "run-id", "", "the run's `id` in every record; the capture time when empty")
	fs.StringVar(&f.sla, "sla", compliance.FormatSLADays(compliance.DefaultSLADays), "days a non-compliant patch may stay, by severity (`severity=days,...`); none: no SLA")
	fs.StringVar(&f.ownerTags, "owner-tags", strings.Join(compliance.DefaultOwnerTagKeys, ","), "EC2 tag `keys` copied into each record's OwnerTags, comma-separated")
	fs.IntVar(&f.staleDays, "stale-days", compliance.DefaultStaleAfterDays, "a node not scanned within this many `days` counts as not scanned (1..365)")
	fs.StringVar(&f.minAgent, "min-agent", compliance.DefaultMinAgentVersion, "SSM Agent `version` below which an agent counts as old")
	fs.BoolVar(&f.hub, "securityhub", false, "also send a finding per node past SLA, unmanaged, stale or with an old agent to the management account's Security Hub in --region (updated in place run to run); exit 1 if an import fails")
	fs.StringVar(&f.bucket, "bucket", "", "with --securityhub: the deployed report `bucket`, whose latest run's findings this run archives when it no longer raises them (read only; the bucket is not written). Without it nothing is archived")
}

// bucketName is an S3 general purpose bucket name.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

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
	var err error
	if f.slaDays, err = compliance.ParseSLADays(f.sla); err != nil {
		return fmt.Errorf("--sla %w", err)
	}
	if f.bucket != "" && !f.hub {
		return fmt.Errorf("--bucket %q: only with --securityhub (it names where the previous findings are)", f.bucket)
	}
	if f.bucket != "" && !bucketName.MatchString(f.bucket) {
		return fmt.Errorf("--bucket %q: want an S3 bucket name: 3 to 63 lowercase letters, digits, '.' or '-'", f.bucket)
	}
	if f.runID != "" && !compliance.ValidRunID(f.runID) {
		return fmt.Errorf("--run-id %q: want 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", f.runID)
	}
	f.conn.output = "text" // converge's check of its own --output
	return nil
}

// reportMemoryLimit is the report's soft memory limit: what 64 targets of
// 250 nodes in flight hold, and room for the collector.
const reportMemoryLimit = 60 << 20

// countingClient counts the requests an HTTP client sends.
type countingClient struct {
	aws.HTTPClient
	n atomic.Int64
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.HTTPClient.Do(r)
}

// ownerKeys splits the --owner-tags list; empty names no tag.
func ownerKeys(s string) []string {
	keys := []string{}
	for k := range strings.SplitSeq(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
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
	var prev *compliance.Previous
	if f.previous != "" {
		in, err := os.Open(f.previous)
		if err != nil {
			return fail(2, fmt.Errorf("--previous: %w", err))
		}
		prev, err = compliance.LoadPrevious(in, "")
		in.Close()
		if err != nil {
			return fail(2, fmt.Errorf("--previous %s: %w", f.previous, err))
		}
		defer prev.Close()
	}
	var page, records, csvOut *os.File
	for _, o := range []struct {
		flag, path string
		file       **os.File
	}{{"--html", f.htmlFile, &page}, {"--records", f.records, &records}, {"--csv", f.csvFile, &csvOut}} {
		if o.path == "" {
			continue
		}
		if *o.file, err = os.Create(o.path); err != nil {
			return fail(2, fmt.Errorf("%s: %w", o.flag, err))
		}
		defer (*o.file).Close()
	}

	// Each sink writes through a buffer; flushes run in order at the end,
	// a compressor's before the buffer under it.
	var sinks []func(*compliance.Record) error
	var flushes []func() error
	if f.output == "jsonl" {
		b := bufio.NewWriter(stdout)
		sinks, flushes = append(sinks, compliance.JSONLines(b)), append(flushes, b.Flush)
	}
	if records != nil {
		b := bufio.NewWriter(records)
		if strings.HasSuffix(f.records, ".gz") {
			gz := gzip.NewWriter(b)
			sinks, flushes = append(sinks, compliance.JSONLines(gz)), append(flushes, gz.Close, b.Flush)
		} else {
			sinks, flushes = append(sinks, compliance.JSONLines(b)), append(flushes, b.Flush)
		}
	}
	if csvOut != nil {
		b := bufio.NewWriter(csvOut)
		sink, flush := compliance.CSV(b)
		sinks, flushes = append(sinks, sink), append(flushes, flush, b.Flush)
	}
	logger := slog.New(slog.DiscardHandler)
	if f.conn.verbose {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	// What a report holds live is bounded by the targets in flight (their
	// responses and records); a soft limit keeps the collector from letting
	// garbage grow to twice that. GOMEMLIMIT, when set, decides instead.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(reportMemoryLimit)
	}
	// Every client derives from the management configuration, so counting
	// its HTTP client's requests counts the run's calls (retries included).
	calls := &countingClient{HTTPClient: s.mgmt.HTTPClient}
	s.mgmt.HTTPClient = calls
	hub, previous, err := f.findings(ctx, s.mgmt)
	if err != nil {
		return fail(1, err)
	}
	if hub != nil {
		sinks = append(sinks, func(r *compliance.Record) error { hub.Add(ctx, *r); return nil })
	}
	sum, err := compliance.Run(ctx, compliance.Env{
		Management: s.mgmt, Config: s.cfg, Concurrency: f.conn.concurrency, Logger: logger,
		Settings: compliance.Settings{StaleAfterDays: f.staleDays, MinAgentVersion: f.minAgent, SLADays: f.slaDays, OwnerTagKeys: ownerKeys(f.ownerTags)},
		RunId:    f.runID, Previous: prev,
		Sink: func(r *compliance.Record) error {
			for _, sink := range sinks {
				if err := sink(r); err != nil {
					return err
				}
			}
			return nil
		},
	})
	for _, flush := range flushes {
		if ferr := flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		return fail(1, err)
	}
	sum.Calls = int(calls.n.Load())
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
	for _, f := range []*os.File{records, csvOut} {
		if err == nil && f != nil {
			err = f.Close()
		}
	}
	if err != nil {
		return fail(1, err)
	}
	code := 0
	if hub != nil {
		res, err := hub.Close(ctx, previous)
		note := stdout
		if f.output != "text" {
			note = stderr // stdout is JSON
		}
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "orgpatch report: %v\n", err)
			code = 1
		case f.bucket == "":
			fmt.Fprintf(note, "\n%s (without --bucket no earlier finding is archived)\n", res)
		default:
			fmt.Fprintf(note, "\n%s\n", res)
		}
		for _, r := range res.Failed {
			fmt.Fprintf(stderr, "orgpatch report: Security Hub refused %s: %s: %s\n", r.Id, r.ErrorCode, r.ErrorMessage)
		}
	}
	if sum.Failed > 0 {
		return 1
	}
	return code
}

// findings is the Security Hub sink of a run with --securityhub (nil
// without), and the Ids of the findings the bucket's latest run left
// active, which it archives when resolved (none without --bucket). The
// home is the caller's account in the management configuration's region;
// it owns the deployed bucket.
func (f *reportFlags) findings(ctx context.Context, mgmt aws.Config) (*compliance.FindingsSink, []string, error) {
	if !f.hub {
		return nil, nil, nil
	}
	home, err := compliance.CallerHome(ctx, sts.NewFromConfig(mgmt), mgmt.Region)
	if err != nil {
		return nil, nil, err
	}
	var previous []string
	if f.bucket != "" {
		if previous, err = handler.PreviousFindings(ctx, compliance.NewS3Client(mgmt), f.bucket, home.Account); err != nil {
			return nil, nil, fmt.Errorf("--bucket: %w", err)
		}
	}
	return compliance.NewFindingsSink(securityhub.NewFromConfig(mgmt), home, time.Now()), previous, nil
}
