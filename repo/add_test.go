package repo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acn-project/acn/repo"
)

// buildRPM builds a one-file noarch package with the real rpmbuild and
// returns its path; content makes two builds of one version differ.
func buildRPM(t *testing.T, name, version, release, content string) string {
	t.Helper()
	top := t.TempDir()
	spec := filepath.Join(top, name+".spec")
	os.WriteFile(spec, []byte(fmt.Sprintf(`Name: %s
Version: %s
Release: %s
Summary: test package
License: MIT
BuildArch: noarch

%%description
A test package.

%%install
mkdir -p %%{buildroot}/usr/share/%s
echo '%s' > %%{buildroot}/usr/share/%s/content

%%files
/usr/share/%s/content
`, name, version, release, name, content, name, name)), 0o644)
	out := filepath.Join(top, "rpms")
	cmd := exec.Command("rpmbuild", "-bb", "--quiet", "--define", "_topdir "+filepath.Join(top, "top"),
		"--define", "_rpmdir "+out, "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm", spec)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, b)
	}
	return filepath.Join(out, fmt.Sprintf("%s-%s-%s.noarch.rpm", name, version, release))
}

// published lists the file names primary names.
func published(t *testing.T, dir string) []string {
	t.Helper()
	cat, err := repo.LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range cat.Entries {
		out = append(out, e.Location)
	}
	slices.Sort(out)
	return out
}

func exists(name string) bool { _, err := os.Lstat(name); return err == nil }

func addOne(t *testing.T, dir, rpm string, o repo.AddOptions) *repo.AddResult {
	t.Helper()
	res, err := repo.Add(context.Background(), dir, []string{rpm}, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// noLeftovers checks that nothing of an Add stays outside the repository's
// published state.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{".acn/staging", ".acn/journal.json"} {
		if exists(filepath.Join(dir, f)) {
			t.Errorf("%s left behind", f)
		}
	}
}

func TestAdd(t *testing.T) {
	dir := t.TempDir()
	v1 := buildRPM(t, "hello", "1.0", "1", "one")
	res := addOne(t, dir, v1, repo.AddOptions{})
	if !slices.Equal(res.Added, []string{"hello-1.0-1.noarch.rpm"}) || !res.Changed {
		t.Errorf("first add: %+v", res)
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Error(err)
	}
	noLeftovers(t, dir)

	// The same bytes again: nothing to do.
	if res := addOne(t, dir, v1, repo.AddOptions{}); len(res.Added) != 0 || res.Changed {
		t.Errorf("adding the same file again: %+v", res)
	}

	// Other bytes under a published NEVRA: refused, nothing changes.
	before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	other := buildRPM(t, "hello", "1.0", "1", "changed")
	_, err := repo.Add(context.Background(), dir, []string{other}, repo.AddOptions{})
	if !errors.Is(err, repo.ErrImmutable) {
		t.Errorf("rebuild of a published version: %v", err)
	}
	// Also under another file name.
	renamed := filepath.Join(t.TempDir(), "hello-renamed.rpm")
	b, _ := os.ReadFile(other)
	os.WriteFile(renamed, b, 0o644)
	if _, err := repo.Add(context.Background(), dir, []string{renamed}, repo.AddOptions{}); !errors.Is(err, repo.ErrImmutable) {
		t.Errorf("rebuild under another name: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(now, before) || exists(filepath.Join(dir, "hello-renamed.rpm")) {
		t.Error("a refused add changed the repository")
	}
	noLeftovers(t, dir)

	// A corrupt foreign file in the directory is left out, not a failure.
	os.WriteFile(filepath.Join(dir, "foreign.rpm"), []byte("not a package"), 0o644)
	res = addOne(t, dir, buildRPM(t, "hello", "1.1", "1", "two"), repo.AddOptions{})
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Error(), "foreign.rpm") {
		t.Errorf("foreign file: %+v", res.Skipped)
	}
	if got := published(t, dir); !slices.Equal(got, []string{"hello-1.0-1.noarch.rpm", "hello-1.1-1.noarch.rpm"}) {
		t.Errorf("published %v", got)
	}

	// A damaged package is refused before anything is staged.
	cut := filepath.Join(t.TempDir(), "hello-1.2-1.noarch.rpm")
	b, _ = os.ReadFile(buildRPM(t, "hello", "1.2", "1", "three"))
	os.WriteFile(cut, b[:len(b)-10], 0o644)
	if _, err := repo.Add(context.Background(), dir, []string{cut}, repo.AddOptions{}); !errors.Is(err, repo.ErrCorrupt) {
		t.Errorf("damaged package: %v", err)
	}
	noLeftovers(t, dir)
}

