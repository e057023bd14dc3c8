package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
)

// genKey runs acn key generate into a new directory and returns the
// private and public key files.
func genKey(t *testing.T, name string, extra ...string) (priv, pub string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	args := append([]string{"key", "generate", "--name", name, "--out", dir}, extra...)
	stdout, stderr, code := acn(t, nil, args...)
	if code != 0 {
		t.Fatalf("key generate (%d): %s", code, stderr)
	}
	privs, _ := filepath.Glob(filepath.Join(dir, "*.key"))
	pubs, _ := filepath.Glob(filepath.Join(dir, "*.pub"))
	if len(privs) != 1 || len(pubs) != 1 || !strings.Contains(stdout, strings.TrimSuffix(filepath.Base(privs[0]), ".key")) {
		t.Fatalf("key generate wrote %v %v:\n%s", privs, pubs, stdout)
	}
	st, err := os.Stat(privs[0])
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", st.Mode(), err)
	}
	return privs[0], pubs[0]
}

func keyID(file string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(file), ".key"), ".pub"))[8:]
}

func rpmCheck(t *testing.T, pub string, pkgs ...string) (string, bool) {
	t.Helper()
	db := t.TempDir()
	tooltest.Run(t, "rpm", "--dbpath", db, "--initdb")
	tooltest.Run(t, "rpm", "--dbpath", db, "--import", pub)
	out, err := exec.Command("rpm", append([]string{"--dbpath", db, "-Kv"}, pkgs...)...).CombinedOutput()
	return string(out), err == nil
}

