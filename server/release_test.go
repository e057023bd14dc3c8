package server_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/server"
)

// dnfRoot runs dnf in root's installroot with the .repo files of the
// installroot's /etc/yum.repos.d: what the node itself was given.
func dnfRoot(t *testing.T, root string, args ...string) string {
	t.Helper()
	base := []string{"-y", "-q", "--releasever=9", "--setopt=reposdir=" + filepath.Join(root, "root", "etc", "yum.repos.d"),
		"--setopt=cachedir=" + filepath.Join(root, "cache"), "--installroot=" + filepath.Join(root, "root"),
		"--setopt=tsflags=noscripts", "--setopt=metadata_expire=0"}
	out, err := exec.Command("dnf", append(base, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dnf %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// releaseFiles lists the release packages in a daemon's repository.
func releaseFiles(t *testing.T, data, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(data, "repos", name, name+"-release-*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// releaseAlias is where /repos/<name>-release.rpm redirects.
func releaseAlias(t *testing.T, d *daemon, name string) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(d.url + "/repos/" + name + "-release.rpm")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /repos/%s-release.rpm: %s", name, resp.Status)
	}
	return resp.Header.Get("Location")
}

// TestReleasePackage: with a signing key, the daemon publishes
// acn-release; dnf installs it from the stable URL into an empty root,
// which puts the .repo file (config(noreplace)) and the key file in place,
// the same bytes the daemon serves; dnf then installs hello with only
// that .repo file, gpgcheck=1 and repo_gpgcheck=1. A restart with the
// same configuration publishes nothing; a restart with a second key
// publishes a higher release that dnf upgrade brings, whose key file
// holds both keys.
func TestReleasePackage(t *testing.T) {
	keyDir := t.TempDir()
	k1, kc1 := signingKey(t, keyDir, "first", sign.GenerateOptions{})
	k2, kc2 := signingKey(t, keyDir, "second", sign.GenerateOptions{})
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello 1.0\n"))
	r.Git("tag", "hello/v1.0")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg := server.Config{
		Git: server.GitConfig{URL: r.Dir}, Data: filepath.Join(t.TempDir(), "data"), PublicURL: "http://" + addr,
		Signing: server.SigningConfig{Keys: []server.SigningKey{kc1}},
	}
	d := startOn(t, ln, cfg)
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}
	if got := releaseFiles(t, d.data, "acn"); len(got) != 1 || got[0] != "acn-release-1-1.noarch.rpm" {
		t.Fatalf("release packages: %v", got)
	}
	if loc := releaseAlias(t, d, "acn"); loc != "/repos/acn/acn-release-1-1.noarch.rpm" {
		t.Fatalf("/repos/acn-release.rpm redirects to %q", loc)
	}
	file := filepath.Join(d.data, "repos", "acn", "acn-release-1-1.noarch.rpm")
	out, err := exec.Command("rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/etc/yum.repos.d/acn.repo cn\n") || !strings.Contains(string(out), "/etc/pki/rpm-gpg/RPM-GPG-KEY-acn \n") {
		t.Errorf("rpm -qp: %v\n%s", err, out)
	}
	if sig, _, err := sign.HeaderSignature(file); err != nil || sig == nil {
		t.Errorf("the release package is not signed: %v", err)
	}

	// A new node: one dnf install of the stable URL.
	root := t.TempDir()
	dnfRoot(t, root, "install", d.url+"/repos/acn-release.rpm")
	_, repoFile := d.get("/repos/acn.repo")
	_, pub := d.get("/keys/RPM-GPG-KEY-acn")
	if b, err := os.ReadFile(filepath.Join(root, "root", "etc", "yum.repos.d", "acn.repo")); err != nil || string(b) != repoFile {
		t.Errorf("installed acn.repo (%v):\n%s\nserved:\n%s", err, b, repoFile)
	}
	if !strings.Contains(repoFile, "\ngpgcheck=1\n") || !strings.Contains(repoFile, "\nrepo_gpgcheck=1\n") {
		t.Errorf(".repo file without signature checks:\n%s", repoFile)
	}
	keyFile := filepath.Join(root, "root", "etc", "pki", "rpm-gpg", "RPM-GPG-KEY-acn")
	if b, err := os.ReadFile(keyFile); err != nil || string(b) != pub {
		t.Errorf("installed key file (%v) is not the served one", err)
	}
	dnfRoot(t, root, "install", "hello")
	if b, _ := os.ReadFile(filepath.Join(root, "root", "usr/share/hello/hello.txt")); string(b) != "hello 1.0\n" {
		t.Fatalf("installed file: %q", b)
	}
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	// The same configuration again: nothing new, the same bytes.
	d.stop()
	d = startOn(t, listen(t, addr), cfg)
	d.wait("hello/v1.0")
	if got := releaseFiles(t, d.data, "acn"); len(got) != 1 || got[0] != "acn-release-1-1.noarch.rpm" {
		t.Fatalf("release packages after a restart with the same configuration: %v", got)
	}
	if after, err := os.ReadFile(file); err != nil || string(after) != string(before) {
		t.Fatalf("acn-release-1-1 changed after a restart (%v)", err)
	}
	if loc := releaseAlias(t, d, "acn"); loc != "/repos/acn/acn-release-1-1.noarch.rpm" {
		t.Fatalf("/repos/acn-release.rpm redirects to %q", loc)
	}

	// A second key: a higher release, which dnf upgrade brings.
	d.stop()
	cfg.Signing.Keys = append(cfg.Signing.Keys, kc2)
	d = startOn(t, listen(t, addr), cfg)
	d.wait("hello/v1.0")
	if got := releaseFiles(t, d.data, "acn"); len(got) != 2 || got[1] != "acn-release-1-2.noarch.rpm" {
		t.Fatalf("release packages after a second key: %v", got)
	}
	if loc := releaseAlias(t, d, "acn"); loc != "/repos/acn/acn-release-1-2.noarch.rpm" {
		t.Fatalf("/repos/acn-release.rpm redirects to %q", loc)
	}
	dnfRoot(t, root, "--refresh", "upgrade", "acn-release")
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sign.ParsePublic(b)
	if err != nil || len(keys) != 2 || keys[0].ID() != k1.ID() || keys[1].ID() != k2.ID() {
		t.Fatalf("key file after the upgrade: %v %v", keys, err)
	}
	if _, pub := d.get("/keys/RPM-GPG-KEY-acn"); string(b) != pub {
		t.Errorf("upgraded key file is not the served one")
	}
}

// listen listens on addr again, for a restarted daemon.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestNoReleasePackageWithoutSigning: without signing no release
// package is built (it would say gpgcheck=0), and its URL is 404.
func TestNoReleasePackageWithoutSigning(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello 1.0\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}
	if got := releaseFiles(t, d.data, "acn"); len(got) != 0 {
		t.Errorf("release packages without signing: %v", got)
	}
	if code, _ := d.get("/repos/acn-release.rpm"); code != http.StatusNotFound {
		t.Errorf("GET /repos/acn-release.rpm without signing: %d", code)
	}
}
