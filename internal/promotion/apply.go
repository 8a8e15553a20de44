package promotion

import (
	"fmt"
	"slices"
	"time"

	"github.com/orgpatch/orgpatch/internal/config"
)

// Event detail types, with Source EventSource on the default event bus.
const (
	EventSource      = "orgpatch"
	DetailPromoted   = "Ring Promoted"
	DetailHeld       = "Ring Held"
	DetailCycleStart = "Ring Cycle Started"
	maxUnpublished   = 500
)

// Event is one promotion, cycle start or new (or changed) hold, with its
// evidence: what Publish sends to EventBridge and the alarm topic.
type Event struct {
	// ID is unique per event: the ring, the kind and the time.
	ID         string      `json:"id"`
	DetailType string      `json:"detailType"`
	Detail     EventDetail `json:"detail"`
	// OnBus and OnTopic say where it has been sent.
	OnBus   bool `json:"onBus,omitempty"`
	OnTopic bool `json:"onTopic,omitempty"`
}

// EventDetail is an event's Detail. ID is the event's: an event may be
// delivered more than once (a run that sent it and failed to record so
// sends it again), and ID tells the copies apart.
type EventDetail struct {
	ID      string       `json:"id"`
	Ring    string       `json:"ring"`
	Kind    Kind         `json:"kind"`
	From    *Set         `json:"from,omitempty"`
	To      *Set         `json:"to,omitempty"`
	Follows string       `json:"follows,omitempty"`
	Gate    *config.Gate `json:"gate,omitempty"`
	Figures *Figures     `json:"figures,omitempty"`
	Reason  string       `json:"reason"`
	By      string       `json:"by"`
	At      time.Time    `json:"at"`
	Manual  bool         `json:"manual,omitempty"`
}

// Apply returns st with the decisions applied: a promotion or cycle start
// sets the ring's set and clears its hold; a hold is recorded (a hold
// whose reason has not changed changes nothing); unchanged clears a
// gate's hold (the ring has the earlier ring's set); dropped removes the
// ring. Every decision that changed something joins the history (the last
// MaxHistory), and its event joins Unpublished, for Publish after the
// state is saved.
func Apply(cfg config.Config, st State, ds []Decision) State {
	st = st.Clone()
	if st.Rings == nil {
		st.Rings = map[string]*RingState{}
	}
	for _, d := range ds {
		rs := st.Rings[d.Ring]
		if rs == nil && d.Kind != Dropped {
			rs = &RingState{}
			st.Rings[d.Ring] = rs
		}
		var detailType string
		switch d.Kind {
		case Promote, StartCycle:
			to := *d.To
			rs.Set, rs.PromotedAt, rs.PromotedBy, rs.Reason, rs.Figures, rs.Hold = &to, d.At, d.By, d.Reason, d.Figures, nil
			detailType = map[Kind]string{Promote: DetailPromoted, StartCycle: DetailCycleStart}[d.Kind]
		case HoldKind:
			if rs.Hold != nil && rs.Hold.Reason == d.Reason && rs.Hold.Manual == d.Manual {
				continue
			}
			rs.Hold = &Hold{Reason: d.Reason, By: d.By, Since: d.At, Manual: d.Manual}
			detailType = DetailHeld
		case Unchanged:
			if rs.Hold != nil && !rs.Hold.Manual {
				rs.Hold = nil
			}
			continue
		case Dropped:
			delete(st.Rings, d.Ring)
		}
		st.History = append(st.History, d)
		if detailType == "" {
			continue
		}
		detail := EventDetail{Ring: d.Ring, Kind: d.Kind, From: d.From, To: d.To, Figures: d.Figures, Reason: d.Reason, By: d.By, At: d.At, Manual: d.Manual}
		if r, ok := cfg.Ring(d.Ring); ok && r.Promotion != nil {
			g := r.Promotion.Gate
			detail.Follows, detail.Gate = r.Promotion.Follows, &g
		}
		detail.ID = fmt.Sprintf("%s/%s/%s", d.Ring, d.Kind, d.At.UTC().Format("20060102T150405.000000000Z"))
		st.Unpublished = append(st.Unpublished, Event{ID: detail.ID, DetailType: detailType, Detail: detail})
	}
	if n := len(st.History) - MaxHistory; n > 0 {
		st.History = slices.Delete(st.History, 0, n)
	}
	// Events that cannot be published for a long time are bounded too:
	// the oldest go first, and stay in the history.
	if n := len(st.Unpublished) - maxUnpublished; n > 0 {
		st.Unpublished = slices.Delete(st.Unpublished, 0, n)
	}
	return st
}

// Pin is the configuration every converging path applies: cfg with each
// promoted following ring's baselines pinned to its set
// (config.PinRing). The first ring of a chain is not pinned (it keeps its
// delay), nor is a following ring before its first promotion. It is an
// error, and nothing is pinned, when the state holds a set a baseline
// cannot take (a bad cut-off, more than 50 listed patches).
func Pin(cfg config.Config, st State) (config.Config, error) {
	for _, r := range cfg.Rings {
		set := st.ring(r.Name).set()
		if r.Promotion == nil || set == nil {
			continue
		}
		var err error
		if cfg, err = cfg.PinRing(r.Name, set.Cutoff, set.Patches); err != nil {
			return config.Config{}, fmt.Errorf("promotion state: %w", err)
		}
	}
	return cfg, nil
}
