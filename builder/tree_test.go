package builder_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/specs"
)

// oddNames are file names git stores and Linux allows that broke the copy
// of the tree to scratch (go-git refuses control characters and "\.."
// in paths; io/fs refuses names that are not UTF-8).
var oddNames = []string{"new\nline", "tab\there", "bad\xffutf8", `back\..\slash`, "\x1bescape"}

// TestOddNamesInTree: a spec with build steps builds whatever names are
// in the tree, and its steps see them as git stores them. Packaging one
// that rpm's file lists cannot hold fails with the field that asked.
func TestOddNamesInTree(t *testing.T) {
	r := gittest.New(t)
	files := map[string]string{
		"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n  - |\n    for f in odd/*; do printf '%s\\0' \"$f\"; done > \"$DESTDIR/names\"\nfiles:\n  - src: $DESTDIR/names\n    dst: /opt/x/names\n",
		"specs/y.yaml": "name: y\nversion: 1\nsummary: S\nlicense: MIT\nfiles:\n  - src: odd/\n    dst: /opt/y/\n",
	}
	for i, n := range oddNames {
		files["odd/"+n] = fmt.Sprint(i)
	}
	r.Commit("odd", files)
	rpm := mustBuild(t, r, "x", builder.Options{})
	got := strings.Split(strings.TrimSuffix(shell(t, "rpm2cpio "+rpm+" | cpio -i --quiet --to-stdout ./opt/x/names | tr '\\0' '/'"), "/"), "/odd/")
	if len(got) != len(oddNames) {
		t.Errorf("build step saw %q, want %d odd names", got, len(oddNames))
	}

	_, err := build(t, r, "HEAD", "y", builder.Options{})
	if !errors.Is(err, specs.ErrInvalid) || !strings.Contains(err.Error(), "specs/y.yaml:6: files[0].src") || !strings.Contains(err.Error(), "must be UTF-8 without control characters") {
		t.Errorf("packaging odd names: %v", err)
	}
}

// TestManyFilesInOneDirectory: copying a tree costs time linear in its
// size. 20,000 files in one directory took 330 s, quadratically more as
// the directory grew; this must finish in the test's time.
func TestManyFilesInOneDirectory(t *testing.T) {
	const n = 20_000
	r := gittest.New(t)
	dir := filepath.Join(r.Dir, "big")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.Commit("big", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n  - ls big | wc -l > \"$DESTDIR/count\"\nfiles:\n  - src: $DESTDIR/count\n    dst: /opt/x/count\n  - src: big/\n    dst: /opt/x/big/\n"})
	start := time.Now()
	res, err := build(t, r, "HEAD", "x", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files in one directory: copied and packed in %s", n, time.Since(start).Round(time.Millisecond))
	if got := shell(t, "rpm2cpio "+res.Path+" | cpio -i --quiet --to-stdout ./opt/x/count"); strings.TrimSpace(got) != fmt.Sprint(n) {
		t.Errorf("build step saw %s files, want %d", got, n)
	}
	if res.Files != n+2 { // and /opt/x/count, /opt/x/big
		t.Errorf("packed %d entries, want %d", res.Files, n+2)
	}
}

// countingFS cancels a context when the nth file is opened.
type countingFS struct {
	fs.FS
	opened atomic.Int32
	at     int32
	cancel context.CancelFunc
}

func (c *countingFS) Open(name string) (fs.File, error) {
	if c.opened.Add(1) == c.at {
		c.cancel()
	}
	return c.FS.Open(name)
}

func (c *countingFS) ReadLink(name string) (string, error) { return fs.ReadLink(c.FS, name) }
func (c *countingFS) Lstat(name string) (fs.FileInfo, error) {
	return fs.Lstat(c.FS, name)
}

// TestCancelStops: a stop (SIGTERM cancels the daemon's context) ends the
// copy of the tree to scratch, and the packing of files, at the next file
// rather than after all of them.
func TestCancelStops(t *testing.T) {
	for _, tt := range []struct{ name, spec string }{
		{"tree copy", "build:\n  - 'true'\n"},
		{"packing", "files:\n  - src: d/\n    dst: /opt/d/\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gittest.New(t)
			files := map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\n" + tt.spec}
			for i := range 500 {
				files[fmt.Sprintf("d/f%03d", i)] = "x"
			}
			r.Commit("x", files)
			snap, sp := specAt(t, r, "HEAD", "x")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfs := &countingFS{FS: snap.FS, at: 10, cancel: cancel}
			scratch, out := t.TempDir(), t.TempDir()
			_, err := builder.Build(ctx, cfs, sp, builder.Options{OutDir: out, ScratchDir: scratch, CacheDir: t.TempDir(), Time: snap.Time})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if n := cfs.opened.Load(); n > 11 {
				t.Errorf("%d files opened after the cancel at the 10th", n-10)
			}
			if ents, _ := os.ReadDir(scratch); len(ents) != 0 {
				t.Errorf("scratch directory left: %v", ents)
			}
			if rpms, _ := filepath.Glob(filepath.Join(out, "*.rpm")); len(rpms) != 0 {
				t.Errorf("a stopped build left %v", rpms)
			}
		})
	}
}
