package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/server"
)

// post sends a JSON body with the API token and returns the status and
// body.
func (d *daemon) post(path, body string) (int, string) {
	d.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (d *daemon) health() map[string]any {
	d.t.Helper()
	_, body := d.get("/healthz")
	var h map[string]any
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		d.t.Fatalf("healthz: %v: %s", err, body)
	}
	return h
}

// eventually polls cond for up to a minute: a bound for a loaded machine,
// not a measure of speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("still not so after a minute: %s", what)
}

// TestPanicFailsOnlyItsJob: a panic in a build marks that job failed and
// the daemon goes on serving and building.
func TestPanicFailsOnlyItsJob(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	r.Git("tag", "hello/v1.0")
	r.Commit("1.1", helloSpec("1.1", "hello\n"))
	r.Git("tag", "hello/v1.1")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}}, func(s *server.Server) {
		server.SetBuildHook(s, func(ref string) {
			if ref == "hello/v1.0" {
				var jobs []server.Job
				_ = jobs[len(ref)] // index out of range: a real runtime panic
			}
		})
	})
	if j := d.wait("hello/v1.0"); j.Status != server.Failed || !strings.Contains(j.Error, "internal error") {
		t.Errorf("panicking build: %+v", j)
	}
	if j := d.wait("hello/v1.1"); j.Status != server.Succeeded {
		t.Errorf("the next build: %+v", j)
	}
	if code, _ := d.get("/repos/acn/repodata/repomd.xml"); code != 200 {
		t.Errorf("repomd.xml after a panic: %d", code)
	}
}

// TestInterruptedJobRetriedOnce: a job that was building when the daemon
// died runs again once; if it was interrupted twice it is failed, so that
// no input keeps the daemon in a crash loop.
func TestInterruptedJobRetriedOnce(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	r.Git("tag", "hello/v1.0")
	r.Commit("1.1", helloSpec("1.1", "hello\n"))
	r.Git("tag", "hello/v1.1")
	commit := func(ref string) string { return strings.TrimSpace(r.Git("rev-parse", ref+"^{commit}")) }
	data := t.TempDir()
	st := map[string]any{"next": 3, "jobs": []map[string]any{
		{"id": 1, "ref": "hello/v1.0", "commit": commit("hello/v1.0"), "package": "hello", "version": "1.0", "status": "building", "queued": time.Now(), "attempts": 1},
		{"id": 2, "ref": "hello/v1.1", "commit": commit("hello/v1.1"), "package": "hello", "version": "1.1", "status": "building", "queued": time.Now(), "attempts": 2},
	}, "tags": map[string]any{
		"hello/v1.0": map[string]string{"commit": commit("hello/v1.0")},
		"hello/v1.1": map[string]string{"commit": commit("hello/v1.1")},
	}}
	b, _ := json.Marshal(st)
	os.WriteFile(filepath.Join(data, "state.json"), b, 0o644)
	d := start(t, server.Config{Data: data, Git: server.GitConfig{URL: r.Dir}})
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded || j.Attempts != 2 {
		t.Errorf("interrupted once: %+v", j)
	}
	if j := d.wait("hello/v1.1"); j.Status != server.Failed || !strings.Contains(j.Error, "interrupted 2 times") {
		t.Errorf("interrupted twice: %+v", j)
	}
	d.hook("")
	time.Sleep(200 * time.Millisecond)
	if n := len(d.builds()); n != 2 {
		t.Errorf("a sync after restart queued again: %d jobs", n)
	}
}

