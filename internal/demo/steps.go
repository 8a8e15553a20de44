package demo

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// Step 1: plan, then deploy through a CloudFormation Create.
func (d *demo) deploy(ctx context.Context) error {
	cfg, err := config.FromProperties(d.props)
	if err != nil {
		return err
	}
	d.sub("plan: what the Create would do (a dry run: nothing is written)")
	plan := d.plan(ctx, cfg, sharedServices, homeRegion)
	var p problems
	named := false
	for _, t := range plan.Targets {
		denied := t.Status == report.Failed && t.Error != nil && t.Error.Operation == "AssumeRole" && t.Error.Code == "AccessDenied"
		switch {
		case t.Account == sandboxAlice && !denied:
			p.addf("%s: %s, want failed at AssumeRole with AccessDenied", t.Name(), t.Status)
		case t.Account == sandboxAlice:
			named = true
		case t.Status == report.Failed:
			p.addf("%s failed: %s", t.Name(), t.Error.Message)
		}
	}
	if !named {
		p.addf("%s (sandbox-alice) is missing from the plan", sandboxAlice)
	}
	d.check("the plan names the account without the configuration role and plans every other one", p.String())

	d.printf("\n  the member-role StackSet reaches %s (sandbox-alice): its configuration role exists now\n", sandboxAlice)
	if err := d.srv.AddRole(sandboxAlice, config.DefaultConfigurationRoleName); err != nil {
		return err
	}

	d.sub("deploy")
	rep, resp, st, err := d.stackRequest(ctx, cfn.RequestCreate, nil)
	if err != nil {
		return err
	}
	d.checkResponse(cfn.RequestCreate, resp)
	d.checkAccounted(rep)
	d.check(fmt.Sprintf("each of the %d account x region pairs holds the %d windows, each with its target and task", len(st), len(cfg.Windows)),
		expectWindows(st, cfg.WindowNames()))
	d.check("DHMC is set everywhere", expectDHMC(st, cfg.DHMCRoleName))

	var skipped []string
	p = nil
	for _, t := range rep.Targets {
		switch {
		case t.Status == report.Skipped:
			skipped = append(skipped, t.Name())
		case t.Status != report.Converged:
			p.addf("%s: %s", t.Name(), t.Status)
		}
		if t.Account == closed {
			p.addf("the suspended account %s was worked on", closed)
		}
	}
	if want := notOptedIn(d.srv.Org()); !slices.Equal(skipped, want) {
		p.addf("skipped %v, want %v", skipped, want)
	}
	d.check("every target converged but the regions not opted in (skipped); the suspended account left alone", p.String())
	d.check("windows made by hand are untouched", d.expectHandMade(st))
	d.check("the reference solution's windows are adopted in place and its duplicate deleted", d.expectAdopted(st))
	return d.rerun(ctx, "the deployment converged")
}

