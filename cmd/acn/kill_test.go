package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/repo"
)

// TestMain lets a test run this binary as acn itself (ACN_TEST_MAIN=1),
// so that a test can kill a real acn process.
func TestMain(m *testing.M) {
	if os.Getenv("ACN_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proc is an acn process a test started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it exited and was reaped
}

// acnProcess starts this binary as "acn args...", its output appended to
// logName.
func acnProcess(t *testing.T, logName string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ACN_TEST_MAIN=1")
	logf, err := os.OpenFile(logName, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	return p
}

// signal sends sig and waits for the process to end.
func (p *proc) signal(sig os.Signal) {
	p.cmd.Process.Signal(sig)
	<-p.done
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// daemonLeftovers lists what a run may leave while it works and the next run
// must clean: temp files, staging, build output and scratch directories.
func daemonLeftovers(data string) []string {
	var found []string
	for _, pat := range []string{
		"repos/*/repodata/.*", "repos/*/.*.tmp*", "repos/*/.acn/*.tmp*", "repos/*/.acn/staging/*",
		"builds/*/out", "scratch/*", ".*.tmp*",
	} {
		m, _ := filepath.Glob(filepath.Join(data, pat))
		found = append(found, m...)
	}
	return found
}

// TestKillServeDuringPublication kills acn serve with SIGKILL at random
// points while it builds and publishes, and restarts it each time. After
// every kill the published repository verifies and is a whole
// generation; at the end every job has finished (an interrupted one is
// retried once, then failed), every package a job published is there,
// and nothing is left behind. ACN_KILL_LOOPS sets the number of kills
// (bench/kill.sh runs 50).
func TestKillServeDuringPublication(t *testing.T) {
	loops := 8
	if n, err := strconv.Atoi(os.Getenv("ACN_KILL_LOOPS")); err == nil && n > 0 {
		loops = n
	}
	r := gittest.New(t)
	spec := func(v string) map[string]string {
		return map[string]string{
			"specs/hello.yaml": "name: hello\nversion: \"" + v + "\"\nsummary: Says hello\nlicense: MIT\n" +
				"build:\n  - (exec -a acn-kill-test-marker sleep 300) >/dev/null 2>&1 & sleep 0.$((RANDOM % 3))\n" +
				"  - head -c 300000 /dev/urandom > \"$DESTDIR/blob\"\n" +
				"files:\n  - src: $DESTDIR/blob\n    dst: /usr/share/hello/blob\n",
		}
	}
	data := t.TempDir()
	logName := filepath.Join(t.TempDir(), "acn.log")
	addr := freeAddr(t)
	serve := func() *proc {
		return acnProcess(t, logName, "serve", "--data", data, "--git", r.Dir, "--listen", addr, "--poll", "50ms", "--log-level", "debug")
	}
	url := "http://" + addr
	ready := func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	repoDir := filepath.Join(data, "repos", "acn")
	for i := range loops {
		v := fmt.Sprintf("1.%d", i)
		r.Commit(v, spec(v))
		r.Git("tag", "hello/v"+v)
		cmd := serve()
		for !ready() {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(700)) * time.Millisecond)
		cmd.signal(syscall.SIGKILL)
		if _, err := os.Stat(filepath.Join(repoDir, "repodata", "repomd.xml")); err != nil {
			continue // nothing published yet
		}
		if res, err := repo.Verify(context.Background(), repoDir, nil); err != nil {
			t.Fatalf("kill %d: the repository does not verify: %v\n%+v", i, err, res)
		}
	}

	// The last run: every job finishes.
	cmd := serve()
	defer cmd.signal(syscall.SIGTERM)
	var jobs []struct {
		Ref, Status, Error string
		RPMs               []string
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(url + "/api/v1/builds")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			jobs = nil
			if jsonErr := json.Unmarshal(b, &jobs); jsonErr != nil {
				t.Fatal(jsonErr)
			}
			done := len(jobs) == loops
			for _, j := range jobs {
				if j.Status != "succeeded" && j.Status != "failed" {
					done = false
				}
			}
			if done {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still unfinished: %+v", jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	succeeded := 0
	for _, j := range jobs {
		switch {
		case j.Status == "succeeded":
			succeeded++
			for _, p := range j.RPMs {
				if _, err := os.Stat(filepath.Join(data, "repos", p)); err != nil {
					t.Errorf("%s published %s, which is gone: %v", j.Ref, p, err)
				}
			}
		case !strings.Contains(j.Error, "interrupted"):
			t.Errorf("%s failed: %s", j.Ref, j.Error)
		}
	}
	if res, err := repo.Verify(context.Background(), repoDir, nil); err != nil {
		t.Fatalf("the repository does not verify: %v\n%+v", err, res)
	}
	cat, err := repo.LoadCatalog(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Entries) != succeeded {
		t.Errorf("%d packages published, %d jobs succeeded", len(cat.Entries), succeeded)
	}
	if left := daemonLeftovers(data); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if out, err := exec.Command("pgrep", "-af", "acn-kill-test-marker").Output(); err == nil {
		t.Errorf("build step processes outlived acn:\n%s", out)
	}
	if err := dnfMakecache(t, url+"/repos/acn/"); err != nil {
		t.Error(err)
	}
	t.Logf("%d kills: %d jobs succeeded, %d failed after two interruptions", loops, succeeded, loops-succeeded)
}
