package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

// Server is the acn daemon. Make one with New, then Run it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	st      *state
	gitLoc  string
	auth    specs.Auth
	secret  []byte
	defFS   fs.FS
	wake    chan struct{}
	jobs    *queue
	metrics *metrics
	now     func() time.Time

	pkgMu    sync.Mutex
	pkgLocks map[string]*sync.Mutex
	repoMu   map[string]*sync.Mutex

	catMu    sync.Mutex
	catalogs map[string]*catalogCache

	small      smallFiles
	deliveries deliveries

	syncMu   sync.Mutex
	lastSync time.Time
	syncErr  error
	moved    []string // tags that moved after a build published them
	relErrs  []string // release packages that could not be published
	ready    bool

	hidden []string // from build steps, besides what the config names

	groups groupState // repos[].groups: see groups.go

	keys  []*sign.Key // signing.keys: the first signs packages, all sign repomd.xml
	pairs pairs       // which repomd.xml each client was given, for its .asc

	buildHook func(ref string) // tests: called as each job starts building
}

type catalogCache struct {
	mtime time.Time
	cat   *repo.Catalog
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the structured logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithDefaultSpecs gives the spec tree served when the config names no git
// repository: it is committed into a git repository in the data directory
// and goes through the same path as a real remote.
func WithDefaultSpecs(fsys fs.FS) Option { return func(s *Server) { s.defFS = fsys } }

// WithHidden names more files build steps must never see, such as the
// config file; the data directory and the secret files the config names
// are always hidden.
func WithHidden(paths ...string) Option {
	return func(s *Server) { s.hidden = append(s.hidden, paths...) }
}

// New checks cfg and prepares the data directory.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: slog.New(slog.DiscardHandler), mux: http.NewServeMux(),
		wake: make(chan struct{}, 1), jobs: newQueue(), metrics: newMetrics(),
		now: time.Now, pkgLocks: map[string]*sync.Mutex{}, repoMu: map[string]*sync.Mutex{},
		catalogs: map[string]*catalogCache{},
	}
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{cfg.Data, filepath.Join(cfg.Data, "builds"), filepath.Join(cfg.Data, "git"), filepath.Join(cfg.Data, "scratch")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	for _, r := range cfg.Repos {
		if err := os.MkdirAll(s.repoDir(r.Name), 0o755); err != nil {
			return nil, err
		}
		s.repoMu[r.Name] = &sync.Mutex{}
	}
	if s.st, err = loadState(cfg.Data); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	s.gitLoc = cfg.Git.URL
	s.auth = specs.Auth{Username: cfg.Git.Username, SSHKeyFile: cfg.Git.SSHKey}
	if cfg.Git.KnownHosts != "" {
		s.auth.KnownHosts = []string{cfg.Git.KnownHosts}
	}
	if cfg.Git.TokenFile != "" {
		b, err := os.ReadFile(cfg.Git.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("git.token_file: %w", err)
		}
		s.auth.Token = strings.TrimSpace(string(b))
	}
	if cfg.Git.WebhookSecretFile != "" {
		b, err := os.ReadFile(cfg.Git.WebhookSecretFile)
		if err != nil {
			return nil, fmt.Errorf("git.webhook_secret_file: %w", err)
		}
		s.secret = []byte(strings.TrimSpace(string(b)))
	}
	if err := s.loadSigning(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler serves the repositories, web index and API.
func (s *Server) Handler() http.Handler { return s.metrics.wrap(s.mux) }

// hiddenFromBuilds are the paths of acn's data and secrets that a build
// step's sandbox covers if they lie in the system directories it sees.
func (s *Server) hiddenFromBuilds() []string {
	h := append([]string{s.cfg.Data, s.cfg.Git.TokenFile, s.cfg.Git.SSHKey, s.cfg.Git.WebhookSecretFile}, s.cfg.APITokenFiles...)
	h = append(h, s.cfg.signingFiles()...)
	for i, p := range h {
		if a, err := filepath.Abs(p); err == nil && p != "" {
			h[i] = a
		}
	}
	return append(h, s.hidden...)
}

func (s *Server) repoDir(name string) string { return filepath.Join(s.cfg.Data, "repos", name) }

func (s *Server) repoConfig(name string) *RepoConfig {
	for i := range s.cfg.Repos {
		if s.cfg.Repos[i].Name == name {
			return &s.cfg.Repos[i]
		}
	}
	return nil
}

// Run serves on ln and runs the build loop until ctx ends, then shuts
// down gracefully: downloads in flight finish (up to 30s) and a publish in
// progress completes. If serving fails, everything is stopped the same
// way and the error returned.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	unlock, err := lockDir(s.cfg.Data)
	if err != nil {
		return err
	}
	defer unlock()
	if err := builder.CleanStale(ctx, s.scratchDir(), s.log); err != nil {
		s.log.Warn("clean up after earlier builds", "err", err)
	}
	if s.cfg.Builds.sandbox == builder.SandboxOff {
		s.log.Warn("builds.sandbox is off: build steps run as acn's own user in the host's namespaces and can read what it can read, its data and secrets included")
	}
	s.cleanLeftovers()
	for i := range s.cfg.Repos {
		rc := &s.cfg.Repos[i]
		o := s.addOptions(rc).Options
		o.LockWait = 0 // whoever holds the lock cleans up as well
		switch err := repo.Recover(ctx, s.repoDir(rc.Name), o); {
		case errors.Is(err, repo.ErrLocked):
			s.log.Info("not cleaned at start: another run holds the repository's lock and cleans it", "repo", rc.Name, "err", err)
		case err != nil:
			s.log.Warn("clean up after an interrupted publication", "repo", rc.Name, "err", err)
		}
	}
	if s.gitLoc == "" {
		if s.defFS == nil {
			return errors.New("no git repository configured and no default specs")
		}
		loc, err := prepareDefault(filepath.Join(s.cfg.Data, "default-specs"), s.defFS, s.now())
		if err != nil {
			return fmt.Errorf("default specs: %w", err)
		}
		s.gitLoc = loc
		s.log.Info("serving the embedded default specs", "git", loc)
	}
	// The release packages are published before the first request is
	// served: a node that installs one at startup gets the current one.
	s.publishReleases(ctx, s.releaseBase(ln))
	web, err := s.startHTTP(ln, defaultTimeouts)
	if err != nil {
		return err
	}

	buildCtx, cancelBuilds := context.WithCancel(context.Background())
	stopWorkers, stop := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	for range s.cfg.Builds.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				j, ok := s.jobs.pop(stopWorkers)
				if !ok {
					return
				}
				s.runJobSafely(buildCtx, j)
			}
		}()
	}
	s.st.mu.Lock()
	for _, j := range s.st.Jobs {
		if j.Status == Queued {
			s.jobs.push(j)
		}
	}
	s.st.mu.Unlock()

	url := "http://" + ln.Addr().String()
	s.log.Info("acn is serving", "url", url+"/", "repos", len(s.cfg.Repos))
	for _, r := range s.cfg.Repos {
		s.log.Info("on a node, use the repository with",
			"command", fmt.Sprintf("curl -o /etc/yum.repos.d/%s.repo %s/repos/%s.repo", r.Name, url, r.Name))
		if len(s.keys) > 0 {
			s.log.Info("or join it with its release package",
				"command", fmt.Sprintf("dnf install %s/repos/%s%s", s.releaseBase(ln), r.Name, releaseAlias))
		}
	}
	s.syncMu.Lock()
	s.ready = true
	s.syncMu.Unlock()
	sdNotify("READY=1")

	// The loop fetches in the background, so that a slow remote never
	// delays shutdown; one fetch at a time, and wakes during a fetch
	// coalesce into one more.
	var runErr error
	syncDone := make(chan struct{}, 1)
	syncing := false
	startSync := func() {
		if syncing {
			return
		}
		syncing = true
		go func() { s.sync(ctx); syncDone <- struct{}{} }()
	}
	startSync()
	tick := time.NewTicker(s.cfg.Git.Poll.Duration)
	defer tick.Stop()
	again := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-web.err:
			runErr = fmt.Errorf("serve %s: %w", ln.Addr(), err)
			s.log.Error("serving failed, stopping", "err", err)
			break loop
		case <-syncDone:
			syncing = false
			if again {
				again = false
				startSync()
			}
		case <-tick.C:
			startSync()
		case <-s.wake:
			if syncing {
				again = true
			}
			startSync()
		}
	}
	sdNotify("STOPPING=1")
	s.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = web.shutdown(shutCtx)
	ln.Close()
	// Workers take no new job; a build in progress is cancelled (its
	// publish, once started, completes). Queued jobs run after a restart.
	stop()
	cancelBuilds()
	workers.Wait()
	if syncing {
		<-syncDone
	}
	if runErr != nil {
		return runErr
	}
	return err
}

