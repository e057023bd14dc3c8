package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

// ErrImmutable is wrapped when a build would replace a published package
// with different bytes under the same name.
var ErrImmutable = repo.ErrImmutable

// runJob builds one job and publishes its packages. A failure is recorded
// in the job and its log; nothing published changes.
func (s *Server) runJob(ctx context.Context, j *Job) {
	if j.Package != "" {
		defer s.lockPackage(j.Package)()
	}
	start := s.now()
	if rpms, ok := s.published(j); ok {
		// Interrupted after it published: done.
		s.log.Info("an interrupted job had published", "job", j.ID, "ref", j.Ref)
		s.finish(j, start, rpms, nil)
		return
	}
	if j.Attempts >= maxAttempts {
		// It died with the daemon as often as that: perhaps it is what
		// kills the daemon. Not again.
		s.finish(j, start, nil, fmt.Errorf("interrupted %d times (the daemon stopped during the build); not retried", j.Attempts))
		return
	}
	s.setJob(j, func(j *Job) {
		j.Status, j.Started, j.Error, j.Attempts, j.Publishing = Building, start.UTC(), "", j.Attempts+1, nil
	})
	os.MkdirAll(filepath.Dir(j.Log), 0o755)
	logf, err := os.Create(j.Log)
	if err != nil {
		s.finish(j, start, nil, err)
		return
	}
	defer logf.Close()
	fmt.Fprintf(logf, "==> job %d: %s at %s\n", j.ID, j.Ref, j.Commit)
	rpms, err := s.build(ctx, j, logf)
	// The packages are in the repositories now and the step logs in the
	// job's log: the build's own output directory is not kept.
	os.RemoveAll(filepath.Join(filepath.Dir(j.Log), "out"))
	if err != nil && ctx.Err() != nil {
		// Stopped by a shutdown, not by the build: it runs again at start.
		fmt.Fprintf(logf, "==> interrupted by shutdown: %v\n", err)
		// A shutdown is not an attempt that failed.
		s.setJob(j, func(j *Job) { j.Status, j.Started, j.Attempts = Queued, time.Time{}, j.Attempts-1 })
		return
	}
	if err != nil {
		fmt.Fprintf(logf, "==> FAILED: %v\n", err)
	} else {
		fmt.Fprintf(logf, "==> published %s\n", strings.Join(rpms, ", "))
	}
	s.finish(j, start, rpms, err)
}

func (s *Server) finish(j *Job, start time.Time, rpms []string, err error) {
	took := s.now().Sub(start)
	s.setJob(j, func(j *Job) {
		j.Finished = s.now().UTC()
		j.RPMs = rpms
		if err != nil {
			j.Status, j.Error = Failed, err.Error()
		} else {
			j.Status = Succeeded
		}
		s.st.finishedLocked(j)
	})
	s.metrics.build(err == nil, took)
	if err != nil {
		s.log.Error("build failed", "job", j.ID, "ref", j.Ref, "err", err)
	} else {
		s.log.Info("built and published", "job", j.ID, "ref", j.Ref, "rpms", rpms, "took", took.Round(time.Millisecond))
	}
}

