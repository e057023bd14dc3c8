package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

// acnBinary builds the real acn binary for one test (the build cache
// makes a second build a link only).
func acnBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "acn")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// smallCorpus builds n small packages with the real rpmbuild (one spec,
// n subpackages, as bench/ does) and returns their directory.
func smallCorpus(t *testing.T, n int) string {
	t.Helper()
	top := t.TempDir()
	spec := filepath.Join(top, "gen.spec")
	if out, err := exec.Command("python3", "../../bench/gen-rpms.py", spec, strconv.Itoa(n), "kill", "small").CombinedOutput(); err != nil {
		t.Fatalf("gen-rpms: %v\n%s", err, out)
	}
	rpms := filepath.Join(top, "rpms")
	cmd := exec.Command("rpmbuild", "-bb", "--quiet", "--define", "_topdir "+filepath.Join(top, "top"), "--define", "_rpmdir "+rpms,
		"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm", "--define", "__os_install_post %{nil}", spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(rpms, "killset-1-1.noarch.rpm"))
	return rpms
}

// publishedSet lists the package files the published metadata names.
func publishedSet(t *testing.T, dir string) []string {
	t.Helper()
	cat, err := repo.LoadCatalog(dir)
	if err != nil {
		t.Fatalf("published metadata: %v", err)
	}
	var out []string
	for _, e := range cat.Entries {
		out = append(out, e.Location)
	}
	slices.Sort(out)
	return out
}

func rpmNames(t *testing.T, dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*.rpm"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	slices.Sort(m)
	return m
}

func dnfMakecache(t *testing.T, dir string) error {
	root := t.TempDir()
	loc := dir // a URL, or a directory
	if !strings.Contains(dir, "://") {
		loc = "file://" + dir
	}
	out, err := exec.Command("dnf", "-q", "--releasever=9", "--setopt=reposdir="+root, "--setopt=cachedir="+filepath.Join(root, "cache"),
		"--installroot="+root, "--repofrompath=r,"+loc, "--repo=r", "makecache").CombinedOutput()
	if err != nil {
		return fmt.Errorf("dnf makecache: %v\n%s", err, out)
	}
	return nil
}

// leftovers lists what no finished run would leave: temporary files, and
// metadata files no repomd.xml seen so far named.
func leftovers(dir string, named map[string]bool) []string {
	var out []string
	rd, _ := os.ReadDir(filepath.Join(dir, "repodata"))
	for _, f := range rd {
		if n := f.Name(); n != "repomd.xml" && !named["repodata/"+n] {
			out = append(out, "repodata/"+n)
		}
	}
	st, _ := os.ReadDir(filepath.Join(dir, ".acn"))
	for _, f := range st {
		if n := f.Name(); strings.Contains(n, ".tmp") || n == "staging" || n == "journal.json" {
			out = append(out, ".acn/"+n)
		}
	}
	return out
}