// TestAddFailsBeforeCommit makes each step before the rename of
// repomd.xml fail: the package never shows, nothing stays behind.
func TestAddFailsBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	addOne(t, dir, buildRPM(t, "hello", "1.0", "1", "one"), repo.AddOptions{})
	before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	v2 := buildRPM(t, "hello", "2.0", "1", "two")
	for _, step := range []string{"staged", "placed"} {
		restore := repo.SetFailpoint(func(s string) error {
			if s == step {
				return errors.New("injected fault")
			}
			return nil
		})
		_, err := repo.Add(context.Background(), dir, []string{v2}, repo.AddOptions{Keep: 1})
		restore()
		if err == nil {
			t.Fatalf("%s: Add succeeded", step)
		}
		if now, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(now, before) {
			t.Errorf("%s: repomd.xml changed", step)
		}
		if exists(filepath.Join(dir, "hello-2.0-1.noarch.rpm")) {
			t.Errorf("%s: the package of a failed add is in the directory", step)
		}
		noLeftovers(t, dir)
		// A plain index afterwards publishes nothing of it either.
		index(t, dir, repo.Options{Update: true})
		if got := published(t, dir); !slices.Equal(got, []string{"hello-1.0-1.noarch.rpm"}) {
			t.Errorf("%s: published %v", step, got)
		}
	}
}

// TestAddKilled kills a real process at each step of an Add (SIGKILL, no
// cleanup of its own): the repository is the old or the new generation,
// and the next run completes or undoes what was in progress.
func TestAddKilled(t *testing.T) {
	if step := os.Getenv("ACN_TEST_KILL_AT"); step != "" {
		repo.SetFailpoint(func(s string) error {
			if s == step {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				time.Sleep(time.Hour)
			}
			return nil
		})
		_, err := repo.Add(context.Background(), os.Getenv("ACN_TEST_DIR"), []string{os.Getenv("ACN_TEST_RPM")}, repo.AddOptions{Keep: 1})
		t.Fatalf("not killed: %v", err)
	}
	v1 := buildRPM(t, "hello", "1.0", "1", "one")
	v2 := buildRPM(t, "hello", "2.0", "1", "two")
	for _, c := range []struct {
		step string
		live bool // the new generation went live before the kill
	}{{"staged", false}, {"placed", false}, {"committed", true}} {
		t.Run(c.step, func(t *testing.T) {
			dir := t.TempDir()
			addOne(t, dir, v1, repo.AddOptions{})
			cmd := exec.Command(os.Args[0], "-test.run=^TestAddKilled$")
			cmd.Env = append(os.Environ(), "ACN_TEST_KILL_AT="+c.step, "ACN_TEST_DIR="+dir, "ACN_TEST_RPM="+v2)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("helper was not killed: %v\n%s", err, out)
			}
			want := []string{"hello-1.0-1.noarch.rpm"}
			if c.live {
				want = []string{"hello-2.0-1.noarch.rpm"}
			}
			if got := published(t, dir); !slices.Equal(got, want) {
				t.Errorf("after the kill: published %v, want %v", got, want)
			}
			if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
				t.Errorf("after the kill: %v", err)
			}
			// The next run cleans up.
			index(t, dir, repo.Options{Update: true})
			if got := published(t, dir); !slices.Equal(got, want) {
				t.Errorf("after the next run: published %v, want %v", got, want)
			}
			noLeftovers(t, dir)
			if !c.live && exists(filepath.Join(dir, "hello-2.0-1.noarch.rpm")) {
				t.Error("the package of the killed add stayed in the directory")
			}
			// Retention (keep 1) recorded hello 1.0, kept on disk for
			// the metadata that named it.
			if c.live && !exists(filepath.Join(dir, "hello-1.0-1.noarch.rpm")) {
				t.Error("hello 1.0 deleted while retained metadata names it")
			}
		})
	}
}

