package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/names"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// ReportSettings configure the compliance report run.
type ReportSettings struct {
	// Bucket receives the records and the page; the report run fails
	// without one.
	Bucket string
	// Settings are the summary's thresholds (compliance's defaults).
	Settings compliance.Settings
}

// The report's objects: each run's records (gzip-compressed JSON Lines)
// under date partitions an Athena table reads (dt=YYYY-MM-DD, projected by
// the Glue table), named by the run's id so that a retried run replaces
// its first attempt; the page and the full CSV export beside it, dated and
// as the latest; and the latest complete run, which the next run reads.
const (
	RecordsPrefix = names.ReportRecordsPrefix
	PagesPrefix   = names.ReportPagesPrefix
	StatePrefix   = names.ReportStatePrefix
	LatestPage    = PagesPrefix + "latest.html"
	LatestRun     = StatePrefix + "latest-run.json"
)

// ReportKeys are the object keys of report run runID started at t.
type ReportKeys struct {
	Records, Page, CSV string
}

// NewReportKeys names the objects of run runID captured at t.
func NewReportKeys(runID string, t time.Time) ReportKeys {
	dt := "dt=" + t.UTC().Format("2006-01-02") + "/"
	return ReportKeys{Records: RecordsPrefix + dt + runID + ".jsonl.gz", Page: PagesPrefix + dt + runID + ".html", CSV: PagesPrefix + dt + runID + ".csv"}
}

// latestRun is the state object naming the latest complete run.
type latestRun struct {
	RunId     string     `json:"runId"`
	Keys      ReportKeys `json:"keys"`
	Generated time.Time  `json:"generated"`
}

// reportRunID names the run after its trigger's delivery (the EventBridge
// event id), which Lambda's retries of the same event keep; without one,
// or one unfit for a key, after the time.
func reportRunID(req trigger.Request, now time.Time) string {
	if compliance.ValidRunID(req.ID) {
		return req.ID
	}
	return now.UTC().Format("20060102T150405Z")
}

// ReportS3API is what the report run does with its bucket.
type ReportS3API interface {
	transfermanager.S3APIClient
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ ReportS3API = (*s3.Client)(nil)

// previousRun reads the latest complete run: its state object, then its
// records into a temporary file. None on the first run.
func previousRun(ctx context.Context, client ReportS3API, bucket string) (*latestRun, *compliance.Previous, error) {
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(LatestRun)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read s3://%s/%s: %w", bucket, LatestRun, err)
	}
	var last latestRun
	err = json.NewDecoder(obj.Body).Decode(&last)
	obj.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read s3://%s/%s: %w", bucket, LatestRun, err)
	}
	obj, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(last.Keys.Records)})
	if err != nil {
		return nil, nil, fmt.Errorf("read the previous run's records s3://%s/%s: %w", bucket, last.Keys.Records, err)
	}
	defer obj.Body.Close()
	prev, err := compliance.LoadPrevious(obj.Body, "")
	if err != nil {
		return nil, nil, fmt.Errorf("s3://%s/%s: %w", bucket, last.Keys.Records, err)
	}
	return &last, prev, nil
}

