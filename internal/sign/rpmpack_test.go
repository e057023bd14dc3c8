package sign_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
