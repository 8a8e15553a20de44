package handler_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// The report schedule's event writes every machine's record under a date
// partition, the page (dated and latest), and the counts as metrics.
func TestComplianceReportWritesTheBucket(t *testing.T) {
	const bucket = "orgpatch-reports"
	x := newHarness(t, nil, func(d *handler.Deps) { d.Report.Bucket = bucket }, sim.WithNodesPerTarget(7)).withAllRoles(t)
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	x.deployed(t, cfg)
	ctx := context.Background()
	client := compliance.NewS3Client(x.sv.Config)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	res, err := x.invoke(t, x.event(t, "compliance-report.json"))
	if err != nil {
		t.Fatalf("report run: %v (%+v)", err, res)
	}
	if res.Action != "report" || !strings.Contains(res.Summary, "managed nodes") {
		t.Errorf("result %+v", res)
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, *o.Key)
	}
	if len(keys) != 3 || !strings.HasPrefix(keys[0], "pages/dt=") || keys[1] != handler.LatestPage || !strings.HasPrefix(keys[2], "records/dt=") {
		t.Fatalf("objects %q; want the dated page, the latest page and the records under dt= partitions", keys)
	}
	want := 0
	for _, a := range x.sv.Server.Org().Accounts {
		if a.Status == sim.StatusActive {
			for _, r := range cfg.Regions {
				want += len(x.sv.Server.Nodes().List(a.ID, r))
			}
		}
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[2])})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(obj.Body)
	for sc.Scan() {
		var r compliance.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Account == "" {
			t.Fatalf("record %d: %v", n+1, err)
		}
		n++
	}
	if n != want {
		t.Errorf("%d records in the bucket, want %d", n, want)
	}
	page, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(handler.LatestPage)})
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	if !strings.Contains(string(html), "<svg") || aws.ToString(page.ContentType) != "text/html; charset=utf-8" {
		t.Errorf("latest page: %d bytes, %q", len(html), aws.ToString(page.ContentType))
	}
	found := false
	for _, line := range x.metrics.lines(t) {
		if v, ok := line[handler.MetricComplianceNodes].(float64); ok {
			found = true
			if int(v)+int(line[handler.MetricUnmanaged].(float64)) != want {
				t.Errorf("metrics: %v nodes + %v unmanaged, want %d machines", v, line[handler.MetricUnmanaged], want)
			}
		}
	}
	if !found {
		t.Errorf("no compliance metrics line")
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
