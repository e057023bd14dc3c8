package builder

import (
	"bytes"
	"io"
	"testing"

	"github.com/acn-project/acn/specs"
)

// BenchmarkLeakScan measures the path check on text full of paths, its
// worst case, against a plain copy of the same bytes.
func BenchmarkLeakScan(b *testing.B) {
	data := bytes.Repeat([]byte("/usr/lib/python3/site-packages/x/y.py:12: /build/hom /tmp/a/b\n"), 1<<16)
	s := &specs.Spec{Name: "x", Version: "1"}
	c := newLeakCheck(s, &scratch{root: "/tmp/acn-build-1-2-3", destDir: "/tmp/acn-build-1-2-3/destdir"})
	buf := make([]byte, 256<<10)
	for _, scan := range []bool{false, true} {
		name := "copy"
		if scan {
			name = "scan"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var r io.Reader = struct{ io.Reader }{bytes.NewReader(data)}
				if scan {
					r = &leakReader{r: io.NopCloser(r), c: c}
				}
				io.CopyBuffer(io.Discard, r, buf)
			}
		})
	}
	if len(c.leaks) != 0 {
		b.Fatalf("false leaks: %v", c.leaks)
	}
}

// chunkReader returns at most n bytes per read, to put read boundaries
// anywhere.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}

// FuzzLeakScan: the streaming scan finds a build path whatever the read
// boundaries, exactly when the whole file holds one.
func FuzzLeakScan(f *testing.F) {
	f.Add([]byte("#!/build/destdir/usr/bin/python3\n"), uint8(3))
	f.Add([]byte("x /build/x-1/venv y"), uint8(1))
	f.Add([]byte("\x7fELF /build/x-1/a.c"), uint8(7))
	f.Add([]byte("/tmp/acn-build-1-2-3/src/b /build/destd"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		s := &specs.Spec{Name: "x", Version: "1"}
		c := newLeakCheck(s, &scratch{root: "/tmp/acn-build-1-2-3", destDir: "/tmp/acn-build-1-2-3/destdir"})
		r := &leakReader{r: io.NopCloser(&chunkReader{data, int(n)%64 + 1}), c: c}
		if _, err := io.Copy(io.Discard, struct{ io.Reader }{r}); err != nil {
			t.Fatal(err)
		}
		r.Close()
		want := false
		for _, p := range c.dest {
			want = want || bytes.Contains(data, p)
		}
		object := isObject(data)
		for _, p := range c.scratch {
			want = want || !object && bytes.Contains(data, p)
		}
		if got := len(c.leaks) > 0; got != want {
			t.Fatalf("leak found %v, want %v (object %v): %q", got, want, object, data)
		}
	})
}
