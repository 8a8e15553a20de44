package compliance

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of Settings.
const (
	DefaultStaleAfterDays = 7
	// DefaultMinAgentVersion is the SSM Agent version the SRA patch
	// management solution lists as its prerequisite.
	DefaultMinAgentVersion = "3.0.502"
	// DefaultMaxListed bounds the non-compliant nodes the summary keeps for
	// the page (the worst ones); the records hold them all.
	DefaultMaxListed = 1000
	// DefaultMaxNodesPerTarget bounds the managed nodes, and apart the EC2
	// instances, read of one account x region, and
	// DefaultMaxPatchesPerNode the non-compliant patches read of one node:
	// a target's reads cannot outgrow the Lambda's memory, and where a
	// bound is hit the summary says so (Summary.Bounded).
	DefaultMaxNodesPerTarget = 20000
	DefaultMaxPatchesPerNode = 1000
)

// Settings are the summary's thresholds.
type Settings struct {
	// StaleAfterDays: a node whose last scan is older (or that was never
	// scanned) counts as not scanned recently.
	StaleAfterDays int
	// MinAgentVersion: agents older than it count as old.
	MinAgentVersion string
	// MaxListed bounds Summary.Listed.
	MaxListed int
	// MaxNodesPerTarget and MaxPatchesPerNode bound what is read.
	MaxNodesPerTarget int
	MaxPatchesPerNode int
}

func (s Settings) withDefaults() Settings {
	if s.StaleAfterDays == 0 {
		s.StaleAfterDays = DefaultStaleAfterDays
	}
	if s.MinAgentVersion == "" {
		s.MinAgentVersion = DefaultMinAgentVersion
	}
	if s.MaxListed == 0 {
		s.MaxListed = DefaultMaxListed
	}
	if s.MaxNodesPerTarget == 0 {
		s.MaxNodesPerTarget = DefaultMaxNodesPerTarget
	}
	if s.MaxPatchesPerNode == 0 {
		s.MaxPatchesPerNode = DefaultMaxPatchesPerNode
	}
	return s
}

// Counts are the summary's figures over some set of records.
type Counts struct {
	// Nodes counts managed nodes; unmanaged EC2 instances are Unmanaged.
	Nodes        int `json:"nodes"`
	Compliant    int `json:"compliant"`
	NonCompliant int `json:"nonCompliant"`
	// Non-compliant nodes by their overall severity.
	Critical      int `json:"critical"`
	High          int `json:"high"`
	Medium        int `json:"medium"`
	Low           int `json:"low"`
	Informational int `json:"informational"`
	Unspecified   int `json:"unspecified"`
	// Unreported nodes were never scanned; NotScanned counts those and the
	// ones whose last scan is older than StaleAfterDays.
	Unreported     int `json:"unreported"`
	NotScanned     int `json:"notScanned"`
	OldAgent       int `json:"oldAgent"`
	ConnectionLost int `json:"connectionLost"`
	Unmanaged      int `json:"unmanaged"`
	// Unmonitored counts what patching cannot be seen to reach: managed
	// nodes not scanned recently or with the connection lost (once each),
	// and unmanaged EC2 instances.
	Unmonitored int `json:"unmonitored"`
}

// Problems is how much is wrong: what "worst" sorts by after NonCompliant.
func (c Counts) Problems() int {
	return c.NonCompliant + c.NotScanned + c.OldAgent + c.ConnectionLost + c.Unmanaged
}

// Group is the counts of one OU, account or region.
type Group struct {
	Key    string `json:"key"`
	Name   string `json:"name,omitempty"`
	Counts Counts `json:"counts"`
}

// KeyCount is one bar of a chart.
type KeyCount struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// TargetFailure is an account x region that could not be read.
type TargetFailure struct {
	Account string `json:"account"`
	Region  string `json:"region,omitempty"`
	Error   string `json:"error"`
}

// Summary is the report's figures. Groups are sorted worst first.
type Summary struct {
	Generated       time.Time `json:"generated"`
	StaleAfterDays  int       `json:"staleAfterDays"`
	MinAgentVersion string    `json:"minAgentVersion"`

	Organization Counts  `json:"organization"`
	ByOU         []Group `json:"byOU"`
	ByAccount    []Group `json:"byAccount"`
	ByRegion     []Group `json:"byRegion"`

	AgentVersions []KeyCount `json:"agentVersions"` // newest first
	ScanAge       []KeyCount `json:"scanAge"`       // buckets, most recent first

	Targets      int             `json:"targets"`
	Failed       int             `json:"failed"`
	Failures     []TargetFailure `json:"failures,omitempty"` // the first maxFailures
	EC2Invisible int             `json:"ec2Invisible"`       // targets where DescribeInstances was refused
	// Bounded are the targets (the first maxFailures) where a read
	// stopped at a bound of Settings; what it names was not all read.
	Bounded []TargetFailure `json:"bounded,omitempty"`

	// Listed are the worst non-compliant nodes (at most MaxListed), worst
	// first; MoreNonCompliant is how many more the records hold.
	Listed           []Record `json:"listed,omitempty"`
	MoreNonCompliant int      `json:"moreNonCompliant"`
}

const maxFailures = 50

// Scan-age buckets, most recent first.
var scanAgeBuckets = []struct {
	key string
	max time.Duration
}{
	{"< 1 day", 24 * time.Hour},
	{"1-7 days", 7 * 24 * time.Hour},
	{"7-30 days", 30 * 24 * time.Hour},
	{"> 30 days", 1 << 62},
}

const neverScanned = "never"

// tally accumulates a Summary as records arrive.
type tally struct {
	s                      Settings
	now                    time.Time
	sum                    Summary
	ous, accounts, regions map[string]*Group
	agents, ages           map[string]int
}

