package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/server"
)

const token = "test-token"
const secret = "webhook-secret"

func helloSpec(version, text string) map[string]string {
	return map[string]string{
		"specs/hello.yaml": "name: hello\nversion: \"" + version + "\"\nsummary: Says hello\nlicense: MIT\nfiles:\n  - src: hello.txt\n    dst: /usr/share/hello/hello.txt\nchangelog:\n  - date: 2026-01-02\n    author: T <t@acn.invalid>\n    text: \"- " + version + "\"\n",
		"hello.txt":        text,
	}
}

type daemon struct {
	t       *testing.T
	s       *server.Server
	url     string
	cancel  context.CancelFunc
	done    chan error
	data    string
	metrics *http.Client

	deliveries int
}

func start(t *testing.T, cfg server.Config, prepare ...func(*server.Server)) *daemon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, ln, cfg, prepare...)
}

// startOn runs a daemon on ln.
func startOn(t *testing.T, ln net.Listener, cfg server.Config, prepare ...func(*server.Server)) *daemon {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o600)
	cfg.Git.WebhookSecretFile = filepath.Join(dir, "secret")
	cfg.APITokens = []string{token}
	cfg.Git.Poll = server.Duration{Duration: time.Hour}
	if cfg.Data == "" {
		cfg.Data = filepath.Join(dir, "data")
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prepare {
		p(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, s: s, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1), data: cfg.Data}
	go func() { d.done <- s.Run(ctx, ln) }()
	t.Cleanup(d.stop)
	return d
}

func (d *daemon) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		d.t.Error("the daemon did not stop")
	}
}

