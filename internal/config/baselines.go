package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Baseline is one patch baseline every account x region of its ring holds:
// which patches are approved for one operating system, and where it is
// used: as that operating system's default baseline, and/or for the named
// patch groups (instances tagged "Patch Group" or "PatchGroup"). Its Name
// identifies it: a baseline whose name leaves the list is deleted.
type Baseline struct {
	Name            string `json:"name"`
	Description     string `json:"description,omitempty"`
	OperatingSystem string `json:"operatingSystem"`
	// ApprovalRules approve the patches their filters select, some days
	// after release or up to a date.
	ApprovalRules []ApprovalRule `json:"approvalRules,omitempty"`
	// GlobalFilters select the patches the baseline considers at all.
	GlobalFilters []PatchFilter `json:"globalFilters,omitempty"`
	// ApprovedPatches and RejectedPatches name patches explicitly.
	ApprovedPatches                  []string `json:"approvedPatches,omitempty"`
	ApprovedPatchesComplianceLevel   string   `json:"approvedPatchesComplianceLevel,omitempty"`
	ApprovedPatchesEnableNonSecurity bool     `json:"approvedPatchesEnableNonSecurity,omitempty"`
	RejectedPatches                  []string `json:"rejectedPatches,omitempty"`
	// RejectedPatchesAction is ALLOW_AS_DEPENDENCY (AWS's default) or BLOCK.
	RejectedPatchesAction string `json:"rejectedPatchesAction,omitempty"`
	// Sources are alternative repositories a Linux baseline patches from.
	// None unless listed: a source added outside orgpatch is drift, and
	// removed.
	Sources []PatchSource `json:"sources,omitempty"`
	// AvailableSecurityUpdatesComplianceStatus (Windows) is how nodes
	// missing a security update that the baseline does not approve
	// report: COMPLIANT or NON_COMPLIANT; unset is AWS's default (none),
	// and a value set outside orgpatch is drift, and cleared.
	AvailableSecurityUpdatesComplianceStatus string `json:"availableSecurityUpdatesComplianceStatus,omitempty"`

	// Default registers the baseline as its operating system's default.
	Default bool `json:"default,omitempty"`
	// PatchGroups registers the baseline for these patch groups.
	PatchGroups []string `json:"patchGroups,omitempty"`

	// PromotionPin is how a promoted ring pins this baseline to the set
	// it was promoted (promotion.go): PinApproveUntilDate (the default,
	// when empty) or PinApprovedPatches.
	PromotionPin string `json:"promotionPin,omitempty"`
}

// ApprovalRule is one rule of a baseline: exactly one of ApproveAfterDays
// (0-360) and ApproveUntilDate (YYYY-MM-DD) is set.
type ApprovalRule struct {
	Filters           []PatchFilter `json:"filters"`
	ComplianceLevel   string        `json:"complianceLevel,omitempty"`
	ApproveAfterDays  *int32        `json:"approveAfterDays,omitempty"`
	ApproveUntilDate  string        `json:"approveUntilDate,omitempty"`
	EnableNonSecurity bool          `json:"enableNonSecurity,omitempty"`
}

// PatchSource is an alternative patch repository of a Linux baseline:
// Configuration is the repository's configuration (a yum .repo section, a
// sources.list line), for the Products (operating system versions) named.
type PatchSource struct {
	Name          string   `json:"name"`
	Products      []string `json:"products"`
	Configuration string   `json:"configuration"`
}

// PatchFilter selects patches by one property (Key) having one of Values.
type PatchFilter struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// ComplianceUnspecified and AllowAsDependency are what AWS assumes for a
// baseline's compliance levels and rejected-patches action left unset.
const (
	ComplianceUnspecified = "UNSPECIFIED"
	AllowAsDependency     = "ALLOW_AS_DEPENDENCY"
)

// Limits of the SSM API's patch baseline shapes and Patch Manager's quotas.
const (
	maxBaselines            = 50 // patch baselines per account per Region
	maxPatchGroups          = 25 // patch groups per patch baseline
	maxBaselineDescription  = 1024
	maxApprovalRules        = 10
	maxPatchFilters         = 4
	maxPatchFilterValues    = 20
	maxPatchFilterValueLen  = 64
	maxPatchIDs             = 50
	maxPatchIDLen           = 100
	maxApproveAfterDays     = 360
	maxPatchGroupNameLength = 256
	maxSources              = 20 // PatchSourceList
	maxSourceProducts       = 20 // PatchSourceProductList
	maxSourceProductLen     = 128
	maxSourceConfiguration  = 1024
)

