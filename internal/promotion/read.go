package promotion

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
)

// Earlier are the rings some ring of cfg follows: the rings a gate
// measures.
func Earlier(cfg config.Config) map[string]bool {
	out := map[string]bool{}
	for _, r := range cfg.Rings {
		if r.Promotion != nil {
			out[r.Promotion.Follows] = true
		}
	}
	return out
}

// Measured is what ReadInputs read: the decision's inputs and the account
// x region pairs of earlier rings it could not read ("ACCOUNT REGION:
// why"), whose nodes are missing from the figures; Inputs.Unmeasured holds
// the rings that follow them.
type Measured struct {
	Inputs Inputs
	Unread []string
}

// ReadInputs reads what the next scheduled decision is made on: the node
// records of the earlier rings' accounts through one compliance collection
// over those accounts alone (env: its Config, Rings, InstalledRings and
// Sink are ReadInputs'), with the ids installed by the rings a ring pinned
// by list follows, and the gates' alarms. With no ring following another
// it reads nothing. The scheduled cycle (the function) and `orgpatch rings`
// both read through it.
func ReadInputs(ctx context.Context, env compliance.Env, alarms AlarmsAPI, cfg config.Config, by string, now time.Time) (Measured, error) {
	m := Measured{Inputs: Inputs{By: by, Now: now}}
	earlier := Earlier(cfg)
	if len(earlier) == 0 {
		return m, nil
	}
	env.Config, env.Rings, env.InstalledRings = cfg, slices.Sorted(maps.Keys(earlier)), InstalledRings(cfg)
	unread := map[string][]string{}
	env.Sink = func(r *compliance.Record) error {
		switch {
		case r.RecordType == compliance.NodeRecord:
			m.Inputs.Nodes = append(m.Inputs.Nodes, *r)
		case r.RecordType == compliance.CoverageRecord && r.Outcome == compliance.OutcomeFailed:
			m.Unread = append(m.Unread, r.Account+" "+r.Region+": "+r.Reason)
			unread[r.Ring] = append(unread[r.Ring], r.Account+" "+r.Region+": "+r.Reason)
		}
		return nil
	}
	sum, err := compliance.Run(ctx, env)
	if err != nil {
		return m, err
	}
	m.Inputs.Installed = sum.Installed
	for ring, us := range unread {
		if m.Inputs.Unmeasured == nil {
			m.Inputs.Unmeasured = map[string]string{}
		}
		m.Inputs.Unmeasured[ring] = fmt.Sprintf("%d target(s) could not be read, so the gate cannot hold on the rest; first: %s", len(us), us[0])
	}
	if m.Inputs.Alarms, err = ReadAlarms(ctx, alarms, cfg); err != nil {
		return m, fmt.Errorf("the gates' alarms: %w", err)
	}
	return m, nil
}
