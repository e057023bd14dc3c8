package builder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/internal/ctxio"
	"github.com/acn-project/acn/internal/humanize"
	"github.com/acn-project/acn/specs"
)

// Sentinel errors; test with [errors.Is].
var (
	// ErrChecksum is wrapped when a downloaded source does not match its sha256.
	ErrChecksum = errors.New("builder: checksum mismatch")
	// ErrTooLarge is wrapped when a tree or a package exceeds MaxTreeFiles,
	// MaxTreeBytes or MaxPackageFiles.
	ErrTooLarge = errors.New("builder: too large")
)

// scratch is the private directory tree one build runs in.
type scratch struct {
	root    string
	src     string // copy of the git tree; build steps run here
	destDir string // $DESTDIR
	srcDir  string // $SOURCEDIR: downloaded sources
	home    string
	tmp     string
}

// newScratch makes a scratch tree under parent, named for this process so
// that CleanStale can tell when it is stale; one kept for inspection is
// named so that CleanStale leaves it alone.
func newScratch(parent string, keep bool) (*scratch, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	// Steps change directory: $DESTDIR and the rest must be absolute.
	parent, err := filepath.Abs(parent)
	if err != nil {
		return nil, err
	}
	var root string
	for try := 0; ; try++ {
		root = filepath.Join(parent, scratchName(keep))
		err := os.Mkdir(root, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try == 10000 {
			return nil, err
		}
	}
	s := &scratch{root: root, src: filepath.Join(root, "src"), destDir: filepath.Join(root, "destdir"),
		srcDir: filepath.Join(root, "sources"), home: filepath.Join(root, "home"), tmp: filepath.Join(root, "tmp")}
	for _, d := range []string{s.destDir, s.srcDir, s.home, s.tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// remove kills any process still working in the tree, then deletes it.
func (s *scratch) remove() error {
	_, err := killIn(s.root)
	return errors.Join(err, removeTree(s.root))
}

// Limits on what one build may expand a pushed tree into: a few git
// objects can name the same subtree over and over (a "git bomb"), a
// billion files that would fill the disk or, packed, the memory.
const (
	MaxTreeFiles    = 1_000_000 // entries of the tree copied for build steps
	MaxTreeBytes    = 16 << 30  // bytes of the tree copied for build steps
	MaxPackageFiles = 200_000   // paths in one package
)

// checkTree counts the tree before it is copied, and refuses one over
// MaxTreeFiles or MaxTreeBytes without writing anything.
func checkTree(ctx context.Context, fsys fs.FS, ref string) error {
	var files, bytes int64
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if files++; files > MaxTreeFiles {
			return fmt.Errorf("%w: the tree at %s holds more than %d files; build steps get a copy of the whole tree", ErrTooLarge, ref, MaxTreeFiles)
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			if bytes += info.Size(); bytes > MaxTreeBytes {
				return fmt.Errorf("%w: the tree at %s holds more than %s; build steps get a copy of the whole tree", ErrTooLarge, ref, humanize.Bytes(MaxTreeBytes))
			}
		}
		return nil
	})
}

// copyTree writes the git tree into dir, every name as git stores it.
// Symbolic links are recreated as links; they are not followed. It stops
// as soon as ctx ends, between files and within a file's content.
func copyTree(ctx context.Context, fsys fs.FS, dir string, mtime time.Time) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		in, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, ctxio.Reader(ctx, in)); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		return os.Chtimes(dst, mtime, mtime)
	})
}

// The source cache holds each source once, named by its sha256, read-only
// (mode 0444), written atomically by [download]. A build never gets the
// cached file itself: [fetchSource] copies it into the build's
// $SOURCEDIR, hashing it again as it copies, so that neither a corrupted
// cache entry nor a step that writes $SOURCEDIR can give a later build
// other bytes than the spec's checksum names.