func newTally(s Settings, now time.Time) *tally {
	return &tally{s: s, now: now, ous: map[string]*Group{}, accounts: map[string]*Group{}, regions: map[string]*Group{},
		agents: map[string]int{}, ages: map[string]int{},
		sum: Summary{Generated: now, StaleAfterDays: s.StaleAfterDays, MinAgentVersion: s.MinAgentVersion}}
}

func group(m map[string]*Group, key, name string) *Counts {
	g := m[key]
	if g == nil {
		g = &Group{Key: key, Name: name}
		m[key] = g
	}
	return &g.Counts
}

func (t *tally) add(r *Record) {
	for _, c := range []*Counts{&t.sum.Organization, group(t.ous, r.OU, r.OUId), group(t.accounts, r.Account, r.AccountName), group(t.regions, r.Region, "")} {
		t.count(c, r)
	}
	if r.Status == Unmanaged {
		return
	}
	t.agents[r.AgentVersion]++
	age := neverScanned
	if last := r.LastScan(); !last.IsZero() {
		d := t.now.Sub(last)
		for _, b := range scanAgeBuckets {
			if d < b.max {
				age = b.key
				break
			}
		}
	}
	t.ages[age]++
	if r.Status == NonCompliant {
		t.sum.Listed = append(t.sum.Listed, *r)
		if len(t.sum.Listed) >= 2*t.s.MaxListed {
			t.trim()
		}
	}
}

func (t *tally) count(c *Counts, r *Record) {
	if r.Status == Unmanaged {
		c.Unmanaged++
		c.Unmonitored++
		return
	}
	c.Nodes++
	switch r.Status {
	case Compliant:
		c.Compliant++
	case NonCompliant:
		c.NonCompliant++
		switch r.OverallSeverity {
		case "CRITICAL":
			c.Critical++
		case "HIGH":
			c.High++
		case "MEDIUM":
			c.Medium++
		case "LOW":
			c.Low++
		case "INFORMATIONAL":
			c.Informational++
		default:
			c.Unspecified++
		}
	case Unreported:
		c.Unreported++
	}
	stale := false
	if last := r.LastScan(); last.IsZero() || t.now.Sub(last) > time.Duration(t.s.StaleAfterDays)*24*time.Hour {
		c.NotScanned++
		stale = true
	}
	if stale || r.PingStatus == "ConnectionLost" {
		c.Unmonitored++
	}
	if OlderAgent(r.AgentVersion, t.s.MinAgentVersion) {
		c.OldAgent++
	}
	if r.PingStatus == "ConnectionLost" {
		c.ConnectionLost++
	}
}

// severityRank orders overall severities, most severe first.
var severityRank = map[string]int{"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 4, "UNSPECIFIED": 5}

// worseNode orders non-compliant nodes worst first: severity, then how many
// patches are non-compliant, then where they are.
func worseNode(a, b Record) int {
	return cmp.Or(
		cmp.Compare(rank(a.OverallSeverity), rank(b.OverallSeverity)),
		cmp.Compare(nonCompliantCount(b), nonCompliantCount(a)),
		strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region), strings.Compare(a.ResourceId, b.ResourceId))
}

func rank(sev string) int {
	if r, ok := severityRank[sev]; ok {
		return r
	}
	return len(severityRank)
}

func nonCompliantCount(r Record) int32 {
	if r.NonCompliantSummary == nil {
		return 0
	}
	return r.NonCompliantSummary.NonCompliantCount
}

func (t *tally) trim() {
	slices.SortFunc(t.sum.Listed, worseNode)
	if n := len(t.sum.Listed) - t.s.MaxListed; n > 0 {
		t.sum.MoreNonCompliant += n
		t.sum.Listed = slices.Clone(t.sum.Listed[:t.s.MaxListed])
	}
}

func (t *tally) fail(f TargetFailure) {
	t.sum.Failed++
	if len(t.sum.Failures) < maxFailures {
		t.sum.Failures = append(t.sum.Failures, f)
	}
}

// worseGroup orders groups worst first.
func worseGroup(a, b Group) int {
	return cmp.Or(cmp.Compare(b.Counts.NonCompliant, a.Counts.NonCompliant), cmp.Compare(b.Counts.Critical, a.Counts.Critical),
		cmp.Compare(b.Counts.Problems(), a.Counts.Problems()), strings.Compare(a.Key, b.Key))
}

func sortedGroups(m map[string]*Group) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	slices.SortFunc(out, worseGroup)
	return out
}

// summary finishes the tally.
func (t *tally) summary() Summary {
	t.trim()
	s := t.sum
	s.ByOU, s.ByAccount, s.ByRegion = sortedGroups(t.ous), sortedGroups(t.accounts), sortedGroups(t.regions)
	for v, n := range t.agents {
		s.AgentVersions = append(s.AgentVersions, KeyCount{v, n})
	}
	slices.SortFunc(s.AgentVersions, func(a, b KeyCount) int { return -compareVersions(a.Key, b.Key) })
	for _, b := range scanAgeBuckets {
		s.ScanAge = append(s.ScanAge, KeyCount{b.key, t.ages[b.key]})
	}
	s.ScanAge = append(s.ScanAge, KeyCount{neverScanned, t.ages[neverScanned]})
	return s
}

// OlderAgent reports whether agent version v is older than min; an
// unparsable or empty version is not judged old.
func OlderAgent(v, min string) bool {
	if v == "" {
		return false
	}
	return compareVersions(v, min) < 0
}

// compareVersions compares dotted numeric versions (3.0.502 < 3.0.1031.0).
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}
