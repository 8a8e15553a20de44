package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// The promotion fleet: ring dev is account 222222222222, ring prod
// (following dev, no soak, the strictest gate) is 444444444444; both
// converge one Amazon Linux 2023 baseline, and dev's Linux window installs.
const (
	devAccount  = "222222222222"
	prodAccount = "444444444444"
	runsBucket  = "orgpatch-runs"
)

const promotionYAML = `
regions: [us-east-1]
baselines:
  - name: orgpatch-al2023
    operatingSystem: AMAZON_LINUX_2023
    default: true
    approvalRules:
      - filters: [{key: CLASSIFICATION, values: [Security, Bugfix]}]
        approveAfterDays: 7
rings:
  - name: dev
    select: {accounts: ["222222222222"]}
    windowOverrides: [{window: sra_linux_maintenance, operation: Install}]
  - name: prod
    select: {accounts: ["444444444444"]}
    promotion: {follows: dev}
`

// promotionStart is a Wednesday noon: the Linux window (Fridays 01:00)
// falls due within the next 8 days.
var promotionStart = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// simRunClock is the simulator's clock as the handler's: its time is the
// simulated time; waits are short real waits.
type simRunClock struct{ *sim.Clock }

func (simRunClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(min(d, 10*time.Millisecond)):
		return nil
	}
}

// faultyStore is the promotion state with faults: failLoad fails every
// read, failSave every write.
type faultyStore struct {
	promotion.Store
	failLoad, failSave atomic.Bool
}

func (f *faultyStore) Load(ctx context.Context) (promotion.State, string, error) {
	if f.failLoad.Load() {
		return promotion.State{}, "", errors.New("injected fault: GetObject 503 SlowDown")
	}
	return f.Store.Load(ctx)
}

func (f *faultyStore) Save(ctx context.Context, st promotion.State, etag string) (string, error) {
	if f.failSave.Load() {
		return "", errors.New("injected fault: PutObject AccessDenied (bucket policy)")
	}
	return f.Store.Save(ctx, st, etag)
}

// promoFleet is a harness on a simulated clock with the promotion
// configuration deployed, the runs bucket (the state's) and the alarm
// topic made, and four Linux nodes in dev's and prod's accounts. deps
// may add to the handler's dependencies (with the store already set).
type promoFleet struct {
	*harness
	clock *sim.Clock
	store *faultyStore
	topic string
	cfg   config.Config
}

func newPromoFleet(t *testing.T, deps func(*handler.Deps), opts ...sim.Option) *promoFleet {
	t.Helper()
	f := &promoFleet{clock: sim.NewClock(promotionStart), store: &faultyStore{}}
	var err error
	if f.cfg, err = config.Decode([]byte(promotionYAML)); err != nil {
		t.Fatal(err)
	}
	// The small organization's management account.
	f.topic = "arn:aws:sns:us-east-1:111111111111:orgpatch-alarms"
	f.harness = newHarness(t, nil, func(d *handler.Deps) {
		d.Clock, d.Promotion, d.AlarmTopic = simRunClock{f.clock}, f.store, f.topic
		if deps != nil {
			deps(d)
		}
	}, append([]sim.Option{sim.WithSimClock(f.clock)}, opts...)...).withAllRoles(t)
	ctx := context.Background()
	client := compliance.NewS3Client(f.sv.Config)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(runsBucket)}); err != nil {
		t.Fatal(err)
	}
	f.store.Store = promotion.S3Store{API: client, Bucket: runsBucket, Owner: f.sv.Server.ManagementAccount()}
	topic, err := sns.NewFromConfig(f.sv.Config).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgpatch-alarms")})
	if err != nil || aws.ToString(topic.TopicArn) != f.topic {
		t.Fatalf("create the alarm topic: %v %v", topic, err)
	}
	for _, acct := range []string{devAccount, prodAccount} {
		var ns []nodes.Node
		for i := range 4 {
			ns = append(ns, nodes.Node{ID: "i-0" + acct[:1] + strings.Repeat("0", 14) + string(rune('a'+i)), State: "running",
				Launched: promotionStart.AddDate(0, 0, -100), Platform: nodes.Linux, PlatformName: "Amazon Linux", PlatformVersion: "2023",
				Managed: true, PingStatus: nodes.Online, LastPing: promotionStart, AgentVersion: "3.3.1142.0",
				Tags: map[string]string{config.InstanceOSTagKey: "Linux"}})
		}
		if err := f.sv.Server.Nodes().Put(acct, "us-east-1", ns...); err != nil {
			t.Fatal(err)
		}
	}
	f.deployed(t, f.cfg)
	return f
}

