package demo

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"golang.org/x/sync/errgroup"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// Admin acts in the member accounts as an administrator would: through the
// SDK, as the configuration role, from the management account.
type Admin struct {
	creds *fleet.Credentials
}

func newAdmin(mgmt aws.Config) *Admin {
	return &Admin{creds: fleet.NewCredentials(mgmt, config.DefaultConfigurationRoleName)}
}

// SSM returns an SSM client acting in account x region.
func (a *Admin) SSM(account, region string) *ssm.Client {
	return ssm.NewFromConfig(a.creds.Config(account), awsconf.SSMIn(region))
}

// window is a maintenance window as the demo's checks see it.
type window struct {
	ID, Name, Schedule string
	Owned              bool // carries the ownership tag
	Targets, Tasks     int
	Operations         []string // the Operation parameter of each task that has one
}

// place is one account x region of the organization and what it holds.
type place struct {
	Account, Name, Region string
	Windows               []window
	DHMC, DHMCStatus      string
	// Defaults are the default baselines of the operating systems the demo
	// configures; OwnedBaselines the names of the baselines orgpatch owns.
	Defaults       map[string]baseline
	OwnedBaselines []string
	// WebBaseline is the baseline the patch group "web" resolves to for
	// Amazon Linux 2.
	WebBaseline string
}

// baseline is a patch baseline as the demo's checks see it.
type baseline struct {
	ID, Name string
	Days     []int32 // each approval rule's approve-after-days
}

// demoOSes are the operating systems the demo's baselines are for.
var demoOSes = []types.OperatingSystem{types.OperatingSystemAmazonLinux2, types.OperatingSystemWindows}

func (p place) key() string { return p.Account + "/" + p.Region }

// owned returns the owned windows' names, sorted.
func (p place) owned() []string {
	var names []string
	for _, w := range p.Windows {
		if w.Owned {
			names = append(names, w.Name)
		}
	}
	sort.Strings(names)
	return names
}

// find returns the windows named name.
func (p place) find(name string) []window {
	var out []window
	for _, w := range p.Windows {
		if w.Name == name {
			out = append(out, w)
		}
	}
	return out
}

