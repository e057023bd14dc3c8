package builder_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/specs"
)

// demoSpec builds a shared library and a program linked to it with
// gcc -g, and splits them into demo, demo-devel and demo-debuginfo.
const demoSpec = `name: demo
version: "1.0"
arch: x86_64
summary: A runtime for tests
license: MIT
url: https://example.invalid/demo
group: Development/Languages
packager: ACN Tests <tests@acn.invalid>
build:
  - gcc -g -O0 -fPIC -shared -Wl,--no-as-needed,--hash-style=both,-soname,libdemo.so.1 -o libdemo.so.1 src/lib.c -lc
  - gcc -g -O0 -Wl,--hash-style=both -o demo src/main.c -L. -l:libdemo.so.1
  - install -D -m755 demo "$DESTDIR/usr/bin/demo"
  - install -D -m755 libdemo.so.1 "$DESTDIR/usr/lib64/libdemo.so.1"
  - ln -s libdemo.so.1 "$DESTDIR/usr/lib64/libdemo.so"
  - install -D -m644 src/demo.h "$DESTDIR/usr/include/demo.h"
  - install -D -m644 src/demo.pc "$DESTDIR/usr/lib64/pkgconfig/demo.pc"
  - install -D -m644 src/demo.1 "$DESTDIR/usr/share/man/man1/demo.1"
requires: ["libdemo1 = 1.0-1"]
files:
  - {src: $DESTDIR/usr/bin/demo, dst: /usr/bin/demo}
  - {src: $DESTDIR/usr/share/man/man1/demo.1, dst: /usr/share/man/man1/demo.1}
  - {src: LICENSE, dst: /usr/share/licenses/demo/LICENSE, type: license}
packages:
  - name: libdemo1
    summary: The shared library of demo
    files:
      - {src: $DESTDIR/usr/lib64/libdemo.so.1, dst: /usr/lib64/libdemo.so.1}
    scripts:
      post: /sbin/ldconfig
      postun: /sbin/ldconfig
  - name: demo-devel
    summary: Development files for demo
    description: Headers, the pkg-config file and the link-time library of demo.
    requires: ["libdemo1 = 1.0-1"]
    provides: ["pkgconfig(demo) = 1.0"]
    files:
      - {src: $DESTDIR/usr/include/demo.h, dst: /usr/include/demo.h}
      - {src: $DESTDIR/usr/lib64/libdemo.so, dst: /usr/lib64/libdemo.so}
      - {src: $DESTDIR/usr/lib64/pkgconfig/demo.pc, dst: /usr/lib64/pkgconfig/demo.pc}
changelog:
  - date: 2026-11-30
    author: ACN Tests <tests@acn.invalid>
    version: 1.0-1
    text: "- First package."
`

func demoRepo(t *testing.T, spec string) *gittest.Repo {
	t.Helper()
	r := gittest.New(t)
	r.Commit("demo", map[string]string{
		"specs/demo.yaml": spec,
		"LICENSE":         "MIT License\n",
		"src/lib.c":       "#include \"demo.h\"\nint demo_answer(void) { return 42; }\n",
		"src/main.c":      "#include <stdio.h>\n#include \"demo.h\"\nint main(void) { printf(\"%d\\n\", demo_answer()); return 0; }\n",
		"src/demo.h":      "int demo_answer(void);\n",
		"src/demo.1":      ".TH DEMO 1\n.SH NAME\ndemo \\- print the answer\n",
		"src/demo.pc":     "prefix=/usr\nlibdir=${prefix}/lib64\nincludedir=${prefix}/include\n\nName: demo\nDescription: demo\nVersion: 1.0\nLibs: -L${libdir} -ldemo\nCflags: -I${includedir}\n",
	})
	return r
}

func rpmNames(res *builder.Result) []string {
	var out []string
	for _, r := range res.RPMs {
		out = append(out, r.Name)
	}
	return out
}

// extract unpacks an RPM's payload into a new directory.
func extract(t *testing.T, rpm string) string {
	t.Helper()
	dir := t.TempDir()
	shell(t, "cd "+dir+" && rpm2cpio "+rpm+" | cpio -idm --quiet")
	return dir
}

// debuginfoLint matches what rpmlint says of rpmbuild's packages of the
// same tree too (checked with rpm 4.18 and rpmlint 2.4): its policy
// for debug files and build-id links, and the missing signature.
var debuginfoLint = regexp.MustCompile(`: E: no-signature|` +
	`-debuginfo.x86_64: W: unstripped-binary-or-object /usr/lib/debug/|` +
	`-debuginfo.x86_64: E: shared-library-without-dependency-information /usr/lib/debug/|` +
	`: E: non-versioned-file-in-library-package /usr/lib/.build-id$`)

var buildIDRE = regexp.MustCompile(`Build ID: ([0-9a-f]+)`)

