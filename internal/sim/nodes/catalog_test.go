package nodes

import (
	"slices"
	"testing"
	"time"
)

func TestCatalogGenerateIsDeterministic(t *testing.T) {
	epoch := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	gen := func(seed uint64) []Release {
		c, err := NewCatalog(epoch)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Generate(seed, epoch, epoch.AddDate(0, 0, 28), 3); err != nil {
			t.Fatal(err)
		}
		return c.Released("", epoch.AddDate(1, 0, 0))
	}
	a, b, other := gen(1), gen(1), gen(2)
	fixed := 0
	for _, p := range platforms {
		fixed += len(p.catalogue)
	}
	if want := fixed + 3*4*len(platforms); len(a) != want {
		t.Errorf("%d releases, want %d (the generator's own and 3 a week for 4 weeks per platform)", len(a), want)
	}
	ids := func(rs []Release) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if !slices.Equal(ids(a), ids(b)) {
		t.Error("the same seed gave different catalogs")
	}
	if slices.Equal(ids(a), ids(other)) {
		t.Error("different seeds gave the same catalog")
	}
	for i := 1; i < len(a); i++ {
		if a[i].Released.Before(a[i-1].Released) {
			t.Fatalf("releases out of order at %d: %s before %s", i, a[i].Released, a[i-1].Released)
		}
	}
	for _, r := range a {
		if r.Released.After(epoch.AddDate(0, 0, 28)) {
			t.Errorf("%s released %s, after the generated range", r.ID, r.Released)
		}
	}
}

func TestCatalogAddRefusesBadReleases(t *testing.T) {
	epoch := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c, err := NewCatalog(epoch)
	if err != nil {
		t.Fatal(err)
	}
	ok := Release{ID: "KB5099999", OS: "WINDOWS", Product: "WindowsServer2022", Released: epoch}
	if err := c.Add(ok, Release{ID: "KB5044281", OS: "WINDOWS", Product: "WindowsServer2022", Released: epoch}); err == nil {
		t.Error("a release with an id already released was added")
	}
	if err := c.Add(Release{ID: "x", OS: "WINDOWS", Released: epoch}); err == nil {
		t.Error("a release without a product was added")
	}
	if got := c.Released("WINDOWS", epoch); slices.ContainsFunc(got, func(r Release) bool { return r.ID == ok.ID }) {
		t.Error("a refused batch added some of its releases")
	}
	if err := c.Add(ok); err != nil {
		t.Fatal(err)
	}
	if got := c.Released("WINDOWS", epoch.Add(-time.Second)); slices.ContainsFunc(got, func(r Release) bool { return r.ID == ok.ID }) {
		t.Error("Released lists a patch before its release")
	}
}
