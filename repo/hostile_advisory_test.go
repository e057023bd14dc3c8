package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/rpmpack"

	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/repo"
)

// hostileAdvisoryRPM writes a package whose advisory tags and changelog
// hold what acn's builder never writes, as any other tool could.
func hostileAdvisoryRPM(t *testing.T, dir, name, id, title, text string) {
	t.Helper()
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: name, Version: "1.0", Release: "1", Arch: "noarch", Licence: "MIT", Summary: "hostile", Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	r.AddCustomTag(advisory.TagID, rpmpack.EntryString(id))
	r.AddCustomTag(advisory.TagType, rpmpack.EntryString("bugfix"))
	r.AddCustomTag(advisory.TagTitle, rpmpack.EntryString(title))
	r.AddCustomTag(advisory.TagIssued, rpmpack.EntryString("2026-12-01"))
	r.AddCustomTag(1080, rpmpack.EntryInt32([]int32{1_764_547_200}))
	r.AddCustomTag(1081, rpmpack.EntryStringSlice([]string{"A <a@example.com> - 1.0-1"}))
	r.AddCustomTag(1082, rpmpack.EntryStringSlice([]string{text}))
	f, err := os.Create(filepath.Join(dir, name+"-1.0-1.noarch.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := r.Write(f); err != nil {
		t.Fatal(err)
	}
}

// TestHostileAdvisoryTags: characters XML does not allow (U+FFFE,
// U+FFFF, controls), invalid UTF-8 in an RPM's advisory title and
// changelog never make updateinfo.xml that dnf cannot read.
func TestHostileAdvisoryTags(t *testing.T) {
	dir := t.TempDir()
	hostileAdvisoryRPM(t, dir, "nonchar", "ACN-2026-0001", "a title \uffff with \ufffe", "- fixed \uffff\ufffe \xff\xfe")
	hostileAdvisoryRPM(t, dir, "latin", "ACN-2026-0002", "caf\xe9", "- caf\xe9")
	index(t, dir, repo.Options{})
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
	md := readMD(t, dir)
	u := md.Find("updateinfo")
	if u == nil {
		t.Fatal("no updateinfo record")
	}
	root := dnfRoot(t, "file://"+dir)
	dnf(t, root, "install", "nonchar", "latin")
	out := dnf(t, root, "updateinfo", "list", "--all")
	for _, id := range []string{"ACN-2026-0001", "ACN-2026-0002"} {
		if !strings.Contains(out, id) {
			t.Errorf("dnf updateinfo list --all does not read %s:\n%s", id, out)
		}
	}
	c, err := repo.LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	us, err := c.Updates()
	if err != nil || len(us) != 2 {
		t.Errorf("acn reads back %d advisories: %v", len(us), err)
	}
}