// TestSubpackagesAndDebuginfo: one spec makes demo, demo-devel and
// demo-debuginfo with the right files, dependencies and source package;
// the binaries are stripped with a debuglink, the debuginfo package's
// build-ids are the binaries', rpmlint has no complaint, dnf installs the
// packages from a repository, and gdb finds the symbols through
// /usr/lib/debug/.build-id in the installroot.
func TestSubpackagesAndDebuginfo(t *testing.T) {
	r := demoRepo(t, demoSpec)
	res, err := build(t, r, "HEAD", "demo", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rpmNames(res), []string{"demo", "libdemo1", "demo-devel", "demo-debuginfo"}; !slices.Equal(got, want) {
		t.Fatalf("packages %v, want %v", got, want)
	}
	main, lib, devel, dbg := res.RPMs[0].Path, res.RPMs[1].Path, res.RPMs[2].Path, res.RPMs[3].Path
	all := []string{main, lib, devel, dbg}
	if res.Path != main || res.Files != res.RPMs[0].Files || filepath.Base(devel) != "demo-devel-1.0-1.x86_64.rpm" || filepath.Base(dbg) != "demo-debuginfo-1.0-1.x86_64.rpm" {
		t.Errorf("result %+v", res)
	}
	for _, p := range all {
		if got := qf(t, p, "%{SOURCERPM}|%{VERSION}-%{RELEASE}|%{LICENSE}|%{URL}"); got != "demo-1.0-1.src.rpm|1.0-1|MIT|https://example.invalid/demo" {
			t.Errorf("%s: %s", p, got)
		}
		checkDigests(t, p)
	}

	files := func(rpm string) string {
		return strings.ReplaceAll(qf(t, rpm, "[%{FILEMODES:perms} %{FILENAMES} -> %{FILELINKTOS}\n]"), " -> \n", "\n")
	}
	mainFiles, libFiles, dbgFiles := files(main), files(lib), files(dbg)
	stripped := filepath.Join(extract(t, main), "usr/bin/demo")
	notes := tooltest.Run(t, "readelf", "-n", stripped)
	m := buildIDRE.FindStringSubmatch(notes)
	if m == nil {
		t.Fatalf("no build-id in the packaged program:\n%s", notes)
	}
	id := m[1]
	wantMain := "-rwxr-xr-x /usr/bin/demo\n" +
		"drwxr-xr-x /usr/lib/.build-id\n"
	if !strings.HasPrefix(mainFiles, wantMain) ||
		!strings.Contains(mainFiles, "lrwxrwxrwx /usr/lib/.build-id/"+id[:2]+"/"+id[2:]+" -> ../../../../usr/bin/demo\n") ||
		strings.Contains(mainFiles, "/usr/lib64") || strings.Contains(mainFiles, "/usr/include") || strings.Contains(mainFiles, "/usr/lib/debug") {
		t.Errorf("demo files:\n%s", mainFiles)
	}
	if !strings.HasPrefix(libFiles, "drwxr-xr-x /usr/lib/.build-id\n") || !strings.HasSuffix(libFiles, "-rwxr-xr-x /usr/lib64/libdemo.so.1\n") ||
		!strings.Contains(libFiles, " -> ../../../../usr/lib64/libdemo.so.1\n") || strings.Count(libFiles, "\n") != 4 {
		t.Errorf("libdemo1 files:\n%s", libFiles)
	}
	if got, want := files(devel), "-rw-r--r-- /usr/include/demo.h\nlrwxrwxrwx /usr/lib64/libdemo.so -> libdemo.so.1\n-rw-r--r-- /usr/lib64/pkgconfig/demo.pc\n"; got != want {
		t.Errorf("demo-devel files:\n%s\nwant\n%s", got, want)
	}
	for _, want := range []string{
		"drwxr-xr-x /usr/lib/debug\n",
		"drwxr-xr-x /usr/lib/debug/.build-id\n",
		"lrwxrwxrwx /usr/lib/debug/.build-id/" + id[:2] + "/" + id[2:] + " -> ../../../.build-id/" + id[:2] + "/" + id[2:] + "\n",
		"lrwxrwxrwx /usr/lib/debug/.build-id/" + id[:2] + "/" + id[2:] + ".debug -> ../../../../../usr/lib/debug/usr/bin/demo-1.0-1.x86_64.debug\n",
		"-r--r--r-- /usr/lib/debug/usr/bin/demo-1.0-1.x86_64.debug\n",
		"-r--r--r-- /usr/lib/debug/usr/lib64/libdemo.so.1-1.0-1.x86_64.debug\n",
		"drwxr-xr-x /usr/lib/debug/usr/lib64\n",
	} {
		if !strings.Contains(dbgFiles, want) {
			t.Errorf("demo-debuginfo lacks %q:\n%s", want, dbgFiles)
		}
	}

	if got := tooltest.Run(t, "rpm", "-qp", "--requires", devel); !strings.Contains(got, "libdemo1 = 1.0-1\n") || strings.Contains(got, "/bin/sh") {
		t.Errorf("demo-devel requires:\n%s", got)
	}
	// The manual pkgconfig(demo) = 1.0 and the generated one differ in
	// their flags (RPMSENSE_FIND_PROVIDES): rpmbuild keeps both too.
	if got := tooltest.Run(t, "rpm", "-qp", "--provides", devel); got != "demo-devel = 1.0-1\ndemo-devel(x86-64) = 1.0-1\npkgconfig(demo) = 1.0\npkgconfig(demo) = 1.0\n" {
		t.Errorf("demo-devel provides:\n%s", got)
	}
	// demo keeps its automatic require of the library its sibling
	// libdemo1 provides, as rpmbuild keeps it.
	if got := tooltest.Run(t, "rpm", "-qp", "--requires", main); !strings.Contains(got, "libdemo.so.1()(64bit)\n") || !strings.Contains(got, "libc.so.6()(64bit)\n") {
		t.Errorf("demo requires:\n%s", got)
	}
	if got := tooltest.Run(t, "rpm", "-qp", "--provides", lib); !strings.Contains(got, "libdemo.so.1()(64bit)\n") {
		t.Errorf("libdemo1 provides:\n%s", got)
	}
	if got := tooltest.Run(t, "rpm", "-qp", "--scripts", lib); !strings.Contains(got, "postinstall scriptlet (using /bin/sh):\n/sbin/ldconfig") {
		t.Errorf("libdemo1 scripts:\n%s", got)
	}
	if got := tooltest.Run(t, "rpm", "-qp", "--scripts", main); got != "" {
		t.Errorf("demo has the subpackage's scripts:\n%s", got)
	}
	provides := tooltest.Run(t, "rpm", "-qp", "--provides", dbg)
	if !strings.Contains(provides, "debuginfo(build-id) = "+id+"\n") || !strings.Contains(provides, "demo-debuginfo = 1.0-1\n") {
		t.Errorf("demo-debuginfo provides (want build-id %s):\n%s", id, provides)
	}
	if got := qf(t, dbg, "%{SUMMARY}|%{GROUP}"); got != "Debug information for package demo|Development/Debug" {
		t.Errorf("demo-debuginfo: %s", got)
	}

	// Stripped, with a debuglink; the debug file has the DWARF and the
	// same build-id.
	sections := tooltest.Run(t, "readelf", "-S", "-W", stripped)
	if strings.Contains(sections, ".debug_info") || strings.Contains(sections, ".symtab") || !strings.Contains(sections, ".gnu_debuglink") {
		t.Errorf("packaged program not stripped as find-debuginfo strips:\n%s", sections)
	}
	if got := tooltest.Run(t, "readelf", "--string-dump=.gnu_debuglink", stripped); !strings.Contains(got, "demo-1.0-1.x86_64.debug") {
		t.Errorf("debuglink: %s", got)
	}
	dbgRoot := extract(t, dbg)
	debugFile := filepath.Join(dbgRoot, "usr/lib/debug/usr/bin/demo-1.0-1.x86_64.debug")
	if got := tooltest.Run(t, "readelf", "-n", debugFile); !strings.Contains(got, "Build ID: "+id) {
		t.Errorf("debug file's build-id is not %s:\n%s", id, got)
	}
	if got := tooltest.Run(t, "readelf", "-S", "-W", debugFile); !strings.Contains(got, ".debug_info") {
		t.Errorf("debug file has no DWARF:\n%s", got)
	}

	// rpmlint: nothing but what it says of rpmbuild's packages of the
	// same tree (see debuginfoLint).
	out, _ := exec.Command("rpmlint", all...).CombinedOutput()
	t.Logf("rpmlint:\n%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if (strings.Contains(line, ": E: ") || strings.Contains(line, "unstripped")) && !debuginfoLint.MatchString(line) {
			t.Errorf("rpmlint: %s", line)
		}
	}

	// dnf installs all three from a createrepo_c repository, and gdb
	// loads the symbols through the installroot's /usr/lib/debug.
	repoDir := t.TempDir()
	for _, p := range all {
		tooltest.Run(t, "cp", p, repoDir)
	}
	// The scriptlets need /bin/sh, the programs libc: stand-ins provide
	// them.
	tooltest.Run(t, "cp", tooltest.FilePackage(t, "sh", "1", "/bin/sh", "#!/bin/true\n"), repoDir)
	tooltest.Run(t, "cp", tooltest.StandIn(t, all...), repoDir)
	tooltest.Run(t, "createrepo_c", "-q", repoDir)
	root := filepath.Join(t.TempDir(), "root")
	dnf := exec.Command("dnf", "-y", "-q", "--releasever=9", "--setopt=reposdir="+t.TempDir(), "--setopt=cachedir="+t.TempDir(),
		"--installroot="+root, "--repofrompath=demo,file://"+repoDir, "--repo=demo", "--nogpgcheck",
		"--setopt=tsflags=noscripts", "install", "demo", "demo-devel", "demo-debuginfo", "libdemo1")
	if out, err := dnf.CombinedOutput(); err != nil {
		t.Fatalf("dnf install: %v\n%s", err, out)
	}
	for _, n := range []string{"demo", "libdemo1", "demo-devel", "demo-debuginfo"} {
		tooltest.Run(t, "rpm", "--root", root, "-q", n)
	}
	gdb := tooltest.Run(t, "gdb", "-nx", "-batch", "-iex", "set debug-file-directory "+filepath.Join(root, "usr/lib/debug"),
		"-iex", "set substitute-path /usr/src/debug "+filepath.Join(root, "usr/src/debug"),
		"-ex", "info line main", "-ex", "info line demo_answer", "-ex", "list main", filepath.Join(root, "usr/bin/demo"))
	if !strings.Contains(gdb, `Line 3 of "src/main.c"`) {
		t.Errorf("gdb did not find main's line through the build-id link:\n%s", gdb)
	}
	// The sources, from the installed debuginfo package.
	if !strings.Contains(gdb, `int main(void) { printf("%d\n", demo_answer()); return 0; }`) {
		t.Errorf("gdb did not list main's source from /usr/src/debug:\n%s", gdb)
	}
}