// TestIndexKilled kills acn index --update with SIGKILL at random points
// of runs that publish a change (one package more or less each time, xz
// and sqlite so that publication takes a while). After every kill the
// repository verifies, dnf makecache works, and the published packages are
// exactly the previous or the new generation's; leftovers never pile up,
// and a finished run leaves none. ACN_KILL_LOOPS sets the number of kills
// (bench/killindex.sh runs 50).
func TestIndexKilled(t *testing.T) {
	loops := 15
	if n, err := strconv.Atoi(os.Getenv("ACN_KILL_LOOPS")); err == nil && n > 0 {
		loops = n
	}
	bin := acnBinary(t)
	src := smallCorpus(t, 2*max(loops, 60))
	dir, aside := t.TempDir(), t.TempDir()
	// Half the packages to start with; each run then adds one (removing
	// one would make the current metadata name a missing file).
	for i, name := range rpmNames(t, src) {
		to := dir
		if i%2 == 1 {
			to = aside
		}
		os.Link(filepath.Join(src, name), filepath.Join(to, name))
	}
	args := []string{"index", "--update", "--compress", "xz", "--sqlite", "--log-level", "error"}
	named := map[string]bool{}
	see := func() {
		md, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := repo.ParseRepomd(strings.NewReader(string(md)))
		if err != nil {
			t.Fatalf("repomd.xml after a kill: %v", err)
		}
		for _, d := range m.Data {
			named[d.Location.Href] = true
		}
	}
	// The kill delays spread over a whole run's length, measured once
	// (a range to draw from, not an expectation).
	start := time.Now()
	if out, err := exec.Command(bin, append(args, dir)...).CombinedOutput(); err != nil {
		t.Fatalf("first index: %v\n%s", err, out)
	}
	span := time.Since(start)
	see()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d, a full run took %s", seed, span)
	var interrupted, maxLeft int
	for i := range loops {
		before := publishedSet(t, dir)
		// One package more: every run has something to publish.
		if more := rpmNames(t, aside); len(more) > 0 {
			os.Rename(filepath.Join(aside, more[0]), filepath.Join(dir, more[0]))
		}
		after := rpmNames(t, dir)

		cmd := exec.Command(bin, append(args, dir)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(span) + 1)))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok && ee.Sys().(syscall.WaitStatus).Signaled() {
			interrupted++
		} else if err != nil {
			t.Fatalf("kill %d: acn index failed on its own: %v", i, err)
		}

		see()
		got := publishedSet(t, dir)
		if !slices.Equal(got, before) && !slices.Equal(got, after) {
			t.Fatalf("kill %d: published %d packages, neither the previous generation (%d) nor the new one (%d)", i, len(got), len(before), len(after))
		}
		if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if err := dnfMakecache(t, dir); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		left := leftovers(dir, named)
		maxLeft = max(maxLeft, len(left))
		// At most what one killed run writes (metadata and cache temp
		// files): earlier runs' are gone.
		if len(left) > 24 {
			t.Fatalf("kill %d: leftovers pile up: %d files: %v", i, len(left), left)
		}
	}
	if out, err := exec.Command(bin, append(args, dir)...).CombinedOutput(); err != nil {
		t.Fatalf("index after the kills: %v\n%s", err, out)
	}
	see()
	if left := leftovers(dir, named); len(left) > 0 {
		t.Errorf("a finished run left: %v", left)
	}
	if cache, _ := filepath.Glob(filepath.Join(dir, ".acn", "cache-*")); len(cache) != 3 {
		t.Errorf("index cache files: %v", cache)
	}
	if got := publishedSet(t, dir); !slices.Equal(got, rpmNames(t, dir)) {
		t.Errorf("after the kills, published %d of %d packages", len(got), len(rpmNames(t, dir)))
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Error(err)
	}
	t.Logf("%d runs, %d killed before they finished, at most %d leftover files at once", loops, interrupted, maxLeft)
}

// TestIndexDiskFull runs acn index --update on a small tmpfs filled to
// leave 0, 12 KiB, 24 KiB ... free, so that publication runs out of space at
// every step in turn. Each time the repository stays intact and verifies;
// the exit status tells the truth (0 if and only if the new generation is
// live, any later fault a warning); a failure says the disk is full; and
// once space returns the next run publishes and leaves nothing behind.
func TestIndexDiskFull(t *testing.T) {
	bin := acnBinary(t)
	src := smallCorpus(t, 40)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	repoDir := filepath.Join(dir, "repo")
	os.Mkdir(repoDir, 0o755)
	names := rpmNames(t, src)
	cp := func(name string) {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repoDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names[:10] {
		cp(n)
	}
	args := []string{"index", "--update", "--compress", "xz", "--sqlite", "--retain-old-md", "1", "--log-level", "error", repoDir}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("first index: %v\n%s", err, out)
	}
	filler := filepath.Join(dir, "filler")
	const stepBytes = 12 << 10
	var failed, warned int
	for step := 0; step < 24; step++ {
		before := publishedSet(t, repoDir)
		cp(names[10+step])
		after := rpmNames(t, repoDir)
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		free := int64(st.Bavail) * st.Bsize
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		if fill := free - int64(step)*stepBytes; fill > 0 {
			if err := syscall.Fallocate(int(f.Fd()), 0, 0, fill); err != nil {
				t.Fatalf("fill the disk: %v", err)
			}
		}
		f.Close()

		out, err := exec.Command(bin, args...).CombinedOutput()
		t.Logf("step %d (%d KiB free): %v %s", step, step*stepBytes>>10, err, strings.TrimSpace(string(out)))
		got := publishedSet(t, repoDir)
		if _, verr := repo.Verify(context.Background(), repoDir, nil); verr != nil {
			t.Fatalf("step %d: the published repository is damaged: %v", step, verr)
		}
		switch {
		case err != nil:
			failed++
			if !slices.Equal(got, before) {
				t.Errorf("step %d: exit status %v, but a new generation is live", step, err)
			}
			if !strings.Contains(string(out), "no space left on device") && !strings.Contains(string(out), "database or disk is full") {
				t.Errorf("step %d: the error does not say the disk is full:\n%s", step, out)
			}
		case !slices.Equal(got, after):
			t.Errorf("step %d: exit status 0, but the new generation is not live:\n%s", step, out)
		case strings.Contains(string(out), "warning"):
			warned++
		}

		os.Remove(filler) // space returns
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("step %d: with space again: %v\n%s", step, err, out)
		}
		if got := publishedSet(t, repoDir); !slices.Equal(got, after) {
			t.Errorf("step %d: with space again, published %d of %d", step, len(got), len(after))
		}
		if left := leftovers(repoDir, retainedNames(t, repoDir)); len(left) > 0 {
			t.Errorf("step %d: left behind: %v", step, left)
		}
	}
	if failed == 0 || failed == 24 {
		t.Errorf("%d of 24 runs ran out of space: the test does not cover both sides", failed)
	}
	t.Logf("%d runs failed for lack of space, %d published with a warning", failed, warned)
}