// runJobSafely runs one job; a panic anywhere in it fails that job only.
func (s *Server) runJobSafely(ctx context.Context, j *Job) {
	start := s.now()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("build panicked", "job", j.ID, "ref", j.Ref, "panic", v, "stack", string(debug.Stack()))
			s.finish(j, start, nil, fmt.Errorf("internal error (a bug in acn; the log has the details): %v", v))
		}
	}()
	s.runJob(ctx, j)
}

// lockDir takes the data directory for this process: one daemon per
// directory. The kernel drops the lock when the process dies, however it
// dies.
func lockDir(dir string) (func(), error) {
	name := filepath.Join(dir, "acn.lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		return nil, fmt.Errorf("%w: %s is used by another acn (pid %s)", ErrLocked, dir, strings.TrimSpace(string(holder)))
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}

// ErrLocked is returned by Run when another process holds the data
// directory.
var ErrLocked = errors.New("server: data directory locked")

// cleanLeftovers removes what a daemon that was killed left behind: the
// output and scratch directories of builds it was running. The caller
// holds the data directory's lock, so no other process uses them.
func (s *Server) cleanLeftovers() {
	outs, _ := filepath.Glob(filepath.Join(s.cfg.Data, "builds", "*", "out"))
	scratch, _ := filepath.Glob(filepath.Join(s.scratchDir(), "*"))
	temps, _ := filepath.Glob(filepath.Join(s.cfg.Data, ".*.tmp-*")) // of atomicfile
	for _, d := range slices.Concat(outs, scratch, temps) {
		// Build steps may leave read-only directories.
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(d); err != nil {
			s.log.Warn("clean up", "dir", d, "err", err)
		} else {
			s.log.Info("removed what an earlier run left", "dir", d)
		}
	}
}

// Trigger asks the loop to fetch the remote now.
func (s *Server) Trigger() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Server) openSpecs(ctx context.Context) (*specs.Repo, error) {
	return specs.Open(ctx, s.gitLoc, specs.OpenOptions{Auth: s.auth, CacheDir: filepath.Join(s.cfg.Data, "git")})
}