// TestDebugSources: debugedit rewrote the build directory in the debug
// information to /usr/src/debug/<name>-<version>-<release>.<arch>, and the
// sources it names (a header too, links inside the tree followed) are in
// the debuginfo package there; what the compiler made up (<built-in>) and
// what lies outside the build directory (libc's headers) are not.
func TestDebugSources(t *testing.T) {
	for _, sandbox := range []builder.SandboxMode{builder.SandboxOn, builder.SandboxOff} {
		t.Run(fmt.Sprint("sandbox=", sandbox), func(t *testing.T) {
			r := demoRepo(t, demoSpec)
			res, err := build(t, r, "HEAD", "demo", builder.Options{Sandbox: sandbox})
			if err != nil {
				t.Fatal(err)
			}
			dbg := res.RPMs[3].Path
			got := qf(t, dbg, "[%{FILEMODES:perms} %{FILENAMES}\n]")
			var src []string
			for _, l := range strings.Split(got, "\n") {
				if strings.Contains(l, "/usr/src") {
					src = append(src, l)
				}
			}
			want := []string{
				"drwxr-xr-x /usr/src/debug/demo-1.0-1.x86_64",
				"drwxr-xr-x /usr/src/debug/demo-1.0-1.x86_64/src",
				"-rw-r--r-- /usr/src/debug/demo-1.0-1.x86_64/src/demo.h",
				"-rw-r--r-- /usr/src/debug/demo-1.0-1.x86_64/src/lib.c",
				"-rw-r--r-- /usr/src/debug/demo-1.0-1.x86_64/src/main.c",
			}
			if !slices.Equal(src, want) {
				t.Errorf("sources in demo-debuginfo:\n%s\nwant\n%s", strings.Join(src, "\n"), strings.Join(want, "\n"))
			}
			x := extract(t, dbg)
			if b, _ := os.ReadFile(filepath.Join(x, "usr/src/debug/demo-1.0-1.x86_64/src/lib.c")); string(b) != "#include \"demo.h\"\nint demo_answer(void) { return 42; }\n" {
				t.Errorf("lib.c: %q", b)
			}
			info := tooltest.Run(t, "readelf", "--debug-dump=info", filepath.Join(x, "usr/lib/debug/usr/bin/demo-1.0-1.x86_64.debug"))
			if !strings.Contains(info, "DW_AT_comp_dir") || !strings.Contains(info, "/usr/src/debug/demo-1.0-1.x86_64") || strings.Contains(info, "/build/") || strings.Contains(info, "acn-build") {
				t.Errorf("comp_dir not rewritten:\n%s", grepLines(info, "comp_dir"))
			}
		})
	}
}

