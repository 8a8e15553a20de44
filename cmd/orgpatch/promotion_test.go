package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// promotionConfig is testdata/orgs/rings.json's dev OU as ring dev and its
// prod OU as ring prod, following dev through a gate; pin is prod's
// baseline's promotionPin.
func promotionConfig(pin string) string {
	return `regions: [us-east-1]
baselines:
  - name: orgpatch-amazon-linux-2
    operatingSystem: AMAZON_LINUX_2
    default: true
    promotionPin: ` + pin + `
    approvalRules:
      - filters: [{key: CLASSIFICATION, values: [Security, Bugfix]}]
        approveAfterDays: 7
rings:
  - name: dev
    select: {ous: [ou-rg01-devaccts]}
    approveAfterDays: 0
  - name: prod
    select: {ous: [ou-rg01-prodacct]}
    promotion:
      follows: dev
      gate: {minInstalledPercent: 95, maxFailedPercent: 2, maxStalePercent: 5}
`
}

const (
	devAccount  = "222222222222"
	prodAccount = "333333333333"                                  // and 444444444444, in an OU under prod's
	caller      = "arn:aws:iam::111111111111:user/orgpatch-admin" // the simulator's management credentials
)

// promotionSim serves testdata/orgs/rings.json with the runs bucket
// orgpatch-runs made, and returns the state's store as the commands find
// it.
func promotionSim(t *testing.T, opts ...sim.Option) (*simtest.Env, promotion.S3Store) {
	t.Helper()
	env := simtest.Start(t, runtest.RingsOrg(t), opts...)
	api := compliance.NewS3Client(env.Config)
	if _, err := api.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(simRunsBucket)}); err != nil {
		t.Fatal(err)
	}
	return env, promotion.S3Store{API: api, Bucket: simRunsBucket, Owner: env.Server.ManagementAccount()}
}

// devNodes puts n Amazon Linux 2 nodes in the dev account, failed of
// them with a failed install and the others with everything installed,
// their last run ended at ended.
func devNodes(t *testing.T, env *simtest.Env, n, failed int, ended time.Time) {
	t.Helper()
	var ns []nodes.Node
	for i := range n {
		state := nodes.Installed
		if i < failed {
			state = nodes.Failed
		}
		ns = append(ns, nodes.Node{ID: fmt.Sprintf("i-0%016x", i+1), State: "running", Launched: ended.AddDate(0, 0, -30), Platform: nodes.Linux,
			PlatformName: "Amazon Linux", PlatformVersion: "2", Managed: true, PingStatus: nodes.Online, LastPing: ended, AgentVersion: "3.3.1142.0",
			Patch: &nodes.PatchState{BaselineID: "pb-0123456789abcdef0", Operation: "Install", Started: ended.Add(-time.Minute), Ended: ended, ExecutionID: "c-1",
				Patches: []nodes.Patch{{ID: "kernel.x86_64:0:5.10.1-1.amzn2", Title: "kernel", Classification: "Security", Severity: "Important", State: state, InstalledTime: ended}}}})
	}
	if err := env.Server.Nodes().Put(devAccount, simtest.Region, ns...); err != nil {
		t.Fatal(err)
	}
}

func loadState(t *testing.T, store promotion.S3Store) promotion.State {
	t.Helper()
	st, _, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func ringsJSON(t *testing.T, args ...string) map[string]promotion.RingView {
	t.Helper()
	code, out, errs := cli(t, append([]string{"rings", "-json"}, args...)...)
	if code != 0 {
		t.Fatalf("rings -json: exit %d, stderr %q", code, errs)
	}
	var views []promotion.RingView
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("rings -json: %v\n%s", err, out)
	}
	m := map[string]promotion.RingView{}
	for _, v := range views {
		m[v.Ring] = v
	}
	return m
}

