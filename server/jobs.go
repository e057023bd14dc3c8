package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/repo"
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
	s.setJob(j, func(j *Job) { j.Status, j.Started, j.Error = Building, start.UTC(), "" })
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
		s.setJob(j, func(j *Job) { j.Status, j.Started = Queued, time.Time{} })
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
	})
	s.metrics.build(err == nil, took)
	if err != nil {
		s.log.Error("build failed", "job", j.ID, "ref", j.Ref, "err", err)
	} else {
		s.log.Info("built and published", "job", j.ID, "ref", j.Ref, "rpms", rpms, "took", took.Round(time.Millisecond))
	}
}

func (s *Server) build(ctx context.Context, j *Job, logf io.Writer) ([]string, error) {
	r, err := s.openSpecs(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := r.Resolve(j.Ref)
	if err != nil {
		return nil, err
	}
	if j.Commit != "" && snap.Commit.String() != j.Commit {
		fmt.Fprintf(logf, "==> %s moved from %s to %s\n", j.Ref, j.Commit, snap.Commit)
	}
	list, err := snap.Select(nil)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(filepath.Dir(j.Log), "out")
	// Everything is built before anything is published: a job that fails
	// publishes nothing, and each repository gets the job's packages in
	// one publication.
	pending := map[*RepoConfig][]string{}
	for _, sp := range list {
		// One build per dist suffix among the repositories that take it.
		byDist := map[string][]*RepoConfig{}
		for i := range s.cfg.Repos {
			rc := &s.cfg.Repos[i]
			if rc.wants(sp.Name) {
				byDist[rc.Dist] = append(byDist[rc.Dist], rc)
			}
		}
		dists := make([]string, 0, len(byDist))
		for d := range byDist {
			dists = append(dists, d)
		}
		sort.Strings(dists)
		for _, dist := range dists {
			spd := *sp
			spd.Release += dist
			fmt.Fprintf(logf, "==> building %s\n", spd.NEVRA())
			res, err := builder.Build(ctx, snap.FS, &spd, builder.Options{
				OutDir: out, Time: snap.Time, Ref: j.Ref, Timeout: s.cfg.Builds.Timeout.Duration,
				CacheDir: filepath.Join(s.cfg.Data, "sources"), Logger: s.log,
			})
			if res != nil && res.LogPath != "" {
				if b, rerr := os.ReadFile(res.LogPath); rerr == nil {
					logf.Write(b)
				}
			}
			if err != nil {
				return nil, err
			}
			for _, rc := range byDist[dist] {
				pending[rc] = append(pending[rc], res.Path)
			}
		}
	}
	var published []string
	for i := range s.cfg.Repos {
		rc := &s.cfg.Repos[i]
		if len(pending[rc]) == 0 {
			continue
		}
		if err := s.publish(ctx, rc, pending[rc]...); err != nil {
			return published, err
		}
		for _, f := range pending[rc] {
			published = append(published, rc.Name+"/"+filepath.Base(f))
		}
	}
	return published, nil
}

// publish adds RPMs to a repository and republishes it, in one
// publication through repo.Add: staged, checked, immutable, with the
// repository's retention. The packages are live if and only if publish
// returns nil.
func (s *Server) publish(ctx context.Context, rc *RepoConfig, rpms ...string) error {
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
	return repo.AddOptions{
		Options: repo.Options{Compress: rc.Compress, SQLite: rc.SQLite, Logger: s.log, LockWait: time.Minute},
		Keep:    rc.Keep,
	}
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
		return "", fmt.Errorf("promote: unknown repository %q or %q", from, to)
	}
	mu := s.repoMu[dst.Name]
	mu.Lock()
	defer mu.Unlock()
	file, res, err := repo.Promote(context.WithoutCancel(ctx), s.repoDir(from), s.repoDir(to), pkg, version, s.addOptions(dst))
	s.small.forget(filepath.Join(s.repoDir(to), "repodata", "repomd.xml"))
	if errors.Is(err, repo.ErrNotFound) {
		// Said with the repository's name: its directory is no business
		// of the client's.
		return "", fmt.Errorf("promote: %w: %s %s is not in %s", repo.ErrNotFound, pkg, version, from)
	}
	if err != nil {
		return "", err
	}
	s.logAdd(dst, res)
	return to + "/" + file, nil
}
