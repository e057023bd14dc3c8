package repo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

// The exact corpus holds what createrepo_c writes in its own way:
// Latin-1 header strings, %ghost %dir, files under /, and packages whose
// headers are rewritten into what rpmbuild no longer makes (v3 headers,
// no SOURCERPM, the archive size in the main header).

var (
	exactOnce sync.Once
	exactDir  string
	exactErr  error
)

// Header tags the rewrites touch.
const (
	tagName           = 1000
	tagEpoch          = 1003
	tagSourceRPM      = 1044
	tagArchiveSize    = 1046
	tagProvideName    = 1047
	tagSourcePackage  = 1106
	tagProvideFlags   = 1112
	tagProvideVersion = 1113
	tagDirIndexes     = 1116
	tagBasenames      = 1117
	tagDirnames       = 1118
	tagOldFilenames   = 1027
	sigPayloadSize    = 1007
	tagLongArchive    = 271
)

// A rewrite of one of the corpus packages: from names the package it
// starts from (its name), name the package it becomes.
type rewrite struct {
	from, name string
	srpm       bool
	edit       func(p *rpmParts)
	file       string // the file's name, when not NAME-VERSION-RELEASE.ARCH.rpm
}

// noRegion makes the main header a v3 header: no immutable region.
func noRegion(p *rpmParts) { p.main.region = 0 }

func noProvides(p *rpmParts) { p.main.del(tagProvideName, tagProvideFlags, tagProvideVersion) }

var rewrites = []rewrite{
	// No SOURCERPM: rpm gives a binary package "(none)" and keeps its arch.
	{from: "exact-layout", name: "exact-nosrc", edit: func(p *rpmParts) { p.main.del(tagSourceRPM) }},
	// A binary package that says it is a source package.
	{from: "exact-layout", name: "exact-srcflag", edit: func(p *rpmParts) { p.main.setInt32(tagSourcePackage, 1) }},
	// A source package without the flag: rpm's heuristic finds it.
	{from: "exact-layout", name: "exact-srpm-noflag", srpm: true, edit: func(p *rpmParts) { p.main.del(tagSourcePackage) }},
	// The archive size in the main header only, as rpm < 4.12 wrote it.
	{from: "exact-layout", name: "exact-archive", edit: func(p *rpmParts) {
		size := p.sig.get(sigPayloadSize).int32s()[0]
		p.sig.del(sigPayloadSize, tagLongArchive)
		p.main.setInt32(tagArchiveSize, size)
	}},
	// In both headers: rpm refuses the package, createrepo_c skips it.
	{from: "exact-layout", name: "exact-archive-both", edit: func(p *rpmParts) {
		p.main.setInt32(tagArchiveSize, p.sig.get(sigPayloadSize).int32s()[0])
	}},
	// The 64-bit size in the main header: rpm refuses it too.
	{from: "exact-layout", name: "exact-archive-long", edit: func(p *rpmParts) {
		size := p.sig.get(sigPayloadSize).int32s()[0]
		p.sig.del(sigPayloadSize, tagLongArchive)
		p.main.setInt64(tagLongArchive, uint64(size))
	}},
	// v3 headers: rpm provides name = [epoch:]version-release when the
	// header does not.
	{from: "exact-layout", name: "exact-v3", edit: func(p *rpmParts) { noRegion(p); noProvides(p) }},
	{from: "exact-layout", name: "exact-v3-epoch", edit: func(p *rpmParts) {
		noRegion(p)
		noProvides(p)
		p.main.setInt32(tagEpoch, 3)
	}},
	{from: "exact-layout", name: "exact-v3-other", edit: func(p *rpmParts) {
		noRegion(p)
		p.main.setStrings(tagProvideName, []string{"exact-v3-other-api"})
		p.main.setStrings(tagProvideVersion, []string{"2"})
		p.main.setInt32s(tagProvideFlags, []uint32{8})
	}},
	// Provides that hold name = version-release already: rpm adds it
	// again (its search for it never matches).
	{from: "exact-layout", name: "exact-v3-self", edit: noRegion},
	{from: "exact-layout", name: "exact-v3-found", edit: func(p *rpmParts) {
		noRegion(p)
		p.main.setStrings(tagProvideName, []string{"exact-v3-found", "zzz-other"})
		p.main.setStrings(tagProvideVersion, []string{"2.1-3", "1"})
		p.main.setInt32s(tagProvideFlags, []uint32{8, 8})
	}},
	{from: "exact-layout", name: "exact-v3-unversioned", edit: func(p *rpmParts) {
		noRegion(p)
		p.main.setStrings(tagProvideName, []string{"exact-v3-unversioned-api", "zzz-other"})
		p.main.del(tagProvideVersion, tagProvideFlags)
	}},
	{from: "exact-layout", name: "exact-v3-source", srpm: true, edit: func(p *rpmParts) { noRegion(p); noProvides(p) }},
	// The file list whole (OLDFILENAMES), as rpm --nodirtokens and v3
	// packages have it.
	{from: "exact-layout", name: "exact-oldnames", edit: func(p *rpmParts) {
		dirs := p.main.get(tagDirnames).stringsOf()
		bases := p.main.get(tagBasenames).stringsOf()
		idx := p.main.get(tagDirIndexes).int32s()
		names := make([]string, len(bases))
		for i, b := range bases {
			names[i] = dirs[idx[i]] + b
		}
		p.main.del(tagDirnames, tagBasenames, tagDirIndexes)
		p.main.setStrings(tagOldFilenames, names)
	}},
	{from: "exact-latin", name: "exact-latin-v3", edit: func(p *rpmParts) { noRegion(p); noProvides(p) }},
	// A file name in Latin-1: its location is converted too.
	{from: "exact-layout", name: "exact-filename", edit: func(*rpmParts) {}, file: "exact-filename-caf\xe9-2.1-3.x86_64.rpm"},
	{from: "exact-latin", name: "exact-latin-filename", edit: func(*rpmParts) {}, file: "exact-latin-filename-caf\xe9-1.0-1.noarch.rpm"},
}

