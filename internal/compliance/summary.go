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

// Settings are the report's thresholds.
type Settings struct {
	// StaleAfterDays: a node whose last scan is older (or that was never
	// scanned) counts as not scanned recently.
	StaleAfterDays int
	// MinAgentVersion: agents older than it count as old.
	MinAgentVersion string
	// MaxListed bounds Summary.Listed.
	MaxListed int
	// SLADays are the days within which a non-compliant patch should be
	// fixed, by effective severity; nil means DefaultSLADays, an empty map
	// no SLA at all.
	SLADays map[string]int
	// OwnerTagKeys name the EC2 tags copied into each record's OwnerTags;
	// nil means DefaultOwnerTagKeys.
	OwnerTagKeys []string
	// MaxNodesPerTarget and MaxPatchesPerNode bound what is read.
	MaxNodesPerTarget int
	MaxPatchesPerNode int
}

// DefaultOwnerTagKeys are the owner tags a record carries unless the
// settings name others.
var DefaultOwnerTagKeys = []string{"Owner", "Team", "CostCenter"}

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
	s.SLADays = slaCopy(s.SLADays)
	if s.OwnerTagKeys == nil {
		s.OwnerTagKeys = DefaultOwnerTagKeys
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
	// CompliantCurrent counts the compliant nodes scanned within the stale
	// days: the headline, out of Nodes + Unmanaged (Headline).
	CompliantCurrent int `json:"compliantCurrent"`
	// Non-compliant nodes by the worst effective severity of their patches
	// (Record.Severity).
	Critical      int `json:"critical"`
	High          int `json:"high"`
	Medium        int `json:"medium"`
	Low           int `json:"low"`
	Informational int `json:"informational"`
	Unspecified   int `json:"unspecified"`
	// Security counts nodes missing a patch from a security advisory;
	// BaselineCritical the nodes AWS counts critical non-compliant patches
	// on (the baseline's compliance level, zero on predefined baselines).
	Security         int `json:"security"`
	BaselineCritical int `json:"baselineCritical"`
	// Nodes with at least one patch in each non-compliant state.
	Missing       int `json:"missing"`
	Failed        int `json:"failed"`
	PendingReboot int `json:"pendingReboot"`
	Rejected      int `json:"rejected"`
	// PastSLA counts nodes with a patch older than its SLA, PastSLAPatches
	// those patches.
	PastSLA        int `json:"pastSLA"`
	PastSLAPatches int `json:"pastSLAPatches"`
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
	return c.NonCompliant + c.PastSLA + c.NotScanned + c.OldAgent + c.ConnectionLost + c.Unmanaged
}

// Machines counts every machine: managed nodes and unmanaged instances.
func (c Counts) Machines() int { return c.Nodes + c.Unmanaged }

