package compliance

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
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
	type groupRow struct {
		Label  string
		Counts Counts
	}
	type groupTable struct {
		Title string
		Rows  []groupRow
	}
	table := func(title string, gs []Group, label func(Group) string) groupTable {
		t := groupTable{Title: title}
		for _, g := range gs {
			t.Rows = append(t.Rows, groupRow{label(g), g.Counts})
		}
		return t
	}
	data := struct {
		Summary
		Charts []chart
		Tables []groupTable
	}{s, []chart{
		barChart("Compliance by OU", complianceLegend, complianceBars(s.ByOU, func(g Group) string { return g.Key })),
		barChart("Compliance by account", complianceLegend, complianceBars(s.ByAccount, func(g Group) string { return g.Key + " " + g.Name })),
		barChart("Age of the last scan", []chartLegend{{"ok", "recent"}, {"bad", "stale or never"}}, scan),
		barChart("SSM Agent versions", []chartLegend{{"ok", "current enough"}, {"bad", "older than " + s.MinAgentVersion}}, agents),
	}, []groupTable{
		table("OU", s.ByOU, func(g Group) string { return g.Key }),
		table("account", s.ByAccount, func(g Group) string { return g.Key + " " + g.Name }),
		table("region", s.ByRegion, func(g Group) string { return g.Key }),
	}}
	return page.Execute(w, data)
}
