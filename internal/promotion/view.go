package promotion

import (
	"time"

	"github.com/orgpatch/orgpatch/internal/config"
)

// RingView is one ring as `orgpatch rings` shows it: its set now, who
// gave it and why, its hold, whether its baselines are pinned to the set,
// and what the next scheduled run will do (Next, with the gate's figures
// as measured now).
type RingView struct {
	Ring       string    `json:"ring"`
	Follows    string    `json:"follows,omitempty"`
	Set        *Set      `json:"set,omitempty"`
	PromotedAt time.Time `json:"promotedAt,omitzero"`
	PromotedBy string    `json:"promotedBy,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Hold       *Hold     `json:"hold,omitempty"`
	Pinned     bool      `json:"pinned"`
	Next       Decision  `json:"next"`
}

// View describes every ring of cfg, in order. A ring in no chain says so:
// it approves by its configured delay.
func View(cfg config.Config, st State, in Inputs) []RingView {
	next := map[string]Decision{}
	for _, d := range Decide(cfg, st, in) {
		next[d.Ring] = d
	}
	out := make([]RingView, 0, len(cfg.Rings))
	for _, r := range cfg.Rings {
		v := RingView{Ring: r.Name}
		if rs := st.ring(r.Name); rs != nil {
			v.Set, v.PromotedAt, v.PromotedBy, v.Reason, v.Hold = rs.Set, rs.PromotedAt, rs.PromotedBy, rs.Reason, rs.Hold
		}
		if r.Promotion != nil {
			v.Follows, v.Pinned = r.Promotion.Follows, v.Set != nil
		}
		d, ok := next[r.Name]
		if !ok {
			d = Decision{Ring: r.Name, Kind: Unchanged, At: in.Now, By: in.By,
				Reason: r.Name + " is in no promotion chain: it approves by its configured delay"}
		}
		v.Next = d
		out = append(out, v)
	}
	return out
}

// Next is the configuration the next scheduled run will converge to: cfg
// pinned to the state its decisions leave (what `plan` compares with the
// accounts' baselines).
func Next(cfg config.Config, st State, in Inputs) (config.Config, error) {
	return Pin(cfg, Apply(cfg, st, Decide(cfg, st, in)))
}
