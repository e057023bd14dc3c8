package sign_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/internal/tooltest"
)

// FuzzParseKeys: key files and signatures are read from disk and may be
// anything.
func FuzzParseKeys(f *testing.F) {
	a, _ := testKeys(f)
	priv, _ := a.PrivateKey(nil)
	prot, _ := a.PrivateKey([]byte("p"))
	f.Add(a.PublicKey())
	f.Add(priv)
	f.Add(prot)
	sig, _ := a.Sign([]byte("x"), time.Now())
	f.Add(sig)
	f.Fuzz(func(t *testing.T, data []byte) {
		sign.ParseKeys(data, []byte("p"))
		sign.ParsePublic(data)
		sign.ParseSignatures(data)
		a.Verify(data, []byte("x"))
	})
}

// FuzzSignRPM: acn sign takes any file; a damaged one is refused and left
// as it was, and nothing panics.
func FuzzSignRPM(f *testing.F) {
	a, _ := testKeys(f)
	pkg, err := os.ReadFile(tooltest.FilePackage(f, "fz", "1.0", "/usr/bin/fz", "fz"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pkg)
	f.Add(pkg[:200])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.rpm")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := sign.SignRPM(p, a, time.Now()); err != nil {
			if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
				t.Fatalf("failed (%v) and changed the file", err)
			}
			return
		}
		sig, header, err := sign.HeaderSignature(p)
		if err != nil || sig == nil {
			t.Fatalf("signed, but HeaderSignature: %v", err)
		}
		if err := a.Verify(sig, header); err != nil {
			t.Fatal(err)
		}
	})
}