// TestRetentionKeepsFilesForOldMetadata: keep 1 leaves old versions out of
// the new metadata at once, but their files stay while a retained
// generation names them, and go with it.
func TestRetentionKeepsFilesForOldMetadata(t *testing.T) {
	dir := t.TempDir()
	clock := time.Unix(1_800_000_000, 0)
	o := repo.AddOptions{Keep: 1, Options: repo.Options{RetainOldMD: new(1), RetainOldMDByAge: new(time.Minute), Now: func() time.Time { return clock }}}
	file := func(v string) string { return filepath.Join(dir, "hello-"+v+"-1.noarch.rpm") }
	addOne(t, dir, buildRPM(t, "hello", "1.0", "1", "one"), o)
	genA, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))

	clock = clock.Add(time.Hour)
	res := addOne(t, dir, buildRPM(t, "hello", "2.0", "1", "two"), o)
	if !slices.Equal(res.Pruned, []string{"hello-1.0-1.noarch.rpm"}) {
		t.Errorf("pruned %v", res.Pruned)
	}
	if got := published(t, dir); !slices.Equal(got, []string{"hello-2.0-1.noarch.rpm"}) {
		t.Errorf("published %v", got)
	}
	if !exists(file("1.0")) {
		t.Fatal("hello 1.0 deleted while the previous metadata names it")
	}
	// A client still holding the previous repomd.xml gets all it names.
	old := t.TempDir()
	os.MkdirAll(filepath.Join(old, "repodata"), 0o755)
	os.WriteFile(filepath.Join(old, "repodata", "repomd.xml"), genA, 0o644)
	md, _ := repo.ParseRepomd(bytes.NewReader(genA))
	for _, d := range md.Data {
		b, err := os.ReadFile(filepath.Join(dir, d.Location.Href))
		if err != nil {
			t.Fatalf("old generation: %v", err)
		}
		os.WriteFile(filepath.Join(old, d.Location.Href), b, 0o644)
	}
	b, _ := os.ReadFile(file("1.0"))
	os.WriteFile(filepath.Join(old, "hello-1.0-1.noarch.rpm"), b, 0o644)
	if _, err := repo.Verify(context.Background(), old, nil); err != nil {
		t.Errorf("the previous generation, as a client holding it sees the directory: %v", err)
	}
	// A plain index does not bring it back.
	clock = clock.Add(time.Hour)
	index(t, dir, repo.Options{Update: true, RetainOldMD: new(1), RetainOldMDByAge: new(time.Minute), Now: o.Now})
	if got := published(t, dir); !slices.Equal(got, []string{"hello-2.0-1.noarch.rpm"}) {
		t.Errorf("after index: published %v", got)
	}

	// Two generations later the one naming 1.0 has expired: so has 1.0.
	clock = clock.Add(time.Hour)
	addOne(t, dir, buildRPM(t, "hello", "3.0", "1", "three"), o)
	if exists(file("1.0")) {
		t.Error("hello 1.0 still there after the metadata naming it expired")
	}
	if !exists(file("2.0")) {
		t.Error("hello 2.0 deleted while the previous metadata names it")
	}
	clock = clock.Add(time.Hour)
	addOne(t, dir, buildRPM(t, "hello", "4.0", "1", "four"), o)
	if exists(file("2.0")) || !exists(file("3.0")) {
		t.Errorf("after 4.0: 2.0 present %v, 3.0 present %v", exists(file("2.0")), exists(file("3.0")))
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Error(err)
	}
	// Its file is gone, but 1.0 stays immutable (the ledger remembers it):
	// other bytes are refused.
	if _, err := repo.Add(context.Background(), dir, []string{buildRPM(t, "hello", "1.0", "1", "other")}, o); !errors.Is(err, repo.ErrImmutable) {
		t.Errorf("hello 1.0 with other bytes after retention removed it: %v", err)
	}
	if _, err := repo.Add(context.Background(), dir, []string{filepath.Join(t.TempDir(), "x")}, o); err == nil {
		t.Error("adding a missing file succeeded")
	}
}

func TestPromote(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	addOne(t, from, buildRPM(t, "hello", "1.0", "1", "one"), repo.AddOptions{})
	addOne(t, from, buildRPM(t, "hello", "1.1", "1", "two"), repo.AddOptions{})
	file, _, err := repo.Promote(context.Background(), from, to, "hello", "1.0", repo.AddOptions{})
	if err != nil || file != "hello-1.0-1.noarch.rpm" {
		t.Fatalf("promote: %q %v", file, err)
	}
	a, _ := os.ReadFile(filepath.Join(from, file))
	b, _ := os.ReadFile(filepath.Join(to, file))
	if !bytes.Equal(a, b) {
		t.Error("promotion did not copy the exact file")
	}
	if got := published(t, to); !slices.Equal(got, []string{file}) {
		t.Errorf("target publishes %v", got)
	}
	if _, _, err := repo.Promote(context.Background(), from, to, "hello", "9.9", repo.AddOptions{}); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("unknown version: %v", err)
	}
}

