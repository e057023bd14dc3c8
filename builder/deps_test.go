package builder_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/specs"
)

// wireSpec builds the comparison tree: a shared library with a soname and
// symbol versions, a program linked to it and libm, a static program,
// scripts with #! lines, a .pc file and a Python dist-info.
const wireSpec = `name: adwire
version: "1.0"
release: "1"
arch: x86_64
summary: Automatic dependencies against rpmbuild
license: MIT
debuginfo: false
build:
  - gcc -shared -fPIC -Wl,-soname,libfoo.so.1 -Wl,--version-script=src/foo.map -o libfoo.so.1 src/foo.c
  - gcc -Wl,--no-as-needed -o prog src/prog.c -L. -l:libfoo.so.1 -lm
  - gcc -static -o static src/static.c
  - install -D -m755 libfoo.so.1 "$DESTDIR/usr/lib64/libfoo.so.1"
  - ln -s libfoo.so.1 "$DESTDIR/usr/lib64/libfoo.so"
  - install -D -m755 prog "$DESTDIR/usr/bin/prog"
  - install -D -m755 static "$DESTDIR/usr/bin/static"
  - install -m755 src/s-sh src/s-env src/s-py "$DESTDIR/usr/bin/"
  - install -D -m644 src/foo.pc "$DESTDIR/usr/lib64/pkgconfig/foo.pc"
  - install -D -m644 src/METADATA "$DESTDIR/usr/lib/python3.11/site-packages/demo_pkg-1.2.0.dist-info/METADATA"
  - install -D -m644 src/init.py "$DESTDIR/usr/lib/python3.11/site-packages/demo_pkg/__init__.py"
files:
  - {src: $DESTDIR/usr/lib64/libfoo.so.1, dst: /usr/lib64/libfoo.so.1}
  - {src: $DESTDIR/usr/lib64/libfoo.so, dst: /usr/lib64/libfoo.so}
  - {src: $DESTDIR/usr/bin/prog, dst: /usr/bin/prog}
  - {src: $DESTDIR/usr/bin/static, dst: /usr/bin/static}
  - {src: $DESTDIR/usr/bin/s-sh, dst: /usr/bin/s-sh}
  - {src: $DESTDIR/usr/bin/s-env, dst: /usr/bin/s-env}
  - {src: $DESTDIR/usr/bin/s-py, dst: /usr/bin/s-py}
  - {src: $DESTDIR/usr/lib64/pkgconfig/foo.pc, dst: /usr/lib64/pkgconfig/foo.pc}
  - {src: $DESTDIR/usr/lib/python3.11/site-packages/demo_pkg-1.2.0.dist-info, dst: /usr/lib/python3.11/site-packages/demo_pkg-1.2.0.dist-info}
  - {src: $DESTDIR/usr/lib/python3.11/site-packages/demo_pkg, dst: /usr/lib/python3.11/site-packages/demo_pkg}
  - {src: LICENSE, dst: /usr/share/licenses/adwire/LICENSE, type: license}
`

func wireRepo(t *testing.T, spec string) *gittest.Repo {
	t.Helper()
	r := gittest.New(t)
	r.Commit("adwire", map[string]string{
		"specs/adwire.yaml": spec,
		"LICENSE":           "MIT License\n",
		"src/foo.c":         "#include <stdio.h>\nint foo_v1(void) { return 1; }\nint foo_v2(void) { puts(\"x\"); return 2; }\n",
		"src/foo.map":       "FOO_1.0 { global: foo_v1; local: *; };\nFOO_2.0 { global: foo_v2; } FOO_1.0;\n",
		"src/prog.c":        "#include <math.h>\n#include <stdio.h>\nint foo_v2(void);\nint main(int c, char **v) { printf(\"%f %d\\n\", sqrt((double)c), foo_v2()); return 0; }\n",
		"src/static.c":      "#include <stdio.h>\nint main(void) { puts(\"static\"); return 0; }\n",
		"src/s-sh":          "#!/bin/sh\necho hi\n",
		"src/s-env":         "#!/usr/bin/env bash\necho hi\n",
		"src/s-py":          "#!/usr/bin/python3\nprint(1)\n",
		"src/foo.pc":        "prefix=/usr\nlibdir=${prefix}/lib64\nName: foo\nDescription: demo\nVersion: 1.0.3\nRequires: zlib >= 1.2\nLibs: -L${libdir} -lfoo\n",
		"src/METADATA":      "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.2.0\nRequires-Dist: requests (>=2.0)\nRequires-Dist: six\n",
		"src/init.py":       "x = 1\n",
	})
	return r
}

