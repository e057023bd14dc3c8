package repo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

// goldenRepo builds two packages with acn's own (reproducible) builder, so
// that the metadata of their repository is the same on every machine.
func goldenRepo(t *testing.T) string {
	t.Helper()
	full, err := os.ReadFile("../testdata/specs/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tree := fstest.MapFS{
		"app/main.py":        {Data: []byte("print('hi')\n")},
		"app/bin/tool":       {Data: []byte("#!/bin/sh\necho tool\n"), Mode: 0o755},
		"conf/full.conf":     {Data: []byte("key = value\n")},
		"conf/defaults.conf": {Data: []byte("defaults\n")},
		"conf/a.d/one.conf":  {Data: []byte("one\n")},
		"README.md":          {Data: []byte("# full\n")},
		"LICENSE":            {Data: []byte("MIT License\n")},
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := t.TempDir()
	for name, text := range map[string][]byte{
		"full": full,
		"tiny": []byte("name: tiny\nversion: \"0.1\"\nsummary: A tiny package\nlicense: MIT\nfiles:\n  - src: README.md\n    dst: /usr/share/doc/tiny/README.md\n"),
	} {
		sp, err := specs.Parse("specs/"+name+".yaml", text)
		if err != nil {
			t.Fatal(err)
		}
		// The build log's SHA-256 is in the package: with the sandbox off
		// the log says the same on every machine (with it on, it names
		// the user the steps ran as, which depends on acn's).
		res, err := builder.Build(context.Background(), tree, sp, builder.Options{OutDir: dir, Time: when, ScratchDir: t.TempDir(), CacheDir: t.TempDir(),
			Sandbox: builder.SandboxOff, Ref: name + "/v" + sp.Version,
			GitURL: "https://git.example.invalid/ops/specs.git", Commit: "0123456789abcdef0123456789abcdef01234567"})
		if err != nil {
			t.Fatal(err)
		}
		os.Chtimes(res.Path, when, when)
		if res.LogPath != "" {
			os.Remove(res.LogPath)
		}
	}
	return dir
}

func TestGolden(t *testing.T) {
	dir := goldenRepo(t)
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	index(t, dir, repo.Options{Revision: "42", Now: func() time.Time { return now }})
	md := readMD(t, dir)
	got := map[string][]byte{}
	for _, d := range md.Data {
		got[d.Type+".xml"] = gunzip(t, filepath.Join(dir, d.Location.Href))
	}
	got["repomd.xml"], _ = os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if *update {
		// The packages themselves seed the header fuzzer.
		rpms, _ := filepath.Glob(filepath.Join(dir, "*.rpm"))
		for _, r := range rpms {
			b, _ := os.ReadFile(r)
			os.MkdirAll(filepath.Join("..", "testdata", "golden", "rpms"), 0o755)
			os.WriteFile(filepath.Join("..", "testdata", "golden", "rpms", filepath.Base(r)), b, 0o644)
		}
	}
	for name, b := range got {
		golden := filepath.Join("..", "testdata", "golden", "index", name)
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./repo -run TestGolden -update)", err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s differs from %s:\n%s", name, golden, b)
		}
	}
}
