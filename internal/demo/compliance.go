package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// The demo organization's machines: compliant ones, a few missing or
// failing patches, one not scanned for 30 days, one whose agent predates
// 3.0.502, one whose connection is lost, one EC2 instance no agent reports.
type demoNode struct {
	account, region, id, name string
	platform                  string
	agent                     string
	ping                      string
	scannedDaysAgo            int    // -1: never scanned
	missing                   string // a patch state that makes it non-compliant ("" compliant)
	managed                   bool
}

var demoNodes = []demoNode{
	{prodWeb, homeRegion, "i-0a1b2c3d4e5f60001", "prod-web-1", nodes.Linux, "3.3.1142.0", nodes.Online, 0, "", true},
	{prodWeb, homeRegion, "i-0a1b2c3d4e5f60002", "prod-web-2", nodes.Linux, "3.3.1142.0", nodes.Online, 0, nodes.Missing, true},
	{prodWeb, "eu-west-1", "i-0a1b2c3d4e5f60003", "prod-web-eu-1", nodes.Windows, "3.3.987.0", nodes.Online, 1, nodes.Failed, true},
	{"444444444445", homeRegion, "i-0a1b2c3d4e5f60004", "prod-db-1", nodes.Linux, "3.3.1142.0", nodes.Online, 0, "", true},
	{"444444444445", homeRegion, "i-0a1b2c3d4e5f60005", "prod-db-legacy", nodes.Linux, "2.3.1319.0", nodes.Online, 2, "", true},
	{stagingWeb, homeRegion, "i-0a1b2c3d4e5f60006", "staging-web-1", nodes.Linux, "3.3.1142.0", nodes.Online, 30, "", true},
	{stagingWeb, "eu-west-1", "i-0a1b2c3d4e5f60007", "staging-web-eu-1", nodes.Windows, "3.3.1142.0", nodes.Online, 0, nodes.InstalledPendingReboot, true},
	{stagingData, homeRegion, "i-0a1b2c3d4e5f60008", "staging-db-1", nodes.Linux, "3.3.1142.0", nodes.ConnectionLost, 3, "", true},
	{sharedServices, homeRegion, "i-0a1b2c3d4e5f60009", "ad-connector", nodes.Windows, "3.3.1142.0", nodes.Online, 0, "", true},
	{network, homeRegion, "i-0a1b2c3d4e5f6000a", "nat-appliance", nodes.Linux, "", "", -1, "", false},
}

// ReportFile is where the demo writes its compliance page unless
// Options.ReportFile names another file.
func ReportFile() string { return filepath.Join(os.TempDir(), "orgpatch-demo-compliance.html") }

// seedNodes puts the demo's machines into the simulator.
func (d *demo) seedNodes(now time.Time) error {
	byTarget := map[[2]string][]nodes.Node{}
	for _, s := range demoNodes {
		n := nodes.Node{ID: s.id, Tags: map[string]string{"Name": s.name}, State: "running", Launched: now.AddDate(0, -6, 0),
			Platform: s.platform, PlatformName: map[string]string{nodes.Linux: "Amazon Linux", nodes.Windows: "Microsoft Windows Server 2022 Datacenter"}[s.platform],
			Managed: s.managed, PingStatus: s.ping, AgentVersion: s.agent, LastPing: now.Add(-time.Minute)}
		if s.ping == nodes.ConnectionLost {
			n.LastPing = now.AddDate(0, 0, -3)
		}
		if s.managed && s.scannedDaysAgo >= 0 {
			ended := now.AddDate(0, 0, -s.scannedDaysAgo).Add(-time.Hour)
			ps := &nodes.PatchState{PatchGroup: "default", BaselineID: "pb-0b6c3b4e8f5a1d2c3", Operation: "Scan", Started: ended.Add(-5 * time.Minute),
				Ended: ended, ExecutionID: fmt.Sprintf("d3m0%04x-0000-4000-8000-%012x", len(byTarget), len(s.id)), RebootOption: "RebootIfNeeded"}
			ps.Patches = []nodes.Patch{
				{ID: "KB5044281", Title: "2024-10 Cumulative Update (KB5044281)", Classification: "SecurityUpdates", Severity: "Critical", State: nodes.Installed, InstalledTime: ended.AddDate(0, 0, -20)},
				{ID: "KB890830", Title: "Windows Malicious Software Removal Tool (KB890830)", Classification: "UpdateRollups", Severity: "Unspecified", State: nodes.Installed, InstalledTime: ended.AddDate(0, 0, -20)},
			}
			if s.platform == nodes.Linux {
				ps.Patches = []nodes.Patch{
					{ID: "openssl-libs.x86_64:1:3.0.8-1.amzn2023.0.14", Title: "openssl-libs", Classification: "Security", Severity: "Critical", State: nodes.Installed, InstalledTime: ended.AddDate(0, 0, -20)},
					{ID: "curl.x86_64:0:8.5.0-1.amzn2023.0.4", Title: "curl", Classification: "Security", Severity: "Medium", State: nodes.Installed, InstalledTime: ended.AddDate(0, 0, -20)},
				}
			}
			if s.missing != "" {
				ps.Patches[0].State = s.missing
				if s.missing != nodes.InstalledPendingReboot {
					ps.Patches[0].InstalledTime = time.Time{}
				}
			}
			n.Patch = ps
		}
		k := [2]string{s.account, s.region}
		byTarget[k] = append(byTarget[k], n)
	}
	for k, ns := range byTarget {
		if err := d.srv.Nodes().Put(k[0], k[1], ns...); err != nil {
			return fmt.Errorf("demo: seed machines: %w", err)
		}
	}
	return nil
}

