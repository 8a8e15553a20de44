package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Promotion ties a ring's approvals to what an earlier ring tested
// (package promotion): the ring takes the set of patches of the ring it
// Follows once that ring's Gate holds and the Soak has passed.
//
// Follows names an EARLIER ring (rings are in order, so there are no
// cycles), not the ring itself, and each ring is followed by at most one
// ring: promotions run down a chain (dev -> test -> prod), and "the set
// has been promoted to the ring following it" has one meaning.
type Promotion struct {
	Follows string `json:"follows"`
	// Soak is how long the earlier ring's set must have been released to
	// it before it may be promoted: a Go duration such as 72h or 90m,
	// 0 to MaxSoak; empty is no soak.
	Soak string `json:"soak,omitempty"`
	Gate Gate   `json:"gate"`
}

// Gate is what the earlier ring's measured state must show: of its managed
// nodes, at least MinInstalledPercent installed the set with nothing
// missing or failed, at most MaxFailedPercent failed an install, at most
// MaxStalePercent were not scanned since the set was released, and every
// CloudWatch alarm in Alarms (names, in the management account's home
// region) is OK. An unset percentage is the strictest: 100 installed, 0
// failed, 0 stale.
type Gate struct {
	MinInstalledPercent *float64 `json:"minInstalledPercent,omitempty"`
	MaxFailedPercent    *float64 `json:"maxFailedPercent,omitempty"`
	MaxStalePercent     *float64 `json:"maxStalePercent,omitempty"`
	Alarms              []string `json:"alarms,omitempty"`
}

// How a promoted ring pins a baseline (Baseline.PromotionPin).
const (
	// PinApproveUntilDate replaces the approval rules' approveAfterDays
	// with approveUntilDate = the set's cut-off. ApproveAfterDays cannot
	// pin: its count restarts when Microsoft supersedes a Windows update.
	PinApproveUntilDate = "approveUntilDate"
	// PinApprovedPatches approves exactly the set's patch ids for the
	// baseline's operating system and clears its approval rules; at most
	// 50 ids (the SSM model's PatchIdList).
	PinApprovedPatches = "approvedPatches"
)

var promotionPins = []string{PinApproveUntilDate, PinApprovedPatches}

// MaxSoak is the longest soak: 90 days.
const MaxSoak = 90 * 24 * time.Hour

// maxAlarmNameLen and maxGateAlarms are CloudWatch's: AlarmName has
// 1-255 characters, and DescribeAlarms takes at most 100 AlarmNames.
const (
	maxAlarmNameLen = 255
	maxGateAlarms   = 100
)

// SoakDuration is the parsed Soak (0 when empty); Validate has checked it.
func (p Promotion) SoakDuration() time.Duration {
	d, _ := time.ParseDuration(p.Soak)
	return d
}

// Thresholds are the gate's percentages with the unset ones at their
// strictest.
func (g Gate) Thresholds() (minInstalled, maxFailed, maxStale float64) {
	v := func(p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		return *p
	}
	return v(g.MinInstalledPercent, 100), v(g.MaxFailedPercent, 0), v(g.MaxStalePercent, 0)
}

// Follower is the ring that follows ring name, or "".
func (c Config) Follower(name string) string {
	for _, r := range c.Rings {
		if r.Promotion != nil && r.Promotion.Follows == name {
			return r.Name
		}
	}
	return ""
}

// Ring returns the ring named name.
func (c Config) Ring(name string) (Ring, bool) {
	i := slices.IndexFunc(c.Rings, func(r Ring) bool { return r.Name == name })
	if i < 0 {
		return Ring{}, false
	}
	return c.Rings[i], true
}