func (d *daemon) get(path string) (int, string) {
	d.t.Helper()
	resp, err := http.Get(d.url + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// hook sends a webhook delivery signed with sig, or correctly when sig is
// empty; each call is a new delivery, as a forge sends one per push.
func (d *daemon) hook(sig string) int {
	d.t.Helper()
	d.deliveries++
	id := fmt.Sprintf("delivery-%d", d.deliveries)
	body := []byte(`{"ref":"refs/tags/x","delivery":"` + id + `"}`)
	return d.deliver(body, id, sig)
}

// deliver posts one webhook body with a delivery ID.
func (d *daemon) deliver(body []byte, id, sig string) int {
	d.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.url+"/api/v1/hooks/git", bytes.NewReader(body))
	if sig == "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		sig = "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	req.Header.Set("X-Hub-Signature-256", sig)
	if id != "" {
		req.Header.Set("X-GitHub-Delivery", id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (d *daemon) builds() []server.Job {
	d.t.Helper()
	_, body := d.get("/api/v1/builds")
	var jobs []server.Job
	if err := json.Unmarshal([]byte(body), &jobs); err != nil {
		d.t.Fatalf("builds: %v: %s", err, body)
	}
	return jobs
}

// wait waits until the job for ref is finished and returns it.
func (d *daemon) wait(ref string) server.Job {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, j := range d.builds() {
			if j.Ref == ref && (j.Status == server.Succeeded || j.Status == server.Failed) {
				return j
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("no finished build of %s: %+v", ref, d.builds())
	return server.Job{}
}

func dnf(t *testing.T, root string, args ...string) string {
	t.Helper()
	base := []string{"-y", "-q", "--releasever=9", "--setopt=reposdir=" + filepath.Join(root, "repos.d"),
		"--setopt=cachedir=" + filepath.Join(root, "cache"), "--installroot=" + filepath.Join(root, "root"),
		"--setopt=tsflags=noscripts", "--setopt=metadata_expire=0"}
	out, err := exec.Command("dnf", append(base, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dnf %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestEndToEnd: a tag becomes a package dnf installs over HTTP; a new tag
// pushed and announced by webhook becomes an upgrade; a broken spec
// tagged in between fails visibly and changes nothing published.
func TestEndToEnd(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello 1.0\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("first build: %+v", j)
	}

	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
	code, repoFile := d.get("/repos/acn.repo")
	if code != 200 || !strings.Contains(repoFile, "baseurl="+d.url+"/repos/acn/") {
		t.Fatalf(".repo file (%d):\n%s", code, repoFile)
	}
	os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte(repoFile), 0o644)
	handoffs := d.handoffs()
	dnf(t, root, "install", "hello")
	// Every request dnf makes is one the front answers itself.
	if n := d.handoffs() - handoffs; n != 0 {
		t.Errorf("dnf install: %d connections handed from the front to net/http", n)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "root", "usr/share/hello/hello.txt")); string(b) != "hello 1.0\n" {
		t.Fatalf("installed file: %q", b)
	}

	if code := d.hook("sha256=00"); code != http.StatusUnauthorized {
		t.Errorf("webhook with a bad signature: %d", code)
	}

	r.Commit("broken", map[string]string{"specs/hello.yaml": "name: hello\nversion: \"1.1\"\nsummary: S\nlicense: MIT\nfile:\n  - src: hello.txt\n"})
	r.Git("tag", "hello/v1.1")
	if code := d.hook(""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	j := d.wait("hello/v1.1")
	if j.Status != server.Failed || !strings.Contains(j.Error, "specs/hello.yaml:5: file: unknown key") {
		t.Errorf("broken spec: %+v", j)
	}
	if code, log := d.get(fmt.Sprintf("/api/v1/builds/%d/log", j.ID)); code != 200 || !strings.Contains(log, "FAILED") {
		t.Errorf("build log (%d): %s", code, log)
	}
	if _, err := repo.Verify(context.Background(), d.url+"/repos/acn", nil); err != nil {
		t.Errorf("repository after a failed build: %v", err)
	}

	r.Commit("1.2", helloSpec("1.2", "hello 1.2\n"))
	r.Git("tag", "hello/v1.2")
	d.hook("")
	if j := d.wait("hello/v1.2"); j.Status != server.Succeeded {
		t.Fatalf("1.2: %+v", j)
	}
	handoffs = d.handoffs()
	dnf(t, root, "upgrade", "--refresh")
	if n := d.handoffs() - handoffs; n != 0 {
		t.Errorf("dnf upgrade: %d connections handed from the front to net/http", n)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "root", "usr/share/hello/hello.txt")); string(b) != "hello 1.2\n" {
		t.Errorf("after dnf upgrade: %q", b)
	}

	// NEVRAs are immutable: the same version with other content is refused.
	r.Commit("changed", helloSpec("1.2", "different bytes\n"))
	req, _ := http.NewRequest(http.MethodPost, d.url+"/api/v1/builds", strings.NewReader(`{"ref":"main"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/v1/builds: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	if j := d.wait("main"); j.Status != server.Failed || !strings.Contains(j.Error, "immutable") {
		t.Errorf("rebuild of a published NEVRA: %+v", j)
	}

	// State survives a restart: nothing is built twice.
	// What a killed publication leaves is cleaned at start, even when no
	// build follows to change the repository.
	d.stop()
	before := len(d.builds2(t))
	state := filepath.Join(d.data, "repos", "acn", ".acn")
	junk := []string{"staging/hello-1.3-1.noarch.rpm", "generations.json.tmp", "index-cache.tmp-318739138"}
	for _, j := range junk {
		os.MkdirAll(filepath.Dir(filepath.Join(state, j)), 0o755)
		if err := os.WriteFile(filepath.Join(state, j), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d2 := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Data: d.data})
	time.Sleep(300 * time.Millisecond)
	if n := len(d2.builds()); n != before {
		t.Errorf("after a restart %d jobs, before %d", n, before)
	}
	for _, j := range junk {
		if _, err := os.Lstat(filepath.Join(state, j)); err == nil {
			t.Errorf("after a restart, %s is still there", j)
		}
	}
}

// handoffs reads acn_http_handoffs_total, on one connection of its own
// (handed to net/http at the first call, so reading costs none).
func (d *daemon) handoffs() int {
	d.t.Helper()
	if d.metrics == nil {
		d.metrics = &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		if resp, err := d.metrics.Get(d.url + "/metrics"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resp, err := d.metrics.Get(d.url + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^acn_http_handoffs_total (\d+)$`).FindSubmatch(b)
	if m == nil {
		d.t.Fatalf("no acn_http_handoffs_total in /metrics:\n%s", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func (d *daemon) builds2(t *testing.T) []server.Job {
	b, err := os.ReadFile(filepath.Join(d.data, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Jobs []server.Job }
	json.Unmarshal(b, &st)
	return st.Jobs
}

func fileSHA(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// TestClientsNeverMeet404 fetches repomd.xml, lets a new version be
// published, and then fetches what the old repomd.xml named; and stops
// the daemon in the middle of a download, which still completes.
func TestClientsNeverMeet404(t *testing.T) {
	r := gittest.New(t)
	files := helloSpec("1.0", "x\n")
	files["specs/big.yaml"] = "name: big\nversion: \"1\"\nsummary: A large file\nlicense: MIT\nbuild:\n  - head -c 8388608 /dev/urandom > \"$DESTDIR/blob\"\nfiles:\n  - src: $DESTDIR/blob\n    dst: /opt/blob\n"
	r.Commit("1.0", files)
	r.Git("tag", "hello/v1.0")
	r.Git("tag", "big/v1")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	d.wait("hello/v1.0")
	d.wait("big/v1")
	_, oldMD := d.get("/repos/acn/repodata/repomd.xml")
	md, err := repo.ParseRepomd(strings.NewReader(oldMD))
	if err != nil {
		t.Fatal(err)
	}

	r.Commit("1.1", helloSpec("1.1", "y\n"))
	r.Git("tag", "hello/v1.1")
	d.hook("")
	d.wait("hello/v1.1")
	if _, now := d.get("/repos/acn/repodata/repomd.xml"); now == oldMD {
		t.Fatal("nothing was republished")
	}
	for _, data := range md.Data {
		if code, _ := d.get("/repos/acn/" + data.Location.Href); code != 200 {
			t.Errorf("%s named by the previous repomd.xml: %d", data.Location.Href, code)
		}
	}
	if code, _ := d.get("/repos/acn/hello-1.0-1.noarch.rpm"); code != 200 {
		t.Errorf("the previous package: %d", code)
	}

	// A download in flight when the daemon is told to stop completes.
	resp, err := http.Get(d.url + "/repos/acn/big-1-1.noarch.rpm")
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { d.stop(); close(stopped) }()
	time.Sleep(100 * time.Millisecond)
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || int64(len(first)+len(rest)) != resp.ContentLength {
		t.Errorf("download cut by shutdown: %v, %d of %d bytes", err, len(first)+len(rest), resp.ContentLength)
	}
	<-stopped
}

// TestDaemonBuildsInSandbox: the daemon's build steps run in the sandbox
// (the default): a step sees neither the data directory nor the webhook
// secret, and its package is published. With builds.sandbox: off the
// web index says so.
func TestDaemonBuildsInSandbox(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	secretFile := filepath.Join(filepath.Dir(data), "secret") // where start puts it
	r := gittest.New(t)
	r.Commit("1.0", map[string]string{
		"specs/boxed.yaml": "name: boxed\nversion: \"1.0\"\nsummary: S\nlicense: MIT\nbuild:\n" +
			"  - test ! -e " + data + " && test ! -e " + secretFile + " && test ! -e /proc/1/environ -o ! -r /proc/1/environ\n" +
			"  - echo boxed > \"$DESTDIR/boxed.txt\"\n" +
			"files:\n  - src: $DESTDIR/boxed.txt\n    dst: /usr/share/boxed.txt\n",
	})
	r.Git("tag", "boxed/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Data: data})
	j := d.wait("boxed/v1.0")
	code, log := d.get(fmt.Sprintf("/api/v1/builds/%d/log", j.ID))
	if j.Status != server.Succeeded {
		t.Fatalf("build: %+v\n%s", j, log)
	}
	if code != 200 || !strings.Contains(log, "==> sandbox: steps run as") {
		t.Errorf("the build log does not say the steps ran in the sandbox (%d):\n%s", code, log)
	}
	if _, body := d.get("/"); strings.Contains(body, "without a sandbox") {
		t.Errorf("the index says the sandbox is off")
	}
	if len(j.Network) != 0 {
		t.Errorf("job without network: true lists %v as having the network", j.Network)
	}
	// A spec with network: true: the build's page says so.
	r.Commit("net", map[string]string{"specs/online.yaml": "name: online\nversion: \"1.0\"\nsummary: S\nlicense: MIT\nnetwork: true\nbuild:\n  - \"true\"\nfiles:\n  - src: specs/online.yaml\n    dst: /usr/share/online.yaml\n"})
	r.Git("tag", "online/v1.0")
	d.hook("")
	if j := d.wait("online/v1.0"); j.Status != server.Succeeded || len(j.Network) != 1 || j.Network[0] != "online" {
		t.Errorf("network: true build: %+v", j)
	} else if _, body := d.get(fmt.Sprintf("/builds/%d", j.ID)); !strings.Contains(body, "its build steps had the network") {
		t.Errorf("the build page does not say the steps had the network:\n%s", body)
	}
	d.stop()

	off := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Builds: server.BuildConfig{Sandbox: "off"}})
	if _, body := off.get("/"); !strings.Contains(body, "Build steps run without a sandbox") {
		t.Errorf("with builds.sandbox: off the index does not say so:\n%s", body)
	}
}