// schedule invokes the drift-repair schedule and fails the test on error.
func (f *promoFleet) schedule(t *testing.T) handler.Result {
	t.Helper()
	res, err := f.invoke(t, f.event(t, "schedule.json"))
	if err != nil {
		t.Fatalf("scheduled run: %v (%+v)", err, res)
	}
	return res
}

// kinds are the promotion decisions of res, "ring:kind" each.
func kinds(res handler.Result) string {
	if res.Promotion == nil {
		return "no promotion step"
	}
	var out []string
	for _, d := range res.Promotion.Decisions {
		out = append(out, d.Ring+":"+string(d.Kind))
	}
	return strings.Join(out, " ")
}

// approveUntil reads the approval rules of account's orgpatch baseline
// through the SDK as the account: each rule's ApproveUntilDate, or
// "after N days".
func approveUntil(t *testing.T, x *harness, account string) []string {
	t.Helper()
	ctx := context.Background()
	c := ssm.NewFromConfig(x.sv.AccountConfig(t, account, role))
	list, err := c.DescribePatchBaselines(ctx, &ssm.DescribePatchBaselinesInput{Filters: []ssmtypes.PatchOrchestratorFilter{
		{Key: aws.String("OWNER"), Values: []string{"Self"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range list.BaselineIdentities {
		if aws.ToString(b.BaselineName) != "orgpatch-al2023" {
			continue
		}
		got, err := c.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: b.BaselineId})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got.ApprovalRules.PatchRules {
			if r.ApproveUntilDate != nil {
				out = append(out, aws.ToString(r.ApproveUntilDate))
			} else {
				out = append(out, "after "+itoa(aws.ToInt32(r.ApproveAfterDays))+" days")
			}
		}
	}
	return out
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

// eventsOf are the promotion events on the management account's default
// bus, "DetailType ring" each, and their details.
func (f *promoFleet) eventsOf(t *testing.T) ([]string, []promotion.EventDetail) {
	t.Helper()
	var out []string
	var details []promotion.EventDetail
	for _, e := range f.sv.Server.Events(f.sv.Server.ManagementAccount(), "us-east-1") {
		if e.Source != promotion.EventSource {
			continue
		}
		var d promotion.EventDetail
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatalf("event detail %q: %v", e.Detail, err)
		}
		out = append(out, e.DetailType+" "+d.Ring)
		details = append(details, d)
	}
	return out, details
}

// A scheduled run with dev's nodes installed promotes prod to dev's set in
// the same run: prod's baseline, read through SSM as the prod account,
// approves until dev's cut-off. The promotion is an event on the bus and
// a message on the alarm topic.
func TestScheduleWithDevInstalledPromotesProd(t *testing.T) {
	f := newPromoFleet(t, nil)
	res := f.schedule(t)
	if got := kinds(res); got != "dev:start-cycle prod:hold" {
		t.Fatalf("first run's decisions = %q; want dev's cycle to start and prod to wait for it", got)
	}
	if got := approveUntil(t, f.harness, prodAccount); len(got) != 1 || got[0] != "after 7 days" {
		t.Fatalf("prod before its first promotion approves %v; want its configured delay", got)
	}
	cutoff := res.Promotion.Decisions[0].To.Cutoff
	if ran, err := f.clock.Advance(8 * 24 * time.Hour); err != nil || ran == 0 {
		t.Fatalf("advance: %d windows ran, %v", ran, err)
	}
	f.sv.Server.ResetCalls()
	res = f.schedule(t)
	// The gate's measurement read dev's account alone: one collection
	// restricted to the ring prod follows.
	measured := map[string]bool{}
	for _, c := range f.sv.Server.Calls() {
		if c.Operation == "ListResourceComplianceSummaries" || c.Operation == "DescribeInstancePatchStates" {
			measured[c.Account] = true
		}
	}
	if len(measured) != 1 || !measured[devAccount] {
		t.Fatalf("the gate read the patch states of accounts %v; want dev's %s alone", measured, devAccount)
	}
	if got := kinds(res); got != "dev:unchanged prod:promote" {
		t.Fatalf("second run's decisions = %q (%+v); want prod promoted", got, res.Promotion)
	}
	if fig := res.Promotion.Decisions[1].Figures; fig == nil || fig.Managed != 4 || fig.Installed != 4 {
		t.Fatalf("prod promoted on figures %+v; want dev's 4 nodes installed", fig)
	}
	if got := approveUntil(t, f.harness, prodAccount); len(got) != 1 || got[0] != cutoff {
		t.Fatalf("prod's baseline approves %v after its promotion; want until dev's cut-off %s", got, cutoff)
	}
	if got := approveUntil(t, f.harness, devAccount); len(got) != 1 || got[0] != "after 7 days" {
		t.Fatalf("dev, the first ring, approves %v; want its own delay", got)
	}
	events, _ := f.eventsOf(t)
	if strings.Join(events, ", ") != "Ring Cycle Started dev, Ring Held prod, Ring Promoted prod" {
		t.Fatalf("events on the bus: %v", events)
	}
	var subjects []string
	for _, m := range f.sv.Server.Messages(f.topic) {
		subjects = append(subjects, m.Subject)
	}
	if len(subjects) != 3 || subjects[2] != "orgpatch: Ring Promoted prod" {
		t.Fatalf("alarm topic's messages: %v", subjects)
	}
	// Each decision is logged with its figures, and each ring has its
	// metric line.
	var logged, metric bool
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "promotion decision" && l["ring"] == "prod" && l["kind"] == "promote" && l["installedPercent"] == 100.0 {
			logged = true
		}
	}
	for _, l := range f.metrics.lines(t) {
		if l["Ring"] == "prod" && l[handler.MetricPromotionHeld] == 0.0 && l[handler.MetricPromotionInstalledPercent] == 100.0 {
			metric = true
		}
	}
	if !logged || !metric {
		t.Fatalf("promotion logged with its figures: %v; metric line for prod: %v", logged, metric)
	}
}

// With dev's installs failing, prod holds at its set: a "Ring Held"
// event and message carry the figures, prod's baseline keeps its delay,
// and a second run with nothing changed publishes nothing new.
func TestScheduleWithDevFailingHoldsProd(t *testing.T) {
	f := newPromoFleet(t, nil, sim.WithInstallFailures(7, func(account, _, _ string) float64 {
		if account == devAccount {
			return 1
		}
		return 0
	}))
	f.schedule(t)
	if _, err := f.clock.Advance(8 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	res := f.schedule(t)
	if got := kinds(res); got != "dev:unchanged prod:hold" {
		t.Fatalf("decisions = %q; want prod held", got)
	}
	hold := res.Promotion.Decisions[1]
	if hold.Figures == nil || hold.Figures.Failed != 4 || !strings.Contains(hold.Reason, "prod waits: dev 0.0% installed < 100%") {
		t.Fatalf("hold %q with figures %+v; want dev's 4 failed installs named", hold.Reason, hold.Figures)
	}
	if got := approveUntil(t, f.harness, prodAccount); len(got) != 1 || got[0] != "after 7 days" {
		t.Fatalf("held prod approves %v; want its set unchanged (its configured delay)", got)
	}
	events, details := f.eventsOf(t)
	last := details[len(details)-1]
	if events[len(events)-1] != "Ring Held prod" || last.Figures == nil || last.Figures.Failed != 4 || last.Reason != hold.Reason {
		t.Fatalf("events %v, last %+v; want a Ring Held event for prod with the figures", events, last)
	}
	msgs := f.sv.Server.Messages(f.topic)
	if m := msgs[len(msgs)-1]; m.Subject != "orgpatch: Ring Held prod" || !strings.Contains(m.Message, `"failed": 4`) {
		t.Fatalf("last message %q: %s; want the hold with its figures", m.Subject, m.Message)
	}
	nEvents, nMsgs := len(events), len(msgs)
	res = f.schedule(t)
	if got := kinds(res); got != "dev:unchanged prod:hold" {
		t.Fatalf("third run's decisions = %q", got)
	}
	if events, _ := f.eventsOf(t); len(events) != nEvents || len(f.sv.Server.Messages(f.topic)) != nMsgs {
		t.Fatalf("a run with nothing changed published again: %d events (was %d), %d messages (was %d)", len(events), nEvents, len(f.sv.Server.Messages(f.topic)), nMsgs)
	}
}

// A run whose promotion state cannot be saved holds every ring at its set
// (it says why, in the result and the log) and still converges, with the
// state as it was.
func TestScheduleThatCannotSaveHolds(t *testing.T) {
	f := newPromoFleet(t, nil)
	f.schedule(t)
	if _, err := f.clock.Advance(8 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	f.store.failSave.Store(true)
	f.sv.Server.ResetCalls()
	res := f.schedule(t)
	if res.Promotion == nil || !strings.Contains(res.Promotion.Held, "the promotion state could not be saved") || len(res.Promotion.Decisions) != 0 {
		t.Fatalf("promotion outcome %+v; want every ring held because the state could not be saved", res.Promotion)
	}
	if res.Counts == nil || res.Counts.Failed != 0 {
		t.Fatalf("the converge did not run cleanly after the hold: %+v", res.Counts)
	}
	if got := approveUntil(t, f.harness, prodAccount); len(got) != 1 || got[0] != "after 7 days" {
		t.Fatalf("prod approves %v after an unsaved promotion; want its set as it was", got)
	}
	if events, _ := f.eventsOf(t); len(events) != 2 {
		t.Fatalf("events %v; want none for the unsaved decision", events)
	}
	lines := f.metrics.lines(t)
	if l := lines[len(lines)-2]; l["Ring"] != "prod" || l[handler.MetricPromotionHeld] != 1.0 {
		t.Fatalf("metric line before the invocation's: %v; want prod held", l)
	}
}

// An unreadable account of the earlier ring holds: a gate never holds on
// partial data.
func TestScheduleWithUnreadableEarlierRingHolds(t *testing.T) {
	f := newPromoFleet(t, nil)
	f.schedule(t)
	if _, err := f.clock.Advance(8 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := f.sv.Server.RemoveRole(devAccount, role); err != nil {
		t.Fatal(err)
	}
	res, _ := f.invoke(t, f.event(t, "schedule.json")) // dev cannot be converged either
	if got := kinds(res); got != "dev:unchanged prod:hold" {
		t.Fatalf("decisions = %q (%+v); want prod held", got, res.Promotion)
	}
	if why := res.Promotion.Decisions[1].Reason; !strings.Contains(why, "dev could not be measured") || !strings.Contains(why, devAccount) {
		t.Fatalf("prod's hold says %q; want it to name dev's unreadable account", why)
	}
	// The hold is an event like any other, with its reason.
	events, details := f.eventsOf(t)
	if len(events) == 0 || events[len(events)-1] != "Ring Held prod" || !strings.Contains(details[len(details)-1].Reason, devAccount) {
		t.Fatalf("events %v; want the last a Ring Held prod naming dev's account", events)
	}
	if got := approveUntil(t, f.harness, prodAccount); len(got) != 1 || got[0] != "after 7 days" {
		t.Fatalf("prod approves %v; want its set as it was", got)
	}
}

// prodPinnedState saves a state in which prod has dev's set up to
// 2026-02-01.
func prodPinnedState(t *testing.T, f *promoFleet) {
	t.Helper()
	set := &promotion.Set{Cutoff: "2026-02-01", ReleasedAt: promotionStart.Add(-72 * time.Hour), Source: "dev"}
	st := promotion.State{Rings: map[string]*promotion.RingState{
		"dev":  {Set: set, PromotedAt: set.ReleasedAt, PromotedBy: "test"},
		"prod": {Set: set, PromotedAt: promotionStart.Add(-time.Hour), PromotedBy: "test"},
	}}
	if _, err := f.store.Save(context.Background(), st, ""); err != nil {
		t.Fatal(err)
	}
}

// Every converging path pins the promoted ring: CloudFormation's Create,
// an account event, the schedule (in the invocation and on the state
// machine's workers). And a promotion state that cannot be read fails
// each of them, converging nothing in prod rather than converging it
// unpinned.
func TestEveryConvergingPathPins(t *testing.T) {
	props := func(t *testing.T, cfg config.Config) map[string]any {
		b, err := cfg.JSON()
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{config.PropConfiguration: string(b)}
	}
	paths := map[string]struct {
		machine bool
		run     func(t *testing.T, f *promoFleet, m *machine) error
	}{
		"cloudformation create": {run: func(t *testing.T, f *promoFleet, _ *machine) error {
			res, err := f.invoke(t, f.cfnEvent(t, "cfn-create.json", props(t, f.cfg)))
			if err == nil && res.Status != "SUCCESS" {
				return errors.New(res.Summary)
			}
			return err
		}},
		"account moved": {run: func(t *testing.T, f *promoFleet, _ *machine) error {
			raw := f.rewrite(t, f.event(t, "organizations-move-account.json"), func(ev map[string]any) {
				ev["detail"].(map[string]any)["requestParameters"].(map[string]any)["accountId"] = prodAccount
			})
			_, err := f.invoke(t, raw)
			return err
		}},
		"schedule": {run: func(t *testing.T, f *promoFleet, _ *machine) error {
			_, err := f.invoke(t, f.event(t, "schedule.json"))
			return err
		}},
		"schedule on the state machine": {machine: true, run: func(t *testing.T, f *promoFleet, m *machine) error {
			if _, err := f.invoke(t, f.event(t, "schedule.json")); err != nil {
				return err
			}
			if out := m.execute(t, nil); out.Failed {
				return errors.New(out.Summary)
			}
			return nil
		}},
	}
	for name, p := range paths {
		for _, unreadable := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: " with an unreadable state"}[unreadable], func(t *testing.T) {
				var m *machine
				extra := func(d *handler.Deps) {}
				if p.machine {
					m = &machine{exec: &executions{}, store: stepfn.NewMemoryStore()}
					extra = func(d *handler.Deps) { d.StateMachine, d.Executions, d.Runs = stateMachine, m.exec, m.store }
				}
				f := newPromoFleet(t, extra)
				if m != nil {
					m.harness = f.harness
				}
				prodPinnedState(t, f)
				f.store.failLoad.Store(unreadable)
				err := p.run(t, f, m)
				got := approveUntil(t, f.harness, prodAccount)
				if unreadable {
					if err == nil || !strings.Contains(err.Error(), "promotion state cannot be read") {
						t.Fatalf("error %v; want the run failed for the unreadable promotion state", err)
					}
					if len(got) != 0 {
						t.Fatalf("prod's baseline approves %v; want nothing converged without the state", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if len(got) != 1 || got[0] != "2026-02-01" {
					t.Fatalf("prod's baseline approves %v; want until its promoted cut-off 2026-02-01", got)
				}
			})
		}
	}
}

// A ring whose baseline is pinned by list is promoted by the schedule to
// exactly the ids dev's nodes installed: the scheduled run reads them with
// the gate's measurement, and prod's baseline, read through SSM as the prod
// account, approves that list with its rules cleared.
func TestScheduleWithListPinPromotesProdToDevsInstalledIds(t *testing.T) {
	f := newPromoFleet(t, nil)
	f.cfg.Baselines[0].PromotionPin = config.PinApprovedPatches
	f.deployed(t, f.cfg)
	f.schedule(t)
	if ran, err := f.clock.Advance(8 * 24 * time.Hour); err != nil || ran == 0 {
		t.Fatalf("advance: %d windows ran, %v", ran, err)
	}
	res := f.schedule(t)
	if got := kinds(res); got != "dev:unchanged prod:promote" {
		t.Fatalf("decisions = %q (%+v); want prod promoted to dev's installed ids", got, res.Promotion)
	}
	want := res.Promotion.Decisions[1].To.Patches["AMAZON_LINUX_2023"]
	if len(want) == 0 {
		t.Fatalf("prod promoted to %+v; want dev's installed Amazon Linux 2023 ids", res.Promotion.Decisions[1].To)
	}
	// What dev's nodes really hold, as SSM reports it.
	ctx := context.Background()
	dev := ssm.NewFromConfig(f.sv.AccountConfig(t, devAccount, role))
	installed := map[string]bool{}
	for _, n := range f.sv.Server.Nodes().List(devAccount, "us-east-1") {
		out, err := dev.DescribeInstancePatches(ctx, &ssm.DescribeInstancePatchesInput{InstanceId: aws.String(n.ID),
			Filters: []ssmtypes.PatchOrchestratorFilter{{Key: aws.String("State"), Values: []string{"Installed", "InstalledPendingReboot"}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Patches {
			installed[aws.ToString(p.Title)] = true
		}
	}
	if len(installed) != len(want) {
		t.Fatalf("prod's set holds %d ids; dev's nodes installed %d", len(want), len(installed))
	}
	c := ssm.NewFromConfig(f.sv.AccountConfig(t, prodAccount, role))
	list, err := c.DescribePatchBaselines(ctx, &ssm.DescribePatchBaselinesInput{Filters: []ssmtypes.PatchOrchestratorFilter{
		{Key: aws.String("OWNER"), Values: []string{"Self"}}}})
	if err != nil || len(list.BaselineIdentities) != 1 {
		t.Fatalf("prod's baselines: %+v %v", list, err)
	}
	got, err := c.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: list.BaselineIdentities[0].BaselineId})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.ApprovedPatches, want) || (got.ApprovalRules != nil && len(got.ApprovalRules.PatchRules) != 0) {
		t.Fatalf("prod's baseline approves %v with rules %+v; want exactly %v and no rules", got.ApprovedPatches, got.ApprovalRules, want)
	}
}

// A disabled configuration whose rings promote tears down on the schedule
// without the promotion: no cycle decides or publishes, and an unreadable
// promotion state does not stop the teardown (a disabled configuration has
// no pins to apply).
func TestDisabledScheduleTearsDownWithoutPromotion(t *testing.T) {
	f := newPromoFleet(t, nil)
	f.schedule(t)
	before, _ := f.eventsOf(t)
	f.cfg.Disabled = true
	f.deployed(t, f.cfg)
	f.store.failLoad.Store(true)
	res := f.schedule(t)
	if res.Promotion != nil {
		t.Fatalf("a disabled configuration ran the promotion cycle: %+v", res.Promotion)
	}
	if res.Counts == nil || res.Counts.Failed != 0 || res.Counts.Converged == 0 {
		t.Fatalf("teardown counts %+v; want the targets converged to nothing and nothing failed", res.Counts)
	}
	if after, _ := f.eventsOf(t); len(after) != len(before) {
		t.Fatalf("events %v after the disabled run; want none new after %v", after, before)
	}
}
