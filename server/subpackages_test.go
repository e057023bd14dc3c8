package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/server"
)

// TestDaemonPublishesSubpackages: a tag of a spec with a subpackage and
// compiled code publishes every RPM it makes (main, -devel, -debuginfo)
// in one publication, and dnf installs them over HTTP.
func TestDaemonPublishesSubpackages(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", map[string]string{
		"specs/rt.yaml": `name: rt
version: "1.0"
arch: x86_64
summary: S
license: MIT
build:
  - gcc -g -o rt rt.c
  - install -D -m755 rt "$DESTDIR/usr/bin/rt"
files:
  - {src: $DESTDIR/usr/bin/rt, dst: /usr/bin/rt}
packages:
  - name: rt-devel
    summary: Headers of rt
    requires: ["rt = 1.0-1"]
    files:
      - {src: rt.h, dst: /usr/include/rt.h}
`,
		"rt.c": "int main(void) { return 0; }\n",
		"rt.h": "int rt(void);\n",
	})
	r.Git("tag", "rt/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	j := d.wait("rt/v1.0")
	if j.Status != server.Succeeded {
		_, log := d.get(fmt.Sprintf("/api/v1/builds/%d/log", j.ID))
		t.Fatalf("build: %+v\n%s", j, log)
	}
	want := []string{"acn/rt-1.0-1.x86_64.rpm", "acn/rt-debuginfo-1.0-1.x86_64.rpm", "acn/rt-devel-1.0-1.x86_64.rpm"}
	got := slices.Clone(j.RPMs)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
	_, repoFile := d.get("/repos/acn.repo")
	os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte(repoFile), 0o644)
	// What the host's libc would provide comes from a stand-in.
	var rpms []string
	for _, p := range j.RPMs {
		_, body := d.get("/repos/" + p)
		f := filepath.Join(t.TempDir(), filepath.Base(p))
		os.WriteFile(f, []byte(body), 0o644)
		rpms = append(rpms, f)
	}
	os.WriteFile(filepath.Join(root, "repos.d", "standin.repo"), []byte(tooltest.StandInRepo(t, rpms...)), 0o644)
	dnf(t, root, "install", "rt-devel", "rt-debuginfo")
	for _, f := range []string{"usr/bin/rt", "usr/include/rt.h"} {
		if _, err := os.Stat(filepath.Join(root, "root", f)); err != nil {
			t.Errorf("installed: %v", err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(root, "root", "usr/lib/debug/.build-id/*/*.debug")); len(m) != 1 {
		t.Errorf("build-id links of rt-debuginfo: %v", m)
	}
}