// refused are the rewrites rpm does not read.
var refused = []string{"exact-archive-both", "exact-archive-long"}

// rename gives a package another name, in its provides too.
func rename(p *rpmParts, from, to string) {
	p.main.setString(tagName, to)
	if e := p.main.get(tagProvideName); e != nil {
		names := e.stringsOf()
		for i, n := range names {
			if n == from {
				names[i] = to
			}
		}
		p.main.setStrings(tagProvideName, names)
	}
}

// exactCorpus builds testdata/corpus/exact/*.spec (binary and source
// packages) with rpmbuild, then the rewrites, once per test binary.
func exactCorpus(t *testing.T) string {
	t.Helper()
	exactOnce.Do(func() {
		dir, err := os.MkdirTemp("", "acn-exact-*")
		if err != nil {
			exactErr = err
			return
		}
		exactDir = filepath.Join(dir, "rpms")
		specs, _ := filepath.Glob("../testdata/corpus/exact/*.spec")
		for _, s := range specs {
			cmd := exec.Command("rpmbuild", "-ba", "--quiet",
				"--define", "_topdir "+filepath.Join(dir, "top"),
				"--define", "_rpmdir "+exactDir,
				"--define", "_srcrpmdir "+filepath.Join(dir, "srpms"),
				"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
				s)
			if out, err := cmd.CombinedOutput(); err != nil {
				exactErr = fmt.Errorf("rpmbuild %s: %v\n%s", s, err, out)
				return
			}
		}
		for _, r := range rewrites {
			pattern := filepath.Join(exactDir, r.from+"-[0-9]*.rpm")
			if r.srpm {
				pattern = filepath.Join(dir, "srpms", r.from+"-[0-9]*.src.rpm")
			}
			src, _ := filepath.Glob(pattern)
			if len(src) != 1 {
				exactErr = fmt.Errorf("rewrite %s: %s matches %v", r.name, pattern, src)
				return
			}
			b, err := os.ReadFile(src[0])
			if err != nil {
				exactErr = err
				return
			}
			p, err := parseRPM(b)
			if err != nil {
				exactErr = fmt.Errorf("rewrite %s: %v", src[0], err)
				return
			}
			rename(p, r.from, r.name)
			r.edit(p)
			out := filepath.Join(exactDir, r.name+strings.TrimPrefix(filepath.Base(src[0]), r.from))
			if r.file != "" {
				out = filepath.Join(exactDir, r.file)
			}
			if err := os.WriteFile(out, p.bytes(), 0o644); err != nil {
				exactErr = err
				return
			}
		}
		srpms, _ := filepath.Glob(filepath.Join(dir, "srpms", "*.rpm"))
		for _, s := range srpms {
			if err := os.Rename(s, filepath.Join(exactDir, filepath.Base(s))); err != nil {
				exactErr = err
				return
			}
		}
	})
	if exactErr != nil {
		t.Fatal(exactErr)
	}
	return exactDir
}

