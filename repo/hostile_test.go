package repo_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/acn-project/acn/repo"
)

// TestHostileFiles drops what an attacker (or an accident) could put in a
// repository directory beside one good package: each is left out and
// named in the result, never published, never a crash, in bounded memory,
// and nothing outside the directory is read through a link.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	good := buildRPM(t, "good", "1.0", "1", "good")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "good-1.0-1.noarch.rpm"), b, 0o644)
	p, _ := repo.Open(good)
	sigN := int(binary.BigEndian.Uint32(b[96+8:]))
	sigSize := int(binary.BigEndian.Uint32(b[96+12:]))
	main := 96 + 16 + sigN*16 + sigSize + (8-sigSize%8)%8
	patched := func(off int, v uint32) []byte {
		c := slices.Clone(b)
		binary.BigEndian.PutUint32(c[off:], v)
		return c
	}
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "valid.rpm"), b, 0o644)
	self, _ := os.ReadFile("/proc/self/exe")

	reported := map[string][]byte{
		"empty.rpm":          nil,
		"truncated.rpm":      b[:3000],
		"cut-payload.rpm":    b[:len(b)-1],
		"header-only.rpm":    b[:p.HeaderEnd],
		"huge-count.rpm":     patched(main+8, 0x7fffffff),   // index entries
		"huge-store.rpm":     patched(main+12, 0x7fffffff),  // data bytes
		"huge-entry.rpm":     patched(main+16+16+12, 1<<30), // one entry's count
		"huge-sig-count.rpm": patched(96+8, 0x10000000),
		"elf.rpm":            self[:min(len(self), 1<<20)],
		"text.rpm":           []byte("#!/bin/sh\necho not a package\n"),
	}
	for name, data := range reported {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"passwd.rpm":  "/etc/passwd",
		"outside.rpm": filepath.Join(outside, "valid.rpm"),
		"pool":        outside, // a directory outside, holding a valid package
	}
	for name, target := range links {
		os.Symlink(target, filepath.Join(dir, name))
	}
	// Not regular files: never opened (a FIFO would block a reader).
	syscall.Mkfifo(filepath.Join(dir, "fifo.rpm"), 0o644)
	os.Mkdir(filepath.Join(dir, "dir.rpm"), 0o755)
	// A link within the root is followed, as createrepo_c follows it.
	os.Mkdir(filepath.Join(dir, ".pool"), 0o755)
	ob, _ := os.ReadFile(buildRPM(t, "other", "1.0", "1", "other"))
	os.WriteFile(filepath.Join(dir, ".pool", "other.rpm"), ob, 0o644)
	os.Symlink(".pool/other.rpm", filepath.Join(dir, "inside-link.rpm"))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := repo.Index(context.Background(), dir, repo.Options{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, repo.ErrSkipped) || res == nil {
		t.Fatalf("index: %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128<<20 {
		t.Errorf("indexing the hostile files allocated %d MiB", alloc>>20)
	}
	msg := err.Error()
	for name := range reported {
		if !strings.Contains(msg, name) {
			t.Errorf("%s is not reported", name)
		}
	}
	if !errors.Is(err, repo.ErrCorrupt) || !errors.Is(err, repo.ErrOutside) {
		t.Errorf("the error wraps neither ErrCorrupt nor ErrOutside: %v", err)
	}
	for _, name := range []string{"outside.rpm", "pool"} {
		if !strings.Contains(msg, name+": "+repo.ErrOutside.Error()) {
			t.Errorf("%s is not reported as leading outside: %v", name, err)
		}
	}
	// passwd.rpm leads outside too: reported as such, never read.
	if !strings.Contains(msg, "passwd.rpm: "+repo.ErrOutside.Error()) {
		t.Errorf("passwd.rpm: %v", err)
	}
	if got := published(t, dir); !slices.Equal(got, []string{"good-1.0-1.noarch.rpm", "inside-link.rpm"}) {
		t.Errorf("published %v", got)
	}
	if res.Packages != 2 || len(res.Skipped) != len(reported)+len(links) {
		t.Errorf("%d packages, %d skipped: %v", res.Packages, len(res.Skipped), res.Skipped)
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
		t.Error(err)
	}
}

// TestHostileMetadata: a repomd.xml whose locations leave the repository
// is refused by every reader, never followed.
func TestHostileMetadata(t *testing.T) {
	dir := t.TempDir()
	addOne(t, dir, buildRPM(t, "hello", "1.0", "1", "one"), repo.AddOptions{})
	name := filepath.Join(dir, "repodata", "repomd.xml")
	md, _ := os.ReadFile(name)
	m, _ := repo.ParseRepomd(strings.NewReader(string(md)))
	href := m.Find("primary").Location.Href
	os.WriteFile(name, []byte(strings.Replace(string(md), `href="`+href, `href="../../../../../../etc/passwd`, 1)), 0o644)
	if _, err := repo.LoadCatalog(dir); err == nil || !strings.Contains(err.Error(), "leaves the repository") {
		t.Errorf("catalog: %v", err)
	}
	if _, err := repo.Verify(context.Background(), dir, nil); err == nil || !strings.Contains(err.Error(), "leaves the repository") {
		t.Errorf("verify: %v", err)
	}
	if _, _, err := repo.Promote(context.Background(), dir, t.TempDir(), "hello", "1.0", repo.AddOptions{}); err == nil {
		t.Error("promote from a repository whose metadata leaves it")
	}
}
