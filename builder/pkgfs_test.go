package builder

import (
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/acn-project/acn/internal/rpmtag"
)

func fileEntry(name, content string, perm uint32) entry {
	return entry{name: name, mode: modeRegular | perm, size: int64(len(content)),
		open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
}

// TestPkgFS: a package's entries read as a file system behave as fs.FS
// promises (fstest.TestFS), links are followed inside the package only,
// and ghosts are absent.
func TestPkgFS(t *testing.T) {
	ents := []entry{
		{name: "/usr/bin", mode: modeDir | 0o755},
		fileEntry("/usr/bin/prog", "\x7fELF...", 0o755),
		linkEntry("/usr/bin/alias", "prog"),
		linkEntry("/usr/lib64/libx.so", "/usr/lib64/libx.so.1"),
		fileEntry("/usr/lib64/libx.so.1", "lib", 0o755),
		linkEntry("/usr/lib64/up", "../../../../.."),
		fileEntry("/usr/lib64/pkgconfig/x.pc", "Name: x\n", 0o644),
		{name: "/var/log/x.log", mode: modeRegular | 0o640, flags: rpmtag.FileGhost},
	}
	f := newPkgFS(ents)
	if err := fstest.TestFS(f, "usr/bin/prog", "usr/lib64/libx.so.1", "usr/lib64/pkgconfig/x.pc", "usr/bin/alias"); err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(f, "usr/lib64/libx.so"); err != nil || string(b) != "lib" {
		t.Errorf("absolute link: %q %v", b, err)
	}
	if fi, err := fs.Lstat(f, "usr/bin/alias"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("lstat link: %v %v", fi, err)
	}
	if l, err := fs.ReadLink(f, "usr/lib64/libx.so"); err != nil || l != "/usr/lib64/libx.so.1" {
		t.Errorf("readlink: %q %v", l, err)
	}
	// ../ past the root stays at the package's root.
	if b, err := fs.ReadFile(f, "usr/lib64/up/usr/bin/prog"); err != nil || string(b) != "\x7fELF..." {
		t.Errorf("link to above the root: %q %v", b, err)
	}
	if _, err := newPkgFS([]entry{linkEntry("/a", "b"), linkEntry("/b", "a")}).Open("a"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("link loop: %v", err)
	}
	if _, err := f.Open("var/log/x.log"); err == nil {
		t.Error("a ghost file can be opened")
	}
	if _, err := f.Open("../etc/passwd"); err == nil {
		t.Error("an invalid path can be opened")
	}
}
