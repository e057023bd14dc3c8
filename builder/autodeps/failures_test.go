package autodeps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRPMBuildFailuresAgree checks that where rpmbuild fails the build on
// what a generator printed, Analyze fails too, naming the file, and
// that the neighbouring good case passes both.
func TestRPMBuildFailuresAgree(t *testing.T) {
	requireTools(t, "rpmbuild", "pkg-config", "python3")
	for _, c := range []struct {
		name, path, data string
		mode             os.FileMode
		fails            bool
		errType          any
	}{
		{"pc-bang-op", "usr/lib64/pkgconfig/x.pc", "Name: x\nDescription: d\nVersion: 1\nRequires: d != 4\n", 0o644, true, new(*DepError)},
		{"pc-eq-op", "usr/lib64/pkgconfig/x.pc", "Name: x\nDescription: d\nVersion: 1\nRequires: d = 4\n", 0o644, false, nil},
		{"pc-dotdot", "usr/lib64/pkgconfig/x.pc", "Name: x\nDescription: d\nVersion: 1..2\n", 0o644, true, new(*DepError)},
		{"pc-two-dashes", "usr/lib64/pkgconfig/x.pc", "Name: x\nDescription: d\nVersion: 1-2-3\n", 0o644, true, new(*DepError)},
		{"pc-epoch", "usr/lib64/pkgconfig/x.pc", "Name: x\nDescription: d\nVersion: a:1\n", 0o644, true, new(*DepError)},
		{"env-flag", "usr/bin/x", "#!/usr/bin/env /usr/bin/perl -w\n", 0o755, true, new(*DepError)},
		{"env-flag-noexec", "usr/bin/x", "#!/usr/bin/env /usr/bin/perl -w\n", 0o644, false, nil},
		// perl.prov dies here, but rpmbuild ignores a generator's exit
		// status: the module provides nothing.
		{"pm-unclosed-heredoc", "usr/share/perl5/X.pm", "package X;\nmy $h = <<'END';\nnever closed\n", 0o644, false, nil},
		{"pm-closed-heredoc", "usr/share/perl5/X.pm", "package X;\nmy $h = <<'END';\nclosed\nEND\n1;\n", 0o644, false, nil},
		{"dist-no-name", "usr/lib/python3.11/site-packages/x-1.dist-info/METADATA", "Version: 1\n", 0o644, true, new(*PythonError)},
		{"dist-bad-version", "usr/lib/python3.11/site-packages/x-1.dist-info/METADATA", "Name: x\nVersion: not a version\n", 0o644, true, new(*PythonError)},
		{"dist-bad-spec", "usr/lib/python3.11/site-packages/x-1.dist-info/METADATA", "Name: x\nVersion: 1\nRequires-Dist: y ~= 1\n", 0o644, true, new(*PythonError)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			p := filepath.Join(root, c.path)
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.WriteFile(p, []byte(c.data), c.mode))
			must(t, os.Chmod(p, c.mode))
			listed := "/" + c.path
			files := []File{{Path: listed, Mode: c.mode}}
			if strings.Contains(c.path, ".dist-info/") {
				listed = "/" + filepath.Dir(c.path)
				files = []File{{Path: listed, Mode: os.ModeDir | 0o755}, {Path: "/" + c.path, Mode: c.mode}}
			}
			spec := filepath.Join(dir, "x.spec")
			must(t, os.WriteFile(spec, []byte(fmt.Sprintf("Name: x\nVersion: 1\nRelease: 1\nSummary: x\nLicense: MIT\n%%global debug_package %%{nil}\n%%global __os_install_post %%{nil}\n%%description\nx\n%%install\ncp -a %s/. %%{buildroot}/\n%%files\n%s\n", root, listed)), 0o644))
			out, err := exec.Command("rpmbuild", "-bb", "--define", "_topdir "+filepath.Join(dir, "top"), spec).CombinedOutput()
			if (err != nil) != c.fails {
				t.Fatalf("rpmbuild error %v, want failure %v:\n%s", err, c.fails, out)
			}
			r, err := os.OpenRoot(root)
			must(t, err)
			defer r.Close()
			_, err = Analyze(context.Background(), r.FS(), files, Options{})
			if (err != nil) != c.fails {
				t.Fatalf("Analyze error %v, want failure %v", err, c.fails)
			}
			if err != nil {
				if !errors.As(err, c.errType) {
					t.Errorf("Analyze error %v (%T), want %T", err, err, c.errType)
				}
				if !strings.Contains(err.Error(), listed) && !strings.Contains(err.Error(), "/"+c.path) {
					t.Errorf("error %q does not name the file", err)
				}
				checkFileError(t, err, listed, "/"+c.path)
			}
		})
	}
}

// checkFileError checks that err is a *FileError for one of paths and
// says "autodeps:" once.
func checkFileError(t *testing.T, err error, paths ...string) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Errorf("error %v (%T) is not a *FileError", err, err)
	} else if !slices.Contains(paths, fe.Path) {
		t.Errorf("FileError.Path %q, want one of %q", fe.Path, paths)
	}
	if n := strings.Count(err.Error(), "autodeps:"); n != 1 {
		t.Errorf("error %q says autodeps: %d times", err, n)
	}
}

// TestFileErrors: a file whose type in the tree is not the one given,
// and one that is missing, fail naming the file, with one "autodeps:".
func TestFileErrors(t *testing.T) {
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, "dir"), 0o755))
	r, err := os.OpenRoot(root)
	must(t, err)
	defer r.Close()
	for _, f := range []File{{Path: "/dir", Mode: 0o644}, {Path: "/missing", Mode: 0o644}} {
		_, err := Analyze(context.Background(), r.FS(), []File{f}, Options{})
		if err == nil {
			t.Fatalf("%s: no error", f.Path)
		}
		checkFileError(t, err, f.Path)
		if f.Path == "/dir" && !errors.Is(err, ErrTypeMismatch) {
			t.Errorf("%s: %v, want ErrTypeMismatch", f.Path, err)
		}
		t.Log(err)
	}
}
