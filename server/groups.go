package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

// groupState is what the daemon knows of the repositories' groups
// (repos[].groups, and the spec repository's groups.yaml) between fetches.
type groupState struct {
	mu       sync.Mutex
	problems []string // one per file or repository whose groups were not published
}

// groupFile is where the comps file a repository publishes (named by
// repos[].groups) is kept: the last one that passed the checks, so that a
// broken one in the spec repository leaves the published groups as they
// were, and every publication of the repository (a build, a promotion)
// carries them.
func (s *Server) groupFile(name string) string {
	return filepath.Join(s.cfg.Data, "groups", name, "comps.xml")
}

// specGroupFile is where the comps file made from the spec repository's
// groups.yaml is kept for a repository without repos[].groups, as
// groupFile keeps a comps file.
func (s *Server) specGroupFile(name string) string {
	return filepath.Join(s.cfg.Data, "groups", name, "yaml", "comps.xml")
}

// withdrawn marks a kept comps file whose groups are being unpublished:
// it stays until a publication without them went live.
func withdrawn(file string) string { return file + ".withdrawn" }

// keptGroupFile is the comps file rc publishes, if one was ever
// accepted: its own (repos[].groups), else the spec repository's.
func (s *Server) keptGroupFile(rc *RepoConfig) string {
	if rc.Groups != "" {
		return s.groupFile(rc.Name)
	}
	return s.specGroupFile(rc.Name)
}

// groupOptions sets o.GroupFile to the comps file rc publishes, when
// there is one.
func (s *Server) groupOptions(rc *RepoConfig, o *repo.Options) {
	if file := s.keptGroupFile(rc); fileExists(file) {
		o.GroupFile = file
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// syncGroups reads the groups of every repository from the spec
// repository's default branch and publishes them when they are not what
// the repository publishes: the comps file a repository names
// (repos[].groups), else the comps XML made from groups.yaml at the
// root of the spec repository. A file that is missing (a comps file
// named), too large, not a regular file or that does not parse is
// reported on /healthz (naming the file, the line, the field and the
// commit) and publishes nothing: the groups published before stay.
// groups.yaml removed withdraws the groups it published.
func (s *Server) syncGroups(ctx context.Context, r *specs.Repo) {
	var problems []string
	snap, snapErr := r.Resolve("HEAD")
	var spec *specGroups // groups.yaml, read once for every repository that uses it
	for i := range s.cfg.Repos {
		rc := &s.cfg.Repos[i]
		if rc.Groups == "" {
			if snapErr != nil {
				continue // no default branch, so no groups.yaml
			}
			if spec == nil {
				spec = readSpecGroups(snap)
				if spec.err != nil {
					msg := fmt.Sprintf("groups of the spec repository: %s (commit %.12s); the groups published before stay", oneLine(spec.err), snap.Commit)
					s.log.Error("groups not published", "file", specs.GroupsFile, "commit", snap.Commit.String(), "err", spec.err)
					problems = append(problems, msg)
				}
			}
			if spec.err != nil {
				continue
			}
			if err := s.syncSpecGroups(ctx, rc, spec, snap); err != nil {
				msg := fmt.Sprintf("groups of repository %s: %v; the groups published before stay", rc.Name, err)
				s.log.Error("groups not published", "repo", rc.Name, "file", specs.GroupsFile, "err", err)
				problems = append(problems, msg)
			}
			continue
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

// groupProblems are the files and repositories whose groups were refused
// at the last fetch.
func (s *Server) groupProblems() []string {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	return append([]string(nil), s.groups.problems...)
}

// specGroups is the spec repository's groups.yaml at one commit.
type specGroups struct {
	comps  []byte // its comps XML; nil when the commit has no groups.yaml
	groups int
	err    error
}

// readSpecGroups reads and converts groups.yaml, and checks the comps XML
// made of it as a comps file from the spec repository is checked: what
// the daemon publishes passed the same checks, whatever made it.
func readSpecGroups(snap *specs.Snapshot) *specGroups {
	g, err := snap.Groups()
	if err != nil || g == nil {
		return &specGroups{err: err}
	}
	data := g.Comps()
	if _, err := repo.ParseGroups(specs.GroupsFile, data); err != nil {
		return &specGroups{err: fmt.Errorf("the comps XML made of it: %w", err)}
	}
	return &specGroups{comps: data, groups: len(g.Groups)}
}

// oneLine joins the lines of a joined error, for /healthz.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func (s *Server) syncRepoGroups(ctx context.Context, rc *RepoConfig, snap *specs.Snapshot) error {
	data, err := repo.ReadGroupFileFS(snap.FS, rc.Groups)
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
	return s.publishGroups(ctx, rc, file, data, rc.Groups, snap, len(c.Groups))
}

// syncSpecGroups publishes the comps XML of groups.yaml in rc, or
// withdraws the groups it published when the spec repository no longer
// has a groups.yaml.
func (s *Server) syncSpecGroups(ctx context.Context, rc *RepoConfig, g *specGroups, snap *specs.Snapshot) error {
	file := s.specGroupFile(rc.Name)
	if g.comps == nil {
		if !fileExists(file) && !fileExists(withdrawn(file)) {
			return nil
		}
		return s.publishGroups(ctx, rc, file, nil, specs.GroupsFile, snap, 0)
	}
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, g.comps) && s.groupsPublished(rc.Name, g.comps) {
		return nil
	}
	return s.publishGroups(ctx, rc, file, g.comps, specs.GroupsFile, snap, g.groups)
}

// publishGroups keeps data, checked, as the comps file of rc in file and
// republishes the repository; nil data withdraws the groups. source names
// where they come from in the spec repository, for errors and the log.
func (s *Server) publishGroups(ctx context.Context, rc *RepoConfig, file string, data []byte, source string, snap *specs.Snapshot, groups int) error {
	mu := s.repoMu[rc.Name]
	mu.Lock()
	defer mu.Unlock()
	if data == nil {
		// Kept aside until a publication without it went live, so that
		// a failed one is retried at the next fetch.
		if err := atomicfile.Rename(file, withdrawn(file)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("withdraw the groups of %s: %w", source, err)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return fmt.Errorf("keep %s: %w", source, err)
		}
		if err := atomicfile.WriteFile(file, data, 0o644); err != nil {
			return fmt.Errorf("keep %s: %w", source, err)
		}
	}
	start := s.now()
	res, err := repo.Add(context.WithoutCancel(ctx), s.repoDir(rc.Name), nil, s.addOptions(rc))
	s.metrics.publish(s.now().Sub(start))
	s.small.forget(filepath.Join(s.repoDir(rc.Name), "repodata", "repomd.xml"))
	if err != nil {
		return fmt.Errorf("publish %s of commit %.12s: %w", source, snap.Commit, err)
	}
	s.logAdd(rc, res)
	if data == nil {
		if err := os.Remove(withdrawn(file)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("remove withdrawn groups", "file", withdrawn(file), "err", err)
		}
		s.log.Info("withdrew groups", "repo", rc.Name, "file", source, "commit", snap.Commit.String(), "revision", res.Revision)
		return nil
	}
	os.Remove(withdrawn(file))
	s.log.Info("published groups", "repo", rc.Name, "file", source, "commit", snap.Commit.String(), "groups", groups, "revision", res.Revision)
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
