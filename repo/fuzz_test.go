package repo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
		// The provenance reader takes the same headers, without the
		// payload check: it must never crash either.
		if _, perr := ReadProvenance(name); perr != nil && !errors.Is(perr, ErrCorrupt) {
			t.Fatalf("provenance: error %v does not wrap ErrCorrupt", perr)
		}
		p, err := readPackage(name, "x.rpm", "sha256", 10)
		// Verify reads a stream where Index reads a file: both must
		// take the same package as intact.
		r := bytes.NewReader(data)
		integ, serr := streamIntegrity(r)
		if serr == nil {
			integ.Write(data[len(data)-r.Len():])
			serr = integ.check()
		}
		if serr != nil && !errors.Is(serr, ErrCorrupt) {
			t.Fatalf("verify: error %v does not wrap ErrCorrupt", serr)
		}
		if err == nil && serr != nil {
			t.Fatalf("index takes the package, verify says %v", serr)
		}
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

// TestCraftedHeaderCounts: an entry claiming billions of values is an
// error, found before the rpm library would allocate for it.
func TestCraftedHeaderCounts(t *testing.T) {
	b, err := os.ReadFile("../testdata/golden/rpms/tiny-0.1-1.noarch.rpm")
	if err != nil {
		t.Fatal(err)
	}
	sigN := int(binary.BigEndian.Uint32(b[96+8:]))
	sigSize := int(binary.BigEndian.Uint32(b[96+12:]))
	main := 96 + 16 + sigN*16 + sigSize
	main += (8 - sigSize%8) % 8
	for _, entry := range []int{1, 5} {
		bad := append([]byte{}, b...)
		binary.BigEndian.PutUint32(bad[main+16+entry*16+12:], 0x7fffffff)
		name := filepath.Join(t.TempDir(), "bad.rpm")
		os.WriteFile(name, bad, 0o644)
		_, err := readPackage(name, "bad.rpm", "sha256", 10)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "claims") {
			t.Errorf("entry %d: %v", entry, err)
		}
	}
}
