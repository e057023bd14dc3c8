package repo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadPackage feeds damaged RPM files to the header reader: it must
// report them, never crash, never hang.
func FuzzReadPackage(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/golden/rpms/*.rpm")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{0xed, 0xab, 0xee, 0xdb, 3, 0})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		name := filepath.Join(dir, "x.rpm")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := readPackage(name, "x.rpm", "sha256", 10)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		var b bytesBuffer
		renderPrimary(&b.Buffer, p, renderOptions{checksum: "sha256"})
		renderFilelists(&b.Buffer, p)
		renderOther(&b.Buffer, p)
	})
}

type bytesBuffer struct{ bytes.Buffer }