// Step 2: Account Factory makes an account; Control Tower's event converges
// it, and only it.
func (d *demo) newAccount(ctx context.Context) error {
	orgs := organizations.NewFromConfig(d.mgmt)
	created, err := orgs.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String("workload-dev"), Email: aws.String("workload-dev@demo.example.com"),
	})
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	status, err := orgs.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: created.CreateAccountStatus.Id})
	if err != nil {
		return fmt.Errorf("describe create account status: %w", err)
	}
	id := aws.ToString(status.CreateAccountStatus.AccountId)
	if status.CreateAccountStatus.State != "SUCCEEDED" || id == "" {
		return fmt.Errorf("create account: %s: %s", status.CreateAccountStatus.State, status.CreateAccountStatus.FailureReason)
	}
	if _, err := orgs.MoveAccount(ctx, &organizations.MoveAccountInput{
		AccountId: aws.String(id), SourceParentId: aws.String(d.srv.Org().Root.ID), DestinationParentId: aws.String("ou-demo-stagwork"),
	}); err != nil {
		return fmt.Errorf("move account %s: %w", id, err)
	}
	d.printf("  Account Factory creates workload-dev (%s) in Workloads/Staging; the StackSet delivers its\n", id)
	d.printf("  configuration role a little later (AssumeRole is refused until then)\n\n")
	d.srv.ResetCalls()
	waited := d.clock.waited()
	res, err := d.invoke(ctx, "Control Tower CreateManagedAccount for "+id,
		createManagedAccountEvent(d.clock.Now(), id, "workload-dev", "ou-demo-stagwork", "Staging"))
	if err != nil {
		return err
	}
	rep := *res.Report
	d.table(rep)
	refused := d.srv.CountCalls(func(c sim.Call) bool {
		return c.Service == sim.ServiceSTS && c.Operation == "AssumeRole" && c.ErrorCode != ""
	})
	d.printf("  AssumeRole into %s was refused %d times while its role was on its way; orgpatch waited %s\n", id, refused, d.clock.waited()-waited)
	d.printf("  (simulated time) and converged it\n")
	st, err := d.afterAction(ctx)
	if err != nil {
		return err
	}
	cfg, err := config.FromProperties(d.props)
	if err != nil {
		return err
	}
	var p problems
	for _, t := range rep.Targets {
		if t.Account != id {
			p.addf("the run worked on %s", t.Name())
		}
	}
	d.check("the event's run covers the new account only", p.String())
	_, byAccount, _ := d.writes()
	p = nil
	for acct, n := range byAccount {
		if acct != id {
			p.addf("%d writes in %s", n, acct)
		}
	}
	d.check("every write went to the new account", p.String())
	mine := state{}
	for k, pl := range st {
		if pl.Account == id {
			mine[k] = pl
		}
	}
	problem := expectWindows(mine, cfg.WindowNames())
	if len(mine) == 0 {
		problem = "the new account is not reachable in any region"
	}
	d.check(fmt.Sprintf("the new account holds the %d windows in each of its %d regions", len(cfg.Windows), len(mine)), problem)
	d.check("its late role was waited for: no target failed or left pending",
		when(refused == 0 || rep.Counts.Failed+rep.Counts.Pending > 0, "%d AssumeRole refusals, %d failed, %d pending", refused, rep.Counts.Failed, rep.Counts.Pending))
	d.check("the whole organization holds exactly the configured windows", expectWindows(st, cfg.WindowNames()))
	return d.rerun(ctx, "the new account converged")
}

// Step 3: someone changes three accounts by hand; the schedule repairs
// exactly that, with the fewest writes.
func (d *demo) drift(ctx context.Context) error {
	before, err := d.admin.observe(ctx, d.srv.Org())
	if err != nil {
		return err
	}
	deleted := before[prodWeb+"/"+homeRegion].find("sra_windows_maintenance")
	edited := before[stagingWeb+"/eu-west-1"].find("sra_linux_maintenance")
	if len(deleted) != 1 || len(edited) != 1 {
		return fmt.Errorf("the windows to drift are not there: %d sra_windows_maintenance in %s/%s, %d sra_linux_maintenance in %s/eu-west-1",
			len(deleted), prodWeb, homeRegion, len(edited), stagingWeb)
	}
	if _, err := d.admin.SSM(prodWeb, homeRegion).DeleteMaintenanceWindow(ctx, &ssm.DeleteMaintenanceWindowInput{WindowId: aws.String(deleted[0].ID)}); err != nil {
		return fmt.Errorf("delete window: %w", err)
	}
	d.printf("  by hand: %s/%s: delete window sra_windows_maintenance (%s)\n", prodWeb, homeRegion, deleted[0].ID)
	const handSchedule = "cron(0 0 3 ? * SUN *)"
	if _, err := d.admin.SSM(stagingWeb, "eu-west-1").UpdateMaintenanceWindow(ctx, &ssm.UpdateMaintenanceWindowInput{
		WindowId: aws.String(edited[0].ID), Schedule: aws.String(handSchedule),
	}); err != nil {
		return fmt.Errorf("update window: %w", err)
	}
	d.printf("  by hand: %s/eu-west-1: sra_linux_maintenance schedule %s -> %s\n", stagingWeb, edited[0].Schedule, handSchedule)
	if _, err := d.admin.SSM(network, "af-south-1").ResetServiceSetting(ctx, &ssm.ResetServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID)}); err != nil {
		return fmt.Errorf("reset service setting: %w", err)
	}
	d.printf("  by hand: %s/af-south-1: reset the DHMC setting\n\n", network)

	d.srv.ResetCalls()
	res, err := d.invoke(ctx, "the scheduled event", scheduleEvent(d.clock.Now()))
	if err != nil {
		return err
	}
	rep := *res.Report
	d.table(rep)
	st, err := d.afterAction(ctx)
	if err != nil {
		return err
	}
	cfg, err := config.FromProperties(d.props)
	if err != nil {
		return err
	}
	d.checkAccounted(rep)
	want := map[string]int{prodWeb + "/" + homeRegion: 3, stagingWeb + "/eu-west-1": 1, network + "/af-south-1": 1}
	got := map[string]int{}
	var p problems
	for _, t := range rep.Targets {
		switch t.Status {
		case report.Converged:
			got[t.Name()] = t.Writes
		case report.Unchanged, report.Skipped:
		default:
			p.addf("%s: %s", t.Name(), t.Status)
		}
	}
	if !maps.Equal(got, want) {
		p.addf("writes per repaired target %v, want %v", got, want)
	}
	d.check("only the three drifted targets are written to: 3 writes re-create the window, 1 restores the schedule, 1 the DHMC setting", p.String())
	d.check("every account x region holds the configured windows again", expectWindows(st, cfg.WindowNames()))
	d.check("DHMC is set everywhere again", expectDHMC(st, cfg.DHMCRoleName))
	p = nil
	if ws := st[stagingWeb+"/eu-west-1"].find("sra_linux_maintenance"); len(ws) != 1 || ws[0].ID != edited[0].ID || ws[0].Schedule != edited[0].Schedule {
		p.addf("%s/eu-west-1 holds %+v, want window %s with schedule %s", stagingWeb, ws, edited[0].ID, edited[0].Schedule)
	}
	d.check("the edited window is repaired in place (same id)", p.String())
	d.check("windows made by hand are untouched", d.expectHandMade(st))
	return d.rerun(ctx, "the drift is repaired")
}

