package builder_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/specs"
)

// TestHostileSpecs pushes what an attacker with push access could push,
// in a real git repository, through the spec parser and the builder. Each
// row either builds or is refused with an error that names the file, the
// line and the field (or, for a tree too large to copy, the ref); nothing is ever written outside the build's
// scratch, output and cache directories, and nothing is left in scratch.
func TestHostileSpecs(t *testing.T) {
	const head = "name: x\nversion: 1\nsummary: S\nlicense: MIT\n"
	laughs := "lol: &a [x, x, x, x, x, x, x, x, x]\n"
	for i, prev := range "abcdefgh" {
		next := string("bcdefghi"[i])
		laughs += next + ": &" + next + " [" + strings.Repeat("*"+string(prev)+", ", 8) + "*" + string(prev) + "]\n"
	}
	many := head + "files:\n"
	for i := 0; len(many) < specs.MaxSpecSize-64; i++ {
		many += fmt.Sprintf("- {src: README, dst: /opt/x/%d}\n", i)
	}
	tests := []struct {
		name  string
		spec  string            // specs/x.yaml
		files map[string]string // more of the tree
		setup func(t *testing.T, r *gittest.Repo)
		is    error  // nil: the build succeeds
		want  string // in the error: file:line: field
		tree  bool   // the error is about the whole tree, not a spec field
	}{
		{name: "alias to an invalid value", spec: head + "provides: &d [\"greet-api >\"]\nrequires: *d\n",
			is: specs.ErrAlias, want: "specs/x.yaml:6: requires"},
		{name: "alias in a files entry", spec: head + "files:\n  - src: README\n    dst: &d /opt/a\n  - src: README\n    dst: *d\n",
			is: specs.ErrAlias, want: "specs/x.yaml:9: files[1].dst"},
		{name: "alias in a build step", spec: head + "env: {A: &s 'rm -rf /'}\nbuild:\n  - *s\n",
			is: specs.ErrAlias, want: "specs/x.yaml:7: build[0]"},
		{name: "merge key", spec: head + "files:\n  - &f {src: README, dst: /a}\n  - <<: *f\n    dst: /b\n",
			is: specs.ErrAlias, want: "specs/x.yaml:7: files[1].<<"},
		{name: "alias cycle", spec: head + "files: &a [*a]\n", is: specs.ErrAlias, want: "specs/x.yaml:5: files[0]"},
		{name: "billion laughs", spec: head + laughs, is: specs.ErrAlias, want: "specs/x.yaml:6: b[0]"},
		{name: "deep nesting", spec: head + "files: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n",
			is: specs.ErrSyntax, want: "specs/x.yaml:5: invalid YAML: exceeded max depth"},
		{name: "50 MB spec", spec: head + "description: |\n" + strings.Repeat("  "+strings.Repeat("x", 98)+"\n", 500_000),
			is: specs.ErrTooLarge, want: "specs/x.yaml: spec file too large: 50500058 bytes, the limit is 256 KiB"},
		{name: "files entries up to the size limit", spec: many},
		{name: "dot-dot src", spec: head + "files:\n  - src: a/../../../escaped\n    dst: /a\n",
			is: specs.ErrEscapes, want: "specs/x.yaml:6: files[0].src"},
		{name: "absolute src", spec: head + "files:\n  - src: /etc/shadow\n    dst: /a\n",
			is: specs.ErrEscapes, want: "specs/x.yaml:6: files[0].src"},
		{name: "dot-dot dst", spec: head + "files:\n  - src: README\n    dst: /opt/../../escaped\n",
			is: specs.ErrEscapes, want: "specs/x.yaml:7: files[0].dst"},
		{name: "source name with a slash", spec: head + "sources:\n  - url: https://example.invalid/a.tgz\n    sha256: " + strings.Repeat("a", 64) + "\n    name: ../../escaped\n",
			is: specs.ErrInvalid, want: "specs/x.yaml:8: sources[0].name"},
		{name: "symlink in the tree to outside", spec: head + "files:\n  - src: evil\n    dst: /a\n",
			files: map[string]string{"evil": "->../../../../etc/passwd"}, is: specs.ErrEscapes, want: "specs/x.yaml:6: files[0].src"},
		{name: "symlink to outside inside a packed directory", spec: head + "files:\n  - src: d/\n    dst: /opt/d/\n",
			files: map[string]string{"d/ok": "ok", "d/evil": "->/etc"}, is: specs.ErrEscapes, want: "specs/x.yaml:6: files[0].src"},
		{name: "symlink to outside copied for build steps", spec: head + "build:\n  - test -L evil && ! test -e escaped\n",
			files: map[string]string{"evil": "->../../../.."}},
		{name: "spec that is a symlink to outside", setup: func(t *testing.T, r *gittest.Repo) {
			r.Commit("x", map[string]string{"specs/x.yaml": "->/etc/passwd"})
		}, is: specs.ErrEscapes, want: "specs/x.yaml: path escapes its root: symbolic link specs/x.yaml -> /etc/passwd leaves the repository"},
		{name: "newline and invalid UTF-8 in names, copied for build steps", spec: head + "build:\n  - test -f \"$(printf 'odd/new\\nline')\" && test -f \"$(printf 'odd/bad\\377')\"\n",
			files: map[string]string{"odd/new\nline": "1", "odd/bad\xff": "2"}},
		{name: "newline in a packaged name", spec: head + "files:\n  - src: odd/\n    dst: /opt/odd/\n",
			files: map[string]string{"odd/new\nline": "1"}, is: specs.ErrInvalid, want: "specs/x.yaml:6: files[0].src"},
		{name: "tree entries git would not write", spec: head + "build:\n  - test -f evil/ok && ! test -e escaped\n",
			setup: evilTree, want: ""},
		{name: "git bomb copied for build steps", spec: head + "build:\n  - 'true'\n", setup: bomb,
			is: builder.ErrTooLarge, want: "the tree at HEAD holds more than 1000000 files", tree: true},
		{name: "git bomb of bytes copied for build steps", spec: head + "build:\n  - 'true'\n",
			setup: func(t *testing.T, r *gittest.Repo) { bombOf(t, r, strings.Repeat("\x00", 1<<20), 5) },
			is:    builder.ErrTooLarge, want: "the tree at HEAD holds more than 16.0 GiB", tree: true},
		{name: "git bomb packed", spec: head + "files:\n  - src: bomb/\n    dst: /opt/bomb/\n", setup: bomb,
			is: builder.ErrTooLarge, want: "specs/x.yaml:6: files[0].src: builder: too large: more than 200000 paths in one package"},
		{name: "git bomb globbed", spec: head + "files:\n  - src: bomb/*/*/*/*/*/*\n    dst: /opt/bomb/\n", setup: bomb,
			is: builder.ErrTooLarge, want: "specs/x.yaml:6: files[0].src: builder: too large: bomb/*/*/*/*/*/* matches more than 200000 paths"},
		{name: "duplicate files entries", spec: head + "files:\n  - src: README\n    dst: /opt/a\n  - src: README\n    dst: /opt/a\n",
			is: specs.ErrInvalid, want: "specs/x.yaml:8: files[1].dst: invalid value: /opt/a is already packaged by files[0] (line 6)"},
		{name: "duplicate through a directory", spec: head + "files:\n  - src: README\n    dst: /opt/d/README\n  - src: d/\n    dst: /opt/d/\n",
			files: map[string]string{"d/README": "again"}, is: specs.ErrInvalid, want: "specs/x.yaml:8: files[1].dst: invalid value: /opt/d/README is already packaged by files[0] (line 6)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gittest.New(t)
			files := map[string]string{"README": "readme\n"}
			if tt.spec != "" {
				files["specs/x.yaml"] = tt.spec
			}
			for k, v := range tt.files {
				files[k] = v
			}
			r.Commit("x", files)
			if tt.setup != nil {
				tt.setup(t, r)
			}
			base := t.TempDir()
			dirs := builder.Options{OutDir: filepath.Join(base, "out"), ScratchDir: filepath.Join(base, "scratch"), CacheDir: filepath.Join(base, "cache")}
			for _, d := range []string{dirs.OutDir, dirs.ScratchDir, dirs.CacheDir} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := buildHostile(r, dirs)
			switch {
			case tt.is == nil && err != nil:
				t.Errorf("build failed: %v", err)
			case tt.is != nil && err == nil:
				t.Errorf("no error, want %v", tt.is)
			case tt.is != nil:
				var pe *specs.Error
				if !errors.Is(err, tt.is) || !(tt.tree || errors.As(err, &pe)) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %v\nwant a *specs.Error matching %v and saying %q", err, tt.is, tt.want)
				}
				if len(err.Error()) > 8<<10 {
					t.Errorf("error is %d bytes long", len(err.Error()))
				}
			}
			// Nothing beside the three directories; nothing left in
			// scratch; only this package's files in out.
			if ents, _ := os.ReadDir(base); len(ents) != 3 {
				t.Errorf("the build wrote beside its directories: %v", ents)
			}
			if ents, _ := os.ReadDir(dirs.ScratchDir); len(ents) != 0 {
				t.Errorf("scratch left: %v", ents)
			}
			out, _ := os.ReadDir(dirs.OutDir)
			for _, e := range out {
				if !strings.HasPrefix(e.Name(), "x-1-1.noarch.") {
					t.Errorf("out holds %s", e.Name())
				}
			}
		})
	}
}

