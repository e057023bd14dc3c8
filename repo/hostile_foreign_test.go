package repo_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/repo"
)

// TestHostileForeignRecords: records of another tool (or of whoever
// wrote repomd.xml) that name files that are not metadata of this
// repository are neither published again nor deleted when their
// generation expires: a package, a file through a symlinked directory,
// a path through "..", acn's own state, the signature, duplicates.
func TestHostileForeignRecords(t *testing.T) {
	dir := repoDir(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("secret\n"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(2_000_000_000, 0)
	o := repo.Options{Update: true, Now: func() time.Time { clock = clock.Add(time.Minute); return clock },
		RetainOldMD: new(0), RetainOldMDByAge: new(time.Duration(0)), Excludes: []string{"link"}}
	index(t, dir, o)
	modifyrepo(t, dir, "updateinfo.xml", testUpdateinfo)
	// A symlink inside repodata to a file outside.
	if err := os.Symlink(secret, filepath.Join(dir, "repodata", "linked.txt")); err != nil {
		t.Fatal(err)
	}

	size := func(rel string) int64 {
		st, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	victims := []string{
		"alpha-1.2.3-4.el9.noarch.rpm",
		"repodata/../beta-2.0-1.x86_64.rpm",
		"sub/../gamma-1.0-1.noarch.rpm",
		"link/secret",
		"repodata/linked.txt",
		".acn/generations.json",
	}
	var recs strings.Builder
	for i, v := range victims {
		fmt.Fprintf(&recs, "  <data type=\"hostile%d\">\n    <location href=\"%s\"/>\n    <size>%d</size>\n  </data>\n", i, v, size(v))
	}
	// The same type twice, and the one file every client fetches.
	u := readMD(t, dir).Find("updateinfo")
	fmt.Fprintf(&recs, "  <data type=\"updateinfo\">\n    <location href=\"%s\"/>\n  </data>\n", u.Location.Href)
	fmt.Fprintf(&recs, "  <data type=\"hostile-md\">\n    <location href=\"repodata/repomd.xml\"/>\n  </data>\n")
	name := filepath.Join(dir, "repodata", "repomd.xml")
	b, _ := os.ReadFile(name)
	os.WriteFile(name, []byte(strings.Replace(string(b), "</repomd>", recs.String()+"</repomd>", 1)), 0o644)

	res := index(t, dir, o)
	md := readMD(t, dir)
	n := 0
	for _, d := range md.Data {
		if strings.HasPrefix(d.Type, "hostile") {
			t.Errorf("%s record %s published again", d.Type, d.Location.Href)
		}
		if d.Type == "updateinfo" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d updateinfo records published, want 1", n)
	}
	// Two more generations: the hostile one expires.
	for _, ex := range []string{"delta*", "base*"} {
		o.Excludes = append(o.Excludes, ex)
		res = index(t, dir, o)
	}
	for _, v := range append(victims, "repodata/repomd.xml") {
		if !exists(filepath.Join(dir, filepath.FromSlash(v))) {
			t.Errorf("%s deleted by retention (removed %v)", v, res.Removed)
		}
	}
	if !exists(secret) {
		t.Errorf("%s outside the repository deleted", secret)
	}
}
