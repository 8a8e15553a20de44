package ssmsvc

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// The patching engine: which baseline a node is patched with, which of the
// catalog's patches that baseline approves at a time, and what a Scan or an
// Install of AWS-RunPatchBaseline leaves on the node.

// predefinedRules are the approval rules of AWS's predefined default
// baselines, as the Patch Manager guide ("Predefined baselines") describes
// them: Windows approves critical and security updates of MSRC severity
// Critical or Important 7 days after release; the Amazon Linux, Red Hat and
// other RPM baselines approve security updates of severity Critical or
// Important and bug fixes 7 days after release; Ubuntu and Debian approve
// every package of priority Required, Important, Standard, Optional or
// Extra at once (their repositories carry no release dates). The engine
// uses them for predefined baselines; GetPatchBaseline does not answer them
// (the simulator's predefined baselines keep their empty rules there).
func predefinedRules(os string) *PatchRuleGroup {
	days := func(n int32) *int32 { return &n }
	rule := func(d int32, fs ...PatchFilter) PatchRule {
		return PatchRule{PatchFilterGroup: PatchFilterGroup{PatchFilters: fs}, ApproveAfterDays: days(d), ComplianceLevel: defaultComplianceLevel}
	}
	switch os {
	case "WINDOWS":
		return &PatchRuleGroup{PatchRules: []PatchRule{rule(7,
			PatchFilter{Key: "CLASSIFICATION", Values: []string{"CriticalUpdates", "SecurityUpdates"}},
			PatchFilter{Key: "MSRC_SEVERITY", Values: []string{"Critical", "Important"}})}}
	case "UBUNTU", "DEBIAN", "RASPBIAN":
		return &PatchRuleGroup{PatchRules: []PatchRule{rule(0,
			PatchFilter{Key: "PRIORITY", Values: []string{"Required", "Important", "Standard", "Optional", "Extra"}})}}
	case "MACOS":
		return &PatchRuleGroup{PatchRules: []PatchRule{rule(7, PatchFilter{Key: "CLASSIFICATION", Values: []string{"*"}})}}
	}
	return &PatchRuleGroup{PatchRules: []PatchRule{
		rule(7, PatchFilter{Key: "CLASSIFICATION", Values: []string{"Security"}}, PatchFilter{Key: "SEVERITY", Values: []string{"Critical", "Important"}}),
		rule(7, PatchFilter{Key: "CLASSIFICATION", Values: []string{"Bugfix"}}),
	}}
}

// property is a release's value for a patch filter key.
func property(r nodes.Release, key string) string {
	switch key {
	case "PRODUCT":
		return r.Product
	case "PRODUCT_FAMILY":
		return r.ProductFamily
	case "CLASSIFICATION":
		return r.Classification
	case "MSRC_SEVERITY", "SEVERITY":
		return r.Severity
	case "PRIORITY":
		return r.Priority
	case "SECTION":
		return r.Section
	case "PATCH_SET":
		// The catalog holds operating system updates only.
		return "OS"
	}
	return ""
}

// filtersMatch reports whether every filter of the group selects r; a
// value may use * wildcards ("*" selects everything, as in AWS's rules).
func filtersMatch(g *PatchFilterGroup, r nodes.Release) bool {
	if g == nil {
		return true
	}
	for _, f := range g.PatchFilters {
		v := property(r, f.Key)
		if !slices.ContainsFunc(f.Values, func(want string) bool {
			ok, err := path.Match(want, v)
			return (err == nil && ok) || strings.EqualFold(want, v)
		}) {
			return false
		}
	}
	return true
}

// listed reports whether a patch list (ApprovedPatches, RejectedPatches)
// names r: by its id, or, for a package, by its name; entries may use *
// wildcards, as the Patch Manager guide's package name formats allow.
func listed(list []string, r nodes.Release) bool {
	return slices.ContainsFunc(list, func(entry string) bool {
		if entry == r.ID || (r.Name != "" && entry == r.Name) {
			return true
		}
		ok, err := path.Match(entry, r.ID)
		return err == nil && ok
	})
}

// Approval decides whether baseline b approves release r at time at, and
// the compliance level a missing approved patch is reported with:
//   - a patch in RejectedPatches is never approved;
//   - one in ApprovedPatches is, at ApprovedPatchesComplianceLevel;
//   - otherwise the baseline's global filters must select it and the first
//     approval rule whose filters select it must have come due: released
//     at least ApproveAfterDays days before at, or on or before
//     ApproveUntilDate (a date, compared with the release's UTC date); the
//     level is that rule's ComplianceLevel (UNSPECIFIED when unset).
func Approval(b *Baseline, r nodes.Release, at time.Time) (approved bool, level string) {
	if listed(b.RejectedPatches, r) {
		return false, ""
	}
	if listed(b.ApprovedPatches, r) {
		return true, orUnspecified(b.ApprovedPatchesComplianceLevel)
	}
	if !filtersMatch(b.GlobalFilters, r) {
		return false, ""
	}
	rules := b.ApprovalRules
	if b.Predefined && rules == nil {
		rules = predefinedRules(b.OperatingSystem)
	}
	if rules == nil {
		return false, ""
	}
	for _, rule := range rules.PatchRules {
		if !filtersMatch(&rule.PatchFilterGroup, r) {
			continue
		}
		due := false
		switch {
		case rule.ApproveAfterDays != nil:
			due = !r.Released.AddDate(0, 0, int(*rule.ApproveAfterDays)).After(at)
		case rule.ApproveUntilDate != "":
			due = r.Released.UTC().Format(time.DateOnly) <= rule.ApproveUntilDate
		}
		if due {
			return true, orUnspecified(rule.ComplianceLevel)
		}
	}
	return false, ""
}