// renamed is the window's new name in step 4.
const renamed = "linux-patching"

// Step 4: a CloudFormation Update changes the task operation and renames a
// window.
func (d *demo) update(ctx context.Context) error {
	cfg := config.Default()
	old := maps.Clone(d.props)
	oldName := cfg.Windows[2].Name
	cfg.Windows[2].Name = renamed
	body, err := cfg.JSON()
	if err != nil {
		return err
	}
	d.props = map[string]any{
		config.PropDisabled:      "false",
		config.PropOperation:     config.OperationInstall,
		config.PropConfiguration: string(body),
	}
	d.printf("  the administrator updates the stack: Operation Scan -> Install; window %s renamed %s\n", oldName, renamed)
	before, err := d.admin.observe(ctx, d.srv.Org())
	if err != nil {
		return err
	}
	want, err := config.FromProperties(d.props)
	if err != nil {
		return err
	}
	rep, st, err := d.plannedUpdate(ctx, want, old, prodWeb)
	if err != nil {
		return err
	}
	d.check("every account x region holds exactly the 3 windows under their new names, no duplicate", expectWindows(st, want.WindowNames()))
	var orphans, moved, ops problems
	for _, k := range st.keys() {
		pl := st[k]
		if ws := pl.find(oldName); len(ws) > 0 {
			orphans.addf("%s still holds %s (%s)", k, oldName, ws[0].ID)
		}
		for _, name := range []string{cfg.Windows[0].Name, cfg.Windows[1].Name} {
			was, now := before[k].find(name), pl.find(name)
			if len(was) != 1 || len(now) != 1 || was[0].ID != now[0].ID {
				moved.addf("%s %s: %v -> %v", k, name, ids(was), ids(now))
			}
		}
		n := 0
		for _, w := range pl.Windows {
			for _, op := range w.Operations {
				n++
				if w.Owned && op != config.OperationInstall {
					ops.addf("%s %s: Operation %s", k, w.Name, op)
				}
			}
		}
		if n != 2 {
			ops.addf("%s: %d tasks with an Operation, want 2", k, n)
		}
	}
	d.check("no window is left under the old name (no orphan)", orphans.String())
	d.check("the other windows are updated in place (same ids)", moved.String())
	d.check("every AWS-RunPatchBaseline task runs Install", ops.String())
	var p problems
	for _, t := range rep.Targets {
		if t.Status == report.Skipped {
			continue
		}
		n := map[string]int{}
		for _, a := range t.Actions {
			n[a.Kind]++
		}
		if t.Status != report.Converged || n["create"] != 3 || n["update"] != 1 || n["delete"] != 1 || t.Writes != 5 {
			p.addf("%s: %s, %d writes (%d create, %d update, %d delete)", t.Name(), t.Status, t.Writes, n["create"], n["update"], n["delete"])
		}
	}
	d.check("each target takes 5 writes: 1 task update, 3 to create the renamed window, 1 to delete the old one", p.String())
	return d.rerun(ctx, "the update converged")
}