// compliance is the last step: `orgpatch report` over the organization,
// the table on the terminal and the page in a file, checked against the
// machines the demo seeded.
func (d *demo) compliance(ctx context.Context) error {
	now := time.Now()
	if err := d.seedNodes(now); err != nil {
		return err
	}
	d.printf("  %d machines in a few accounts; orgpatch report reads every account x region:\n\n", len(demoNodes))
	home, err := compliance.CallerHome(ctx, sts.NewFromConfig(d.mgmt), d.mgmt.Region)
	if err != nil {
		return err
	}
	hub := compliance.NewFindingsSink(securityhub.NewFromConfig(d.mgmt), home, now)
	records := map[string]int{}
	sum, err := compliance.Run(ctx, compliance.Env{
		Management: d.mgmt, Config: config.Default(), Now: func() time.Time { return now },
		Sink: func(r *compliance.Record) error { records[r.RecordType]++; hub.Add(ctx, *r); return nil },
	})
	if err != nil {
		return err
	}
	if err := sum.WriteTable(d.out); err != nil {
		return err
	}
	path := d.reportFile
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("demo: compliance page: %w", err)
	}
	if err := sum.WriteHTML(f); err != nil {
		f.Close()
		return fmt.Errorf("demo: compliance page: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("demo: compliance page: %w", err)
	}
	d.printf("\n  HTML page: %s\n", path)

	want := struct{ managed, nonCompliant, unmanaged int }{}
	for _, s := range demoNodes {
		if !s.managed {
			want.unmanaged++
			continue
		}
		want.managed++
		if s.missing != "" {
			want.nonCompliant++
		}
	}
	o := sum.Organization
	d.check(fmt.Sprintf("one record per machine (%d)", len(demoNodes)), when(records[compliance.NodeRecord] != len(demoNodes), "%d records", records[compliance.NodeRecord]))
	inScope := 0
	for _, n := range sum.Coverage {
		inScope += n
	}
	d.check(fmt.Sprintf("one coverage record per account x region in scope (%d), and the run's record", inScope),
		when(records[compliance.CoverageRecord] != inScope || records[compliance.RunRecord] != 1, "%v", records))
	d.check("AWS's default baselines report every patch UNSPECIFIED; the vendors' severities still count the missing critical patch",
		when(o.Critical == 0 || o.Security == 0, "%d critical, %d security", o.Critical, o.Security))
	d.check(fmt.Sprintf("%d managed nodes, %d of them non-compliant (missing, failed, pending reboot)", want.managed, want.nonCompliant),
		when(o.Nodes != want.managed || o.NonCompliant != want.nonCompliant, "%d nodes, %d non-compliant", o.Nodes, o.NonCompliant))
	d.check("the node last scanned 30 days ago counts as not scanned within 7 days", when(o.NotScanned != 1, "%d not scanned", o.NotScanned))
	d.check("the headline counts only compliant nodes scanned within 7 days, of every machine",
		when(o.CompliantCurrent != o.Compliant-1 || o.Machines() != len(demoNodes), "%d current of %d compliant, %d machines", o.CompliantCurrent, o.Compliant, o.Machines()))
	d.check("the agent older than 3.0.502 is counted", when(o.OldAgent != 1, "%d old agents", o.OldAgent))
	d.check("the lost connection is counted", when(o.ConnectionLost != 1, "%d connection lost", o.ConnectionLost))
	d.check("the EC2 instance no agent reports is counted as not managed", when(o.Unmanaged != want.unmanaged, "%d unmanaged", o.Unmanaged))
	d.check(fmt.Sprintf("every account x region was read (%d) or its coverage record says why not (%d)", sum.Targets, inScope-sum.Targets), when(sum.Failed != 0, "%d not readable: %v", sum.Failed, sum.Failures))
	return d.securityHub(ctx, hub, home, o)
}

