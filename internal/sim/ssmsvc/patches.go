package ssmsvc

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// The patch reads: the catalog (DescribeAvailablePatches) and one node's
// patches (DescribeInstancePatches).

func init() {
	handlers["DescribeAvailablePatches"] = op((*Service).describeAvailablePatches)
	handlers["DescribeInstancePatches"] = op((*Service).describeInstancePatches)
}

type patchesInput struct {
	InstanceId string        `json:"InstanceId"`
	Filters    []PatchFilter `json:"Filters"`
	MaxResults *int32        `json:"MaxResults"`
	NextToken  string        `json:"NextToken"`
}

// availableKeys are DescribeAvailablePatches' filter keys, as its API
// Reference lists them for Windows Server and for Linux; linuxOnly are the
// Linux ones, which need a PRODUCT filter beside them.
var (
	availableKeys = map[string]func(nodes.Release) []string{
		"PATCH_SET":      func(nodes.Release) []string { return []string{"OS"} },
		"PRODUCT":        func(r nodes.Release) []string { return []string{r.Product} },
		"PRODUCT_FAMILY": func(r nodes.Release) []string { return []string{r.ProductFamily} },
		"MSRC_SEVERITY":  func(r nodes.Release) []string { return windowsOnly(r, r.Severity) },
		"CLASSIFICATION": func(r nodes.Release) []string { return []string{r.Classification} },
		"PATCH_ID":       func(r nodes.Release) []string { return windowsOnly(r, r.ID) },
		"NAME":           func(r nodes.Release) []string { return []string{r.Name} },
		"SEVERITY":       func(r nodes.Release) []string { return []string{r.Severity} },
		"EPOCH":          func(r nodes.Release) []string { return []string{"0"} },
		"VERSION":        func(r nodes.Release) []string { return []string{r.Version} },
		"RELEASE":        func(r nodes.Release) []string { return []string{r.ReleaseLabel} },
		"ARCH":           func(r nodes.Release) []string { return []string{r.Arch} },
		"REPOSITORY":     func(r nodes.Release) []string { return []string{r.Repository} },
		"ADVISORY_ID":    func(r nodes.Release) []string { return []string{r.AdvisoryID} },
		"CVE_ID":         func(r nodes.Release) []string { return r.CVEIds },
		"BUGZILLA_ID":    func(nodes.Release) []string { return nil },
	}
	linuxOnly = []string{"NAME", "SEVERITY", "EPOCH", "VERSION", "RELEASE", "ARCH", "REPOSITORY", "ADVISORY_ID", "CVE_ID", "BUGZILLA_ID"}
)

func windowsOnly(r nodes.Release, v string) []string {
	if r.OS != "WINDOWS" {
		return nil
	}
	return []string{v}
}

type availablePatch struct {
	Id             string   `json:"Id,omitempty"`
	ReleaseDate    *epoch   `json:"ReleaseDate"`
	Title          string   `json:"Title"`
	Description    string   `json:"Description,omitempty"`
	ContentUrl     string   `json:"ContentUrl,omitempty"`
	Vendor         string   `json:"Vendor"`
	ProductFamily  string   `json:"ProductFamily"`
	Product        string   `json:"Product"`
	Classification string   `json:"Classification"`
	MsrcSeverity   string   `json:"MsrcSeverity,omitempty"`
	KbNumber       string   `json:"KbNumber,omitempty"`
	Language       string   `json:"Language,omitempty"`
	AdvisoryIds    []string `json:"AdvisoryIds,omitempty"`
	CVEIds         []string `json:"CVEIds,omitempty"`
	Name           string   `json:"Name,omitempty"`
	Epoch          *int32   `json:"Epoch,omitempty"`
	Version        string   `json:"Version,omitempty"`
	Release        string   `json:"Release,omitempty"`
	Arch           string   `json:"Arch,omitempty"`
	Severity       string   `json:"Severity,omitempty"`
	Repository     string   `json:"Repository,omitempty"`
}

type describeAvailablePatchesOutput struct {
	Patches   []availablePatch `json:"Patches"`
	NextToken string           `json:"NextToken,omitempty"`
}

