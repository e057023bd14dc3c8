package autodeps

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func analyzeTree(t *testing.T, root string, files []File) (*Result, error) {
	t.Helper()
	r, err := os.OpenRoot(root)
	must(t, err)
	defer r.Close()
	return Analyze(context.Background(), r.FS(), files, Options{})
}

// A packaged path that is a symlink out of the tree is not read.
func TestSymlinkOutOfTree(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(t, os.Symlink("/etc/passwd", filepath.Join(root, "usr/bin/x")))
	must(t, os.Symlink("../../../../../etc/passwd", filepath.Join(root, "usr/bin/y")))
	for _, p := range []string{"/usr/bin/x", "/usr/bin/y"} {
		if _, err := analyzeTree(t, root, []File{{Path: p, Mode: 0o755}}); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file", p, err)
		}
	}
	// Given as the symlinks they are, they are not followed at all.
	res, err := analyzeTree(t, root, []File{{Path: "/usr/bin/x", Mode: os.ModeSymlink | 0o777}})
	if err != nil || res.Files[0].Class != "" || res.Files[0].Requires != nil {
		t.Errorf("symlink: %v %+v", err, res)
	}
}

func TestTypeMismatch(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "usr/bin/d"), 0o755))
	_, err := analyzeTree(t, root, []File{{Path: "/usr/bin/d", Mode: 0o755}})
	if !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("error %v, want ErrTypeMismatch", err)
	}
}

// A FIFO where a regular file is listed is not opened (that would block).
func TestFIFONotOpened(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(t, unix.Mkfifo(filepath.Join(root, "usr/bin/fifo"), 0o644))
	dist := filepath.Join(root, "usr/lib/python3.11/site-packages/x-1.dist-info")
	must(t, os.MkdirAll(dist, 0o755))
	must(t, unix.Mkfifo(filepath.Join(dist, "METADATA"), 0o644))
	if _, err := analyzeTree(t, root, []File{{Path: "/usr/bin/fifo", Mode: 0o644}}); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("fifo: error %v, want ErrTypeMismatch", err)
	}
	if _, err := analyzeTree(t, root, []File{{Path: "/usr/lib/python3.11/site-packages/x-1.dist-info", Mode: os.ModeDir | 0o755}}); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("fifo METADATA: error %v, want ErrTypeMismatch", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, os.DirFS(t.TempDir()), []File{{Path: "/x", Mode: 0o644}}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every prefix of a real object is analysed without a panic or an error.
func TestTruncatedELF(t *testing.T) {
	for _, name := range []string{"elf/libfoo.so.1.0", "elf/prog", "elf/libfoo32.so.1"} {
		data := readTestdata(t, name)
		root := t.TempDir()
		for n := 0; n <= len(data); n += 97 {
			must(t, os.WriteFile(filepath.Join(root, "o"), data[:n], 0o755))
			if _, err := analyzeTree(t, root, []File{{Path: "/o", Mode: 0o755}}); err != nil {
				t.Fatalf("%s cut at %d: %v", name, n, err)
			}
		}
	}
}

// patchSection rewrites one field of the first section of a type.
func patchSection(t *testing.T, data []byte, typ elf.SectionType, patch func(sh []byte, bo binary.ByteOrder)) []byte {
	f, err := elf.NewFile(bytes.NewReader(data))
	must(t, err)
	out := bytes.Clone(data)
	bo := f.ByteOrder
	shoff := bo.Uint64(out[40:])
	shentsize := uint64(bo.Uint16(out[58:]))
	for i, s := range f.Sections {
		if s.Type == typ {
			patch(out[shoff+uint64(i)*shentsize:], bo)
			return out
		}
	}
	t.Fatalf("no section of type %v", typ)
	return nil
}

// A version section whose count claims 2^32-1 definitions that all sit at
// the same offset costs bounded work and output.
func TestELFHugeVersionCounts(t *testing.T) {
	data := readTestdata(t, "elf/libfoo.so.1.0")
	for _, typ := range []elf.SectionType{elf.SHT_GNU_VERDEF, elf.SHT_GNU_VERNEED} {
		bad := patchSection(t, data, typ, func(sh []byte, bo binary.ByteOrder) {
			bo.PutUint32(sh[44:], 0xffffffff) // sh_info
		})
		// Make the first entry point at itself.
		f, _ := elf.NewFile(bytes.NewReader(bad))
		for _, s := range f.Sections {
			if s.Type == typ {
				next := uint64(12) // vn_next
				if typ == elf.SHT_GNU_VERDEF {
					next = 16 // vd_next
				}
				binary.LittleEndian.PutUint32(bad[s.Offset+next:], 0)
			}
		}
		info, err := analyzeELF(bytes.NewReader(bad), int64(len(bad)), true, "libfoo.so.1.0")
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		if len(info.provides) > maxELFDeps || len(info.requires) > maxELFDeps {
			t.Errorf("%v: %d provides, %d requires", typ, len(info.provides), len(info.requires))
		}
	}
	zero := patchSection(t, data, elf.SHT_DYNAMIC, func(sh []byte, bo binary.ByteOrder) {
		bo.PutUint64(sh[56:], 0) // sh_entsize
	})
	if _, err := analyzeELF(bytes.NewReader(zero), int64(len(zero)), true, "x"); err != nil {
		t.Errorf("entsize 0: %v", err)
	}
}

// Variables that double at each definition stay within pkgconf's 64 KiB.
func TestPCExpansionBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("v0=xxxxxxxxxxxxxxxx\n")
	for i := 1; i < 40; i++ {
		b.WriteString("v" + strconv.Itoa(i) + "=${v" + strconv.Itoa(i-1) + "}${v" + strconv.Itoa(i-1) + "}\n")
	}
	b.WriteString("Name: p\nDescription: d\nVersion: ${v39}\nRequires: ${v39}\n")
	pc, ok := parsePC("/usr/lib64/pkgconfig/p.pc", []byte(b.String()))
	if !ok {
		t.Fatal("refused")
	}
	for _, l := range append(pc.provides, pc.requires...) {
		if len(l) > 2*maxPCValue {
			t.Errorf("line of %d bytes", len(l))
		}
	}
}

func TestMarkerDepthBounded(t *testing.T) {
	m := strings.Repeat("(", 100000) + `python_version == "3"` + strings.Repeat(")", 100000)
	if _, err := evalMarker(m, "3.11"); err == nil {
		t.Error("deep marker accepted")
	}
}
