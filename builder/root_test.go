package builder_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/builder/buildroot"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/specs"
)

// makeRoot makes a small root file system: the host's bash, coreutils'
// cat and setpriv with the libraries they load (as ldd lists them), its
// own /etc/os-release, and an rpm database at /var/lib/rpm (as EL keeps
// it) holding the given packages.
func makeRoot(t *testing.T, rpms ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib", "usr/lib64", "usr/sbin", "etc", "tmp"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for _, l := range []string{"bin", "lib", "lib64", "sbin"} {
		os.Symlink("usr/"+l, filepath.Join(root, l))
	}
	copyIn := func(p string) {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, strings.TrimPrefix(p, "/"))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		tooltest.Run(t, "cp", "-L", real, dst)
	}
	for _, bin := range []string{"/usr/bin/bash", "/usr/bin/cat", "/usr/bin/setpriv", "/usr/bin/grep"} {
		copyIn(bin)
		for _, f := range strings.Fields(tooltest.Run(t, "ldd", bin)) {
			if strings.HasPrefix(f, "/") {
				copyIn(f)
			}
		}
	}
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("NAME=\"ACN test root\"\nID=acntest\nVERSION_ID=\"9.4\"\n"), 0o644)
	tooltest.Run(t, "rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb")
	if len(rpms) > 0 {
		tooltest.Run(t, "rpm", append([]string{"--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--noscripts"}, rpms...)...)
	}
	return root
}

// TestBuildRoot: steps run in the build root a spec names and see its
// system, not the host's; build_requires are checked against the root's
// rpm database before any step runs, and installed from base repositories
// into a cached copy of the root.
func TestBuildRoot(t *testing.T) {
	root := makeRoot(t, tooltest.FilePackage(t, "el-release", "9.4", "/etc/el-release", "EL 9.4\n", "system-release = 9.4"))
	r := gittest.New(t)
	spec := func(name, extra, step string) string {
		return "name: " + name + "\nversion: \"1\"\nsummary: S\nlicense: MIT\nroot: " + root + "\n" + extra +
			"build:\n  - " + step + "\nfiles:\n  - src: $DESTDIR/out\n    dst: /opt/out\n"
	}
	r.Commit("specs", map[string]string{
		"specs/osr.yaml":  spec("osr", "build_requires: [\"system-release >= 9\"]\n", `cat /etc/os-release > "$DESTDIR/out"`),
		"specs/dev.yaml":  spec("dev", "build_requires:\n  - devtool >= 1\n", `devtool > "$DESTDIR/out"`),
		"specs/none.yaml": spec("none", "build_requires:\n  - no-such-tool\n", `echo ran > "$DESTDIR/out"`),
	})
	opts := builder.Options{RootCache: t.TempDir()}

	rpm := mustBuild(t, r, "osr", opts)
	got := tooltest.Run(t, "bash", "-c", "rpm2cpio "+rpm+" | cpio -i --quiet --to-stdout ./opt/out")
	if !strings.Contains(got, "ID=acntest") {
		t.Errorf("the step saw an os-release that is not the root's:\n%s", got)
	}

	// Missing, and no base repository to install from: fails before any
	// step, naming the spec, the key and what is missing.
	res, err := build(t, r, "HEAD", "dev", opts)
	var se *specs.Error
	if !errors.As(err, &se) || se.Field != "build_requires" || !errors.Is(err, buildroot.ErrMissing) || !strings.Contains(err.Error(), "devtool >= 1") {
		t.Fatalf("a missing build requirement: %v", err)
	}
	if res != nil && res.LogPath != "" {
		if b, _ := os.ReadFile(res.LogPath); strings.Contains(string(b), "step 1") {
			t.Errorf("a step ran although a build requirement is missing:\n%s", b)
		}
	}

	// With a base repository (createrepo_c over what rpmbuild made), dnf
	// installs it into a copy of the root and the step finds it.
	base := t.TempDir()
	tooltest.Run(t, "cp", tooltest.FilePackage(t, "devtool", "1.2", "/usr/bin/devtool", "#!/bin/bash\necho devtool here\n"), base)
	tooltest.Run(t, "createrepo_c", "-q", base)
	opts.BaseRepos = []buildroot.Repo{{Name: "base", BaseURL: "file://" + base}}
	rpm = mustBuild(t, r, "dev", opts)
	if got := tooltest.Run(t, "bash", "-c", "rpm2cpio "+rpm+" | cpio -i --quiet --to-stdout ./opt/out"); got != "devtool here\n" {
		t.Errorf("the step's output with devtool installed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/devtool")); err == nil {
		t.Error("the operator's root was changed")
	}
	if _, err := build(t, r, "HEAD", "none", opts); !errors.Is(err, buildroot.ErrMissing) || !strings.Contains(err.Error(), "no-such-tool") {
		t.Errorf("a requirement no repository has: %v", err)
	}

	// A build root needs the sandbox.
	opts.Sandbox = builder.SandboxOff
	if _, err := build(t, r, "HEAD", "osr", opts); !errors.Is(err, builder.ErrNoSandbox) {
		t.Errorf("a build root with the sandbox off: %v", err)
	}
}
