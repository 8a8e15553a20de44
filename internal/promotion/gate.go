package promotion

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
)

// Figures are a ring's measured patch state since its set was released:
// Managed nodes (reported or unreported, not unmanaged EC2 instances);
// Installed, those whose last patching run ended after the release with
// nothing missing or failed; Failed, those whose last run after the
// release reports a failed patch; Stale, those with no scan or install
// ended after the release. The percentages are of Managed.
//
// Installed takes a Scan as well as an Install: a node keeps only its last
// run's state, so an Install followed by the scan window shows as a Scan,
// and a scan after the release that finds nothing missing or failed shows
// the set installed as surely as the install did.
type Figures struct {
	Ring             string    `json:"ring"`
	Since            time.Time `json:"since"`
	Managed          int       `json:"managed"`
	Installed        int       `json:"installed"`
	Failed           int       `json:"failed"`
	Stale            int       `json:"stale"`
	InstalledPercent float64   `json:"installedPercent"`
	FailedPercent    float64   `json:"failedPercent"`
	StalePercent     float64   `json:"stalePercent"`
}

// Measure computes ring's figures from the compliance collection's node
// records. A record counts for the ring it names, which is the account's
// ring when the records were collected: an account that moved between
// rings during a soak counts for the ring it is in now.
func Measure(nodes []compliance.Record, ring string, since time.Time) Figures {
	f := Figures{Ring: ring, Since: since}
	for i := range nodes {
		r := &nodes[i]
		if r.RecordType != compliance.NodeRecord || r.Ring != ring || r.NodeState == compliance.Unmanaged {
			continue
		}
		f.Managed++
		if !r.LastScan().After(since) {
			f.Stale++
		}
		ps := r.PatchState
		if ps == nil || !ps.OperationEndTime.After(since) {
			continue
		}
		switch {
		case ps.FailedCount > 0 || len(r.FailedPatches) > 0:
			f.Failed++
		case ps.MissingCount == 0 && len(r.MissingPatches) == 0:
			f.Installed++
		}
	}
	if f.Managed > 0 {
		pct := func(n int) float64 { return float64(n) * 100 / float64(f.Managed) }
		f.InstalledPercent, f.FailedPercent, f.StalePercent = pct(f.Installed), pct(f.Failed), pct(f.Stale)
	}
	return f
}

// Alarm states as CloudWatch reports them (StateValue).
const (
	AlarmOK               = "OK"
	AlarmAlarm            = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// Gate evaluates ring's promotion gate on the earlier ring's figures, the
// alarms' states by name (a name absent from alarms does not exist) and
// the time since the earlier ring's set was released. It returns "" when
// the gate holds, else every reason it does not, in the form `orgpatch
// rings` prints: "prod waits: dev 91.0% installed < 95%". Exactly at a
// threshold holds; no managed nodes never holds.
func Gate(ring string, p config.Promotion, f Figures, alarms map[string]string, now time.Time) string {
	var why []string
	minInstalled, maxFailed, maxStale := p.Gate.Thresholds()
	earlier := p.Follows
	if f.Managed == 0 {
		why = append(why, earlier+" has no managed nodes: nothing was tested")
	} else {
		if f.InstalledPercent < minInstalled {
			why = append(why, fmt.Sprintf("%s %s installed < %s", earlier, pct(f.InstalledPercent), num(minInstalled)))
		}
		if f.FailedPercent > maxFailed {
			why = append(why, fmt.Sprintf("%s %s failed > %s", earlier, pct(f.FailedPercent), num(maxFailed)))
		}
		if f.StalePercent > maxStale {
			why = append(why, fmt.Sprintf("%s %s not scanned since its set > %s", earlier, pct(f.StalePercent), num(maxStale)))
		}
	}
	for _, a := range p.Gate.Alarms {
		switch s, ok := alarms[a]; {
		case !ok:
			why = append(why, "alarm "+a+" does not exist")
		case s != AlarmOK:
			why = append(why, "alarm "+a+" is "+s)
		}
	}
	// The soak's end, not the time left: the reason stays the same from
	// run to run, so it is one hold event, not one per run.
	if end := f.Since.Add(p.SoakDuration()); now.Before(end) {
		why = append(why, fmt.Sprintf("%s's soak ends %s", earlier, end.UTC().Format("2006-01-02 15:04 UTC")))
	}
	if len(why) == 0 {
		return ""
	}
	return ring + " waits: " + strings.Join(why, "; ")
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" }
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }
func itoa(n int) string    { return strconv.Itoa(n) }

// gateAlarms are the alarm names every gate of cfg reads, sorted.
func gateAlarms(cfg config.Config) []string {
	var names []string
	for _, r := range cfg.Rings {
		if r.Promotion != nil {
			names = append(names, r.Promotion.Gate.Alarms...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