func buildHostile(r *gittest.Repo, o builder.Options) error {
	ctx := context.Background()
	repo, err := specs.Open(ctx, r.Dir, specs.OpenOptions{})
	if err != nil {
		return err
	}
	snap, err := repo.Resolve("HEAD")
	if err != nil {
		return err
	}
	sp, err := snap.Spec("x")
	if err != nil {
		return err
	}
	o.Time, o.Ref = snap.Time, "HEAD"
	_, err = builder.Build(ctx, snap.FS, sp, o)
	return err
}

// evilTree commits, under evil/, a tree object that git would not write
// itself: entries named "..", "." and "a/b", and a name given twice.
func evilTree(t *testing.T, r *gittest.Repo) {
	t.Helper()
	blob := r.GitInput("hi\n", "hash-object", "-w", "--stdin")
	h, _ := hex.DecodeString(blob)
	var tree []byte
	for _, name := range []string{"..", ".", "ok", "ok", "x/y"} {
		tree = append(tree, "100644 "+name+"\x00"...)
		tree = append(tree, h...)
	}
	evil := r.GitInput(string(tree), "hash-object", "-t", "tree", "-w", "--literally", "--stdin")
	root := r.GitInput(r.Git("ls-tree", "HEAD")+"\n040000 tree "+evil+"\tevil\n", "mktree")
	r.Git("update-ref", "refs/heads/main", r.Git("commit-tree", root, "-p", "HEAD", "-m", "evil"))
}

// bomb commits bomb/, a "git bomb": 9 tree objects naming the one below
// ten times each, 10^9 files in all from 10 objects.
func bomb(t *testing.T, r *gittest.Repo) { bombOf(t, r, "x", 9) }

// bombOf commits bomb/: 10^levels copies of one blob, from levels+1
// objects.
func bombOf(t *testing.T, r *gittest.Repo, content string, levels int) {
	t.Helper()
	blob := r.GitInput(content, "hash-object", "-w", "--stdin")
	h, _ := hex.DecodeString(blob)
	mode := "100644"
	for range levels {
		var tree []byte
		for i := range 10 {
			tree = append(tree, fmt.Sprintf("%s %d\x00", mode, i)...)
			tree = append(tree, h...)
		}
		th := r.GitInput(string(tree), "hash-object", "-t", "tree", "-w", "--stdin")
		h, _ = hex.DecodeString(th)
		mode = "40000"
	}
	root := r.GitInput(r.Git("ls-tree", "HEAD")+"\n040000 tree "+hex.EncodeToString(h)+"\tbomb\n", "mktree")
	r.Git("update-ref", "refs/heads/main", r.Git("commit-tree", root, "-p", "HEAD", "-m", "bomb"))
}
