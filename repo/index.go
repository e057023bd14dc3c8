package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/acn-project/acn/internal/sign"
)

// Errors wrapped by Index.
var (
	ErrDuplicate = errors.New("repo: two files with the same NEVRA")
	ErrLocked    = errors.New("repo: another index run holds the lock")
	ErrSkipped   = errors.New("repo: some files were left out")
	ErrOutside   = errors.New("repo: link leads outside the repository")
)

// Options configure [Index]. The zero value is createrepo_c's default.
type Options struct {
	// Update reuses what the last run learned about files whose path,
	// size, mtime, inode and ctime are unchanged.
	Update   bool
	Workers  int    // packages read at once; default: number of CPUs
	Compress string // gz (default), xz or zstd
	Checksum string // sha256 (default), sha512 or sha1
	// ChangelogLimit keeps the newest N changelog entries of each package;
	// 0 means the default, 10; ChangelogAll keeps all, ChangelogNone none.
	ChangelogLimit int
	// RetainOldMD keeps the metadata files of this many superseded
	// generations, and RetainOldMDByAge keeps anything superseded less
	// than this long ago, so a client that fetched an older repomd.xml
	// still finds what it names. nil means the default, 2 generations and
	// 1h; a value is taken as it is: new(0) keeps no superseded
	// generation, and a zero age keeps nothing on account of its age.
	RetainOldMD      *int
	RetainOldMDByAge *time.Duration
	Revision         string // default: the time, never lower than the last revision + 1
	BaseURL          string // xml:base for package locations
	// Excludes leave out files and directories, as createrepo_c's
	// --excludes: a pattern ('*' any string, '/' included; '?' any one
	// character) is matched against every file's and directory's name,
	// so that a directory name leaves out the directory, and against the
	// path (relative to the repository) of every package and directory.
	Excludes []string
	Distro   []DistroTag
	Content  []string
	// SQLite also writes primary_db, filelists_db and other_db: the same
	// metadata as sqlite databases, which yum on EL7 loads much faster.
	SQLite bool
	// Strict publishes nothing when any file cannot be read.
	Strict bool
	// LockWait is how long to wait for another run on the same directory.
	LockWait time.Duration
	// SignKeys sign repomd.xml: repodata/repomd.xml.asc holds one
	// detached signature by each, written before repomd.xml is replaced
	// (and kept per generation as <sha256 of repomd.xml>-repomd.xml.asc).
	// Any key that cannot sign (expired) publishes nothing. None: no
	// signature, and an old repomd.xml.asc is removed.
	SignKeys []*sign.Key
	// GroupFile is a comps file (createrepo_c's --groupfile), published
	// as records group and group_gz: checked first (see [ParseGroups]),
	// and a file that fails the check publishes nothing.
	GroupFile string

	Progress func(done, total int)
	Logger   *slog.Logger
	Now      func() time.Time // for tests; default time.Now

	groups []byte // GroupFile's content, read and checked by defaults
}

// Result describes one Index run.
type Result struct {
	Packages int      // in the published metadata
	Read     int      // packages read and hashed this run
	Reused   int      // taken from the cache
	Skipped  []error  // files left out, each naming the file
	Changed  bool     // repomd.xml was replaced
	Revision string   // of the repomd.xml now published
	Repomd   *Repomd  // now published
	Removed  []string // old metadata files deleted by retention
	// Warnings are faults after the new repomd.xml went live (retention,
	// bookkeeping): the publication stands, the cleanup is retried by the
	// next run.
	Warnings []error
}

// Defaults of Options.RetainOldMD and Options.RetainOldMDByAge.
const (
	DefaultRetainOldMD      = 2
	DefaultRetainOldMDByAge = time.Hour
)

// Special values of Options.ChangelogLimit.
const (
	ChangelogAll  = -1
	ChangelogNone = -2
)

// renderVersion changes whenever the XML acn writes for a package does, so
// that fragments cached by an older acn are not reused.
const renderVersion = 2

const (
	stateDir  = ".acn"
	cacheName = "index-cache"
	lockName  = "index.lock"
)

