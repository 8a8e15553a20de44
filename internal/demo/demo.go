package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// Options shape a demo run.
type Options struct {
	// Out receives the story (os.Stdout for the CLI).
	Out io.Writer
	// Log, when set, receives the handler's JSON log lines; discarded when nil.
	Log io.Writer
	// Tamper, when set, runs after each step's action and before its checks,
	// acting on the accounts as an administrator could behind orgpatch's
	// back: tests use it to show that a step's checks catch what went wrong.
	Tamper func(ctx context.Context, step int, admin *Admin) error
	// ReportFile receives the compliance page of the last step
	// (ReportFile() when empty).
	ReportFile string
}

// Accounts of the demo organization the story refers to.
const (
	management     = "111111111111"
	sharedServices = "210000000002"
	network        = "210000000001"
	prodWeb        = "444444444444"
	stagingWeb     = "555555555555"
	stagingData    = "555555555556"
	sandboxAlice   = "666666666666" // the member-role StackSet has not reached it
	sandboxBob     = "666666666667"
	closed         = "777777777777" // SUSPENDED
	homeRegion     = "us-east-1"
)

// demo is one run of the story.
type demo struct {
	out     io.Writer
	srv     *sim.Server
	capture *Capture
	mgmt    aws.Config
	admin   *Admin
	clock   *fastClock
	// endpoint is the simulator's URL, for the AWS CLI (awsCLI).
	endpoint string
	handler  *handler.Handler
	logs     *slog.Logger
	tamper   func(context.Context, int, *Admin) error
	failing  *failingNodes
	// promotion is the promotion state in the runs bucket, topic the
	// alarm topic: what the deployed function is given.
	promotion promotion.S3Store
	topic     string

	reportFile string

	step     int
	checks   []Check
	held     int
	props    map[string]any // the custom resource's properties now
	requests int

	handMade  []seeded // windows made by hand: never touched
	reference []seeded // windows the reference solution left: adopted
}

// seeded is a window the demo made before orgpatch arrived.
type seeded struct {
	account, region, name, id, schedule string
}

