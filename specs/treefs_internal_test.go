package specs

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestObjectsDir: the objects directory of a repository, a bare one and
// a worktree's (in the main repository), and none for a directory that
// is not a git directory.
func TestObjectsDir(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@acn.invalid", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@acn.invalid")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main", "repo")
	git("-C", "repo", "commit", "-q", "--allow-empty", "-m", "x")
	git("init", "-q", "--bare", "bare.git")
	git("-C", "repo", "worktree", "add", "-q", "--detach", filepath.Join(dir, "wt"))
	want := filepath.Join(dir, "repo", ".git", "objects")
	for gitDir, want := range map[string]string{
		filepath.Join(dir, "repo", ".git"):                    want,
		filepath.Join(dir, "repo", ".git", "worktrees", "wt"): want,
		filepath.Join(dir, "bare.git"):                        filepath.Join(dir, "bare.git", "objects"),
		dir:                                                   "",
		"":                                                    "",
	} {
		if got := objectsDir(gitDir); got != want {
			t.Errorf("objectsDir(%q) = %q, want %q", gitDir, got, want)
		}
	}
}
