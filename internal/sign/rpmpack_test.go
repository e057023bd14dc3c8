package sign_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/sign"
	"github.com/google/rpmpack"
)

// TestHeaderSignerWithRPMPack: the builder signs while it writes, by
// handing HeaderSigner to rpmpack; rpm -K accepts the package.
func TestHeaderSignerWithRPMPack(t *testing.T) {
	a, _ := testKeys(t)
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: "packed", Version: "1.0", Release: "1", Arch: "noarch", Licence: "MIT", Summary: "signed while written", Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/usr/share/packed/hello", Body: []byte("hello\n"), Mode: 0o100644, Owner: "root", Group: "root"})
	r.SetPGPSigner(a.HeaderSigner())
	p := filepath.Join(t.TempDir(), "packed-1.0-1.noarch.rpm")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wantSigned(t, rpmdb(t, a), p, a)
	out, _ := rpmK(t, rpmdb(t, a), p)
	if strings.Contains(out, "BAD") {
		t.Errorf("rpm -K:\n%s", out)
	}
}

// TestRefuseDamagedPayload: rpmpack writes no MD5, only the payload's
// SHA-256 in the header: a changed payload byte is caught by that.
func TestRefuseDamagedPayload(t *testing.T) {
	a, _ := testKeys(t)
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{Name: "dmg", Version: "1.0", Release: "1", Arch: "noarch", Licence: "MIT", Summary: "damaged", Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	r.AddFile(rpmpack.RPMFile{Name: "/usr/share/dmg/data", Body: []byte(strings.Repeat("data ", 500)), Mode: 0o100644, Owner: "root", Group: "root"})
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	data[len(data)-20] ^= 0x01
	p := filepath.Join(t.TempDir(), "dmg.rpm")
	os.WriteFile(p, data, 0o644)
	if err := sign.SignRPM(p, a, time.Now()); !errors.Is(err, sign.ErrNotRPM) || !strings.Contains(err.Error(), "payload") {
		t.Errorf("SignRPM of a damaged rpmpack package: %v", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Error("the damaged package changed")
	}
}
