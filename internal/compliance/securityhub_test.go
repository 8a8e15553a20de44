package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

const shMember = "222222222222"

// problemNodes returns n node records of shMember: every node past SLA,
// every third also stale, every fifth with an old agent, and unmanaged
// instances besides. fixed nodes have no problem.
func problemNodes(n int, fixed func(i int) bool) []Record {
	var rs []Record
	for i := range n {
		r := Record{RecordType: NodeRecord, Account: shMember, Region: "eu-west-1", ResourceId: fmt.Sprintf("mi-%017d", i), NodeState: Reported}
		if !fixed(i) {
			r.PastSLA, r.OldestPatchAgeDays = 2, 40
			r.Stale = i%3 == 0
			r.OldAgent = i%5 == 0
		}
		rs = append(rs, r)
	}
	for i := range 10 {
		rs = append(rs, Record{RecordType: NodeRecord, Account: shMember, Region: "eu-west-1", ResourceId: fmt.Sprintf("i-%017d", i), NodeState: Unmanaged})
	}
	return rs
}

func runSink(t *testing.T, env *simtest.Env, home FindingsHome, now time.Time, records []Record, previous []string) FindingsResult {
	t.Helper()
	ctx := context.Background()
	sink := NewFindingsSink(securityhub.NewFromConfig(env.Config), home, now)
	for _, r := range records {
		sink.Add(ctx, r)
	}
	res, err := sink.Close(ctx, previous)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestFindingsAreASFFUpdatedInPlaceAndArchived(t *testing.T) {
	env := simtest.Start(t, nil)
	mgmt := env.Server.ManagementAccount()
	home := FindingsHome{Partition: "aws", Region: simtest.Region, Account: mgmt}
	day1 := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

	first := runSink(t, env, home, day1, problemNodes(150, func(int) bool { return false }), nil)
	// 150 past SLA + 50 stale + 30 old agent + 10 unmanaged.
	if want := 240; first.Active != want || len(first.Ids) != want || len(first.Failed) != 0 {
		t.Fatalf("first run: %d active, %d ids, %d failed; want %d, %d, 0", first.Active, len(first.Ids), len(first.Failed), want, want)
	}
	for _, c := range env.Server.Calls() {
		if c.Operation != "BatchImportFindings" {
			continue
		}
		var in struct{ Findings []json.RawMessage }
		if err := json.Unmarshal(c.Params, &in); err != nil {
			t.Fatal(err)
		}
		if len(in.Findings) > MaxFindingsPerImport {
			t.Errorf("a call imported %d findings, AWS allows %d", len(in.Findings), MaxFindingsPerImport)
		}
		for _, f := range in.Findings {
			if len(f) > 240*1024 {
				t.Errorf("a finding of %d bytes, AWS allows 240 KB", len(f))
			}
		}
	}
	got := env.Server.SecurityHubFindings(mgmt, simtest.Region)
	if len(got) != 240 {
		t.Fatalf("Security Hub holds %d findings, want 240", len(got))
	}
	var f map[string]any
	if err := json.Unmarshal(got[0], &f); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt", "Severity", "Title", "Description", "Resources"} {
		if f[k] == nil || f[k] == "" {
			t.Errorf("finding lacks ASFF's required %s: %s", k, got[0])
		}
	}
	if f["SchemaVersion"] != "2018-10-08" || f["AwsAccountId"] != mgmt || f["ProductArn"] != home.ProductArn() {
		t.Errorf("finding's schema, account or product: %v %v %v", f["SchemaVersion"], f["AwsAccountId"], f["ProductArn"])
	}
	if pf, _ := f["ProductFields"].(map[string]any); pf["orgpatch/MemberAccount"] != shMember {
		t.Errorf("finding does not name the member account: %v", f["ProductFields"])
	}

	// The next day the even nodes are patched: their findings are archived,
	// the others updated; none is duplicated.
	day2 := day1.Add(24 * time.Hour)
	second := runSink(t, env, home, day2, problemNodes(150, func(i int) bool { return i%2 == 0 }), first.Ids)
	states := map[string]int{}
	for _, raw := range env.Server.SecurityHubFindings(mgmt, simtest.Region) {
		var f struct{ RecordState, UpdatedAt string }
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		if f.UpdatedAt != day2.Format(time.RFC3339) {
			t.Errorf("a finding was not updated on day 2: UpdatedAt %s", f.UpdatedAt)
		}
		states[f.RecordState]++
	}
	// Even nodes 0..148: 75 past SLA, 25 stale (i%6==0), 15 old agent (i%10==0).
	if states["ARCHIVED"] != 115 || states["ACTIVE"] != 125 || second.Archived != 115 || second.Active != 125 {
		t.Errorf("day 2: %v, result %d active %d archived; want 125 ACTIVE, 115 ARCHIVED", states, second.Active, second.Archived)
	}
	if len(second.Ids) != 125 {
		t.Errorf("day 2 keeps %d ids for day 3, want the 125 active", len(second.Ids))
	}
}