// TestAPIErrors: the client gets a status that says what went wrong and a
// message without internals; the details are logged.
func TestAPIErrors(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	d.wait("hello/v1.0")
	for _, tt := range []struct {
		path, body string
		code       int
	}{
		{"/api/v1/builds", `{"ref":"no-such-ref"}`, 404},
		{"/api/v1/builds", `{"ref":""}`, 400},
		{"/api/v1/builds", `{"ref":"x","extra":1}`, 400},
		{"/api/v1/builds", `not json`, 400},
		{"/api/v1/promote", `{"package":"nope","version":"1","from":"acn","to":"acn"}`, 404},
		{"/api/v1/promote", `{"package":"hello","version":"1.0","from":"nope","to":"acn"}`, 404},
		{"/api/v1/promote", `{"package":"hello"}`, 400},
	} {
		code, body := d.post(tt.path, tt.body)
		if code != tt.code {
			t.Errorf("POST %s %s: %d, want %d: %s", tt.path, tt.body, code, tt.code, body)
		}
		if strings.Contains(body, d.data) || strings.Contains(body, r.Dir) {
			t.Errorf("POST %s %s: the answer shows a server path: %s", tt.path, tt.body, body)
		}
	}

	// A 100 MB body: refused after at most 1 MiB, with or without a token.
	for _, auth := range []string{"Bearer " + token, ""} {
		body := io.MultiReader(strings.NewReader(`{"ref":"`), io.LimitReader(zeros{}, 100<<20))
		req, _ := http.NewRequest(http.MethodPost, d.url+"/api/v1/builds", body)
		req.ContentLength = -1
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// The server may close the connection while the client still
			// sends: also a refusal.
			continue
		}
		resp.Body.Close()
		if want := map[bool]int{true: 400, false: 401}[auth != ""]; resp.StatusCode != want {
			t.Errorf("a 100 MB body (auth %q): %d, want %d", auth, resp.StatusCode, want)
		}
	}

	// The spec repository unreachable: 502, and the daemon says so.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := "http://" + ln.Addr().String() + "/specs.git"
	ln.Close()
	d2 := start(t, server.Config{Git: server.GitConfig{URL: gone}})
	if code, body := d2.post("/api/v1/builds", `{"ref":"main"}`); code != http.StatusBadGateway || strings.Contains(body, "127.0.0.1") {
		t.Errorf("unreachable remote: %d %s", code, body)
	}
}