func (o *Options) defaults() error {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Compress == "" {
		o.Compress = "gz"
	}
	if _, err := newCompressor(o.Compress, nil); err != nil {
		return err
	}
	if o.Checksum == "" {
		o.Checksum = "sha256"
	}
	if o.Checksum == "sha" {
		o.Checksum = "sha1"
	}
	if _, err := newHash(o.Checksum); err != nil {
		return err
	}
	switch o.ChangelogLimit {
	case 0:
		o.ChangelogLimit = 10
	case ChangelogNone:
		o.ChangelogLimit = 0
	}
	if o.RetainOldMD == nil {
		o.RetainOldMD = new(DefaultRetainOldMD)
	} else if *o.RetainOldMD < 0 {
		return fmt.Errorf("retain old metadata: %d generations: must not be negative", *o.RetainOldMD)
	}
	if o.RetainOldMDByAge == nil {
		o.RetainOldMDByAge = new(DefaultRetainOldMDByAge)
	} else if *o.RetainOldMDByAge < 0 {
		return fmt.Errorf("retain old metadata by age: %v: must not be negative", *o.RetainOldMDByAge)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for _, g := range o.Excludes {
		if g == "" {
			return fmt.Errorf("exclude pattern: empty")
		}
	}
	return o.loadGroups()
}

func (o *Options) fingerprint() string {
	return fmt.Sprintf("render=%d checksum=%s changelog=%d baseurl=%q", renderVersion, o.Checksum, o.ChangelogLimit, o.BaseURL)
}

type rpmFile struct {
	key  fileKey
	path string // on disk
}

// scan lists the RPM files under dir.
//
// A link is followed, as createrepo_c follows it, but only within dir: a
// link that leads outside is left out and reported in outside (its
// error wraps ErrOutside), so that nothing outside the repository is read
// or published through it.
func scan(dir string, excludes []string) (files []rpmFile, outside []error, err error) {
	s := &scanner{root: dir, excludes: excludes}
	if s.real, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, nil, err
	}
	if err := s.dir("", 0); err != nil {
		return nil, nil, err
	}
	out := s.out
	sortFiles(out)
	return out, s.outside, nil
}

type scanner struct {
	root, real string // as given, and with links resolved
	excludes   []string
	out        []rpmFile
	outside    []error
}

// inside reports whether the link at rel leads to a place within the root.
func (s *scanner) inside(rel string) bool {
	target, err := filepath.EvalSymlinks(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil {
		return true // dangling or unreadable: the stat reports it
	}
	r, err := filepath.Rel(s.real, target)
	return err == nil && filepath.IsLocal(r)
}

// sortFiles puts files in createrepo_c's order: by file name, then by
// directory.
func sortFiles(files []rpmFile) {
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i].key.Path, files[j].key.Path
		if ba, bb := path.Base(a), path.Base(b); ba != bb {
			return ba < bb
		}
		return a < b
	})
}

// scanDir lists one directory with a single getdents pass and stats each
// entry relative to the directory's descriptor. Links are followed, as
// createrepo_c follows them; hidden entries and the top repodata/ are
// skipped.
func (s *scanner) dir(rel string, depth int) error {
	root, excludes := s.root, s.excludes
	if depth > 64 {
		return fmt.Errorf("%s: directories nested too deep (a link loop?)", filepath.Join(root, rel))
	}
	d, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	defer d.Close()
	// The entry types come with the names (getdents): links are known
	// without a stat of their own.
	entries, err := d.ReadDir(-1)
	if err != nil {
		return err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	fd := int(d.Fd())
	// Stat calls dominate a scan; a large directory is statted in
	// parallel (the kernel does the work, the order is restored below).
	stats := make([]unix.Stat_t, len(names))
	errs := make([]error, len(names))
	parts := 1
	if len(names) >= 512 {
		parts = 4
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < len(names); i += parts {
				if strings.HasPrefix(names[i], ".") {
					continue
				}
				errs[i] = unix.Fstatat(fd, names[i], &stats[i], 0)
			}
		}()
	}
	wg.Wait()
	for i, name := range names {
		if strings.HasPrefix(name, ".") || (rel == "" && name == "repodata") {
			continue
		}
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		isRPM := strings.HasSuffix(name, ".rpm")
		if excluded(excludes, name) {
			continue // a file or a directory, by its name, as createrepo_c
		}
		st := &stats[i]
		if err := errs[i]; err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed meanwhile, or a dangling link
			}
			return fmt.Errorf("stat %s: %w", filepath.Join(root, r), err)
		}
		if entries[i].Type()&fs.ModeSymlink != 0 && !s.inside(r) {
			if isRPM || st.Mode&unix.S_IFMT == unix.S_IFDIR {
				s.outside = append(s.outside, fmt.Errorf("%s: %w", r, ErrOutside))
			}
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if excluded(excludes, r) {
				continue
			}
			if err := s.dir(r, depth+1); err != nil {
				return err
			}
		case unix.S_IFREG:
			if isRPM && !excluded(excludes, r) {
				s.out = append(s.out, rpmFile{path: filepath.Join(root, filepath.FromSlash(r)), key: unixKey(r, st)})
			}
		}
	}
	return nil
}