// sync fetches the spec repository and queues a job for every new tag.
func (s *Server) sync(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Git.Timeout.Duration)
	defer cancel()
	moved, err := func() (moved []string, err error) {
		// A fetch parses what a remote sends: a panic in it fails that
		// fetch, not the daemon.
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("sync panicked", "panic", v, "stack", string(debug.Stack()))
				err = fmt.Errorf("internal error while fetching (a bug in acn; the log has the details): %v", v)
			}
		}()
		return s.syncOnce(ctx)
	}()
	s.syncMu.Lock()
	s.lastSync, s.syncErr = s.now(), err
	if err == nil {
		s.moved = moved
	}
	s.syncMu.Unlock()
	if err != nil {
		s.log.Error("sync failed", "git", s.gitLoc, "err", err)
	}
}

// syncOnce queues the new tags, and returns the tags that moved since a
// build published them: those are not built again unless asked for.
func (s *Server) syncOnce(ctx context.Context) ([]string, error) {
	r, err := s.openSpecs(ctx)
	if err != nil {
		return nil, err
	}
	tags, err := r.Tags()
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, tag := range tags {
		if ok, _ := path.Match(s.cfg.Git.TagPattern, tag); !ok {
			continue
		}
		name, version, ok := specs.PackageTag(tag)
		if !ok {
			continue
		}
		snap, err := r.Resolve(tag)
		if err != nil {
			return nil, err
		}
		commit := snap.Commit.String()
		s.st.mu.Lock()
		if was, ok := s.st.movedLocked(tag, commit); ok {
			msg := fmt.Sprintf("tag %s moved from %.12s to %.12s after it was built; not rebuilt (POST /api/v1/builds to build it)", tag, was, commit)
			moved = append(moved, msg)
			s.log.Warn("tag moved", "tag", tag, "built", was, "now", commit)
		} else if !s.st.knownLocked(tag, commit) {
			j := s.newJobLocked(tag, commit, name, version, false)
			s.log.Info("new tag", "tag", tag, "job", j.ID)
			s.jobs.push(j)
		}
		s.st.mu.Unlock()
	}
	s.syncGroups(ctx, r)
	return moved, nil
}

