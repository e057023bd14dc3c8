package autodeps

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The test tree: sources compiled with the real gcc, and text files.
var treeSources = map[string]string{
	"foo.c":    "#include <stdio.h>\nint foo_v1(void) { return 1; }\nint foo_v2(void) { puts(\"x\"); return 2; }\n",
	"foo.map":  "FOO_1.0 { global: foo_v1; local: *; };\nFOO_2.0 { global: foo_v2; } FOO_1.0;\n",
	"prog.c":   "#include <math.h>\n#include <stdio.h>\nint foo_v2(void);\nint main(int c, char **v) { printf(\"%f %d\\n\", sqrt((double)c), foo_v2()); return 0; }\n",
	"static.c": "#include <stdio.h>\nint main(void) { puts(\"static\"); return 0; }\n",
}

var treeFiles = []struct {
	path string
	mode os.FileMode
	data string
}{
	{"usr/bin/s-sh", 0o755, "#!/bin/sh\necho hi\n"},
	{"usr/bin/s-py", 0o755, "#!/usr/bin/python3\nprint(1)\n"},
	{"usr/bin/s-env", 0o755, "#!/usr/bin/env bash\necho hi\n"},
	{"usr/bin/s-envabs", 0o755, "#!/usr/bin/env /usr/bin/perl\nuse strict;\nuse File::Temp 0.2;\nuse base qw(Exporter);\nuse 5.010;\nrequire '/etc/x.pl';\nprint 1;\n"},
	{"usr/bin/s-noexec", 0o644, "#!/bin/sh\necho not executable\n"},
	{"usr/bin/s-crlf", 0o755, "#!/bin/sh\r\necho hi\r\n"},
	{"usr/lib64/pkgconfig/foo.pc", 0o644, "prefix=/usr\nlibdir=${prefix}/lib64\n# a comment\nName: foo\nDescription: demo\nVersion: 1.0.3\nRequires: zlib >= 1.2, bar\nRequires.private: libpng16 > 1.6\nLibs: -L${libdir} -lfoo\n"},
	{"usr/share/pkgconfig/odd.pc", 0o644, "major=2\nv=${major}.5\nName: Odd\nDescription: odd \\\n  continued\nVersion: ${v} trailing\nProvides: alias = 1.0, other\nRequires: a>=1 d = 4 e,f\nRequires.internal: g <= 3\n"},
	{"usr/share/pkgconfig/nodesc.pc", 0o644, "Name: nodesc\nVersion: 1\nRequires: zlib\n"},
	{"usr/lib/python3.11/site-packages/demo_pkg-1.2.0.dist-info/METADATA", 0o644, "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.2.0\nRequires-Dist: requests (>=2.0)\nRequires-Dist: six\nRequires-Dist: attrs>=19.1,<24 ; python_version >= \"3.8\"\nRequires-Dist: tomli ; python_version < \"3.11\"\nRequires-Dist: pytest ; extra == \"test\"\nRequires-Dist: idna~=3.4\n"},
	{"usr/lib/python3.11/site-packages/demo_pkg/__init__.py", 0o644, "x = 1\n"},
	{"usr/lib/python3.11/site-packages/demo_pkg/util.py", 0o644, "import os\n\n\ndef f():\n    return os.sep\n"},
	{"usr/lib64/data.txt", 0o644, "plain text\n"},
	{"usr/bin/suid-text", 0o644 | os.ModeSetuid, "plain text\n"},
	{"usr/bin/sgid-script", 0o755 | os.ModeSetuid | os.ModeSetgid, "#!/bin/sh\necho\n"},
	{"usr/bin/sticky-data", 0o644 | os.ModeSticky, "\x00\x01"},
	{"usr/bin/suid-empty", 0o644 | os.ModeSetuid, ""},
	{"usr/bin/s-node", 0o755, "#!/usr/bin/env node\nconsole.log(1)\n"},
	{"usr/bin/s-unknown", 0o755, "#!/opt/tool/bin/run --flag\necho\n"},
	{"usr/bin/s-binary", 0o755, "#!/bin/sh\n\x00\x01\xff\n"},
	{"usr/lib/python3.11/site-packages/demo_pkg/cls.py", 0o644, "class A:\n    pass\n"},
	{"usr/lib64/data.bin", 0o644, "\x00\x01\x02\xff\xfe"},
	{"usr/lib64/empty", 0o644, ""},
	{"usr/share/doc/utf8.txt", 0o644, "héllo wörld\n"},
	{"usr/share/doc/long.txt", 0o644, strings.Repeat("y", 400) + "\n"},
	{"usr/share/doc/noeol.txt", 0o644, "no newline"},
	{"usr/lib/rpm/macros.d/macros.adtest", 0o644, "%adtest_version 1\n%adtest_run(a) %{lua:\nprint(1)\n}\n%__adtest_private x\n"},
	{"usr/share/perl5/Foo/Bar.pm", 0o644, "package Foo::Bar;\nuse strict;\nuse Carp 1.2;\nour $VERSION = '1.23';\npackage Foo::Bar::Inner 0.5;\n1;\n"},
	{"usr/share/applications/foo.desktop", 0o644, "[Desktop Entry]\nType=Application\nExec=foo %U\nMimeType=text/plain;x-scheme-handler/foo;\nMimeType =  image/png;image/gif\n"},
	{"usr/share/applications/link.desktop", 0o644, "[Desktop Entry]\nType=Link\nURL=https://example.com/\n"},
	{"usr/share/metainfo/org.example.foo.metainfo.xml", 0o644, "<?xml version=\"1.0\"?>\n<component/>\n"},
	{"usr/lib/debug/.build-id/ab/cdef0123.debug", 0o644, "not really debug data\n"},
	// Larger than HeadSize: what decides the type or the dependencies
	// comes after the first bytes a caller of AddHead gives.
	{"usr/share/doc/big.txt", 0o644, strings.Repeat("a line of text\n", 6000) + strings.Repeat("z", 500) + "\n"},
	{"usr/share/doc/big.bin", 0o644, strings.Repeat("text\n", 20000) + "\x00\x01"},
	{"usr/bin/s-bigperl", 0o755, "#!/usr/bin/perl\n" + strings.Repeat("# comment line\n", 6000) + "use Big::Module 1.5;\nrequire Other::Thing;\n"},
	{"usr/bin/s-longline", 0o755, "#!/bin/sh " + strings.Repeat("x", 70000) + "\necho\n"},
	{"usr/lib64/perl5/Big.pm", 0o644, strings.Repeat("# comment line\n", 6000) + "package Foo::Big;\nour $VERSION = '2.0';\nuse Carp 1.3;\n1;\n"},
	{"usr/lib64/pkgconfig/big.pc", 0o644, strings.Repeat("# comment line\n", 6000) + "Name: big\nDescription: big\nVersion: 3.1\nRequires: zlib\n"},
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("test needs %s: %v", tool, err)
		}
	}
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// buildTree compiles and writes the test DESTDIR under dir/root.
func buildTree(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	root := filepath.Join(dir, "root")
	for _, d := range []string{src, root + "/usr/bin", root + "/usr/lib64", root + "/usr/lib"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range treeSources {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lib := root + "/usr/lib64"
	run(t, src, "gcc", "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-Wl,--version-script=foo.map", "-o", lib+"/libfoo.so.1.0", "foo.c")
	run(t, src, "gcc", "-shared", "-fPIC", "-o", lib+"/libnosoname.so", "foo.c")
	run(t, src, "gcc", "-shared", "-fPIC", "-Wl,-soname,libplain.so.2", "-Wl,--hash-style=both", "-o", lib+"/libplain.so.2", "foo.c")
	run(t, src, "gcc", "-static", "-o", root+"/usr/bin/static", "static.c")
	run(t, src, "gcc", "-o", root+"/usr/bin/prog-noexec", "static.c")
	run(t, src, "gcc", "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-Wl,--version-script=foo.map", "-o", lib+"/libfoo-noexec.so.1.0", "foo.c")
	must(t, os.Chmod(root+"/usr/bin/prog-noexec", 0o644))
	run(t, src, "gcc", "-g", "-o", root+"/usr/bin/prog-debug", "static.c")
	run(t, src, "gcc", "-o", root+"/usr/bin/prog-stripped", "static.c")
	run(t, src, "strip", root+"/usr/bin/prog-stripped")
	// 32-bit objects: color 1, no (64bit) marker.
	run(t, src, "gcc", "-m32", "-shared", "-fPIC", "-Wl,-soname,libfoo32.so.1", "-Wl,--version-script=foo.map", "-o", root+"/usr/lib/libfoo32.so.1", "foo.c")
	must(t, os.Symlink("libfoo32.so.1", root+"/usr/lib/libfoo32.so"))
	run(t, src, "sed", "-i", "s/foo_v2/foo_v2/", "prog.c")
	run(t, src, "gcc", "-m32", "-o", root+"/usr/bin/prog32", "prog.c", "-L"+root+"/usr/lib", "-lfoo32", "-lm")
	run(t, src, "cp", root+"/usr/bin/static", root+"/usr/bin/static-suid")
	must(t, os.Chmod(root+"/usr/bin/static-suid", 0o755|os.ModeSetuid))
	must(t, os.Chmod(lib+"/libfoo-noexec.so.1.0", 0o644))
	must(t, os.Symlink("libfoo.so.1.0", lib+"/libfoo.so.1"))
	must(t, os.Symlink("libfoo.so.1", lib+"/libfoo.so"))
	run(t, src, "gcc", "-o", root+"/usr/bin/prog", "prog.c", "-L"+lib, "-lfoo", "-lm")
	for _, f := range treeFiles {
		p := filepath.Join(root, f.path)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(f.data), f.mode))
		must(t, os.Chmod(p, f.mode))
	}
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const testSpec = `Name: adtest
Version: 1
Release: 1
Summary: autodeps reference
License: MIT
%%global debug_package %%{nil}
%%global __os_install_post %%{nil}
%%global _build_id_links none
%s
%%description
autodeps reference package.
%%install
cp -a %s/. %%{buildroot}/
%%files
/usr/bin/*
/usr/lib64/*
/usr/lib/python3.11/site-packages/demo_pkg-1.2.0.dist-info
/usr/lib/libfoo32.so*
/usr/lib/python3.11/site-packages/demo_pkg
/usr/share/pkgconfig
/usr/share/doc/*
/usr/share/perl5/Foo/Bar.pm
/usr/lib/rpm/macros.d/macros.adtest
/usr/share/applications/*
/usr/share/metainfo/*
/usr/lib/debug/.build-id/ab/cdef0123.debug
`

// rpmbuildTree packages root with rpmbuild and returns the RPM's path.
func rpmbuildTree(t *testing.T, dir, root, extra string) string {
	t.Helper()
	spec := filepath.Join(dir, "adtest.spec")
	must(t, os.WriteFile(spec, []byte(fmt.Sprintf(testSpec, extra, root)), 0o644))
	run(t, dir, "rpmbuild", "-bb", "--define", "_topdir "+filepath.Join(dir, "top"), spec)
	rpms, _ := filepath.Glob(filepath.Join(dir, "top/RPMS/*/*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("rpmbuild made %v", rpms)
	}
	return rpms[0]
}

func query(t *testing.T, rpm, format string) []string {
	t.Helper()
	out := run(t, "", "rpm", "-qp", "--qf", format, rpm)
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// packagedFiles lists the RPM's files with their modes, as builder would
// pass them.
func packagedFiles(t *testing.T, rpm string) []File {
	var files []File
	for _, l := range query(t, rpm, "[%{FILENAMES}\t%{FILEMODES}\n]") {
		p, m, _ := strings.Cut(l, "\t")
		mode, err := strconv.ParseUint(m, 10, 32)
		must(t, err)
		files = append(files, File{Path: p, Mode: unixMode(uint32(mode))})
	}
	return files
}

func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	switch m & 0o170000 {
	case 0o040000:
		mode |= fs.ModeDir
	case 0o120000:
		mode |= fs.ModeSymlink
	case 0o020000:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		mode |= fs.ModeDevice
	case 0o010000:
		mode |= fs.ModeNamedPipe
	case 0o140000:
		mode |= fs.ModeSocket
	}
	return mode
}

func analyzeRoot(t *testing.T, root string, files []File, opts Options) *Result {
	t.Helper()
	r, err := os.OpenRoot(root)
	must(t, err)
	defer r.Close()
	res, err := Analyze(context.Background(), r.FS(), files, opts)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if headed := analyzeHeads(t, r.FS(), files, opts); !reflect.DeepEqual(headed, res) {
		t.Errorf("AddHead gives\n%+v\nAnalyze gives\n%+v", headed, res)
	}
	return res
}

// analyzeHeads is Analyze with the first HeadSize bytes of every regular
// file given, as the builder gives them while it packs the files.
func analyzeHeads(t *testing.T, fsys fs.FS, files []File, opts Options) *Result {
	t.Helper()
	a, err := NewAnalyzer(opts)
	must(t, err)
	for _, f := range files {
		if !f.Mode.IsRegular() {
			must(t, a.Add(context.Background(), fsys, f))
			continue
		}
		data, err := fs.ReadFile(fsys, strings.TrimPrefix(f.Path, "/"))
		must(t, err)
		head := data[:min(len(data), HeadSize)]
		must(t, a.AddHead(context.Background(), fsys, f, head, int64(len(data))))
	}
	res, err := a.Result()
	must(t, err)
	return res
}

func depStrings(deps []Dep) []string {
	var s []string
	for _, d := range deps {
		s = append(s, fmt.Sprintf("%s|%d|%s", d.Name, d.Flags, d.Version))
	}
	return s
}

func setOf(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return slices.Compact(out)
}

func diffSets(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := setOf(got), setOf(want)
	if !slices.Equal(g, w) {
		var missing, extra []string
		for _, x := range w {
			if !slices.Contains(g, x) {
				missing = append(missing, x)
			}
		}
		for _, x := range g {
			if !slices.Contains(w, x) {
				extra = append(extra, x)
			}
		}
		t.Errorf("%s: missing %q, extra %q", what, missing, extra)
	}
}

// perFile reads a per-file dependency query (%{FILEREQUIRE} or
// %{FILEPROVIDE}) into path -> dependency strings.
func perFile(t *testing.T, rpm, tag string) map[string][]string {
	out := map[string][]string{}
	for _, l := range query(t, rpm, "[%{FILENAMES}\t%{"+tag+"}\n]") {
		p, deps, _ := strings.Cut(l, "\t")
		// Rich dependencies are parenthesized and contain blanks.
		var plain []string
		for deps != "" {
			deps = strings.TrimLeft(deps, " ")
			if strings.HasPrefix(deps, "(") {
				depth, i := 0, 0
				for ; i < len(deps); i++ {
					if deps[i] == '(' {
						depth++
					} else if deps[i] == ')' {
						depth--
						if depth == 0 {
							break
						}
					}
				}
				out[p] = append(out[p], deps[:i+1])
				deps = deps[min(i+1, len(deps)):]
				continue
			}
			w, rest, _ := strings.Cut(deps, " ")
			plain = append(plain, w)
			deps = rest
		}
		ds, err := parseDepLines([]string{strings.Join(plain, " ")}, 0)
		must(t, err)
		for _, d := range ds {
			out[p] = append(out[p], d.String())
		}
	}
	return out
}

func compareWithRPM(t *testing.T, rpm string, res *Result) {
	t.Helper()
	var wantReq, wantProv []string
	for _, l := range query(t, rpm, "[%{REQUIRENAME}|%{REQUIREFLAGS}|%{REQUIREVERSION}\n]") {
		if !strings.HasPrefix(l, "rpmlib(") {
			wantReq = append(wantReq, l)
		}
	}
	for _, l := range query(t, rpm, "[%{PROVIDENAME}|%{PROVIDEFLAGS}|%{PROVIDEVERSION}\n]") {
		if !strings.HasPrefix(l, "adtest|") && !strings.HasPrefix(l, "adtest(x86-64)|") {
			wantProv = append(wantProv, l)
		}
	}
	wantReq = slices.DeleteFunc(wantReq, func(s string) bool { return s == "" })
	wantProv = slices.DeleteFunc(wantProv, func(s string) bool { return s == "" })
	diffSets(t, "package requires", depStrings(res.Requires), wantReq)
	diffSets(t, "package provides", depStrings(res.Provides), wantProv)
	if got := depStrings(res.Requires); !slices.Equal(got, wantReq) {
		t.Errorf("package requires not in rpm's order:\n got %q\n rpm %q", got, wantReq)
	}
	if got := depStrings(res.Provides); !slices.Equal(got, wantProv) {
		t.Errorf("package provides not in rpm's order:\n got %q\n rpm %q", got, wantProv)
	}

	fileReq, fileProv := perFile(t, rpm, "FILEREQUIRE"), perFile(t, rpm, "FILEPROVIDE")
	colors := query(t, rpm, "[%{FILENAMES}\t%{FILECOLORS}\n]")
	classes := query(t, rpm, "[%{FILENAMES}\t%{FILECLASS}\n]")
	links := query(t, rpm, "[%{FILENAMES}\t%{FILELINKTOS}\n]")
	for i, f := range res.Files {
		var req, prov []string
		for _, d := range f.Requires {
			req = append(req, d.String())
		}
		for _, d := range f.Provides {
			prov = append(prov, d.String())
		}
		// rpm's --filerequire resolves DEPENDSDICT against the final
		// requires, shifted by rpmlib(RichDependencies); the dictionary
		// itself is compared below.
		var want []string
		for _, d := range fileReq[f.Path] {
			if !strings.HasPrefix(d, "rpmlib(RichDependencies)") {
				want = append(want, d)
			}
		}
		if len(want) < len(fileReq[f.Path]) {
			req = slices.DeleteFunc(req, func(s string) bool { return s > "rpmlib(RichDependencies)" })
			want = slices.DeleteFunc(want, func(s string) bool { return s > "rpmlib(RichDependencies)" })
		}
		diffSets(t, f.Path+" requires", req, want)
		diffSets(t, f.Path+" provides", prov, fileProv[f.Path])
		if want := f.Path + "\t" + strconv.Itoa(int(f.Color)); colors[i] != want {
			t.Errorf("color: got %q, rpm %q", want, colors[i])
		}
		class := f.Class
		if _, target, _ := strings.Cut(links[i], "\t"); target != "" {
			class = "symbolic link to `" + target + "'"
		}
		if want := f.Path + "\t" + class; classes[i] != want {
			t.Errorf("class:\n got %q\n rpm %q", want, classes[i])
		}
	}
	rich := slices.ContainsFunc(query(t, rpm, "[%{REQUIRENAME}\n]"), func(s string) bool { return s == "rpmlib(RichDependencies)" })
	if rich != res.RichDependencies {
		t.Errorf("RichDependencies %v, rpm's requires have rpmlib(RichDependencies): %v", res.RichDependencies, rich)
	}
	// rpm's DEPENDSDICT indexes the requires as they were when the
	// generators ran, before rpmlib(RichDependencies) was added.
	var reqs, provs []Dep
	for _, l := range query(t, rpm, "[%{REQUIRENAME}|%{REQUIREFLAGS}|%{REQUIREVERSION}\n]") {
		if !strings.HasPrefix(l, "rpmlib(RichDependencies)") {
			reqs = append(reqs, parseDepRow(t, l))
		}
	}
	for _, l := range query(t, rpm, "[%{PROVIDENAME}|%{PROVIDEFLAGS}|%{PROVIDEVERSION}\n]") {
		provs = append(provs, parseDepRow(t, l))
	}
	ddict, dx, dn, err := res.DependsDict(reqs, provs)
	must(t, err)
	if want := query(t, rpm, "[%{DEPENDSDICT}\n]"); !slices.Equal(u32s(ddict), want) {
		t.Errorf("DEPENDSDICT:\n got %v\n rpm %v", u32s(ddict), want)
	}
	if want := query(t, rpm, "[%{FILEDEPENDSX}\n]"); !slices.Equal(u32s(dx), want) {
		t.Errorf("FILEDEPENDSX:\n got %v\n rpm %v", u32s(dx), want)
	}
	if want := query(t, rpm, "[%{FILEDEPENDSN}\n]"); !slices.Equal(u32s(dn), want) {
		t.Errorf("FILEDEPENDSN:\n got %v\n rpm %v", u32s(dn), want)
	}
	dict, _ := res.ClassDict()
	if want := query(t, rpm, "[%{CLASSDICT}\n]"); !slices.Equal(dict, want) {
		t.Errorf("CLASSDICT:\n got %q\n rpm %q", dict, want)
	}
	if want := query(t, rpm, "%{HEADERCOLOR}\n")[0]; strconv.Itoa(int(res.HeaderColor)) != want {
		t.Errorf("HEADERCOLOR %d, rpm %s", res.HeaderColor, want)
	}
}

// TestAgainstRPMBuild packages one tree with the real rpmbuild and checks
// that Analyze computes the same dependencies, colors and classes.
func TestAgainstRPMBuild(t *testing.T) {
	requireTools(t, "gcc", "rpmbuild", "rpm", "pkg-config", "python3")
	dir := t.TempDir()
	root := buildTree(t, dir)
	rpm := rpmbuildTree(t, dir, root, "")
	files := packagedFiles(t, rpm)
	res := analyzeRoot(t, root, files, Options{})
	compareWithRPM(t, rpm, res)
	if t.Failed() {
		for _, f := range res.Files {
			t.Logf("%s: P%v R%v %d %q", f.Path, f.Provides, f.Requires, f.Color, f.Class)
		}
	}
}

func parseDepRow(t *testing.T, l string) Dep {
	parts := strings.SplitN(l, "|", 3)
	fl, err := strconv.ParseUint(parts[1], 10, 32)
	must(t, err)
	return Dep{Name: parts[0], Flags: Sense(fl), Version: parts[2]}
}

func u32s(v []uint32) []string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.FormatUint(uint64(x), 10))
	}
	if s == nil {
		s = []string{""}
	}
	return s
}