// Run tells the story on a fresh simulated organization and returns a
// *StepError at the first step whose checks do not all hold.
func Run(ctx context.Context, opts Options) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	org, err := Org()
	if err != nil {
		return err
	}
	// A new account's role arrives through the StackSet after the account
	// exists: AssumeRole is refused twice before it works. Simulated time
	// starts now and moves when the promotion step advances it; installs
	// fail on the nodes that step names.
	clock := &fastClock{sim: sim.NewClock(time.Now().UTC().Truncate(time.Second))}
	failing := &failingNodes{}
	srv, err := sim.New(org, sim.WithRoleArrival(config.DefaultConfigurationRoleName, 2), sim.WithSimClock(clock.sim),
		sim.WithInstallFailures(1, failing.rate))
	if err != nil {
		return fmt.Errorf("demo: start simulator: %w", err)
	}
	api := httptest.NewServer(srv)
	defer api.Close()
	capture := NewCapture()
	defer capture.Close()
	mgmt, err := awsconf.Load(ctx, awsconf.Options{
		Region:          homeRegion,
		Endpoint:        api.URL,
		AccessKeyID:     sim.ManagementAccessKeyID,
		SecretAccessKey: sim.ManagementSecretAccessKey,
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	logs := slog.New(slog.DiscardHandler)
	if opts.Log != nil {
		logs = handler.NewLogger(opts.Log, slog.LevelInfo)
	}
	d := &demo{
		out:      out,
		srv:      srv,
		capture:  capture,
		mgmt:     mgmt,
		admin:    newAdmin(mgmt),
		clock:    clock,
		endpoint: api.URL,
		tamper:   opts.Tamper,
		failing:  failing,
		logs:     logs,
		props:    map[string]any{config.PropDisabled: "false"},

		reportFile: opts.ReportFile,
	}
	if d.reportFile == "" {
		d.reportFile = ReportFile()
	}
	if err := d.promotionResources(ctx); err != nil {
		return err
	}
	d.deployFunction()
	return d.run(ctx)
}

func (d *demo) run(ctx context.Context) error {
	start := time.Now()
	d.printf("orgpatch demo: organization %s, %d accounts, Control Tower governing %v\n",
		d.srv.Org().ID, len(d.srv.Org().Accounts), d.srv.Org().LandingZone.GovernedRegions)
	d.printf("simulated AWS on loopback; CloudFormation's answers captured at %s\n", d.capture.srv.URL)
	d.printf("tables: one row per account, one column per region; a cell counts the writes by kind\n")
	d.printf("(+N create, ~N update or reset, -N delete), = is unchanged; every check reads the simulator back\n")
	if err := d.seed(ctx); err != nil {
		return err
	}
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"deploy (CloudFormation Create)", d.deploy},
		{"a new account arrives (Control Tower CreateManagedAccount)", d.newAccount},
		{"drift made by hand, repaired by the schedule", d.drift},
		{"a setting changes (CloudFormation Update)", d.update},
		{"rings: dev before prod, with patch baselines (CloudFormation Update)", d.rings},
		{"promotion: prod gets the patches dev tested, when dev is healthy (two patch cycles)", d.promote},
		{"disable and tear down (CloudFormation Update, Disabled=true)", d.disable},
		{"the organization's patch compliance (orgpatch report)", d.compliance},
	}
	for i, s := range steps {
		d.step, d.checks = i+1, nil
		d.heading(i+1, len(steps), s.title)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("demo step %d (%s): %w", i+1, s.title, err)
		}
		d.printChecks()
		var failed []Check
		for _, c := range d.checks {
			if c.Problem != "" {
				failed = append(failed, c)
			} else {
				d.held++
			}
		}
		if len(failed) > 0 {
			return &StepError{Step: i + 1, Title: s.title, Failed: failed}
		}
	}
	d.printf("\ndemo passed: %d steps, %d checks held, %d writes answered by the simulated organization, in %s\n",
		len(steps), d.held, d.srv.Writes(), time.Since(start).Round(time.Millisecond))
	return nil
}

// seed makes what was there before orgpatch: windows made by hand, and the
// reference solution's windows (its tag and names), one of them twice, as
// its non-idempotent retries leave them.
func (d *demo) seed(ctx context.Context) error {
	d.sub("before orgpatch: windows made by hand, and windows the SRA reference solution left")
	type spec struct {
		account, region, name, schedule string
		tags                            map[string]string
		reference                       bool
	}
	ref := map[string]string{reconcile.OwnerTagKey: reconcile.OwnerTagValue}
	for _, s := range []spec{
		{prodWeb, homeRegion, "prod-db-failover-patching", "cron(0 30 2 ? * SUN *)", map[string]string{"team": "dba"}, false},
		{stagingWeb, "eu-west-1", "weekend-reboots", "cron(0 0 4 ? * SAT *)", nil, false},
		{sharedServices, homeRegion, "sra_windows_maintenance", "cron(0 0 1 ? * THU *)", ref, true},
		{sharedServices, homeRegion, "sra_linux_maintenance", "cron(0 0 1 ? * FRI *)", ref, true},
		{sharedServices, homeRegion, "sra_linux_maintenance", "cron(0 0 1 ? * FRI *)", ref, true},
	} {
		id, err := d.makeWindow(ctx, s.account, s.region, s.name, s.schedule, s.tags)
		if err != nil {
			return fmt.Errorf("demo: seed %s in %s/%s: %w", s.name, s.account, s.region, err)
		}
		w := seeded{account: s.account, region: s.region, name: s.name, id: id, schedule: s.schedule}
		who := "by hand"
		if s.reference {
			who = "by SRA patch_mgmt_org (tag createdBy=SRA_Patch_Management)"
			d.reference = append(d.reference, w)
		} else {
			d.handMade = append(d.handMade, w)
		}
		d.printf("  %s/%-10s %-26s %s  %s\n", s.account, s.region, s.name, id, who)
	}
	return nil
}

