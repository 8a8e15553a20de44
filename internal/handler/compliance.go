package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

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
	// BucketOwner is the account that must own Bucket (every write names
	// it as ExpectedBucketOwner); empty names none.
	BucketOwner string
	// Settings are the summary's thresholds (compliance's defaults).
	Settings compliance.Settings
}

// The report's objects: records under date partitions an Athena table
// reads (dt=YYYY-MM-DD, projected by the Glue table), and the page, dated
// and as the latest.
const (
	RecordsPrefix = names.ReportRecordsPrefix
	PagesPrefix   = names.ReportPagesPrefix
	LatestPage    = PagesPrefix + "latest.html"
)

// ReportKeys are the object keys of a report run started at t.
func ReportKeys(t time.Time) (records, page string) {
	t = t.UTC()
	stamp := t.Format("20060102T150405Z")
	dt := "dt=" + t.Format("2006-01-02") + "/"
	return RecordsPrefix + dt + "compliance-" + stamp + ".jsonl", PagesPrefix + dt + "compliance-" + stamp + ".html"
}

// complianceReport runs a report of the whole organization: records stream
// to S3 as targets finish, then the page is written, then the counts go out
// as metrics. Targets that could not be read fail the invocation (after the
// rest was written), so Lambda's retry and the dead-letter alarm see it.
func (h *Handler) complianceReport(ctx context.Context, log *slog.Logger, req trigger.Request, start time.Time) (any, error) {
	res := Result{Trigger: req.Source, Action: req.Action, Reason: req.Reason}
	var sum *compliance.Summary
	_, err := h.guarded(ctx, log, func(ctx context.Context) (*report.Report, error) {
		if h.deps.Report.Bucket == "" {
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
		recordsKey, pageKey := ReportKeys(h.clock.Now())
		up := compliance.NewS3Upload(ctx, client, h.deps.Report.Bucket, h.deps.Report.BucketOwner, recordsKey, "application/x-ndjson")
		s, err := compliance.Run(ctx, compliance.Env{
			Management: h.deps.Management, Config: cfg, Sink: up.Sink, Settings: h.deps.Report.Settings,
			Concurrency: h.deps.Concurrency, TargetTimeout: h.deps.TargetTimeout, Logger: log, Now: h.clock.Now,
		})
		if err != nil {
			return nil, errors.Join(err, up.Abort(err))
		}
		if err := up.Close(); err != nil {
			return nil, err
		}
		for _, key := range []string{pageKey, LatestPage} {
			page := compliance.NewS3Upload(ctx, client, h.deps.Report.Bucket, h.deps.Report.BucketOwner, key, "text/html; charset=utf-8")
			if err := s.WriteHTML(page); err != nil {
				return nil, errors.Join(err, page.Abort(err))
			}
			if err := page.Close(); err != nil {
				return nil, err
			}
		}
		log.Info("compliance report written", "bucket", h.deps.Report.Bucket, "records", recordsKey, "page", pageKey,
			"nodes", s.Organization.Nodes, "nonCompliant", s.Organization.NonCompliant, "targets", s.Targets, "failed", s.Failed)
		sum = &s
		return nil, nil
	})
	if err == nil && sum != nil && sum.Failed > 0 {
		err = fmt.Errorf("%d account x region targets could not be read; first: %s %s: %s", sum.Failed, sum.Failures[0].Account, sum.Failures[0].Region, sum.Failures[0].Error)
	}
	if sum != nil {
		res.Summary = fmt.Sprintf("%d managed nodes: %d compliant, %d non-compliant, %d not scanned within %d days, %d EC2 instances not managed; %d targets read, %d not readable",
			sum.Organization.Nodes, sum.Organization.Compliant, sum.Organization.NonCompliant, sum.Organization.NotScanned, sum.StaleAfterDays,
			sum.Organization.Unmanaged, sum.Targets, sum.Failed)
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
		{MetricNonCompliantCritical, c.Critical}, {MetricNonCompliantHigh, c.High}, {MetricNotScanned, c.NotScanned},
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