func unixKey(rel string, st *unix.Stat_t) fileKey {
	return fileKey{
		Path: rel, Size: st.Size, Ino: st.Ino,
		MTime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, CTime: st.Ctim.Sec*1e9 + st.Ctim.Nsec,
	}
}

// excluded reports whether a --excludes pattern leaves out the entry of
// the walk named s: its name, or its path relative to the repository.
//
// The walk asks as createrepo_c's fill_pool does: every file and
// directory by its name (so "debug" leaves out every directory called
// debug and all below it), and every package also by its path ("debug/*"
// leaves out debug/a.rpm and debug/x/b.rpm). acn also asks with a
// directory's path, so that "sub/debug" (or "sub/debug/") leaves out that
// one directory. A pattern matches as glib's g_pattern_match, which
// createrepo_c uses: '*' is any string, '/' included, '?' any one
// character, nothing else is special; for the patterns acn took before,
// Go's path.Match syntax ([a-z] classes, '\\' escapes) matches too.
func excluded(globs []string, s string) bool {
	for _, g := range globs {
		if len(g) > 1 {
			g = strings.TrimSuffix(g, "/")
		}
		if globMatch(g, s) {
			return true
		}
		if m, _ := path.Match(g, s); m {
			return true
		}
	}
	return false
}

// globMatch is glib's g_pattern_match: '*' matches any run of characters
// ('/' included), '?' any one character, every other character itself.
// It backtracks only to the last '*', so it takes at most
// len(pattern)*len(s) steps.
func globMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// result is one package's outcome, in scan order.
type result struct {
	meta  cacheMeta
	frags [3][]byte
	err   error
}

func render(p *Package, o *Options) [3][]byte {
	var a, b, c bytes.Buffer
	renderPrimary(&a, p, renderOptions{checksum: o.Checksum, baseURL: o.BaseURL})
	renderFilelists(&b, p)
	renderOther(&c, p)
	return [3][]byte{a.Bytes(), b.Bytes(), c.Bytes()}
}

// Index writes dir/repodata for the RPM files under dir and publishes it
// atomically: new files are written under content-addressed names and
// fsynced, and repomd.xml is replaced last, in one rename. When the
// metadata would not change, repomd.xml is left as it is, byte for byte.
//
// A file that is not a readable RPM is left out and reported in
// Result.Skipped (the error wraps ErrSkipped); with Strict, nothing is
// published. Two files with one NEVRA publish nothing.
func Index(ctx context.Context, dir string, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	unlock, err := lockDir(ctx, dir, &o)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	defer unlock()
	return index(ctx, dir, &o, nil)
}

