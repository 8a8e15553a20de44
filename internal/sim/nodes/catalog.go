package nodes

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Release is one patch a vendor released: what Systems Manager's
// DescribeAvailablePatches lists, what baselines' approval rules select and
// what AWS-RunPatchBaseline reports on a node.
type Release struct {
	// ID is the id compliance reports: a KB id for Windows, the package's
	// name.arch:epoch:version-release for Amazon Linux and Red Hat, and
	// name:version for Ubuntu. The simulator gives every release its own id
	// (AWS reports an Ubuntu package by its name alone; a later version of
	// the same package supersedes the earlier, which the simulator does not
	// model).
	ID string
	// OS is the operating system as a baseline names it (WINDOWS,
	// AMAZON_LINUX_2023, UBUNTU, ...); Product and ProductFamily as patch
	// filters and DescribeAvailablePatches name them (WindowsServer2022,
	// AmazonLinux2023, Ubuntu22.04; Windows, AmazonLinux, Ubuntu).
	OS, Product, ProductFamily string
	Name, Title                string // the package (Linux) or KB (Windows); a title
	// Classification as the vendor gives it: SecurityUpdates,
	// CriticalUpdates, Updates... (Windows); Security, Bugfix, Enhancement
	// (Linux). Severity is MSRC's (Critical, Important, Moderate, Low,
	// Unspecified) or the Linux advisory's (Critical, Important, Medium,
	// Low, None). Priority and Section are Debian and Ubuntu's.
	Classification, Severity, Priority, Section string
	Released                                    time.Time
	CVEIds                                      []string
	Version, ReleaseLabel, Arch, Repository     string // Linux packages
	AdvisoryID                                  string // ALAS..., USN-...
}

// Catalog is the patches vendors have released, by release date. It is
// safe for concurrent use.
type Catalog struct {
	mu      sync.RWMutex
	patches []Release // sorted by Released, then ID
	ids     map[string]bool
}