// TestWebhookHardening: the body is hashed as it streams, never held; a
// signature is checked before anything is done; a delivery is accepted
// once.
func TestWebhookHardening(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})

	body := []byte(`{"ref":"refs/heads/main","after":"1"}`)
	if code := d.deliver(body, "a", ""); code != http.StatusAccepted {
		t.Fatalf("first delivery: %d", code)
	}
	if code := d.deliver(body, "a", ""); code != http.StatusConflict {
		t.Errorf("the same delivery again: %d", code)
	}
	if code := d.deliver(body, "b", ""); code != http.StatusConflict {
		t.Errorf("the same body under a new delivery ID: %d", code)
	}
	if code := d.deliver([]byte(`{"after":"2"}`), "a", ""); code != http.StatusConflict {
		t.Errorf("a new body under a used delivery ID: %d", code)
	}
	if code := d.deliver([]byte(`{"after":"3"}`), "c", ""); code != http.StatusAccepted {
		t.Errorf("a new delivery: %d", code)
	}
	if code := d.deliver([]byte(`{"after":"4"}`), "d", "sha256="+strings.Repeat("ab", 32)); code != http.StatusUnauthorized {
		t.Errorf("a wrong signature: %d", code)
	}
	big := bytes.Repeat([]byte{'x'}, 26<<20)
	if code := d.deliver(big, "e", ""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 26 MiB body: %d", code)
	}

	// 32 clients each sending 8 MiB with a wrong signature at once: the
	// heap does not hold their bodies.
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	var wg sync.WaitGroup
	var bad atomic.Int32
	payload := bytes.Repeat([]byte{'y'}, 8<<20)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mac := hmac.New(sha256.New, []byte("not the secret"))
			mac.Write(payload)
			req, _ := http.NewRequest(http.MethodPost, d.url+"/api/v1/hooks/git", bytes.NewReader(payload))
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			req.Header.Set("X-GitHub-Delivery", fmt.Sprint("m", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				bad.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	if bad.Load() != 0 {
		t.Errorf("%d of the forged deliveries were not refused with 401", bad.Load())
	}
	// The clients' 32 payloads share one 8 MiB buffer; had the server
	// kept the bodies it would hold 256 MiB more.
	if grew := int64(peak.Load()) - int64(before.HeapInuse); grew > 96<<20 {
		t.Errorf("the heap grew by %d MiB while 32 clients sent 8 MiB each", grew>>20)
	}
}

// TestRepoFileBaseURL: without public_url, the .repo file names the host
// the client used only when it is a plain host name or address.
func TestRepoFileBaseURL(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Listen: "127.0.0.1:8080"})
	for host, want := range map[string]string{
		"repo.example.com":          "baseurl=http://repo.example.com/repos/acn/",
		"repo.example.com:8080":     "baseurl=http://repo.example.com:8080/repos/acn/",
		"[::1]:80":                  "baseurl=http://[::1]:80/repos/acn/",
		"evil.example.com/x?y=":     "400 Bad Request", // net/http refuses these
		"a.example.com@evil.com":    "400 Bad Request",
		"evil.example.com%2fx":      "baseurl=http://127.0.0.1:8080/repos/acn/",
		"evil.com;x=y":              "baseurl=http://127.0.0.1:8080/repos/acn/",
		"evil.com'":                 "baseurl=http://127.0.0.1:8080/repos/acn/",
		"x\"\n[evil]\nbaseurl=http": "baseurl=http://127.0.0.1:8080/repos/acn/",
	} {
		c, err := net.Dial("tcp", strings.TrimPrefix(d.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /repos/acn.repo HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
		b, _ := io.ReadAll(c)
		c.Close()
		if strings.Contains(host, "\n") {
			if strings.Contains(string(b), "[evil]") {
				t.Errorf("Host %q reached the .repo file:\n%s", host, b)
			}
			continue
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("Host %q: want %q in\n%s", host, want, b)
		}
	}
}

// TestHealthzStateUnwritable: /healthz says "degraded" when the state
// cannot be saved, and the daemon keeps serving.
func TestHealthzStateUnwritable(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	d.wait("hello/v1.0")
	if h := d.health(); h["status"] != "ok" {
		t.Fatalf("healthz: %v", h)
	}
	// A directory with something in it cannot be renamed over.
	st := filepath.Join(d.data, "state.json")
	os.Remove(st)
	os.MkdirAll(filepath.Join(st, "x"), 0o755)
	r.Commit("1.1", helloSpec("1.1", "hello\n"))
	r.Git("tag", "hello/v1.1")
	d.hook("")
	eventually(t, "healthz reports the state", func() bool {
		h := d.health()
		return h["status"] == "degraded" && strings.Contains(fmt.Sprint(h["problems"]), "cannot save the build state")
	})
	if code, body := d.get("/"); code != 200 || !strings.Contains(body, "cannot save the build state") {
		t.Errorf("web index (%d) does not show the problem", code)
	}
	os.RemoveAll(st)
	r.Commit("1.2", helloSpec("1.2", "hello\n"))
	r.Git("tag", "hello/v1.2")
	d.hook("")
	d.wait("hello/v1.2")
	eventually(t, "healthz recovers", func() bool { return d.health()["status"] == "ok" })
}

// TestRunStopsOnListenerError: when serving fails, Run stops the HTTP
// server, the front and the workers, and returns the error.
func TestRunStopsOnListenerError(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	s, err := server.New(server.Config{Data: t.TempDir(), Git: server.GitConfig{URL: r.Dir, Poll: server.Duration{Duration: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), ln) }()
	eventually(t, "serving", func() bool {
		resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	ln.Close()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, net.ErrClosed) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its listener failed")
	}
}

// TestOneDaemonPerDataDir: a second daemon on the same data directory
// refuses to start, naming the first.
func TestOneDaemonPerDataDir(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	eventually(t, "ready", func() bool { return d.health()["ready"] == true })
	s, err := server.New(server.Config{Data: d.data, Git: server.GitConfig{URL: r.Dir}})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	err = s.Run(context.Background(), ln)
	if !errors.Is(err, server.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Errorf("second daemon: %v", err)
	}
}

// TestGitRemoteFaults: an unreachable or hanging remote is reported and
// the daemon keeps serving; a tag moved after its build published is not
// built again unless asked.
func TestGitRemoteFaults(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: "file://" + r.Dir}})
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}

	// Moved tag.
	r.Commit("moved", helloSpec("1.0", "other bytes\n"))
	r.Git("tag", "-f", "hello/v1.0")
	d.hook("")
	eventually(t, "healthz reports the moved tag", func() bool {
		return strings.Contains(fmt.Sprint(d.health()["problems"]), "tag hello/v1.0 moved")
	})
	if n := len(d.builds()); n != 1 {
		t.Errorf("a moved tag was built again: %d jobs", n)
	}
	if code, body := d.get("/"); code != 200 || !strings.Contains(body, "hello/v1.0 moved") {
		t.Errorf("web index (%d) does not show the moved tag", code)
	}

	// The remote gone.
	os.Rename(r.Dir, r.Dir+".gone")
	d.hook("")
	eventually(t, "healthz reports the fetch error", func() bool {
		h := d.health()
		return h["status"] == "degraded" && h["last_sync_error"] != nil
	})
	if code, _ := d.get("/repos/acn/hello-1.0-1.noarch.rpm"); code != 200 {
		t.Errorf("serving while the remote is gone: %d", code)
	}
	os.Rename(r.Dir+".gone", r.Dir)
	d.hook("")
	eventually(t, "healthz recovers from the fetch error", func() bool { return d.health()["last_sync_error"] == nil })

	// A remote that accepts and never answers: the fetch is abandoned at
	// git.timeout and the daemon still stops promptly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	slow := start(t, server.Config{Git: server.GitConfig{URL: "http://" + ln.Addr().String() + "/specs.git", Timeout: server.Duration{Duration: time.Second}}})
	eventually(t, "healthz reports the hanging remote", func() bool {
		return strings.Contains(fmt.Sprint(slow.health()["last_sync_error"]), "deadline")
	})
	if code, _ := slow.get("/healthz"); code != 200 {
		t.Errorf("healthz while the remote hangs: %d", code)
	}
	slow.stop()
}

