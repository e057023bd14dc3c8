package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

// groupState is what the daemon knows of the repositories' comps files
// (repos[].groups) between fetches.
type groupState struct {
	mu       sync.Mutex
	problems []string // one per repository whose comps file was not published
}

// groupFile is where the comps file a repository publishes is kept: the
// last one that passed the checks, so that a broken one in the spec
// repository leaves the published groups as they were, and every
// publication of the repository (a build, a promotion) carries them.
func (s *Server) groupFile(name string) string {
	return filepath.Join(s.cfg.Data, "groups", name, "comps.xml")
}

// groupOptions sets o.GroupFile when rc has groups and one was ever
// accepted.
func (s *Server) groupOptions(rc *RepoConfig, o *repo.Options) {
	if rc.Groups == "" {
		return
	}
	if _, err := os.Stat(s.groupFile(rc.Name)); err == nil {
		o.GroupFile = s.groupFile(rc.Name)
	}
}

// syncGroups reads each repository's comps file from the spec
// repository's default branch and publishes it when it is not what the
// repository publishes. A file that is missing, too large or not a comps
// file is reported on /healthz (naming the file, the line and the
// commit) and publishes nothing: the groups published before stay.
func (s *Server) syncGroups(ctx context.Context, r *specs.Repo) {
	var problems []string
	var snap *specs.Snapshot
	var snapErr error
	for i := range s.cfg.Repos {
		rc := &s.cfg.Repos[i]
		if rc.Groups == "" {
			continue
		}
		if snap == nil && snapErr == nil {
			snap, snapErr = r.Resolve("HEAD")
		}
		err := snapErr
		if err == nil {
			err = s.syncRepoGroups(ctx, rc, snap)
		}
		if err != nil {
			msg := fmt.Sprintf("groups of repository %s: %v; the groups published before stay", rc.Name, err)
			s.log.Error("groups not published", "repo", rc.Name, "file", rc.Groups, "err", err)
			problems = append(problems, msg)
		}
	}
	s.groups.mu.Lock()
	s.groups.problems = problems
	s.groups.mu.Unlock()
}

// groupProblems are the repositories whose comps file was refused at the
// last fetch.
func (s *Server) groupProblems() []string {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	return append([]string(nil), s.groups.problems...)
}

func (s *Server) syncRepoGroups(ctx context.Context, rc *RepoConfig, snap *specs.Snapshot) error {
	data, err := readGroups(snap.FS, rc.Groups)
	if err != nil {
		return fmt.Errorf("read %s at commit %.12s: %w", rc.Groups, snap.Commit, err)
	}
	file := s.groupFile(rc.Name)
	// Only this loop writes the kept file, and only after the checks: the
	// same bytes, published, need no second look.
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, data) && s.groupsPublished(rc.Name, data) {
		return nil
	}
	c, err := repo.ParseGroups(rc.Groups, data)
	if err != nil {
		return fmt.Errorf("%w (commit %.12s)", err, snap.Commit)
	}
	mu := s.repoMu[rc.Name]
	mu.Lock()
	defer mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("keep %s: %w", rc.Groups, err)
	}
	if err := atomicfile.WriteFile(file, data, 0o644); err != nil {
		return fmt.Errorf("keep %s: %w", rc.Groups, err)
	}
	start := s.now()
	res, err := repo.Add(context.WithoutCancel(ctx), s.repoDir(rc.Name), nil, s.addOptions(rc))
	s.metrics.publish(s.now().Sub(start))
	s.small.forget(filepath.Join(s.repoDir(rc.Name), "repodata", "repomd.xml"))
	if err != nil {
		return fmt.Errorf("publish %s of commit %.12s: %w", rc.Groups, snap.Commit, err)
	}
	s.logAdd(rc, res)
	s.log.Info("published groups", "repo", rc.Name, "file", rc.Groups, "commit", snap.Commit.String(), "groups", len(c.Groups), "revision", res.Revision)
	return nil
}

// groupsPublished reports whether the repository's repomd.xml names a
// group file with data's checksum.
func (s *Server) groupsPublished(name string, data []byte) bool {
	f, err := os.Open(filepath.Join(s.repoDir(name), "repodata", "repomd.xml"))
	if err != nil {
		return false
	}
	defer f.Close()
	md, err := repo.ParseRepomd(io.LimitReader(f, 1<<20))
	if err != nil {
		return false
	}
	d := md.Find("group")
	sum := sha256.Sum256(data)
	return d != nil && d.Checksum.Type == "sha256" && d.Checksum.Value == hex.EncodeToString(sum[:])
}

// readGroups reads a comps file from the spec repository's tree, refusing
// one over repo.MaxGroupFileSize before it is opened (the object store
// rebuilds a deltified blob in memory on open), and anything but a
// regular file; a link that leaves the repository fails in fsys.
func readGroups(fsys fs.FS, name string) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &repo.GroupError{File: name, Msg: "not a regular file"}
	}
	if fi.Size() > repo.MaxGroupFileSize {
		return nil, &repo.GroupError{File: name, Msg: fmt.Sprintf("%d bytes, more than the %d a comps file may have", fi.Size(), repo.MaxGroupFileSize)}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, repo.MaxGroupFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > repo.MaxGroupFileSize {
		return nil, &repo.GroupError{File: name, Msg: fmt.Sprintf("more than the %d bytes a comps file may have", repo.MaxGroupFileSize)}
	}
	return data, nil
}
