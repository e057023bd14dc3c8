package buildroot_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acn-project/acn/builder/buildroot"
	"github.com/acn-project/acn/internal/tooltest"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// newRoot makes a root as an EL root looks: its rpm database at
// /var/lib/rpm, an os-release, and the given packages installed.
func newRoot(t *testing.T, rpms ...string) string {
	t.Helper()
	root := t.TempDir()
	run(t, "rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb")
	if len(rpms) > 0 {
		run(t, "rpm", append([]string{"--root", root, "--dbpath", "/var/lib/rpm", "-i", "--nodeps", "--noscripts"}, rpms...)...)
	}
	return root
}

func TestMissingAndPrepare(t *testing.T) {
	ctx := context.Background()
	release := tooltest.FilePackage(t, "el-release", "9.4", "/etc/os-release", "NAME=\"Test EL\"\nVERSION_ID=\"9.4\"\n", "system-release = 9.4")
	root := newRoot(t, release)

	got, err := buildroot.Missing(ctx, root, []string{"el-release", "system-release >= 9", "system-release = 9.4", "system-release < 9",
		"system-release > 9.4", "el-release >= 9.4-1", "el-release < 9.4-2", "/etc/os-release", "devtool", "devtool >= 1.0", "/usr/bin/devtool"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"system-release < 9", "system-release > 9.4", "devtool", "devtool >= 1.0", "/usr/bin/devtool"}; !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}

	// Without base repositories: an early error naming what is missing.
	_, err = buildroot.Prepare(ctx, root, []string{"devtool", "el-release"}, buildroot.Options{CacheDir: t.TempDir()})
	if !errors.Is(err, buildroot.ErrMissing) || !strings.Contains(err.Error(), "devtool") || strings.Contains(err.Error(), "el-release") {
		t.Errorf("no repositories: %v", err)
	}
	// Nothing missing: the root itself.
	if got, err := buildroot.Prepare(ctx, root, []string{"el-release"}, buildroot.Options{}); err != nil || got != root {
		t.Errorf("nothing missing: %q, %v", got, err)
	}

	// A base repository made with createrepo_c over packages rpmbuild made.
	base := t.TempDir()
	run(t, "cp", tooltest.FilePackage(t, "devtool", "1.2", "/usr/bin/devtool", "#!/bin/sh\necho dev\n"), base)
	run(t, "createrepo_c", "-q", base)
	cache := t.TempDir()
	o := buildroot.Options{CacheDir: cache, Repos: []buildroot.Repo{{Name: "base", BaseURL: "file://" + base}}}
	prepared, err := buildroot.Prepare(ctx, root, []string{"devtool >= 1.0", "el-release"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(prepared) != cache {
		t.Errorf("prepared root %s is not in the cache %s", prepared, cache)
	}
	if b, err := os.ReadFile(filepath.Join(prepared, "usr/bin/devtool")); err != nil || !strings.Contains(string(b), "echo dev") {
		t.Errorf("the step's tool in the prepared root: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/devtool")); err == nil {
		t.Error("the operator's root was changed")
	}
	if m, err := buildroot.Missing(ctx, prepared, []string{"devtool", "/usr/bin/devtool", "el-release"}); err != nil || len(m) > 0 {
		t.Errorf("prepared root still misses %v (%v)", m, err)
	}
	// Reused: the same root, requirements and repositories.
	os.WriteFile(filepath.Join(prepared, "marker"), nil, 0o644)
	again, err := buildroot.Prepare(ctx, root, []string{"el-release", "devtool >= 1.0"}, o)
	if err != nil || again != prepared {
		t.Errorf("second prepare: %q, %v (want %q)", again, err, prepared)
	}
	if _, err := os.Stat(filepath.Join(again, "marker")); err != nil {
		t.Error("the prepared root was made again")
	}

	// What no repository has: dnf's answer, and nothing left in the cache.
	_, err = buildroot.Prepare(ctx, root, []string{"no-such-tool"}, o)
	if !errors.Is(err, buildroot.ErrMissing) || !strings.Contains(err.Error(), "no-such-tool") {
		t.Errorf("a requirement no repository has: %v", err)
	}
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left in the cache: %s", e.Name())
		}
	}
}

func TestNoDatabase(t *testing.T) {
	_, err := buildroot.Missing(context.Background(), t.TempDir(), []string{"gcc"})
	if !errors.Is(err, buildroot.ErrNoDatabase) || !strings.Contains(err.Error(), "dnf --installroot") {
		t.Errorf("a root without an rpm database: %v", err)
	}
}