// rpmbuildSame packages the payload of rpm (its files, modes and
// directories, without the build-id links rpmbuild makes itself) with
// rpmbuild, automatic dependencies on, and returns the package.
func rpmbuildSame(t *testing.T, rpm, extra string) string {
	t.Helper()
	tree := extract(t, rpm)
	shell(t, "rm -rf "+filepath.Join(tree, "usr/lib/.build-id"))
	var files strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(qf(t, rpm, "[%{FILENAMES}\t%{FILEMODES:perms}\t%{FILEFLAGS:fflags}\n]")), "\n") {
		f := strings.Split(l, "\t")
		switch {
		case strings.HasPrefix(f[0], "/usr/lib/.build-id"):
		case strings.HasPrefix(f[1], "d"):
			fmt.Fprintf(&files, "%%dir %s\n", f[0])
		case strings.Contains(f[2], "l"):
			fmt.Fprintf(&files, "%%license %s\n", f[0])
		default:
			fmt.Fprintf(&files, "%s\n", f[0])
		}
	}
	top := t.TempDir()
	spec := fmt.Sprintf(`Name: adwire
Version: 1.0
Release: 1
Summary: Automatic dependencies against rpmbuild
License: MIT
%%global debug_package %%{nil}
%%global __os_install_post %%{nil}
%s
%%description
Reference.
%%install
cp -a %s/. %%{buildroot}/
%%files
%s`, extra, tree, strings.ReplaceAll(files.String(), "%license /usr/share/licenses/adwire/LICENSE", "%license %{buildroot}/usr/share/licenses/adwire/LICENSE"))
	spec = strings.ReplaceAll(spec, "%license %{buildroot}/usr/share/licenses/adwire/LICENSE\n", "/usr/share/licenses/adwire/LICENSE\n")
	specFile := filepath.Join(top, "adwire.spec")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	tooltest.Run(t, "rpmbuild", "-bb", "--quiet", "--define", "_topdir "+top, specFile)
	return filepath.Join(top, "RPMS", "x86_64", "adwire-1.0-1.x86_64.rpm")
}

// lineSet is the sorted, deduplicated set of s's lines without the
// rpmlib() requires.
func lineSet(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !strings.Contains(l, "rpmlib(") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestAutoDepsAsRpmbuild: the same tree packaged by rpmbuild and by acn
// has the same requires, provides, per-file dependencies, classes and
// colors; dnf refuses acn's package for the missing libc and installs it
// with a stand-in for it; rpmlint finds nothing it does not find in
// rpmbuild's package; the build is reproducible.
func TestAutoDepsAsRpmbuild(t *testing.T) {
	r := wireRepo(t, wireSpec)
	res, err := build(t, r, "HEAD", "adwire", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acn := res.Path
	ref := rpmbuildSame(t, acn, "")
	for _, q := range []string{"--requires", "--provides", "--filerequire", "--fileprovide", "--fileclass", "--filecolor"} {
		got := lineSet(tooltest.Run(t, "rpm", "-qp", q, acn))
		want := lineSet(tooltest.Run(t, "rpm", "-qp", q, ref))
		if !slices.Equal(got, want) {
			t.Errorf("rpm -qp %s:\n acn:      %q\n rpmbuild: %q", q, got, want)
		}
	}
	for _, want := range []string{"libc.so.6()(64bit)", "libm.so.6()(64bit)", "libfoo.so.1()(64bit)", "libfoo.so.1(FOO_2.0)(64bit)", "rtld(GNU_HASH)",
		"/bin/sh", "/usr/bin/env", "/usr/bin/python3", "pkgconfig(zlib) >= 1.2", "python(abi) = 3.11", "python3.11dist(requests) >= 2"} {
		if !slices.Contains(lineSet(tooltest.Run(t, "rpm", "-qp", "--requires", acn)), want) {
			t.Errorf("acn's package does not require %q", want)
		}
	}
	sameIndexes(t, acn, ref)
	if got := qf(t, acn, "%{HEADERCOLOR}"); got != "2" {
		t.Errorf("HEADERCOLOR %s, want 2", got)
	}
	if got, want := qf(t, acn, "%{FILECOLORS}|%{CLASSDICT}|%{FILEDEPENDSX}|%{DEPENDSDICT}"), qf(t, ref, "%{FILECOLORS}|%{CLASSDICT}|%{FILEDEPENDSX}|%{DEPENDSDICT}"); got == "(none)|(none)|(none)|(none)" || got == "" || want == "" {
		t.Errorf("no per-file tags: %q (rpmbuild %q)", got, want)
	}

	// rpmlint: no error that rpmbuild's package of the same tree lacks.
	lint := func(rpm string) map[string]bool {
		out, _ := exec.Command("rpmlint", rpm).CombinedOutput()
		m := map[string]bool{}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, ": E: ") || strings.Contains(l, "unstripped") {
				m[l] = true
			}
		}
		return m
	}
	refLint := lint(ref)
	for l := range lint(acn) {
		if !refLint[l] {
			t.Errorf("rpmlint on acn's package only: %s", l)
		}
	}

	// dnf: refused in an empty root for the missing libc, installed with
	// a stand-in that provides what the host's glibc and tools would.
	repoDir := t.TempDir()
	tooltest.Run(t, "cp", acn, repoDir)
	tooltest.Run(t, "createrepo_c", "-q", repoDir)
	dnf := func(root string) ([]byte, error) {
		return exec.Command("dnf", "-y", "-q", "--releasever=9", "--setopt=reposdir="+t.TempDir(), "--setopt=cachedir="+t.TempDir(),
			"--installroot="+root, "--repofrompath=w,file://"+repoDir, "--repo=w", "--nogpgcheck",
			"--setopt=tsflags=noscripts", "install", "adwire").CombinedOutput()
	}
	out, err := dnf(filepath.Join(t.TempDir(), "root"))
	if err == nil || !strings.Contains(string(out), "nothing provides libc.so.6") {
		t.Errorf("dnf installed acn's package without libc: %v\n%s", err, out)
	}
	tooltest.Run(t, "cp", tooltest.StandIn(t, acn), repoDir)
	tooltest.Run(t, "createrepo_c", "-q", "--update", repoDir)
	root := filepath.Join(t.TempDir(), "root")
	if out, err := dnf(root); err != nil {
		t.Fatalf("dnf install with the stand-in: %v\n%s", err, out)
	}
	tooltest.Run(t, "rpm", "--root", root, "-q", "adwire", "standin")

	// Same ref, same bytes.
	again, err := build(t, r, "HEAD", "adwire", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(acn)
	b, _ := os.ReadFile(again.Path)
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same ref differ")
	}
}