// TestOptionsAgainstRPMBuild checks autoreq/autoprov and the exclude
// filters against rpmbuild with the matching spec lines.
func TestOptionsAgainstRPMBuild(t *testing.T) {
	requireTools(t, "gcc", "rpmbuild", "rpm", "pkg-config", "python3")
	root := buildTree(t, t.TempDir())
	for _, c := range []struct {
		name, spec string
		opts       Options
	}{
		{"autoreq-no", "AutoReq: no", Options{NoAutoReq: true}},
		{"autoprov-no", "AutoProv: no", Options{NoAutoProv: true}},
		{"autoreqprov-no", "AutoReqProv: no", Options{NoAutoReq: true, NoAutoProv: true}},
		{"exclude", "%global __requires_exclude ^(libm[.]so|/usr/bin/python3|pkgconfig[(]zlib[)] >= 1)\n%global __provides_exclude ^pkgconfig[(]",
			Options{RequiresExclude: regexp.MustCompile(`^(libm[.]so|/usr/bin/python3|pkgconfig[(]zlib[)] >= 1)`), ProvidesExclude: regexp.MustCompile(`^pkgconfig[(]`)}},
		{"exclude-from", "%global __requires_exclude_from ^/usr/bin/s-\n%global __provides_exclude_from ^/usr/lib64/libfoo",
			Options{RequiresExcludeFrom: regexp.MustCompile(`^/usr/bin/s-`), ProvidesExcludeFrom: regexp.MustCompile(`^/usr/lib64/libfoo`)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rpm := rpmbuildTree(t, dir, root, c.spec)
			res := analyzeRoot(t, root, packagedFiles(t, rpm), c.opts)
			compareWithRPM(t, rpm, res)
		})
	}
}
