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
