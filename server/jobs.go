package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

// ErrImmutable is wrapped when a build would replace a published package
// with different bytes under the same name.
var ErrImmutable = errors.New("server: package versions are immutable")

// runJob builds one job and publishes its packages. A failure is recorded
// in the job and its log; nothing published changes.
func (s *Server) runJob(ctx context.Context, j *Job) {
	if j.Package != "" {
		defer s.lockPackage(j.Package)()
	}
	start := s.now()
	s.setJob(j, func(j *Job) { j.Status, j.Started, j.Error, j.Attempts = Building, start.UTC(), "", j.Attempts+1 })
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
	var published []string
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
				return published, err
			}
			for _, rc := range byDist[dist] {
				if err := s.publish(ctx, rc, res.Path); err != nil {
					return published, err
				}
				published = append(published, rc.Name+"/"+filepath.Base(res.Path))
			}
		}
	}
	return published, nil
}

// publish adds one RPM to a repository and republishes it. A file of the
// same name with other bytes is refused: a NEVRA, once published, is
// immutable.
func (s *Server) publish(ctx context.Context, rc *RepoConfig, rpm string) error {
	mu := s.repoMu[rc.Name]
	mu.Lock()
	defer mu.Unlock()
	dir := s.repoDir(rc.Name)
	dst := filepath.Join(dir, filepath.Base(rpm))
	if same, err := sameFile(rpm, dst); err != nil {
		return err
	} else if !same {
		if _, err := os.Stat(dst); err == nil {
			return fmt.Errorf("%w: %s is already in %s with different content; bump the release to publish a change",
				ErrImmutable, filepath.Base(rpm), rc.Name)
		}
		if err := copyAtomic(rpm, dst); err != nil {
			return err
		}
	}
	if err := s.prune(rc, dir, rpm); err != nil {
		return err
	}
	return s.index(ctx, rc)
}

func (s *Server) index(ctx context.Context, rc *RepoConfig) error {
	start := s.now()
	_, err := repo.Index(context.WithoutCancel(ctx), s.repoDir(rc.Name), repo.Options{
		Update: true, Compress: rc.Compress, SQLite: rc.SQLite, Logger: s.log, LockWait: time.Minute,
	})
	s.metrics.publish(s.now().Sub(start))
	s.small.forget(filepath.Join(s.repoDir(rc.Name), "repodata", "repomd.xml"))
	return err
}

// prune keeps the newest rc.Keep versions of the package just added.
func (s *Server) prune(rc *RepoConfig, dir, added string) error {
	if rc.Keep <= 0 {
		return nil
	}
	p, err := repo.Open(added)
	if err != nil {
		return err
	}
	var same []*repo.Package
	files, _ := filepath.Glob(filepath.Join(dir, p.Name+"-*.rpm"))
	for _, f := range files {
		q, err := repo.Open(f)
		if err != nil || q.Name != p.Name || q.Arch != p.Arch {
			continue
		}
		q.Location = f
		same = append(same, q)
	}
	sort.Slice(same, func(i, j int) bool {
		return repo.CompareEVR(same[i].Epoch, same[i].Version, same[i].Release, same[j].Epoch, same[j].Version, same[j].Release) > 0
	})
	for _, q := range same[min(rc.Keep, len(same)):] {
		s.log.Info("retention: removing", "repo", rc.Name, "file", filepath.Base(q.Location))
		if err := os.Remove(q.Location); err != nil {
			return err
		}
	}
	return nil
}

// Promote copies the exact RPM of a package version from one repository
// to another (no rebuild) and republishes the target. version may be
// "1.4.0" or "1.4.0-1"; the newest matching build is taken.
func (s *Server) Promote(ctx context.Context, pkg, version, from, to string) (string, error) {
	src, dst := s.repoConfig(from), s.repoConfig(to)
	if src == nil || dst == nil {
		return "", fmt.Errorf("promote: %w: repository %q or %q", ErrNotFound, from, to)
	}
	for _, e := range s.catalog(from).Entries {
		if e.Name != pkg || (e.Version != version && e.Version+"-"+e.Release != version && e.EVR() != version) {
			continue
		}
		file := filepath.Join(s.repoDir(from), filepath.FromSlash(e.Location))
		if err := s.publish(ctx, dst, file); err != nil {
			return "", err
		}
		return to + "/" + filepath.Base(file), nil
	}
	return "", fmt.Errorf("promote: %w: %s %s is not in %s", ErrNotFound, pkg, version, from)
}

func sameFile(a, b string) (bool, error) {
	ha, err := fileSum(a)
	if err != nil {
		return false, err
	}
	hb, err := fileSum(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil && ha == hb, err
}

func fileSum(name string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(name)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// copyAtomic copies src to dst through a temporary file and a rename.
func copyAtomic(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o644, func(f *os.File) error {
		_, err := io.Copy(f, in)
		return err
	})
}
