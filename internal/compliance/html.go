package compliance

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed page.html.tmpl
var pageSource string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"age":  age,
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"rank":     rank,
	"patchIDs": patchIDs,
	"sub":      func(a, b int) int { return a - b },
	"coverage": coverageLine,
	"sla": func(m map[string]int) string {
		if len(m) == 0 {
			return "none"
		}
		return FormatSLADays(m)
	},
	"pct": func(part, whole int) string {
		if whole == 0 {
			return "0"
		}
		return fmt.Sprintf("%.1f", 100*float64(part)/float64(whole))
	},
}).Parse(pageSource))

// Chart geometry, in SVG user units.
const (
	chartLabelWidth = 230
	chartBarWidth   = 420
	chartRowHeight  = 22
	maxChartRows    = 25
)

type chart struct {
	Title, Note string
	Width       int
	Height      int
	Bars        []chartBar
	Legend      []chartLegend
}

type chartBar struct {
	Label string
	Y     int
	Total int
	// TotalX is where the total is written, after the bar.
	TotalX float64
	Segs   []chartSeg
}

type chartSeg struct {
	Class string
	Value int
	X, W  float64
}

type chartLegend struct{ Class, Label string }

var complianceLegend = []chartLegend{{"ok", "compliant"}, {"bad", "non-compliant"}, {"none", "unreported"}, {"unmanaged", "EC2 unmanaged"}}

// barChart lays out rows of stacked segments against the largest total.
func barChart(title string, legend []chartLegend, rows []chartBar) chart {
	c := chart{Title: title, Legend: legend, Width: chartLabelWidth + chartBarWidth + 60}
	if len(rows) > maxChartRows {
		c.Note = fmt.Sprintf("the %d worst of %d", maxChartRows, len(rows))
		rows = rows[:maxChartRows]
	}
	most := 1
	for _, r := range rows {
		t := 0
		for _, s := range r.Segs {
			t += s.Value
		}
		most = max(most, t)
	}
	for i := range rows {
		r := &rows[i]
		r.Y = i * chartRowHeight
		x := float64(chartLabelWidth)
		for j := range r.Segs {
			s := &r.Segs[j]
			s.X, s.W = x, float64(chartBarWidth)*float64(s.Value)/float64(most)
			x += s.W
			r.Total += s.Value
		}
		r.TotalX = x + 6
	}
	c.Bars, c.Height = rows, len(rows)*chartRowHeight+4
	return c
}

func complianceBars(gs []Group, label func(Group) string) []chartBar {
	out := make([]chartBar, 0, len(gs))
	for _, g := range gs {
		c := g.Counts
		out = append(out, chartBar{Label: label(g), Segs: []chartSeg{{Class: "ok", Value: c.Compliant}, {Class: "bad", Value: c.NonCompliant},
			{Class: "none", Value: c.Unreported}, {Class: "unmanaged", Value: c.Unmanaged}}})
	}
	return out
}

// trendLine is the headline's line over the runs.
type trendLine struct {
	Width, Height, Bottom, Right int
	Polyline                     string
	Points                       []trendPoint
}

type trendPoint struct {
	X, Y  float64
	Label string
}

// Trend geometry, in SVG user units.
const (
	trendWidth  = 700
	trendHeight = 160
	trendLeft   = 44
)

// newTrendLine lays the runs out left to right (oldest first), the
// headline share from 0% at the bottom to 100% at the top; nil with no run.
func newTrendLine(ps []TrendPoint) *trendLine {
	if len(ps) == 0 {
		return nil
	}
	l := &trendLine{Width: trendWidth, Height: trendHeight, Bottom: trendHeight - 10, Right: trendWidth - 10}
	span := float64(l.Right - trendLeft)
	var pts []string
	for i, p := range ps {
		x := float64(trendLeft) + span/2
		if len(ps) > 1 {
			x = float64(trendLeft) + span*float64(i)/float64(len(ps)-1)
		}
		y := float64(l.Bottom) - float64(l.Bottom-10)*p.Headline()/100
		l.Points = append(l.Points, trendPoint{x, y, fmt.Sprintf("%s, %s: %.1f%% current, %d non-compliant, %d past SLA, %d not read",
			p.Time.UTC().Format("2006-01-02 15:04"), p.RunId, p.Headline(), p.NonCompliant, p.PastSLA, p.NotRead)})
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
	}
	l.Polyline = strings.Join(pts, " ")
	return l
}

