package promotion

import (
	"maps"
	"slices"
	"time"
)

// Set is what a ring may install: the patches released on or before
// Cutoff (YYYY-MM-DD), and, for baselines pinned by list, the patch ids
// per operating system (the SSM OperatingSystem enum, like WINDOWS).
// ReleasedAt is when the ring got it: the soak and the gate's "since" are
// counted from there. Source says where it came from ("cycle": the first
// ring's delay; "dev": promoted from ring dev; "override": a person).
type Set struct {
	Cutoff     string              `json:"cutoff"`
	Patches    map[string][]string `json:"patches,omitempty"`
	ReleasedAt time.Time           `json:"releasedAt"`
	Source     string              `json:"source"`
}

// Same says whether s and o approve the same patches (their cut-off and
// lists), whenever and however each ring got it.
func (s *Set) Same(o *Set) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.Cutoff == o.Cutoff && maps.EqualFunc(s.Patches, o.Patches, slices.Equal)
}

// String is the set as `orgpatch rings` shows it.
func (s *Set) String() string {
	if s == nil {
		return "none"
	}
	if s.Patches == nil {
		return "up to " + s.Cutoff
	}
	n := 0
	for _, ids := range s.Patches {
		n += len(ids)
	}
	return "up to " + s.Cutoff + " (" + itoa(n) + " listed patches)"
}

// RingState is what the state keeps of one ring.
type RingState struct {
	// Set is what the ring may install; nil before its first promotion
	// (or, for the first ring of a chain, its first cycle).
	Set *Set `json:"set,omitempty"`
	// The promotion (or cycle start) that gave Set: when, by whom (the
	// function, or the IAM principal of the CLI's caller), why, and the
	// gate's figures then (nil for a cycle start and an override
	// without figures).
	PromotedAt time.Time `json:"promotedAt,omitzero"`
	PromotedBy string    `json:"promotedBy,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Figures    *Figures  `json:"figures,omitempty"`
	// Hold is why the ring waits, nil when it does not.
	Hold *Hold `json:"hold,omitempty"`
}

// Hold is why a ring waits. A hold by a person (Manual) sticks until a
// person promotes the ring; the gate's holds are re-decided each run.
type Hold struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	Since  time.Time `json:"since"`
	Manual bool      `json:"manual,omitempty"`
}

// State is the durable promotion state: one JSON document in the runs
// bucket (promotion/state.json).
type State struct {
	Rings map[string]*RingState `json:"rings"`
	// History is the last MaxHistory decisions that changed something,
	// oldest first.
	History []Decision `json:"history,omitempty"`
	// Unpublished are events a publish failed on, sent again by the next
	// Publish.
	Unpublished []Event `json:"unpublished,omitempty"`
}

// MaxHistory bounds State.History.
const MaxHistory = 200

// ring returns the state of ring name, nil when it has none.
func (st State) ring(name string) *RingState {
	return st.Rings[name]
}

// Clone is a deep copy of st.
func (st State) Clone() State {
	out := State{Rings: make(map[string]*RingState, len(st.Rings)), History: slices.Clone(st.History), Unpublished: slices.Clone(st.Unpublished)}
	for name, rs := range st.Rings {
		c := *rs
		if rs.Set != nil {
			s := *rs.Set
			s.Patches = clonePatches(rs.Set.Patches)
			c.Set = &s
		}
		if rs.Hold != nil {
			h := *rs.Hold
			c.Hold = &h
		}
		if rs.Figures != nil {
			f := *rs.Figures
			c.Figures = &f
		}
		out.Rings[name] = &c
	}
	return out
}

func clonePatches(p map[string][]string) map[string][]string {
	if p == nil {
		return nil
	}
	out := make(map[string][]string, len(p))
	for os, ids := range p {
		out[os] = slices.Clone(ids)
	}
	return out
}
