package compliance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orgpatch/orgpatch/internal/config"
)

// chromium returns Debian's chromium, skipping the test outside CI when it
// is missing (.ci/run installs it) and failing it in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not on PATH; CI must install it (apt-get install chromium)")
	}
	t.Skip("chromium is not on PATH (apt-get install chromium)")
	return ""
}

// render loads url in a headless chromium with nothing to reach on the
// network and returns the DOM after the page's scripts ran.
func render(t *testing.T, browser, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=2000", "--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", url, err)
	}
	return string(out)
}

var (
	chartRe   = regexp.MustCompile(`<svg[^>]*aria-label="([^"]+)"`)
	barRe     = regexp.MustCompile(`<rect class="(ok|bad|none|unmanaged)"`)
	nodeRowRe = regexp.MustCompile(`<tr( hidden="")?><td title="[^"]*">(\d{12})</td>.*?<td class="sev-(\w+)" data-sort="(\d)"[^>]*>.*?<td data-sort="([^"]*)">`)
)

// TestPageRendersInChromium renders the page of a simulated organization in
// a real browser, offline, and checks what a reader sees: no error, the
// summary's figures, the four charts with bars, and the sortable list.
func TestPageRendersInChromium(t *testing.T) {
	browser := chromium(t)
	f := newFixture(t, 12)
	cfg := config.Default()
	cfg.Rings = []config.Ring{{Name: "first", Select: config.Selector{OUs: []string{f.org.Root.OUs[0].ID}}}}
	sum, _ := f.runWith(t, cfg, Settings{})
	sum.Export = "all.csv"
	path := filepath.Join(t.TempDir(), "compliance.html")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sum.WriteHTML(out); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if m := regexp.MustCompile(`(src|href)="[a-z]+:`).Find(raw); m != nil {
		t.Errorf("the page loads %s from elsewhere; it must be self-contained", m)
	}

	dom := render(t, browser, "file://"+path)
	if strings.Contains(dom, `id="page-error"`) {
		t.Fatalf("the page shows an error:\n%s", dom[strings.Index(dom, `id="page-error"`):][:300])
	}
	o := sum.Organization
	for _, want := range []string{
		fmt.Sprintf("<b>%.1f%%</b> of %d machines are compliant and were scanned within 7 days (%d)", o.Headline(), o.Machines(), o.CompliantCurrent),
		"<b>" + itoa(o.Nodes) + "</b>managed nodes",
		"<b>" + itoa(o.NonCompliant) + "</b>non-compliant",
		"<b>" + itoa(o.Critical) + "</b>critical",
		"<b>" + itoa(o.Security) + "</b>missing security patches",
		"<b>" + itoa(o.Failed) + "</b>failed installs",
		"<b>" + itoa(o.PendingReboot) + "</b>waiting for a reboot",
		"<b>" + itoa(o.PastSLA) + "</b>past SLA (" + itoa(o.PastSLAPatches) + " patches)",
		"<b>" + itoa(o.NotScanned) + "</b>not scanned within 7 days",
		"<b>" + itoa(o.OldAgent) + "</b>agent older than 3.0.502",
		"<b>" + itoa(o.ConnectionLost) + "</b>connection lost",
		"<b>" + itoa(o.Unmanaged) + "</b>EC2 instances not managed",
		`<a id="export" href="all.csv" download="">every node as CSV</a>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	if o.Critical == 0 || o.Security == 0 {
		t.Errorf("critical %d, security %d on AWS-default compliance levels; the generator misses such patches, so neither may be 0", o.Critical, o.Security)
	}
	var charts []string
	for _, m := range chartRe.FindAllStringSubmatch(dom, -1) {
		charts = append(charts, m[1])
	}
	if strings.Join(charts, "|") != "Trend|Compliance by OU|Compliance by account|Compliance by ring|Age of the last scan|Age of the non-compliant patches|SSM Agent versions" {
		t.Errorf("charts %q; want the trend and six", charts)
	}
	if n := len(barRe.FindAllString(dom, -1)); n < 10 {
		t.Errorf("only %d bars drawn", n)
	}
	// Coverage: the account without its role is not read, in both regions,
	// and says why, in the coverage table and in its account's drill-down.
	for _, want := range []string{`<td>us-east-1</td><td>FAILED</td><td class="why">assume role`, `<td>eu-west-1</td><td>FAILED</td><td class="why">assume role`,
		`<tr class="notread"><td>eu-west-1</td><td colspan="6">FAILED: assume role`, `<table class="groups sortable" id="by-ring">`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	rows := nodeRowRe.FindAllStringSubmatch(dom, -1)
	if len(rows) != o.NonCompliant || o.NonCompliant < 3 {
		t.Fatalf("%d non-compliant rows, want %d (at least 3 to sort)", len(rows), o.NonCompliant)
	}

	// Sorted by last scan (column 11), oldest first, through the link form.
	sortedDOM := render(t, browser, "file://"+path+"#sort=11")
	if !strings.Contains(sortedDOM, `aria-sort="ascending">last scan</th>`) {
		t.Errorf("the last-scan column is not marked sorted")
	}
	sorted := nodeRowRe.FindAllStringSubmatch(sortedDOM, -1)
	if len(sorted) != len(rows) {
		t.Fatalf("sorted: %d rows, want %d", len(sorted), len(rows))
	}
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1][5] > sorted[i][5] {
			t.Errorf("rows not sorted by last scan: %q before %q", sorted[i-1][5], sorted[i][5])
		}
	}

	// One account's drill-down link shows its nodes only.
	account := rows[0][2]
	want := 0
	for _, r := range rows {
		if r[2] == account {
			want++
		}
	}
	shown := 0
	for _, r := range nodeRowRe.FindAllStringSubmatch(render(t, browser, "file://"+path+"#filter="+account), -1) {
		if r[1] == "" { // not hidden
			shown++
			if r[2] != account {
				t.Errorf("filtered on %s, a row of %s shows", account, r[2])
			}
		}
	}
	if shown != want {
		t.Errorf("filtered on %s: %d rows show, want its %d", account, shown, want)
	}

	// The error banner is what the first check relies on: a page whose
	// script fails must show it.
	broken := filepath.Join(t.TempDir(), "broken.html")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(raw), "</body>", "<script>undefinedFunction()</script></body>", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(render(t, browser, "file://"+broken), `id="page-error"`) {
		t.Errorf("a failing script shows no error on the page")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