var (
	// OperatingSystems are the SSM model's OperatingSystem enum.
	OperatingSystems = []string{"WINDOWS", "AMAZON_LINUX", "AMAZON_LINUX_2", "AMAZON_LINUX_2022", "UBUNTU",
		"REDHAT_ENTERPRISE_LINUX", "SUSE", "CENTOS", "ORACLE_LINUX", "DEBIAN", "MACOS", "RASPBIAN",
		"ROCKY_LINUX", "ALMA_LINUX", "AMAZON_LINUX_2023"}
	complianceLevels = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", ComplianceUnspecified}
	patchActions     = []string{AllowAsDependency, "BLOCK"}
	// ssm PatchComplianceStatus.
	complianceStatuses = []string{"COMPLIANT", "NON_COMPLIANT"}

	// ssm BaselineName and PatchGroup.
	baselineNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`)
	patchGroupPattern   = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	// ssm PatchSourceName.
	sourceNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,50}$`)
)

// filterKeys are the patch filter keys each operating system takes in a
// baseline's global filters and approval rules, as the SSM API Reference
// lists them (PatchFilter, DescribePatchProperties). The simulator holds
// the same table: it answers AWS's ValidationException for any other key.
var filterKeys = func() map[string][]string {
	linux := []string{"CLASSIFICATION", "PRODUCT", "SEVERITY"}
	debian := []string{"PRIORITY", "PRODUCT", "SECTION"}
	return map[string][]string{
		"WINDOWS": {"CLASSIFICATION", "MSRC_SEVERITY", "PATCH_SET", "PRODUCT", "PRODUCT_FAMILY"},
		"MACOS":   {"CLASSIFICATION", "PRODUCT"},
		"UBUNTU":  debian, "DEBIAN": debian, "RASPBIAN": debian,
		"AMAZON_LINUX": linux, "AMAZON_LINUX_2": linux, "AMAZON_LINUX_2022": linux, "AMAZON_LINUX_2023": linux,
		"REDHAT_ENTERPRISE_LINUX": linux, "SUSE": linux, "CENTOS": linux, "ORACLE_LINUX": linux,
		"ROCKY_LINUX": linux, "ALMA_LINUX": linux,
	}
}()

// BaselineNames are the names of the baselines, in order.
func BaselineNames(bs []Baseline) []string {
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.Name
	}
	return names
}

// validateBaselines checks a list of baselines (the configuration's own, or
// one ring's): each baseline, unique names, one default per operating
// system, a patch group used by at most one baseline per operating system,
// and the quota of baselines per account and Region.
func validateBaselines(p *problems, prefix string, bs []Baseline) {
	if len(bs) > maxBaselines {
		p.add(prefix, "", "has %d baselines; an account holds at most %d per Region", len(bs), maxBaselines)
	}
	names := uniqueNames{}
	defaults := map[string]int{}
	groups := map[[2]string]int{}
	for i, b := range bs {
		at := fmt.Sprintf("%s[%d]", prefix, i)
		b.validate(p, at)
		names.add(p, prefix, i, b.Name, "baseline")
		if b.Default {
			if j, dup := defaults[b.OperatingSystem]; dup {
				p.add(at+".default", "true", "%s[%d] is already the default for %s; one default per operating system", prefix, j, b.OperatingSystem)
			} else {
				defaults[b.OperatingSystem] = i
			}
		}
		for k, g := range b.PatchGroups {
			key := [2]string{g, b.OperatingSystem}
			if j, dup := groups[key]; dup && j != i {
				p.add(fmt.Sprintf("%s.patchGroups[%d]", at, k), g, "is also registered with %s[%d] for %s; a patch group has one baseline per operating system", prefix, j, b.OperatingSystem)
			} else {
				groups[key] = i
			}
		}
	}
}

