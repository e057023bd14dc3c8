package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/server"
)

// TestFailedJobPublishesNothing builds a commit with two specs, the second
// of which fails: the job fails and the first package, although it was
// built, is not published (a job's packages are published together, only
// once every build succeeded).
func TestFailedJobPublishesNothing(t *testing.T) {
	r := gittest.New(t)
	files := helloSpec("1.0", "1.0\n")
	files["specs/zzz.yaml"] = "name: zzz\nversion: \"1\"\nsummary: Fails\nlicense: MIT\nbuild:\n  - exit 3\nfiles:\n  - src: $DESTDIR/x\n    dst: /opt/x\n"
	commit := r.Commit("two packages, one broken", files)
	d := start(t, server.Config{
		Git:    server.GitConfig{URL: r.Dir},
		Repos:  []server.RepoConfig{{Name: "testing"}},
		Builds: server.BuildConfig{Workers: 1},
	})
	if _, err := d.s.Build(context.Background(), commit); err != nil {
		t.Fatal(err)
	}
	if j := d.wait(commit); j.Status != server.Failed {
		t.Fatalf("job %+v, want failed", j)
	}
	rpms, _ := filepath.Glob(filepath.Join(d.data, "repos", "testing", "*.rpm"))
	if len(rpms) > 0 {
		t.Errorf("a failed job left packages in the repository: %v", rpms)
	}
	if _, err := os.Stat(filepath.Join(d.data, "repos", "testing", "repodata", "repomd.xml")); err == nil {
		if code, body := d.get("/api/v1/repos/testing/packages"); code == 200 && len(body) > 0 && strings.Contains(body, `"hello"`) {
			t.Errorf("a failed job published hello:\n%s", body)
		}
	}
}
