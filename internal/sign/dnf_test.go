package sign_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/internal/tooltest"
)

// signedRepo makes a createrepo_c repository of pkgs (copied) with a
// repomd.xml.asc by sigKeys; damage, if not nil, changes a package file
// before indexing.
func signedRepo(t *testing.T, pkgs []string, sigKeys []*sign.Key, damage func(path string)) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range pkgs {
		dst := copyFile(t, p, filepath.Join(dir, filepath.Base(p)))
		if damage != nil {
			damage(dst)
		}
	}
	tooltest.Run(t, "createrepo_c", "-q", dir)
	repomd, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	asc, err := sign.Detached(repomd, time.Now(), sigKeys...)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "repodata"), "repomd.xml.asc", asc)
	return dir
}

// dnfNode runs dnf in a fresh installroot that knows repo with
// gpgcheck=1, repo_gpgcheck=1 and gpgkey= the given keys' public keys.
func dnfNode(t *testing.T, repo string, keys []*sign.Key, args ...string) (string, error) {
	t.Helper()
	root := t.TempDir()
	reposd := filepath.Join(root, "repos.d")
	os.MkdirAll(reposd, 0o755)
	keyFile := writeFile(t, root, "RPM-GPG-KEY-acn", sign.PublicKeys(keys...))
	conf := fmt.Sprintf("[acn]\nname=acn\nbaseurl=file://%s\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://%s\n", repo, keyFile)
	writeFile(t, reposd, "acn.repo", []byte(conf))
	base := []string{"-y", "--releasever=9", "--setopt=reposdir=" + reposd,
		"--setopt=cachedir=" + filepath.Join(root, "cache"), "--installroot=" + filepath.Join(root, "root"),
		"--setopt=tsflags=noscripts", "--setopt=metadata_expire=0", "--setopt=skip_if_unavailable=False", "--disablerepo=*", "--enablerepo=acn"}
	out, err := exec.Command("dnf", append(base, args...)...).CombinedOutput()
	return string(out), err
}

// TestDNFGPGCheck: dnf with gpgcheck=1 and repo_gpgcheck=1 installs an
// acn-signed package from a repository whose repomd.xml.asc acn signed
// with two keys (a rotation): a node with the old key only, the new key
// only, or both passes repo_gpgcheck; a changed repomd.xml, a changed
// package and a package signed by an unknown key fail.
func TestDNFGPGCheck(t *testing.T) {
	if _, err := exec.LookPath("dnf"); err != nil {
		t.Fatal("dnf is required")
	}
	a, b := testKeys(t)
	stranger, err := sign.Generate(sign.GenerateOptions{UserID: "Stranger <s@example.com>", Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	pkgDir := t.TempDir()
	signed := copyFile(t, tooltest.FilePackage(t, "gpg-hello", "1.0", "/usr/bin/gpg-hello", "#!/bin/sh\necho hello\n"), filepath.Join(pkgDir, "gpg-hello-1.0-1.noarch.rpm"))
	if err := sign.SignRPM(signed, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	good := signedRepo(t, []string{signed}, []*sign.Key{a, b}, nil)

	for name, keys := range map[string][]*sign.Key{"old key only": {a}, "both keys": {a, b}} {
		if out, err := dnfNode(t, good, keys, "install", "gpg-hello"); err != nil || !strings.Contains(out, "Complete!") {
			t.Errorf("%s: dnf install: %v\n%s", name, err, out)
		}
	}
	// A node that knows only the new key passes repo_gpgcheck, and
	// refuses the package the old key signed.
	if out, err := dnfNode(t, good, []*sign.Key{b}, "makecache"); err != nil || strings.Contains(out, "Error") {
		t.Errorf("new key only: dnf makecache: %v\n%s", err, out)
	}
	if out, err := dnfNode(t, good, []*sign.Key{b}, "install", "gpg-hello"); err == nil || !strings.Contains(out, "not installed") {
		t.Errorf("new key only, package signed by the old key: want a public key failure: %v\n%s", err, out)
	}

	// A repomd.xml changed after signing fails on the .asc.
	changed := signedRepo(t, []string{signed}, []*sign.Key{a, b}, nil)
	f, _ := os.OpenFile(filepath.Join(changed, "repodata", "repomd.xml"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n")
	f.Close()
	if out, err := dnfNode(t, changed, []*sign.Key{a}, "makecache"); err == nil || !strings.Contains(out, "GPG signature verification error") {
		t.Errorf("changed repomd.xml: dnf makecache passed:\n%s", out)
	}
	// A metadata signature by an unknown key fails.
	if out, err := dnfNode(t, signedRepo(t, []string{signed}, []*sign.Key{stranger}, nil), []*sign.Key{a}, "makecache"); err == nil || !strings.Contains(out, "GPG signature verification error") {
		t.Errorf("repomd.xml.asc by an unknown key: dnf makecache passed:\n%s", out)
	}

	// A package with one byte changed (indexed as it is, so only the
	// signature can catch it) fails.
	flipped := signedRepo(t, []string{signed}, []*sign.Key{a}, func(p string) {
		data, _ := os.ReadFile(p)
		data[len(data)-100] ^= 1
		os.WriteFile(p, data, 0o644)
	})
	if out, err := dnfNode(t, flipped, []*sign.Key{a}, "install", "gpg-hello"); err == nil || !strings.Contains(out, "GPG check FAILED") {
		t.Errorf("one byte changed: dnf install passed:\n%s", out)
	}

	// A package signed by another key fails: public key not installed.
	other := copyFile(t, signed, filepath.Join(t.TempDir(), "gpg-hello-1.0-1.noarch.rpm"))
	if err := sign.SignRPM(other, stranger, time.Now()); err != nil {
		t.Fatal(err)
	}
	if out, err := dnfNode(t, signedRepo(t, []string{other}, []*sign.Key{a}, nil), []*sign.Key{a}, "install", "gpg-hello"); err == nil || !strings.Contains(out, "not installed") {
		t.Errorf("package by another key: %v\n%s", err, out)
	}
}
