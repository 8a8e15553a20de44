package handler_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// reportHarness is a handler with a report bucket, Security Hub on or off,
// deployed on one region.
func reportHarness(t *testing.T, securityHub bool, opts ...sim.Option) *harness {
	t.Helper()
	const bucket = "orgpatch-reports"
	x := newHarness(t, nil, func(d *handler.Deps) {
		d.Report.Bucket, d.Report.SecurityHub = bucket, securityHub
	}, append([]sim.Option{sim.WithNodesPerTarget(12)}, opts...)...).withAllRoles(t)
	cfg := config.Default()
	cfg.Regions = []string{simtest.Region}
	x.deployed(t, cfg)
	if _, err := compliance.NewS3Client(x.sv.Config).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return x
}

// hubFinding is what the test reads of a stored finding.
type hubFinding struct {
	Id, RecordState string
	Workflow        struct{ Status string }
	ProductFields   map[string]string
}

func hubFindings(t *testing.T, x *harness) map[string]hubFinding {
	t.Helper()
	out := map[string]hubFinding{}
	for _, raw := range x.sv.Server.SecurityHubFindings(x.sv.Server.ManagementAccount(), simtest.Region) {
		var f hubFinding
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		out[f.Id] = f
	}
	return out
}

// latestFindings are the finding Ids the latest-run state keeps.
func latestFindings(t *testing.T, x *harness) []string {
	t.Helper()
	ids, err := handler.PreviousFindings(context.Background(), compliance.NewS3Client(x.sv.Config), "orgpatch-reports", "")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// With Security Hub on, the report run imports a finding per node problem
// into the management account's Security Hub and keeps their Ids; the next
// run updates the unchanged ones in place (same Id, new UpdatedAt) and
// archives those of a node fixed in between.
func TestComplianceReportSecurityHubFindings(t *testing.T) {
	x := reportHarness(t, true)
	event := x.event(t, "compliance-report.json")
	res, err := x.invoke(t, event)
	if err != nil {
		t.Fatalf("report run: %v (%+v)", err, res)
	}
	first := hubFindings(t, x)
	if len(first) == 0 {
		t.Fatal("no finding in Security Hub after a report run with it on")
	}
	ids := latestFindings(t, x)
	if len(ids) != len(first) {
		t.Errorf("the latest-run state keeps %d finding ids, Security Hub holds %d", len(ids), len(first))
	}
	for _, id := range ids {
		if f, ok := first[id]; !ok || f.RecordState != "ACTIVE" {
			t.Errorf("kept id %s: in Security Hub %v, state %q", id, ok, f.RecordState)
		}
	}
	if want := "Security Hub: " + strconv.Itoa(len(first)) + " findings active, 0 archived, 0 refused"; !strings.Contains(res.Summary, want) {
		t.Errorf("summary %q does not say %q", res.Summary, want)
	}

	// Fix one node with a stale scan: every patch installed by a new run,
	// a recent scan, a current agent.
	var fixed, account, node string
	var ns []nodes.Node
	for _, id := range ids {
		if !strings.HasSuffix(id, "/"+compliance.ProblemStale) {
			continue
		}
		account, node = first[id].ProductFields["orgpatch/MemberAccount"], strings.Split(id, "/")[3]
		ns = x.sv.Server.Nodes().List(account, simtest.Region)
		if i := slices.IndexFunc(ns, func(n nodes.Node) bool { return n.ID == node }); i >= 0 && ns[i].Patch != nil {
			fixed = id
			break
		}
	}
	if fixed == "" {
		t.Fatalf("no stale scanned node among %v", ids)
	}
	now := time.Now().UTC()
	for i := range ns {
		if ns[i].ID != node {
			continue
		}
		ns[i].PingStatus, ns[i].LastPing, ns[i].AgentVersion = "Online", now, "3.3.1000.0"
		p := *ns[i].Patch
		p.Patches = slices.Clone(p.Patches)
		for j := range p.Patches {
			p.Patches[j].State, p.Patches[j].InstalledTime = nodes.Installed, now
		}
		p.Operation, p.Started, p.Ended, p.ExecutionID = "Install", now.Add(-time.Minute), now, "fixed-"+node
		ns[i].Patch = &p
	}
	if err := x.sv.Server.Nodes().Put(account, simtest.Region, ns...); err != nil {
		t.Fatal(err)
	}
	var gone []string
	for _, id := range ids {
		if strings.Contains(id, "/"+node+"/") {
			gone = append(gone, id)
		}
	}

	res, err = x.invoke(t, x.rewrite(t, event, func(m map[string]any) { m["id"] = "second-run" }))
	if err != nil {
		t.Fatalf("second report run: %v (%+v)", err, res)
	}
	second := hubFindings(t, x)
	if len(second) != len(first) {
		t.Errorf("Security Hub holds %d findings after the second run, %d after the first: not updated in place", len(second), len(first))
	}
	for id, f := range second {
		want := "ACTIVE"
		if slices.Contains(gone, id) {
			want = "ARCHIVED"
		}
		if f.RecordState != want {
			t.Errorf("%s: %s, want %s", id, f.RecordState, want)
		}
	}
	kept := latestFindings(t, x)
	if want := len(ids) - len(gone); len(kept) != want || slices.Contains(kept, fixed) {
		t.Errorf("the second run keeps %d ids (the fixed one among them: %v), want %d without it", len(kept), slices.Contains(kept, fixed), want)
	}
	if want := strconv.Itoa(len(gone)) + " archived"; !strings.Contains(res.Summary, want) {
		t.Errorf("summary %q does not say %q", res.Summary, want)
	}
	found := false
	for _, line := range x.metrics.lines(t) {
		if v, ok := line[handler.MetricFindingsArchived].(float64); ok && int(v) == len(gone) {
			found = true
		}
	}
	if !found {
		t.Errorf("no metrics line with %s %d", handler.MetricFindingsArchived, len(gone))
	}
}

// With Security Hub off (the default) the run sends nothing to it.
func TestComplianceReportSecurityHubOff(t *testing.T) {
	x := reportHarness(t, false)
	res, err := x.invoke(t, x.event(t, "compliance-report.json"))
	if err != nil {
		t.Fatalf("report run: %v (%+v)", err, res)
	}
	if n := x.sv.Server.CountCalls(func(c sim.Call) bool { return c.Service == sim.ServiceSecurityHub }); n != 0 {
		t.Errorf("%d Security Hub calls with it off", n)
	}
	if strings.Contains(res.Summary, "Security Hub") {
		t.Errorf("summary %q speaks of Security Hub with it off", res.Summary)
	}
}

// A Security Hub that refuses a run's calls (throttled past the retries)
// is a finding of the run, not its failure: the report is written, the
// summary says the import failed, and the state still keeps every Id that
// may be active, for the next run to archive.
func TestComplianceReportSecurityHubFailureIsReported(t *testing.T) {
	q := sim.DefaultQuotas()
	// One call, then none for the rest of the test.
	q[sim.ServiceSecurityHub] = sim.Quota{Rate: 0.0001, Burst: 1, Source: "test: one call"}
	x := reportHarness(t, true, sim.WithQuotas(q))
	event := x.event(t, "compliance-report.json")
	if _, err := x.invoke(t, event); err != nil {
		t.Fatal(err)
	}
	first := latestFindings(t, x)
	if len(first) == 0 || len(hubFindings(t, x)) != len(first) {
		t.Fatalf("the first run kept %d ids, Security Hub holds %d", len(first), len(hubFindings(t, x)))
	}
	res, err := x.invoke(t, x.rewrite(t, event, func(m map[string]any) { m["id"] = "throttled-run" }))
	if err != nil {
		t.Fatalf("report run failed with Security Hub refusing: %v (%+v)", err, res)
	}
	if !strings.Contains(res.Summary, "Security Hub import failed") {
		t.Errorf("summary %q does not say the import failed", res.Summary)
	}
	if kept := latestFindings(t, x); !slices.Equal(kept, first) {
		t.Errorf("after a failed import the state keeps %v, want the %d ids that may be active", kept, len(first))
	}
	var state struct {
		RunId string `json:"runId"`
	}
	obj, err := compliance.NewS3Client(x.sv.Config).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("orgpatch-reports"), Key: aws.String(handler.LatestRun)})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	if err := json.NewDecoder(obj.Body).Decode(&state); err != nil || state.RunId != "throttled-run" {
		t.Errorf("latest run %q (%v): the report of the run whose import failed was not completed", state.RunId, err)
	}
}
