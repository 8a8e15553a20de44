package demo

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

func TestDemoPasses(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), Options{Out: &out, ReportFile: filepath.Join(t.TempDir(), "compliance.html")}); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"=== Step 1/8: deploy (CloudFormation Create)",
		"666666666666  sandbox-alice    FAILED AssumeRole AccessDenied",
		"delete  window sra_linux_maintenance: duplicate of",
		"CloudFormation received: SUCCESS, PhysicalResourceId \"orgpatch\"",
		"=== Step 2/8: a new account arrives",
		"=== Step 3/8: drift made by hand, repaired by the schedule",
		"=== Step 4/8: a setting changes",
		"update  task   Windows_Scan:",
		"=== Step 5/8: rings: dev before prod",
		"555555555555  staging-web [prod]",
		"update  window linux-patching: schedule: cron(0 2 ? * TUE#2 *) -> cron(0 2 ? * TUE#3 *)",
		"ok    staging-web holds prod's schedule and baselines, updated in place (same window and baseline ids)",
		"=== Step 6/8: promotion: prod gets the patches dev tested",
		"prod promote     prod's gate held: dev 100.0% installed, 0.0% failed, 0.0% stale of 10 nodes",
		"prod hold        prod waits: dev 80.0% installed < 95%; dev 20.0% failed > 2%",
		"  $ orgpatch rings\n    dev  (followed by prod)",
		"ok    the next converge moves prod's baselines to cycle 2's set (its cut-off)",
		"=== Step 7/8: disable and tear down",
		"ok    no window orgpatch owns is left",
		"ok    no baseline orgpatch owns is left; AWS's predefined baselines are the defaults again",
		"=== Step 8/8: the organization's patch compliance",
		"HTML page: ",
		"demo passed: 8 steps,",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "FAIL ") {
		t.Errorf("a check failed in a passing demo:\n%s", got)
	}
}