// TestInterruptedAfterPublishing: a job that died after its packages went
// live is found published when retried, not built again into other bytes
// (which would be refused as a change to a published NEVRA).
func TestInterruptedAfterPublishing(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", map[string]string{"specs/rand.yaml": "name: rand\nversion: \"1\"\nsummary: S\nlicense: MIT\n" +
		"build:\n  - head -c 64 /dev/urandom > \"$DESTDIR/r\"\nfiles:\n  - src: $DESTDIR/r\n    dst: /opt/r\n"})
	r.Git("tag", "rand/v1")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	if j := d.wait("rand/v1"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}
	data := d.data
	d.stop()
	// As if the daemon had died between publishing and recording it.
	name := filepath.Join(data, "state.json")
	b, _ := os.ReadFile(name)
	var st map[string]any
	json.Unmarshal(b, &st)
	job := st["jobs"].([]any)[0].(map[string]any)
	if job["publishing"] == nil {
		t.Fatalf("the job did not record what it published: %s", b)
	}
	job["status"], job["rpms"] = "building", nil
	b, _ = json.Marshal(st)
	os.WriteFile(name, b, 0o644)

	d = start(t, server.Config{Data: data, Git: server.GitConfig{URL: r.Dir}})
	if j := d.wait("rand/v1"); j.Status != server.Succeeded || len(j.RPMs) != 1 || j.Attempts != 1 {
		t.Errorf("retried after publishing: %+v", j)
	}
}

