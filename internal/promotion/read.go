package promotion

import (
	"context"
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
// why"), whose nodes are missing from the figures.
type Measured struct {
	Inputs Inputs
	Unread []string
}

// ReadInputs reads what the next scheduled decision is made on: the node
// records of the earlier rings' accounts through one compliance collection
// over those accounts alone (env: its Config, Rings and Sink are
// ReadInputs'), and the gates' alarms. With no ring
// following another it reads nothing.
func ReadInputs(ctx context.Context, env compliance.Env, alarms AlarmsAPI, cfg config.Config, by string, now time.Time) (Measured, error) {
	m := Measured{Inputs: Inputs{By: by, Now: now}}
	earlier := Earlier(cfg)
	if len(earlier) == 0 {
		return m, nil
	}
	env.Config, env.Rings = cfg, slices.Sorted(maps.Keys(earlier))
	env.Sink = func(r *compliance.Record) error {
		switch {
		case r.RecordType == compliance.NodeRecord:
			m.Inputs.Nodes = append(m.Inputs.Nodes, *r)
		case r.RecordType == compliance.CoverageRecord && r.Outcome == compliance.OutcomeFailed:
			m.Unread = append(m.Unread, r.Account+" "+r.Region+": "+r.Reason)
		}
		return nil
	}
	if _, err := compliance.Run(ctx, env); err != nil {
		return m, err
	}
	var err error
	m.Inputs.Alarms, err = ReadAlarms(ctx, alarms, cfg)
	return m, err
}