// The rings of step 5: Staging is the dev ring, Production the prod ring.
const (
	devOU, prodOU = "ou-demo-stagwork", "ou-demo-prodwork"
	devInstall    = "cron(0 2 ? * TUE#2 *)" // second Tuesday, plus one day (offset)
	prodInstall   = "cron(0 2 ? * TUE#3 *)" // a week later
)

// ringsConfig is cfg with two baselines (Amazon Linux 2 and Windows, each
// its operating system's default, approving after 7 days; the Linux one
// also for the patch group web) and the dev and prod rings: dev approves
// at once and installs Linux on the second Tuesday plus a day, prod
// approves after 7 days and installs a week later.
func ringsConfig(cfg config.Config) config.Config {
	days := func(n int32) *int32 { return &n }
	one := int32(1)
	cfg.Baselines = []config.Baseline{{
		Name: "orgpatch-amazon-linux-2", Description: "Security and bugfix updates", OperatingSystem: "AMAZON_LINUX_2",
		Default: true, PatchGroups: []string{"web"},
		ApprovalRules: []config.ApprovalRule{{Filters: []config.PatchFilter{
			{Key: "CLASSIFICATION", Values: []string{"Security", "Bugfix"}}, {Key: "SEVERITY", Values: []string{"Critical", "Important"}},
		}, ComplianceLevel: "HIGH", ApproveAfterDays: days(7)}},
	}, {
		Name: "orgpatch-windows", Description: "Critical and security updates", OperatingSystem: "WINDOWS", Default: true,
		ApprovalRules: []config.ApprovalRule{{Filters: []config.PatchFilter{
			{Key: "CLASSIFICATION", Values: []string{"CriticalUpdates", "SecurityUpdates"}}, {Key: "MSRC_SEVERITY", Values: []string{"Critical", "Important"}},
		}, ComplianceLevel: "CRITICAL", ApproveAfterDays: days(7)}},
	}}
	cfg.Rings = []config.Ring{
		{Name: "dev", Select: config.Selector{OUs: []string{devOU}}, ApproveAfterDays: days(0),
			WindowOverrides: []config.WindowOverride{{Window: renamed, Schedule: devInstall, ScheduleOffset: &one}}},
		{Name: "prod", Select: config.Selector{OUs: []string{prodOU}}, ApproveAfterDays: days(7),
			WindowOverrides: []config.WindowOverride{{Window: renamed, Schedule: prodInstall, ScheduleOffset: &one}}},
	}
	return cfg
}