// exactRepo copies the exact corpus into a new directory, keeping mtimes;
// the packages rpm refuses too when withRefused.
func exactRepo(t *testing.T, withRefused bool) string {
	t.Helper()
	src := exactCorpus(t)
	dst := t.TempDir()
	rpms, _ := filepath.Glob(filepath.Join(src, "*.rpm"))
	for _, r := range rpms {
		if withRefused || !slices.ContainsFunc(refused, func(n string) bool { return strings.HasPrefix(filepath.Base(r), n+"-2") }) {
			tooltest.Run(t, "cp", "-p", r, dst)
		}
	}
	return dst
}

// TestExactRewritesReadByRPM checks that the real rpm reads every
// rewritten package (and refuses the two it must), so that the
// comparisons below are about packages rpm takes as valid.
func TestExactRewritesReadByRPM(t *testing.T) {
	dir := exactCorpus(t)
	for _, r := range rewrites {
		name, _ := filepath.Glob(filepath.Join(dir, r.name+"-[0-9c]*.rpm"))
		if len(name) != 1 {
			t.Fatalf("%s: %v", r.name, name)
		}
		out, err := exec.Command("rpm", "-qp", "--qf", "%{NAME} %{ARCH} %{SOURCERPM}\n", name[0]).CombinedOutput()
		if refuse := slices.Contains(refused, r.name); refuse != (err != nil) {
			t.Errorf("rpm -qp %s: %v (refusal expected: %v)\n%s", r.name, err, refuse, out)
		}
	}
}

