package builder_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/specs"
)

// childEnv makes the test binary, run again, build one spec and hang in
// it, so that a test can kill -9 a process in the middle of a build.
const childEnv = "ACN_BUILDER_TEST_CHILD"

func TestMain(m *testing.M) {
	if arg := os.Getenv(childEnv); arg != "" {
		if err := buildAsChild(arg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// buildAsChild reads "repo|scratch" or "repo|scratch|off" (no sandbox).
func buildAsChild(arg string) error {
	repoDir, scratch, _ := strings.Cut(arg, "|")
	scratch, mode, _ := strings.Cut(scratch, "|")
	sandbox, err := builder.ParseSandboxMode(mode)
	if err != nil {
		return err
	}
	ctx := context.Background()
	repo, err := specs.Open(ctx, repoDir, specs.OpenOptions{})
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
	_, err = builder.Build(ctx, snap.FS, sp, builder.Options{OutDir: filepath.Join(scratch, "..", "out"), CacheDir: filepath.Join(scratch, "..", "cache"), ScratchDir: scratch, Time: snap.Time, Sandbox: sandbox})
	return err
}

// pgrep lists the processes whose whole command line matches pattern.
func pgrep(t *testing.T, pattern string) string {
	t.Helper()
	out, err := exec.Command("pgrep", "-a", "-f", pattern).Output()
	if err != nil && len(out) == 0 {
		return "" // exit status 1: none
	}
	return strings.TrimSpace(string(out))
}

// waitGone waits for SIGKILLed processes to leave the process table.
func waitGone(t *testing.T, pattern string) string {
	t.Helper()
	for range 600 {
		if pgrep(t, pattern) == "" {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
	return pgrep(t, pattern)
}

// TestCleanStaleAfterKill: acn killed in the middle of a build step
// leaves the step's processes running (re-parented to init) and its
// scratch tree behind. The next acn's CleanStale kills those processes
// and removes the tree, and leaves a running build's alone.
func TestCleanStaleAfterKill(t *testing.T) {
	const pattern = "^sleep 77710(01|02)$"
	if p := pgrep(t, pattern); p != "" {
		t.Fatalf("processes from an earlier run: %s", p)
	}
	r := gittest.New(t)
	// The step says it is ready in its log: in the sandbox it can write
	// nowhere else the test can see.
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n  - sleep 7771001 & echo acn-ready-7771000; sleep 7771002\n"})
	base := t.TempDir()
	ready := filepath.Join(base, "out", "x-1-1.noarch.build.log")
	scratch := filepath.Join(base, "scratch")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(scratch, "acn-build-not-ours")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	// A build that kept its scratch for inspection, in a process gone now.
	if _, err := build(t, r0(t), "HEAD", "x", builder.Options{ScratchDir: scratch, KeepScratch: true}); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+r.Dir+"|"+scratch)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { child.Process.Kill() })
	for {
		if b, _ := os.ReadFile(ready); strings.Contains(string(b), "\nacn-ready-7771000\n") {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the building child exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := builder.CleanStale(context.Background(), scratch, log); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(scratch); len(ents) != 3 || pgrep(t, pattern) == "" {
		t.Fatalf("CleanStale touched a running build: scratch holds %v; processes: %q", ents, pgrep(t, pattern))
	}

	child.Process.Signal(os.Kill)
	<-exited
	if p := pgrep(t, pattern); p == "" {
		t.Log("no step process survived the kill; nothing for CleanStale to do")
	}
	if err := builder.CleanStale(context.Background(), scratch, log); err != nil {
		t.Fatal(err)
	}
	if p := waitGone(t, pattern); p != "" {
		t.Errorf("build step processes survived CleanStale: %s", p)
	}
	ents, _ := os.ReadDir(scratch)
	if len(ents) != 2 || !strings.HasPrefix(ents[0].Name(), "acn-build-kept-") || ents[1].Name() != "acn-build-not-ours" {
		t.Errorf("scratch holds %v, want only the kept one and the one Build did not make", ents)
	}
}

// r0 is a repository with a spec whose one build step succeeds.
func r0(t *testing.T) *gittest.Repo {
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n  - 'true'\n"})
	return r
}

// TestStepLeavesNoProcess: a step's background processes, even one that
// left its process group, do not outlive it.
func TestStepLeavesNoProcess(t *testing.T) {
	const pattern = "^sleep 77710(03|04)$"
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n  - sleep 7771003 &\n  - setsid sleep 7771004 > /dev/null 2>&1 < /dev/null &\n  - echo next\n"})
	if _, err := build(t, r, "HEAD", "x", builder.Options{}); err != nil {
		t.Fatal(err)
	}
	if p := waitGone(t, pattern); p != "" {
		t.Errorf("processes outlived their step: %s", p)
	}
}

// TestLogLimit: a step that floods its output is killed at its timeout,
// its log stays within the limit, and no process is left.
func TestLogLimit(t *testing.T) {
	const limit = 1 << 20
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\ntimeout: 3s\nbuild:\n  - echo before\n  - yes acnflood7771005\n"})
	res, err := build(t, r, "HEAD", "x", builder.Options{LogLimit: limit})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the timeout", err)
	}
	fi, err := os.Stat(res.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > limit+4096 {
		t.Errorf("log is %d bytes, limit %d", fi.Size(), limit)
	}
	log, _ := os.ReadFile(res.LogPath)
	for _, want := range []string{"before", "acnflood7771005\n", "==> log truncated at 1.0 MiB", "==> step 2 failed after"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if p := waitGone(t, "^yes acnflood7771005$"); p != "" {
		t.Errorf("the flooding step survived: %s", p)
	}
}