// places lists every account x region orgpatch can work on now: ACTIVE
// accounts holding the configuration role, in the landing zone's regions
// they have enabled, sorted.
func places(org *sim.Org) []place {
	optIn := map[string]bool{}
	for _, r := range sim.OptInRegions() {
		optIn[r] = true
	}
	var out []place
	for _, a := range org.Accounts {
		if a.Status != "" && a.Status != sim.StatusActive {
			continue
		}
		if !slices.ContainsFunc(a.Roles, func(r sim.Role) bool { return r.Name == config.DefaultConfigurationRoleName }) {
			continue
		}
		for _, region := range org.LandingZone.GovernedRegions {
			if optIn[region] && !slices.Contains(a.OptedInRegions, region) {
				continue
			}
			out = append(out, place{Account: a.ID, Name: a.Name, Region: region})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// notOptedIn lists, as "account/region", the governed regions the ACTIVE
// accounts have not enabled, sorted: a run skips them.
func notOptedIn(org *sim.Org) []string {
	var out []string
	for _, a := range org.Accounts {
		if a.Status != "" && a.Status != sim.StatusActive {
			continue
		}
		for _, r := range org.LandingZone.GovernedRegions {
			if slices.Contains(sim.OptInRegions(), r) && !slices.Contains(a.OptedInRegions, r) {
				out = append(out, a.ID+"/"+r)
			}
		}
	}
	sort.Strings(out)
	return out
}

// state is what the organization holds, keyed by account/region.
type state map[string]place

// observe reads every place through the SDK, a few at a time.
func (a *Admin) observe(ctx context.Context, org *sim.Org) (state, error) {
	ps := places(org)
	var (
		mu  sync.Mutex
		out = state{}
		g   errgroup.Group
	)
	g.SetLimit(8)
	for _, p := range ps {
		g.Go(func() error {
			if err := a.read(ctx, &p); err != nil {
				return fmt.Errorf("observe %s: %w", p.key(), err)
			}
			mu.Lock()
			out[p.key()] = p
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (a *Admin) read(ctx context.Context, p *place) error {
	api := a.SSM(p.Account, p.Region)
	pages := ssm.NewDescribeMaintenanceWindowsPaginator(api, &ssm.DescribeMaintenanceWindowsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe maintenance windows: %w", err)
		}
		for _, id := range page.WindowIdentities {
			w := window{ID: aws.ToString(id.WindowId), Name: aws.ToString(id.Name), Schedule: aws.ToString(id.Schedule)}
			if err := a.readWindow(ctx, api, &w); err != nil {
				return err
			}
			p.Windows = append(p.Windows, w)
		}
	}
	if err := a.readBaselines(ctx, api, p); err != nil {
		return err
	}
	setting, err := api.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(reconcile.DHMCSettingID)})
	if err != nil {
		return fmt.Errorf("get service setting: %w", err)
	}
	if s := setting.ServiceSetting; s != nil {
		p.DHMC, p.DHMCStatus = aws.ToString(s.SettingValue), aws.ToString(s.Status)
	}
	return nil
}

func (a *Admin) readWindow(ctx context.Context, api *ssm.Client, w *window) error {
	var err error
	if w.Owned, err = a.owned(ctx, api, types.ResourceTypeForTaggingMaintenanceWindow, w.ID); err != nil {
		return err
	}
	targets, err := api.DescribeMaintenanceWindowTargets(ctx, &ssm.DescribeMaintenanceWindowTargetsInput{WindowId: aws.String(w.ID)})
	if err != nil {
		return fmt.Errorf("describe targets of %s: %w", w.ID, err)
	}
	w.Targets = len(targets.Targets)
	tasks, err := api.DescribeMaintenanceWindowTasks(ctx, &ssm.DescribeMaintenanceWindowTasksInput{WindowId: aws.String(w.ID)})
	if err != nil {
		return fmt.Errorf("describe tasks of %s: %w", w.ID, err)
	}
	w.Tasks = len(tasks.Tasks)
	for _, t := range tasks.Tasks {
		task, err := api.GetMaintenanceWindowTask(ctx, &ssm.GetMaintenanceWindowTaskInput{WindowId: aws.String(w.ID), WindowTaskId: t.WindowTaskId})
		if err != nil {
			return fmt.Errorf("get task %s of %s: %w", aws.ToString(t.WindowTaskId), w.ID, err)
		}
		if inv := task.TaskInvocationParameters; inv != nil && inv.RunCommand != nil {
			if op := inv.RunCommand.Parameters["Operation"]; len(op) > 0 {
				w.Operations = append(w.Operations, op...)
			}
		}
	}
	return nil
}

// readBaselines reads the default baseline of each of demoOSes, the
// baseline the patch group web resolves to, and the names of the baselines
// orgpatch owns.
func (a *Admin) readBaselines(ctx context.Context, api *ssm.Client, p *place) error {
	p.Defaults = map[string]baseline{}
	for _, os := range demoOSes {
		def, err := api.GetDefaultPatchBaseline(ctx, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: os})
		if err != nil {
			return fmt.Errorf("get default patch baseline for %s: %w", os, err)
		}
		got, err := api.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: def.BaselineId})
		if err != nil {
			return fmt.Errorf("get patch baseline %s: %w", aws.ToString(def.BaselineId), err)
		}
		b := baseline{ID: aws.ToString(got.BaselineId), Name: aws.ToString(got.Name)}
		if got.ApprovalRules != nil {
			for _, r := range got.ApprovalRules.PatchRules {
				b.Days = append(b.Days, aws.ToInt32(r.ApproveAfterDays))
			}
		}
		p.Defaults[string(os)] = b
	}
	web, err := api.GetPatchBaselineForPatchGroup(ctx, &ssm.GetPatchBaselineForPatchGroupInput{PatchGroup: aws.String("web"), OperatingSystem: types.OperatingSystemAmazonLinux2})
	if err != nil {
		return fmt.Errorf("get patch baseline for patch group web: %w", err)
	}
	p.WebBaseline = aws.ToString(web.BaselineId)
	pages := ssm.NewDescribePatchBaselinesPaginator(api, &ssm.DescribePatchBaselinesInput{
		Filters: []types.PatchOrchestratorFilter{{Key: aws.String("OWNER"), Values: []string{"Self"}}}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe patch baselines: %w", err)
		}
		for _, b := range page.BaselineIdentities {
			owned, err := a.owned(ctx, api, types.ResourceTypeForTaggingPatchBaseline, aws.ToString(b.BaselineId))
			if err != nil {
				return err
			}
			if owned {
				p.OwnedBaselines = append(p.OwnedBaselines, aws.ToString(b.BaselineName))
			}
		}
	}
	sort.Strings(p.OwnedBaselines)
	return nil
}

// owned says whether the resource carries orgpatch's ownership tag.
func (a *Admin) owned(ctx context.Context, api *ssm.Client, kind types.ResourceTypeForTagging, id string) (bool, error) {
	tags, err := api.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: kind, ResourceId: aws.String(id)})
	if err != nil {
		return false, fmt.Errorf("list tags of %s: %w", id, err)
	}
	return slices.ContainsFunc(tags.TagList, func(t types.Tag) bool {
		return aws.ToString(t.Key) == reconcile.OwnerTagKey && aws.ToString(t.Value) == reconcile.OwnerTagValue
	}), nil
}
