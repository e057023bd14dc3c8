package repo_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

const testUpdateinfo = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="ops@example.com" status="stable" type="security" version="1">
    <id>TEST-2026-0001</id>
    <title>gamma security update</title>
    <severity>Important</severity>
    <issued date="2026-01-01 00:00:00"/>
    <description>Fix.</description>
    <pkglist>
      <collection short="x">
        <name>x</name>
        <package name="gamma" version="1.0" release="1" epoch="0" arch="noarch" src="gamma-1.0-1.src.rpm">
          <filename>gamma-1.0-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
`

const testComps = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>testgroup</id>
    <name>Test Group</name>
    <description>A test group.</description>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">gamma</packagereq>
    </packagelist>
  </group>
</comps>
`

const testModules = `---
document: modulemd
version: 2
data:
  name: testmod
  stream: "1"
  version: 1
  context: c0ffee42
  arch: x86_64
  summary: A test module
  description: A test module.
  license:
    module: [MIT]
  profiles:
    default:
      rpms: [beta]
  artifacts:
    rpms:
      - beta-0:2.0-1.x86_64
...
`

// modifyrepo adds a file with the given content to dir's metadata with
// the real modifyrepo_c.
func modifyrepo(t *testing.T, dir, name, content string, args ...string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	os.WriteFile(f, []byte(content), 0o644)
	tooltest.Run(t, "modifyrepo_c", append(args, f, filepath.Join(dir, "repodata"))...)
}

// foreign returns the records of md that are not acn's package metadata.
func foreign(md *repo.Repomd) map[string]repo.RepomdData {
	out := map[string]repo.RepomdData{}
	for _, d := range md.Data {
		switch d.Type {
		case "primary", "filelists", "other", "primary_db", "filelists_db", "other_db":
		default:
			out[d.Type] = d
		}
	}
	return out
}

// listing names everything in dir/repodata, hidden files too.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "repodata"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestForeignRecordsSurvive: records modifyrepo_c added (updateinfo, a
// comps group, modules, an uncompressed record of a type acn does not
// know) stay in repomd.xml, unchanged, through every way acn
// republishes, and dnf still sees the advisory, the group and the module.
func TestForeignRecordsSurvive(t *testing.T) {
	dir := repoDir(t)
	ctx := context.Background()
	index(t, dir, repo.Options{})
	modifyrepo(t, dir, "updateinfo.xml", testUpdateinfo)
	modifyrepo(t, dir, "comps.xml", testComps, "--mdtype=group")
	modifyrepo(t, dir, "modules.yaml", testModules, "--mdtype=modules")
	modifyrepo(t, dir, "extra.txt", "anything\n", "--mdtype=acn-test-extra", "--no-compress")
	want := foreign(readMD(t, dir))
	if len(want) != 4 || want["acn-test-extra"].OpenChecksum.Type != "" {
		t.Fatalf("modifyrepo_c wrote %+v", want)
	}
	root := dnfRoot(t, "file://"+dir)
	dnf(t, root, "--setopt=tsflags=noscripts", "install", "gamma")
	check := func(step string) {
		t.Helper()
		md := readMD(t, dir)
		if got := foreign(md); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: records of modifyrepo_c\n got %+v\nwant %+v", step, got, want)
		}
		for _, d := range want {
			if !exists(filepath.Join(dir, d.Location.Href)) {
				t.Errorf("%s: %s was removed", step, d.Location.Href)
			}
		}
		if out := dnf(t, root, "updateinfo", "list", "--all"); !strings.Contains(out, "TEST-2026-0001") {
			t.Errorf("%s: dnf updateinfo list:\n%s", step, out)
		}
		if out := dnf(t, root, "group", "list"); !strings.Contains(out, "Test Group") {
			t.Errorf("%s: dnf group list:\n%s", step, out)
		}
		if out := dnf(t, root, "module", "list"); !strings.Contains(out, "testmod") {
			t.Errorf("%s: dnf module list:\n%s", step, out)
		}
		if _, err := repo.Verify(ctx, dir, nil); err != nil {
			t.Errorf("%s: %v", step, err)
		}
	}
	check("modifyrepo_c")

	// Unchanged packages: repomd.xml and repodata/ stay as they are.
	before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	files := listing(t, dir)
	for _, o := range []repo.Options{{Update: true}, {}} {
		if res := index(t, dir, o); res.Changed {
			t.Errorf("update %v: nothing changed, but published %s", o.Update, res.Revision)
		}
		after, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
		if !bytes.Equal(before, after) || !slices.Equal(files, listing(t, dir)) {
			t.Errorf("update %v: repodata changed: %v, then %v", o.Update, files, listing(t, dir))
		}
	}
	check("unchanged")

	os.Remove(filepath.Join(dir, "alpha-1.2.3-4.el9.noarch.rpm"))
	if res := index(t, dir, repo.Options{Update: true}); !res.Changed || res.Packages != 4 {
		t.Errorf("a package removed: %+v", res)
	}
	check("index --update")
	index(t, dir, repo.Options{Compress: "xz", SQLite: true})
	check("index --compress xz --sqlite")

	// The daemon's way: Add and Prune.
	addOne(t, dir, buildRPM(t, "hello", "1.0", "1", "one"), repo.AddOptions{})
	check("add")
	addOne(t, dir, buildRPM(t, "hello", "1.1", "1", "two"), repo.AddOptions{})
	if _, err := repo.Prune(ctx, dir, repo.AddOptions{Keep: 1}); err != nil {
		t.Fatal(err)
	}
	if p := published(t, dir); slices.Contains(p, "hello-1.0-1.noarch.rpm") {
		t.Errorf("prune kept hello 1.0: %v", p)
	}
	check("prune")
}