func (b Baseline) validate(p *problems, prefix string) {
	switch {
	case b.Name == "":
		p.add(prefix+".name", "", "is required: 3-128 letters, digits, _ - or .")
	case !baselineNamePattern.MatchString(b.Name):
		p.add(prefix+".name", b.Name, "is not 3-128 letters, digits, _ - or .")
	}
	if n := utf8.RuneCountInString(b.Description); n > maxBaselineDescription {
		p.add(prefix+".description", b.Description, "is %d characters long; at most %d are allowed", n, maxBaselineDescription)
	}
	known := slices.Contains(OperatingSystems, b.OperatingSystem)
	if !known {
		p.add(prefix+".operatingSystem", b.OperatingSystem, "is not one of %s", strings.Join(OperatingSystems, ", "))
	}
	checkFilters := func(field string, fs []PatchFilter) {
		if len(fs) > maxPatchFilters {
			p.add(field, "", "has %d filters; at most %d are allowed", len(fs), maxPatchFilters)
		}
		seen := map[string]int{}
		for i, f := range fs {
			at := fmt.Sprintf("%s[%d]", field, i)
			keys := filterKeys[b.OperatingSystem]
			switch j, dup := seen[f.Key]; {
			case dup:
				p.add(at+".key", f.Key, "repeats %s[%d].key; a filter group names each key once", field, j)
			case known && !slices.Contains(keys, f.Key):
				p.add(at+".key", f.Key, "is not a filter key %s takes; it takes %s", b.OperatingSystem, strings.Join(keys, ", "))
			}
			seen[f.Key] = i
			switch {
			case len(f.Values) == 0:
				p.add(at+".values", "", "is required: 1-%d values, or [\"*\"] for all", maxPatchFilterValues)
			case len(f.Values) > maxPatchFilterValues:
				p.add(at+".values", "", "has %d values; at most %d are allowed", len(f.Values), maxPatchFilterValues)
			}
			for k, v := range f.Values {
				if n := utf8.RuneCountInString(v); n < 1 || n > maxPatchFilterValueLen {
					p.add(fmt.Sprintf("%s.values[%d]", at, k), v, "is %d characters long; 1-%d are allowed", n, maxPatchFilterValueLen)
				}
			}
		}
	}
	checkFilters(prefix+".globalFilters", b.GlobalFilters)
	if len(b.ApprovalRules) > maxApprovalRules {
		p.add(prefix+".approvalRules", "", "has %d rules; at most %d are allowed", len(b.ApprovalRules), maxApprovalRules)
	}
	for i, r := range b.ApprovalRules {
		at := fmt.Sprintf("%s.approvalRules[%d]", prefix, i)
		checkFilters(at+".filters", r.Filters)
		checkEnum(p, at+".complianceLevel", r.ComplianceLevel, complianceLevels)
		switch {
		case r.ApproveAfterDays != nil && r.ApproveUntilDate != "":
			p.add(at, "", "sets both approveAfterDays and approveUntilDate; set one")
		case r.ApproveAfterDays == nil && r.ApproveUntilDate == "":
			p.add(at, "", "needs approveAfterDays (0-%d) or approveUntilDate (YYYY-MM-DD)", maxApproveAfterDays)
		case r.ApproveAfterDays != nil:
			if d := *r.ApproveAfterDays; d < 0 || d > maxApproveAfterDays {
				p.add(at+".approveAfterDays", strconv.Itoa(int(d)), "is not one of 0-%d (days)", maxApproveAfterDays)
			}
		default:
			if _, err := time.Parse(time.DateOnly, r.ApproveUntilDate); err != nil || len(r.ApproveUntilDate) != len(time.DateOnly) {
				p.add(at+".approveUntilDate", r.ApproveUntilDate, "is not a date like 2026-12-31 (YYYY-MM-DD)")
			}
		}
	}
	checkPatchIDs(p, prefix+".approvedPatches", b.ApprovedPatches)
	checkPatchIDs(p, prefix+".rejectedPatches", b.RejectedPatches)
	checkEnum(p, prefix+".approvedPatchesComplianceLevel", b.ApprovedPatchesComplianceLevel, complianceLevels)
	checkEnum(p, prefix+".rejectedPatchesAction", b.RejectedPatchesAction, patchActions)
	checkEnum(p, prefix+".availableSecurityUpdatesComplianceStatus", b.AvailableSecurityUpdatesComplianceStatus, complianceStatuses)
	if b.AvailableSecurityUpdatesComplianceStatus != "" && known && b.OperatingSystem != "WINDOWS" {
		p.add(prefix+".availableSecurityUpdatesComplianceStatus", b.AvailableSecurityUpdatesComplianceStatus, "applies to WINDOWS baselines only, not %s", b.OperatingSystem)
	}
	b.validateSources(p, prefix+".sources", known)
	checkEnum(p, prefix+".promotionPin", b.PromotionPin, promotionPins)
	if len(b.PatchGroups) > maxPatchGroups {
		p.add(prefix+".patchGroups", "", "has %d patch groups; a baseline takes at most %d", len(b.PatchGroups), maxPatchGroups)
	}
	checkList(p, prefix+".patchGroups", b.PatchGroups, func(field, g string) {
		if n := utf8.RuneCountInString(g); n > maxPatchGroupNameLength || !patchGroupPattern.MatchString(g) {
			p.add(field, g, "is not a patch group name: 1-%d letters, digits, spaces and _ . : / = + - @", maxPatchGroupNameLength)
		}
	})
}