func (s *Server) build(ctx context.Context, j *Job, logf io.Writer) ([]string, error) {
	if s.buildHook != nil {
		s.buildHook(j.Ref)
	}
	r, err := s.openSpecs(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := r.Resolve(j.Ref)
	if err != nil {
		return nil, err
	}
	if j.Commit != "" && snap.Commit.String() != j.Commit {
		if _, _, isTag := specs.PackageTag(j.Ref); isTag {
			// What was queued is the commit; a tag moved since is not
			// built from without being asked again.
			return nil, fmt.Errorf("tag %s moved from %s to %s after the build was queued; not building it", j.Ref, j.Commit, snap.Commit)
		}
		fmt.Fprintf(logf, "==> %s moved from %s to %s\n", j.Ref, j.Commit, snap.Commit)
	}
	list, err := snap.Select(nil)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(filepath.Dir(j.Log), "out")
	// Build everything first: a job whose build fails publishes nothing.
	var intent []Published
	files := map[string][]string{}
	for _, sp := range list {
		if sp.Network && len(sp.Build) > 0 {
			s.setJob(j, func(j *Job) { j.Network = append(j.Network, sp.Name) })
		}
		// One build per dist suffix and build root among the repositories
		// that take it.
		type target struct{ dist, root string }
		byDist := map[target][]*RepoConfig{}
		for i := range s.cfg.Repos {
			rc := &s.cfg.Repos[i]
			if rc.wants(sp.Name) {
				k := target{rc.Dist, rc.Root}
				byDist[k] = append(byDist[k], rc)
			}
		}
		dists := make([]target, 0, len(byDist))
		for d := range byDist {
			dists = append(dists, d)
		}
		sort.Slice(dists, func(i, k int) bool {
			return dists[i].dist < dists[k].dist || dists[i].dist == dists[k].dist && dists[i].root < dists[k].root
		})
		for _, dist := range dists {
			spd := *sp
			spd.Release += dist.dist
			fmt.Fprintf(logf, "==> building %s\n", spd.NEVRA())
			res, err := builder.Build(ctx, snap.FS, &spd, builder.Options{
				OutDir: out, Time: snap.Time, Ref: j.Ref, GitURL: s.cfg.Git.URL, Commit: snap.Commit.String(), Timeout: s.cfg.Builds.Timeout.Duration,
				CacheDir: filepath.Join(s.cfg.Data, "sources"), ScratchDir: s.scratchDir(), Logger: s.log,
				LogLimit: s.cfg.Builds.LogLimit.Bytes, Sandbox: s.cfg.Builds.sandbox, User: s.cfg.Builds.User, Hide: s.hiddenFromBuilds(),
				Root: dist.root, RootCache: filepath.Join(s.cfg.Data, "roots"), BaseRepos: s.cfg.Builds.BaseRepos, ReleaseVer: s.cfg.Builds.ReleaseVer,
				Advisories: advisory.OpenRegistry(filepath.Join(s.cfg.Data, "advisories.json")), Dist: dist.dist,
			})
			last := ""
			if res != nil && res.LogPath != "" {
				if f, rerr := os.Open(res.LogPath); rerr == nil {
					io.Copy(logf, f)
					f.Close()
				}
				last = lastLine(logTail(res.LogPath, 4096, ""))
			}
			if err != nil {
				if last != "" {
					// The step's last words say why, often enough (a full disk,
					// a missing tool): the job's error shows them.
					return nil, fmt.Errorf("%w; last output: %s", err, last)
				}
				return nil, err
			}
			// Every RPM of the spec (subpackages, -debuginfo) goes where
			// the main package goes, signed when signing is configured.
			for _, r := range res.RPMs {
				if err := s.signBuilt(r.Path, snap.Time); err != nil {
					return nil, err
				}
				sum, err := fileSHA256(r.Path)
				if err != nil {
					return nil, err
				}
				for _, rc := range byDist[dist] {
					files[rc.Name] = append(files[rc.Name], r.Path)
					intent = append(intent, Published{Repo: rc.Name, File: filepath.Base(r.Path), SHA256: sum})
				}
			}
		}
	}
	// Then publish, one publication per repository. What is about to be
	// published is recorded first, so that a job interrupted from here on
	// is found published when it is retried (see published).
	s.setJob(j, func(j *Job) { j.Publishing = intent })
	var published []string
	for i := range s.cfg.Repos {
		rc := &s.cfg.Repos[i]
		if len(files[rc.Name]) == 0 {
			continue
		}
		if err := s.publish(ctx, rc, files[rc.Name]); err != nil {
			if len(published) > 0 {
				return published, fmt.Errorf("publish in %s (after publishing %s): %w", rc.Name, strings.Join(published, ", "), err)
			}
			return nil, fmt.Errorf("publish in %s: %w", rc.Name, err)
		}
		for _, f := range files[rc.Name] {
			published = append(published, rc.Name+"/"+filepath.Base(f))
		}
	}
	return published, nil
}

// Published is one package a job publishes: repository, file name and
// the file's SHA-256.
type Published struct {
	Repo   string `json:"repo"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// published reports whether an earlier attempt of j published everything
// it meant to: then the job succeeded, and building again (perhaps into
// other bytes) would only be refused as a change to a published NEVRA.
func (s *Server) published(j *Job) ([]string, bool) {
	if len(j.Publishing) == 0 {
		return nil, false
	}
	var rpms []string
	for _, p := range j.Publishing {
		if s.repoConfig(p.Repo) == nil || p.File != filepath.Base(p.File) {
			return nil, false
		}
		sum, err := fileSHA256(filepath.Join(s.repoDir(p.Repo), p.File))
		if err != nil || sum != p.SHA256 || !listed(s.catalog(p.Repo), p.File) {
			return nil, false
		}
		rpms = append(rpms, p.Repo+"/"+p.File)
	}
	return rpms, true
}

// lastLine is the last line of a log that a step wrote (acn's own lines
// start with "==> "), at most 300 bytes.
func lastLine(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "==> ") {
			continue
		}
		if len(l) > 300 {
			l = l[:300] + "..."
		}
		return strings.ToValidUTF8(l, "?")
	}
	return ""
}

// listed reports whether the repository's metadata names a file.
func listed(c *repo.Catalog, file string) bool {
	for _, e := range c.Entries {
		if e.Location == file {
			return true
		}
	}
	return false
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *Server) scratchDir() string { return filepath.Join(s.cfg.Data, "scratch") }

// publish adds RPMs to a repository and republishes it, through
// repo.Add: staged, checked, immutable, with the repository's retention.
// The packages are live if and only if publish returns nil.
func (s *Server) publish(ctx context.Context, rc *RepoConfig, rpms []string) error {
	mu := s.repoMu[rc.Name]
	mu.Lock()
	defer mu.Unlock()
	start := s.now()
	res, err := repo.Add(context.WithoutCancel(ctx), s.repoDir(rc.Name), rpms, s.addOptions(rc))
	s.metrics.publish(s.now().Sub(start))
	s.small.forget(filepath.Join(s.repoDir(rc.Name), "repodata", "repomd.xml"))
	if err != nil {
		return err
	}
	s.logAdd(rc, res)
	return nil
}

func (s *Server) addOptions(rc *RepoConfig) repo.AddOptions {
	o := repo.AddOptions{
		Options: repo.Options{Compress: rc.Compress, SQLite: rc.SQLite, Logger: s.log, LockWait: time.Minute, SignKeys: s.keys},
		Keep:    rc.Keep,
	}
	s.groupOptions(rc, &o.Options)
	return o
}

func (s *Server) logAdd(rc *RepoConfig, res *repo.AddResult) {
	for _, f := range res.Pruned {
		s.log.Info("retention: left out of the metadata", "repo", rc.Name, "file", f)
	}
	for _, err := range res.Skipped {
		s.log.Warn("left out of the repository", "repo", rc.Name, "err", err)
	}
}

// Promote copies the exact RPM of a package version from one repository
// to another (no rebuild) and republishes the target. version may be
// "1.4.0" or "1.4.0-1"; the newest matching build is taken.
func (s *Server) Promote(ctx context.Context, pkg, version, from, to string) (string, error) {
	src, dst := s.repoConfig(from), s.repoConfig(to)
	if src == nil || dst == nil {
		return "", fmt.Errorf("promote: %w: repository %q or %q", ErrNotFound, from, to)
	}
	mu := s.repoMu[dst.Name]
	mu.Lock()
	defer mu.Unlock()
	file, res, err := repo.Promote(context.WithoutCancel(ctx), s.repoDir(from), s.repoDir(to), pkg, version, s.addOptions(dst))
	s.small.forget(filepath.Join(s.repoDir(to), "repodata", "repomd.xml"))
	if errors.Is(err, repo.ErrNotFound) {
		return "", fmt.Errorf("promote: %w: %w: %s %s is not in %s", ErrNotFound, repo.ErrNotFound, pkg, version, from)
	}
	if err != nil {
		return "", err
	}
	s.logAdd(dst, res)
	return to + "/" + file, nil
}
