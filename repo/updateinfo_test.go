package repo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/acn-project/acn/repo"
)

const updateinfoSeed = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="acn" status="stable" type="security" version="2.0">
    <id>ACN-2026-0001</id>
    <title>t</title>
    <issued date="2026-12-01 00:00:00"/>
    <severity>Important</severity>
    <references>
      <reference href="https://www.cve.org/CVERecord?id=CVE-2026-1234" id="CVE-2026-1234" type="cve" title="CVE-2026-1234"/>
    </references>
    <pkglist>
      <collection short="acn">
        <name>acn</name>
        <package name="web" version="1.4.1" release="1" epoch="0" arch="noarch" src="web-1.4.1-1.src.rpm">
          <filename>web-1.4.1-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
`

// updateinfoRepo makes a repository whose updateinfo.xml is b, as some
// other tool could have written it.
func updateinfoRepo(t testing.TB, b []byte) string {
	dir := t.TempDir()
	rd := filepath.Join(dir, "repodata")
	os.MkdirAll(rd, 0o755)
	os.WriteFile(filepath.Join(rd, "primary.xml"), []byte(`<metadata packages="0"></metadata>`), 0o644)
	os.WriteFile(filepath.Join(rd, "updateinfo.xml"), b, 0o644)
	os.WriteFile(filepath.Join(rd, "repomd.xml"), []byte(`<repomd><revision>1</revision>`+
		`<data type="primary"><location href="repodata/primary.xml"/></data>`+
		`<data type="updateinfo"><location href="repodata/updateinfo.xml"/></data></repomd>`), 0o644)
	return dir
}

func TestUpdatesRead(t *testing.T) {
	c, err := repo.LoadCatalog(updateinfoRepo(t, []byte(updateinfoSeed)))
	if err != nil {
		t.Fatal(err)
	}
	us, err := c.Updates()
	if err != nil || len(us) != 1 {
		t.Fatalf("%+v %v", us, err)
	}
	u := us[0]
	if u.ID != "ACN-2026-0001" || u.Severity != "Important" || len(u.CVEs) != 1 || len(u.Packages) != 1 || u.Packages[0].NEVRA() != "web-1.4.1-1.noarch" {
		t.Errorf("%+v", u)
	}
	// Past the bound on advisories per package list: an error, not memory.
	big := strings.Replace(updateinfoSeed, "<pkglist>", "<pkglist><collection>"+strings.Repeat(`<package name="x"/>`, 10_001)+"</collection>", 1)
	c, _ = repo.LoadCatalog(updateinfoRepo(t, []byte(big)))
	if _, err := c.Updates(); err == nil {
		t.Error("an update of 10,001 packages was read")
	}
}

// FuzzUpdateinfo: whatever updateinfo.xml a repository holds, reading it
// returns or fails; it never panics.
func FuzzUpdateinfo(f *testing.F) {
	f.Add([]byte(updateinfoSeed))
	f.Add([]byte(`<updates><update><pkglist><collection><package/></collection></pkglist></update></updates>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := repo.LoadCatalog(updateinfoRepo(t, b))
		if err != nil {
			t.Fatal(err)
		}
		c.Updates()
	})
}

// TestUpdatesNotRegular: an updateinfo record naming a named pipe or a
// link out of the repository is an error, read without blocking.
func TestUpdatesNotRegular(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "updateinfo.xml")
	os.WriteFile(outside, []byte(updateinfoSeed), 0o644)
	for name, plant := range map[string]func(string) error{
		"fifo": func(p string) error { return unix.Mkfifo(p, 0o644) },
		"link": func(p string) error { return os.Symlink(outside, p) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := updateinfoRepo(t, []byte(updateinfoSeed))
			p := filepath.Join(dir, "repodata", "updateinfo.xml")
			os.Remove(p)
			if err := plant(p); err != nil {
				t.Fatal(err)
			}
			c, err := repo.LoadCatalog(dir)
			if err != nil {
				t.Fatal(err)
			}
			if us, err := c.Updates(); err == nil {
				t.Errorf("read %d advisories from a %s", len(us), name)
			}
		})
	}
}