// Headline is the share of machines that are compliant and were scanned
// within the stale days, in percent: what an auditor can sign.
func (c Counts) Headline() float64 {
	if c.Machines() == 0 {
		return 0
	}
	return 100 * float64(c.CompliantCurrent) / float64(c.Machines())
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

// Coverage is an account x region not read, and why.
type Coverage struct {
	Account     string `json:"account"`
	AccountName string `json:"accountName,omitempty"`
	Region      string `json:"region"`
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason,omitempty"`
}

// TrendPoint is one run's headline figures.
type TrendPoint struct {
	RunId            string    `json:"RunId"`
	Time             time.Time `json:"Time"`
	Machines         int       `json:"Machines"`
	CompliantCurrent int       `json:"CompliantCurrent"`
	NonCompliant     int       `json:"NonCompliant"`
	Critical         int       `json:"Critical"`
	PastSLA          int       `json:"PastSLA"`
	NotScanned       int       `json:"NotScanned"`
	Unmanaged        int       `json:"Unmanaged"`
	NotRead          int       `json:"NotRead"`
}

// Headline is the point's CompliantCurrent share of the machines, in
// percent.
func (p TrendPoint) Headline() float64 {
	return Counts{Nodes: p.Machines, CompliantCurrent: p.CompliantCurrent}.Headline()
}

// maxTrend bounds the runs a trend keeps (a quarter of daily runs).
const maxTrend = 90

// Summary is the report's figures. Groups are sorted worst first.
type Summary struct {
	RunId           string         `json:"runId"`
	Generated       time.Time      `json:"generated"`
	StaleAfterDays  int            `json:"staleAfterDays"`
	MinAgentVersion string         `json:"minAgentVersion"`
	SLADays         map[string]int `json:"slaDays"`

	Organization Counts  `json:"organization"`
	ByOU         []Group `json:"byOU"`
	ByAccount    []Group `json:"byAccount"`
	ByRegion     []Group `json:"byRegion"`
	ByRing       []Group `json:"byRing"`
	// ByTarget are the account x region groups (key account/region), worst
	// first: the page's drill-down.
	ByTarget []Group `json:"byTarget"`

	AgentVersions []KeyCount `json:"agentVersions"` // newest first
	ScanAge       []KeyCount `json:"scanAge"`       // buckets, most recent first
	// PatchAge counts the non-compliant patches by age in days since first
	// seen, PastSLAAge those past their SLA.
	PatchAge []KeyCount `json:"patchAge"`

	Targets  int             `json:"targets"`
	Failed   int             `json:"failed"`
	Failures []TargetFailure `json:"failures,omitempty"` // the first maxFailures
	// Coverage counts every account x region in scope by outcome; NotRead
	// lists the ones not read (at most maxNotRead) and why.
	Coverage     map[string]int `json:"coverage"`
	NotRead      []Coverage     `json:"notRead,omitempty"`
	EC2Invisible int            `json:"ec2Invisible"` // targets where DescribeInstances was refused

	// Reused counts the non-compliant nodes whose patch lists came from the
	// previous run (PreviousRunId), Looked those whose lists were read.
	PreviousRunId string `json:"previousRunId,omitempty"`
	Reused        int    `json:"reused"`
	Looked        int    `json:"looked"`
	// Calls are the API calls the run made, when its caller counted them
	// (the CLI does).
	Calls int `json:"calls,omitempty"`
	// Bounded are the targets (the first maxFailures) where a read
	// stopped at a bound of Settings; what it names was not all read.
	Bounded []TargetFailure `json:"bounded,omitempty"`
	// Installed are the patch ids the nodes of Env.InstalledRings
	// installed; nil when the run read none.
	Installed Installed `json:"installed,omitempty"`

	// Listed are the worst non-compliant nodes (at most MaxListed), worst
	// first; MoreNonCompliant is how many more the records hold.
	Listed           []Record `json:"listed,omitempty"`
	MoreNonCompliant int      `json:"moreNonCompliant"`

	// Trend is the runs up to this one, oldest first.
	Trend []TrendPoint `json:"trend,omitempty"`
	// Export, when set, is a link to every record as CSV, relative to the
	// page; the page offers it.
	Export string `json:"-"`
}

const (
	maxFailures = 50
	maxNotRead  = 1000
)

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

// Patch-age buckets, in days since first seen.
var patchAgeBuckets = []struct {
	key string
	max int
}{{"< 7 days", 7}, {"7-30 days", 30}, {"30-90 days", 90}, {"> 90 days", 1 << 30}}

const neverScanned = "never"

// tally accumulates a Summary as records arrive.
type tally struct {
	s                                        Settings
	now                                      time.Time
	sum                                      Summary
	ous, accounts, regions, rings, targetsBy map[string]*Group
	agents, ages, patchAges                  map[string]int
}

func newTally(s Settings, runID string, now time.Time) *tally {
	return &tally{s: s, now: now, ous: map[string]*Group{}, accounts: map[string]*Group{}, regions: map[string]*Group{},
		rings: map[string]*Group{}, targetsBy: map[string]*Group{},
		agents: map[string]int{}, ages: map[string]int{}, patchAges: map[string]int{},
		sum: Summary{RunId: runID, Generated: now, StaleAfterDays: s.StaleAfterDays, MinAgentVersion: s.MinAgentVersion, SLADays: s.SLADays,
			Coverage: map[string]int{}}}
}

func group(m map[string]*Group, key, name string) *Counts {
	g := m[key]
	if g == nil {
		g = &Group{Key: key, Name: name}
		m[key] = g
	}
	return &g.Counts
}

// cover counts a coverage record.
func (t *tally) cover(r *Record) {
	t.sum.Coverage[r.Outcome]++
	switch r.Outcome {
	case OutcomeRead:
		t.sum.Targets++
	case OutcomeFailed:
		t.sum.Failed++
		if len(t.sum.Failures) < maxFailures {
			t.sum.Failures = append(t.sum.Failures, TargetFailure{Account: r.Account, Region: r.Region, Error: r.Reason})
		}
	}
	group(t.accounts, r.Account, r.AccountName) // an account nothing was read in still has its row
	if r.Outcome != OutcomeRead && len(t.sum.NotRead) < maxNotRead {
		t.sum.NotRead = append(t.sum.NotRead, Coverage{Account: r.Account, AccountName: r.AccountName, Region: r.Region, Outcome: r.Outcome, Reason: r.Reason})
	}
}

func (t *tally) add(r *Record) {
	ring := cmp.Or(r.Ring, "(no ring)")
	for _, c := range []*Counts{&t.sum.Organization, group(t.ous, r.OU, r.OUId), group(t.accounts, r.Account, r.AccountName),
		group(t.regions, r.Region, ""), group(t.rings, ring, ""), group(t.targetsBy, r.Account+"/"+r.Region, r.AccountName)} {
		count(c, r)
	}
	if r.NodeState == Unmanaged {
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
	for _, l := range [][]Patch{r.MissingPatches, r.FailedPatches, r.PendingRebootPatches, r.RejectedPatches} {
		for _, p := range l {
			for _, b := range patchAgeBuckets {
				if p.AgeDays < b.max {
					t.patchAges[b.key]++
					break
				}
			}
		}
	}
	if r.Reused {
		t.sum.Reused++
	} else if r.Status == NonCompliant {
		t.sum.Looked++
	}
	if r.Status == NonCompliant {
		t.sum.Listed = append(t.sum.Listed, r.detached())
		if len(t.sum.Listed) >= 2*t.s.MaxListed {
			t.trim()
		}
	}
}

func count(c *Counts, r *Record) {
	if r.NodeState == Unmanaged {
		c.Unmanaged++
		c.Unmonitored++
		return
	}
	c.Nodes++
	switch r.Status {
	case Compliant:
		c.Compliant++
		if !r.Stale {
			c.CompliantCurrent++
		}
	case NonCompliant:
		c.NonCompliant++
		switch r.Severity {
		case SeverityCritical:
			c.Critical++
		case SeverityHigh:
			c.High++
		case SeverityMedium:
			c.Medium++
		case SeverityLow:
			c.Low++
		case SeverityInformational:
			c.Informational++
		default:
			c.Unspecified++
		}
	}
	if r.NodeState == Unreported {
		c.Unreported++
	}
	if r.SecurityNonCompliant > 0 || (r.PatchState != nil && r.PatchState.SecurityNonCompliantCount > 0) {
		c.Security++
	}
	if r.PatchState != nil && r.PatchState.CriticalNonCompliantCount > 0 {
		c.BaselineCritical++
	}
	for _, x := range []struct {
		n int
		c *int
	}{{len(r.MissingPatches), &c.Missing}, {len(r.FailedPatches), &c.Failed}, {len(r.PendingRebootPatches), &c.PendingReboot}, {len(r.RejectedPatches), &c.Rejected}} {
		if x.n > 0 {
			*x.c++
		}
	}
	if r.PastSLA > 0 {
		c.PastSLA++
		c.PastSLAPatches += r.PastSLA
	}
	if r.Stale {
		c.NotScanned++
	}
	if r.Stale || r.PingStatus == "ConnectionLost" {
		c.Unmonitored++
	}
	if r.OldAgent {
		c.OldAgent++
	}
	if r.PingStatus == "ConnectionLost" {
		c.ConnectionLost++
	}
}

// worseNode orders non-compliant nodes worst first: effective severity,
// then patches past SLA, then how many patches are non-compliant, then
// where they are.
func worseNode(a, b Record) int {
	return cmp.Or(
		cmp.Compare(rank(a.Severity), rank(b.Severity)),
		cmp.Compare(b.PastSLA, a.PastSLA),
		cmp.Compare(nonCompliantCount(b), nonCompliantCount(a)),
		strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region), strings.Compare(a.ResourceId, b.ResourceId))
}

// rank orders severities, most severe first; an unknown one last.
func rank(sev string) int {
	if i := slices.Index(Severities, sev); i >= 0 {
		return i
	}
	return len(Severities)
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

// worseGroup orders groups worst first.
func worseGroup(a, b Group) int {
	return cmp.Or(cmp.Compare(b.Counts.NonCompliant, a.Counts.NonCompliant), cmp.Compare(b.Counts.Critical, a.Counts.Critical),
		cmp.Compare(b.Counts.PastSLA, a.Counts.PastSLA),
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
	s.ByRing, s.ByTarget = sortedGroups(t.rings), sortedGroups(t.targetsBy)
	for _, b := range patchAgeBuckets {
		s.PatchAge = append(s.PatchAge, KeyCount{b.key, t.patchAges[b.key]})
	}
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