// TestLeftoversCleaned: what killed runs leave is removed by the next
// lock holder; what a client may fetch is not.
func TestLeftoversCleaned(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	index(t, dir, repo.Options{Revision: "2", Compress: "xz"}) // a second generation, retained
	rd := filepath.Join(dir, "repodata")
	before, _ := os.ReadDir(rd)
	junk := []string{
		"repodata/.primary.tmp-123", "repodata/.repomd.xml.tmp-9", "repodata/.other_db.tmp-5",
		"repodata/" + strings.Repeat("ab", 32) + "-primary.xml.gz",
		".acn/index-cache.tmp-77", ".acn/cache-1.primary", ".acn/generations.json.tmp", ".acn/staging/x.rpm",
	}
	mdBefore, _ := os.ReadFile(filepath.Join(rd, "repomd.xml"))
	// By the next change, and by Recover, which changes nothing else (a
	// daemon whose interrupted job turns out published makes no change).
	for _, clean := range []func(){
		func() { index(t, dir, repo.Options{Update: true, Revision: "2", Compress: "xz"}) },
		func() {
			if err := repo.Recover(context.Background(), dir, repo.Options{}); err != nil {
				t.Fatal(err)
			}
		},
	} {
		for _, j := range junk {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, j)), 0o755)
			os.WriteFile(filepath.Join(dir, j), []byte("x"), 0o644)
		}
		clean()
		for _, j := range junk {
			if exists(filepath.Join(dir, j)) {
				t.Errorf("%s was not cleaned", j)
			}
		}
		after, _ := os.ReadDir(rd)
		if len(after) != len(before) {
			t.Errorf("repodata had %d files, now %d", len(before), len(after))
		}
		if md, _ := os.ReadFile(filepath.Join(rd, "repomd.xml")); !bytes.Equal(md, mdBefore) {
			t.Error("repomd.xml changed")
		}
		if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
			t.Error(err)
		}
	}
	// A directory acn never published into is left as it is.
	empty := t.TempDir()
	if err := repo.Recover(context.Background(), empty, repo.Options{}); err != nil {
		t.Error(err)
	}
	if names, _ := os.ReadDir(empty); len(names) != 0 {
		t.Errorf("Recover wrote into a directory acn never published into: %v", names)
	}
}

