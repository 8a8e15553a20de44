package promotion

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/orgpatch/orgpatch/internal/config"
)

// timeLayout is how the rings' table writes a time.
const timeLayout = "2006-01-02 15:04 UTC"

// WriteText writes views as `orgpatch rings` shows them to a person: per
// ring its place in the chain and its gate, its set and who gave it, when
// and why, its hold, the gate's figures now and what the next scheduled
// run will do.
func WriteText(w io.Writer, cfg config.Config, views []RingView) error {
	b := bufio.NewWriter(w)
	if len(views) == 0 {
		fmt.Fprintln(b, "The configuration has no rings: every account approves by the baselines' configured delays.")
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(b)
		}
		r, _ := cfg.Ring(v.Ring)
		fmt.Fprintf(b, "%s  %s\n", v.Ring, place(cfg, r))
		if r.Promotion == nil && cfg.Follower(r.Name) == "" {
			fmt.Fprintf(b, "  next:  %s\n", v.Next.Reason)
			continue
		}
		switch {
		case v.Set == nil:
			fmt.Fprintf(b, "  set:   none\n")
		default:
			fmt.Fprintf(b, "  set:   %s, given %s (%s)\n", v.Set, v.Set.ReleasedAt.UTC().Format(timeLayout), source(v.Set.Source))
			fmt.Fprintf(b, "  by:    %s\n", v.PromotedBy)
			fmt.Fprintf(b, "  why:   %s\n", v.Reason)
		}
		switch {
		case r.Promotion == nil:
		case v.Pinned:
			fmt.Fprintf(b, "  pins:  its baselines approve its set only\n")
		default:
			fmt.Fprintf(b, "  pins:  none yet: its baselines approve by their configured delay\n")
		}
		if v.Hold != nil {
			who := "the gate"
			if v.Hold.Manual {
				who = "a person (sticks until a person promotes it)"
			}
			fmt.Fprintf(b, "  hold:  since %s, by %s: %s\n", v.Hold.Since.UTC().Format(timeLayout), who, v.Hold.Reason)
		}
		if f := v.Next.Figures; f != nil {
			fmt.Fprintf(b, "  gate now: %s\n", figures(*f))
		}
		fmt.Fprintf(b, "  next:  %s: %s\n", v.Next.Kind, v.Next.Reason)
	}
	return b.Flush()
}

// place says where r sits in its chain, and its gate.
func place(cfg config.Config, r config.Ring) string {
	var parts []string
	if p := r.Promotion; p != nil {
		g := p.Gate
		minI, maxF, maxS := g.Thresholds()
		gate := fmt.Sprintf("installed >= %s, failed <= %s, stale <= %s", num(minI), num(maxF), num(maxS))
		if len(g.Alarms) > 0 {
			gate += ", alarms " + strings.Join(g.Alarms, ", ") + " OK"
		}
		soak := "no soak"
		if p.Soak != "" && p.SoakDuration() > 0 {
			soak = "soak " + p.Soak
		}
		parts = append(parts, fmt.Sprintf("follows %s (%s; gate: %s)", p.Follows, soak, gate))
	}
	if f := cfg.Follower(r.Name); f != "" {
		parts = append(parts, "followed by "+f)
	}
	if len(parts) == 0 {
		return "(in no promotion chain)"
	}
	return "(" + strings.Join(parts, "; ") + ")"
}

// source says where a set came from.
func source(s string) string {
	switch s {
	case "cycle":
		return "its approval delay's cut-off"
	case "override":
		return "a person's cut-off"
	}
	return s + "'s set"
}

// figures are a gate's figures in one line.
func figures(f Figures) string {
	return fmt.Sprintf("%s %s installed, %s failed, %s not scanned since its set, of %d managed nodes (since %s)",
		f.Ring, pct(f.InstalledPercent), pct(f.FailedPercent), pct(f.StalePercent), f.Managed, f.Since.UTC().Format(timeLayout))
}