// TestAutoDepsOptionsAsRpmbuild: autoreq: false and the exclude keys give
// what AutoReq: no and the %__*_exclude* macros give rpmbuild.
func TestAutoDepsOptionsAsRpmbuild(t *testing.T) {
	for _, tt := range []struct{ name, yaml, rpmbuild, absent, comp string }{
		// rpmbuild adds rpmlib(PayloadIsXz) after it indexed the files'
		// dependencies: the indexes of later names are off by one, in
		// its package and in acn's.
		{"xz", "", "%global _binary_payload w6.xzdio", "rpmlib(PayloadIsZstd)", "xz"},
		{"autoreq", "autoreq: false\n", "AutoReq: no", "libc.so.6()(64bit)", ""},
		{"autoprov", "autoprov: false\n", "AutoProv: no", "pkgconfig(foo) = 1.0.3", ""},
		{"excludes", "requires_exclude: ^(libm|python)\nprovides_exclude: FOO_1\nrequires_exclude_from: ^/usr/bin/s-\nprovides_exclude_from: dist-info\n",
			"%global __requires_exclude ^(libm|python)\n%global __provides_exclude FOO_1\n%global __requires_exclude_from ^/usr/bin/s-\n%global __provides_exclude_from dist-info", "libm.so.6()(64bit)", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := wireRepo(t, wireSpec+tt.yaml)
			var o builder.Options
			if tt.comp != "" {
				o.Compression, _ = builder.ParseCompression(tt.comp)
			}
			res, err := build(t, r, "HEAD", "adwire", o)
			if err != nil {
				t.Fatal(err)
			}
			ref := rpmbuildSame(t, res.Path, tt.rpmbuild)
			if deps := tooltest.Run(t, "rpm", "-qp", "--requires", "--provides", res.Path); strings.Contains(deps, tt.absent+"\n") {
				t.Errorf("%s not switched off:\n%s", tt.absent, deps)
			}
			for _, q := range []string{"--requires", "--provides", "--filerequire", "--fileprovide", "--fileclass", "--filecolor"} {
				got := lineSet(tooltest.Run(t, "rpm", "-qp", q, res.Path))
				want := lineSet(tooltest.Run(t, "rpm", "-qp", q, ref))
				if !slices.Equal(got, want) {
					t.Errorf("rpm -qp %s:\n acn:      %q\n rpmbuild: %q", q, got, want)
				}
			}
			sameIndexes(t, res.Path, ref)
		})
	}
}

// TestAutoDepsErrorNamesEntry: metadata rpmbuild's generators refuse fail
// the build, naming the spec entry that packs the file, and leave no RPM.
func TestAutoDepsErrorNamesEntry(t *testing.T) {
	r := wireRepo(t, wireSpec)
	r.Commit("bad metadata", map[string]string{"src/METADATA": "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.2.0\nRequires-Dist: requests (>=\n"})
	out := t.TempDir()
	_, err := build(t, r, "HEAD", "adwire", builder.Options{OutDir: out})
	var se *specs.Error
	if !errors.As(err, &se) || se.Field != "files[8]" || se.Line != 29 || !strings.Contains(err.Error(), "demo_pkg-1.2.0.dist-info") {
		t.Fatalf("error %v, want one naming files[8] at line 29", err)
	}
	t.Log(err)
	if m, _ := filepath.Glob(filepath.Join(out, "*.rpm")); len(m) != 0 {
		t.Errorf("RPMs left: %v", m)
	}
}

// sameIndexes compares the per-file dependency indexes and the class
// dictionary of two packages of the same files, as stored: rpm -qp
// --filerequire reads requires through them.
func sameIndexes(t *testing.T, acn, ref string) {
	t.Helper()
	const f = "[%{FILEDEPENDSX}:%{FILEDEPENDSN} ]|[%{DEPENDSDICT} ]|[%{FILECLASS} ]|[%{CLASSDICT}|]"
	if got, want := qf(t, acn, f), qf(t, ref, f); got != want {
		t.Errorf("FILEDEPENDSX:N|DEPENDSDICT|FILECLASS|CLASSDICT:\n acn:      %s\n rpmbuild: %s", got, want)
	}
}