// makeWindow creates a window with one instance target, as a console user
// (or the reference solution) would.
func (d *demo) makeWindow(ctx context.Context, account, region, name, schedule string, tags map[string]string) (string, error) {
	api := d.admin.SSM(account, region)
	in := &ssm.CreateMaintenanceWindowInput{
		Name:                     aws.String(name),
		Schedule:                 aws.String(schedule),
		ScheduleTimezone:         aws.String(config.DefaultTimezone),
		Duration:                 aws.Int32(3),
		Cutoff:                   1,
		AllowUnassociatedTargets: false,
	}
	for k, v := range tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := api.CreateMaintenanceWindow(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create maintenance window: %w", err)
	}
	_, err = api.RegisterTargetWithMaintenanceWindow(ctx, &ssm.RegisterTargetWithMaintenanceWindowInput{
		WindowId:     out.WindowId,
		ResourceType: types.MaintenanceWindowResourceTypeInstance,
		Targets:      []types.Target{{Key: aws.String("tag:" + config.InstanceOSTagKey), Values: []string{"Linux"}}},
	})
	if err != nil {
		return "", fmt.Errorf("register target: %w", err)
	}
	return aws.ToString(out.WindowId), nil
}

// invoke hands one event to the Lambda handler, as Lambda would.
func (d *demo) invoke(ctx context.Context, what string, raw json.RawMessage) (handler.Result, error) {
	d.printf("  -> Lambda handler: %s\n", what)
	start := time.Now()
	out, err := d.handler.Invoke(ctx, raw)
	res, ok := out.(handler.Result)
	if !ok {
		return handler.Result{}, fmt.Errorf("handler answered %T (error: %v), not a handler.Result", out, err)
	}
	if res.Report == nil {
		return res, fmt.Errorf("handler ran nothing: %s (error: %v)", res.Summary, err)
	}
	d.printf("     done in %s (%d targets, %d writes)\n", time.Since(start).Round(time.Millisecond), res.Report.Counts.Targets, res.Report.Counts.Writes)
	return res, nil
}

// deployFunction (re)builds the handler as the deployed function runs: it
// knows its stack and the properties the stack sets, updated before the
// custom resource's request as CloudFormation orders it, so every demo
// request and event passes the stack checks the Lambda makes.
func (d *demo) deployFunction() {
	d.handler = handler.New(handler.Deps{Management: d.mgmt, Logger: d.logs, Metrics: io.Discard, Clock: d.clock,
		LoopbackAnswers: true, Stack: handler.StackOf(stackID, d.props), Promotion: d.promotion, AlarmTopic: d.topic})
}

// cloudFormation sends a custom resource request with the current
// properties (and old, for an Update) and returns the run's report and
// what CloudFormation received.
func (d *demo) cloudFormation(ctx context.Context, kind cfn.RequestType, old map[string]any) (report.Report, *cfn.Response, error) {
	d.requests++
	id := fmt.Sprintf("demo-request-%d", d.requests)
	raw, err := cloudFormationEvent(kind, id, d.capture.URL(id), d.props, old)
	if err != nil {
		return report.Report{}, nil, err
	}
	if kind != cfn.RequestDelete {
		d.deployFunction()
	}
	// CloudFormation shows the stack in the operation it sends the
	// request for; the function asks it before it removes anything.
	d.srv.PutStack(sim.Stack{ID: stackID, Name: "orgpatch", Status: map[cfn.RequestType]string{
		cfn.RequestCreate: "CREATE_IN_PROGRESS", cfn.RequestUpdate: "UPDATE_IN_PROGRESS", cfn.RequestDelete: "DELETE_IN_PROGRESS",
	}[kind]})
	before, _ := d.capture.Responses()
	res, err := d.invoke(ctx, "CloudFormation "+string(kind), raw)
	if err != nil {
		return report.Report{}, nil, err
	}
	got, refused := d.capture.Responses()
	if len(refused) > 0 {
		return *res.Report, nil, fmt.Errorf("the CloudFormation answer was refused: %v", refused)
	}
	if len(got) != len(before)+1 {
		return *res.Report, nil, nil
	}
	resp := got[len(got)-1]
	return *res.Report, &resp, nil
}