// validatePromotion checks each ring's promotion: it follows an earlier
// ring that no other ring follows, its soak is a duration of 0 to MaxSoak,
// its percentages are 0-100 and its alarms are CloudWatch alarm names.
func (c Config) validatePromotion(p *problems) {
	followedBy := map[string]int{}
	for i, r := range c.Rings {
		if r.Promotion == nil {
			continue
		}
		prefix := fmt.Sprintf("rings[%d].promotion", i)
		f := r.Promotion.Follows
		earlier := c.RingNames()[:i]
		j := slices.Index(c.RingNames(), f)
		switch {
		case f == "":
			p.add(prefix+".follows", "", "is required: the earlier ring this ring takes its patches from, one of %s", orNone(earlier))
		case f == r.Name:
			p.add(prefix+".follows", f, "is this ring itself; follow an earlier ring: %s", orNone(earlier))
		case j < 0:
			p.add(prefix+".follows", f, "is not a ring; follow an earlier ring: %s", orNone(earlier))
		case j > i:
			p.add(prefix+".follows", f, "comes after this ring (rings[%d]); follow an earlier ring: %s", j, orNone(earlier))
		default:
			if k, dup := followedBy[f]; dup {
				p.add(prefix+".follows", f, "is already followed by rings[%d]; a ring is followed by at most one ring (chain them: dev, test follows dev, prod follows test)", k)
			} else {
				followedBy[f] = i
			}
		}
		if s := r.Promotion.Soak; s != "" {
			if d, err := time.ParseDuration(s); err != nil || d < 0 || d > MaxSoak {
				p.add(prefix+".soak", s, "is not a duration of 0h to %dh, like 72h or 90m", int(MaxSoak.Hours()))
			}
		}
		g := r.Promotion.Gate
		for _, pc := range []struct {
			name string
			v    *float64
		}{{"minInstalledPercent", g.MinInstalledPercent}, {"maxFailedPercent", g.MaxFailedPercent}, {"maxStalePercent", g.MaxStalePercent}} {
			if pc.v != nil && (*pc.v < 0 || *pc.v > 100) {
				p.add(prefix+".gate."+pc.name, strconv.FormatFloat(*pc.v, 'f', -1, 64), "is not a percentage of 0-100")
			}
		}
		if len(g.Alarms) > maxGateAlarms {
			p.add(prefix+".gate.alarms", "", "has %d alarms; at most %d are allowed", len(g.Alarms), maxGateAlarms)
		}
		checkList(p, prefix+".gate.alarms", g.Alarms, func(field, a string) {
			if n := utf8.RuneCountInString(a); n < 1 || n > maxAlarmNameLen || strings.TrimSpace(a) != a {
				p.add(field, a, "is not a CloudWatch alarm name: 1-%d characters, no leading or trailing space", maxAlarmNameLen)
			}
		})
	}
}

// PinRing returns c with ring name's baselines pinned to a promoted set:
// cutoff (YYYY-MM-DD) replaces every approval rule's approveAfterDays
// (a rule's own earlier approveUntilDate stays), and a baseline whose
// PromotionPin is PinApprovedPatches approves exactly patches[its
// operating system] instead, its approval rules cleared. The ring's own
// approveAfterDays no longer applies. c itself is not changed. It is an
// error, and nothing is pinned, when the ring does not exist, the cut-off
// is not a date, or a list has more than 50 ids.
func (c Config) PinRing(name, cutoff string, patches map[string][]string) (Config, error) {
	i := slices.IndexFunc(c.Rings, func(r Ring) bool { return r.Name == name })
	if i < 0 {
		return Config{}, fmt.Errorf("pin ring %q: %w", name, c.CheckRing(name))
	}
	if _, err := time.Parse(time.DateOnly, cutoff); err != nil || len(cutoff) != len(time.DateOnly) {
		return Config{}, fmt.Errorf("pin ring %q: cut-off %q is not a date like 2026-12-31 (YYYY-MM-DD)", name, cutoff)
	}
	out := c.clone()
	r := out.Rings[i]
	bs := r.Baselines
	if bs == nil {
		bs = c.Baselines
	}
	bs = cloneBaselines(bs)
	for j := range bs {
		b := &bs[j]
		if b.PromotionPin == PinApprovedPatches {
			ids := slices.Clone(patches[b.OperatingSystem])
			if len(ids) > maxPatchIDs {
				return Config{}, fmt.Errorf("pin ring %q: baseline %s would approve %d %s patches; approvedPatches holds at most %d (pin it by %s instead)",
					name, b.Name, len(ids), b.OperatingSystem, maxPatchIDs, PinApproveUntilDate)
			}
			slices.Sort(ids)
			b.ApprovedPatches, b.ApprovalRules = ids, nil
			continue
		}
		for k := range b.ApprovalRules {
			rule := &b.ApprovalRules[k]
			if rule.ApproveUntilDate == "" || cutoff < rule.ApproveUntilDate {
				rule.ApproveUntilDate = cutoff
			}
			rule.ApproveAfterDays = nil
		}
	}
	r.Baselines, r.ApproveAfterDays = bs, nil
	out.Rings[i] = r
	return out, nil
}

// MaxPatchIDs is how many patch ids a baseline's approvedPatches holds.
const MaxPatchIDs = maxPatchIDs