// deleteWindow deletes the window named name in account x region.
func deleteWindow(account, region, name string) func(context.Context, *Admin) error {
	return func(ctx context.Context, a *Admin) error {
		api := a.SSM(account, region)
		out, err := api.DescribeMaintenanceWindows(ctx, &ssm.DescribeMaintenanceWindowsInput{
			Filters: []types.MaintenanceWindowFilter{{Key: aws.String("Name"), Values: []string{name}}},
		})
		if err != nil {
			return err
		}
		for _, w := range out.WindowIdentities {
			if _, err := api.DeleteMaintenanceWindow(ctx, &ssm.DeleteMaintenanceWindowInput{WindowId: w.WindowId}); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestDemoFailsNamingTheCheck(t *testing.T) {
	for name, tc := range map[string]struct {
		step      int
		tamper    func(context.Context, *Admin) error
		wantTitle string
		// wantChecks are the checks that fail: the tampering's own writes
		// are not in the report, and a repairable change is repaired by
		// the step's next scheduled run.
		wantChecks []string
	}{
		"a window goes missing after the deploy": {
			step:      1,
			tamper:    deleteWindow(management, homeRegion, "sra_linux_maintenance"),
			wantTitle: "deploy (CloudFormation Create)",
			wantChecks: []string{
				"every write the simulator answered is in the report",
				"each of the 30 account x region pairs holds the 3 windows, each with its target and task",
				"the next scheduled run writes nothing (the deployment converged)",
			},
		},
		"a hand-made window goes during the drift repair": {
			step:      3,
			tamper:    deleteWindow(prodWeb, homeRegion, "prod-db-failover-patching"),
			wantTitle: "drift made by hand, repaired by the schedule",
			wantChecks: []string{
				"every write the simulator answered is in the report",
				"windows made by hand are untouched",
			},
		},
		"a dev account's default baseline is put back by hand": {
			step: 5,
			tamper: func(ctx context.Context, a *Admin) error {
				_, err := a.SSM(stagingData, homeRegion).RegisterDefaultPatchBaseline(ctx, &ssm.RegisterDefaultPatchBaselineInput{
					BaselineId: aws.String(ssmsvc.PredefinedBaselineID(homeRegion, "AMAZON_LINUX_2"))})
				return err
			},
			wantTitle: "rings: dev before prod, with patch baselines (CloudFormation Update)",
			// The hand change follows each of the step's two actions (the
			// Update, the move), and the second time the scheduled run
			// repairs it where only the moved account should be written.
			wantChecks: []string{
				"every write the simulator answered is in the report",
				"every account x region holds its ring's baselines, defaults, patch group and Linux schedule",
				"the next scheduled run writes nothing (the rings converged)",
				"staging-web holds prod's schedule and baselines, updated in place (same window and baseline ids)",
				"every write went to the moved account",
				"the next scheduled run writes nothing (the move converged)",
			},
		},
		"prod's baseline is put back by hand after its promotion": {
			step: 6,
			// The hand change follows the Update (a write the report does
			// not hold; the first scheduled run repairs it) and prod's
			// promotion, where it is what the check reads.
			tamper: func(ctx context.Context, a *Admin) error {
				api := a.SSM("444444444445", homeRegion)
				def, err := api.GetDefaultPatchBaseline(ctx, &ssm.GetDefaultPatchBaselineInput{OperatingSystem: types.OperatingSystemAmazonLinux2})
				if err != nil {
					return err
				}
				_, err = api.UpdatePatchBaseline(ctx, &ssm.UpdatePatchBaselineInput{BaselineId: def.BaselineId, ApprovalRules: &types.PatchRuleGroup{
					PatchRules: []types.PatchRule{{ApproveAfterDays: aws.Int32(7), ComplianceLevel: types.PatchComplianceLevelHigh,
						PatchFilterGroup: &types.PatchFilterGroup{PatchFilters: []types.PatchFilter{{Key: types.PatchFilterKeyClassification, Values: []string{"Security"}}}}}}}})
				return err
			},
			wantTitle: "promotion: prod gets the patches dev tested, when dev is healthy (two patch cycles)",
			wantChecks: []string{
				"every write the simulator answered is in the report",
				"in the same run prod's baselines approve exactly dev's set (its cut-off) in every prod account",
			},
		},
		"an owned window survives the teardown": {
			step: 7,
			tamper: func(ctx context.Context, a *Admin) error {
				_, err := a.SSM(network, "eu-west-1").CreateMaintenanceWindow(ctx, &ssm.CreateMaintenanceWindowInput{
					Name: aws.String("sra_ssm_agent_update"), Schedule: aws.String("rate(7 days)"),
					Duration: aws.Int32(2), Cutoff: 1,
					Tags: []types.Tag{{Key: aws.String(reconcile.OwnerTagKey), Value: aws.String(reconcile.OwnerTagValue)}},
				})
				return err
			},
			wantTitle: "disable and tear down (CloudFormation Update, Disabled=true)",
			wantChecks: []string{
				"every write the simulator answered is in the report",
				"no window orgpatch owns is left in any of the 32 account x region pairs",
				"the next scheduled run writes nothing (while disabled, the schedule creates nothing)",
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), Options{Out: &out, Tamper: func(ctx context.Context, step int, a *Admin) error {
				if step != tc.step {
					return nil
				}
				return tc.tamper(ctx, a)
			}})
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("Run = %v, want a *StepError\n%s", err, out.String())
			}
			var failed []string
			for _, c := range se.Failed {
				failed = append(failed, c.Name)
			}
			if diff := cmp.Diff(tc.wantChecks, failed); se.Step != tc.step || se.Title != tc.wantTitle || diff != "" {
				t.Errorf("failed step %d %q, want %d %q; failed checks (-want +got):\n%s", se.Step, se.Title, tc.step, tc.wantTitle, diff)
			}
			for _, check := range tc.wantChecks {
				if !strings.Contains(err.Error(), check) {
					t.Errorf("error %q does not name the check %q", err, check)
				}
				if !strings.Contains(out.String(), "  FAIL  "+check) {
					t.Errorf("output does not show the failed check %q:\n%s", check, out.String())
				}
			}
		})
	}
}
