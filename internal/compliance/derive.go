package compliance

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The compliance scale, most severe first (AWS's ComplianceSeverity).
const (
	SeverityCritical      = "CRITICAL"
	SeverityHigh          = "HIGH"
	SeverityMedium        = "MEDIUM"
	SeverityLow           = "LOW"
	SeverityInformational = "INFORMATIONAL"
	SeverityUnspecified   = "UNSPECIFIED"
)

// Severities are the compliance scale, most severe first.
var Severities = []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational, SeverityUnspecified}

// vendorSeverities put the vendors' severities on the compliance scale:
// Amazon Linux and Red Hat (Critical, Important, Moderate/Medium, Low),
// Microsoft (Critical, Important, Moderate, Low), Debian and Ubuntu (High,
// Medium, Low, Negligible). Anything else (None, Unspecified, empty) is
// UNSPECIFIED.
var vendorSeverities = map[string]string{
	"critical": SeverityCritical, "important": SeverityHigh, "high": SeverityHigh,
	"moderate": SeverityMedium, "medium": SeverityMedium, "low": SeverityLow,
	"negligible": SeverityInformational, "informational": SeverityInformational,
}

// effectiveSeverity is the more severe of a patch's compliance level and
// its vendor's severity: on AWS's predefined baselines the level is always
// UNSPECIFIED, and the vendor's is the only one that says anything.
func effectiveSeverity(level, vendor string) string {
	v := vendorSeverities[strings.ToLower(vendor)]
	if v == "" {
		v = SeverityUnspecified
	}
	if rank(level) < rank(v) {
		return level
	}
	return v
}

// security reports whether a patch comes from a security advisory: its
// classification says so (Security on Linux, SecurityUpdates on Windows)
// or it fixes a CVE.
func security(p Patch) bool {
	return strings.HasPrefix(p.Classification, "Security") || len(p.CVEIds) > 0
}

// DefaultSLADays are days within which a non-compliant patch should be
// fixed, by effective severity; patches of other severities have none.
var DefaultSLADays = map[string]int{SeverityCritical: 7, SeverityHigh: 30, SeverityMedium: 90, SeverityLow: 180}

// ParseSLADays reads "critical=7,high=30": severity (any case) = days
// (1..3650); severities not named have no SLA, and "none" (or nothing)
// names none.
func ParseSLADays(s string) (map[string]int, error) {
	out := map[string]int{}
	if s = strings.TrimSpace(s); s == "" || s == "none" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		sev := strings.ToUpper(strings.TrimSpace(k))
		if !ok || !slices.Contains(Severities, sev) {
			return nil, fmt.Errorf("%q: want severity=days, the severity one of %s", part, strings.ToLower(strings.Join(Severities, ", ")))
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 3650 {
			return nil, fmt.Errorf("%q: want a whole number of days from 1 to 3650", part)
		}
		if _, dup := out[sev]; dup {
			return nil, fmt.Errorf("%q: %s is named twice", part, strings.ToLower(sev))
		}
		out[sev] = n
	}
	return out, nil
}

// FormatSLADays writes SLA days as ParseSLADays reads them, most severe
// first.
func FormatSLADays(m map[string]int) string {
	var parts []string
	for _, sev := range Severities {
		if d, ok := m[sev]; ok {
			parts = append(parts, strings.ToLower(sev)+"="+strconv.Itoa(d))
		}
	}
	return strings.Join(parts, ",")
}

const day = 24 * time.Hour

// runIDPattern is what a run id may be: it names objects and files.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidRunID reports whether id can name a run: 1 to 128 letters, digits,
// '.', '_' or '-', starting with a letter or digit.
func ValidRunID(id string) bool { return runIDPattern.MatchString(id) }

// derive fills what the report adds to a node record: the run, the
// effective severities, ages and SLA of its patches (first seen kept from
// prev, the node's record of the previous run), whether it is stale and
// its agent old.
func derive(r *Record, s Settings, runID string, now time.Time, prev *Record) {
	r.RunId, r.CaptureTime = runID, now
	if r.NodeState == Unmanaged {
		return
	}
	last := r.LastScan()
	if last.IsZero() {
		r.Stale = true
	} else {
		d := int(now.Sub(last) / day)
		r.LastScanAgeDays = &d
		r.Stale = now.Sub(last) > time.Duration(s.StaleAfterDays)*day
	}
	r.OldAgent = OlderAgent(r.AgentVersion, s.MinAgentVersion)
	var seen map[string]time.Time
	if prev != nil {
		seen = map[string]time.Time{}
		for _, p := range prev.Patches() {
			seen[p.Id] = p.FirstSeen
		}
	}
	r.Severity, r.SecurityNonCompliant, r.PastSLA, r.OldestPatchAgeDays = "", 0, 0, 0
	for _, l := range []*[]Patch{&r.MissingPatches, &r.FailedPatches, &r.PendingRebootPatches, &r.RejectedPatches} {
		*l = slices.Clone(*l) // a reused list is the previous record's
		for i := range *l {
			p := &(*l)[i]
			p.EffectiveSeverity = effectiveSeverity(p.Severity, p.PatchSeverity)
			p.FirstSeen = now
			if t, ok := seen[p.Id]; ok && !t.IsZero() && t.Before(now) {
				p.FirstSeen = t
			}
			p.AgeDays = int(now.Sub(p.FirstSeen) / day)
			p.SLADays = s.SLADays[p.EffectiveSeverity]
			p.PastSLA = p.SLADays > 0 && p.AgeDays > p.SLADays
			if p.PastSLA {
				r.PastSLA++
			}
			if security(*p) {
				r.SecurityNonCompliant++
			}
			r.OldestPatchAgeDays = max(r.OldestPatchAgeDays, p.AgeDays)
			if r.Severity == "" || rank(p.EffectiveSeverity) < rank(r.Severity) {
				r.Severity = p.EffectiveSeverity
			}
		}
	}
	if r.Status == NonCompliant && r.Severity == "" {
		r.Severity = SeverityUnspecified // non-compliant, but no item said which patch
	}
}

// slaCopy returns a copy of m, so Settings never share a map with their
// caller.
func slaCopy(m map[string]int) map[string]int {
	if m == nil {
		return maps.Clone(DefaultSLADays)
	}
	return maps.Clone(m)
}