// TestForeignRecordRetention: the file of another tool's record stays
// while a retained generation names it, even through the leftover
// cleanup, and goes with the last generation that names it; a record
// whose file is missing is not published again.
func TestForeignRecordRetention(t *testing.T) {
	dir := repoDir(t)
	clock := time.Unix(2_000_000_000, 0)
	o := repo.Options{Update: true, Now: func() time.Time { return clock }, RetainOldMD: new(1), RetainOldMDByAge: new(time.Duration(0))}
	next := func(drop string) *repo.Result {
		t.Helper()
		clock = clock.Add(time.Minute)
		if drop != "" {
			os.Remove(filepath.Join(dir, drop))
		}
		return index(t, dir, o)
	}
	next("")
	modifyrepo(t, dir, "updateinfo.xml", testUpdateinfo)
	u := readMD(t, dir).Find("updateinfo").Location.Href
	next("alpha-1.2.3-4.el9.noarch.rpm")
	if d := readMD(t, dir).Find("updateinfo"); d == nil || d.Location.Href != u {
		t.Fatalf("updateinfo not carried: %+v", d)
	}
	// The record leaves repomd.xml (edited by hand; modifyrepo_c would
	// remove the file at once), its file stays.
	name := filepath.Join(dir, "repodata", "repomd.xml")
	b, _ := os.ReadFile(name)
	s := string(b)
	start := strings.Index(s, `  <data type="updateinfo">`)
	end := start + strings.Index(s[start:], "</data>\n") + len("</data>\n")
	os.WriteFile(name, []byte(s[:start]+s[end:]), 0o644)

	res := next("beta-2.0-1.x86_64.rpm")
	if readMD(t, dir).Find("updateinfo") != nil {
		t.Error("a record that left repomd.xml came back")
	}
	if !exists(filepath.Join(dir, u)) {
		t.Fatalf("%s removed while the previous generation names it (removed %v)", u, res.Removed)
	}
	if res := next("beta-2.0-1.x86_64.rpm"); res.Changed || !exists(filepath.Join(dir, u)) { // nothing changes: nothing expires
		t.Fatalf("%s removed by an unchanged run", u)
	}
	res = next("gamma-1.0-1.noarch.rpm")
	if exists(filepath.Join(dir, u)) || !slices.Contains(res.Removed, u) {
		t.Errorf("%s outlived every generation that names it (removed %v)", u, res.Removed)
	}

	// A record whose file is gone: left out, with a warning.
	modifyrepo(t, dir, "extra.txt", "anything\n", "--mdtype=acn-test-extra", "--no-compress")
	extra := readMD(t, dir).Find("acn-test-extra").Location.Href
	os.Remove(filepath.Join(dir, extra))
	res = next("")
	if readMD(t, dir).Find("acn-test-extra") != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Error(), extra) {
		t.Errorf("a record without its file: warnings %v", res.Warnings)
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Error(err)
	}
}

// TestRetainZero: zero generations and zero age keep nothing old.
func TestRetainZero(t *testing.T) {
	dir := repoDir(t)
	o := repo.Options{Update: true, RetainOldMD: new(0), RetainOldMDByAge: new(time.Duration(0))}
	for _, drop := range []string{"", "alpha-1.2.3-4.el9.noarch.rpm", "beta-2.0-1.x86_64.rpm"} {
		if drop != "" {
			os.Remove(filepath.Join(dir, drop))
		}
		res := index(t, dir, o)
		want := []string{"repomd.xml"}
		for _, d := range res.Repomd.Data {
			want = append(want, filepath.Base(d.Location.Href))
		}
		slices.Sort(want)
		if got := listing(t, dir); !slices.Equal(got, want) {
			t.Errorf("after dropping %q: repodata holds %v, want %v", drop, got, want)
		}
	}
}