// lockDir takes the directory's lock and, as its holder, cleans what
// earlier runs that were killed left behind.
func lockDir(ctx context.Context, dir string, o *Options) (func(), error) {
	state := filepath.Join(dir, stateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(ctx, filepath.Join(state, lockName), o.LockWait)
	if err != nil {
		return nil, err
	}
	if err := cleanLeftovers(dir, o.Logger); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// index runs under the lock. pl, when set, adds staged packages and
// leaves others out, and takes part in the commit (see [Add]).
func index(ctx context.Context, dir string, o *Options, pl *plan) (*Result, error) {
	state := filepath.Join(dir, stateDir)
	start := time.Now()
	files, outside, err := scan(dir, o.Excludes)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	pruned, err := loadPruned(dir)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	if pl != nil {
		pruned = slices.DeleteFunc(pruned, func(p prunedFile) bool { return slices.Contains(pl.unprune, p.Path) })
		pruned = append(pruned, pl.prune...)
	}
	if files, err = pl.apply(files, pruned); err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	o.Logger.Debug("scanned", "dir", dir, "files", len(files), "took", time.Since(start))
	start = time.Now()
	fp := o.fingerprint()
	var old *oldCache
	if o.Update {
		old = loadCache(state, fp)
		defer old.close()
	}
	nc, err := createCache(state, fp)
	if err != nil {
		return nil, fmt.Errorf("index %s: create the index cache: %w", dir, err)
	}
	committed := false
	defer func() {
		if !committed {
			nc.abort()
		}
	}()

	res := &Result{Skipped: outside}
	for _, err := range outside {
		o.Logger.Warn("left out", "err", err)
	}
	nevras := map[string]string{}
	var dupErrs []error
	reusable := func(f rpmFile) *cacheEntry {
		if old == nil {
			return nil
		}
		if e := old.entries[f.key.Path]; e != nil && e.fileKey == f.key {
			return e
		}
		return nil
	}
	// Reused packages skip the workers: they are copied in order below.
	err = each(ctx, files, o.Workers, func(f rpmFile) bool { return reusable(f) != nil }, func(f rpmFile) result {
		p, err := readPackage(f.path, f.key.Path, o.Checksum, o.ChangelogLimit)
		if err != nil {
			return result{err: fmt.Errorf("%s: %w", f.key.Path, err)}
		}
		return result{meta: cacheMeta{fileKey: f.key, PkgID: p.PkgID, NEVRA: p.NEVRA(), Adv: advisoryRecord(p)}, frags: render(p, o)}
	}, func(i int, r result) error {
		if o.Progress != nil {
			defer o.Progress(i+1, len(files))
		}
		if r.err != nil {
			if pl.staged(files[i]) {
				return r.err // checked before it was staged: changed since
			}
			if !errors.Is(r.err, ErrCorrupt) && !errors.Is(r.err, fs.ErrNotExist) {
				return r.err
			}
			o.Logger.Warn("left out", "file", files[i].key.Path, "err", r.err)
			res.Skipped = append(res.Skipped, r.err)
			return nil
		}
		e := reusable(files[i])
		if e != nil {
			r.meta = e.cacheMeta
			res.Reused++
		} else {
			res.Read++
		}
		if prev, ok := nevras[r.meta.NEVRA]; ok {
			dupErrs = append(dupErrs, fmt.Errorf("%w: %s and %s are both %s", ErrDuplicate, prev, r.meta.Path, r.meta.NEVRA))
			return nil
		}
		nevras[r.meta.NEVRA] = r.meta.Path
		res.Packages++
		if e != nil {
			return nc.reuse(old, e)
		}
		return nc.add(r.meta, r.frags)
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	if err := errors.Join(dupErrs...); err != nil {
		return nil, fmt.Errorf("index %s: nothing published: %w", dir, err)
	}
	if len(res.Skipped) > 0 && o.Strict {
		return res, fmt.Errorf("index %s: nothing published (--strict): %w: %w", dir, ErrSkipped, errors.Join(res.Skipped...))
	}
	if err := nc.finish(); err != nil {
		return nil, fmt.Errorf("index %s: write the index cache: %w", dir, err)
	}

	o.Logger.Debug("read packages", "read", res.Read, "reused", res.Reused, "took", time.Since(start))
	start = time.Now()
	if err := publish(ctx, dir, nc, res, o, pl); err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	if err := nc.commit(old); err != nil {
		o.Logger.Warn("index cache not saved; the next update reads every package", "err", err)
		res.Warnings = append(res.Warnings, fmt.Errorf("save the index cache: %w", err))
	}
	for _, w := range res.Warnings {
		o.Logger.Warn("published, but", "dir", dir, "err", w)
	}
	committed = true
	o.Logger.Debug("published", "revision", res.Revision, "changed", res.Changed, "took", time.Since(start))
	if len(res.Skipped) > 0 {
		return res, fmt.Errorf("index %s: %w: %w", dir, ErrSkipped, errors.Join(res.Skipped...))
	}
	return res, nil
}

// each runs work on every file with up to n workers and hands the
// results to done in file order, holding at most a bounded window of
// results in memory.
func each(ctx context.Context, files []rpmFile, n int, skip func(rpmFile) bool, work func(rpmFile) result, done func(int, result) error) error {
	window := 16 * n // enough that one large package does not stall the other workers
	slots := make([]chan result, len(files))
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	jobs := make(chan int)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, window)
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if skip(files[i]) {
				slots[i] <- result{}
				continue
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range n {
		go func() {
			for i := range jobs {
				slots[i] <- work(files[i])
			}
		}()
	}
	for i := range files {
		var r result
		select {
		case r = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-sem
		if err := done(i, r); err != nil {
			return err
		}
	}
	return nil
}

// lock takes an exclusive flock, waiting up to wait. The kernel releases
// it when the holder exits, so a crashed run never blocks the next one.
func lock(ctx context.Context, name string, wait time.Duration) (func(), error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			f.Truncate(0)
			fmt.Fprintf(f, "%d\n", os.Getpid())
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			pid, _ := os.ReadFile(name)
			f.Close()
			return nil, fmt.Errorf("%w (%s, pid %s)", ErrLocked, name, strings.TrimSpace(string(pid)))
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
