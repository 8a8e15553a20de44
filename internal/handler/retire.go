package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
)

// retired is what an Update takes out of orgpatch's hands: regions the old
// configuration governed and the new one does not, and accounts the new one
// excludes (by id or by OU) that the old one did not. Converging to the new
// configuration never looks at them again, so without this whatever orgpatch
// made there would be orphaned.
type retired struct {
	regions  []string
	accounts []string
}

func (h *Handler) retired(ctx context.Context, old, cfg config.Config) (retired, error) {
	var r retired
	mgmt := h.deps.Management
	ct, param := controltower.NewFromConfig(mgmt), ssm.NewFromConfig(mgmt)
	oldRegions, _, err := fleet.Regions(ctx, old, ct, param)
	if err != nil {
		return r, fmt.Errorf("regions of the previous configuration: %w", err)
	}
	newRegions, _, err := fleet.Regions(ctx, cfg, ct, param)
	if err != nil {
		return r, err
	}
	for _, region := range oldRegions {
		if !slices.Contains(newRegions, region) {
			r.regions = append(r.regions, region)
		}
	}

	if slices.Equal(old.ExcludedAccounts, cfg.ExcludedAccounts) && slices.Equal(old.ExcludedOUs, cfg.ExcludedOUs) {
		return r, nil
	}
	orgs := organizations.NewFromConfig(mgmt)
	before, err := fleet.Accounts(ctx, orgs, old)
	if err != nil {
		return r, err
	}
	after, err := fleet.Accounts(ctx, orgs, cfg)
	if err != nil {
		return r, err
	}
	wasExcluded := map[string]bool{}
	for _, a := range before {
		wasExcluded[a.ID] = a.Excluded != ""
	}
	for _, a := range after {
		if a.Excluded != "" && !wasExcluded[a.ID] {
			r.accounts = append(r.accounts, a.ID)
		}
	}
	return r, nil
}

// retire tears down what r names. Regions are torn down as the old
// configuration set them up (its role and its exclusions; windows deleted,
// DHMC reset); accounts are named to a run of the new configuration, which
// tears down a named excluded account. Both are idempotent: a retried
// Update finds nothing left and writes nothing.
func (h *Handler) retire(ctx context.Context, log *slog.Logger, r retired, old, cfg config.Config) []report.Report {
	var out []report.Report
	if len(r.regions) > 0 {
		log.Info("regions leave the configuration; tearing them down", "regions", r.regions)
		gone := old
		gone.Regions = r.regions
		out = append(out, run.Run(ctx, h.env(log, gone), run.Request{Mode: reconcile.Teardown}))
	}
	if len(r.accounts) > 0 {
		log.Info("accounts newly excluded; tearing them down", "accounts", r.accounts)
		out = append(out, run.Run(ctx, h.env(log, cfg), run.Request{Mode: reconcile.Converge, Accounts: r.accounts}))
	}
	return out
}

// merge is one report of several runs of one invocation: every target, and
// the first failure of a run as a whole.
func merge(first report.Report, more ...report.Report) report.Report {
	out := first
	out.Targets = slices.Clone(first.Targets)
	for _, r := range more {
		out.Targets = append(out.Targets, r.Targets...)
		if out.Error == nil && r.Error != nil {
			out.Fail(errors.New(r.Error.Message))
		}
		out.Duration += r.Duration
	}
	out.Tally()
	return out
}
