package repo_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

// Tags of the requires list, for the rewrites below.
const (
	tagRequireFlags   = 1048
	tagRequireName    = 1049
	tagRequireVersion = 1050
)

// TestRealLibcRequires gives packages the libc.so.6 requires real
// binaries carry (createrepo_c keeps only the highest) and malformed ones
// (no closing parenthesis), in several orders, and compares acn's
// repodata with createrepo_c's field by field and row by row: which one
// createrepo_c keeps depends on its comparison, which ranks a name without
// ')' below every name with one and keeps the first of two such names.
func TestRealLibcRequires(t *testing.T) {
	top := t.TempDir()
	spec := filepath.Join(top, "base.spec")
	os.WriteFile(spec, []byte(`Name: real-libc
Version: 1.0
Release: 1
Summary: libc requires
License: MIT
BuildArch: noarch
%description
Requires of libc.so.6 in several forms.
%files
`), 0o644)
	rpms := filepath.Join(top, "rpms")
	tooltest.Run(t, "rpmbuild", "-bb", "--quiet",
		"--define", "_topdir "+filepath.Join(top, "top"),
		"--define", "_rpmdir "+rpms,
		"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
		spec)
	base, err := os.ReadFile(filepath.Join(rpms, "real-libc-1.0-1.noarch.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, reqs := range [][]string{
		{"libc.so.6(GLIBC_2.2.5)(64bit)", "libc.so.6(GLIBC_2.14)(64bit)", "libc.so.6()(64bit)", "libc.so.6(GLIBC_PRIVATE)(64bit)", "libc.so.6(GLIBC_2.3.4)(64bit)", "other"},
		{"libc.so.6", "libc.so.6(GLIBC_2.1)", "libc.so.6(GLIBC_2.0)"},
		{"libc.so.6(GLIBC_PRIVATE)", "libc.so.6()", "libc.so.6(64bit)", "libc.so.6(GLIBC_2.4)"},
		{"libc.so.6(GLIBC_2.4", "libc.so.6()"},
		{"libc.so.6()", "libc.so.6(GLIBC_2.4"},
		{"libc.so.6(GLIBC_2.4", "libc.so.6(GLIBC_2.17"},
		{"libc.so.6(GLIBC_2.4", "libc.so.6"},
		{"libc.so.6(", "libc.so.6(GLIBC_2.4)"},
		{"libc.so.6(x)", "libc.so.6(y)", "libc.so.6(GLIBC_2.4)", "libc.so.6(z)"},
		{"libc.so.6", " ", "libc.so.6(GLIBC_2.4) ", "x\xe9", "x\xe9"}, // blank, trailing blank, Latin-1 twice
	} {
		p, err := parseRPM(base)
		if err != nil {
			t.Fatal(err)
		}
		name := "real-libc-" + string(rune('a'+i))
		rename(p, "real-libc", name)
		p.main.setStrings(tagRequireName, reqs)
		p.main.setStrings(tagRequireVersion, make([]string, len(reqs)))
		p.main.setInt32s(tagRequireFlags, make([]uint32, len(reqs)))
		f := filepath.Join(dir, name+"-1.0-1.noarch.rpm")
		if err := os.WriteFile(f, p.bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("rpm", "-qp", "--requires", f).CombinedOutput(); err != nil || !strings.Contains(string(out), "libc.so.6") {
			t.Fatalf("rpm -qp --requires %s: %v\n%s", name, err, out)
		}
	}
	if _, err := repo.Index(context.Background(), dir, repo.Options{SQLite: true}); err != nil {
		t.Fatal(err)
	}
	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--database", "--general-compress-type=gz", "-o", crc, dir)
	sameAsCreaterepo(t, dir, crc)
}

// realSpec has what packages from distributions carry and the corpus
// specs do not: translated summaries, descriptions and groups (the C
// locale's are written), rich and scriptlet-qualified dependencies,
// versions with ~ and ^, markup characters in the URL and in file names,
// and changelog entries sharing a date.
const realSpec = `Name: real-i18n
Version: 1.0
Release: 1
Summary: English summary
Summary(de): Deutsche Zusammenfassung
Summary(fr): Résumé français
Group: Applications/System
Group(de): Anwendungen
License: MIT
URL: https://example.invalid/a&b?c=<d>
BuildArch: noarch
Requires(pretrans): /bin/sh
Requires(posttrans): coreutils
Requires(preun): bash
Requires(postun): grep
Requires(verify): sed
Requires(interp): tar
Requires: (foo or bar)
Requires: ((a and b) or c >= 1.0)
Recommends: rec > 1:2.0-3
Provides: weird-ver = 1.0~rc1^post
Provides: tilde = 0:1
Obsoletes: old < 1.0
Conflicts: conf <= 2
OrderWithRequires: ordered
%description
English description
with  two spaces	tab and trailing space 
%description -l de
Deutsche Beschreibung
%install
mkdir -p %{buildroot}/usr/share/real-i18n "%{buildroot}/usr/share/real-i18n/dir with space"
echo a > "%{buildroot}/usr/share/real-i18n/a&b<c>.txt"
echo b > "%{buildroot}/usr/share/real-i18n/dir with space/f"
echo c > "%{buildroot}/usr/share/real-i18n/%percent"
mkdir -p %{buildroot}/etc %{buildroot}/usr/bin
echo d > %{buildroot}/etc/real-i18n.conf
ln -s ../share/real-i18n/x %{buildroot}/usr/bin/real-i18n-link
%files
%config(noreplace) /etc/real-i18n.conf
/usr/bin/real-i18n-link
/usr/share/real-i18n
%changelog
* Tue Dec 01 2026 A <a@example.invalid> - 1.0-1
- second
* Mon Nov 30 2026 A <a@example.invalid> - 1.0-0
- same time below
* Mon Nov 30 2026 B <b@example.invalid> - 0.9-0
- first with the same date
`

// TestRealLikeMatchesCreaterepo builds realSpec, a nosrc source package
// (NoSource), and a copy of the binary package under a file name with
// markup and URL characters, and compares acn's repodata with
// createrepo_c's field by field and row by row.
func TestRealLikeMatchesCreaterepo(t *testing.T) {
	top := t.TempDir()
	spec := filepath.Join(top, "real.spec")
	os.WriteFile(spec, []byte(realSpec), 0o644)
	nosrc := filepath.Join(top, "nosrc.spec")
	os.WriteFile(nosrc, []byte(`Name: real-nosrc
Version: 1.0
Release: 1
Summary: A source package without its big source
License: MIT
Source0: big.tar
Source1: small.txt
NoSource: 0
%description
NoSource.
%files
`), 0o644)
	os.MkdirAll(filepath.Join(top, "top", "SOURCES"), 0o755)
	os.WriteFile(filepath.Join(top, "top", "SOURCES", "big.tar"), []byte("big\n"), 0o644)
	os.WriteFile(filepath.Join(top, "top", "SOURCES", "small.txt"), []byte("small\n"), 0o644)
	dir := t.TempDir()
	for _, args := range [][]string{{"-bb", spec}, {"-bs", nosrc}} {
		tooltest.Run(t, "rpmbuild", args[0], "--quiet",
			"--define", "_topdir "+filepath.Join(top, "top"),
			"--define", "_rpmdir "+dir,
			"--define", "_srcrpmdir "+dir,
			"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
			args[1])
	}
	other := t.TempDir() // the same package twice would publish nothing
	tooltest.Run(t, "cp", "-p", filepath.Join(dir, "real-i18n-1.0-1.noarch.rpm"), filepath.Join(other, "real i18n&<name>%20+x.rpm"))
	for _, d := range []string{dir, other} {
		if _, err := repo.Index(context.Background(), d, repo.Options{SQLite: true}); err != nil {
			t.Fatal(err)
		}
		crc := t.TempDir()
		tooltest.Run(t, "createrepo_c", "--quiet", "--database", "--general-compress-type=gz", "-o", crc, d)
		sameAsCreaterepo(t, d, crc)
	}
	primary := string(gunzip(t, filepath.Join(dir, readMD(t, dir).Find("primary").Location.Href)))
	for _, want := range []string{"<summary>English summary</summary>", "<arch>src</arch>", `<rpm:entry name="(foo or bar)"/>`} {
		if !strings.Contains(primary, want) {
			t.Errorf("primary.xml has no %s", want)
		}
	}
}

// TestRealLongSizes gives a package the 64-bit sizes rpm writes for
// payloads past 4 GiB (the snapshot of real packages holds none that
// large): LONGSIZE in the main header instead of SIZE, LONGARCHIVESIZE in
// the signature header instead of PAYLOADSIZE, and compares acn's
// repodata with createrepo_c's.
func TestRealLongSizes(t *testing.T) {
	const (
		tagSize        = 1009
		tagLongSize    = 5009
		sigLongArchive = 271
	)
	src := filepath.Join(exactCorpus(t), "exact-layout-2.1-3.x86_64.rpm")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		edit func(p *rpmParts)
	}{
		{"real-longsize", func(p *rpmParts) {
			p.main.del(tagSize)
			p.main.setInt64(tagLongSize, 5<<30+7)
		}},
		{"real-longarchive", func(p *rpmParts) {
			p.sig.del(sigPayloadSize)
			p.sig.setInt64(sigLongArchive, 6<<30+9)
		}},
		{"real-longboth", func(p *rpmParts) {
			p.main.setInt64(tagLongSize, 7<<30)
			p.sig.setInt64(sigLongArchive, 8<<30)
		}},
	} {
		p, err := parseRPM(b)
		if err != nil {
			t.Fatal(err)
		}
		rename(p, "exact-layout", c.name)
		c.edit(p)
		f := filepath.Join(dir, c.name+"-2.1-3.x86_64.rpm")
		if err := os.WriteFile(f, p.bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("rpm", "-qp", "--qf", "%{LONGSIZE} %{LONGARCHIVESIZE}\n", f).CombinedOutput(); err != nil {
			t.Fatalf("rpm -qp %s: %v\n%s", c.name, err, out)
		}
	}
	if _, err := repo.Index(context.Background(), dir, repo.Options{SQLite: true}); err != nil {
		t.Fatal(err)
	}
	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--database", "--general-compress-type=gz", "-o", crc, dir)
	sameAsCreaterepo(t, dir, crc)
	primary := string(gunzip(t, filepath.Join(dir, readMD(t, dir).Find("primary").Location.Href)))
	for _, want := range []string{`installed="5368709127"`, `archive="6442450953"`} {
		if !strings.Contains(primary, want) {
			t.Errorf("primary.xml has no %s", want)
		}
	}
}

// TestRealChangelogPast2038 builds a package whose changelog has entries
// sharing a date past 2^31-1 seconds (2040), and rewrites of it with
// dates at that edge, and compares acn's other.xml and other.sqlite with
// createrepo_c's: createrepo_c moves entries that share a date a second
// apart, starting its count from the date put in a C int, so past 2038
// it moves none; the sqlite dates are C ints too.
func TestRealChangelogPast2038(t *testing.T) {
	const tagChangelogTime = 1080
	top := t.TempDir()
	spec := filepath.Join(top, "y2038.spec")
	os.WriteFile(spec, []byte(`Name: real-y2038
Version: 1.0
Release: 1
Summary: Changelog dates past 2038
License: MIT
BuildArch: noarch
%description
Changelog dates past 2038.
%files
%changelog
* Wed Jan 04 2040 A <a@example.invalid> - 1.0-1
- third
* Wed Jan 04 2040 B <b@example.invalid> - 1.0-0
- second, same date
* Wed Jan 04 2040 C <c@example.invalid> - 0.9-0
- first, same date
* Mon Jan 02 2040 D <d@example.invalid> - 0.8-0
- older
`), 0o644)
	dir := t.TempDir()
	tooltest.Run(t, "rpmbuild", "-bb", "--quiet",
		"--define", "_topdir "+filepath.Join(top, "top"),
		"--define", "_rpmdir "+dir,
		"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
		spec)
	b, err := os.ReadFile(filepath.Join(dir, "real-y2038-1.0-1.noarch.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	for name, times := range map[string][]uint32{
		"real-y2038-edge":  {1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 2},
		"real-y2038-below": {1<<31 - 2, 1<<31 - 2, 1<<31 - 2, 1<<31 - 2},
		"real-y2038-max":   {1<<32 - 1, 1<<32 - 1, 1<<32 - 1, 1 << 31},
	} {
		p, err := parseRPM(b)
		if err != nil {
			t.Fatal(err)
		}
		rename(p, "real-y2038", name)
		p.main.setInt32s(tagChangelogTime, times)
		f := filepath.Join(dir, name+"-1.0-1.noarch.rpm")
		if err := os.WriteFile(f, p.bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("rpm", "-qp", "--changelog", f).CombinedOutput(); err != nil {
			t.Fatalf("rpm -qp %s: %v\n%s", name, err, out)
		}
	}
	if _, err := repo.Index(context.Background(), dir, repo.Options{SQLite: true}); err != nil {
		t.Fatal(err)
	}
	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--database", "--general-compress-type=gz", "-o", crc, dir)
	sameAsCreaterepo(t, dir, crc)
	other := string(gunzip(t, filepath.Join(dir, readMD(t, dir).Find("other").Location.Href)))
	if n := strings.Count(other, `date="2209291200"`); n != 3 {
		t.Errorf("%d entries dated 2209291200, want the 3 of the spec:\n%s", n, other)
	}
}