// Step 5: rings and baselines through a CloudFormation Update, then an
// account moved from dev to prod converges in place.
func (d *demo) rings(ctx context.Context) error {
	current, err := config.FromProperties(d.props)
	if err != nil {
		return err
	}
	body, err := ringsConfig(current).JSON()
	if err != nil {
		return err
	}
	old := maps.Clone(d.props)
	d.props[config.PropConfiguration] = string(body)
	want, err := config.FromProperties(d.props)
	if err != nil {
		return err
	}
	d.printf("  the administrator adds two patch baselines (Amazon Linux 2, Windows: defaults, approving after 7 days)\n")
	d.printf("  and two rings: dev (OU Staging) approves at once and installs Linux %s +1 day;\n", devInstall)
	d.printf("  prod (OU Production) approves after 7 days and installs a week later, %s +1 day\n", prodInstall)
	rep, st, err := d.plannedUpdate(ctx, want, old, stagingWeb)
	if err != nil {
		return err
	}
	ringOf := map[string]string{}
	for _, t := range rep.Targets {
		ringOf[t.Account] = t.Ring
	}
	var rp problems
	for _, a := range d.srv.Org().Accounts {
		wantRing := map[string]string{devOU: "dev", prodOU: "prod"}[a.Parent]
		if r, ok := ringOf[a.ID]; ok && r != wantRing {
			rp.addf("%s (%s) in ring %q, want %q", a.ID, a.Name, r, wantRing)
		}
	}
	d.check("the report names each account's ring: Staging's dev, Production's prod, the others none", rp.String())
	d.check("every account x region holds its ring's baselines, defaults, patch group and Linux schedule", d.expectRings(st, ringOf, nil))
	if err := d.rerun(ctx, "the rings converged"); err != nil {
		return err
	}

	d.sub("staging-web moves from Staging (dev) to Production (prod)")
	orgs := organizations.NewFromConfig(d.mgmt)
	if _, err := orgs.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(stagingWeb),
		SourceParentId: aws.String(devOU), DestinationParentId: aws.String(prodOU)}); err != nil {
		return fmt.Errorf("move account %s: %w", stagingWeb, err)
	}
	before := st
	d.srv.ResetCalls()
	moved := run.Run(ctx, run.Env{Management: d.mgmt, Config: want, Logger: slog.New(slog.DiscardHandler), Clock: d.clock},
		run.Request{Mode: reconcile.Converge, Accounts: []string{stagingWeb}, DryRun: true})
	d.table(moved)
	d.actions(moved, stagingWeb, homeRegion)
	var mp problems
	for _, t := range moved.Targets {
		if t.Ring != "prod" {
			mp.addf("%s planned in ring %q", t.Name(), t.Ring)
		}
		for _, a := range t.Actions {
			if a.Kind != string(reconcile.OpUnchanged) && a.Kind != string(reconcile.OpUpdate) {
				mp.addf("%s: %s %s %s", t.Name(), a.Kind, a.Resource, a.Name)
			}
		}
		if t.Changes() != 3 {
			mp.addf("%s: %d changes planned, want 3 (the Linux window's schedule, each baseline's approval rules)", t.Name(), t.Changes())
		}
	}
	if total, _, _ := d.writes(); total != 0 {
		mp.addf("the plan wrote %d times", total)
	}
	d.check("the plan before the move's run shows prod's schedule and approval delay, updates only", mp.String())

	d.srv.ResetCalls()
	res, err := d.invoke(ctx, "Organizations MoveAccount of "+stagingWeb, moveAccountEvent(d.clock.Now(), stagingWeb, devOU, prodOU))
	if err != nil {
		return err
	}
	d.table(*res.Report)
	d.check("the move's run makes exactly the planned changes", samePlan(moved, *res.Report))
	after, err := d.afterAction(ctx)
	if err != nil {
		return err
	}
	ringOf[stagingWeb] = "prod"
	d.check("staging-web holds prod's schedule and baselines, updated in place (same window and baseline ids)", d.expectRings(after, ringOf, before))
	_, byAccount, _ := d.writes()
	var wp problems
	for acct, n := range byAccount {
		if acct != stagingWeb {
			wp.addf("%d writes in %s", n, acct)
		}
	}
	d.check("every write went to the moved account", wp.String())
	return d.rerun(ctx, "the move converged")
}

// expectRings says where a place does not hold its ring's setup: orgpatch's
// baselines as the Amazon Linux 2 and Windows defaults approving after 0
// days (dev) or 7 (prod, and no ring: the file's own), web resolving to the
// Amazon Linux 2 baseline, and the Linux window's schedule. With before,
// the windows and baselines must also keep their ids.
func (d *demo) expectRings(st state, ringOf map[string]string, before state) string {
	var p problems
	for _, k := range st.keys() {
		pl := st[k]
		days, schedule := int32(7), ""
		switch ringOf[pl.Account] {
		case "dev":
			days, schedule = 0, devInstall
		case "prod":
			schedule = prodInstall
		}
		for _, os := range demoOSes {
			b := pl.Defaults[string(os)]
			if !strings.HasPrefix(b.Name, "orgpatch-") || !slices.Equal(b.Days, []int32{days}) {
				p.addf("%s %s default: %s approving after %v days, want orgpatch's after %d", k, os, b.Name, b.Days, days)
			}
			if before != nil && before[k].Defaults[string(os)].ID != b.ID {
				p.addf("%s %s default baseline replaced: %s -> %s", k, os, before[k].Defaults[string(os)].ID, b.ID)
			}
		}
		if pl.WebBaseline != pl.Defaults["AMAZON_LINUX_2"].ID {
			p.addf("%s: patch group web resolves to %s, want %s", k, pl.WebBaseline, pl.Defaults["AMAZON_LINUX_2"].ID)
		}
		ws := pl.find(renamed)
		if len(ws) != 1 {
			p.addf("%s: %d windows %s", k, len(ws), renamed)
			continue
		}
		if schedule != "" && ws[0].Schedule != schedule {
			p.addf("%s: %s runs %s, want %s", k, renamed, ws[0].Schedule, schedule)
		}
		if before != nil {
			if was := before[k].find(renamed); len(was) != 1 || was[0].ID != ws[0].ID {
				p.addf("%s: window %s replaced: %v -> %s", k, renamed, ids(was), ws[0].ID)
			}
		}
	}
	return p.String()
}