// fetchSource places a verified copy of one source in dir, downloading
// it into the cache first unless a file with that checksum is there. A
// cached file that no longer matches its name is removed and downloaded
// again.
func fetchSource(ctx context.Context, client *http.Client, cacheDir string, src specs.Source, dir string) error {
	cached := filepath.Join(cacheDir, "sources", src.SHA256)
	for attempt := 0; ; attempt++ {
		if _, err := os.Stat(cached); err != nil {
			if err := download(ctx, client, src, cached); err != nil {
				return err
			}
		}
		err := copyVerified(ctx, cached, filepath.Join(dir, src.Name), src.SHA256)
		if !errors.Is(err, ErrChecksum) || attempt > 0 {
			return err
		}
		if err := os.Remove(cached); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove corrupted cache entry: %w", err)
		}
	}
}

// copyVerified copies the cached file to dst (a new, read-only file) and
// fails with ErrChecksum, leaving no dst, if its content does not have
// the sha256 sum.
func copyVerified(ctx context.Context, cached, dst, sum string) error {
	in, err := os.Open(cached)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), ctxio.Reader(ctx, in))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != sum {
			err = fmt.Errorf("%w: cached source %s has sha256 %s", ErrChecksum, cached, got)
		}
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

// download writes the source into the cache at dst, atomically and
// read-only, only if its content has the spec's sha256.
func download(ctx context.Context, client *http.Client, src specs.Source, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	u, err := url.Parse(src.URL)
	if err != nil {
		return err
	}
	var body io.ReadCloser
	switch u.Scheme {
	case "file":
		body, err = os.Open(u.Path)
		if err != nil {
			return err
		}
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("GET %s: %s", src.URL, resp.Status)
		}
		body = resp.Body
	default:
		return fmt.Errorf("%s: unsupported URL scheme %q (want https, http or file)", src.URL, u.Scheme)
	}
	defer body.Close()
	return atomicfile.Write(dst, 0o444, func(f *os.File) error {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(f, h), ctxio.Reader(ctx, body)); err != nil {
			return fmt.Errorf("download %s: %w", src.URL, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != src.SHA256 {
			return fmt.Errorf("%w: %s has sha256 %s, the spec says %s", ErrChecksum, src.URL, got, src.SHA256)
		}
		return nil
	})
}

// stepPaths are where a step finds its tree and directories: fixed
// paths in the sandbox, the scratch tree's without it.
type stepPaths struct {
	dir, home, tmp, destDir, srcDir string
}

func (sc *scratch) paths() stepPaths {
	return stepPaths{dir: sc.src, home: sc.home, tmp: sc.tmp, destDir: sc.destDir, srcDir: sc.srcDir}
}

func sandboxPaths(s *specs.Spec) stepPaths {
	return stepPaths{dir: sandboxTree(s.Name, s.Version), home: sandboxHome, tmp: sandboxTmp, destDir: sandboxDestDir, srcDir: sandboxSrcDir}
}

// stepEnv is the whole environment of a build step: nothing is inherited
// from the acn process, so a build does not depend on who runs it.
func stepEnv(s *specs.Spec, p stepPaths, when time.Time) []string {
	env := map[string]string{
		"PATH":              "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME":              p.home,
		"TMPDIR":            p.tmp,
		"LANG":              "C.UTF-8",
		"LC_ALL":            "C.UTF-8",
		"TZ":                "UTC",
		"SOURCE_DATE_EPOCH": strconv.FormatInt(when.Unix(), 10),
		"DESTDIR":           p.destDir,
		"SOURCEDIR":         p.srcDir,
		"ACN_NAME":          s.Name,
		"ACN_VERSION":       s.Version,
		"ACN_RELEASE":       s.Release,
		"ACN_ARCH":          s.Arch,
	}
	for k, v := range s.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// runSteps runs each build step with bash -e in the tree copy, in sb
// unless it is nil, appending all output to log, at most limit bytes of
// it.
func runSteps(ctx context.Context, s *specs.Spec, sc *scratch, sb *sandbox, when time.Time, log io.Writer, limit int64) error {
	paths := sc.paths()
	if sb != nil {
		paths = sandboxPaths(s)
	}
	env := stepEnv(s, paths, when)
	out := &logCap{w: log, left: limit, limit: limit}
	for i, step := range s.Build {
		fmt.Fprintf(log, "==> step %d/%d\n%s\n", i+1, len(s.Build), indent(step))
		start := time.Now()
		// A fixed umask makes installed modes independent of the caller's;
		// it shares the step's first line so bash's line numbers still match.
		argv := []string{"bash", "-e", "-c", "umask 022; " + step}
		if sb != nil {
			argv = append([]string{sb.bwrap}, sb.command(sc, paths.dir, argv...)...)
		}
		err := runStep(ctx, argv, sc, env, out, sb != nil)
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
			fmt.Fprintf(log, "==> step %d failed after %s: %v\n", i+1, took, err)
			return fmt.Errorf("run step %d (%s): %w", i+1, firstLine(step), err)
		}
		// No duration: the log's SHA-256 goes into the package, which
		// must be the same from one build of a ref to the next.
		fmt.Fprintf(log, "==> step %d done\n", i+1)
	}
	return nil
}