func (s *Server) newJobLocked(ref, commit, pkg, version string, manual bool) *Job {
	j := &Job{ID: s.st.Next, Ref: ref, Commit: commit, Package: pkg, Version: version, Status: Queued, Queued: s.now().UTC(), Manual: manual}
	s.st.Next++
	j.Log = s.st.logPath(j.ID)
	s.st.addLocked(j)
	if err := s.st.saveLocked(); err != nil {
		s.log.Error("save state", "err", err)
	}
	return j
}

// Errors of Build and Promote, for the API's status codes.
var (
	// ErrUpstream is wrapped when the spec repository cannot be fetched.
	ErrUpstream = errors.New("server: spec repository unavailable")
	// ErrNotFound is wrapped when a repository or package does not exist.
	ErrNotFound = errors.New("server: not found")
)

// Build queues a build of any ref, as the API's POST /api/v1/builds does.
func (s *Server) Build(ctx context.Context, ref string) (*Job, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Git.Timeout.Duration)
	defer cancel()
	r, err := s.openSpecs(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	snap, err := r.Resolve(ref)
	if err != nil {
		return nil, err
	}
	name, version, _ := specs.PackageTag(ref)
	s.st.mu.Lock()
	j := s.newJobLocked(ref, snap.Commit.String(), name, version, true)
	queued := *j // the caller's copy: a worker may change j from now on
	s.st.mu.Unlock()
	s.jobs.push(j)
	return &queued, nil
}

func (s *Server) setJob(j *Job, f func(*Job)) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	f(j)
	if err := s.st.saveLocked(); err != nil {
		s.log.Error("save state", "err", err)
	}
}

// lockPackage serialises the builds of one package.
func (s *Server) lockPackage(name string) func() {
	s.pkgMu.Lock()
	m := s.pkgLocks[name]
	if m == nil {
		m = &sync.Mutex{}
		s.pkgLocks[name] = m
	}
	s.pkgMu.Unlock()
	m.Lock()
	return m.Unlock
}

// catalog returns the repository's package list, reloaded when its
// repomd.xml changed (also when another process published it).
func (s *Server) catalog(name string) *repo.Catalog {
	dir := s.repoDir(name)
	fi, err := os.Stat(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		return &repo.Catalog{}
	}
	s.catMu.Lock()
	defer s.catMu.Unlock()
	if c := s.catalogs[name]; c != nil && c.mtime.Equal(fi.ModTime()) {
		return c.cat
	}
	cat, err := repo.LoadCatalog(dir)
	if err != nil {
		s.log.Error("load catalog", "repo", name, "err", err)
		return &repo.Catalog{}
	}
	s.catalogs[name] = &catalogCache{mtime: fi.ModTime(), cat: cat}
	s.metrics.setPackages(name, len(cat.Entries))
	return cat
}

// queue is the unbounded list of jobs waiting for a worker.
type queue struct {
	mu     sync.Mutex
	items  []*Job
	notify chan struct{}
}

func newQueue() *queue { return &queue{notify: make(chan struct{}, 1)} }

func (q *queue) push(j *Job) {
	q.mu.Lock()
	q.items = append(q.items, j)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// pop waits for a job; false when ctx ends.
func (q *queue) pop(ctx context.Context) (*Job, bool) {
	for {
		if ctx.Err() != nil {
			return nil, false // what is left stays queued, for after a restart
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			j := q.items[0]
			q.items = q.items[1:]
			more := len(q.items) > 0
			q.mu.Unlock()
			if more { // wake another worker for the rest
				select {
				case q.notify <- struct{}{}:
				default:
				}
			}
			return j, true
		}
		q.mu.Unlock()
		select {
		case <-q.notify:
		case <-ctx.Done():
			return nil, false
		}
	}
}