func TestPromotionCommandsRefuseBadInputBeforeAnyCall(t *testing.T) {
	env, _ := promotionSim(t)
	env.Server.ResetCalls()
	cfg := configFile(t, promotionConfig("approveUntilDate"))
	listed := configFile(t, promotionConfig("approvedPatches"))
	at := []string{"--endpoint", env.URL, "--config", cfg}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rings", "now"}, `orgpatch rings: unexpected argument "now"`},
		{[]string{"rings", "--runs-bucket", "Runs_Bucket"}, `orgpatch rings: --runs-bucket "Runs_Bucket": want an S3 bucket name`},
		{[]string{"rings", "--bucket-owner", "1234"}, `orgpatch rings: --bucket-owner "1234": want a 12-digit account id`},
		{[]string{"rings", "--concurrency", "0"}, "orgpatch rings: --concurrency 0: want a whole number from 1 to 1000"},
		{[]string{"promote", "--reason", "tested"}, "orgpatch promote: promote: a ring is required: one of dev, prod"},
		{[]string{"promote", "qa", "--reason", "tested"}, `orgpatch promote: promote: "qa" is not one of the configuration's rings: dev, prod`},
		{[]string{"promote", "prod"}, "orgpatch promote: promote prod: --reason is required"},
		{[]string{"promote", "prod", "--reason", "  "}, "orgpatch promote: promote prod: --reason is required"},
		{[]string{"promote", "prod", "--cutoff", "2026-13-01", "--reason", "tested"}, `--cutoff "2026-13-01" is not a date like 2026-12-31 (YYYY-MM-DD) on or before today`},
		{[]string{"promote", "prod", "--cutoff", "2999-01-01", "--reason", "tested"}, `--cutoff "2999-01-01" is not a date`},
		{[]string{"promote", "prod", "dev", "--reason", "tested"}, "orgpatch promote: want one RING, got 2: prod dev"},
		{[]string{"promote", "prod", "--reason", "x", "--alarm-topic", "orgpatch-alarms"}, `orgpatch promote: --alarm-topic "orgpatch-alarms": want an SNS topic ARN`},
		{[]string{"hold", "prod"}, "orgpatch hold: hold prod: --reason is required"},
		{[]string{"hold", "--reason", "freeze"}, "orgpatch hold: hold: a ring is required: one of dev, prod"},
		{[]string{"hold", "prod", "--cutoff", "2026-01-01", "--reason", "x"}, "orgpatch hold: flag provided but not defined: -cutoff"},
	} {
		code, _, errs := cli(t, append(tc.args, at...)...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", tc.args, code, errs, tc.want)
		}
	}
	// A cut-off cannot pin a baseline pinned by list; no ring outside a
	// chain is promoted; with no endpoint the bucket must be named.
	code, _, errs := cli(t, "promote", "prod", "--cutoff", "2026-01-01", "--reason", "tested", "--endpoint", env.URL, "--config", listed)
	if code != 2 || !strings.Contains(errs, "its baselines orgpatch-amazon-linux-2 are pinned by approvedPatches, which a cut-off does not list") {
		t.Errorf("cut-off on a list pin: exit %d, stderr %q", code, errs)
	}
	noChain := configFile(t, strings.Replace(promotionConfig("approveUntilDate"), "    promotion:\n      follows: dev\n      gate: {minInstalledPercent: 95, maxFailedPercent: 2, maxStalePercent: 5}\n", "", 1))
	if code, _, errs = cli(t, "hold", "prod", "--reason", "x", "--endpoint", env.URL, "--config", noChain); code != 2 || !strings.Contains(errs, "hold prod: the ring is in no promotion chain") {
		t.Errorf("hold outside a chain: exit %d, stderr %q", code, errs)
	}
	t.Setenv("ORGPATCH_RUNS_BUCKET", "")
	if code, _, errs = cli(t, "rings", "--config", cfg); code != 2 || !strings.Contains(errs, "orgpatch rings: --runs-bucket: required") {
		t.Errorf("no bucket: exit %d, stderr %q", code, errs)
	}
	if code, _, errs = cli(t, "plan", "--config", cfg); code != 2 || !strings.Contains(errs, "orgpatch plan: --runs-bucket: required") {
		t.Errorf("plan of promoted rings without their state: exit %d, stderr %q", code, errs)
	}
	if n := env.Server.CountCalls(nil); n != 0 {
		t.Errorf("bad input made %d calls, want 0", n)
	}
}

