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
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"

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
	// BucketOwner is the account that must own Bucket (every call names
	// it as ExpectedBucketOwner); empty names none.
	BucketOwner string
	// Settings are the summary's thresholds (compliance's defaults).
	Settings compliance.Settings
	// SecurityHub sends the run's findings to the management account's
	// Security Hub in the function's region, and archives those of the
	// previous run that are resolved (docs/compliance.md).
	SecurityHub bool
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
	// Findings are the Ids of the Security Hub findings that may be active:
	// the next run archives those it does not raise again. A run with
	// Security Hub off carries them over unchanged.
	Findings []string `json:"findings,omitempty"`
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

// The bounds on what previousRun reads back: the state object is a few
// hundred bytes, and about 75 bytes more per Security Hub finding kept
// (32 MiB: some 400,000 findings, two per node of 200,000 nodes); the
// records of 200,000 nodes are about 17 MiB compressed.
const (
	maxLatestRunBytes      = 32 << 20
	maxPreviousRecordBytes = 512 << 20
)

// ObjectGetter is the one S3 call that reads the latest-run state.
type ObjectGetter interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ ObjectGetter = (*s3.Client)(nil)

// readLatestRun reads the latest-run state object; nil before the first
// run. The read names owner as the bucket's expected owner and is bounded.
func readLatestRun(ctx context.Context, client ObjectGetter, bucket, owner string) (*latestRun, error) {
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(LatestRun), ExpectedBucketOwner: ownerOrNil(owner)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, LatestRun, err)
	}
	defer obj.Body.Close()
	var last latestRun
	if err := json.NewDecoder(io.LimitReader(obj.Body, maxLatestRunBytes)).Decode(&last); err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, LatestRun, err)
	}
	return &last, nil
}

// PreviousFindings are the Ids of the Security Hub findings the latest
// report run in bucket left active (none before the first run, or when no
// run sent findings): what `orgpatch report --securityhub --bucket`
// archives when they are resolved.
func PreviousFindings(ctx context.Context, client ObjectGetter, bucket, owner string) ([]string, error) {
	last, err := readLatestRun(ctx, client, bucket, owner)
	if last == nil || err != nil {
		return nil, err
	}
	return last.Findings, nil
}

