package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// The promotion step's fleet: ten Amazon Linux 2 machines in the dev ring's
// staging-data account, four in prod's prod-web, in the home region.
const (
	devNodes, prodNodes = 10, 4
	runsBucket          = "orgpatch-runs"
	alarmTopic          = "orgpatch-alarms"
	devDaily            = "cron(0 2 ? * * *)" // dev installs every night, 02:00 UTC
	soak                = 48 * time.Hour
	soakText            = "48h"
)

// failingNodes are the machines whose installs fail (the simulator's
// injected failures), changed by the promotion step between its cycles.
type failingNodes struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (f *failingNodes) rate(_, _, node string) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids[node] {
		return 1
	}
	return 0
}

func (f *failingNodes) set(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = map[string]bool{}
	for _, id := range ids {
		f.ids[id] = true
	}
}

// promotionResources makes what the stack gives the function for
// promotion: the runs bucket, which keeps the promotion state, and the
// alarm topic.
func (d *demo) promotionResources(ctx context.Context) error {
	api := compliance.NewS3Client(d.mgmt)
	if _, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(runsBucket)}); err != nil {
		return fmt.Errorf("demo: create the runs bucket: %w", err)
	}
	topic, err := sns.NewFromConfig(d.mgmt).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(alarmTopic)})
	if err != nil {
		return fmt.Errorf("demo: create the alarm topic: %w", err)
	}
	d.promotion = promotion.S3Store{API: api, Bucket: runsBucket, Owner: d.srv.ManagementAccount()}
	d.topic = aws.ToString(topic.TopicArn)
	return nil
}

// promotionConfig is cfg with prod following dev (a 48-hour soak; at
// least 95% of dev's nodes installed, at most 2% failed, 5% not scanned)
// and dev installing every night.
func promotionConfig(cfg config.Config) config.Config {
	installed, failed, stale := 95.0, 2.0, 5.0
	cfg.Rings = slices.Clone(cfg.Rings)
	for i, r := range cfg.Rings {
		switch r.Name {
		case "dev":
			r.WindowOverrides = []config.WindowOverride{{Window: renamed, Schedule: devDaily, ScheduleTimezone: "UTC"}}
		case "prod":
			r.Promotion = &config.Promotion{Follows: "dev", Soak: soakText,
				Gate: config.Gate{MinInstalledPercent: &installed, MaxFailedPercent: &failed, MaxStalePercent: &stale}}
		}
		cfg.Rings[i] = r
	}
	return cfg
}

// al2Patch is an Amazon Linux 2 security update released at released.
func al2Patch(name, version, severity string, released time.Time) nodes.Release {
	return nodes.Release{ID: name + ".x86_64:0:" + version + ".amzn2", OS: "AMAZON_LINUX_2", Product: "AmazonLinux2", ProductFamily: "AmazonLinux",
		Name: name, Title: name, Classification: "Security", Severity: severity, Released: released,
		Version: strings.Split(version, "-")[0], ReleaseLabel: strings.Split(version, "-")[1] + ".amzn2", Arch: "x86_64"}
}

// machines are n Amazon Linux 2 machines tagged for the Linux window, their
// ids i-0 and prefix (a hex digit) and their number.
func machines(prefix string, n int, now time.Time) []nodes.Node {
	var ns []nodes.Node
	for i := range n {
		ns = append(ns, nodes.Node{ID: fmt.Sprintf("i-0%s%015x", prefix, i+1), Tags: map[string]string{"Name": fmt.Sprintf("%s-app-%d", prefix, i+1), config.InstanceOSTagKey: "Linux"},
			State: "running", Launched: now.AddDate(0, -3, 0), Platform: nodes.Linux, PlatformName: "Amazon Linux", PlatformVersion: "2",
			Managed: true, PingStatus: nodes.Online, LastPing: now, AgentVersion: "3.3.1142.0"})
	}
	return ns
}

