package server_test

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/server"
)

// chromium runs Debian's headless Chromium with the flags this machine
// needs (no sandbox as root, no background network).
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	out, err := exec.Command("chromium", append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

// TestWebIndexInBrowser renders the web index in a real browser, checks
// what it shows, and keeps screenshots (desktop and phone widths) in
// $ACN_SCREENSHOTS, or a temporary directory named in the test output.
func TestWebIndexInBrowser(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	r.Git("tag", "hello/v1.0")
	r.Commit("broken", map[string]string{"specs/hello.yaml": "name: hello\nversion: \"1.1\"\nsummary: S\nlicense: MIT\nbogus: 1\n"})
	r.Git("tag", "hello/v1.1")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	d.wait("hello/v1.0")
	d.wait("hello/v1.1")
	shots := os.Getenv("ACN_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	os.MkdirAll(shots, 0o755)
	for _, page := range []struct {
		name, path string
		want       []string
	}{
		{"home", "/", []string{"Repositories", "acn.repo", "curl -o /etc/yum.repos.d/acn.repo", "hello/v1.1", "failed"}},
		{"repo", "/r/acn?q=hello", []string{"Says hello", "1.0-1", "noarch"}},
		{"package", "/r/acn/p/hello", []string{"Says hello", "/usr/share/hello/hello.txt", "Changelog", "hello-1.0-1.noarch.rpm", "Requires"}},
		{"build", "/builds/2", []string{"failed", "bogus: unknown key"}},
	} {
		dom := chromium(t, "--dump-dom", d.url+page.path)
		for _, w := range page.want {
			if !strings.Contains(dom, w) {
				t.Errorf("%s: the rendered page lacks %q", page.name, w)
			}
		}
		for _, size := range []struct{ label, dims string }{{"desktop", "1280,900"}, {"phone", "390,844"}} {
			file := filepath.Join(shots, page.name+"-"+size.label+".png")
			chromium(t, "--screenshot="+file, "--window-size="+size.dims, d.url+page.path)
			f, err := os.Open(file)
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatalf("screenshot %s: %v", file, err)
			}
			if b := img.Bounds(); b.Dx() < 300 {
				t.Errorf("screenshot %s is %v", file, b)
			}
			t.Logf("screenshot: %s", file)
		}
	}
}