// NewCatalog returns a catalog holding the patches the generated machines
// report (released 20 to 60 days before epoch), so their states and the
// catalog agree, and the given releases.
func NewCatalog(epoch time.Time, rs ...Release) (*Catalog, error) {
	c := &Catalog{ids: map[string]bool{}}
	for _, p := range platforms {
		for i, patch := range p.catalogue {
			r := p.release(patch)
			r.Released = epoch.Truncate(24*time.Hour).AddDate(0, 0, -20-7*i)
			if err := c.Add(r); err != nil {
				return nil, err
			}
		}
	}
	if err := c.Add(rs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Add releases patches. An id already released, or a patch missing its id,
// operating system, product or release date, is an error and adds nothing.
func (c *Catalog) Add(rs ...Release) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for i, r := range rs {
		switch {
		case r.ID == "" || r.OS == "" || r.Product == "" || r.Released.IsZero():
			return fmt.Errorf("release %d (%q): id, os, product and released are required", i, r.ID)
		case c.ids[r.ID] || seen[r.ID]:
			return fmt.Errorf("release %d: id %q was already released", i, r.ID)
		}
		seen[r.ID] = true
	}
	for _, r := range rs {
		r.CVEIds = slices.Clone(r.CVEIds)
		c.ids[r.ID] = true
		c.patches = append(c.patches, r)
	}
	slices.SortStableFunc(c.patches, func(a, b Release) int {
		if d := a.Released.Compare(b.Released); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return nil
}

// Released returns, oldest first, the patches of os released at or before
// t (every os when os is "").
func (c *Catalog) Released(os string, t time.Time) []Release {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Release
	for _, r := range c.patches {
		if r.Released.After(t) {
			break
		}
		if os == "" || r.OS == os {
			out = append(out, r)
		}
	}
	return out
}

// Generate releases, for each operating system the generated machines run,
// perWeek patches a week from from until to, the same for the same seed:
// a mix of classifications and severities, some with CVE ids.
func (c *Catalog) Generate(seed uint64, from, to time.Time, perWeek int) error {
	var rs []Release
	for pi, p := range platforms {
		rng := rand.New(rand.NewPCG(seed, uint64(pi)))
		for week := from; week.Before(to); week = week.AddDate(0, 0, 7) {
			for k := range perWeek {
				r := p.generated(rng, seed, week, k)
				r.Released = week.Add(time.Duration(rng.IntN(7*24)) * time.Hour)
				if !r.Released.Before(to) {
					r.Released = week
				}
				rs = append(rs, r)
			}
		}
	}
	return c.Add(rs...)
}

// release is a fixed patch of the generator as a catalog entry.
func (p platform) release(patch Patch) Release {
	r := Release{ID: patch.ID, OS: p.os, Product: p.product, ProductFamily: p.family, Title: patch.Title,
		Classification: patch.Classification, Severity: patch.Severity, Name: patch.ID}
	if patch.CVEIds != "" {
		r.CVEIds = strings.Split(patch.CVEIds, ",")
	}
	if p.os == "UBUNTU" {
		r.Priority, r.Section = "Important", "utils"
	}
	return r
}

// generated makes the k-th patch of a week for the platform.
func (p platform) generated(rng *rand.Rand, seed uint64, week time.Time, k int) Release {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s/%s/%d", seed, p.os, week.Format(time.DateOnly), k)
	n := h.Sum32()
	r := Release{OS: p.os, Product: p.product, ProductFamily: p.family}
	if rng.IntN(2) == 0 {
		r.CVEIds = []string{fmt.Sprintf("CVE-%d-%05d", week.Year(), n%100000)}
	}
	switch p.os {
	case "WINDOWS":
		kb := 5050000 + n%900000
		r.ID, r.Name = fmt.Sprintf("KB%d", kb), fmt.Sprintf("KB%d", kb)
		r.Classification = []string{"SecurityUpdates", "CriticalUpdates", "Updates", "DefinitionUpdates"}[pick(rng, 50, 20, 20, 10)]
		r.Severity = []string{"Critical", "Important", "Moderate", "Low", "Unspecified"}[pick(rng, 20, 40, 20, 10, 10)]
		r.Title = fmt.Sprintf("%s %s for Microsoft server operating system version 21H2 for x64-based Systems (KB%d)", week.Format("2006-01"), r.Classification, kb)
	default:
		pkgs := []string{"kernel", "openssl-libs", "curl", "glibc", "python3", "systemd", "sudo", "bash", "vim-minimal", "tzdata"}
		r.Name = pkgs[rng.IntN(len(pkgs))]
		r.Classification = []string{"Security", "Bugfix", "Enhancement"}[pick(rng, 60, 30, 10)]
		r.Severity = []string{"Critical", "Important", "Medium", "Low"}[pick(rng, 15, 35, 35, 15)]
		if r.Classification != "Security" {
			r.Severity = "None"
		}
		r.Version, r.Arch, r.Repository = fmt.Sprintf("%d.%d.%d", 1+n%9, n/9%30, n/270%100), "x86_64", "updates"
		if p.os == "UBUNTU" {
			r.ID = r.Name + ":" + r.Version + "-0ubuntu0.22.04." + fmt.Sprint(n%50)
			r.Priority = []string{"Required", "Important", "Standard", "Optional"}[pick(rng, 20, 40, 30, 10)]
			r.Section, r.AdvisoryID = "utils", fmt.Sprintf("USN-%d-%d", 6000+n%3000, 1)
		} else {
			r.ReleaseLabel = fmt.Sprintf("%d.amzn2023.0.%d", 1+n%5, n%20)
			r.ID = fmt.Sprintf("%s.%s:0:%s-%s", r.Name, r.Arch, r.Version, r.ReleaseLabel)
			r.AdvisoryID = fmt.Sprintf("ALAS2023-%d-%03d", week.Year(), n%1000)
		}
		r.Title = r.Name + " " + r.Version
	}
	return r
}

// OSOf returns the operating system a baseline names for a machine's
// platform (AMAZON_LINUX_2023, WINDOWS, UBUNTU, AMAZON_LINUX_2,
// REDHAT_ENTERPRISE_LINUX, ...), "" for one the simulator cannot patch.
func OSOf(n Node) string {
	name := strings.ToLower(n.PlatformName)
	switch {
	case n.Platform == Windows:
		return "WINDOWS"
	case n.Platform == MacOS:
		return "MACOS"
	case strings.Contains(name, "amazon linux") && strings.HasPrefix(n.PlatformVersion, "2023"):
		return "AMAZON_LINUX_2023"
	case strings.Contains(name, "amazon linux") && strings.HasPrefix(n.PlatformVersion, "2"):
		return "AMAZON_LINUX_2"
	case strings.Contains(name, "amazon linux"):
		return "AMAZON_LINUX"
	case strings.Contains(name, "ubuntu"):
		return "UBUNTU"
	case strings.Contains(name, "debian"):
		return "DEBIAN"
	case strings.Contains(name, "red hat"):
		return "REDHAT_ENTERPRISE_LINUX"
	case strings.Contains(name, "suse"):
		return "SUSE"
	case strings.Contains(name, "rocky"):
		return "ROCKY_LINUX"
	case strings.Contains(name, "alma"):
		return "ALMA_LINUX"
	case strings.Contains(name, "oracle"):
		return "ORACLE_LINUX"
	case strings.Contains(name, "centos"):
		return "CENTOS"
	}
	return ""
}