// Step 6: Disabled=true tears everything down; a later Delete finds nothing.
func (d *demo) disable(ctx context.Context) error {
	old := maps.Clone(d.props)
	d.props[config.PropDisabled] = "true"
	d.printf("  the administrator sets Disabled=true on the stack\n\n")
	rep, resp, st, err := d.stackRequest(ctx, cfn.RequestUpdate, old)
	if err != nil {
		return err
	}
	d.checkResponse(cfn.RequestUpdate, resp)
	d.checkAccounted(rep)
	var owned, dhmc problems
	for _, k := range st.keys() {
		if names := st[k].owned(); len(names) > 0 {
			owned.addf("%s holds %v", k, names)
		}
		if s := st[k].DHMCStatus; s != reconcile.StatusDefault {
			dhmc.addf("%s: %s (%s)", k, s, st[k].DHMC)
		}
	}
	d.check(fmt.Sprintf("no window orgpatch owns is left in any of the %d account x region pairs", len(st)), owned.String())
	d.check("DHMC is back at its default everywhere", dhmc.String())
	var baselines problems
	for _, k := range st.keys() {
		if names := st[k].OwnedBaselines; len(names) > 0 {
			baselines.addf("%s holds %v", k, names)
		}
		for os, b := range st[k].Defaults {
			if !strings.HasPrefix(b.Name, "AWS-") {
				baselines.addf("%s: %s's default is %s", k, os, b.Name)
			}
		}
	}
	d.check("no baseline orgpatch owns is left; AWS's predefined baselines are the defaults again", baselines.String())
	d.check("windows made by hand are still there", d.expectHandMade(st))
	if err := d.rerun(ctx, "while disabled, the schedule creates nothing"); err != nil {
		return err
	}

	d.sub("the stack is deleted")
	d.srv.ResetCalls()
	_, resp, err = d.cloudFormation(ctx, cfn.RequestDelete, nil)
	if err != nil {
		return err
	}
	d.checkResponse(cfn.RequestDelete, resp)
	total, _, parameter := d.writes()
	d.check("the Delete after a teardown has no window left to remove", when(total != parameter, "%d writes to accounts", total-parameter))
	_, _, stored := d.srv.SSM().Parameter(d.srv.ManagementAccount(), homeRegion, handler.DefaultConfigParameter)
	d.check("the Delete removes the stored configuration: nothing is left behind", when(stored || parameter != 1, "parameter %s still there (%d parameter writes)", handler.DefaultConfigParameter, parameter))
	return nil
}

// plan runs a dry run of the whole organization to cfg, as `orgpatch plan`
// does, prints it with the actions it would take in account x region, and
// checks it wrote nothing.
func (d *demo) plan(ctx context.Context, cfg config.Config, account, region string) report.Report {
	d.srv.ResetCalls()
	// As `orgpatch plan` does: against the deployed configuration, if any,
	// so the plan shows what the stack request will remove too.
	var previous *config.Config
	if stored, found, err := handler.StoredConfig(ctx, d.mgmt, ""); err == nil && found {
		previous = &stored
	}
	plan := run.Run(ctx, run.Env{Management: d.mgmt, Config: cfg, Previous: previous, Logger: slog.New(slog.DiscardHandler), Clock: d.clock},
		run.Request{Mode: reconcile.Converge, DryRun: true})
	d.table(plan)
	d.actions(plan, account, region)
	total, _, _ := d.writes()
	d.check("the plan writes nothing", when(total != 0, "%d writes", total))
	return plan
}

// plannedUpdate plans the organization to want (printing the actions in
// account's home region), sends CloudFormation's Update from the
// properties old to the current ones, and checks it did exactly the plan.
func (d *demo) plannedUpdate(ctx context.Context, want config.Config, old map[string]any, account string) (report.Report, state, error) {
	d.sub("plan of the change (what `orgpatch plan --config FILE` shows before a deployment)")
	plan := d.plan(ctx, want, account, homeRegion)
	d.sub("update")
	rep, resp, st, err := d.stackRequest(ctx, cfn.RequestUpdate, old)
	if err != nil {
		return report.Report{}, nil, err
	}
	d.check("the update makes exactly the planned changes", samePlan(plan, rep))
	d.checkResponse(cfn.RequestUpdate, resp)
	d.checkAccounted(rep)
	return rep, st, nil
}