// TestDiskFull: with the data directory on a small file system, a build
// that fills it fails with a clear error, the published repository stays
// whole, nothing is left behind, and acn builds again once there is room.
func TestDiskFull(t *testing.T) {
	data := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", data).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (the tests run as root): %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", data).Run() })
	r := gittest.New(t)
	big := func(v, size string) map[string]string {
		return map[string]string{"specs/big.yaml": "name: big\nversion: \"" + v + "\"\nsummary: S\nlicense: MIT\n" +
			"build:\n  - head -c " + size + " /dev/urandom > \"$DESTDIR/blob\"\nfiles:\n  - src: $DESTDIR/blob\n    dst: /opt/blob\n"}
	}
	r.Commit("1", big("1", "100000"))
	r.Git("tag", "big/v1")
	d := start(t, server.Config{Data: data, Git: server.GitConfig{URL: r.Dir}})
	if j := d.wait("big/v1"); j.Status != server.Succeeded {
		t.Fatalf("first build: %+v", j)
	}
	_, before := d.get("/repos/acn/repodata/repomd.xml")

	r.Commit("2", big("2", "20000000"))
	r.Git("tag", "big/v2")
	d.hook("")
	j := d.wait("big/v2")
	if j.Status != server.Failed || !strings.Contains(strings.ToLower(j.Error), "no space left on device") {
		t.Errorf("a build that fills the disk: %+v", j)
	}
	if _, now := d.get("/repos/acn/repodata/repomd.xml"); now != before {
		t.Errorf("repomd.xml changed after a failed build")
	}
	if res, err := repo.Verify(context.Background(), d.url+"/repos/acn", nil); err != nil {
		t.Errorf("the repository after a full disk: %v %+v", err, res)
	}
	for _, pat := range []string{"scratch/*", "builds/*/out", "repos/acn/.acn/staging/*"} {
		if m, _ := filepath.Glob(filepath.Join(data, pat)); len(m) > 0 {
			t.Errorf("left behind: %v", m)
		}
	}

	// Room again.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", data).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v\n%s", err, out)
	}
	r.Commit("3", big("3", "20000000"))
	r.Git("tag", "big/v3")
	d.hook("")
	if j := d.wait("big/v3"); j.Status != server.Succeeded {
		t.Errorf("after space returned: %+v", j)
	}
	if res, err := repo.Verify(context.Background(), d.url+"/repos/acn", nil); err != nil {
		t.Errorf("the repository after recovery: %v %+v", err, res)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestFloodingHangingStep: a step that floods its output and never ends
// is killed at the timeout with everything it started; its log is
// capped; the daemon goes on.
func TestFloodingHangingStep(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1", map[string]string{"specs/flood.yaml": "name: flood\nversion: \"1\"\nsummary: S\nlicense: MIT\n" +
		"build:\n  - (exec -a acn-flood-marker sleep 1000) & exec -a acn-flood-marker yes flood\n"})
	r.Git("tag", "flood/v1")
	var cfg server.Config
	cfg.Git.URL = r.Dir
	cfg.Builds.Timeout = server.Duration{Duration: 3 * time.Second}
	cfg.Builds.LogLimit = server.Size{Bytes: 1 << 20}
	d := start(t, cfg)
	j := d.wait("flood/v1")
	if j.Status != server.Failed || !strings.Contains(j.Error, "timed out") {
		t.Errorf("flooding, hanging step: %+v", j)
	}
	_, log := d.get(fmt.Sprintf("/api/v1/builds/%d/log", j.ID))
	if len(log) > 1<<20+64<<10 || !strings.Contains(log, "truncated") {
		t.Errorf("log of %d bytes, want at most about 1 MiB and a line saying it was cut:\n%.300s", len(log), log[max(len(log)-300, 0):])
	}
	eventually(t, "no step process left", func() bool {
		return exec.Command("pgrep", "-f", "acn-flood-marker").Run() != nil
	})
	if h := d.health(); h["status"] != "ok" {
		t.Errorf("healthz: %v", h)
	}
}