func TestFindingsRefusedAreReportedNotFatal(t *testing.T) {
	env := simtest.Start(t, nil)
	// Importing under another account's product: Security Hub refuses
	// every finding in FailedFindings.
	home := FindingsHome{Partition: "aws", Region: simtest.Region, Account: shMember}
	res := runSink(t, env, home, time.Now(), problemNodes(3, func(int) bool { return false }), nil)
	if len(res.Failed) != res.Active || res.Active == 0 {
		t.Fatalf("%d of %d findings failed, want all", len(res.Failed), res.Active)
	}
	if res.Failed[0].ErrorCode == "" || res.Failed[0].ErrorMessage == "" || res.Failed[0].Id == "" {
		t.Errorf("failed finding without its error: %+v", res.Failed[0])
	}
	if len(res.Ids) != 0 {
		t.Errorf("refused findings kept as the next run's previous: %v", res.Ids)
	}
}

// throttledHub is a simulator whose Security Hub allows rate calls a
// second after the first, and the management account's findings home.
func throttledHub(t *testing.T, rate float64) (*simtest.Env, FindingsHome) {
	t.Helper()
	q := sim.DefaultQuotas()
	q[sim.ServiceSecurityHub] = sim.Quota{Rate: rate, Burst: 1, Source: "test"}
	env := simtest.Start(t, nil, sim.WithQuotas(q))
	return env, FindingsHome{Partition: "aws", Region: simtest.Region, Account: env.Server.ManagementAccount()}
}

func TestFindingsThrottlingIsRetried(t *testing.T) {
	env, home := throttledHub(t, 4)
	mgmt := home.Account
	res := runSink(t, env, home, time.Now(), problemNodes(150, func(int) bool { return false }), nil)
	if len(res.Failed) != 0 || len(env.Server.SecurityHubFindings(mgmt, simtest.Region)) != res.Active {
		t.Fatalf("%d failed, %d imported of %d", len(res.Failed), len(env.Server.SecurityHubFindings(mgmt, simtest.Region)), res.Active)
	}
	if n := env.Server.CountCalls(func(c sim.Call) bool { return c.Throttled }); n == 0 {
		t.Errorf("no call was throttled: the test proves nothing")
	}
}

// An import that fails (here throttling with the retries used up) stops the
// sink: no further call, the error comes back from Close, and the Ids kept
// are every finding that may be active, this run's and the previous run's,
// so the next run can still archive them.
func TestFindingsImportFailureStopsAndKeepsIds(t *testing.T) {
	env, home := throttledHub(t, 0.01)
	client := securityhub.NewFromConfig(env.Config, func(o *securityhub.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	sink := NewFindingsSink(client, home, time.Now())
	for _, r := range problemNodes(150, func(int) bool { return false }) {
		sink.Add(ctx, r)
	}
	gone := FindingId(shMember, "eu-west-1", "mi-gone", ProblemStale)
	res, err := sink.Close(ctx, []string{gone})
	if err == nil {
		t.Fatal("Close returned no error after a throttled import")
	}
	if n := env.Server.CountCalls(func(c sim.Call) bool { return c.Operation == "BatchImportFindings" }); n != 2 {
		t.Errorf("%d import calls; want the one that passed and the one throttled, then none", n)
	}
	if len(res.Ids) != 241 || !slices.Contains(res.Ids, gone) {
		t.Errorf("%d ids kept (previous kept: %v); want the 240 raised and the previous one", len(res.Ids), slices.Contains(res.Ids, gone))
	}
}

// A target the run could not read says nothing about its nodes: their
// previous findings are neither archived nor forgotten.
func TestFindingsOfUnreadTargetsAreKept(t *testing.T) {
	env := simtest.Start(t, nil)
	mgmt := env.Server.ManagementAccount()
	home := FindingsHome{Partition: "aws", Region: simtest.Region, Account: mgmt}
	first := runSink(t, env, home, time.Now(), problemNodes(3, func(int) bool { return false }), nil)
	failed := Record{RecordType: CoverageRecord, Account: shMember, Region: "eu-west-1", Outcome: OutcomeFailed, Reason: "AccessDenied"}
	second := runSink(t, env, home, time.Now(), []Record{failed}, first.Ids)
	if second.Archived != 0 || second.Unread != len(first.Ids) || !slices.Equal(second.Ids, first.Ids) {
		t.Errorf("unread target: %d archived, %d unread, ids %v; want 0, %d and the first run's", second.Archived, second.Unread, second.Ids, len(first.Ids))
	}
	for _, raw := range env.Server.SecurityHubFindings(mgmt, simtest.Region) {
		var f struct{ RecordState string }
		if err := json.Unmarshal(raw, &f); err != nil || f.RecordState != "ACTIVE" {
			t.Errorf("finding %s after a run that could not read its target: %v", raw, err)
		}
	}
}