// scheduled is one scheduled run of the function; it prints and returns
// its promotion decisions by ring.
func (d *demo) scheduled(ctx context.Context, what string) (map[string]promotion.Decision, error) {
	res, err := d.invoke(ctx, "the scheduled event ("+what+")", scheduleEvent(d.clock.Now()))
	if err != nil {
		return nil, err
	}
	out := map[string]promotion.Decision{}
	if res.Promotion == nil {
		return out, nil
	}
	if res.Promotion.Held != "" {
		d.printf("     promotion: %s\n", res.Promotion.Held)
	}
	for _, dec := range res.Promotion.Decisions {
		out[dec.Ring] = dec
		d.printf("     %-4s %-11s %s\n", dec.Ring, dec.Kind, dec.Reason)
	}
	return out, nil
}

// advance moves simulated time on by dt: the windows that fall due run,
// dev's nightly install among them.
func (d *demo) advance(dt time.Duration) error {
	ran, err := d.clock.sim.Advance(dt)
	if err != nil {
		return err
	}
	d.printf("\n  %dh later (simulated): %d maintenance window runs, now %s\n", int(dt.Hours()), ran, d.clock.Now().UTC().Format("2006-01-02 15:04 UTC"))
	// Sessions expire by the simulated clock: assume the roles again.
	d.admin = newAdmin(d.mgmt)
	return nil
}

// prodCutoffs reads, as each prod account, the approval rules of its
// default Amazon Linux 2 baseline in the home region, as an administrator
// in that account would. The account cli (none when "") is read through
// the AWS CLI (d.awsCLI: `aws ssm get-default-patch-baseline` and `aws ssm
// get-patch-baseline`), the promotion's proof in an engine orgpatch did
// not write; each CLI call starts a Python process (about a second), so
// the other accounts, and every account where no AWS CLI is installed, are
// read with the same two SSM calls through the SDK. Each rule reads as its
// ApproveUntilDate or its delay; via says how each account was read.
func (d *demo) prodCutoffs(ctx context.Context, prod []string, cli string) (out, via map[string]string, err error) {
	out, via = map[string]string{}, map[string]string{}
	for _, a := range prod {
		var def struct{ BaselineId string }
		var b struct {
			Name          string
			ApprovalRules *struct {
				PatchRules []struct {
					ApproveUntilDate *string
					ApproveAfterDays *int32
				}
			}
		}
		ok := false
		if a == cli {
			ok, err = d.awsCLI(ctx, a, &def, "ssm", "get-default-patch-baseline", "--operating-system", string(demoOSes[0]))
			if ok && err == nil {
				_, err = d.awsCLI(ctx, a, &b, "ssm", "get-patch-baseline", "--baseline-id", def.BaselineId)
			}
			via[a] = "$ aws ssm get-patch-baseline (the AWS CLI, as this account)"
		}
		if !ok {
			via[a] = "SSM GetPatchBaseline (the SDK)"
			if a == cli {
				via[a] += "; no AWS CLI on PATH"
			}
			err = d.sdkBaseline(ctx, a, &b)
		}
		if err != nil {
			return nil, nil, err
		}
		var rules []string
		if b.ApprovalRules != nil {
			for _, r := range b.ApprovalRules.PatchRules {
				if r.ApproveUntilDate != nil {
					rules = append(rules, "ApproveUntilDate "+*r.ApproveUntilDate)
				} else {
					rules = append(rules, fmt.Sprintf("ApproveAfterDays %d", aws.ToInt32(r.ApproveAfterDays)))
				}
			}
		}
		out[a] = b.Name + ": " + strings.Join(rules, ", ")
	}
	return out, via, nil
}