// TestExactMatchesCreaterepo indexes the exact corpus with acn and with
// createrepo_c and compares every field of the XML and every row of the
// databases; then checks, apart from createrepo_c, what each case must
// give.
func TestExactMatchesCreaterepo(t *testing.T) {
	dir := exactRepo(t, true)
	res, err := repo.Index(context.Background(), dir, repo.Options{SQLite: true})
	if !errors.Is(err, repo.ErrSkipped) || !errors.Is(err, repo.ErrCorrupt) {
		t.Fatalf("index: %v", err)
	}
	crc := t.TempDir()
	// createrepo_c says it skips the packages rpm refuses, and exits 2.
	exec.Command("createrepo_c", "--quiet", "--general-compress-type=gz", "-o", crc, dir).Run()
	sameAsCreaterepo(t, dir, crc)
	// Again from the cache of the first run: the same.
	if _, err := repo.Index(context.Background(), dir, repo.Options{SQLite: true, Revision: "2"}); !errors.Is(err, repo.ErrSkipped) {
		t.Fatalf("index again: %v", err)
	}
	sameAsCreaterepo(t, dir, crc)
	if len(res.Skipped) != len(refused) {
		t.Errorf("skipped %v, want the %d rpm refuses", res.Skipped, len(refused))
	}
	for _, r := range refused {
		if !strings.Contains(fmt.Sprint(res.Skipped), r) {
			t.Errorf("%s not skipped: %v", r, res.Skipped)
		}
	}

	primary := string(gunzip(t, filepath.Join(dir, readMD(t, dir).Find("primary").Location.Href)))
	filelists := string(gunzip(t, filepath.Join(dir, readMD(t, dir).Find("filelists").Location.Href)))
	other := string(gunzip(t, filepath.Join(dir, readMD(t, dir).Find("other").Location.Href)))
	pkg := func(name string) string { // the binary package of that name, or the source one
		var found string
		for _, p := range strings.Split(primary, "<package ")[1:] {
			if strings.Contains(p, "<name>"+name+"</name>") && (found == "" || !strings.Contains(p, "<arch>src</arch>")) {
				found = p
			}
		}
		if found == "" {
			t.Fatalf("%s not in primary.xml", name)
		}
		return found
	}
	for _, c := range []struct{ name, want string }{
		{"exact-latin", `<rpm:entry name="caf&#xE9;-api" flags="EQ" epoch="0" ver="1.0"/>`},
		{"exact-latin", `<rpm:entry name="cr&#xE8;me" flags="GE" epoch="0" ver="2"/>`},
		{"exact-latin", `<rpm:entry name="mixed-&#xC3;t&#xE9;"/>`}, // converted whole, as createrepo_c does
		{"exact-latin", "<packager>René Empaqueteur"},
		{"exact-latin", "<rpm:vendor>Vendeur français</rpm:vendor>"},
		{"exact-latin", "<file>/usr/bin/café</file>"},
		{"exact-layout", `<file type="dir">/etc/exact-layout.d</file>`},
		{"exact-layout", `<file type="ghost">/usr/bin/exact-layout-ghost</file>`},
		{"exact-nosrc", "<arch>x86_64</arch>"},
		{"exact-nosrc", "<rpm:sourcerpm>(none)</rpm:sourcerpm>"},
		{"exact-srcflag", "<arch>src</arch>"},
		{"exact-srpm-noflag", "<arch>src</arch>"},
		{"exact-v3", `<rpm:entry name="exact-v3" flags="EQ" epoch="0" ver="2.1" rel="3"/>`},
		{"exact-v3-epoch", `<rpm:entry name="exact-v3-epoch" flags="EQ" epoch="3" ver="2.1" rel="3"/>`},
		{"exact-v3-other", `<rpm:entry name="exact-v3-other" flags="EQ" epoch="0" ver="2.1" rel="3"/>`},
		{"exact-v3-unversioned", `<rpm:entry name="exact-v3-unversioned" flags="EQ" epoch="0" ver="2.1" rel="3"/>`},
	} {
		if !strings.Contains(pkg(c.name), c.want) {
			t.Errorf("%s: no %s in\n%s", c.name, c.want, pkg(c.name))
		}
	}
	if strings.Contains(pkg("exact-v3-source"), "<rpm:provides>") {
		t.Errorf("a v3 source package provides itself:\n%s", pkg("exact-v3-source"))
	}
	for name, want := range map[string]int{"exact-v3-self": 2, "exact-v3-found": 2} {
		if n := strings.Count(pkg(name), `name="`+name+`" flags="EQ"`); n != want {
			t.Errorf("%s provides itself %d times, want %d", name, n, want)
		}
	}
	if !strings.Contains(pkg("exact-archive"), `archive="`) || strings.Contains(pkg("exact-archive"), `archive="0"`) {
		t.Errorf("exact-archive: %s", pkg("exact-archive"))
	}
	if !strings.Contains(pkg("exact-filename"), `<location href="exact-filename-caf&#xE9;-2.1-3.x86_64.rpm"/>`) {
		t.Errorf("exact-filename: %s", pkg("exact-filename"))
	}
	for _, want := range []string{`<file type="dir">/run/exact-layout</file>`, "<file>/exact-layout.conf</file>",
		"<file>/usr/share/exact-latin/déjà-vu.txt</file>", "<file>/usr/share/exact-latin/répertoire/fichier</file>"} {
		if !strings.Contains(filelists, want) {
			t.Errorf("filelists.xml has no %s", want)
		}
	}
	for _, want := range []string{`author="Fran&#xE7;ois L&#xE9;ger &lt;francois@example.invalid&gt; - 1.0-1"`, "Première version, très réussie."} {
		if !strings.Contains(other, want) {
			t.Errorf("other.xml has no %s", want)
		}
	}
}

// TestExactDnfFindsLatin1Path asks the real dnf for the package owning a
// path with Latin-1 bytes, in acn's repository, as the issue found it
// failing.
func TestExactDnfFindsLatin1Path(t *testing.T) {
	dir := exactRepo(t, false)
	index(t, dir, repo.Options{})
	root := t.TempDir()
	for _, path := range []string{"/usr/bin/café", "/usr/share/exact-latin/déjà-vu.txt"} {
		out := tooltest.Run(t, "dnf", "-q", "--releasever=9", "--setopt=reposdir="+filepath.Join(root, "repos.d"),
			"--setopt=cachedir="+filepath.Join(root, "cache"), "--installroot="+filepath.Join(root, "root"),
			"--repofrompath=exact,file://"+dir, "--repo=exact", "repoquery", "--qf", "%{name}", "--whatprovides", path)
		if strings.Join(strings.Fields(out), " ") != "exact-latin exact-latin-filename exact-latin-v3" {
			t.Errorf("dnf repoquery --whatprovides %s: %q", path, out)
		}
	}
}