// complianceReport runs a report of the whole organization: records (and
// the CSV export) stream to S3 as targets finish, then the pages are
// written, then the latest-run state, then the counts go out as metrics.
// Targets that could not be read fail the invocation (after the rest was
// written), so Lambda's retry and the dead-letter alarm see it; the retry
// is the same run and replaces its objects.
func (h *Handler) complianceReport(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	res := Result{Trigger: req.Source, Action: req.Action, Reason: req.Reason}
	var sum *compliance.Summary
	_, err := h.guarded(ctx, log, func(ctx context.Context) (*report.Report, error) {
		bucket := h.deps.Report.Bucket
		if bucket == "" {
			return nil, errors.New("no report bucket configured (ORGPATCH_REPORT_BUCKET)")
		}
		// The deployed configuration says which role, regions and
		// accounts the report reads; without one it fails as the other
		// events do.
		cfg, err := h.store.load(ctx)
		if err != nil {
			return nil, err
		}
		client := compliance.NewS3Client(h.deps.Management)
		now := h.clock.Now()
		runID := reportRunID(req, now)
		last, prev, err := previousRun(ctx, client, bucket)
		if err != nil {
			return nil, err
		}
		defer prev.Close()
		keys := NewReportKeys(runID, now)
		if last != nil && last.RunId == runID {
			keys = last.Keys // a retry: the same objects
		}
		records := compliance.NewS3Upload(ctx, client, bucket, keys.Records, compliance.Object{ContentType: "application/x-ndjson", Gzip: true})
		export := compliance.NewS3Upload(ctx, client, bucket, keys.CSV, compliance.Object{ContentType: "text/csv; charset=utf-8", Gzip: true, ContentEncoding: "gzip"})
		csvSink, csvFlush := compliance.CSV(export)
		abort := func(err error) error { return errors.Join(err, records.Abort(err), export.Abort(err)) }
		s, err := compliance.Run(ctx, compliance.Env{
			Management: h.deps.Management, Config: cfg, Settings: h.deps.Report.Settings, RunId: runID, Previous: prev,
			Sink: func(r *compliance.Record) error {
				return errors.Join(records.Sink(r), csvSink(r))
			},
			Concurrency: h.deps.Concurrency, TargetTimeout: h.deps.TargetTimeout, Logger: log, Now: func() time.Time { return now },
		})
		if err == nil {
			err = csvFlush()
		}
		if err != nil {
			return nil, abort(err)
		}
		if err := errors.Join(records.Close(), export.Close()); err != nil {
			return nil, err
		}
		for key, href := range map[string]string{keys.Page: path.Base(keys.CSV), LatestPage: strings.TrimPrefix(keys.CSV, PagesPrefix)} {
			s.Export = href
			page := compliance.NewS3Upload(ctx, client, bucket, key, compliance.Object{ContentType: "text/html; charset=utf-8"})
			if err := s.WriteHTML(page); err != nil {
				return nil, errors.Join(err, page.Abort(err))
			}
			if err := page.Close(); err != nil {
				return nil, err
			}
		}
		state, err := json.Marshal(latestRun{RunId: runID, Keys: keys, Generated: now})
		if err != nil {
			return nil, err
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(LatestRun), Body: bytes.NewReader(state),
			ContentType: aws.String("application/json")}); err != nil {
			return nil, fmt.Errorf("write s3://%s/%s: %w", bucket, LatestRun, err)
		}
		log.Info("compliance report written", "bucket", bucket, "run", runID, "records", keys.Records, "page", keys.Page,
			"nodes", s.Organization.Nodes, "nonCompliant", s.Organization.NonCompliant, "targets", s.Targets, "failed", s.Failed,
			"reused", s.Reused, "looked", s.Looked)
		sum = &s
		return nil, nil
	})
	if err == nil && sum != nil && sum.Failed > 0 {
		err = fmt.Errorf("%d account x region targets could not be read; first: %s %s: %s", sum.Failed, sum.Failures[0].Account, sum.Failures[0].Region, sum.Failures[0].Error)
	}
	if sum != nil {
		o := sum.Organization
		res.Summary = fmt.Sprintf("%.1f%% of %d machines compliant and scanned within %d days; %d managed nodes: %d compliant, %d non-compliant (%d critical, %d past SLA), %d not scanned within %d days, %d EC2 instances not managed; %d targets read, %d not readable",
			o.Headline(), o.Machines(), sum.StaleAfterDays, o.Nodes, o.Compliant, o.NonCompliant, o.Critical, o.PastSLA, o.NotScanned, sum.StaleAfterDays,
			o.Unmanaged, sum.Targets, sum.Failed)
		if werr := writeComplianceMetrics(h.metrics, h.clock.Now(), *sum); werr != nil {
			log.Warn("compliance metrics not written", "error", werr)
		}
	}
	h.finish(log, &res, nil, err, start)
	return res, err
}

// The compliance metrics, organization-wide (no dimensions): what the
// optional alarm watches.
const (
	MetricComplianceNodes      = "ComplianceNodes"
	MetricComplianceCompliant  = "ComplianceCompliant"
	MetricNonCompliant         = names.MetricNonCompliant
	MetricNonCompliantCritical = "ComplianceNonCompliantCritical"
	MetricNonCompliantHigh     = "ComplianceNonCompliantHigh"
	MetricSecurity             = "ComplianceNonCompliantSecurity"
	MetricPastSLA              = names.MetricPastSLA
	MetricPastSLAPatches       = "CompliancePastSLAPatches"
	MetricCompliantCurrent     = "ComplianceCompliantCurrent"
	MetricNotScanned           = "ComplianceNotScanned"
	MetricOldAgent             = "ComplianceOldAgent"
	MetricConnectionLost       = "ComplianceConnectionLost"
	MetricUnmanaged            = "ComplianceUnmanaged"
	MetricUnmonitored          = names.MetricUnmonitored
	MetricReportTargetsFailed  = "ComplianceTargetsFailed"
)

// writeComplianceMetrics writes the summary's counts as one embedded
// metric format line.
func writeComplianceMetrics(w io.Writer, now time.Time, s compliance.Summary) error {
	c := s.Organization
	values := []struct {
		name string
		v    int
	}{
		{MetricComplianceNodes, c.Nodes}, {MetricComplianceCompliant, c.Compliant}, {MetricNonCompliant, c.NonCompliant},
		{MetricNonCompliantCritical, c.Critical}, {MetricNonCompliantHigh, c.High}, {MetricSecurity, c.Security},
		{MetricPastSLA, c.PastSLA}, {MetricPastSLAPatches, c.PastSLAPatches}, {MetricCompliantCurrent, c.CompliantCurrent}, {MetricNotScanned, c.NotScanned},
		{MetricOldAgent, c.OldAgent}, {MetricConnectionLost, c.ConnectionLost}, {MetricUnmanaged, c.Unmanaged},
		{MetricUnmonitored, c.Unmonitored}, {MetricReportTargetsFailed, s.Failed},
	}
	line := map[string]any{}
	metrics := make([]emfMetric, 0, len(values))
	for _, v := range values {
		line[v.name] = v.v
		metrics = append(metrics, emfMetric{v.name, "Count"})
	}
	line["_aws"] = emfMetadata{Timestamp: now.UnixMilli(), CloudWatchMetrics: []emfDirective{{
		Namespace: MetricsNamespace, Dimensions: [][]string{{}}, Metrics: metrics,
	}}}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