// previousRun reads the latest complete run: its state object, then its
// records into a temporary file. None on the first run. Every read names
// owner as the bucket's expected owner and is bounded in size.
func previousRun(ctx context.Context, client ReportS3API, bucket, owner string) (*latestRun, *compliance.Previous, error) {
	last, err := readLatestRun(ctx, client, bucket, owner)
	if last == nil || err != nil {
		return nil, nil, err
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(last.Keys.Records), ExpectedBucketOwner: ownerOrNil(owner)})
	if err != nil {
		return nil, nil, fmt.Errorf("read the previous run's records s3://%s/%s: %w", bucket, last.Keys.Records, err)
	}
	defer obj.Body.Close()
	if n := aws.ToInt64(obj.ContentLength); n > maxPreviousRecordBytes {
		return nil, nil, fmt.Errorf("the previous run's records s3://%s/%s hold %d bytes, more than the %d the report reads back", bucket, last.Keys.Records, n, maxPreviousRecordBytes)
	}
	prev, err := compliance.LoadPrevious(io.LimitReader(obj.Body, maxPreviousRecordBytes), "")
	if err != nil {
		return nil, nil, fmt.Errorf("s3://%s/%s: %w", bucket, last.Keys.Records, err)
	}
	return last, prev, nil
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
	var findings *findingsOutcome
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
		last, prev, err := previousRun(ctx, client, bucket, h.deps.Report.BucketOwner)
		if err != nil {
			return nil, err
		}
		defer prev.Close()
		var previous []string
		if last != nil {
			previous = last.Findings
		}
		hub, err := h.findingsSink(ctx, log, now)
		if err != nil {
			return nil, err
		}
		keys := NewReportKeys(runID, now)
		if last != nil && last.RunId == runID {
			keys = last.Keys // a retry: the same objects
		}
		records := compliance.NewS3Upload(ctx, client, bucket, keys.Records, compliance.Object{Owner: h.deps.Report.BucketOwner, ContentType: "application/x-ndjson", Gzip: true})
		export := compliance.NewS3Upload(ctx, client, bucket, keys.CSV, compliance.Object{Owner: h.deps.Report.BucketOwner, ContentType: "text/csv; charset=utf-8", Gzip: true, ContentEncoding: "gzip"})
		csvSink, csvFlush := compliance.CSV(export)
		abort := func(err error) error { return errors.Join(err, records.Abort(err), export.Abort(err)) }
		s, err := compliance.Run(ctx, compliance.Env{
			Management: h.deps.Management, Config: cfg, Settings: h.deps.Report.Settings, RunId: runID, Previous: prev,
			Sink: func(r *compliance.Record) error {
				if hub != nil {
					hub.Add(ctx, *r)
				}
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
			page := compliance.NewS3Upload(ctx, client, bucket, key, compliance.Object{Owner: h.deps.Report.BucketOwner, ContentType: "text/html; charset=utf-8"})
			if err := s.WriteHTML(page); err != nil {
				return nil, errors.Join(err, page.Abort(err))
			}
			if err := page.Close(); err != nil {
				return nil, err
			}
		}
		state := latestRun{RunId: runID, Keys: keys, Generated: now, Findings: previous}
		if hub != nil {
			findings = closeFindings(ctx, log, hub, previous)
			state.Findings = findings.Ids
		}
		body, err := json.Marshal(state)
		if err != nil {
			return nil, err
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(LatestRun), Body: bytes.NewReader(body),
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
		if findings != nil {
			res.Summary += "; " + findings.String()
		}
		if werr := writeComplianceMetrics(h.metrics, h.clock.Now(), *sum, findings); werr != nil {
			log.Warn("compliance metrics not written", "error", werr)
		}
	}
	h.finish(log, &res, nil, err, start)
	return res, err
}

// findingsOutcome is what the run's Security Hub findings came to.
type findingsOutcome struct {
	compliance.FindingsResult
	Err error // the import that failed, if one did
}

// String says it in the run's summary.
func (o findingsOutcome) String() string {
	if o.Err != nil {
		return "Security Hub import failed: " + o.Err.Error()
	}
	return o.FindingsResult.String()
}

// findingsSink is the run's Security Hub sink, nil when Security Hub is
// off. Its home is the function's own (the management) account in the
// function's region.
func (h *Handler) findingsSink(ctx context.Context, log *slog.Logger, now time.Time) (*compliance.FindingsSink, error) {
	if !h.deps.Report.SecurityHub {
		return nil, nil
	}
	region := h.deps.Management.Region
	home, err := compliance.CallerHome(ctx, sts.NewFromConfig(h.deps.Management), region)
	if err != nil {
		return nil, err
	}
	log.Info("security hub findings on", "home", home.ProductArn())
	return compliance.NewFindingsSink(securityhub.NewFromConfig(h.deps.Management), home, now), nil
}

// closeFindings archives the resolved findings of previous and logs what
// the findings came to. A failed import is logged and reported, not an
// error of the run: the records and page are written either way.
func closeFindings(ctx context.Context, log *slog.Logger, hub *compliance.FindingsSink, previous []string) *findingsOutcome {
	res, err := hub.Close(ctx, previous)
	out := &findingsOutcome{FindingsResult: res, Err: err}
	attrs := []any{"active", res.Active, "archived", res.Archived, "refused", len(res.Failed), "unread", res.Unread}
	switch {
	case err != nil:
		log.Error("security hub findings not all imported; the report is written", append(attrs, "error", err)...)
	case len(res.Failed) > 0:
		log.Warn("security hub refused findings", append(attrs, "first", res.Failed[0].Id, "code", res.Failed[0].ErrorCode, "message", res.Failed[0].ErrorMessage)...)
	default:
		log.Info("security hub findings imported", attrs...)
	}
	return out
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
	// With Security Hub on: findings active and archived by the run, and
	// those not imported (refused, or after an import failed).
	MetricFindingsActive   = "ComplianceFindingsActive"
	MetricFindingsArchived = "ComplianceFindingsArchived"
	MetricFindingsFailed   = "ComplianceFindingsFailed"
)

// writeComplianceMetrics writes the summary's counts, and the findings'
// when Security Hub is on, as one embedded metric format line.
func writeComplianceMetrics(w io.Writer, now time.Time, s compliance.Summary, findings *findingsOutcome) error {
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
	if findings != nil {
		failed := len(findings.Failed)
		if findings.Err != nil {
			failed = findings.Active + findings.Archived // not known to be imported
		}
		values = append(values, []struct {
			name string
			v    int
		}{{MetricFindingsActive, findings.Active}, {MetricFindingsArchived, findings.Archived}, {MetricFindingsFailed, failed}}...)
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

// ownerOrNil is the ExpectedBucketOwner to send: none for an empty owner.
func ownerOrNil(owner string) *string {
	if owner == "" {
		return nil
	}
	return aws.String(owner)
}
