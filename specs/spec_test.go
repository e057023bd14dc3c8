package specs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile("../testdata/specs/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("specs/full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "full" || s.Version != "2.1.0" || s.Release != "3" || s.Epoch == nil || *s.Epoch != 4 || s.Arch != "x86_64" {
		t.Errorf("NEVRA fields: %+v", s)
	}
	if got, want := s.EVR(), "4:2.1.0-3"; got != want {
		t.Errorf("EVR = %q, want %q", got, want)
	}
	if got, want := s.NEVRA(), "full-4:2.1.0-3.x86_64"; got != want {
		t.Errorf("NEVRA = %q, want %q", got, want)
	}
	wantReq := []Dep{{"nginx", ">=", "1.20"}, {"python3", "", ""}, {"(bash or zsh)", "", ""}}
	if !reflect.DeepEqual(s.Requires, wantReq) {
		t.Errorf("Requires = %v", s.Requires)
	}
	if !s.Requires[2].Rich() {
		t.Error("rich dependency not recognised")
	}
	if got := s.Obsoletes[0]; got != (Dep{"full-legacy", "<=", "1:1.9-1"}) {
		t.Errorf("Obsoletes = %v", got)
	}
	if s.Timeout != 5*time.Minute || s.Env["GREETING"] != "hello" || len(s.Build) != 3 {
		t.Errorf("build keys: %v %v %v", s.Timeout, s.Env, s.Build)
	}
	if len(s.Exclude) != 1 || s.Exclude[0].Glob != "/usr/lib/*.la" || s.Exclude[0].Line != 31 ||
		!s.Excluded("/usr/lib/libfull.la") || s.Excluded("/usr/lib/libfull.so") || s.Excluded("/usr/lib64/x.la") {
		t.Errorf("exclude = %+v", s.Exclude)
	}
	if s.FilesLine != 33 {
		t.Errorf("FilesLine = %d", s.FilesLine)
	}
	if len(s.Files) != 11 {
		t.Fatalf("%d files, want 11", len(s.Files))
	}
	f := s.Files[3]
	if f.Type != TypeConfigNoReplace || f.Mode != 0o640 || f.Group != "adm" || f.Owner != "root" || f.Dst != "/etc/full/full.conf" || f.Line == 0 {
		t.Errorf("files[3] = %+v", f)
	}
	if !s.Files[0].FromDestDir() || s.Files[0].Src != "$DESTDIR/usr/bin/full" {
		t.Errorf("files[0] = %+v", s.Files[0])
	}
	if !s.Files[2].Tree || s.Files[2].Src != "app" || s.Files[2].Dst != "/usr/share/full" {
		t.Errorf("files[2] = %+v", s.Files[2])
	}
	if s.Files[10].Target != "/usr/bin/full" {
		t.Errorf("files[10] = %+v", s.Files[10])
	}
	if s.Scripts.PreTrans != "echo pretrans" || s.Scripts.PostUn != "echo postun" {
		t.Errorf("scripts = %+v", s.Scripts)
	}
	if len(s.Changelog) != 2 || s.Changelog[0].Date != time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC) ||
		!strings.Contains(s.Changelog[0].Text, "Ünïcödé") || s.Changelog[1].Version != "" {
		t.Errorf("changelog = %+v", s.Changelog)
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("specs/min.yaml", []byte("name: min\nversion: 1\nsummary: S\nlicense: MIT\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Release != "1" || s.Arch != "noarch" || s.Description != "S" || s.Group != "Unspecified" || s.Epoch != nil {
		t.Errorf("defaults: %+v", s)
	}
}

// TestOwnSpecs parses the definitions acn ships.
func TestParseNetwork(t *testing.T) {
	for _, tt := range []struct {
		text string
		want bool
	}{{"", false}, {"network: false\n", false}, {"network: true\n", true}} {
		s, err := Parse("specs/x.yaml", []byte(base+tt.text))
		if err != nil {
			t.Fatal(err)
		}
		if s.Network != tt.want {
			t.Errorf("%q: Network = %v", tt.text, s.Network)
		}
	}
}

func TestOwnSpecs(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 3 {
		t.Fatalf("want our own specs in specs/, found %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("specs/"+f, data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

const base = "name: x\nversion: 1.0\nsummary: S\nlicense: MIT\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		line  int
		field string
		is    error
		msg   string
	}{
		{"syntax", "name: [x\n", 1, "", ErrSyntax, "did not find"},
		{"tab indent", "name: x\n\tversion: 1\n", 2, "", ErrSyntax, ""},
		{"unknown key", base + "sumary: x\n", 5, "sumary", ErrUnknownKey, `did you mean "summary"`},
		{"unknown nested key", base + "files:\n  - src: a\n    dest: /b\n", 7, "files[0].dest", ErrUnknownKey, `did you mean "dst"`},
		{"unknown script", base + "scripts:\n  postinstall: x\n", 6, "scripts.postinstall", ErrUnknownKey, ""},
		{"missing name", "version: 1\nsummary: S\nlicense: MIT\n", 1, "name", ErrMissingKey, ""},
		{"missing license", "name: x\nversion: 1\nsummary: S\n", 1, "license", ErrMissingKey, ""},
		{"dash in version", "name: x\nversion: 1.0-2\nsummary: S\nlicense: MIT\n", 2, "version", ErrInvalid, "must not contain '-'"},
		{"dash in release", base + "release: 1-2\n", 5, "release", ErrInvalid, ""},
		{"bad name", "name: 'a b'\nversion: 1\nsummary: S\nlicense: MIT\n", 1, "name", ErrInvalid, ""},
		{"name not file", "name: y\nversion: 1\nsummary: S\nlicense: MIT\n", 1, "name", ErrInvalid, "does not match the file name"},
		{"epoch not number", base + "epoch: one\n", 5, "epoch", ErrInvalid, "whole number"},
		{"list not string", base + "summary2: x\n", 5, "summary2", ErrUnknownKey, ""},
		{"requires not list", base + "requires: nginx\n", 5, "requires", ErrInvalid, "must be a list"},
		{"files not list", base + "files: {src: a}\n", 5, "files", ErrInvalid, "must be a list"},
		{"bad dep op", base + "requires:\n  - nginx ~> 1\n", 6, "requires[0]", ErrInvalid, "unknown operator"},
		{"relative root", base + "build: [make]\nroot: roots/el9\n", 6, "root", ErrInvalid, "absolute"},
		{"root without steps", base + "root: /srv/roots/el9\n", 5, "root", ErrInvalid, "no build steps"},
		{"build_requires without steps", base + "build_requires: [gcc]\n", 5, "build_requires", ErrInvalid, "no build steps"},
		{"rich build_requires", base + "build: [make]\nbuild_requires:\n  - gcc\n  - (gcc or clang)\n", 8, "build_requires[1]", ErrInvalid, "rich"},
		{"bad build_requires", base + "build: [make]\nbuild_requires:\n  - gcc>=11\n", 7, "build_requires[0]", ErrInvalid, "put spaces"},
		{"dep no spaces", base + "requires:\n  - nginx>=1\n", 6, "requires[0]", ErrInvalid, "put spaces"},
		{"src escapes", base + "files:\n  - src: a/../../etc/passwd\n    dst: /etc/x\n", 6, "files[0].src", ErrEscapes, ""},
		{"absolute src", base + "files:\n  - src: /etc/passwd\n    dst: /etc/x\n", 6, "files[0].src", ErrEscapes, ""},
		{"destdir escapes", base + "files:\n  - src: $DESTDIR/../x\n    dst: /etc/x\n", 6, "files[0].src", ErrEscapes, ""},
		{"dst escapes", base + "files:\n  - src: a\n    dst: /usr/../../etc/x\n", 7, "files[0].dst", ErrEscapes, ""},
		{"relative dst", base + "files:\n  - src: a\n    dst: etc/x\n", 7, "files[0].dst", ErrInvalid, "absolute"},
		{"newline in dst", base + "files:\n  - src: a\n    dst: \"/a\\nb\"\n", 7, "files[0].dst", ErrInvalid, "UTF-8 without control characters"},
		{"binary dst", base + "files:\n  - src: a\n    dst: !!binary L2H/\n", 7, "files[0].dst", ErrInvalid, "UTF-8 without control characters"},
		{"root dst", base + "files:\n  - src: a\n    dst: /\n", 7, "files[0].dst", ErrInvalid, "root"},
		{"missing dst", base + "files:\n  - src: a\n", 6, "files[0].dst", ErrMissingKey, ""},
		{"missing src", base + "files:\n  - dst: /a\n", 6, "files[0].src", ErrMissingKey, ""},
		{"bad type", base + "files:\n  - src: a\n    dst: /a\n    type: conf\n", 8, "files[0].type", ErrInvalid, "config|noreplace"},
		{"bad mode", base + "files:\n  - src: a\n    dst: /a\n    mode: rwx\n", 8, "files[0].mode", ErrInvalid, "octal"},
		{"mode as number", base + "files:\n  - src: a\n    dst: /a\n    mode: 999\n", 8, "files[0].mode", ErrInvalid, ""},
		{"symlink no target", base + "files:\n  - dst: /a\n    type: symlink\n", 6, "files[0].target", ErrMissingKey, ""},
		{"target on file", base + "files:\n  - src: a\n    dst: /a\n    target: b\n", 8, "files[0].target", ErrInvalid, ""},
		{"dir with src", base + "files:\n  - src: a\n    dst: /a\n    type: dir\n", 6, "files[0].src", ErrInvalid, ""},
		{"duplicate dst", base + "files:\n  - src: a\n    dst: /a\n  - src: b\n    dst: /a\n", 8, "files[1].dst", ErrInvalid, "/a is already packaged by files[0] (line 6)"},
		{"bad owner", base + "files:\n  - src: a\n    dst: /a\n    owner: 'r t'\n", 8, "files[0].owner", ErrInvalid, ""},
		{"bad sha", base + "sources:\n  - url: https://x.invalid/a.tgz\n    sha256: abc\n", 7, "sources[0].sha256", ErrInvalid, "64 hex"},
		{"source not url", base + "sources:\n  - url: a.tgz\n    sha256: " + strings.Repeat("a", 64) + "\n", 6, "sources[0].url", ErrInvalid, ""},
		{"duplicate source name", base + "sources:\n  - url: https://x.invalid/a.tgz\n    sha256: " + strings.Repeat("a", 64) + "\n  - url: https://y.invalid/b/a.tgz\n    sha256: " + strings.Repeat("b", 64) + "\n", 8, "sources[1].name", ErrInvalid, `"a.tgz" is already the name of sources[0] (line 6)`},
		{"duplicate explicit source name", base + "sources:\n  - url: https://x.invalid/a.tgz\n    sha256: " + strings.Repeat("a", 64) + "\n    name: s\n  - url: https://y.invalid/b.tgz\n    sha256: " + strings.Repeat("b", 64) + "\n    name: s\n", 11, "sources[1].name", ErrInvalid, "already the name of sources[0]"},
		{"network not bool", base + "network: maybe\n", 5, "network", ErrInvalid, "true or false"},
		{"empty step", base + "build:\n  - ''\n", 6, "build[0]", ErrInvalid, "empty"},
		{"bad timeout", base + "timeout: soon\n", 5, "timeout", ErrInvalid, "duration"},
		{"bad date", base + "changelog:\n  - date: 01/02/2026\n    author: A\n    text: t\n", 6, "changelog[0].date", ErrInvalid, ""},
		{"changelog order", base + "changelog:\n  - date: 2020-01-01\n    author: A\n    text: t\n  - date: 2021-01-01\n    author: A\n    text: t\n", 9, "changelog[1].date", ErrInvalid, "newest first"},
		{"changelog author", base + "changelog:\n  - date: 2020-01-01\n    text: t\n", 6, "changelog[0].author", ErrMissingKey, ""},
		{"multiline summary", "name: x\nversion: 1\nsummary: |\n  a\n  b\nlicense: MIT\n", 3, "summary", ErrInvalid, "one line"},
		{"empty", "", 0, "", ErrMissingKey, "empty"},
		{"not a mapping", "- a\n- b\n", 1, "", ErrInvalid, "mapping"},
		{"duplicate key", base + "name: y\n", 5, "", ErrSyntax, "already defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("specs/x.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *specs.Error", err)
			}
			if pe.File != "specs/x.yaml" || pe.Line != tt.line || pe.Field != tt.field {
				t.Errorf("got file %q line %d field %q, want line %d field %q (%v)", pe.File, pe.Line, pe.Field, tt.line, tt.field, err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "specs/x.yaml") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse("specs/x.yaml", []byte("name: x\nversion: 1-1\nsummary: S\nlicense: MIT\nrelease: a-b\n"))
	if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
		t.Errorf("want 2 errors, got %d: %v", n, err)
	}
}

func TestParseDep(t *testing.T) {
	for in, want := range map[string]Dep{
		"nginx":              {Name: "nginx"},
		"nginx >= 1.20":      {"nginx", ">=", "1.20"},
		"nginx => 1.20":      {"nginx", ">=", "1.20"},
		"a == 1:2.0-3.el9":   {"a", "=", "1:2.0-3.el9"},
		"/usr/bin/python3":   {Name: "/usr/bin/python3"},
		"(a if b else c)":    {Name: "(a if b else c)"},
		"python3dist(x) < 2": {"python3dist(x)", "<", "2"},
	} {
		got, err := ParseDep(in)
		if err != nil || got != want {
			t.Errorf("ParseDep(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a >=", "a >= 1 2", "(a or b", "a <> 1", "a >= 1-2-3"} {
		if _, err := ParseDep(in); err == nil {
			t.Errorf("ParseDep(%q) gave no error", in)
		}
	}
}

func TestPackageTag(t *testing.T) {
	for in, want := range map[string][2]string{
		"appstruct/v1.4.0":           {"appstruct", "1.4.0"},
		"refs/tags/acn-proxy/v1.0.0": {"acn-proxy", "1.0.0"},
		"v1.0":                       {},
		"main":                       {},
		"a/b/v1":                     {},
		"x/v1-2":                     {},
	} {
		n, v, ok := PackageTag(in)
		if ok != (want[0] != "") || n != want[0] || v != want[1] {
			t.Errorf("PackageTag(%q) = %q, %q, %v", in, n, v, ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../testdata/specs/*.yaml", "*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, seed := range []string{
		"files:\n  - src: a/../../b\n    dst: /x\n",
		"provides: &d [\"greet-api >\"]\nrequires: *d\n",
		"requires: &r [a]\nprovides: *r\n",
		"files:\n  - &f {src: a, dst: /a}\n  - <<: *f\n    dst: /b\n",
		"scripts:\n  <<: {post: x}\n",
		"env:\n  &k A: one\n  *k : two\n",
		"files: &a [*a]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
		"files: [[[[[[[[[[]]]]]]]]]]\n",
		"---\nname: y\n",
		"packages:\n  - {name: x-devel, summary: s, files: [{src: a, dst: /a}]}\n",
		"packages:\n  - {name: x, summary: s}\n  - {name: x-debuginfo}\n",
		"packages: [{files: [{src: ../a, dst: /../a}]}]\ndebuginfo: no\n",
	} {
		f.Add([]byte(base + seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("specs/fuzz.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Whatever parses must be safe to package.
		all := slices.Clone(s.Files)
		names := map[string]bool{s.Name: true}
		for _, p := range s.Packages {
			all = append(all, p.Files...)
			if names[p.Name] || p.Name == "" || p.Summary == "" {
				t.Fatalf("subpackage %+v accepted", p)
			}
			names[p.Name] = true
		}
		for _, f := range all {
			if strings.Contains("/"+f.Dst+"/", "/../") || !strings.HasPrefix(f.Dst, "/") || f.Dst == "/" {
				t.Fatalf("dst %q accepted", f.Dst)
			}
			src := strings.TrimPrefix(f.Src, DestDirPrefix)
			if strings.HasPrefix(src, "/") || strings.Contains("/"+src+"/", "/../") {
				t.Fatalf("src %q accepted", f.Src)
			}
		}
		if s.Name == "" || s.Version == "" || strings.Contains(s.Version+s.Release, "-") {
			t.Fatalf("bad NEVR accepted: %q %q %q", s.Name, s.Version, s.Release)
		}
	})
}

// TestParseAliases: a spec is plain data. Aliases and merge keys are
// refused wherever they are, at the line of the alias, so that no value
// is shared, nothing expands, and no error needs to look through one. The
// first row crashed the daemon: an alias to a node holding an error.
func TestParseAliases(t *testing.T) {
	laughs := "lol: &a [x, x, x, x, x, x, x, x, x]\n"
	for i, prev := range "abcdefgh" {
		next := string("bcdefghi"[i])
		laughs += next + ": &" + next + " [" + strings.Repeat("*"+string(prev)+", ", 8) + "*" + string(prev) + "]\n"
	}
	tests := []struct {
		name  string
		yaml  string
		line  int
		field string
	}{
		{"alias to an invalid value", base + "provides: &d [\"greet-api >\"]\nrequires: *d\n", 6, "requires"},
		{"alias to a valid value", base + "provides: &d [greet-api]\nrequires: *d\n", 6, "requires"},
		{"scalar alias", "name: &n x\nversion: *n\nsummary: S\nlicense: MIT\n", 2, "version"},
		{"alias in a list", base + "requires: [a, &b b]\nprovides: [c, *b]\n", 6, "provides[1]"},
		{"alias as a key", base + "env:\n  &k A: one\n  *k : two\n", 7, "env.k"},
		{"alias to a mapping", base + "files:\n  - &f {src: a, dst: /a}\n  - *f\n", 7, "files[1]"},
		{"alias cycle", base + "files: &a [*a]\n", 5, "files[0]"},
		{"merge key with alias", base + "files:\n  - &f {src: a, dst: /a}\n  - <<: *f\n    dst: /b\n", 7, "files[1].<<"},
		{"merge key inline", base + "scripts:\n  <<: {post: x}\n", 6, "scripts.<<"},
		{"alias under an unknown key", base + "x-defaults: &d {a: 1}\ny: *d\n", 6, "y"},
		{"billion laughs", base + laughs, 6, "b[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("specs/x.yaml", []byte(tt.yaml))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *specs.Error", err)
			}
			if !errors.Is(err, ErrAlias) {
				t.Errorf("error %v is not ErrAlias", err)
			}
			if pe.File != "specs/x.yaml" || pe.Line != tt.line || pe.Field != tt.field {
				t.Errorf("got line %d field %q, want line %d field %q (%v)", pe.Line, pe.Field, tt.line, tt.field, err)
			}
		})
	}
	// An anchor nothing refers to changes nothing.
	if _, err := Parse("specs/x.yaml", []byte(base+"requires: &r [a]\n")); err != nil {
		t.Errorf("unused anchor: %v", err)
	}
}

// TestParseBounded feeds Parse the largest and deepest documents it
// accepts and checks that what it allocates stays a small multiple of the
// input, that errors are capped, and that every failure is a located
// *Error.
func TestParseBounded(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		is   error
	}{
		{"flow list at the size limit", base + "build: [" + strings.Repeat("a,", (MaxSpecSize-200)/2) + "a]\n", nil},
		{"block list at the size limit", base + "build:\n" + strings.Repeat("- a\n", (MaxSpecSize-200)/4), nil},
		{"nested lists", base + "files: " + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + "\n", ErrInvalid},
		{"nested mappings", base + "files: " + strings.Repeat("{a: ", 9990) + "x" + strings.Repeat("}", 9990) + "\n", ErrInvalid},
		{"too deep", base + "files: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n", ErrSyntax},
		{"nested aliases", base + "a: &a " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\nb: " + strings.Repeat("[*a, ", 9000) + strings.Repeat("]", 9000) + "\n", ErrAlias},
		{"many aliases", base + "a: &a x\nb: [" + strings.Repeat("*a, ", (MaxSpecSize-200)/4) + "]\n", ErrAlias},
		{"many bad entries", base + "files:\n" + strings.Repeat("- {src: a, dst: /a}\n", (MaxSpecSize-200)/20), ErrInvalid},
		{"one byte over the limit", base + "description: " + strings.Repeat("x", MaxSpecSize) + "\n", ErrTooLarge},
		{"second document", base + "---\nname: y\n", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			_, err := Parse("specs/x.yaml", []byte(tt.yaml))
			runtime.ReadMemStats(&m1)
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 128<<20 {
				t.Errorf("parsing %d bytes allocated %d MiB", len(tt.yaml), alloc>>20)
			}
			if tt.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || !errors.Is(err, tt.is) {
				t.Fatalf("error %v: want a *specs.Error matching %v", err, tt.is)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n > maxErrors+1 {
				t.Errorf("%d errors reported, want at most %d", n, maxErrors+1)
			}
			if len(err.Error()) > 64<<10 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}
