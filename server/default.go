package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/acn-project/acn/specs"
)

// prepareDefault keeps a git repository at dir holding the default spec
// tree, committed, with a <name>/v<version> tag for every spec, so that the
// embedded specs are built exactly as a real spec repository would be.
// When the tree changes (a new acn), it commits again and tags what is new.
func prepareDefault(dir string, tree fs.FS, now time.Time) (string, error) {
	r, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		r, err = git.PlainInit(dir, false)
	}
	if err != nil {
		return "", err
	}
	w, err := r.Worktree()
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(tree, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return "", err
	}
	if err := w.AddGlob("."); err != nil {
		return "", err
	}
	st, err := w.Status()
	if err != nil {
		return "", err
	}
	if !st.IsClean() {
		sig := &object.Signature{Name: "acn", Email: "acn@localhost", When: now}
		if _, err := w.Commit("acn default specs", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
			return "", err
		}
	}
	head, err := r.Head()
	if err != nil {
		return "", err
	}
	repo, err := specs.Open(context.Background(), dir, specs.OpenOptions{})
	if err != nil {
		return "", err
	}
	snap, err := repo.Resolve("HEAD")
	if err != nil {
		return "", err
	}
	list, err := snap.Specs()
	if err != nil {
		return "", fmt.Errorf("embedded specs: %w", err)
	}
	for _, sp := range list {
		tag := sp.Name + "/v" + sp.Version
		if _, err := r.Reference(plumbing.NewTagReferenceName(tag), false); err == nil {
			continue
		}
		if _, err := r.CreateTag(tag, head.Hash(), nil); err != nil {
			return "", err
		}
	}
	return dir, nil
}