// WriteHTML writes the summary as one self-contained page: no script,
// style, font or image comes from the network when it is viewed.
func (s Summary) WriteHTML(w io.Writer) error {
	scan := make([]chartBar, 0, len(s.ScanAge))
	for _, k := range s.ScanAge {
		class := "ok"
		if k.Key == neverScanned || k.Key == scanAgeBuckets[2].key || k.Key == scanAgeBuckets[3].key {
			class = "bad"
		}
		scan = append(scan, chartBar{Label: k.Key, Segs: []chartSeg{{Class: class, Value: k.Count}}})
	}
	agents := make([]chartBar, 0, len(s.AgentVersions))
	for _, k := range s.AgentVersions {
		class := "ok"
		if OlderAgent(k.Key, s.MinAgentVersion) {
			class = "bad"
		}
		agents = append(agents, chartBar{Label: k.Key, Segs: []chartSeg{{Class: class, Value: k.Count}}})
	}
	patchAges := make([]chartBar, 0, len(s.PatchAge))
	for _, k := range s.PatchAge {
		class := "ok"
		if k.Key != patchAgeBuckets[0].key {
			class = "bad"
		}
		patchAges = append(patchAges, chartBar{Label: k.Key, Segs: []chartSeg{{Class: class, Value: k.Count}}})
	}
	type regionRow struct {
		Region string
		Counts Counts
	}
	type groupRow struct {
		Key, Label string
		Counts     Counts
		// An account's drill-down (Drill): its regions, and those not read.
		Drill   bool
		Regions []regionRow
		NotRead []Coverage
	}
	type groupTable struct {
		Title string
		Rows  []groupRow
	}
	table := func(title string, gs []Group, label func(Group) string) groupTable {
		t := groupTable{Title: title}
		for _, g := range gs {
			t.Rows = append(t.Rows, groupRow{Key: g.Key, Label: label(g), Counts: g.Counts})
		}
		return t
	}
	accounts := table("account", s.ByAccount, func(g Group) string { return g.Key + " " + g.Name })
	byAccount := map[string]*groupRow{}
	for i := range accounts.Rows {
		byAccount[accounts.Rows[i].Key] = &accounts.Rows[i]
	}
	for _, g := range s.ByTarget {
		account, region, _ := strings.Cut(g.Key, "/")
		if row := byAccount[account]; row != nil {
			row.Regions = append(row.Regions, regionRow{region, g.Counts})
		}
	}
	for _, c := range s.NotRead {
		if row := byAccount[c.Account]; row != nil {
			row.NotRead = append(row.NotRead, c)
		}
	}
	for i := range accounts.Rows {
		r := &accounts.Rows[i]
		r.Drill = len(r.Regions)+len(r.NotRead) > 0
	}
	charts := []chart{
		barChart("Compliance by OU", complianceLegend, complianceBars(s.ByOU, func(g Group) string { return g.Key })),
		barChart("Compliance by account", complianceLegend, complianceBars(s.ByAccount, func(g Group) string { return g.Key + " " + g.Name })),
	}
	tables := []groupTable{}
	if len(s.ByRing) > 1 {
		charts = append(charts, barChart("Compliance by ring", complianceLegend, complianceBars(s.ByRing, func(g Group) string { return g.Key })))
		tables = append(tables, table("ring", s.ByRing, func(g Group) string { return g.Key }))
	}
	charts = append(charts,
		barChart("Age of the last scan", []chartLegend{{"ok", "recent"}, {"bad", "stale or never"}}, scan),
		barChart("Age of the non-compliant patches", []chartLegend{{"ok", "first seen this week"}, {"bad", "older"}}, patchAges),
		barChart("SSM Agent versions", []chartLegend{{"ok", "current enough"}, {"bad", "older than " + s.MinAgentVersion}}, agents))
	tables = append(tables, table("OU", s.ByOU, func(g Group) string { return g.Key }), accounts,
		table("region", s.ByRegion, func(g Group) string { return g.Key }))
	data := struct {
		Summary
		TrendLine *trendLine
		Charts    []chart
		Tables    []groupTable
	}{s, newTrendLine(s.Trend), charts, tables}
	return page.Execute(w, data)
}