// sdkBaseline reads account's default Amazon Linux 2 baseline through the
// SDK into out, in the shape the AWS CLI prints it.
func (d *demo) sdkBaseline(ctx context.Context, account string, out any) error {
	api := d.admin.SSM(account, homeRegion)
	def, err := api.GetDefaultPatchBaseline(ctx, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: demoOSes[0]})
	if err != nil {
		return fmt.Errorf("%s: get default patch baseline: %w", account, err)
	}
	b, err := api.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: def.BaselineId})
	if err != nil {
		return fmt.Errorf("%s: get patch baseline: %w", account, err)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// expectProd says where a prod account's baseline does not approve want.
func expectProd(got map[string]string, want string) string {
	var p problems
	for _, a := range slices.Sorted(maps.Keys(got)) {
		if !strings.HasSuffix(got[a], ": "+want) {
			p.addf("%s: %s, want %s", a, got[a], want)
		}
	}
	return p.String()
}

// promotionEvents are the events on the management account's default bus
// from Source orgpatch since skip, and their details.
func (d *demo) promotionEvents(skip int) ([]string, []promotion.EventDetail, int) {
	var kinds []string
	var details []promotion.EventDetail
	all := d.srv.Events(d.srv.ManagementAccount(), homeRegion)
	for _, e := range all[min(skip, len(all)):] {
		var det promotion.EventDetail
		if e.Source != promotion.EventSource || json.Unmarshal([]byte(e.Detail), &det) != nil {
			continue
		}
		kinds = append(kinds, e.DetailType+" "+det.Ring)
		details = append(details, det)
	}
	return kinds, details, len(all)
}

// Step 6: two patch cycles. In the first, dev installs, its gate holds
// after the soak, and prod's baselines move to dev's set; in the second a
// fifth of dev's installs fail, prod holds and says why, and a person
// promotes it anyway.
func (d *demo) promote(ctx context.Context) error {
	current, err := config.FromProperties(d.props)
	if err != nil {
		return err
	}
	cfg := promotionConfig(current)
	body, err := cfg.JSON()
	if err != nil {
		return err
	}
	old := maps.Clone(d.props)
	d.props[config.PropConfiguration] = string(body)
	d.printf("  the administrator makes prod follow dev: prod takes the set of patches dev had once dev's gate\n")
	d.printf("  holds (a %s soak; >= 95%% of dev's nodes installed, <= 2%% failed, <= 5%% not scanned since);\n", soakText)
	d.printf("  dev installs every night at 02:00 UTC\n")
	rep, resp, _, err := d.stackRequest(ctx, cfn.RequestUpdate, old)
	if err != nil {
		return err
	}
	d.checkResponse(cfn.RequestUpdate, resp)
	d.checkAccounted(rep)

	start := d.clock.Now()
	dev, prod := stagingData, []string{prodWeb, "444444444445", stagingWeb}
	devMachines, prodMachines := machines("d", devNodes, start), machines("e", prodNodes, start)
	if err := d.srv.Nodes().Put(dev, homeRegion, devMachines...); err != nil {
		return err
	}
	if err := d.srv.Nodes().Put(prodWeb, homeRegion, prodMachines...); err != nil {
		return err
	}
	if err := d.srv.Catalog().Add(al2Patch("kernel", "4.14.355-275.570", "Important", start.Add(-72*time.Hour)),
		al2Patch("openssl", "1.0.2k-24.amzn2.0.14", "Critical", start.Add(-72*time.Hour))); err != nil {
		return err
	}
	d.printf("  %d Amazon Linux 2 machines in dev (%s), %d in prod (%s); Amazon releases kernel and openssl updates\n",
		devNodes, dev, prodNodes, prodWeb)

	d.sub("cycle 1: dev installs, its gate holds after the soak, prod takes dev's set")
	events := len(d.srv.Events(d.srv.ManagementAccount(), homeRegion))
	first, err := d.scheduled(ctx, "dev's cycle starts")
	if err != nil {
		return err
	}
	set1 := first["dev"].To
	d.check("the first run starts dev's cycle (its set: what its delay approves today) and prod waits for it",
		when(first["dev"].Kind != promotion.StartCycle || set1 == nil || first["prod"].Kind != promotion.HoldKind, "dev %s, prod %s", first["dev"].Kind, first["prod"].Kind))
	if set1 == nil {
		return fmt.Errorf("dev has no set after its cycle started: %+v", first["dev"])
	}
	if err := d.advance(24 * time.Hour); err != nil {
		return err
	}
	during, err := d.scheduled(ctx, "during the soak")
	if err != nil {
		return err
	}
	d.check("during the soak prod waits and says until when", when(during["prod"].Kind != promotion.HoldKind || !strings.Contains(during["prod"].Reason, "dev's soak ends"), "prod %s: %s", during["prod"].Kind, during["prod"].Reason))
	if err := d.advance(soak - 23*time.Hour); err != nil {
		return err
	}
	after, err := d.scheduled(ctx, "the soak has passed")
	if err != nil {
		return err
	}
	fig := after["prod"].Figures
	d.check(fmt.Sprintf("after the soak dev's gate holds on its %d machines, all installed: prod is promoted to dev's set", devNodes),
		when(after["prod"].Kind != promotion.Promote || fig == nil || fig.Managed != devNodes || fig.Installed != devNodes || !after["prod"].To.Same(set1),
			"prod %s (%s), figures %+v", after["prod"].Kind, after["prod"].Reason, fig))
	if err := d.tamperNow(ctx); err != nil {
		return err
	}
	cutoffs, via, err := d.prodCutoffs(ctx, prod, prod[0])
	if err != nil {
		return err
	}
	d.printf("  prod's default Amazon Linux 2 baseline, read as each prod account:\n")
	for _, a := range prod {
		d.printf("    %s: %s    <- %s\n", a, cutoffs[a], via[a])
	}
	d.check("in the same run prod's baselines approve exactly dev's set (its cut-off) in every prod account", expectProd(cutoffs, "ApproveUntilDate "+set1.Cutoff))
	kinds, details, seen := d.promotionEvents(events)
	d.printf("  events on the default bus: %s\n", strings.Join(kinds, ", "))
	last := promotion.EventDetail{}
	if len(details) > 0 {
		last = details[len(details)-1]
	}
	d.check("a Ring Promoted event carries the gate's figures, and went to the alarm topic too",
		when(len(kinds) == 0 || kinds[len(kinds)-1] != "Ring Promoted prod" || last.Figures == nil || last.Figures.Installed != devNodes || !d.onTopic("orgpatch: Ring Promoted prod"),
			"events %v, last %+v", kinds, last))

	d.sub("cycle 2: a fifth of dev's installs fail; prod holds, and a person promotes it anyway")
	d.failing.set(devMachines[0].ID, devMachines[1].ID)
	if err := d.srv.Catalog().Add(al2Patch("curl", "8.3.0-1.amzn2.0.7", "Critical", d.clock.Now().Add(-time.Hour))); err != nil {
		return err
	}
	d.printf("  Amazon releases a curl update; installs will fail on %s and %s (the simulator's injected failures)\n", devMachines[0].ID, devMachines[1].ID)
	second, err := d.scheduled(ctx, "prod has dev's set: dev's next cycle starts")
	if err != nil {
		return err
	}
	set2 := second["dev"].To
	d.check("once prod has dev's set, dev starts its next cycle", when(second["dev"].Kind != promotion.StartCycle || set2 == nil, "dev %s: %s", second["dev"].Kind, second["dev"].Reason))
	if set2 == nil {
		return fmt.Errorf("dev has no new set: %+v", second["dev"])
	}
	if err := d.advance(soak + time.Hour); err != nil {
		return err
	}
	held, err := d.scheduled(ctx, "the soak has passed")
	if err != nil {
		return err
	}
	fig = held["prod"].Figures
	d.check("prod holds: dev 80% installed < 95%, 20% failed > 2%, the reason names the figures",
		when(held["prod"].Kind != promotion.HoldKind || fig == nil || fig.Failed != 2 || !strings.Contains(held["prod"].Reason, "prod waits: dev 80.0% installed < 95%; dev 20.0% failed > 2%"),
			"prod %s: %s (%+v)", held["prod"].Kind, held["prod"].Reason, fig))
	kinds, details, seen = d.promotionEvents(seen)
	var heldEvent *promotion.EventDetail
	for i := range details {
		if kinds[i] == "Ring Held prod" {
			heldEvent = &details[i]
		}
	}
	d.check("a Ring Held event carries the figures", when(heldEvent == nil || heldEvent.Figures == nil || heldEvent.Figures.Failed != 2 || !d.onTopic("orgpatch: Ring Held prod"),
		"events %v", kinds))
	if cutoffs, _, err = d.prodCutoffs(ctx, prod, ""); err != nil {
		return err
	}
	d.check("held, prod's baselines keep cycle 1's set", expectProd(cutoffs, "ApproveUntilDate "+set1.Cutoff))

	d.printf("\n  $ orgpatch rings\n")
	text, err := d.ringsTable(ctx, cfg)
	if err != nil {
		return err
	}
	d.printf("%s", indent(text, "    "))
	d.check("orgpatch rings says why prod waits, with dev's figures now", when(!strings.Contains(text, "next:  hold: prod waits: dev 80.0% installed < 95%") ||
		!strings.Contains(text, "gate now: dev 80.0% installed, 20.0% failed"), "%q", text))

	reason := "the two failures are full disks on build hosts, not the curl update"
	d.printf("\n  $ orgpatch promote prod --reason %q\n", reason)
	who, err := d.caller(ctx)
	if err != nil {
		return err
	}
	pub := promotion.Publisher{Events: eventbridge.NewFromConfig(d.mgmt), Topic: sns.NewFromConfig(d.mgmt), TopicARN: d.topic}
	st, dec, err := promotion.Override(ctx, d.promotion, pub, cfg, func(st promotion.State) (promotion.Decision, error) {
		return promotion.PromoteRing(cfg, st, "prod", "", reason, who, d.clock.Now())
	})
	if err != nil {
		return err
	}
	d.printf("    prod: %s -> %s\n      by:  %s\n      why: %s\n", dec.From, dec.To, dec.By, dec.Reason)
	kinds, details, _ = d.promotionEvents(seen)
	rs := st.Rings["prod"]
	d.check("the promotion is recorded with who and why, and published",
		when(rs == nil || rs.PromotedBy != who || !strings.HasSuffix(rs.Reason, reason) || !rs.Set.Same(set2) || len(details) != 1 || !details[0].Manual || details[0].By != who,
			"state %+v, events %v", rs, kinds))
	if _, err := d.scheduled(ctx, "the next converge"); err != nil {
		return err
	}
	if cutoffs, _, err = d.prodCutoffs(ctx, prod, ""); err != nil {
		return err
	}
	for _, a := range prod {
		d.printf("    %s: %s\n", a, cutoffs[a])
	}
	d.check("the next converge moves prod's baselines to cycle 2's set (its cut-off)", expectProd(cutoffs, "ApproveUntilDate "+set2.Cutoff))

	// The later steps' organization: no failures, none of these machines.
	d.failing.set()
	for _, a := range []string{dev, prodWeb} {
		if err := d.srv.Nodes().Put(a, homeRegion); err != nil {
			return err
		}
	}
	return nil
}

// onTopic says whether the alarm topic got a message with subject.
func (d *demo) onTopic(subject string) bool {
	return slices.ContainsFunc(d.srv.Messages(d.topic), func(m sim.SNSMessage) bool { return m.Subject == subject })
}

// caller is the ARN the demo's credentials act as (STS
// GetCallerIdentity), who the CLI records a person's override as.
func (d *demo) caller(ctx context.Context) (string, error) {
	id, err := sts.NewFromConfig(d.mgmt).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("get caller identity: %w", err)
	}
	return aws.ToString(id.Arn), nil
}

// ringsTable is `orgpatch rings`' table: the state, the earlier rings measured
// now (one compliance collection) and the alarms.
func (d *demo) ringsTable(ctx context.Context, cfg config.Config) (string, error) {
	st, _, err := d.promotion.Load(ctx)
	if err != nil {
		return "", err
	}
	now := d.clock.Now()
	m, err := promotion.ReadInputs(ctx, compliance.Env{Management: d.mgmt, Now: func() time.Time { return now }}, cloudwatch.NewFromConfig(d.mgmt), cfg, handler.PromotionBy, now)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := promotion.WriteText(&b, cfg, promotion.View(cfg, st, m.Inputs)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// indent prefixes every line of s but the empty ones.
func indent(s, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if line != "\n" {
			b.WriteString(prefix)
		}
		b.WriteString(line)
	}
	return b.String()
}
