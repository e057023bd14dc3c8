package builder_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/specs"
)

// installSteps are the same %install for rpmbuild and for acn: files,
// a symbolic link, a libtool archive and an empty directory.
var installSteps = []string{
	`mkdir -p "$D/usr/share/x" "$D/usr/lib" "$D/usr/share/empty" "$D/usr/share/doc/x"`,
	`echo a > "$D/usr/share/x/a"; echo b > "$D/usr/share/x/b"; echo la > "$D/usr/lib/libx.la"; echo r > "$D/usr/share/doc/x/README"`,
	`ln -s a "$D/usr/share/x/link"`,
}

// rpmbuildUnpackaged runs rpmbuild over installSteps, packaging only
// /usr/share/x/a, and returns the files it says are unpackaged.
func rpmbuildUnpackaged(t *testing.T) []string {
	top := t.TempDir()
	spec := "Name: x\nVersion: 1\nRelease: 1\nSummary: S\nLicense: MIT\nBuildArch: noarch\n%description\nd\n%install\nD=%{buildroot}\n" +
		strings.Join(installSteps, "\n") + "\n%files\n/usr/share/x/a\n"
	if err := os.WriteFile(filepath.Join(top, "x.spec"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("rpmbuild", "-bb", "--define", "_topdir "+top, filepath.Join(top, "x.spec")).CombinedOutput()
	if err == nil {
		t.Fatalf("rpmbuild did not fail:\n%s", out)
	}
	_, list, ok := strings.Cut(string(out), "Installed (but unpackaged) file(s) found:\n")
	if !ok {
		t.Fatalf("rpmbuild failed otherwise:\n%s", out)
	}
	var files []string
	for _, l := range strings.Split(list, "\n") {
		if !strings.HasPrefix(l, "   /") {
			break
		}
		files = append(files, strings.TrimSpace(l))
	}
	sort.Strings(files)
	return files
}

func unpackagedSpec(extra string) string {
	return "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n" + quoteSteps() +
		"files:\n  - src: $DESTDIR/usr/share/x/a\n    dst: /usr/share/x/a\n" + extra
}

func quoteSteps() string {
	var b strings.Builder
	for _, s := range installSteps {
		fmt.Fprintf(&b, "  - %q\n", "D=$DESTDIR; "+s)
	}
	return b.String()
}

var listRE = regexp.MustCompile(`\$DESTDIR \(([^)]*)\)`)

// TestUnpackaged: files build steps installed that no entry packages fail
// the build, the same list rpmbuild gives for the same %install (files
// and links, no empty directory), unless exclude names them.
func TestUnpackaged(t *testing.T) {
	want := rpmbuildUnpackaged(t)
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": unpackagedSpec("")})
	_, err := build(t, r, "HEAD", "x", builder.Options{})
	if !errors.Is(err, builder.ErrUnpackaged) {
		t.Fatalf("err = %v, want ErrUnpackaged", err)
	}
	var se *specs.Error
	if !errors.As(err, &se) || se.File != "specs/x.yaml" || se.Field != "files" || se.Line != 10 {
		t.Errorf("error does not name the spec's files list: %#v", se)
	}
	m := listRE.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("no list in %v", err)
	}
	got := strings.Split(m[1], ", ")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("unpackaged files\n got %q\nwant %q (rpmbuild's)", got, want)
	}

	// exclude: a glob, a directory (and all under it), a link by name.
	r.Commit("x", map[string]string{"specs/x.yaml": unpackagedSpec("  - src: $DESTDIR/usr/share/x/b\n    dst: /usr/share/x/b\n" +
		"exclude:\n  - /usr/lib/*.la\n  - /usr/share/doc\n  - /usr/share/x/l?nk\n")})
	res, err := build(t, r, "HEAD", "x", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 2 {
		t.Errorf("%d files packaged, want 2", res.Files)
	}

	// Many: the first ones are named, the rest counted.
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n" +
		"  - for i in $(seq 100 199); do echo $i > \"$DESTDIR/f$i\"; done\nfiles:\n  - src: $DESTDIR/f100\n    dst: /f100\n"})
	_, err = build(t, r, "HEAD", "x", builder.Options{})
	if !errors.Is(err, builder.ErrUnpackaged) || !strings.Contains(err.Error(), "99 installed") ||
		!strings.Contains(err.Error(), "/f101, ") || !strings.Contains(err.Error(), "/f120 and 79 more") {
		t.Errorf("err = %v", err)
	}
}

func TestExcludeSpecErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"exclude:\n  - /x\n", "exclude[0]: invalid value: only what build steps install"},
		{"build:\n  - true\nexclude:\n  - usr/lib/*.la\n", "exclude[0]: invalid value: \"usr/lib/*.la\": want an absolute"},
		{"build:\n  - true\nexclude:\n  - /usr/../x\n", "exclude[0]: invalid value"},
		{"build:\n  - true\nexclude:\n  - /x[\n", "syntax error in pattern"},
	} {
		_, err := specs.Parse("specs/x.yaml", []byte("name: x\nversion: 1\nsummary: S\nlicense: MIT\n"+tc.spec+"files:\n  - src: specs/x.yaml\n    dst: /x.yaml\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "specs/x.yaml:") {
			t.Errorf("%q: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// TestPathLeaks: a packaged file holding $DESTDIR's path, or a text
// holding the build directory's, fails the build and is named; a program
// compiled with -g, whose DWARF names the build directory, does not.
func TestPathLeaks(t *testing.T) {
	const big = 256 << 10 // the payload writer's read size
	cases := []struct {
		name, step string
		sandbox    builder.SandboxMode
		leak       string // "" for a good build
	}{
		{"shebang destdir", `mkdir -p $DESTDIR/usr/bin && printf '#!%s/usr/bin/python3\nprint(1)\n' "$DESTDIR" > $DESTDIR/usr/bin/tool`, builder.SandboxOn, "/usr/bin/tool holds the $DESTDIR path /build/destdir"},
		{"shebang build dir", `mkdir -p $DESTDIR/usr/bin && printf '#!%s/venv/bin/python\n' "$PWD" > $DESTDIR/usr/bin/tool`, builder.SandboxOn, "/usr/bin/tool holds the build directory's path /build/x-1"},
		{"shebang host scratch", `mkdir -p $DESTDIR/usr/bin && printf '#!%s/venv/bin/python\n' "$PWD" > $DESTDIR/usr/bin/tool`, builder.SandboxOff, "/usr/bin/tool holds the build directory's path "},
		{"link into destdir", `mkdir -p $DESTDIR/usr/bin && echo x > $DESTDIR/usr/bin/real && ln -s $DESTDIR/usr/bin/real $DESTDIR/usr/bin/tool`, builder.SandboxOn, "/usr/bin/tool (a symbolic link to /build/destdir/usr/bin/real)"},
		{"across reads", fmt.Sprintf(`mkdir -p $DESTDIR/usr/bin && { head -c %d /dev/zero; echo "$DESTDIR"; } > $DESTDIR/usr/bin/tool`, big-5), builder.SandboxOn, "/usr/bin/tool holds the $DESTDIR path"},
		{"rpath destdir", `printf 'int main(void){return 0;}\n' > m.c && gcc -g -o m m.c -Wl,-rpath,$DESTDIR/usr/lib && mkdir -p $DESTDIR/usr/bin && cp m $DESTDIR/usr/bin/tool`, builder.SandboxOn, "/usr/bin/tool holds the $DESTDIR path"},
		{"dwarf names build dir", `printf 'int main(void){return 0;}\n' > m.c && gcc -g -o m m.c && mkdir -p $DESTDIR/usr/bin && cp m $DESTDIR/usr/bin/tool`, builder.SandboxOn, ""},
		{"dwarf names host scratch", `printf 'int main(void){return 0;}\n' > m.c && gcc -g -o m m.c && mkdir -p $DESTDIR/usr/bin && cp m $DESTDIR/usr/bin/tool`, builder.SandboxOff, ""},
		{"near miss", fmt.Sprintf(`mkdir -p $DESTDIR/usr/bin && { head -c %d /dev/zero; echo /build/destdi; echo r; } > $DESTDIR/usr/bin/tool`, big-5), builder.SandboxOn, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gittest.New(t)
			r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n" +
				fmt.Sprintf("  - %q\n", tc.step) + "files:\n  - src: $DESTDIR/usr/bin/\n    dst: /usr/bin/\n"})
			res, err := build(t, r, "HEAD", "x", builder.Options{Sandbox: tc.sandbox})
			if tc.leak == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, builder.ErrPathLeak) || !strings.Contains(err.Error(), tc.leak) || !strings.Contains(err.Error(), "specs/x.yaml") {
				t.Fatalf("err = %v, want ErrPathLeak naming %q", err, tc.leak)
			}
			if _, serr := os.Stat(res.Path); serr == nil {
				t.Errorf("a failed build left %s", res.Path)
			}
		})
	}
}