// afterAction lets Options.Tamper act, then observes the organization.
func (d *demo) afterAction(ctx context.Context) (state, error) {
	if err := d.tamperNow(ctx); err != nil {
		return nil, err
	}
	return d.admin.observe(ctx, d.srv.Org())
}

// tamperNow lets Options.Tamper act after one of the step's actions.
func (d *demo) tamperNow(ctx context.Context) error {
	if d.tamper == nil {
		return nil
	}
	if err := d.tamper(ctx, d.step, d.admin); err != nil {
		return fmt.Errorf("tamper: %w", err)
	}
	return nil
}

// writes counts the SSM writes the call log holds since the last reset,
// per account, and the configuration parameter writes (stored by Create and
// Update, deleted by Delete) among them.
func (d *demo) writes() (total int, byAccount map[string]int, parameter int) {
	byAccount = map[string]int{}
	for _, c := range d.srv.Calls() {
		if !c.Write || c.ErrorCode != "" || c.Service != sim.ServiceSSM {
			continue
		}
		total++
		byAccount[c.Account]++
		if c.Operation == "PutParameter" || c.Operation == "DeleteParameter" {
			parameter++
		}
	}
	return total, byAccount, parameter
}

// checkResponse checks CloudFormation got SUCCESS with orgpatch's stable id.
func (d *demo) checkResponse(kind cfn.RequestType, resp *cfn.Response) {
	name := fmt.Sprintf("CloudFormation received SUCCESS for the %s", kind)
	switch {
	case resp == nil:
		d.check(name, "no answer reached the response URL")
	case resp.Status != cfn.StatusSuccess:
		d.check(name, fmt.Sprintf("status %s: %s", resp.Status, resp.Reason))
	case resp.PhysicalResourceID != handler.PhysicalResourceID:
		d.check(name, fmt.Sprintf("physical resource id %q, want %q (a changed id makes CloudFormation replace the resource)", resp.PhysicalResourceID, handler.PhysicalResourceID))
	default:
		d.printResponse(*resp)
		d.check(name, "")
	}
}

// checkAccounted checks the call log's writes are exactly the report's
// (plus the stored configuration parameter).
func (d *demo) checkAccounted(rep report.Report) {
	total, _, parameter := d.writes()
	problem := ""
	if total != rep.Counts.Writes+parameter {
		problem = fmt.Sprintf("the simulator answered %d writes, the report accounts for %d (+%d configuration parameter)", total, rep.Counts.Writes, parameter)
	}
	d.check("every write the simulator answered is in the report", problem)
}

// rerun sends the scheduled event and checks it writes nothing: a
// converged organization costs reads only.
func (d *demo) rerun(ctx context.Context, why string) error {
	d.srv.ResetCalls()
	res, err := d.invoke(ctx, "the scheduled event, again ("+why+")", scheduleEvent(d.clock.Now()))
	if err != nil {
		return err
	}
	total, _, _ := d.writes()
	problem := ""
	switch {
	case total != 0:
		problem = fmt.Sprintf("%d writes", total)
	case res.Report.Counts.Failed > 0:
		problem = res.Report.Summary(300)
	case res.Report.Counts.Converged > 0:
		problem = fmt.Sprintf("%d targets converged again", res.Report.Counts.Converged)
	}
	d.check("the next scheduled run writes nothing ("+why+")", problem)
	return nil
}