func checkPatchIDs(p *problems, field string, ids []string) {
	if len(ids) > maxPatchIDs {
		p.add(field, "", "has %d patches; at most %d are allowed", len(ids), maxPatchIDs)
	}
	checkList(p, field, ids, func(field, id string) {
		if n := utf8.RuneCountInString(id); n > maxPatchIDLen {
			p.add(field, id, "is %d characters long; at most %d are allowed", n, maxPatchIDLen)
		}
	})
}

// checkEnum checks an optional enum field.
func checkEnum(p *problems, field, value string, allowed []string) {
	if value != "" && !slices.Contains(allowed, value) {
		p.add(field, value, "is not one of %s", strings.Join(allowed, ", "))
	}
}

// DefaultOperatingSystems lists, sorted, the operating systems bs registers
// a default baseline for.
func DefaultOperatingSystems(bs []Baseline) []string {
	set := map[string]bool{}
	for _, b := range bs {
		if b.Default {
			set[b.OperatingSystem] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// validateSources checks the alternative repositories against the SSM
// model's PatchSource shape. AWS documents Sources as applying to Linux
// nodes only but names no error for a Windows or macOS baseline carrying
// them; refusing them here is an assumption that saves a silent no-op.
func (b Baseline) validateSources(p *problems, field string, knownOS bool) {
	if len(b.Sources) > 0 && knownOS && (b.OperatingSystem == "WINDOWS" || b.OperatingSystem == "MACOS") {
		p.add(field, "", "applies to Linux baselines only, not %s", b.OperatingSystem)
	}
	if len(b.Sources) > maxSources {
		p.add(field, "", "has %d sources; at most %d are allowed", len(b.Sources), maxSources)
	}
	seen := map[string]int{}
	for i, src := range b.Sources {
		at := fmt.Sprintf("%s[%d]", field, i)
		if !sourceNamePattern.MatchString(src.Name) {
			p.add(at+".name", src.Name, "is not 3-50 letters, digits, _ - or .")
		} else if j, dup := seen[src.Name]; dup {
			p.add(at+".name", src.Name, "repeats %s[%d].name; each source has its own name", field, j)
		}
		seen[src.Name] = i
		if n := len(src.Products); n < 1 || n > maxSourceProducts {
			p.add(at+".products", "", "has %d products; 1-%d are allowed", n, maxSourceProducts)
		}
		for k, prod := range src.Products {
			if n := utf8.RuneCountInString(prod); n < 1 || n > maxSourceProductLen {
				p.add(fmt.Sprintf("%s.products[%d]", at, k), prod, "is %d characters long; 1-%d are allowed", n, maxSourceProductLen)
			}
		}
		if n := utf8.RuneCountInString(src.Configuration); n < 1 || n > maxSourceConfiguration {
			p.add(at+".configuration", "", "is %d characters long; 1-%d are allowed", n, maxSourceConfiguration)
		}
	}
}