// Before any run, rings says dev starts its first cycle and prod waits,
// approving by its configured delay.
func TestRingsBeforeAnySet(t *testing.T) {
	env, _ := promotionSim(t)
	cfg := configFile(t, promotionConfig("approveUntilDate"))
	code, out, errs := cli(t, "rings", "--endpoint", env.URL, "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"dev  (followed by prod)\n  set:   none\n",
		"next:  start-cycle: dev starts its first cycle: patches released up to " + time.Now().UTC().Format(time.DateOnly),
		"prod  (follows dev (no soak; gate: installed >= 95%, failed <= 2%, stale <= 5%))\n  set:   none\n  pins:  none yet: its baselines approve by their configured delay\n",
		"next:  hold: prod waits: dev has no set yet; until its first promotion prod approves by its configured delay",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rings lacks %q:\n%s", want, out)
		}
	}
	views := ringsJSON(t, "--endpoint", env.URL, "--config", cfg)
	if v := views["prod"]; v.Set != nil || v.Pinned || v.Next.Kind != promotion.HoldKind || v.Next.Figures != nil {
		t.Errorf("prod as JSON: %+v, want no set, not pinned, held without figures", v)
	}
}

// dev has a set, a tenth of its nodes failed: rings shows prod held with
// the figures; a person promotes it anyway, recorded with who and why and
// published; rings then shows prod on dev's set; a person's hold sticks.
func TestRingsHeldThenPromotedAndHeldByAPerson(t *testing.T) {
	env, store := promotionSim(t)
	ctx := context.Background()
	cfg := configFile(t, promotionConfig("approveUntilDate"))
	topic, err := sns.NewFromConfig(env.Config).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgpatch-alarms")})
	if err != nil {
		t.Fatal(err)
	}
	topicARN := aws.ToString(topic.TopicArn)
	released := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	devSet := &promotion.Set{Cutoff: released.Format(time.DateOnly), ReleasedAt: released, Source: "cycle"}
	if _, err := store.Save(ctx, promotion.State{Rings: map[string]*promotion.RingState{
		"dev": {Set: devSet, PromotedAt: released, PromotedBy: "orgpatch-function", Reason: "dev starts its first cycle"}}}, ""); err != nil {
		t.Fatal(err)
	}
	devNodes(t, env, 10, 1, released.Add(time.Hour))
	at := []string{"--endpoint", env.URL, "--config", cfg}

	code, out, errs := cli(t, append([]string{"rings"}, at...)...)
	if code != 0 {
		t.Fatalf("rings: exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"  set:   up to " + devSet.Cutoff + ", given " + released.Format("2006-01-02 15:04 UTC") + " (its approval delay's cut-off)\n  by:    orgpatch-function\n",
		"  gate now: dev 90.0% installed, 10.0% failed, 0.0% not scanned since its set, of 10 managed nodes",
		"  next:  hold: prod waits: dev 90.0% installed < 95%; dev 10.0% failed > 2%\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rings lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = cli(t, append([]string{"promote", "prod", "--reason", "CVE fix verified by hand", "--alarm-topic", topicARN}, at...)...)
	if code != 0 {
		t.Fatalf("promote: exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, want := range []string{"prod: none -> up to " + devSet.Cutoff, "by:  " + caller, "why: prod promoted by " + caller + ": CVE fix verified by hand",
		"baselines at the next converge: orgpatch-amazon-linux-2 approveAfterDays 7 -> approveUntilDate " + devSet.Cutoff, "event: Ring Promoted on the default event bus and " + topicARN} {
		if !strings.Contains(out, want) {
			t.Errorf("promote lacks %q:\n%s", want, out)
		}
	}
	st := loadState(t, store)
	prod := st.Rings["prod"]
	if prod == nil || !prod.Set.Same(devSet) || prod.Set.Source != "dev" || prod.PromotedBy != caller || !strings.HasSuffix(prod.Reason, "CVE fix verified by hand") || len(st.Unpublished) != 0 {
		t.Fatalf("state after promote: prod %+v, unpublished %v; want dev's set, by %s, why, all sent", prod, st.Unpublished, caller)
	}
	events := env.Server.Events(env.Server.ManagementAccount(), simtest.Region)
	if len(events) != 1 || events[0].DetailType != promotion.DetailPromoted || events[0].Source != promotion.EventSource {
		t.Fatalf("events %+v, want one Ring Promoted", events)
	}
	var detail promotion.EventDetail
	if err := json.Unmarshal([]byte(events[0].Detail), &detail); err != nil || detail.By != caller || !detail.Manual || detail.Ring != "prod" || detail.To == nil || detail.To.Cutoff != devSet.Cutoff {
		t.Errorf("event detail %+v (%v), want prod's manual promotion by %s to %s", detail, err, caller, devSet.Cutoff)
	}
	if msgs := env.Server.Messages(topicARN); len(msgs) != 1 || msgs[0].Subject != "orgpatch: Ring Promoted prod" {
		t.Errorf("topic messages %+v, want one Ring Promoted prod", msgs)
	}

	// apply converges prod to the set, as the function does.
	if code, out, errs := cli(t, append([]string{"apply", "--config-parameter", ""}, at...)...); code != 0 {
		t.Fatalf("apply: exit %d, stderr %q\n%s", code, errs, out)
	}
	if got := approveUntil(t, env, prodAccount); got != devSet.Cutoff {
		t.Errorf("prod's default baseline approves until %q after apply, want dev's cut-off %s", got, devSet.Cutoff)
	}

	views := ringsJSON(t, at...)
	if v := views["prod"]; !v.Pinned || v.Set == nil || v.Set.Cutoff != devSet.Cutoff || v.Next.Kind != promotion.Unchanged || v.PromotedBy != caller {
		t.Errorf("prod after the promotion: %+v, want pinned to dev's set by %s, unchanged next", v, caller)
	}

	code, out, errs = cli(t, append([]string{"hold", "prod", "--reason", "change freeze"}, at...)...)
	if code != 0 || !strings.Contains(out, "prod held at up to "+devSet.Cutoff) || !strings.Contains(out, "baselines at the next converge: none") {
		t.Fatalf("hold: exit %d, stderr %q\n%s", code, errs, out)
	}
	st = loadState(t, store)
	if h := st.Rings["prod"].Hold; h == nil || !h.Manual || h.By != caller || !strings.HasSuffix(h.Reason, "change freeze") {
		t.Errorf("hold in the state: %+v, want a person's, by %s, with the reason", h, caller)
	}
	if events = env.Server.Events(env.Server.ManagementAccount(), simtest.Region); len(events) != 2 || events[1].DetailType != promotion.DetailHeld {
		t.Errorf("events %+v, want Ring Held second", events)
	}
	_, out, _ = cli(t, append([]string{"rings"}, at...)...)
	if want := "by a person (sticks until a person promotes it): prod held by " + caller + ": change freeze"; !strings.Contains(out, want) {
		t.Errorf("rings lacks %q:\n%s", want, out)
	}
}

// A person's promotion of a ring whose earlier ring has no set says so,
// saves nothing and publishes nothing.
func TestPromoteWithNothingToPromote(t *testing.T) {
	env, store := promotionSim(t)
	cfg := configFile(t, promotionConfig("approveUntilDate"))
	code, _, errs := cli(t, "promote", "prod", "--reason", "now", "--endpoint", env.URL, "--config", cfg)
	if code != 1 || !strings.Contains(errs, "promote prod: dev has no set to promote yet: give --cutoff") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if st := loadState(t, store); len(st.Rings) != 0 {
		t.Errorf("state %+v, want none saved", st)
	}
	if ev := env.Server.Events(env.Server.ManagementAccount(), simtest.Region); len(ev) != 0 {
		t.Errorf("events %+v, want none", ev)
	}
}

// plan shows per ring what the next scheduled run pins, and plans the
// accounts to it: dev's nodes all installed its set, so prod's gate holds
// and prod's baseline moves from its delay to dev's cut-off. The plan
// saves nothing.
func TestPlanShowsThePinPerRing(t *testing.T) {
	env, store := promotionSim(t)
	ctx := context.Background()
	cfg := configFile(t, promotionConfig("approveUntilDate"))
	released := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	devSet := &promotion.Set{Cutoff: released.AddDate(0, 0, -1).Format(time.DateOnly), ReleasedAt: released, Source: "cycle"}
	if _, err := store.Save(ctx, promotion.State{Rings: map[string]*promotion.RingState{"dev": {Set: devSet, PromotedAt: released, PromotedBy: "orgpatch-function"}}}, ""); err != nil {
		t.Fatal(err)
	}
	devNodes(t, env, 4, 0, released.Add(time.Hour))
	if code, out, errs := cli(t, "apply", "--endpoint", env.URL, "--config", cfg, "--config-parameter", ""); code != 0 {
		t.Fatalf("apply: exit %d, stderr %q\n%s", code, errs, out)
	}
	_, etag, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.Server.ResetCalls()
	code, out, errs := cli(t, "plan", "--endpoint", env.URL, "--config", cfg, "--config-parameter", "", "--output", "json")
	if code != 0 {
		t.Fatalf("plan: exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"Promotion: what the next scheduled run pins, per ring\n",
		"  dev: no change (unchanged: dev keeps its set up to " + devSet.Cutoff + " until prod takes it)\n",
		"  prod: orgpatch-amazon-linux-2 approveAfterDays 7 -> approveUntilDate " + devSet.Cutoff + " (promote: prod's gate held: dev 100.0% installed, 0.0% failed, 0.0% stale of 4 nodes)\n",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("plan's stderr (with --output json) lacks %q:\n%s", want, errs)
		}
	}
	var rep struct {
		Targets []struct {
			Account, Ring string
			Actions       []struct{ Kind, Resource, Name, Detail string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("plan's report: %v\n%s", err, out)
	}
	changed := map[string][]string{}
	for _, tg := range rep.Targets {
		for _, a := range tg.Actions {
			if a.Kind != "unchanged" {
				changed[tg.Account] = append(changed[tg.Account], a.Kind+" "+a.Resource+" "+a.Name)
			}
		}
	}
	// prod-web is in an OU under prod's: ring prod too.
	for _, a := range []string{prodAccount, "444444444444"} {
		if len(changed[a]) != 1 || !strings.Contains(changed[a][0], "update baseline orgpatch-amazon-linux-2") {
			t.Errorf("%s: planned %v, want its baseline updated", a, changed[a])
		}
	}
	if len(changed) != 2 {
		t.Errorf("planned changes %v, want prod's two accounts' only", changed)
	}
	if writes := env.Server.CountCalls(func(c sim.Call) bool { return c.Write && c.ErrorCode == "" }); writes != 0 {
		t.Errorf("plan wrote %d times", writes)
	}
	if _, after, err := store.Load(ctx); err != nil || after != etag {
		t.Errorf("plan changed the promotion state (%v): etag %s -> %s", err, etag, after)
	}
}

// approveUntil is the approveUntilDate of account's default Amazon Linux 2
// baseline in the home region ("" when its rules have none).
func approveUntil(t *testing.T, env *simtest.Env, account string) string {
	t.Helper()
	ctx := context.Background()
	api := ssm.NewFromConfig(env.AccountConfig(t, account, "sra-patch-mgmt-configuration"))
	def, err := api.GetDefaultPatchBaseline(ctx, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: ssmtypes.OperatingSystemAmazonLinux2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := api.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: def.BaselineId})
	if err != nil {
		t.Fatal(err)
	}
	if b.ApprovalRules == nil || len(b.ApprovalRules.PatchRules) == 0 {
		return ""
	}
	return aws.ToString(b.ApprovalRules.PatchRules[0].ApproveUntilDate)
}

// An earlier ring's account that cannot be read is named, and rings exits
// 1: the gate's figures lack its nodes.
func TestRingsNamesWhatItCouldNotMeasure(t *testing.T) {
	env, _ := promotionSim(t, sim.WithAccessDenied(devAccount))
	cfg := configFile(t, promotionConfig("approveUntilDate"))
	code, out, errs := cli(t, "rings", "--endpoint", env.URL, "--config", cfg)
	if code != 1 || !strings.Contains(errs, "not read, its nodes are missing from the gate's figures: "+devAccount+" us-east-1: ") {
		t.Errorf("exit %d, stderr %q; want 1 naming %s", code, errs, devAccount)
	}
	if !strings.Contains(out, "prod waits: dev has no set yet") {
		t.Errorf("the rings are not shown all the same:\n%s", out)
	}
}
