package handler

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/orgpatch/orgpatch/internal/names"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// MetricsNamespace is the CloudWatch namespace of orgpatch's metrics.
const MetricsNamespace = names.MetricsNamespace

// The metric names, as the dashboards and alarms know them.
const (
	MetricInvocations       = "Invocations"
	MetricInvocationErrors  = "InvocationErrors"
	MetricTargetsConverged  = "TargetsConverged"
	MetricTargetsUnchanged  = "TargetsUnchanged"
	MetricTargetsFailed     = "TargetsFailed"
	MetricTargetsPending    = "TargetsPending"
	MetricTargetsSkipped    = "TargetsSkipped"
	MetricTargetsNotStarted = "TargetsNotStarted"
	MetricWrites            = "Writes"
	MetricDuration          = "Duration"
)

// writeMetricPrefix prefixes the per-kind write counts: WritesCreate,
// WritesUpdate, WritesDelete, WritesReset.
const writeMetricPrefix = "Writes"

// writeKinds are the action kinds that are writes, in metric order.
var writeKinds = []string{"create", "update", "delete", "reset"}

// emfMetric and emfDirective are CloudWatch embedded metric format's
// metadata: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// writeMetrics writes one embedded-metric-format line for an invocation:
// per trigger and overall (an empty dimension set), the target counts, the
// writes in total and by kind, the duration, and whether it failed. rep is
// nil for an invocation that converged nothing (an ignored event, or one
// that failed before the run).
func writeMetrics(w io.Writer, now time.Time, src trigger.Source, rep *report.Report, failed bool, took time.Duration) error {
	values := map[string]float64{
		MetricInvocations:      1,
		MetricInvocationErrors: 0,
		MetricDuration:         float64(took.Milliseconds()),
	}
	if failed {
		values[MetricInvocationErrors] = 1
	}
	var c report.Counts
	writes := map[string]int{}
	if rep != nil {
		c = rep.Counts
		for _, t := range rep.Targets {
			for _, a := range t.Actions {
				writes[a.Kind]++
			}
		}
	}
	values[MetricTargetsConverged] = float64(c.Converged)
	values[MetricTargetsUnchanged] = float64(c.Unchanged)
	values[MetricTargetsFailed] = float64(c.Failed)
	values[MetricTargetsPending] = float64(c.Pending)
	values[MetricTargetsSkipped] = float64(c.Skipped)
	values[MetricTargetsNotStarted] = float64(c.NotStarted)
	values[MetricWrites] = float64(c.Writes)

	metrics := []emfMetric{
		{MetricInvocations, "Count"}, {MetricInvocationErrors, "Count"},
		{MetricTargetsConverged, "Count"}, {MetricTargetsUnchanged, "Count"}, {MetricTargetsFailed, "Count"},
		{MetricTargetsPending, "Count"}, {MetricTargetsSkipped, "Count"}, {MetricTargetsNotStarted, "Count"},
		{MetricWrites, "Count"},
	}
	for _, k := range writeKinds {
		name := writeMetricPrefix + upperFirst(k)
		values[name] = float64(writes[k])
		metrics = append(metrics, emfMetric{name, "Count"})
	}
	metrics = append(metrics, emfMetric{MetricDuration, "Milliseconds"})

	line := map[string]any{
		"_aws": emfMetadata{
			Timestamp: now.UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  MetricsNamespace,
				Dimensions: [][]string{{"Trigger"}, {}},
				Metrics:    metrics,
			}},
		},
		"Trigger": string(src),
	}
	for k, v := range values {
		line[k] = v
	}
	return writeEMFLine(w, line)
}

// writeEMFLine writes one embedded-metric-format line.
func writeEMFLine(w io.Writer, line map[string]any) error {
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// finish fills res from the run, logs the summary line and the metrics.
func (h *Handler) finish(log *slog.Logger, res *Result, rep *report.Report, err error, start time.Time) {
	if rep != nil {
		res.Report, res.Counts = rep, &rep.Counts
		res.Summary = rep.Summary(reasonBudgetDefault)
	}
	if err != nil && rep == nil {
		res.Summary = err.Error()
	}
	took := h.clock.Now().Sub(start)
	attrs := []any{"reason", res.Reason, "duration", took}
	if rep != nil {
		c := rep.Counts
		attrs = append(attrs, "targets", c.Targets, "converged", c.Converged, "unchanged", c.Unchanged,
			"failed", c.Failed, "skipped", c.Skipped, "pending", c.Pending, "notStarted", c.NotStarted, "writes", c.Writes)
	}
	switch {
	case err != nil && rep != nil:
		// Each failed target has its own log line; the summary names the first.
		log.Error("invocation finished with failures", append(attrs, "summary", res.Summary)...)
	case err != nil:
		log.Error("invocation failed", append(attrs, "error", err)...)
	default:
		log.Info("invocation finished", attrs...)
	}
	h.emit(log, res.Trigger, rep, err != nil, start)
}

// reasonBudgetDefault bounds the summary kept in Result and logs.
const reasonBudgetDefault = 3000

func (h *Handler) emit(log *slog.Logger, src trigger.Source, rep *report.Report, failed bool, start time.Time) {
	now := h.clock.Now()
	if err := writeMetrics(h.metrics, now, src, rep, failed, now.Sub(start)); err != nil {
		log.Warn("metrics not written", "error", err)
	}
}
