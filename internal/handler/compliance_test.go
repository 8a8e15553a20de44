package handler_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// The report schedule's event writes the run's records (gzip JSON Lines)
// under a date partition, named by the run, the page and CSV export
// (dated and latest), the latest-run state, and the counts as metrics. A
// retry of the same event is the same run: it replaces the objects, so
// each node is counted once. The next run reads the previous one's
// records and reuses the patch lists of nodes not scanned since.
func TestComplianceReportWritesTheBucket(t *testing.T) {
	const bucket = "orgpatch-reports"
	x := newHarness(t, nil, func(d *handler.Deps) { d.Report.Bucket = bucket }, sim.WithNodesPerTarget(40)).withAllRoles(t)
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	x.deployed(t, cfg)
	ctx := context.Background()
	client := compliance.NewS3Client(x.sv.Config)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	keysOf := func() []string {
		list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range list.Contents {
			keys = append(keys, *o.Key)
		}
		return keys
	}
	items := func() int {
		return x.sv.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "ListComplianceItems" })
	}
	event := x.event(t, "compliance-report.json")
	res, err := x.invoke(t, event)
	if err != nil {
		t.Fatalf("report run: %v (%+v)", err, res)
	}
	if res.Action != "report" || !strings.Contains(res.Summary, "compliant and scanned within 7 days") {
		t.Errorf("result %+v", res)
	}
	first, looked := keysOf(), items()
	const run = "7bf73129-1428-4cd3-a780-95db273d1602"        // the event's id
	dt := "dt=" + time.Now().UTC().Format("2006-01-02") + "/" // the run's capture day
	if len(first) == 5 && !strings.Contains(first[3], dt) {
		dt = "dt=" + time.Now().UTC().Add(-time.Hour).Format("2006-01-02") + "/" // the run began before midnight
	}
	want := []string{handler.PagesPrefix + dt + run + ".csv", handler.PagesPrefix + dt + run + ".html", handler.LatestPage,
		handler.RecordsPrefix + dt + run + ".jsonl.gz", handler.LatestRun}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	if _, err := x.invoke(t, event); err != nil { // Lambda's retry of the same event
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, keysOf()); diff != "" {
		t.Errorf("a retry of the same run left other objects (-first +retry):\n%s", diff)
	}
	if n := items() - looked; n != 0 {
		t.Errorf("the retry read compliance items %d times; the nodes were not scanned since", n)
	}

	machines := 0
	for _, a := range x.sv.Server.Org().Accounts {
		if a.Status == sim.StatusActive {
			for _, r := range cfg.Regions {
				machines += len(x.sv.Server.Nodes().List(a.ID, r))
			}
		}
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(want[3])})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(obj.Body)
	if err != nil {
		t.Fatalf("records not gzip: %v", err)
	}
	count := map[string]int{}
	nodes := map[string]bool{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r compliance.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.RunId != run {
			t.Fatalf("record %d: %v, run %q", len(count)+1, err, r.RunId)
		}
		count[r.RecordType]++
		if r.RecordType == compliance.NodeRecord {
			if nodes[r.ResourceId] {
				t.Errorf("node %s twice in the run's records", r.ResourceId)
			}
			nodes[r.ResourceId] = true
		}
	}
	targets := len(x.sv.Server.Org().Accounts) * len(cfg.Regions)
	if count[compliance.NodeRecord] != machines || count[compliance.CoverageRecord] != targets || count[compliance.RunRecord] != 1 {
		t.Errorf("records %v; want %d nodes, %d coverage, 1 run", count, machines, targets)
	}
	page, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(handler.LatestPage)})
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	if !strings.Contains(string(html), "<svg") || aws.ToString(page.ContentType) != "text/html; charset=utf-8" ||
		!strings.Contains(string(html), `href="`+dt+run+`.csv"`) {
		t.Errorf("latest page: %d bytes, %q, without a link to its export", len(html), aws.ToString(page.ContentType))
	}
	export, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(want[0])})
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := gzip.NewReader(export.Body) // the SDK leaves Content-Encoding to the caller; a browser unpacks it
	if err != nil {
		t.Fatalf("export not gzip: %v", err)
	}
	rows, err := csv.NewReader(unzipped).ReadAll()
	if err != nil || len(rows) != machines+1 || aws.ToString(export.ContentEncoding) != "gzip" {
		t.Errorf("export: %v, %d rows, encoding %q; want %d rows and gzip", err, len(rows), aws.ToString(export.ContentEncoding), machines+1)
	}
	found := false
	for _, line := range x.metrics.lines(t) {
		if v, ok := line[handler.MetricComplianceNodes].(float64); ok {
			found = true
			if int(v)+int(line[handler.MetricUnmanaged].(float64)) != machines {
				t.Errorf("metrics: %v nodes + %v unmanaged, want %d machines", v, line[handler.MetricUnmanaged], machines)
			}
			if _, ok := line[handler.MetricPastSLA]; !ok {
				t.Errorf("metrics without %s: %v", handler.MetricPastSLA, line)
			}
		}
	}
	if !found {
		t.Errorf("no compliance metrics line")
	}

	// A new run (another event) is a new object; the latest-run state
	// names it, and its trend holds both runs.
	next := x.rewrite(t, event, func(m map[string]any) { m["id"] = "second-run" })
	if _, err := x.invoke(t, next); err != nil {
		t.Fatal(err)
	}
	state, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(handler.LatestRun)})
	if err != nil {
		t.Fatal(err)
	}
	var latest struct {
		RunId string `json:"runId"`
	}
	if err := json.NewDecoder(state.Body).Decode(&latest); err != nil || latest.RunId != "second-run" {
		t.Errorf("latest run %q (%v), want second-run", latest.RunId, err)
	}
	if n := len(keysOf()); n != len(want)+3 {
		t.Errorf("%d objects after a second run, want %d", n, len(want)+3)
	}
}

func TestComplianceReportWithoutBucketFails(t *testing.T) {
	x := newHarness(t, nil, nil).withAllRoles(t)
	x.deployed(t, config.Default())
	if _, err := x.invoke(t, x.event(t, "compliance-report.json")); err == nil || !strings.Contains(err.Error(), "ORGPATCH_REPORT_BUCKET") {
		t.Errorf("error %v; want one naming ORGPATCH_REPORT_BUCKET", err)
	}
	if n := x.sv.Server.CountCalls(func(c sim.Call) bool { return c.Service == "ssm" && c.Operation != "GetParameter" }); n != 0 {
		t.Errorf("%d SSM reads without a bucket to write to", n)
	}
}