// retainedNames reads the metadata files the retained generations name.
func retainedNames(t *testing.T, dir string) map[string]bool {
	named := map[string]bool{}
	b, err := os.ReadFile(filepath.Join(dir, ".acn", "generations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gens []struct{ Files []string }
	if err := json.Unmarshal(b, &gens); err != nil {
		t.Fatal(err)
	}
	for _, g := range gens {
		for _, f := range g.Files {
			named[f] = true
		}
	}
	return named
}

// TestIndexPublishedDespiteCleanupFault: once the new repomd.xml is live,
// a fault in what follows (here the record of generations cannot be
// replaced) is a warning and exit status 0, not a failure that would make
// a caller believe nothing was published; the next run, with the fault
// gone, finishes the job.
func TestIndexPublishedDespiteCleanupFault(t *testing.T) {
	src := smallCorpus(t, 4)
	dir := t.TempDir()
	names := rpmNames(t, src)
	for _, n := range names[:3] {
		os.Link(filepath.Join(src, n), filepath.Join(dir, n))
	}
	if _, stderr, code := acn(t, nil, "index", dir); code != 0 {
		t.Fatalf("first index (%d): %s", code, stderr)
	}
	gens := filepath.Join(dir, ".acn", "generations.json")
	os.Remove(gens)
	os.Mkdir(gens, 0o755) // a rename over it fails, for root too
	os.Link(filepath.Join(src, names[3]), filepath.Join(dir, names[3]))
	stdout, stderr, code := acn(t, nil, "index", "--update", dir)
	if code != 0 || !strings.Contains(stdout, "published revision") || !strings.Contains(stderr, "warning: "+dir+" is published, but") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if got := publishedSet(t, dir); len(got) != 4 {
		t.Errorf("published %v", got)
	}
	os.Remove(gens)
	if _, stderr, code := acn(t, nil, "index", "--update", "--revision", "next", dir); code != 0 || stderr != "" {
		t.Errorf("with the fault gone (%d): %s", code, stderr)
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Error(err)
	}
}

// TestIndexRetainZeroAndVerifyDuplicates: --retain-old-md 0 with
// --retain-old-md-by-age 0 keeps no superseded file; modifyrepo_c's
// updateinfo stays through index --update; verify warns about the same
// package at two locations and exits 0.
func TestIndexRetainZeroAndVerifyDuplicates(t *testing.T) {
	src := smallCorpus(t, 3)
	dir := t.TempDir()
	names := rpmNames(t, src)
	for _, n := range names {
		os.Link(filepath.Join(src, n), filepath.Join(dir, n))
	}
	zero := []string{"--retain-old-md", "0", "--retain-old-md-by-age", "0"}
	if _, stderr, code := acn(t, nil, append([]string{"index", dir}, zero...)...); code != 0 {
		t.Fatalf("index (%d): %s", code, stderr)
	}
	ui := filepath.Join(t.TempDir(), "updateinfo.xml")
	os.WriteFile(ui, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<updates><update from="x" status="stable" type="bugfix" version="1"><id>T-1</id><title>t</title></update></updates>
`), 0o644)
	if out, err := exec.Command("modifyrepo_c", ui, filepath.Join(dir, "repodata")).CombinedOutput(); err != nil {
		t.Fatalf("modifyrepo_c: %v\n%s", err, out)
	}
	for _, n := range names[:2] {
		os.Remove(filepath.Join(dir, n))
		if _, stderr, code := acn(t, nil, append([]string{"index", "--update", dir}, zero...)...); code != 0 {
			t.Fatalf("index --update (%d): %s", code, stderr)
		}
		md, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := repo.ParseRepomd(strings.NewReader(string(md)))
		if err != nil || m.Find("updateinfo") == nil {
			t.Fatalf("updateinfo lost: %v\n%s", err, md)
		}
		want := map[string]bool{}
		for _, d := range m.Data {
			want["repodata/"+filepath.Base(d.Location.Href)] = true
		}
		if left := leftovers(dir, want); len(left) > 0 {
			t.Errorf("--retain-old-md 0: superseded files kept: %v", left)
		}
	}

	// The same file at two locations (createrepo_c publishes it; acn
	// index refuses a duplicate NEVRA).
	os.Mkdir(filepath.Join(dir, "copy"), 0o755)
	os.Link(filepath.Join(src, names[2]), filepath.Join(dir, "copy", names[2]))
	if out, err := exec.Command("createrepo_c", "--quiet", dir).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	stdout, stderr, code := acn(t, nil, "verify", dir)
	if code != 0 || !strings.Contains(stdout, "OK") || !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "copy/"+names[2]) {
		t.Errorf("verify with a duplicate (%d):\n%s%s", code, stdout, stderr)
	}
}

// TestForeignUpdateinfoReplacedByAcns: modifyrepo_c's updateinfo stays
// through acn index until acn writes one of its own (a version with an
// advisory published), which replaces it; when acn's goes, the other
// tool's does not come back.
func TestForeignUpdateinfoReplacedByAcns(t *testing.T) {
	r := gittest.New(t)
	files := map[string]string{"web.txt": "web\n", "specs/web.yaml": advSpec("web", "1.4.0", "")}
	r.Commit("old", files)
	r.Git("tag", "web/v1.4.0")
	files["specs/web.yaml"] = advSpec("web", "1.4.1", "  - date: 2026-12-01\n    author: A <a@example.com>\n    version: 1.4.1-1\n    text: \"- Fix.\"\n"+
		"    advisory: {type: security, severity: Important}\n")
	r.Commit("new", files)
	r.Git("tag", "web/v1.4.1")
	out := t.TempDir()
	env := map[string]string{"ACN_CACHE_DIR": t.TempDir()}
	build := func(ref string) {
		t.Helper()
		if _, stderr, code := acn(t, env, "build", "--git", r.Dir, "--ref", ref, "--out", out); code != 0 {
			t.Fatalf("build %s: exit %d\n%s", ref, code, stderr)
		}
	}
	index := func() {
		t.Helper()
		if _, stderr, code := acn(t, env, "index", "--update", out); code != 0 || stderr != "" {
			t.Fatalf("index --update: %d\n%s", code, stderr)
		}
	}
	ids := func() []string {
		var got []string
		for _, u := range updates(t, out) {
			got = append(got, u.ID)
		}
		return got
	}
	build("web/v1.4.0")
	index()
	ui := filepath.Join(t.TempDir(), "updateinfo.xml")
	os.WriteFile(ui, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<updates><update from="x" status="stable" type="bugfix" version="1"><id>OTHER-1</id><title>t</title><issued date="2026-01-01 00:00:00"/></update></updates>
`), 0o644)
	tooltest.Run(t, "modifyrepo_c", ui, filepath.Join(out, "repodata"))
	index()
	if got := ids(); !slices.Equal(got, []string{"OTHER-1"}) {
		t.Fatalf("modifyrepo_c's updateinfo through index --update: %v", got)
	}
	build("web/v1.4.1")
	index()
	if got := ids(); !slices.Equal(got, []string{"ACN-2026-0001"}) {
		t.Errorf("acn's advisories: %v", got)
	}
	for _, f := range []string{"web-1.4.1-1.noarch.rpm", "web-extras-1.4.1-1.noarch.rpm"} {
		os.Remove(filepath.Join(out, f))
	}
	index()
	if got := ids(); len(got) != 0 {
		t.Errorf("without advisories: %v", got)
	}
}