// describeAvailablePatches lists the catalog's patches released by now,
// oldest first, 50 to a page unless MaxResults says otherwise (AWS
// documents no default). Without a PRODUCT filter it lists Windows patches
// only (the reference requires PRODUCT for Linux patches, and answers a
// Linux key without it with an error: ValidationException here, an
// assumption); Id (Windows only) is a stable identifier derived from the
// KB, distinct from it as the reference says AWS's is.
func (s *Service) describeAvailablePatches(ctx Context, in *patchesInput) (any, error) {
	hasProduct := slices.ContainsFunc(in.Filters, func(f PatchFilter) bool { return f.Key == "PRODUCT" })
	for _, f := range in.Filters {
		if _, ok := availableKeys[f.Key]; !ok {
			return nil, validation("Filter key %s is not supported; supported keys are %s.", f.Key, strings.Join(slices.Sorted(maps.Keys(availableKeys)), ", "))
		}
		if slices.Contains(linuxOnly, f.Key) && !hasProduct {
			return nil, validation("Filter key %s needs a PRODUCT filter beside it.", f.Key)
		}
	}
	var all []nodes.Release
	if s.catalog != nil {
		all = s.catalog.Released("", ctx.now())
	}
	matched := slices.DeleteFunc(all, func(r nodes.Release) bool {
		return (!hasProduct && r.OS != "WINDOWS") || !patchFiltersMatch(in.Filters, availableKeys, r)
	})
	key := func(r nodes.Release) string { return runKey(r.Released, r.ID) }
	items, next, err := listPage(matched, key, in.MaxResults, 50, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeAvailablePatchesOutput{Patches: make([]availablePatch, len(items)), NextToken: next}
	for i, r := range items {
		p := availablePatch{ReleaseDate: stamp(r.Released), Title: r.Title, ProductFamily: r.ProductFamily, Product: r.Product,
			Classification: r.Classification, CVEIds: r.CVEIds}
		if r.OS == "WINDOWS" {
			h := fnv.New64a()
			fmt.Fprint(h, r.ID)
			n := h.Sum64()
			p.Id = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", n>>32, n>>16&0xffff, n&0xffff, mix(n)>>48, mix(n)&0xffffffffffff)
			p.Vendor, p.MsrcSeverity, p.KbNumber, p.Language = "Microsoft", r.Severity, r.ID, "All"
			p.ContentUrl = "https://support.microsoft.com/en-us/kb/" + strings.TrimPrefix(r.ID, "KB")
		} else {
			zero := int32(0)
			p.Vendor, p.Name, p.Epoch, p.Version, p.Release, p.Arch = r.ProductFamily, r.Name, &zero, r.Version, r.ReleaseLabel, r.Arch
			p.Severity, p.Repository = r.Severity, r.Repository
			if r.AdvisoryID != "" {
				p.AdvisoryIds = []string{r.AdvisoryID}
			}
		}
		out.Patches[i] = p
	}
	return out, nil
}

// patchFiltersMatch reports whether, for every filter, one of the values
// fields gives item under the filter's key is among the filter's values.
func patchFiltersMatch[T any](fs []PatchFilter, fields map[string]func(T) []string, item T) bool {
	for _, f := range fs {
		if !slices.ContainsFunc(fields[f.Key](item), func(v string) bool { return slices.Contains(f.Values, v) }) {
			return false
		}
	}
	return true
}

type instancePatch struct {
	Title          string `json:"Title"`
	KBId           string `json:"KBId"`
	Classification string `json:"Classification"`
	Severity       string `json:"Severity"`
	State          string `json:"State"`
	InstalledTime  *epoch `json:"InstalledTime"`
	CVEIds         string `json:"CVEIds,omitempty"`
}

type describeInstancePatchesOutput struct {
	Patches   []instancePatch `json:"Patches"`
	NextToken string          `json:"NextToken,omitempty"`
}

// describeInstancePatches lists one managed node's patches from its last
// run, by id, 50 to a page unless MaxResults says otherwise (an
// assumption); the filter keys are Classification, KBId, Severity and
// State (as Installed, InstalledOther... or INSTALLED, ...). A node that is
// not managed here is InvalidInstanceId; one never scanned has none.
// InstalledTime, which the model requires, is the epoch for a patch not
// installed (an assumption).
func (s *Service) describeInstancePatches(ctx Context, in *patchesInput) (any, error) {
	fields := map[string]func(nodes.Patch) []string{
		"Classification": func(p nodes.Patch) []string { return []string{p.Classification} },
		"KBId":           func(p nodes.Patch) []string { return []string{p.ID} },
		"Severity":       func(p nodes.Patch) []string { return []string{p.Severity} },
		"State":          func(p nodes.Patch) []string { return []string{p.State, patchStateNames[p.State]} },
	}
	for _, f := range in.Filters {
		if _, ok := fields[f.Key]; !ok {
			return nil, apierr.BadRequest("InvalidFilter", "The filter key %s is not valid; valid keys are %s.", f.Key, strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
		}
	}
	managed := s.managed(ctx)
	i := slices.IndexFunc(managed, func(n nodes.Node) bool { return n.ID == in.InstanceId })
	if i < 0 {
		return nil, apierr.BadRequest("InvalidInstanceId", "Instance ID %s is not valid or is not a managed node.", in.InstanceId)
	}
	var ps []nodes.Patch
	if p := managed[i].Patch; p != nil {
		ps = slices.Clone(p.Patches)
	}
	ps = slices.DeleteFunc(ps, func(p nodes.Patch) bool { return !patchFiltersMatch(in.Filters, fields, p) })
	slices.SortFunc(ps, func(a, b nodes.Patch) int { return strings.Compare(a.ID, b.ID) })
	items, next, err := listPage(ps, func(p nodes.Patch) string { return p.ID }, in.MaxResults, 50, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := describeInstancePatchesOutput{Patches: make([]instancePatch, len(items)), NextToken: next}
	for j, p := range items {
		installed := p.InstalledTime
		if installed.IsZero() {
			installed = time.Unix(0, 0)
		}
		e := epoch(installed)
		out.Patches[j] = instancePatch{Title: p.Title, KBId: p.ID, Classification: p.Classification, Severity: p.Severity,
			State: p.State, InstalledTime: &e, CVEIds: p.CVEIds}
	}
	return out, nil
}