// TestDebugSourcesAsRpmbuild: the same sources compiled the same way in
// the build directory give the same /usr/src/debug tree in the debuginfo
// package as rpmbuild's find-debuginfo (rpm 4.18's defaults): a header
// with code, a link in the tree followed, directories 0755.
func TestDebugSourcesAsRpmbuild(t *testing.T) {
	files := map[string]string{
		"src/main.c":       "#include \"inc/twice.h\"\nint main(void) { return twice(0); }\n",
		"src/inc/twice.h":  "static inline int twice(int x)\n{\n  return 2 * x;\n}\n",
		"src/other.c":      "->main.c",
		"src/inc/unused.h": "#define UNUSED 1\n",
		"specs/srcs.yaml":  "name: srcs\nversion: \"1.0\"\narch: x86_64\nsummary: S\nlicense: MIT\nbuild:\n  - gcc -g -O0 -o prog src/main.c && gcc -g -O0 -o other src/other.c\n  - install -D -m755 prog \"$DESTDIR/usr/bin/prog\"\n  - install -D -m755 other \"$DESTDIR/usr/bin/other\"\nfiles:\n  - {src: $DESTDIR/usr/bin/prog, dst: /usr/bin/prog}\n  - {src: $DESTDIR/usr/bin/other, dst: /usr/bin/other}\n",
	}
	r := gittest.New(t)
	r.Commit("srcs", files)
	res, err := build(t, r, "HEAD", "srcs", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}

	top, spec := debugSpec(t, "srcs", `%prep
%setup -q -c -T
cp -a `+r.Dir+`/src .
%build
gcc -g -O0 -o prog src/main.c && gcc -g -O0 -o other src/other.c
%install
install -D -m755 prog %{buildroot}/usr/bin/prog
install -D -m755 other %{buildroot}/usr/bin/other
%files
/usr/bin/prog
/usr/bin/other
`)
	tooltest.Run(t, "rpmbuild", "--quiet", "--define", "_topdir "+top, "--define", "__os_install_post %{nil}", "--define", "_build_id_links compat", "-bb", spec)
	sources := func(rpm string) string {
		return grepLines(qf(t, rpm, "[%{FILEMODES:perms} %{FILENAMES} %{FILEDIGESTS}\n]"), "/usr/src/")
	}
	got, want := sources(res.RPMs[1].Path), sources(filepath.Join(top, "RPMS/x86_64/srcs-debuginfo-1.0-1.x86_64.rpm"))
	if got != want || !strings.Contains(got, "/usr/src/debug/srcs-1.0-1.x86_64/src/inc/twice.h") {
		t.Errorf("/usr/src/debug in srcs-debuginfo:\nacn:\n%s\nrpmbuild:\n%s", got, want)
	}
}