// TestUpdateWritesNothingUnchanged: an unchanged repository gets no new
// file, whoever wrote its metadata and however it is compressed.
func TestUpdateWritesNothingUnchanged(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(dir string)
		o     repo.Options
	}{
		{"createrepo_c", func(dir string) { tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", dir) }, repo.Options{}},
		{"acn-sqlite-xz", func(dir string) { index(t, dir, repo.Options{SQLite: true, Compress: "xz"}) }, repo.Options{SQLite: true, Compress: "xz"}},
		{"acn-sha512-zstd", func(dir string) { index(t, dir, repo.Options{Checksum: "sha512", Compress: "zstd"}) }, repo.Options{Checksum: "sha512", Compress: "zstd"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := repoDir(t)
			tt.setup(dir)
			before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
			files := listing(t, dir)
			for _, update := range []bool{true, false} {
				o := tt.o
				o.Update = update
				if res := index(t, dir, o); res.Changed {
					t.Errorf("update %v: republished", update)
				}
				after, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
				if got := listing(t, dir); !bytes.Equal(before, after) || !slices.Equal(got, files) {
					t.Errorf("update %v: repodata/ was %v, is %v", update, files, got)
				}
			}
		})
	}
}

// TestExcludesMatchCreaterepo: --excludes leaves out what createrepo_c's
// does, directory names included.
func TestExcludesMatchCreaterepo(t *testing.T) {
	src := corpus(t)
	dir := t.TempDir()
	place := map[string]string{"alpha": "debug", "beta": "debug/x", "gamma": "sub/debug", "delta": "keep", "fakebase": "."}
	for prefix, sub := range place {
		m, _ := filepath.Glob(filepath.Join(src, prefix+"-*.rpm"))
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		tooltest.Run(t, "cp", "-p", m[0], filepath.Join(dir, sub))
	}
	locations := func(d string) []string {
		cat, err := repo.LoadCatalog(d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range cat.Entries {
			out = append(out, e.Location)
		}
		slices.Sort(out)
		return out
	}
	for _, ex := range []string{"debug", "debug/*", "*debug*", "*/debug/*", "gamma*", "?eta*", "keep", "*.noarch.rpm", "[ab]*"} {
		os.RemoveAll(filepath.Join(dir, "repodata"))
		index(t, dir, repo.Options{Excludes: []string{ex}})
		ours := locations(dir)
		crc := t.TempDir()
		tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", "-o", crc, "--excludes", ex, dir)
		theirs := locations(crc)
		if ex == "[ab]*" {
			// Go's path.Match classes, which acn took before: a superset.
			if len(ours) != 3 || len(theirs) != 5 {
				t.Errorf("--excludes %q: acn %v, createrepo_c %v", ex, ours, theirs)
			}
			continue
		}
		if !slices.Equal(ours, theirs) {
			t.Errorf("--excludes %q: acn %v, createrepo_c %v", ex, ours, theirs)
		}
	}
	// A directory by its path, which createrepo_c does not take.
	for _, ex := range []string{"sub/debug", "sub/debug/"} {
		os.RemoveAll(filepath.Join(dir, "repodata"))
		index(t, dir, repo.Options{Excludes: []string{ex}})
		if got := locations(dir); len(got) != 4 || slices.Contains(got, "sub/debug/gamma-1.0-1.noarch.rpm") {
			t.Errorf("--excludes %q: %v", ex, got)
		}
	}
}

// TestVerifyXMLBase: acn verify follows xml:base to an HTTP listener, and
// to the repository itself.
func TestVerifyXMLBase(t *testing.T) {
	ctx := context.Background()
	dir := repoDir(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	index(t, dir, repo.Options{BaseURL: srv.URL + "/"})
	for _, src := range []string{dir, srv.URL, srv.URL + "/"} {
		if res, err := repo.Verify(ctx, src, nil); err != nil || res.Packages != 5 {
			t.Errorf("--baseurl %s, verify %s: %+v %v", srv.URL, src, res, err)
		}
	}
	// The packages are fetched from the base: one damaged there is found.
	gamma := filepath.Join(dir, "gamma-1.0-1.noarch.rpm")
	good, _ := os.ReadFile(gamma)
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	os.WriteFile(gamma, bad, 0o644)
	if _, err := repo.Verify(ctx, dir, nil); err == nil || !strings.Contains(err.Error(), srv.URL+"/gamma-1.0-1.noarch.rpm") {
		t.Errorf("a damaged package behind xml:base: %v", err)
	}
	os.WriteFile(gamma, good, 0o644)

	index(t, dir, repo.Options{BaseURL: "file://" + dir})
	if res, err := repo.Verify(ctx, dir, nil); err != nil || res.Packages != 5 {
		t.Errorf("--baseurl file://%s: %+v %v", dir, res, err)
	}
	// Over HTTP, a file:// base is not read from this machine.
	if _, err := repo.Verify(ctx, srv.URL, nil); err == nil || !strings.Contains(err.Error(), "not read for a remote repository") {
		t.Errorf("remote repository with a file:// base: %v", err)
	}

	// mergerepo_c's output names the repositories it merged.
	a, b, merged := repoDir(t), t.TempDir(), t.TempDir()
	for _, m := range []string{"gamma-*.rpm", "sub/delta-*.rpm"} {
		f, _ := filepath.Glob(filepath.Join(a, m))
		tooltest.Run(t, "mv", f[0], b)
	}
	tooltest.Run(t, "createrepo_c", "--quiet", a)
	tooltest.Run(t, "createrepo_c", "--quiet", b)
	tooltest.Run(t, "mergerepo_c", "--repo", "file://"+a, "--repo", "file://"+b, "-o", merged)
	if res, err := repo.Verify(ctx, merged, nil); err != nil || res.Packages != 5 {
		t.Errorf("mergerepo_c output: %+v %v", res, err)
	}
}

// TestVerifyDuplicates: the same package at two locations is a warning,
// as dnf accepts it.
func TestVerifyDuplicates(t *testing.T) {
	ctx := context.Background()
	dir := repoDir(t)
	tooltest.Run(t, "cp", "-p", filepath.Join(dir, "gamma-1.0-1.noarch.rpm"), filepath.Join(dir, "sub"))
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	tooltest.Run(t, "cp", buildRPM(t, "same", "1.0", "1", "one"), filepath.Join(dir, "a"))
	tooltest.Run(t, "cp", buildRPM(t, "same", "1.0", "1", "two"), filepath.Join(dir, "b"))
	tooltest.Run(t, "createrepo_c", "--quiet", dir)
	res, err := repo.Verify(ctx, dir, nil)
	if err != nil || res.Packages != 8 {
		t.Fatalf("verify: %+v %v", res, err)
	}
	w := strings.Join(res.Warnings, "\n")
	if len(res.Warnings) != 2 || !strings.Contains(w, "gamma-1.0-1.noarch.rpm, sub/gamma-1.0-1.noarch.rpm") ||
		!strings.Contains(w, "same-0:1.0-1.noarch is at 2 locations with different contents: a/same-1.0-1.noarch.rpm, b/same-1.0-1.noarch.rpm") {
		t.Errorf("warnings:\n%s", w)
	}
	root := dnfRoot(t, "file://"+dir)
	if out := dnf(t, root, "repoquery", "--qf", "%{name}"); !strings.Contains(out, "same") {
		t.Errorf("dnf repoquery:\n%s", out)
	}
}

// TestGroupFileDroppedIsNotCarried: acn's own group records go when
// --groupfile does (they are not carried as another tool's), and acn's
// replace modifyrepo_c's of the same type.
func TestGroupFileDroppedIsNotCarried(t *testing.T) {
	dir := repoDir(t)
	comps := filepath.Join(t.TempDir(), "comps.xml")
	os.WriteFile(comps, []byte(testComps), 0o644)
	index(t, dir, repo.Options{})
	modifyrepo(t, dir, "comps.xml", strings.Replace(testComps, "Test Group", "Their Group", 1), "--mdtype=group")
	theirs := readMD(t, dir).Find("group").Location.Href
	index(t, dir, repo.Options{GroupFile: comps})
	md := readMD(t, dir)
	if d := md.Find("group"); d == nil || d.Location.Href == theirs || md.Find("group_gz") == nil {
		t.Fatalf("--groupfile: %+v", md.Data)
	}
	groups := 0
	for _, d := range md.Data {
		if strings.HasPrefix(d.Type, "group") {
			groups++
		}
	}
	if groups != 2 {
		t.Errorf("%d group records: %+v", groups, md.Data)
	}
	root := dnfRoot(t, "file://"+dir)
	if out := dnf(t, root, "group", "list"); !strings.Contains(out, "Test Group") || strings.Contains(out, "Their Group") {
		t.Errorf("dnf group list:\n%s", out)
	}
	index(t, dir, repo.Options{Update: true})
	if md := readMD(t, dir); md.Find("group") != nil || md.Find("group_gz") != nil {
		t.Errorf("--groupfile dropped, group records stay: %+v", md.Data)
	}
}
