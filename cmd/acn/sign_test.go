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