// TestDebugSourcesHostile: the sources debug information names are what
// build steps left in the tree, so hostile: a link out of the tree is not
// followed, a named pipe does not hang the build, and neither is packed.
func TestDebugSourcesHostile(t *testing.T) {
	r := gittest.New(t)
	r.Commit("evil", map[string]string{
		"specs/evil.yaml": "name: evil\nversion: \"1\"\narch: x86_64\nsummary: S\nlicense: MIT\nbuild:\n" +
			"  - printf 'int main(void){return 0;}\\n' > a.c && cp a.c b.c && cp a.c c.c\n" +
			"  - gcc -g -O0 -o pa a.c && gcc -g -O0 -o pb b.c && gcc -g -O0 -o pc c.c\n" +
			"  - rm a.c b.c && ln -s /etc/passwd a.c && mkfifo b.c\n" +
			"  - install -D -m755 pa \"$DESTDIR/usr/bin/pa\" && install -D -m755 pb \"$DESTDIR/usr/bin/pb\" && install -D -m755 pc \"$DESTDIR/usr/bin/pc\"\n" +
			"files:\n  - {src: $DESTDIR/usr/bin/, dst: /usr/bin/}\n",
	})
	res, err := build(t, r, "HEAD", "evil", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := grepLines(qf(t, res.RPMs[1].Path, "[%{FILENAMES}\n]"), "/usr/src/")
	if got != "/usr/src/debug/evil-1-1.x86_64\n/usr/src/debug/evil-1-1.x86_64/c.c" {
		t.Errorf("sources packed:\n%s", got)
	}
}

// TestDebugeditMissing: without debugedit the build still strips, with a
// warning that says what to install; build-ids stay the linker's.
func TestDebugeditMissing(t *testing.T) {
	dir, b := tinyProgram(t)
	// Every command of the host but debugedit.
	bin := t.TempDir()
	for _, d := range []string{"/usr/sbin", "/usr/bin"} {
		names, _ := os.ReadDir(d)
		for _, n := range names {
			if n.Name() != "debugedit" {
				os.Symlink(filepath.Join(d, n.Name()), filepath.Join(bin, n.Name()))
			}
		}
	}
	t.Setenv("PATH", bin)
	r := gittest.New(t)
	r.Commit("one", map[string]string{
		"specs/one.yaml": "name: one\nversion: \"1\"\narch: x86_64\nsummary: S\nlicense: MIT\nfiles:\n  - {src: p, dst: /usr/bin/p, mode: \"0755\"}\n",
		"p":              string(b),
	})
	var log bytes.Buffer
	res, err := build(t, r, "HEAD", "one", builder.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "debugedit not found (install debugedit)") {
		t.Errorf("no warning:\n%s", log.String())
	}
	linker := buildIDRE.FindStringSubmatch(tooltest.Run(t, "readelf", "-n", filepath.Join(dir, "p")))[1]
	if got := tooltest.Run(t, "rpm", "-qp", "--provides", res.RPMs[1].Path); !strings.Contains(got, "debuginfo(build-id) = "+linker+"\n") {
		t.Errorf("provides (want the linker's build-id %s):\n%s", linker, got)
	}
}

// debugSpec writes an rpmbuild spec for version 1.0-1 of name with a
// debuginfo package and then body (its sections), in a new _topdir, and
// returns the _topdir and the spec's path.
func debugSpec(t *testing.T, name, body string) (string, string) {
	t.Helper()
	top := t.TempDir()
	spec := filepath.Join(top, name+".spec")
	head := "Name: " + name + "\nVersion: 1.0\nRelease: 1\nSummary: S\nLicense: MIT\n%description\nS\n%debug_package\n"
	if err := os.WriteFile(spec, []byte(head+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return top, spec
}

// tinyProgram compiles an empty C program with debug information in a
// new directory and returns the directory (the program is p) and its
// bytes.
func tinyProgram(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	shell(t, "printf 'int main(void){return 0;}\\n' > "+dir+"/p.c && gcc -g -o "+dir+"/p "+dir+"/p.c")
	b, err := os.ReadFile(filepath.Join(dir, "p"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, b
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSubpackagesReproducible: the same ref builds the same bytes, every
// package.
func TestSubpackagesReproducible(t *testing.T) {
	r := demoRepo(t, demoSpec)
	var sums [2][]string
	for i := range sums {
		res, err := build(t, r, "HEAD", "demo", builder.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.RPMs {
			sums[i] = append(sums[i], shell(t, "sha256sum < "+p.Path))
		}
	}
	if len(sums[0]) != 4 || !slices.Equal(sums[0], sums[1]) {
		t.Errorf("two builds of one ref differ:\n%v\n%v", sums[0], sums[1])
	}
}

// TestDebuginfoOff: debuginfo: false packs the files as installed, with
// their build-id links.
func TestDebuginfoOff(t *testing.T) {
	r := demoRepo(t, demoSpec+"debuginfo: false\n")
	res, err := build(t, r, "HEAD", "demo", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rpmNames(res); !slices.Equal(got, []string{"demo", "libdemo1", "demo-devel"}) {
		t.Fatalf("packages %v", got)
	}
	bin := filepath.Join(extract(t, res.Path), "usr/bin/demo")
	if got := tooltest.Run(t, "readelf", "-S", "-W", bin); !strings.Contains(got, ".debug_info") {
		t.Errorf("debuginfo: false stripped the program:\n%s", got)
	}
	// The build-id links stay, as rpmbuild's with debug_package %{nil}.
	id := buildIDRE.FindStringSubmatch(tooltest.Run(t, "readelf", "-n", bin))[1]
	if got := qf(t, res.Path, "[%{FILENAMES} %{FILELINKTOS}\n]"); !strings.Contains(got, "/usr/lib/.build-id/"+id[:2]+"/"+id[2:]+" ../../../../usr/bin/demo\n") {
		t.Errorf("build-id links with debuginfo: false:\n%s", got)
	}
}

// TestSubpackageOverlap: a path two packages would both pack fails the
// build, naming both entries; nothing is written.
func TestSubpackageOverlap(t *testing.T) {
	spec := strings.Replace(demoSpec, "  - {src: LICENSE,", "  - {src: $DESTDIR/usr/lib64/, dst: /usr/lib64/}\n  - {src: LICENSE,", 1)
	r := demoRepo(t, spec)
	out := t.TempDir()
	_, err := build(t, r, "HEAD", "demo", builder.Options{OutDir: out})
	var se *specs.Error
	if !errors.As(err, &se) || !errors.Is(err, specs.ErrInvalid) ||
		!strings.Contains(err.Error(), "packages[0].files[0].src: invalid value: /usr/lib64/libdemo.so.1 would be in libdemo1 and in demo: files[2] (line 22) already packages it") {
		t.Fatalf("overlap: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.rpm")); len(m) > 0 {
		t.Errorf("RPMs left after a failed build: %v", m)
	}

	// A subpackage's entry that finds nothing is named with its package.
	r = demoRepo(t, strings.Replace(demoSpec, "install -D -m644 src/demo.h", "true", 1))
	_, err = build(t, r, "HEAD", "demo", builder.Options{OutDir: out})
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "specs/demo.yaml:37: packages[1].files[0].src: invalid value: $DESTDIR/usr/include/demo.h not found in $DESTDIR") {
		t.Errorf("missing subpackage file: %v", err)
	}
}

// TestDebuginfoHostileELF: ELF files from the git tree (no build steps)
// are stripped too; files that only look like ELF, or that debug/elf
// cannot read, are packed as they are, and nothing is left in scratch.
func TestDebuginfoHostileELF(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	shell(t, "printf 'int main(void){return 0;}\\n' > "+dir+"/p.c && gcc -g -o "+prog+" "+dir+"/p.c")
	real, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	junk := "\x7fELF" + strings.Repeat("\xff", 200)
	r := gittest.New(t)
	r.Commit("elf", map[string]string{
		"specs/x.yaml": "name: x\nversion: \"1\"\narch: x86_64\nsummary: S\nlicense: MIT\nfiles:\n" +
			"  - {src: bin/prog, dst: /usr/bin/prog, mode: \"0755\"}\n" +
			"  - {src: bin/junk, dst: /usr/bin/junk, mode: \"0755\"}\n" +
			"  - {src: bin/trunc, dst: /usr/bin/trunc, mode: \"0755\"}\n" +
			"  - {src: bin/prog, dst: /usr/share/x/prog.data}\n",
		"bin/prog":  string(real),
		"bin/junk":  junk,
		"bin/trunc": string(real[:300]),
	})
	for _, mode := range []builder.SandboxMode{builder.SandboxOn, builder.SandboxOff} {
		t.Run(mode.String(), func(t *testing.T) { hostileELF(t, r, mode, real, junk) })
	}
}

func hostileELF(t *testing.T, r *gittest.Repo, mode builder.SandboxMode, real []byte, junk string) {
	scratch := t.TempDir()
	res, err := build(t, r, "HEAD", "x", builder.Options{ScratchDir: scratch, Sandbox: mode})
	if err != nil {
		t.Fatal(err)
	}
	if got := rpmNames(res); !slices.Equal(got, []string{"x", "x-debuginfo"}) {
		t.Fatalf("packages %v", got)
	}
	root := extract(t, res.Path)
	if got := tooltest.Run(t, "readelf", "-S", "-W", filepath.Join(root, "usr/bin/prog")); strings.Contains(got, ".debug_info") {
		t.Errorf("prog not stripped:\n%s", got)
	}
	for name, want := range map[string]string{"usr/bin/junk": junk, "usr/bin/trunc": string(real[:300]), "usr/share/x/prog.data": string(real)} {
		if b, _ := os.ReadFile(filepath.Join(root, name)); string(b) != want {
			t.Errorf("%s changed (%d bytes, want %d)", name, len(b), len(want))
		}
	}
	if m, _ := filepath.Glob(filepath.Join(scratch, "*")); len(m) > 0 {
		t.Errorf("left in scratch: %v", m)
	}
}

// TestDebuginfoAsRpmbuild: the same ELF files packaged by rpmbuild (with
// %debug_package, build-ids as the linker wrote them, no other brp
// scripts) and by acn give the same file lists, modes and link targets in
// the main and the -debuginfo package (rpmbuild's /usr/src/debug aside:
// acn collects no sources), and the same debuginfo(build-id) provides;
// with debuginfo off, the same main package. A stripped program is
// among them.
// (Two files with one build-id get links xx/yyyy and xx/yyyy.1 from
// both, but which file gets which follows rpmbuild's directory order in
// its -debuginfo package, and its debuginfo.attr makes a provide
// "debuginfo(build-id) = nilnil" of the second: the comparison has one
// copy of each file; TestDebuginfoSameBuildID covers copies.)
func TestDebuginfoAsRpmbuild(t *testing.T) {
	bin := t.TempDir()
	shell(t, "cd "+bin+" && printf 'int f(void){return 1;}\\n' > l.c && printf 'int f(void);\\nint main(void){return f()-1;}\\n' > m.c && "+
		"gcc -g -fPIC -shared -Wl,-soname,libcmp.so.1 -o libcmp.so.1 l.c && gcc -g -o prog m.c -L. -l:libcmp.so.1 && gcc -s -O1 -o sprog m.c -L. -l:libcmp.so.1")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(bin, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	top, spec := debugSpec(t, "cmp", `%install
install -D -m755 `+bin+`/prog %{buildroot}/usr/bin/prog
install -D -m755 `+bin+`/libcmp.so.1 %{buildroot}/usr/lib64/libcmp.so.1
install -D -m755 `+bin+`/sprog %{buildroot}/usr/bin/sprog
install -D -m644 `+bin+`/l.c %{buildroot}/usr/share/cmp/l.c
%files
/usr/bin/prog
/usr/bin/sprog
/usr/lib64/libcmp.so.1
/usr/share/cmp/l.c
`)
	for _, debuginfo := range []bool{true, false} {
		t.Run(fmt.Sprint("debuginfo=", debuginfo), func(t *testing.T) { asRpmbuild(t, debuginfo, top, spec, read) })
	}
}

func asRpmbuild(t *testing.T, debuginfo bool, top, spec string, read func(string) string) {
	top = filepath.Join(top, fmt.Sprint(debuginfo))
	args := []string{"--quiet", "--define", "_topdir " + top,
		"--define", "__os_install_post %{nil}", "--define", "_build_id_links compat", "-bb", spec}
	names := []string{"cmp", "cmp-debuginfo"}
	specEnd := ""
	if !debuginfo {
		args = append([]string{"--define", "debug_package %{nil}"}, args...)
		names = names[:1]
		specEnd = "debuginfo: false\n"
	}
	tooltest.Run(t, "rpmbuild", args...)
	want := map[string]string{}
	for _, n := range names {
		want[n] = filepath.Join(top, "RPMS/x86_64", n+"-1.0-1.x86_64.rpm")
	}

	r := gittest.New(t)
	r.Commit("cmp", map[string]string{
		"specs/cmp.yaml": "name: cmp\nversion: \"1.0\"\narch: x86_64\nsummary: S\nlicense: MIT\n" + specEnd + "files:\n" +
			"  - {src: bin/prog, dst: /usr/bin/prog, mode: \"0755\"}\n" +
			"  - {src: bin/sprog, dst: /usr/bin/sprog, mode: \"0755\"}\n" +
			"  - {src: bin/libcmp.so.1, dst: /usr/lib64/libcmp.so.1, mode: \"0755\"}\n" +
			"  - {src: bin/l.c, dst: /usr/share/cmp/l.c}\n",
		"bin/prog": read("prog"), "bin/sprog": read("sprog"), "bin/libcmp.so.1": read("libcmp.so.1"), "bin/l.c": read("l.c"),
	})
	res, err := build(t, r, "HEAD", "cmp", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rpmNames(res); !slices.Equal(got, names) {
		t.Fatalf("packages %v, want %v", got, names)
	}
	for i, n := range names {
		list := func(rpm string) string {
			return qf(t, rpm, "%{SIZE}\n[%{FILEMODES:perms} %{FILENAMES} %{FILELINKTOS} %{FILESIZES}\n]")
		}
		if got, want := list(res.RPMs[i].Path), list(want[n]); got != want {
			t.Errorf("%s files:\nacn:\n%s\nrpmbuild:\n%s", n, got, want)
		}
		// The automatic dependencies and colors of each package, from
		// its files as packed (stripped), equal rpmbuild's.
		for _, q := range []string{"--requires", "--provides", "--filerequire", "--fileprovide", "--filecolor", "--fileclass"} {
			deps := func(rpm string) []string {
				return lineSet(tooltest.Run(t, "rpm", "-qp", q, rpm))
			}
			if got, want := deps(res.RPMs[i].Path), deps(want[n]); !slices.Equal(got, want) {
				t.Errorf("%s: rpm -qp %s:\n acn:      %q\n rpmbuild: %q", n, q, got, want)
			}
		}
	}
	buildIDs := func(rpm string) string {
		var ids []string
		for _, l := range strings.Split(tooltest.Run(t, "rpm", "-qp", "--provides", rpm), "\n") {
			if strings.HasPrefix(l, "debuginfo(build-id)") {
				ids = append(ids, l)
			}
		}
		slices.Sort(ids)
		return strings.Join(ids, "\n")
	}
	if !debuginfo {
		return
	}
	if got, want := buildIDs(res.RPMs[1].Path), buildIDs(want["cmp-debuginfo"]); got != want || got == "" {
		t.Errorf("debuginfo(build-id) provides:\nacn:\n%s\nrpmbuild:\n%s", got, want)
	}
}

// TestDebuginfoSameBuildID: two copies of one program get build-id
// links xx/yyyy and xx/yyyy.1, as rpmbuild names them, and one provide.
func TestDebuginfoSameBuildID(t *testing.T) {
	dir, b := tinyProgram(t)
	r := gittest.New(t)
	r.Commit("two", map[string]string{
		"specs/two.yaml": "name: two\nversion: \"1\"\narch: x86_64\nsummary: S\nlicense: MIT\nfiles:\n" +
			"  - {src: p, dst: /usr/bin/a, mode: \"0755\"}\n  - {src: p, dst: /usr/bin/b, mode: \"0755\"}\n",
		"p": string(b),
	})
	res, err := build(t, r, "HEAD", "two", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// debugedit made the build-id unique to this version, as rpmbuild's
	// find-debuginfo does: the same for both copies, not the linker's.
	linker := buildIDRE.FindStringSubmatch(tooltest.Run(t, "readelf", "-n", filepath.Join(dir, "p")))[1]
	x := extract(t, res.Path)
	id := buildIDRE.FindStringSubmatch(tooltest.Run(t, "readelf", "-n", filepath.Join(x, "usr/bin/a")))[1]
	if idB := buildIDRE.FindStringSubmatch(tooltest.Run(t, "readelf", "-n", filepath.Join(x, "usr/bin/b")))[1]; idB != id || id == linker {
		t.Errorf("build-ids: a %s, b %s, the linker's %s", id, idB, linker)
	}
	link := "/usr/lib/.build-id/" + id[:2] + "/" + id[2:]
	if got := qf(t, res.Path, "[%{FILENAMES} %{FILELINKTOS}\n]"); !strings.Contains(got, link+" ../../../../usr/bin/a\n") || !strings.Contains(got, link+".1 ../../../../usr/bin/b\n") {
		t.Errorf("two files, one build-id:\n%s", got)
	}
	dbg := res.RPMs[1].Path
	if got := qf(t, dbg, "[%{FILENAMES} %{FILELINKTOS}\n]"); !strings.Contains(got, "/usr/lib/debug/.build-id/"+id[:2]+"/"+id[2:]+".1.debug ../../../../../usr/lib/debug/usr/bin/b-1-1.x86_64.debug\n") {
		t.Errorf("debuginfo links:\n%s", got)
	}
	if got := tooltest.Run(t, "rpm", "-qp", "--provides", dbg); strings.Count(got, "debuginfo(build-id) = "+id+"\n") != 1 {
		t.Errorf("provides:\n%s", got)
	}
}

// TestStripFailureNamesFile: an ELF file debugedit or eu-strip refuses fails the
// build, naming the spec entry and the file; nothing is written.
func TestStripFailureNamesFile(t *testing.T) {
	_, b := tinyProgram(t)
	// Give .debug_info a size far past the end of the file.
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	shoff := binary.LittleEndian.Uint64(b[0x28:])
	shentsize := uint64(binary.LittleEndian.Uint16(b[0x3a:]))
	for i, s := range f.Sections {
		if s.Name == ".debug_info" {
			binary.LittleEndian.PutUint64(b[shoff+uint64(i)*shentsize+0x20:], 0x7fffffff)
		}
	}
	r := gittest.New(t)
	r.Commit("bad", map[string]string{
		"specs/bad.yaml": "name: bad\nversion: \"1\"\narch: x86_64\nsummary: S\nlicense: MIT\nfiles:\n  - {src: bin/p, dst: /usr/bin/p, mode: \"0755\"}\n",
		"bin/p":          string(b),
	})
	out, scratch := t.TempDir(), t.TempDir()
	_, err = build(t, r, "HEAD", "bad", builder.Options{OutDir: out, ScratchDir: scratch})
	if err == nil || !strings.Contains(err.Error(), "debuginfo: strip specs/bad.yaml: files[0] (bin/p)") || !strings.Contains(err.Error(), "debugedit failed on") {
		t.Fatalf("a file debugedit (then eu-strip) refuses: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.rpm")); len(m) > 0 {
		t.Errorf("RPMs left: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(scratch, "*")); len(m) > 0 {
		t.Errorf("left in scratch: %v", m)
	}
}

// TestSubpackageChecks: the checks rpmbuild makes cover every package: a
// file only a subpackage packs is packaged, one no package packs is not,
// and a subpackage's file that names $DESTDIR fails the build before any
// RPM is written.
func TestSubpackageChecks(t *testing.T) {
	spec := strings.Replace(demoSpec, "  - install -D -m644 src/demo.1", "  - mkdir -p \"$DESTDIR/usr/share\" && echo extra > \"$DESTDIR/usr/share/extra\"\n  - install -D -m644 src/demo.1", 1)
	r := demoRepo(t, spec)
	_, err := build(t, r, "HEAD", "demo", builder.Options{})
	if !errors.Is(err, builder.ErrUnpackaged) || !strings.Contains(err.Error(), "1 installed in $DESTDIR (/usr/share/extra)") {
		t.Errorf("a file no package packs: %v", err)
	}

	spec = strings.Replace(demoSpec, "  - install -D -m644 src/demo.pc", "  - echo \"prefix=$DESTDIR/usr\" >> src/demo.pc\n  - install -D -m644 src/demo.pc", 1)
	r = demoRepo(t, spec)
	out := t.TempDir()
	_, err = build(t, r, "HEAD", "demo", builder.Options{OutDir: out})
	if !errors.Is(err, builder.ErrPathLeak) || !strings.Contains(err.Error(), "/usr/lib64/pkgconfig/demo.pc") {
		t.Errorf("a subpackage's file naming $DESTDIR: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.rpm")); len(m) > 0 {
		t.Errorf("RPMs left: %v", m)
	}
}

// subAutoSpec is wireSpec's tree in three packages with automatic
// dependency keys: adwire has the top level's (autoprov: false, requires
// without libfoo), adwire-tools turns autoreq off and keeps the top
// level's autoprov: false, adwire-py has its own autoprov and patterns
// (one that would drop adwire's libm if it applied there).
var subAutoSpec = wireSpec[:strings.Index(wireSpec, "files:\n")] + `autoprov: false
requires_exclude: ^libfoo
files:
  - {src: $DESTDIR/usr/lib64/libfoo.so.1, dst: /usr/lib64/libfoo.so.1}
  - {src: $DESTDIR/usr/lib64/libfoo.so, dst: /usr/lib64/libfoo.so}
  - {src: $DESTDIR/usr/bin/prog, dst: /usr/bin/prog}
  - {src: LICENSE, dst: /usr/share/licenses/adwire/LICENSE, type: license}
packages:
  - name: adwire-tools
    summary: Tools
    autoreq: false
    files:
      - {src: $DESTDIR/usr/bin/static, dst: /usr/bin/static}
      - {src: $DESTDIR/usr/bin/s-sh, dst: /usr/bin/s-sh}
      - {src: $DESTDIR/usr/bin/s-env, dst: /usr/bin/s-env}
      - {src: $DESTDIR/usr/bin/s-py, dst: /usr/bin/s-py}
  - name: adwire-py
    summary: Python and pkg-config
    autoprov: true
    requires_exclude: ^(python|libm)
    provides_exclude_from: dist-info
    files:
      - {src: $DESTDIR/usr/lib64/pkgconfig/foo.pc, dst: /usr/lib64/pkgconfig/foo.pc}
      - {src: $DESTDIR/usr/lib/python3.11/site-packages/demo_pkg-1.2.0.dist-info, dst: /usr/lib/python3.11/site-packages/demo_pkg-1.2.0.dist-info}
      - {src: $DESTDIR/usr/lib/python3.11/site-packages/demo_pkg, dst: /usr/lib/python3.11/site-packages/demo_pkg}
`

// TestSubpackageAutoDepsAsRpmbuild: each package's automatic
// dependencies follow its own keys, as rpmbuild's %package sections with
// their own AutoReq: and AutoProv: do. rpm's exclude macros are the
// whole spec's, so adwire-py is compared with a second rpmbuild run that
// has its patterns.
func TestSubpackageAutoDepsAsRpmbuild(t *testing.T) {
	r := wireRepo(t, subAutoSpec)
	res, err := build(t, r, "HEAD", "adwire", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"adwire", "adwire-tools", "adwire-py"}
	if got := rpmNames(res); !slices.Equal(got, names) {
		t.Fatalf("packages %v, want %v", got, names)
	}
	tree := t.TempDir()
	var files [3]strings.Builder
	for i, rpm := range res.RPMs {
		shell(t, "cd "+tree+" && rpm2cpio "+rpm.Path+" | cpio -idmu --quiet")
		for _, l := range strings.Split(strings.TrimSpace(qf(t, rpm.Path, "[%{FILENAMES}\t%{FILEMODES:perms}\n]")), "\n") {
			f := strings.Split(l, "\t")
			switch {
			case strings.HasPrefix(f[0], "/usr/lib/.build-id"):
			case strings.HasPrefix(f[1], "d"):
				fmt.Fprintf(&files[i], "%%dir %s\n", f[0])
			default:
				fmt.Fprintf(&files[i], "%s\n", f[0])
			}
		}
	}
	shell(t, "rm -rf "+filepath.Join(tree, "usr/lib/.build-id"))
	rpmbuild := func(macros string) string {
		top := t.TempDir()
		spec := fmt.Sprintf(`Name: adwire
Version: 1.0
Release: 1
Summary: Automatic dependencies against rpmbuild
License: MIT
AutoProv: no
%%global debug_package %%{nil}
%%global __os_install_post %%{nil}
%s
%%description
Reference.
%%package tools
Summary: Tools
AutoReq: no
AutoProv: no
%%description tools
Tools.
%%package py
Summary: Python and pkg-config
%%description py
Python.
%%install
cp -a %s/. %%{buildroot}/
%%files
%s
%%files tools
%s
%%files py
%s`, macros, tree, files[0].String(), files[1].String(), files[2].String())
		specFile := filepath.Join(top, "adwire.spec")
		if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		tooltest.Run(t, "rpmbuild", "-bb", "--quiet", "--define", "_topdir "+top, specFile)
		return filepath.Join(top, "RPMS", "x86_64")
	}
	top := rpmbuild("%global __requires_exclude ^libfoo")
	own := rpmbuild("%global __requires_exclude ^(python|libm)\n%global __provides_exclude_from dist-info")
	for i, n := range names {
		acn := res.RPMs[i].Path
		ref := filepath.Join(top, n+"-1.0-1.x86_64.rpm")
		if n == "adwire-py" {
			ref = filepath.Join(own, n+"-1.0-1.x86_64.rpm")
		}
		for _, q := range []string{"--requires", "--provides", "--filerequire", "--fileprovide", "--fileclass", "--filecolor"} {
			got := lineSet(tooltest.Run(t, "rpm", "-qp", q, acn))
			want := lineSet(tooltest.Run(t, "rpm", "-qp", q, ref))
			if !slices.Equal(got, want) {
				t.Errorf("%s: rpm -qp %s:\n acn:      %q\n rpmbuild: %q", n, q, got, want)
			}
		}
		sameIndexes(t, acn, ref)
	}
	// What each package's keys switched off, and what they left on.
	for _, c := range []struct {
		pkg     int
		dep     string
		present bool
	}{
		{0, "libm.so.6()(64bit)", true}, {0, "libfoo.so.1()(64bit)", false}, {0, "libfoo.so.1(FOO_1.0)(64bit)", false},
		{1, "/bin/sh", false}, {1, "/usr/bin/python3", false},
		{2, "python(abi) = 3.11", false}, {2, "pkgconfig(zlib) >= 1.2", true}, {2, "pkgconfig(foo) = 1.0.3", true}, {2, "python3dist(demo-pkg) = 1.2", false},
	} {
		deps := lineSet(tooltest.Run(t, "rpm", "-qp", "--requires", "--provides", res.RPMs[c.pkg].Path))
		if slices.Contains(deps, c.dep) != c.present {
			t.Errorf("%s: %q present %v, want %v: %q", names[c.pkg], c.dep, !c.present, c.present, deps)
		}
	}
}

// openCounter counts the opens of each name of a file system.
type openCounter struct {
	fs.FS
	mu     sync.Mutex
	opened map[string]int
}

func (c *openCounter) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opened[name]++
	c.mu.Unlock()
	return c.FS.Open(name)
}

func (c *openCounter) ReadLink(name string) (string, error) { return fs.ReadLink(c.FS, name) }
func (c *openCounter) Lstat(name string) (fs.FileInfo, error) {
	return fs.Lstat(c.FS, name)
}
func (c *openCounter) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(c.FS, name) }
func (c *openCounter) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(c.FS, name) }

// TestPackedFilesReadOnce: automatic dependencies are computed from the
// bytes the payload writer reads; a file is read a second time only when
// the analysis needs more than its first bytes, as an ELF object's over
// 64 KiB. (Executables are also opened by debuginfo.go, which looks for
// the ELF magic and copies ELF files out to strip them.)
func TestPackedFilesReadOnce(t *testing.T) {
	elfBytes, err := os.ReadFile("/usr/bin/ls")
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 200_000)
	for i := range random {
		random[i] = byte(i*7919 + i/251)
	}
	r := gittest.New(t)
	r.Commit("once", map[string]string{
		"specs/once.yaml": "name: once\nversion: \"1\"\narch: x86_64\nsummary: S\nlicense: MIT\ndebuginfo: false\nfiles:\n" +
			"  - {src: t/, dst: /opt/once/}\n" +
			"  - {src: bin/true, dst: /usr/bin/once-true, mode: \"0755\"}\n" +
			"  - {src: bin/run, dst: /usr/bin/once-run, mode: \"0755\"}\n",
		"t/big.txt":  strings.Repeat("a line of text\n", 10_000),
		"t/data.bin": string(random),
		"t/small":    "small\n",
		"bin/true":   string(elfBytes),
		"bin/run":    "#!/bin/sh\necho run\n",
	})
	snap, sp := specAt(t, r, "HEAD", "once")
	counter := &openCounter{FS: snap.FS, opened: map[string]int{}}
	res, err := builder.Build(context.Background(), counter, sp, builder.Options{OutDir: t.TempDir(), CacheDir: t.TempDir(), ScratchDir: t.TempDir(), Time: snap.Time, Ref: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if len(elfBytes) <= autodepsHeadSize {
		t.Fatalf("/usr/bin/ls has %d bytes, the test needs an ELF file over %d", len(elfBytes), autodepsHeadSize)
	}
	for name, want := range map[string]int{"t/big.txt": 1, "t/data.bin": 1, "t/small": 1, "bin/run": 2, "bin/true": 3} {
		if got := counter.opened[name]; got != want {
			t.Errorf("%s opened %d times, want %d", name, got, want)
		}
	}
	requires := tooltest.Run(t, "rpm", "-qp", "--requires", res.Path)
	for _, want := range []string{"/bin/sh", "libc.so.6()(64bit)"} {
		if !strings.Contains(requires, want+"\n") {
			t.Errorf("requires no %s:\n%s", want, requires)
		}
	}
}

// autodepsHeadSize is autodeps.HeadSize.
const autodepsHeadSize = 64 << 10