// TestKeyAndSignCommands: acn key generate, list and export, and acn sign
// on packages from rpmbuild and from acn's own builder, checked by rpm -K;
// re-signed with a second key; a protected key without its passphrase.
func TestKeyAndSignCommands(t *testing.T) {
	privA, pubA := genKey(t, "ACN Packages <packages@example.com>", "--bits", "2048", "--expire", "2y")
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("tr0ub4dor\n"), 0o600)
	privB, pubB := genKey(t, "ACN Packages 2 <packages@example.com>", "--bits", "2048", "--expire", "never", "--passphrase-file", pass)

	out, stderr, code := acn(t, nil, "key", "list", privA, "--key", pubB)
	if code != 0 || !strings.Contains(out, "RSA        2048") || !strings.Contains(out, "(in 72") || !strings.Contains(out, "never") || strings.Count(out, "\n") != 3 {
		t.Errorf("key list (%d):\n%s%s", code, out, stderr)
	}
	// Export from the private key file (no passphrase needed) gives what
	// rpm and gpg import.
	out, stderr, code = acn(t, nil, "key", "export", "--key", privB)
	if code != 0 || !strings.HasPrefix(out, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		t.Fatalf("key export (%d): %s", code, stderr)
	}
	exported := filepath.Join(t.TempDir(), "RPM-GPG-KEY-b")
	os.WriteFile(exported, []byte(out), 0o644)
	if strings.Contains(out, "PRIVATE") {
		t.Error("export printed a private key")
	}

	// Packages from rpmbuild and from acn build.
	dir := t.TempDir()
	pkgs := []string{}
	for _, n := range []string{"one", "two"} {
		src := tooltest.FilePackage(t, n, "1.0", "/usr/bin/"+n, n)
		dst := filepath.Join(dir, filepath.Base(src))
		b, _ := os.ReadFile(src)
		os.WriteFile(dst, b, 0o644)
		pkgs = append(pkgs, dst)
	}
	r := ownRepo(t)
	if _, stderr, code := acn(t, map[string]string{"ACN_CACHE_DIR": t.TempDir()}, "build", "--git", r.Dir, "--spec", "appstruct", "--out", dir); code != 0 {
		t.Fatalf("build (%d): %s", code, stderr)
	}
	pkgs = append(pkgs, filepath.Join(dir, "appstruct-1.4.0-1.noarch.rpm"))

	// Flags after the packages, too.
	if _, stderr, code := acn(t, nil, append(append([]string{"sign"}, pkgs...), "--key", privA)...); code != 0 || !strings.Contains(stderr, "signed 3 package(s)") {
		t.Fatalf("sign (%d): %s", code, stderr)
	}
	if out, ok := rpmCheck(t, pubA, pkgs...); !ok || strings.Count(out, "Header V4 RSA/SHA256 Signature, key ID "+keyID(privA)+": OK") != 3 {
		t.Fatalf("rpm -K after acn sign:\n%s", out)
	}

	// The second key is protected: without the passphrase it fails and
	// changes nothing; with it, it replaces the first key's signature.
	before, _ := os.ReadFile(pkgs[0])
	_, stderr, code = acn(t, nil, append([]string{"sign", "--key", privB}, pkgs...)...)
	if code != 1 || !strings.Contains(stderr, "passphrase-protected") || strings.Contains(stderr, "tr0ub4dor") {
		t.Errorf("sign with a protected key, no passphrase (%d): %s", code, stderr)
	}
	if after, _ := os.ReadFile(pkgs[0]); string(after) != string(before) {
		t.Error("a failed sign changed a package")
	}
	if _, stderr, code := acn(t, nil, append([]string{"sign", "--key", privB, "--passphrase-file", pass}, pkgs...)...); code != 0 {
		t.Fatalf("sign with B (%d): %s", code, stderr)
	}
	if out, ok := rpmCheck(t, exported, pkgs...); !ok || strings.Count(out, "key ID "+keyID(privB)+": OK") != 3 {
		t.Fatalf("rpm -K after re-signing with B:\n%s", out)
	}
	if out, ok := rpmCheck(t, pubA, pkgs[0]); ok || !strings.Contains(out, "NOKEY") {
		t.Errorf("re-signed with B, checked with A: want NOKEY:\n%s", out)
	}

	// Usage errors.
	for _, args := range [][]string{{"sign", pkgs[0]}, {"sign", "--key", privA}, {"key"}, {"key", "frob"}, {"key", "generate", "--out", dir}, {"key", "generate", "--name", "x", "--out", dir, "--expire", "3x"}} {
		if _, _, code := acn(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, stderr, code := acn(t, nil, "sign", "--key", pubA, pkgs[0]); code != 1 || !strings.Contains(stderr, "not a private key") {
		t.Errorf("sign with a public key (%d): %s", code, stderr)
	}
}

func gpgHomeDir(t *testing.T) string {
	t.Helper()
	// gpg-agent's socket path must be short: not under t.TempDir().
	home, err := os.MkdirTemp("/tmp", "acn-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	return home
}

func gpgRun(home string, args ...string) (string, error) {
	out, err := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--no-tty", "--status-fd", "1"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestSignDetachCommand: acn sign --detach with two keys writes a
// repomd.xml.asc that gpg --verify accepts with either key alone; the key
// files acn key generate writes (plain and protected) import into gpg.
func TestSignDetachCommand(t *testing.T) {
	for _, cmd := range []string{"key", "sign"} {
		if out, _, code := acn(t, nil, cmd, "--help"); code != 0 || !strings.Contains(out, "Usage: acn "+cmd) {
			t.Errorf("acn %s --help (%d):\n%s", cmd, code, out)
		}
	}
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	privOld, pubOld := genKey(t, "Old <old@example.com>", "--bits", "2048")
	privNew, pubNew := genKey(t, "New <new@example.com>", "--bits", "2048", "--passphrase-file", pass)

	dir := t.TempDir()
	repomd := filepath.Join(dir, "repomd.xml")
	os.WriteFile(repomd, []byte("<repomd/>\n"), 0o644)
	if _, _, code := acn(t, nil, "sign", "--detach", "--key", privOld, "--key", privNew, "--passphrase-file", pass, "--passphrase-file", pass, "--passphrase-file", pass, repomd); code != 2 {
		t.Errorf("three passphrase files for two keys: exit %d, want 2", code)
	}
	out, stderr, code := acn(t, nil, "sign", "--detach", "--key", privOld, "--key", privNew, "--passphrase-file", pass, "--passphrase-file", empty, repomd)
	if code != 1 || !strings.Contains(stderr, "passphrase-protected") {
		t.Errorf("empty passphrase for the protected key (%d): %s%s", code, out, stderr)
	}
	if _, err := os.Stat(repomd + ".asc"); err == nil {
		t.Error("a failed sign --detach wrote an .asc")
	}
	// The old key is not protected: a passphrase given for it is unused.
	out, stderr, code = acn(t, nil, "sign", "--detach", "--key", privOld, "--key", privNew, "--passphrase-file", empty, "--passphrase-file", pass, repomd)
	if code != 0 || strings.TrimSpace(out) != repomd+".asc" {
		t.Fatalf("sign --detach (%d): %s%s", code, out, stderr)
	}
	for _, pub := range []string{pubOld, pubNew} {
		home := gpgHomeDir(t)
		if out, err := gpgRun(home, "--import", pub); err != nil {
			t.Fatalf("gpg --import %s: %v\n%s", pub, err, out)
		}
		fpr := strings.TrimSuffix(filepath.Base(pub), ".pub")
		if out, _ := gpgRun(home, "--verify", repomd+".asc", repomd); !strings.Contains(out, "VALIDSIG") || !strings.Contains(out, fpr) || strings.Contains(out, "BADSIG") {
			t.Errorf("gpg --verify with %s only:\n%s", fpr, out)
		}
	}
	// gpg imports the private key files as written (a backup is a copy).
	home := gpgHomeDir(t)
	if out, err := gpgRun(home, "--import", privOld); err != nil || !strings.Contains(out, "secret keys imported: 1") {
		t.Errorf("gpg --import %s: %v\n%s", privOld, err, out)
	}
	if out, err := gpgRun(home, "--pinentry-mode", "loopback", "--passphrase-file", pass, "--import", privNew); err != nil || !strings.Contains(out, "secret keys imported: 1") {
		t.Errorf("gpg --import %s (protected): %v\n%s", privNew, err, out)
	}
}