func orUnspecified(level string) string {
	if level == "" {
		return nodes.Unspecified
	}
	return level
}

// patchGroupOf is a node's patch group: its "Patch Group" tag, else its
// "PatchGroup" tag (the two keys the Patch Manager guide accepts).
func patchGroupOf(n nodes.Node) string {
	if g, ok := n.Tags["Patch Group"]; ok {
		return g
	}
	return n.Tags["PatchGroup"]
}

// baselineFor returns a copy of the baseline a node of os in patch group
// is patched with in ctx's account x region: the one registered for the
// group and os, else the os's default. Callers hold st.mu.
func (st *state) baselineFor(ctx Context, os, group string) (Baseline, error) {
	id, ok := st.groups[groupKey{group, os}]
	if !ok || group == "" {
		id = st.defaultOf(ctx, os)
	}
	b, err := st.baseline(ctx, id)
	if err != nil {
		return Baseline{}, err
	}
	return b.clone(), nil
}

// patchRun is one AWS-RunPatchBaseline invocation on a node.
type patchRun struct {
	operation, reboot string // Scan or Install; RebootIfNeeded or NoReboot
	at                time.Time
	commandID, group  string
	failInstalls      bool // the injected failure: installs on this node fail
}

// apply runs r on n with baseline b over the catalog's releases for the
// node's operating system, and reports whether an install failed.
//
// What AWS documents nothing about, the simulator assumes: a node never
// scanned has installed exactly the releases out before it was launched;
// otherwise its installed set is what its last run reported installed
// (INSTALLED, INSTALLED_OTHER, INSTALLED_PENDING_REBOOT,
// INSTALLED_REJECTED). Every release of the node's operating system applies
// to it (the simulator reports no NOT_APPLICABLE patches). A run takes no
// time: it starts and ends at the window's occurrence.
func (r patchRun) apply(n *nodes.Node, b *Baseline, releases []nodes.Release) (failed bool) {
	type had struct {
		state string
		at    time.Time
	}
	installed := map[string]had{}
	var others []nodes.Patch // installed patches the catalog does not hold
	known := map[string]bool{}
	for _, rel := range releases {
		known[rel.ID] = true
	}
	if n.Patch == nil {
		for _, rel := range releases {
			if !rel.Released.After(n.Launched) {
				installed[rel.ID] = had{nodes.Installed, n.Launched}
			}
		}
	} else {
		for _, p := range n.Patch.Patches {
			if strings.HasPrefix(p.State, "INSTALLED") {
				installed[p.ID] = had{p.State, p.InstalledTime}
				if !known[p.ID] {
					p.State, p.ComplianceSeverity = nodes.InstalledOther, nodes.Unspecified
					others = append(others, p)
				}
			}
		}
	}
	var out []nodes.Patch
	for _, rel := range releases {
		approved, level := Approval(b, rel, r.at)
		p := nodes.Patch{ID: rel.ID, Title: rel.Title, Classification: rel.Classification, Severity: rel.Severity,
			ComplianceSeverity: nodes.Unspecified, CVEIds: strings.Join(rel.CVEIds, ",")}
		h, isInstalled := installed[rel.ID]
		switch {
		case isInstalled && listed(b.RejectedPatches, rel) && b.RejectedPatchesAction == "BLOCK":
			p.State, p.InstalledTime = nodes.InstalledRejected, h.at
		case isInstalled && approved:
			p.State, p.InstalledTime, p.ComplianceSeverity = nodes.Installed, h.at, level
			if h.state == nodes.InstalledPendingReboot && (r.operation != "Install" || r.reboot == "NoReboot") {
				p.State = nodes.InstalledPendingReboot
			}
		case isInstalled:
			p.State, p.InstalledTime = nodes.InstalledOther, h.at
		case !approved:
			continue // neither installed nor approved: not reported
		case r.operation != "Install":
			p.State, p.ComplianceSeverity = nodes.Missing, level
		case r.failInstalls:
			p.State, p.ComplianceSeverity = nodes.Failed, level
			failed = true
		default:
			p.State, p.InstalledTime, p.ComplianceSeverity = nodes.Installed, r.at, level
			if r.reboot == "NoReboot" {
				p.State = nodes.InstalledPendingReboot
			}
		}
		out = append(out, p)
	}
	n.Patch = &nodes.PatchState{PatchGroup: r.group, BaselineID: shortBaselineID(b.ID), Operation: r.operation,
		Started: r.at, Ended: r.at, ExecutionID: r.commandID, RebootOption: r.reboot, Patches: append(out, others...)}
	return failed
}

// shortBaselineID is the pb- id of a baseline id or ARN, as patch states
// report it.
func shortBaselineID(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}