// TestLeftoversAfterUnrecordedGeneration: a run killed after its
// repomd.xml went live but before it recorded the generation leaves
// repomd.xml newer than generations.json. The next lock holder still
// cleans what killed runs wrote, because the run had marked the
// generation pending; without that mark (repomd.xml of another tool) it
// removes no metadata file.
func TestLeftoversAfterUnrecordedGeneration(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	state := filepath.Join(dir, ".acn")
	gen1, err := os.ReadFile(filepath.Join(state, "generations.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := index(t, dir, repo.Options{Revision: "2", Compress: "xz"})
	if exists(filepath.Join(state, "pending.json")) {
		t.Error("a finished run left pending.json")
	}
	// As a run killed between the rename and the record leaves it.
	os.WriteFile(filepath.Join(state, "generations.json"), gen1, 0o644)
	var files []string
	for _, d := range res.Repomd.Data {
		files = append(files, d.Location.Href)
	}
	pending, _ := json.Marshal(map[string]any{"revision": "2", "files": files})
	rd := filepath.Join(dir, "repodata")
	before, _ := os.ReadDir(rd)
	junk := "repodata/" + strings.Repeat("cd", 32) + "-primary.xml.xz"
	for _, withPending := range []bool{true, false} {
		os.Remove(filepath.Join(state, "pending.json"))
		if withPending {
			os.WriteFile(filepath.Join(state, "pending.json"), pending, 0o644)
		}
		os.WriteFile(filepath.Join(dir, junk), []byte("x"), 0o644)
		if err := repo.Recover(context.Background(), dir, repo.Options{}); err != nil {
			t.Fatal(err)
		}
		if exists(filepath.Join(dir, junk)) == withPending {
			t.Errorf("pending.json there: %v; the unnamed metadata file there after Recover: %v", withPending, exists(filepath.Join(dir, junk)))
		}
		if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
			t.Error(err)
		}
	}
	os.Remove(filepath.Join(dir, junk))
	// Both generations' files are all still there.
	if after, _ := os.ReadDir(rd); len(after) != len(before) {
		t.Errorf("repodata had %d files, now %d", len(before), len(after))
	}
}

// TestAddPrunedAgain: a version retention left out, whose file is still
// on disk, is published again when it is added again (a promotion of an
// older build), unless retention leaves it out again.
func TestAddPrunedAgain(t *testing.T) {
	dir := t.TempDir()
	v1 := buildRPM(t, "hello", "1.0", "1", "one")
	addOne(t, dir, v1, repo.AddOptions{Keep: 1})
	addOne(t, dir, buildRPM(t, "hello", "2.0", "1", "two"), repo.AddOptions{Keep: 1})
	if got := published(t, dir); !slices.Equal(got, []string{"hello-2.0-1.noarch.rpm"}) {
		t.Fatalf("published %v", got)
	}
	res := addOne(t, dir, v1, repo.AddOptions{Keep: 1})
	if !slices.Equal(res.Pruned, []string{"hello-1.0-1.noarch.rpm"}) || len(res.Added) != 0 {
		t.Errorf("keep 1, 1.0 again: added %v, pruned %v", res.Added, res.Pruned)
	}
	res = addOne(t, dir, v1, repo.AddOptions{Keep: 2})
	if !slices.Equal(res.Added, []string{"hello-1.0-1.noarch.rpm"}) {
		t.Errorf("keep 2, 1.0 again: added %v, pruned %v", res.Added, res.Pruned)
	}
	want := []string{"hello-1.0-1.noarch.rpm", "hello-2.0-1.noarch.rpm"}
	if got := published(t, dir); !slices.Equal(got, want) {
		t.Errorf("published %v", got)
	}
	// And it stays published: a plain index does not leave it out.
	index(t, dir, repo.Options{Update: true})
	if got := published(t, dir); !slices.Equal(got, want) {
		t.Errorf("after index: published %v", got)
	}
}

// TestAddDiskFull publishes on a small tmpfs filled to leave less and less
// room: whether staging, the metadata or repomd.xml runs out of space,
// Add either publishes the package or fails with the repository as it
// was (no package file in place, nothing staged), and it succeeds once
// space returns.
func TestAddDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	dir := filepath.Join(mnt, "repo")
	os.Mkdir(dir, 0o755)
	o := repo.AddOptions{Keep: 2, Options: repo.Options{SQLite: true}}
	addOne(t, dir, buildRPM(t, "hello", "1.0", "1", "one"), o)
	filler := filepath.Join(mnt, "filler")
	var failed, done int
	for step := range 16 {
		v := fmt.Sprintf("2.%d", step)
		rpm := buildRPM(t, "hello", v, "1", v)
		before := published(t, dir)
		var st syscall.Statfs_t
		syscall.Statfs(mnt, &st)
		f, _ := os.Create(filler)
		if fill := int64(st.Bavail)*st.Bsize - int64(step)*24<<10; fill > 0 {
			if err := syscall.Fallocate(int(f.Fd()), 0, 0, fill); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		_, err := repo.Add(context.Background(), dir, []string{rpm}, o)
		if _, verr := repo.Verify(context.Background(), dir, nil); verr != nil {
			t.Fatalf("step %d: %v", step, verr)
		}
		name := "hello-" + v + "-1.noarch.rpm"
		if err != nil {
			failed++
			if !strings.Contains(err.Error(), "no space left on device") && !strings.Contains(err.Error(), "disk is full") {
				t.Errorf("step %d: the error does not say the disk is full: %v", step, err)
			}
			if got := published(t, dir); !slices.Equal(got, before) || exists(filepath.Join(dir, name)) {
				t.Errorf("step %d: a failed add changed the repository: %v", step, got)
			}
			noLeftovers(t, dir)
		} else {
			done++
			if !slices.Contains(published(t, dir), name) {
				t.Errorf("step %d: add succeeded, %s not published", step, name)
			}
		}
		os.Remove(filler)
		addOne(t, dir, rpm, o) // with space again
		if !slices.Contains(published(t, dir), name) {
			t.Errorf("step %d: with space again, %s not published", step, name)
		}
	}
	if failed == 0 || done == 0 {
		t.Errorf("%d adds failed, %d succeeded: the test does not cover both sides", failed, done)
	}
	t.Logf("%d adds ran out of space, %d succeeded", failed, done)
}