// outputGrace is how long a step's output is still read after all its
// processes were killed: only a process beyond reach (see procs.go) can
// hold the pipe open that long.
const outputGrace = 2 * time.Second

// runStep runs one step (argv: bash, or bwrap running bash) in its own
// process group, its output going through a pipe into out. When ctx ends
// the group is killed; when the step's shell exits, whatever it started
// is killed too. In the sandbox, bwrap reports the shell's exit code on
// its status pipe; a step that failed without one never started:
// bubblewrap could not make the sandbox, and the error says what to do.
func runStep(ctx context.Context, argv []string, sc *scratch, env []string, out io.Writer, sandboxed bool) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = sc.src
	cmd.Env = env
	cmd.Stdout = pw
	cmd.Stderr = pw
	cmd.SysProcAttr = stepAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var sr, sw *os.File
	if sandboxed {
		if sr, sw, err = os.Pipe(); err != nil {
			pw.Close()
			return err
		}
		defer sr.Close()
		cmd.ExtraFiles = []*os.File{sw} // fd 3: --json-status-fd
	}
	err = cmd.Start()
	pw.Close()
	if sw != nil {
		sw.Close()
	}
	if err != nil {
		return err
	}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, pr)
		close(copied)
	}()
	status := make(chan []byte, 1)
	if sandboxed {
		go func() {
			b, _ := io.ReadAll(io.LimitReader(sr, 64<<10))
			status <- b
		}()
	}
	err = waitKillGroup(cmd)
	_, _ = killIn(sc.root)
	select {
	case <-copied:
	case <-time.After(outputGrace):
		pr.Close()
		<-copied
	}
	if sandboxed {
		var st []byte
		select {
		case st = <-status:
		case <-time.After(outputGrace):
			sr.Close()
			st = <-status
		}
		if err != nil && ctx.Err() == nil && !bytes.Contains(st, []byte(`"exit-code"`)) {
			return fmt.Errorf("%w: bubblewrap could not make the step's sandbox (%v; its message is in the log): %s", ErrNoSandbox, err, sandboxHint)
		}
	}
	return err
}

// DefaultLogLimit bounds the build steps' output kept in a build log.
const DefaultLogLimit = 64 << 20

// logCap writes to w until limit bytes, then discards the rest and says
// so once. It never fails a write, so that a step's output never blocks.
type logCap struct {
	w           io.Writer
	left, limit int64
	truncated   bool
}

func (c *logCap) Write(p []byte) (int, error) {
	n := len(p)
	if c.left > 0 {
		keep := p[:min(int64(len(p)), c.left)]
		c.left -= int64(len(keep))
		if _, err := c.w.Write(keep); err != nil {
			c.left = 0
		}
		p = p[len(keep):]
	}
	if len(p) > 0 && !c.truncated {
		c.truncated = true
		fmt.Fprintf(c.w, "\n==> log truncated at %s; later output of the build steps is discarded\n", humanize.Bytes(c.limit))
	}
	return n, nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	l, _, more := strings.Cut(strings.TrimSpace(s), "\n")
	if len(l) > 60 {
		l, more = l[:60], true
	}
	if more {
		l += " ..."
	}
	return l
}

// destFS opens the install root so that no symbolic link a build step
// left there can lead a read outside it.
func destFS(dir string) (fs.FS, func(), error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	return r.FS(), func() { r.Close() }, nil
}