// stackRequest sends CloudFormation's request of kind (old: the properties
// before an Update) on a fresh call log, prints the run's table, and
// observes the organization after it.
func (d *demo) stackRequest(ctx context.Context, kind cfn.RequestType, old map[string]any) (report.Report, *cfn.Response, state, error) {
	d.srv.ResetCalls()
	rep, resp, err := d.cloudFormation(ctx, kind, old)
	if err != nil {
		return report.Report{}, nil, nil, err
	}
	d.table(rep)
	st, err := d.afterAction(ctx)
	if err != nil {
		return report.Report{}, nil, nil, err
	}
	return rep, resp, st, nil
}

// samePlan says where applied's changes differ from planned's.
func samePlan(planned, applied report.Report) string {
	changes := func(rep report.Report) map[string][]string {
		out := map[string][]string{}
		for _, t := range rep.Targets {
			for _, a := range t.Actions {
				if a.Kind != string(reconcile.OpUnchanged) {
					out[t.Name()] = append(out[t.Name()], a.Kind+" "+a.Resource+" "+a.Name)
				}
			}
		}
		return out
	}
	want, got := changes(planned), changes(applied)
	var p problems
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !slices.Equal(want[k], got[k]) {
			p.addf("%s: planned %v, applied %v", k, want[k], got[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			p.addf("%s: applied %v, planned nothing", k, got[k])
		}
	}
	return p.String()
}

// expectWindows says where the owned windows are not exactly names, each
// with one target and one task.
func expectWindows(st state, names []string) string {
	want := slices.Sorted(slices.Values(names))
	var p problems
	for _, k := range st.keys() {
		pl := st[k]
		if got := pl.owned(); !slices.Equal(got, want) {
			p.addf("%s holds %v", k, got)
			continue
		}
		for _, w := range pl.Windows {
			if w.Owned && (w.Targets != 1 || w.Tasks != 1) {
				p.addf("%s %s: %d targets, %d tasks", k, w.Name, w.Targets, w.Tasks)
			}
		}
	}
	return p.String()
}

// expectDHMC says where the DHMC setting is not role.
func expectDHMC(st state, role string) string {
	var p problems
	for _, k := range st.keys() {
		if pl := st[k]; pl.DHMC != role {
			p.addf("%s: %q (%s)", k, pl.DHMC, pl.DHMCStatus)
		}
	}
	return p.String()
}

// expectHandMade says which windows made by hand changed or went.
func (d *demo) expectHandMade(st state) string {
	var p problems
	for _, s := range d.handMade {
		ws := st[s.account+"/"+s.region].find(s.name)
		if len(ws) != 1 || ws[0].ID != s.id || ws[0].Schedule != s.schedule || ws[0].Owned {
			p.addf("%s/%s %s: %+v, want %s with schedule %s", s.account, s.region, s.name, ws, s.id, s.schedule)
		}
	}
	return p.String()
}

// expectAdopted says whether the reference solution's windows were kept
// (one of its two duplicates) rather than created again.
func (d *demo) expectAdopted(st state) string {
	var p problems
	for _, name := range []string{"sra_windows_maintenance", "sra_linux_maintenance"} {
		var seededIDs []string
		for _, s := range d.reference {
			if s.name == name {
				seededIDs = append(seededIDs, s.id)
			}
		}
		ws := st[sharedServices+"/"+homeRegion].find(name)
		if len(ws) != 1 || !slices.Contains(seededIDs, ws[0].ID) {
			p.addf("%s/%s %s: %v, want one of %v", sharedServices, homeRegion, name, ids(ws), seededIDs)
		}
	}
	return p.String()
}

func (st state) keys() []string {
	return slices.Sorted(maps.Keys(st))
}

func ids(ws []window) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

// problems collects what a check found wrong.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// String names the first few problems; empty when there are none.
func (p problems) String() string {
	const shown = 3
	if len(p) <= shown {
		return strings.Join(p, "; ")
	}
	return strings.Join(p[:shown], "; ") + fmt.Sprintf("; and %d more", len(p)-shown)
}

// when returns the formatted problem if bad, else "".
func when(bad bool, format string, args ...any) string {
	if !bad {
		return ""
	}
	return fmt.Sprintf(format, args...)
}
