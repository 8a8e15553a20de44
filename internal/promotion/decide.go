package promotion

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
)

// Kind is what a decision does to a ring.
type Kind string

const (
	// Promote gives a following ring the earlier ring's set.
	Promote Kind = "promote"
	// HoldKind keeps a ring at its set, with a reason.
	HoldKind Kind = "hold"
	// StartCycle gives the first ring of a chain a new set (the cut-off
	// of its approval delay).
	StartCycle Kind = "start-cycle"
	// Unchanged changes nothing.
	Unchanged Kind = "unchanged"
	// Dropped removes the state of a ring the configuration no longer has.
	Dropped Kind = "dropped"
)

// Decision is what happens to one ring, and why: From is its set before,
// To its set after (a promotion or cycle start), Figures the earlier
// ring's measured state when a gate was evaluated. Manual marks a
// person's override (Promote with a person's By, or a hold that sticks).
type Decision struct {
	Ring    string    `json:"ring"`
	Kind    Kind      `json:"kind"`
	From    *Set      `json:"from,omitempty"`
	To      *Set      `json:"to,omitempty"`
	Figures *Figures  `json:"figures,omitempty"`
	Reason  string    `json:"reason"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Manual  bool      `json:"manual,omitempty"`
}

// Inputs are what a scheduled decision reads.
type Inputs struct {
	// Nodes are the compliance collection's node records (other records
	// are ignored), each naming its account's ring now.
	Nodes []compliance.Record
	// Alarms are the gates' alarms' states by name (ReadAlarms); an
	// alarm absent here does not exist.
	Alarms map[string]string
	// Installed are, per ring and operating system (the SSM enum), the
	// patch ids the ring's nodes installed: the list a ring pinned by
	// approvedPatches is promoted. Only read for the rings such a ring
	// follows; a ring absent here was not read, and its follower holds
	// (an empty map is "read, nothing installed").
	Installed map[string]map[string][]string
	// Unmeasured says, per earlier ring, why its nodes could not all be
	// read (ReadInputs fills it from the collection's coverage): the gate
	// of the ring that follows it cannot hold on part of them, so that ring
	// holds, with this reason, and the hold is recorded and published like
	// any other.
	Unmeasured map[string]string
	// By names the decider in the state and events, e.g. the function's
	// name.
	By  string
	Now time.Time
}

// Decide says what a scheduled run does to every ring of a promotion
// chain, from the state as loaded (one step per run: a ring promoted now
// starts its own soak now). Rings in no chain get no decision; state of a
// ring cfg no longer has is Dropped.
func Decide(cfg config.Config, st State, in Inputs) []Decision {
	var out []Decision
	for _, r := range cfg.Rings {
		var d Decision
		switch {
		case r.Promotion != nil:
			d = decideFollower(cfg, r, st, in)
		case cfg.Follower(r.Name) != "":
			d = decideFirst(cfg, r, st, in.Now)
		default:
			continue
		}
		d.Ring, d.At = r.Name, in.Now
		if d.By == "" {
			d.By = in.By
		}
		out = append(out, d)
	}
	for _, name := range slices.Sorted(maps.Keys(st.Rings)) {
		if _, ok := cfg.Ring(name); !ok {
			out = append(out, Decision{Ring: name, Kind: Dropped, From: st.Rings[name].Set, By: in.By, At: in.Now,
				Reason: name + " is no longer a ring of the configuration: its promotion state is dropped"})
		}
	}
	return out
}

func decideFirst(cfg config.Config, r config.Ring, st State, now time.Time) Decision {
	rs, follower := st.ring(r.Name), cfg.Follower(r.Name)
	cutoff := CycleCutoff(cfg, r.Name, now)
	next := &Set{Cutoff: cutoff, ReleasedAt: now, Source: "cycle"}
	switch {
	case rs != nil && rs.Hold != nil && rs.Hold.Manual:
		return Decision{Kind: HoldKind, From: rs.Set, Reason: rs.Hold.Reason, By: rs.Hold.By, Manual: true}
	case rs == nil || rs.Set == nil:
		return Decision{Kind: StartCycle, To: next, Reason: fmt.Sprintf("%s starts its first cycle: patches released up to %s", r.Name, cutoff)}
	case !rs.Set.Same(st.ring(follower).set()):
		return Decision{Kind: Unchanged, From: rs.Set, Reason: fmt.Sprintf("%s keeps its set up to %s until %s takes it", r.Name, rs.Set.Cutoff, follower)}
	case cutoff > rs.Set.Cutoff:
		return Decision{Kind: StartCycle, From: rs.Set, To: next,
			Reason: fmt.Sprintf("%s has %s's set up to %s: %s starts a cycle up to %s", follower, r.Name, rs.Set.Cutoff, r.Name, cutoff)}
	}
	return Decision{Kind: Unchanged, From: rs.Set, Reason: fmt.Sprintf("%s has no patches newer than its set up to %s", r.Name, rs.Set.Cutoff)}
}

func decideFollower(cfg config.Config, r config.Ring, st State, in Inputs) Decision {
	rs, f := st.ring(r.Name), r.Promotion.Follows
	from, earlier := rs.set(), st.ring(f).set()
	switch {
	case rs != nil && rs.Hold != nil && rs.Hold.Manual:
		return Decision{Kind: HoldKind, From: from, Reason: rs.Hold.Reason, By: rs.Hold.By, Manual: true}
	case earlier == nil:
		why := fmt.Sprintf("%s waits: %s has no set yet", r.Name, f)
		if from == nil {
			why += "; until its first promotion " + r.Name + " approves by its configured delay"
		}
		return Decision{Kind: HoldKind, Reason: why}
	case from.Same(earlier):
		return Decision{Kind: Unchanged, From: from, Reason: fmt.Sprintf("%s has %s's set up to %s", r.Name, f, from.Cutoff)}
	case from != nil && cfg.Follower(r.Name) != "" && !from.Same(st.ring(cfg.Follower(r.Name)).set()):
		// A ring in the middle of a chain keeps its set during its
		// follower's soak, as the first ring does.
		return Decision{Kind: Unchanged, From: from, Reason: fmt.Sprintf("%s keeps its set up to %s until %s takes it", r.Name, from.Cutoff, cfg.Follower(r.Name))}
	}
	if why := in.Unmeasured[f]; why != "" {
		return Decision{Kind: HoldKind, From: from, Reason: fmt.Sprintf("%s waits: %s could not be measured: %s", r.Name, f, why)}
	}
	fig := Measure(in.Nodes, f, earlier.ReleasedAt)
	if why := Gate(r.Name, *r.Promotion, fig, in.Alarms, in.Now); why != "" {
		return Decision{Kind: HoldKind, From: from, Figures: &fig, Reason: why}
	}
	to := &Set{Cutoff: earlier.Cutoff, ReleasedAt: in.Now, Source: f}
	if listed := listPinned(cfg, r.Name); len(listed) > 0 {
		if in.Installed[f] == nil {
			return Decision{Kind: HoldKind, From: from, Figures: &fig, Reason: fmt.Sprintf("%s waits: its baselines %s are pinned by approvedPatches, and what %s installed was not read",
				r.Name, strings.Join(slices.Sorted(slices.Values(slices.Concat(slices.Collect(maps.Values(listed))...))), ", "), f)}
		}
		to.Patches = map[string][]string{}
		for os := range listed {
			to.Patches[os] = slices.Sorted(slices.Values(in.Installed[f][os]))
		}
		if why := tooMany(r.Name, listed, to.Patches); why != "" {
			return Decision{Kind: HoldKind, From: from, Figures: &fig, Reason: why}
		}
	}
	return Decision{Kind: Promote, From: from, To: to, Figures: &fig,
		Reason: fmt.Sprintf("%s's gate held: %s %s installed, %s failed, %s stale of %d nodes", r.Name, f, pct(fig.InstalledPercent), pct(fig.FailedPercent), pct(fig.StalePercent), fig.Managed)}
}

func (rs *RingState) set() *Set {
	if rs == nil {
		return nil
	}
	return rs.Set
}

// CycleCutoff is the cut-off ring name's approval delay gives at now:
// now's date (UTC) less the longest approveAfterDays of the ring's
// baselines (0 when none): everything released on or before it is
// approved by every rule.
func CycleCutoff(cfg config.Config, name string, now time.Time) string {
	eff, _ := cfg.ForRing(name)
	var days int32
	for _, b := range eff.Baselines {
		for _, rule := range b.ApprovalRules {
			if rule.ApproveAfterDays != nil && *rule.ApproveAfterDays > days {
				days = *rule.ApproveAfterDays
			}
		}
	}
	return now.UTC().AddDate(0, 0, -int(days)).Format(time.DateOnly)
}

// InstalledRings are the rings whose installed patch ids a scheduled run
// reads (compliance.Env.InstalledRings, whose Summary.Installed is
// Inputs.Installed): those a ring with a baseline pinned by
// approvedPatches follows. None, the collection reads no installed ids.
func InstalledRings(cfg config.Config) []string {
	var out []string
	for _, r := range cfg.Rings {
		if r.Promotion != nil && len(listPinned(cfg, r.Name)) > 0 && !slices.Contains(out, r.Promotion.Follows) {
			out = append(out, r.Promotion.Follows)
		}
	}
	return out
}

// listPinned maps the operating systems of ring name's baselines pinned by
// approvedPatches to those baselines' names.
func listPinned(cfg config.Config, name string) map[string][]string {
	eff, _ := cfg.ForRing(name)
	out := map[string][]string{}
	for _, b := range eff.Baselines {
		if b.PromotionPin == config.PinApprovedPatches {
			out[b.OperatingSystem] = append(out[b.OperatingSystem], b.Name)
		}
	}
	return out
}

// tooMany says why a list pin cannot take patches: more ids than a
// baseline's approvedPatches holds. Never truncated.
func tooMany(ring string, listed, patches map[string][]string) string {
	for _, os := range slices.Sorted(maps.Keys(listed)) {
		if n := len(patches[os]); n > config.MaxPatchIDs {
			return fmt.Sprintf("%s waits: its %s baseline %s is pinned by approvedPatches, which holds at most %d ids, and the set has %d: pin it by approveUntilDate",
				ring, os, strings.Join(listed[os], ", "), config.MaxPatchIDs, n)
		}
	}
	return ""
}

// PromoteRing is a person's override (`orgpatch promote`): ring takes the
// earlier ring's set now, whatever its gate says, or, with cutoff
// (YYYY-MM-DD), the patches released up to cutoff; for the first ring of
// a chain it starts a cycle (at cutoff, else at its delay's cut-off). It
// clears a person's hold. reason is required; who is the caller's IAM
// principal. Nothing is decided when the input is wrong.
func PromoteRing(cfg config.Config, st State, ring, cutoff, reason, who string, now time.Time) (Decision, error) {
	if err := CheckPromote(cfg, ring, cutoff, reason, now); err != nil {
		return Decision{}, err
	}
	r, _ := cfg.Ring(ring)
	d := Decision{Ring: ring, From: st.ring(ring).set(), By: who, At: now, Manual: true,
		Reason: fmt.Sprintf("%s promoted by %s: %s", ring, who, reason)}
	if r.Promotion == nil {
		if cutoff == "" {
			cutoff = CycleCutoff(cfg, ring, now)
		}
		d.Kind, d.To = StartCycle, &Set{Cutoff: cutoff, ReleasedAt: now, Source: "override"}
		return d, nil
	}
	listed := listPinned(cfg, ring)
	earlier := st.ring(r.Promotion.Follows).set()
	switch {
	case cutoff != "":
		d.To = &Set{Cutoff: cutoff, ReleasedAt: now, Source: "override"}
	case earlier == nil:
		return Decision{}, fmt.Errorf("promote %s: %s has no set to promote yet: give --cutoff", ring, r.Promotion.Follows)
	default:
		d.To = &Set{Cutoff: earlier.Cutoff, Patches: clonePatches(earlier.Patches), ReleasedAt: now, Source: r.Promotion.Follows}
		if len(listed) > 0 && earlier.Patches == nil {
			return Decision{}, fmt.Errorf("promote %s: its baselines are pinned by approvedPatches and %s's set lists no patches: wait for the scheduled run, which lists what %s installed",
				ring, r.Promotion.Follows, r.Promotion.Follows)
		}
	}
	d.Kind = Promote
	return d, nil
}

// CheckPromote is what PromoteRing refuses whatever the state holds: an
// unknown ring or one in no chain, no reason, a cut-off that is not a date
// on or before now, a cut-off for a ring with baselines pinned by list. The
// CLI checks it before any AWS call.
func CheckPromote(cfg config.Config, ring, cutoff, reason string, now time.Time) error {
	if _, err := overridable(cfg, ring, reason, "promote"); err != nil {
		return err
	}
	if cutoff == "" {
		return nil
	}
	if t, err := time.Parse(time.DateOnly, cutoff); err != nil || len(cutoff) != len(time.DateOnly) || t.After(now) {
		return fmt.Errorf("promote %s: --cutoff %q is not a date like 2026-12-31 (YYYY-MM-DD) on or before today", ring, cutoff)
	}
	if r, _ := cfg.Ring(ring); r.Promotion != nil {
		if listed := listPinned(cfg, ring); len(listed) > 0 {
			return fmt.Errorf("promote %s: its baselines %s are pinned by approvedPatches, which a cut-off does not list: promote without --cutoff",
				ring, strings.Join(slices.Concat(slices.Collect(maps.Values(listed))...), ", "))
		}
	}
	return nil
}

// CheckHold is what HoldRing refuses whatever the state holds.
func CheckHold(cfg config.Config, ring, reason string) error {
	_, err := overridable(cfg, ring, reason, "hold")
	return err
}

// HoldRing is a person's hold (`orgpatch hold`): ring keeps its set until
// a person promotes it.
func HoldRing(cfg config.Config, st State, ring, reason, who string, now time.Time) (Decision, error) {
	if err := CheckHold(cfg, ring, reason); err != nil {
		return Decision{}, err
	}
	return Decision{Ring: ring, Kind: HoldKind, From: st.ring(ring).set(), By: who, At: now, Manual: true,
		Reason: fmt.Sprintf("%s held by %s: %s", ring, who, reason)}, nil
}

func overridable(cfg config.Config, ring, reason, verb string) (config.Ring, error) {
	r, ok := cfg.Ring(ring)
	switch {
	case !ok:
		if err := cfg.CheckRing(ring); err != nil {
			return r, fmt.Errorf("%s: %w", verb, err)
		}
		return r, fmt.Errorf("%s: a ring is required: one of %s", verb, strings.Join(cfg.RingNames(), ", "))
	case r.Promotion == nil && cfg.Follower(ring) == "":
		return r, fmt.Errorf("%s %s: the ring is in no promotion chain (no promotion.follows, and no ring follows it)", verb, ring)
	case strings.TrimSpace(reason) == "":
		return r, errors.New(verb + " " + ring + ": --reason is required: say why, it is recorded with who")
	}
	return r, nil
}