// staleNode is the demo machine last scanned 30 days ago, which the
// Security Hub part fixes between two runs.
const staleNode = "i-0a1b2c3d4e5f60006"

// securityHub closes the report's findings (as `orgpatch report
// --securityhub` does), reads them back through GetFindings, then rescans
// the stale machine and runs the report again: its finding is archived,
// the others stay as they were.
func (d *demo) securityHub(ctx context.Context, hub *compliance.FindingsSink, home compliance.FindingsHome, o compliance.Counts) error {
	first, err := hub.Close(ctx, nil)
	if err != nil {
		return err
	}
	client := securityhub.NewFromConfig(d.mgmt)
	active, err := d.findings(ctx, client, home, shtypes.RecordStateActive)
	if err != nil {
		return err
	}
	d.printf("\n  %s, read back: %d active\n", first, len(active))
	want := o.PastSLA + o.NotScanned + o.OldAgent + o.Unmanaged
	d.check(fmt.Sprintf("Security Hub holds one active finding per node problem (%d: stale, old agent, not managed)", want),
		when(len(active) != want || first.Active != want, "%d active, %d sent", len(active), first.Active))

	// The stale machine is scanned today; the next run archives its finding.
	ns := d.srv.Nodes().List(stagingWeb, homeRegion)
	now := time.Now()
	for i := range ns {
		if ns[i].ID == staleNode {
			p := *ns[i].Patch
			p.Started, p.Ended, p.ExecutionID = now.Add(-5*time.Minute), now, "d3m0f1x0-0000-4000-8000-000000000006"
			ns[i].Patch = &p
		}
	}
	if err := d.srv.Nodes().Put(stagingWeb, homeRegion, ns...); err != nil {
		return fmt.Errorf("demo: rescan %s: %w", staleNode, err)
	}
	again := compliance.NewFindingsSink(client, home, now)
	if _, err := compliance.Run(ctx, compliance.Env{
		Management: d.mgmt, Config: config.Default(), Now: func() time.Time { return now },
		Sink: func(r *compliance.Record) error { again.Add(ctx, *r); return nil },
	}); err != nil {
		return err
	}
	second, err := again.Close(ctx, first.Ids)
	if err != nil {
		return err
	}
	archived, err := d.findings(ctx, client, home, shtypes.RecordStateArchived)
	if err != nil {
		return err
	}
	d.printf("  %s rescanned; the next run: %s\n", staleNode, second)
	fixed := compliance.FindingId(stagingWeb, homeRegion, staleNode, compliance.ProblemStale)
	d.check("after the stale machine is rescanned, the next run archives its finding and keeps the others' Ids",
		when(len(archived) != 1 || archived[0] != fixed || len(second.Ids) != len(first.Ids)-1, "archived %v, %d ids kept of %d", archived, len(second.Ids), len(first.Ids)))
	return nil
}

// findings are the Ids of home's findings in state, read through
// GetFindings' paginator.
func (d *demo) findings(ctx context.Context, client *securityhub.Client, home compliance.FindingsHome, state shtypes.RecordState) ([]string, error) {
	eq := func(v string) []shtypes.StringFilter {
		return []shtypes.StringFilter{{Comparison: shtypes.StringFilterComparisonEquals, Value: aws.String(v)}}
	}
	pages := securityhub.NewGetFindingsPaginator(client, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		ProductArn: eq(home.ProductArn()), RecordState: eq(string(state)),
	}})
	var ids []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("demo: security hub findings: %w", err)
		}
		for _, f := range page.Findings {
			ids = append(ids, aws.ToString(f.Id))
		}
	}
	return ids, nil
}
