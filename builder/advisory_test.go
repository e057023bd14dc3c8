package builder_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

// TestAdvisoryTags: the newest changelog entry's advisory, for the
// version built, goes into every package of the build; rpm -K, rpmlint
// and createrepo_c accept the tags, and repo reads them back. An entry
// for another version, or no registry, writes none.
func TestAdvisoryTags(t *testing.T) {
	spec := func(version string) map[string]string {
		return map[string]string{"a.txt": "a\n", "specs/p.yaml": "name: p\nversion: \"" + version + "\"\nsummary: S\nlicense: MIT\n" +
			"packager: Test Packager <test@acn.invalid>\ngroup: Applications/System\nurl: https://example.invalid/p\n" +
			"files:\n  - {src: a.txt, dst: /usr/share/p/a.txt}\n" +
			"packages:\n  - name: p-extra\n    summary: Extra\n    files:\n      - {src: a.txt, dst: /usr/share/p/extra.txt}\n" +
			"changelog:\n  - date: 2026-12-01\n    author: Test Packager <test@acn.invalid>\n    version: 1.1-1\n    text: |\n      - Fix a hole.\n      - More.\n" +
			"    advisory:\n      type: security\n      severity: Moderate\n      cves: [CVE-2026-0001]\n      bugs: ['https://bugs.example.com/show_bug.cgi?id=9']\n"}
	}
	r := gittest.New(t)
	r.Commit("p", spec("1.1"))
	reg := advisory.OpenRegistry(filepath.Join(t.TempDir(), "advisories.json"))
	res, err := build(t, r, "HEAD", "p", builder.Options{Advisories: reg})
	if err != nil {
		t.Fatal(err)
	}
	want := &advisory.Advisory{ID: "ACN-2026-0001", Type: "security", Severity: "Moderate", CVEs: []string{"CVE-2026-0001"},
		Bugs: []string{"https://bugs.example.com/show_bug.cgi?id=9"}, Title: "Fix a hole.", Issued: "2026-12-01",
		Description: "- Fix a hole.\n- More."}
	for _, rpm := range res.RPMs {
		p, err := repo.Open(rpm.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Advisory, want) {
			t.Errorf("%s: advisory %+v, want %+v", rpm.Path, p.Advisory, want)
		}
		tooltest.Run(t, "rpm", "-K", "--nosignature", rpm.Path)
	}
	rpmlint(t, res.Path)
	dir := t.TempDir()
	if err := os.Link(res.Path, filepath.Join(dir, filepath.Base(res.Path))); err != nil {
		t.Fatal(err)
	}
	tooltest.Run(t, "createrepo_c", "--quiet", dir)

	// Version 1.2 with the newest entry still for 1.1: no advisory.
	r.Commit("bump", spec("1.2"))
	for _, reg := range []*advisory.Registry{reg, nil} {
		res, err := build(t, r, "HEAD", "p", builder.Options{Advisories: reg})
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := repo.Open(res.Path); p == nil || p.Advisory != nil {
			t.Errorf("1.2 carries an advisory: %+v", p)
		}
	}
}
