package builder_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

func TestVCS(t *testing.T) {
	const c = "0123456789abcdef0123456789abcdef01234567"
	wd, _ := os.Getwd()
	for _, tc := range []struct{ loc, want string }{
		{"https://git.example.invalid/ops/specs.git", "git+https://git.example.invalid/ops/specs.git#" + c},
		{"https://deploy:glpat-s3cr3t@git.example.invalid/ops/specs.git", "git+https://git.example.invalid/ops/specs.git#" + c},
		{"https://s3cr3t@git.example.invalid/ops/specs.git?private_token=s3cr3t#frag", "git+https://git.example.invalid/ops/specs.git#" + c},
		{"ssh://git@git.example.invalid:2222/ops/specs.git", "git+ssh://git.example.invalid:2222/ops/specs.git#" + c},
		{"git@github.com:ops/specs.git", "git+ssh://github.com/ops/specs.git#" + c},
		{"git+https://a:b@h.invalid/r", "git+https://h.invalid/r#" + c},
		{"https://u:s3cr3t@h.invalid:bad port/r", "git+https://h.invalid:bad port/r#" + c},
		{"/srv/git/specs", "git+file:///srv/git/specs#" + c},
		{"specs", "git+file://" + filepath.ToSlash(filepath.Join(wd, "specs")) + "#" + c},
		{"https://h.invalid/a\nb", "git+https://h.invalid/ab#" + c},
		{"", c},
		{"https://h.invalid/" + strings.Repeat("x", 5000), "git+#" + c},
	} {
		if got := builder.VCS(tc.loc, c); got != tc.want {
			t.Errorf("VCS(%q)\n got %q\nwant %q", tc.loc, got, tc.want)
		}
	}
	if got := builder.VCS("https://h.invalid/r", ""); got != "" {
		t.Errorf("VCS without a commit: %q", got)
	}
}

// TestProvenance: the package records the URL without credentials and
// the commit in rpm's VCS tag, the ref and the build log's SHA-256; rpm,
// rpmlint and createrepo_c accept the extra tags, and repo reads them
// back.
func TestProvenance(t *testing.T) {
	r := gittest.New(t)
	commit := r.Commit("p", map[string]string{"specs/p.yaml": "name: p\nversion: 1\nsummary: S\nlicense: MIT\nurl: https://example.invalid/p\n" +
		"packager: Test Packager <test@acn.invalid>\ngroup: Applications/System\n" +
		"changelog:\n  - date: 2026-01-02\n    author: Test Packager <test@acn.invalid>\n    version: 1-1\n    text: first\n" +
		"build:\n  - echo built > \"$DESTDIR/p.txt\"\nfiles:\n  - src: $DESTDIR/p.txt\n    dst: /usr/share/p/p.txt\n"})
	commit = strings.TrimSpace(commit)
	opts := builder.Options{GitURL: "https://deploy:glpat-s3cr3t@git.example.invalid/ops/specs.git", Commit: commit}
	res, err := build(t, r, "HEAD", "p", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "git+https://git.example.invalid/ops/specs.git#" + commit
	if got := qf(t, res.Path, "%{VCS}"); got != want {
		t.Errorf("VCS %q, want %q", got, want)
	}
	b, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"glpat-s3cr3t", "deploy:", "deploy@"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%q is in the package", secret)
		}
	}
	log, err := os.ReadFile(res.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if res.LogSHA256 != sha256hex(string(log)) {
		t.Errorf("Result.LogSHA256 %s, log's %s", res.LogSHA256, sha256hex(string(log)))
	}
	p, err := repo.ReadProvenance(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if p != (repo.Provenance{VCS: want, Commit: commit, Ref: "HEAD", LogSHA256: sha256hex(string(log))}) {
		t.Errorf("provenance %+v", p)
	}
	tooltest.Run(t, "rpm", "-K", "--nosignature", res.Path)
	rpmlint(t, res.Path)
	dir := t.TempDir()
	if err := os.Link(res.Path, filepath.Join(dir, filepath.Base(res.Path))); err != nil {
		t.Fatal(err)
	}
	tooltest.Run(t, "createrepo_c", "--quiet", dir)

	// The same ref twice gives the same package, provenance and all.
	again, err := build(t, r, "HEAD", "p", opts)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(again.Path)
	if !bytes.Equal(b, b2) {
		t.Error("two builds of the same ref differ")
	}
}
