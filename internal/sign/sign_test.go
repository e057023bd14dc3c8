package sign_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/internal/tooltest"
)

// Keys are slow to make; tests share a few. RSA 2048 keeps the suite
// quick; TestGenerateDefault makes one RSA 4096 key.
var (
	keysOnce sync.Once
	keyA     *sign.Key
	keyB     *sign.Key
	keysErr  error
)

func testKeys(t testing.TB) (*sign.Key, *sign.Key) {
	t.Helper()
	keysOnce.Do(func() {
		keyA, keysErr = sign.Generate(sign.GenerateOptions{UserID: "ACN Test A <a@example.com>", Bits: 2048, Expire: 365 * 24 * time.Hour})
		if keysErr == nil {
			keyB, keysErr = sign.Generate(sign.GenerateOptions{UserID: "ACN Test B <b@example.com>", Bits: 2048})
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keyA, keyB
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rpmdb is a private rpm database with the given public keys imported.
func rpmdb(t *testing.T, keys ...*sign.Key) string {
	t.Helper()
	db := t.TempDir()
	tooltest.Run(t, "rpm", "--dbpath", db, "--initdb")
	for _, k := range keys {
		tooltest.Run(t, "rpm", "--dbpath", db, "--import", writeFile(t, t.TempDir(), "KEY", k.PublicKey()))
	}
	return db
}

// rpmK runs rpm -K on pkg with db and returns its output and whether it
// succeeded.
func rpmK(t *testing.T, db, pkg string) (string, bool) {
	t.Helper()
	out, err := exec.Command("rpm", "--dbpath", db, "-Kv", pkg).CombinedOutput()
	return string(out), err == nil
}

func copyFile(t *testing.T, src, dst string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// wantSigned checks rpm -K says the header signature by k is OK.
func wantSigned(t *testing.T, db, pkg string, k *sign.Key) {
	t.Helper()
	out, ok := rpmK(t, db, pkg)
	id := strings.ToLower(k.ID()[8:])
	if !ok || !strings.Contains(out, "Header V4 RSA/SHA256 Signature, key ID "+id+": OK") || strings.Contains(out, "NOKEY") || strings.Contains(out, "BAD") {
		t.Fatalf("rpm -K %s with key %s:\n%s", filepath.Base(pkg), id, out)
	}
}

func TestSignRPMBuildPackage(t *testing.T) {
	a, b := testKeys(t)
	pkg := copyFile(t, tooltest.FilePackage(t, "hello", "1.0", "/usr/bin/hello", "#!/bin/sh\necho hi\n"), filepath.Join(t.TempDir(), "hello-1.0-1.noarch.rpm"))
	orig, _ := os.ReadFile(pkg)
	os.Chmod(pkg, 0o640)

	if err := sign.SignRPM(pkg, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(pkg); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode after signing: %v %v, want 0640", st.Mode(), err)
	}
	dbA := rpmdb(t, a)
	wantSigned(t, dbA, pkg, a)
	// rpm's own view of the package is unchanged.
	if q := tooltest.Run(t, "rpm", "-qp", "--qf", "%{NEVRA} %{SIGMD5}\n", pkg); !strings.HasPrefix(q, "hello-1.0-1.noarch ") {
		t.Errorf("rpm -qp: %s", q)
	}
	if got, want := tooltest.Run(t, "rpm2cpio", pkg), tooltest.Run(t, "rpm2cpio", writeFile(t, t.TempDir(), "o.rpm", orig)); got != want {
		t.Error("the payload changed")
	}

	// Re-signing with another key replaces the signature.
	if err := sign.SignRPM(pkg, b, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantSigned(t, rpmdb(t, b), pkg, b)
	if out, ok := rpmK(t, dbA, pkg); ok || !strings.Contains(out, "NOKEY") {
		t.Errorf("signed by B, checked with only A's key: want NOKEY failure:\n%s", out)
	}
	// And by the same key again.
	if err := sign.SignRPM(pkg, b, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantSigned(t, rpmdb(t, b), pkg, b)
	if sig, _, err := sign.HeaderSignature(pkg); err != nil || sig == nil {
		t.Fatalf("HeaderSignature: %v", err)
	}
}

func TestSignPackageFromRPMSign(t *testing.T) {
	// A package rpmsign signed first (gpg, RSA): acn replaces the
	// signature and rpm -K accepts the result.
	a, b := testKeys(t)
	home := gpgHome(t)
	gpgImportSecret(t, home, a)
	pkg := copyFile(t, tooltest.FilePackage(t, "pre", "1.0", "/usr/bin/pre", "x"), filepath.Join(t.TempDir(), "pre.rpm"))
	cmd := exec.Command("rpmsign", "--define", "_gpg_path "+home, "--define", "_gpg_name "+a.ID(), "--define", "__gpg /usr/bin/gpg", "--define", "_gpg_digest_algo sha256", "--addsign", pkg)
	cmd.Stdin = nil
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmsign: %v\n%s", err, out)
	}
	wantSigned(t, rpmdb(t, a), pkg, a)
	if err := sign.SignRPM(pkg, b, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantSigned(t, rpmdb(t, b), pkg, b)
}

func TestSignedPackageOneByteChanged(t *testing.T) {
	a, _ := testKeys(t)
	pkg := copyFile(t, tooltest.FilePackage(t, "flip", "1.0", "/usr/bin/flip", strings.Repeat("flip me ", 200)), filepath.Join(t.TempDir(), "flip.rpm"))
	if err := sign.SignRPM(pkg, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	db := rpmdb(t, a)
	sig, header, err := sign.HeaderSignature(pkg)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(pkg)
	hdrAt := bytes.Index(data, header)
	for name, at := range map[string]int{"header": hdrAt + len(header) - 40, "payload": len(data) - 100, "signature": bytes.Index(data, sig) + len(sig) - 10} {
		bad := append([]byte(nil), data...)
		bad[at] ^= 0x01
		p := writeFile(t, t.TempDir(), "bad.rpm", bad)
		if out, ok := rpmK(t, db, p); ok {
			t.Errorf("%s byte changed: rpm -K passed:\n%s", name, out)
		}
		// acn refuses to sign a damaged package and leaves it as it was.
		if name != "signature" {
			if err := sign.SignRPM(p, a, time.Now()); !errors.Is(err, sign.ErrNotRPM) {
				t.Errorf("%s byte changed: SignRPM = %v, want ErrNotRPM", name, err)
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, bad) {
				t.Errorf("%s byte changed: SignRPM changed the file", name)
			}
		}
	}
}

func TestSignRPMsPool(t *testing.T) {
	a, _ := testKeys(t)
	src := tooltest.FilePackage(t, "many", "1.0", "/usr/bin/many", "m")
	dir := t.TempDir()
	var paths []string
	for i := range 8 {
		paths = append(paths, copyFile(t, src, filepath.Join(dir, "many-"+string(rune('a'+i))+".rpm")))
	}
	bad := writeFile(t, dir, "junk.rpm", []byte("not an rpm"))
	link := filepath.Join(dir, "link.rpm")
	if err := os.Symlink(paths[0], link); err != nil {
		t.Fatal(err)
	}
	if err := sign.SignRPM(link, a, time.Now()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("SignRPM of a symbolic link: %v", err)
	}
	os.Remove(link)
	err := sign.SignRPMs(context.Background(), a, append(paths, bad), 0, time.Now())
	if !errors.Is(err, sign.ErrNotRPM) || !strings.Contains(err.Error(), "junk.rpm") {
		t.Errorf("SignRPMs error = %v", err)
	}
	db := rpmdb(t, a)
	for _, p := range paths {
		wantSigned(t, db, p, a)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestSignatureShape parses the packets acn emits and checks the shape
// rpm 4.11 to 4.16 accept: v4, RSA, SHA-256, issuer key ID present, no
// critical subpacket (rpm <= 4.16 rejects a critical issuer fingerprint).
func TestSignatureShape(t *testing.T) {
	a, b := testKeys(t)
	hdr, err := a.Sign([]byte("header bytes"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	det, err := sign.Detached([]byte("repomd"), time.Now(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := sign.ParseSignatures(det)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("detached: %d signatures, %v", len(sigs), err)
	}
	one, err := sign.ParseSignature(hdr)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range append([]*sign.Signature{one}, sigs...) {
		k := a
		if i == 2 {
			k = b
		}
		if s.Version != 4 || s.PubKeyAlgo != 1 || s.HashAlgo != 8 || s.Type != 0 {
			t.Errorf("signature %d: v%d algo %d hash %d type %d, want v4 RSA(1) SHA256(8) binary(0)", i, s.Version, s.PubKeyAlgo, s.HashAlgo, s.Type)
		}
		var id [8]byte
		binary.BigEndian.PutUint64(id[:], s.IssuerKeyID)
		if strings.ToUpper(strings.TrimLeft(hexs(id[:]), "")) != k.ID() {
			t.Errorf("signature %d: issuer %X, want %s", i, s.IssuerKeyID, k.ID())
		}
		if !strings.EqualFold(hexs(s.IssuerFingerprint), k.Info().Fingerprint) {
			t.Errorf("signature %d: issuer fingerprint %x", i, s.IssuerFingerprint)
		}
		if s.Created == 0 {
			t.Errorf("signature %d: no creation time", i)
		}
		// Exactly: hashed creation time and issuer fingerprint, unhashed
		// issuer; nothing critical.
		want := []sign.Subpacket{{Type: 2}, {Type: 33}}
		if len(s.Hashed) != 2 || s.Hashed[0] != want[0] || s.Hashed[1] != want[1] {
			t.Errorf("signature %d: hashed subpackets %+v, want %+v", i, s.Hashed, want)
		}
		if len(s.Unhashed) != 1 || s.Unhashed[0] != (sign.Subpacket{Type: 16}) {
			t.Errorf("signature %d: unhashed subpackets %+v, want issuer", i, s.Unhashed)
		}
		for _, sp := range append(s.Hashed, s.Unhashed...) {
			if sp.Critical && sp.Type != 2 {
				t.Errorf("signature %d: critical subpacket %d", i, sp.Type)
			}
		}
	}
	if err := a.Verify(hdr, []byte("header bytes")); err != nil {
		t.Error(err)
	}
	if err := a.Verify(hdr, []byte("header byteZ")); err == nil {
		t.Error("a changed document verified")
	}
	if err := b.Verify(det, []byte("repomd")); err != nil {
		t.Error(err)
	}
}

func hexs(b []byte) string {
	const digits = "0123456789ABCDEF"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

func gpgHome(t *testing.T) string {
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

func gpg(t *testing.T, home string, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--no-tty", "--status-fd", "1"}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func gpgImportSecret(t *testing.T, home string, k *sign.Key) {
	t.Helper()
	priv, err := k.PrivateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := gpg(t, home, priv, "--import"); err != nil || !strings.Contains(out, "IMPORT_OK") || !strings.Contains(out, "secret keys imported: 1") {
		t.Fatalf("gpg --import of the private key: %v\n%s", err, out)
	}
}

func TestDetachedGPGVerify(t *testing.T) {
	a, b := testKeys(t)
	dir := t.TempDir()
	repomd := writeFile(t, dir, "repomd.xml", []byte("<repomd>generation 1</repomd>\n"))
	data, _ := os.ReadFile(repomd)
	asc, err := sign.Detached(data, time.Now(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	ascFile := writeFile(t, dir, "repomd.xml.asc", asc)
	if !bytes.HasPrefix(asc, []byte("-----BEGIN PGP SIGNATURE-----\n")) {
		t.Errorf("not armored:\n%s", asc)
	}
	// A node with only one of the keys verifies the two-key signature.
	for _, k := range []*sign.Key{a, b} {
		home := gpgHome(t)
		if out, err := gpg(t, home, k.PublicKey(), "--import"); err != nil || !strings.Contains(out, "IMPORT_OK") {
			t.Fatalf("gpg --import of the public key: %v\n%s", err, out)
		}
		out, _ := gpg(t, home, nil, "--verify", ascFile, repomd)
		if !strings.Contains(out, "[GNUPG:] VALIDSIG "+k.Info().Fingerprint) || strings.Contains(out, "BADSIG") {
			t.Errorf("gpg --verify with key %s only:\n%s", k.ID(), out)
		}
		// A changed repomd.xml fails.
		changed := writeFile(t, t.TempDir(), "repomd.xml", append(data, ' '))
		if out, err := gpg(t, home, nil, "--verify", ascFile, changed); err == nil || !strings.Contains(out, "BADSIG") {
			t.Errorf("changed repomd.xml verified with key %s:\n%s", k.ID(), out)
		}
	}
	// With only key A's signature, gpg --verify exits 0.
	asc1, _ := sign.Detached(data, time.Now(), a)
	home := gpgHome(t)
	gpg(t, home, a.PublicKey(), "--import")
	if out, err := gpg(t, home, nil, "--verify", writeFile(t, dir, "one.asc", asc1), repomd); err != nil || !strings.Contains(out, "GOODSIG") {
		t.Errorf("gpg --verify: %v\n%s", err, out)
	}
}

func TestGPGImport(t *testing.T) {
	a, _ := testKeys(t)
	home := gpgHome(t)
	gpgImportSecret(t, home, a)
	out, err := gpg(t, home, nil, "--with-colons", "--list-secret-keys")
	if err != nil || !strings.Contains(out, a.Info().Fingerprint) || !strings.Contains(out, "ACN Test A") {
		t.Fatalf("gpg --list-secret-keys: %v\n%s", err, out)
	}
	// gpg sees the expiry acn wrote.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "sec:") {
			f := strings.Split(l, ":")
			if f[6] != strconv.FormatInt(a.Expires().Unix(), 10) {
				t.Errorf("gpg expiry %q, want %d", f[6], a.Expires().Unix())
			}
			if f[3] != "1" || f[2] != "2048" {
				t.Errorf("gpg: algo %s bits %s", f[3], f[2])
			}
		}
	}
	// A passphrase-protected export imports with its passphrase and
	// gpg signs with it.
	pass := []byte("correct horse")
	priv, err := a.PrivateKey(pass)
	if err != nil {
		t.Fatal(err)
	}
	home2 := gpgHome(t)
	if out, err := gpg(t, home2, priv, "--import"); err != nil || !strings.Contains(out, "IMPORT_OK") {
		t.Fatalf("gpg --import of the protected key: %v\n%s", err, out)
	}
	pf := writeFile(t, t.TempDir(), "pass", pass)
	doc := writeFile(t, t.TempDir(), "doc", []byte("doc"))
	if out, err := gpg(t, home2, nil, "--pinentry-mode", "loopback", "--passphrase-file", pf, "--local-user", a.ID(), "--detach-sign", doc); err != nil {
		t.Fatalf("gpg signs with the imported protected key: %v\n%s", err, out)
	}
	// And acn reads what gpg exports.
	exported, err := exec.Command("gpg", "--homedir", home2, "--batch", "--pinentry-mode", "loopback", "--passphrase-file", pf, "--armor", "--export-secret-keys", a.ID()).Output()
	if err != nil {
		t.Fatal(err)
	}
	back, err := sign.ParseKeys(exported, pass)
	if err != nil || len(back) != 1 || back[0].ID() != a.ID() || !back[0].Info().Private {
		t.Fatalf("ParseKeys of gpg's export: %v", err)
	}
	if !back[0].Expires().Equal(a.Expires()) {
		t.Errorf("expiry after gpg round trip: %v, want %v", back[0].Expires(), a.Expires())
	}
}

func TestPassphrase(t *testing.T) {
	a, _ := testKeys(t)
	priv, err := a.PrivateKey([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.ParseKeys(priv, nil); !errors.Is(err, sign.ErrPassphraseNeeded) {
		t.Errorf("no passphrase: %v, want ErrPassphraseNeeded", err)
	}
	if _, err := sign.ParseKeys(priv, []byte("wrong")); !errors.Is(err, sign.ErrBadPassphrase) {
		t.Errorf("wrong passphrase: %v, want ErrBadPassphrase", err)
	}
	dir := t.TempDir()
	kf := writeFile(t, dir, "key.asc", priv)
	pf := writeFile(t, dir, "pass", []byte("s3cret\n"))
	k, err := sign.LoadKey(kf, pf)
	if err != nil || k.ID() != a.ID() {
		t.Fatalf("LoadKey with passphrase: %v", err)
	}
	if _, err := k.Sign([]byte("x"), time.Now()); err != nil {
		t.Error(err)
	}
	if _, err := sign.LoadKey(kf, ""); !errors.Is(err, sign.ErrPassphraseNeeded) || !strings.Contains(err.Error(), kf) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("LoadKey without passphrase: %v", err)
	}
}

func TestExpired(t *testing.T) {
	past := time.Now().Add(-48 * time.Hour)
	k, err := sign.Generate(sign.GenerateOptions{UserID: "Old <old@example.com>", Bits: 2048, Expire: 24 * time.Hour, Now: past})
	if err != nil {
		t.Fatal(err)
	}
	if !k.Expired(time.Now()) || !k.Expires().Equal(past.Truncate(time.Second).Add(24*time.Hour)) {
		t.Errorf("Expires = %v", k.Expires())
	}
	if _, err := k.Sign([]byte("x"), time.Now()); !errors.Is(err, sign.ErrExpired) || !strings.Contains(err.Error(), k.ID()) {
		t.Errorf("Sign with an expired key: %v", err)
	}
	if _, err := sign.Detached([]byte("x"), time.Now(), k); !errors.Is(err, sign.ErrExpired) {
		t.Errorf("Detached with an expired key: %v", err)
	}
	pkg := copyFile(t, tooltest.FilePackage(t, "exp", "1.0", "/usr/bin/exp", "x"), filepath.Join(t.TempDir(), "exp.rpm"))
	before, _ := os.ReadFile(pkg)
	if err := sign.SignRPM(pkg, k, time.Now()); !errors.Is(err, sign.ErrExpired) {
		t.Errorf("SignRPM with an expired key: %v", err)
	}
	if after, _ := os.ReadFile(pkg); !bytes.Equal(before, after) {
		t.Error("the package changed")
	}
	// The expiry survives the key file.
	priv, _ := k.PrivateKey(nil)
	back, err := sign.ParseKeys(priv, nil)
	if err != nil || !back[0].Expires().Equal(k.Expires()) {
		t.Errorf("parsed expiry %v, %v", back, err)
	}
}

func TestHostileKeys(t *testing.T) {
	a, _ := testKeys(t)
	priv, _ := a.PrivateKey(nil)
	_, bin, _ := strings.Cut(string(priv), "\n\n")
	for name, in := range map[string][]byte{
		"empty":      nil,
		"garbage":    []byte("garbage"),
		"truncated":  priv[:len(priv)/2],
		"armor only": []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n=AAAA\n-----END PGP PRIVATE KEY BLOCK-----\n"),
		"signature":  []byte("-----BEGIN PGP SIGNATURE-----\n\nwsBc\n-----END PGP SIGNATURE-----\n"),
		"bad crc":    []byte(strings.Replace(string(priv), "\n=", "\n=A", 1)[:len(priv)]),
		"body":       []byte(bin),
	} {
		if _, err := sign.ParseKeys(in, nil); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	// A flipped bit anywhere in the key never panics, and never yields
	// another key that claims A's self-signature.
	pub := a.PublicKey()
	for i := 40; i < len(pub)-40; i += 7 {
		b := append([]byte(nil), pub...)
		b[i] ^= 0x04
		keys, err := sign.ParseKeys(b, nil)
		if err == nil && (len(keys) != 1 || keys[0].ID() != a.ID()) {
			t.Errorf("byte %d flipped: parsed as %v", i, keys[0].ID())
		}
	}
}

func TestGenerateDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("RSA 4096 key generation")
	}
	k, err := sign.Generate(sign.GenerateOptions{UserID: "ACN Packages <packages@example.com>", Expire: 3 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if i := k.Info(); i.Bits != 4096 || i.Algorithm != "RSA" || !i.Private {
		t.Errorf("Info = %+v", i)
	}
	pkg := copyFile(t, tooltest.FilePackage(t, "big", "1.0", "/usr/bin/big", "x"), filepath.Join(t.TempDir(), "big.rpm"))
	if err := sign.SignRPM(pkg, k, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantSigned(t, rpmdb(t, k), pkg, k)
}

// TestPublicKeysRotation: the public key file of a rotation holds both
// keys, one armored block each; rpm --import and ParsePublic read both.
func TestPublicKeysRotation(t *testing.T) {
	a, b := testKeys(t)
	both := sign.PublicKeys(a, b)
	if n := bytes.Count(both, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")); n != 2 {
		t.Errorf("%d armored blocks, want 2", n)
	}
	keys, err := sign.ParsePublic(both)
	if err != nil || len(keys) != 2 || keys[0].ID() != a.ID() || keys[1].ID() != b.ID() {
		t.Fatalf("ParsePublic: %v", err)
	}
	db := t.TempDir()
	tooltest.Run(t, "rpm", "--dbpath", db, "--initdb")
	tooltest.Run(t, "rpm", "--dbpath", db, "--import", writeFile(t, t.TempDir(), "both", both))
	out := tooltest.Run(t, "rpm", "--dbpath", db, "-q", "gpg-pubkey", "--qf", "%{VERSION}\n")
	for _, k := range []*sign.Key{a, b} {
		if !strings.Contains(out, strings.ToLower(k.ID()[8:])) {
			t.Errorf("rpm --import of both keys: %s missing:\n%s", k.ID(), out)
		}
	}
	if _, err := sign.ParsePublic(append(both, "trailing junk\n"...)); err == nil {
		t.Error("trailing junk after the blocks was accepted")
	}
}

// TestHostileSignatures: a signature whose value is larger than the key's
// modulus, or truncated anywhere, is an error, not a panic.
func TestHostileSignatures(t *testing.T) {
	a, _ := testKeys(t)
	sig, err := a.Sign([]byte("doc"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Frame: C2 + 2-byte length; the MPI is last: make its bit count huge.
	big := append([]byte(nil), sig...)
	s, _ := sign.ParseSignature(sig)
	n := (s.Value.BitLen() + 7) / 8
	mpi := len(big) - n - 2
	big[mpi], big[mpi+1] = 0x10, 0x00 // 4096 bits claimed, in 256 bytes
	if err := a.Verify(big, []byte("doc")); err == nil {
		t.Error("a signature with a wrong MPI length verified")
	}
	for i := range len(sig) {
		a.Verify(sig[:i], []byte("doc"))
	}
	// A value one bit wider than the modulus.
	wide := append([]byte(nil), sig[:mpi]...)
	wide = append(wide, byte((s.Value.BitLen()+8)>>8), byte(s.Value.BitLen()+8))
	wide = append(wide, 0x01)
	wide = append(wide, sig[mpi+2:]...)
	wide[2]++ // the framing length (a new-format two-byte length)
	if err := a.Verify(wide, []byte("doc")); err == nil {
		t.Error("a value wider than the modulus verified")
	}
	if _, err := sign.ParseSignature(wide); err != nil {
		t.Errorf("the wide signature does not parse, so it tests nothing: %v", err)
	}
}
