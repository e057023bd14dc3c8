package builder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acn-project/acn/builder/buildroot"
	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/internal/rpmver"
	"github.com/acn-project/acn/specs"
)

// DefaultTimeout bounds a spec's build steps when it sets no timeout.
const DefaultTimeout = time.Hour

// Options configure [Build].
type Options struct {
	OutDir      string      // where the RPM and the build log go; created if missing
	Compression Compression // zero value: gzip level 6
	// Time is the build time and every file's mtime; normally the commit
	// time of the ref, so that builds are reproducible.
	Time      time.Time
	BuildHost string // default "acn"
	Ref       string // the ref the tree came from; recorded in the package
	// GitURL and Commit say where the tree came from: the package's VCS
	// tag records them (without credentials; see provenance.go).
	GitURL string
	Commit string
	// CacheDir keeps downloaded sources by checksum.
	CacheDir string
	// ScratchDir is where build steps run; default os.TempDir(). Pass the
	// same directory to [CleanStale].
	ScratchDir  string
	Timeout     time.Duration // default DefaultTimeout; a spec's timeout wins
	KeepScratch bool          // leave the scratch directory for debugging
	HTTPClient  *http.Client  // for sources; default http.DefaultClient
	// LogLimit bounds the build steps' output kept in the log; default
	// DefaultLogLimit. Past it the output is read and discarded, one line
	// says so, and the steps run on to their end or their timeout.
	LogLimit int64
	// Sandbox says whether build steps run in the sandbox (see
	// sandbox.go); the zero value is SandboxOn.
	Sandbox SandboxMode
	// User runs the build steps in the sandbox when acn runs as root;
	// default DefaultBuildUser (nobody). Never root.
	User string
	// Hide names files and directories of acn's (configuration, tokens,
	// keys) that build steps must not see: each one under the system
	// directories a step sees is covered in its sandbox. Everything else
	// of the host outside those directories is never mounted.
	Hide []string
	// Root is the build root steps run in when a spec names none ("": the
	// host's system directories); see package buildroot.
	Root string
	// RootCache keeps build roots prepared with missing build
	// requirements; BaseRepos are where dnf installs them from, and
	// ReleaseVer is dnf's $releasever (default: the root's VERSION_ID).
	RootCache  string
	BaseRepos  []buildroot.Repo
	ReleaseVer string
	// Progress, when set, is called as file contents are packed with the
	// bytes done and the total; the last call has done == total.
	Progress func(done, total int64)
	// Advisories gives the ID of an advisory the spec's newest changelog
	// entry announces (see advisory.go); nil: no advisory is written.
	// Dist is a suffix the caller appended to the spec's release (the
	// daemon's ".el9"); an entry's version is compared without it.
	Advisories *advisory.Registry
	Dist       string
	Logger     *slog.Logger // default: discard
}

// Result describes the packages a build wrote. Path, Files and Size are
// the main package's; RPMs lists every package written, the main one
// first, then the subpackages in spec order, then the -debuginfo package.
type Result struct {
	Spec    *specs.Spec
	Path    string // the main .rpm file
	LogPath string // the build log, when the spec has build steps
	// LogSHA256 is the hex SHA-256 of the build log, recorded in the
	// packages; VCS is their VCS tag.
	LogSHA256 string
	VCS       string
	Files     int
	Size      int64 // bytes of the main .rpm file
	RPMs      []RPM
	Duration  time.Duration
}

// FileName is the conventional file name of the spec's binary package
// (N-V-R.A.rpm: no epoch, as rpmbuild names it).
func FileName(s *specs.Spec) string { return rpmver.FileName(s.Name, s.Version, s.Release, s.Arch) }

// Build builds the packages of spec (the main package, its subpackages
// and its -debuginfo package) from the git tree it belongs to. On failure
// no .rpm is left in OutDir; the build log is kept.
func Build(ctx context.Context, tree fs.FS, spec *specs.Spec, opts Options) (*Result, error) {
	start := time.Now()
	res, err := build(ctx, tree, spec, opts)
	if err != nil {
		return res, fmt.Errorf("build %s %s: %w", spec.Name, spec.EVR(), err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

func build(ctx context.Context, tree fs.FS, spec *specs.Spec, o Options) (*Result, error) {
	if o.Compression.Name == "" {
		o.Compression, _ = ParseCompression("")
	}
	if o.BuildHost == "" {
		o.BuildHost = "acn"
	}
	if o.Time.IsZero() {
		return nil, fmt.Errorf("no build time given")
	}
	o.Time = o.Time.UTC().Truncate(time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.LogLimit <= 0 {
		o.LogLimit = DefaultLogLimit
	}
	if spec.Timeout != 0 {
		o.Timeout = spec.Timeout
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Spec: spec, Path: filepath.Join(o.OutDir, FileName(spec))}
	var leaks *leakCheck // with build steps
	src := sources{tree: tree, ref: o.Ref}

	var sc *scratch
	newSc := func() (*scratch, error) {
		s, err := newScratch(o.ScratchDir, o.KeepScratch)
		if err != nil {
			return nil, fmt.Errorf("scratch directory: %w", err)
		}
		if o.KeepScratch {
			o.Logger.Info("keeping scratch directory", "dir", s.root)
		}
		sc = s
		return s, nil
	}
	defer func() {
		if sc != nil && !o.KeepScratch {
			sc.remove()
		}
	}()
	if len(spec.Build) > 0 || len(spec.Sources) > 0 {
		if _, err := newSc(); err != nil {
			return nil, err
		}
		res.LogPath = filepath.Join(o.OutDir, strings.TrimSuffix(FileName(spec), ".rpm")+".build.log")
		dest, closeDest, err := runBuild(ctx, tree, spec, sc, o, res.LogPath)
		if err != nil {
			return res, err
		}
		defer closeDest()
		src.destDir = dest
		leaks = newLeakCheck(spec, sc)
		if res.LogSHA256, err = fileSHA256(res.LogPath); err != nil {
			return res, fmt.Errorf("build log: %w", err)
		}
	}

	pkgs, err := collectPackages(spec, src)
	if err != nil {
		return res, err
	}
	if leaks != nil {
		var all []entry
		for _, p := range pkgs {
			all = append(all, p.ents...)
		}
		if err := checkUnpackaged(ctx, spec, src.destDir, all); err != nil {
			return res, err
		}
	}
	pkgs, remove, err := splitDebuginfo(ctx, spec, pkgs, o, newDebugSources(spec.Name, spec.Version, sc, o))
	if err != nil {
		return res, fmt.Errorf("debuginfo: %w", err)
	}
	defer remove()
	// Each package's entries are now final (stripped where debuginfo.go
	// stripped): newPkgFS(p.ents) is what automatic dependencies are to be
	// computed from, per package. The path check reads what is packed.
	var check func() error
	if leaks != nil {
		for _, p := range pkgs {
			leaks.watch(p.ents)
		}
		check = func() error { return leaks.err(spec) }
	}
	res.VCS = VCS(o.GitURL, o.Commit)
	adv, err := specAdvisory(spec, o)
	if err != nil {
		return res, err
	}
	base := header{adv: adv, buildTime: o.Time, buildHost: o.BuildHost, comp: o.Compression, sourceRPM: spec.SourceRPM(),
		prov: provenance{vcs: res.VCS, ref: o.Ref, logSHA256: res.LogSHA256}}
	rpms, err := writePackages(ctx, base, pkgs, o, check)
	if err != nil {
		return res, err
	}
	res.RPMs = rpms
	res.Files, res.Size = rpms[0].Files, rpms[0].Size
	return res, nil
}

// ErrTimeout is wrapped when build steps run past their timeout.
var ErrTimeout = errors.New("builder: build timed out")

// runBuild prepares the scratch tree, fetches sources and runs the steps,
// logging everything to logPath. It returns the install root as an fs.FS.
func runBuild(ctx context.Context, tree fs.FS, spec *specs.Spec, sc *scratch, o Options, logPath string) (fs.FS, func(), error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, fmt.Errorf("build log: %w", err)
	}
	defer log.Close()
	fmt.Fprintf(log, "==> %s from %s, %d step(s), timeout %s\n", spec.NEVRA(), o.Ref, len(spec.Build), o.Timeout)
	var sb *sandbox
	if len(spec.Build) > 0 {
		root, err := prepareRoot(ctx, spec, o, log)
		if err != nil {
			fmt.Fprintf(log, "==> %v\n", err)
			return nil, nil, err
		}
		if o.Sandbox == SandboxOff {
			if root != "" {
				return nil, nil, fmt.Errorf("%w: a build root needs the sandbox, which is off", ErrNoSandbox)
			}
			fmt.Fprintf(log, "==> sandbox off: the steps run as acn's user in the host's namespaces\n")
			o.Logger.Info("build steps run without a sandbox", "package", spec.NEVRA())
		} else {
			if sb, err = newSandbox(o.User, spec.Network, o.Hide, root); err != nil {
				fmt.Fprintf(log, "==> %v\n", err)
				return nil, nil, err
			}
			who := "acn's user in a user namespace"
			if sb.user != nil {
				who = "user " + sb.user.name
			}
			fmt.Fprintf(log, "==> sandbox: steps run as %s in %s\n", who, sandboxTree(spec.Name, spec.Version))
		}
		if spec.Network {
			fmt.Fprintf(log, "==> network: true: the steps share the host's network\n")
			o.Logger.Info("build steps have the network (network: true)", "package", spec.NEVRA(), "spec", spec.File)
		}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("%w after %s", ErrTimeout, o.Timeout))
	defer cancel()
	if err := checkTree(ctx, tree, o.Ref); err != nil {
		fmt.Fprintf(log, "==> %v\n", err)
		return nil, nil, fmt.Errorf("copy tree to scratch: %w", err)
	}
	if err := copyTree(ctx, tree, sc.src, o.Time); err != nil {
		fmt.Fprintf(log, "==> copy tree: %v\n", err)
		return nil, nil, fmt.Errorf("copy tree to scratch: %w", err)
	}
	for i, s := range spec.Sources {
		fmt.Fprintf(log, "==> source %s\n", s.URL)
		if err := fetchSource(ctx, o.HTTPClient, o.CacheDir, s, sc.srcDir); err != nil {
			fmt.Fprintf(log, "==> %v\n", err)
			return nil, nil, &specs.Error{File: spec.File, Line: s.Line, Field: fmt.Sprintf("sources[%d]", i), Err: err}
		}
	}
	if sb != nil {
		if err := sb.handOver(sc); err != nil {
			return nil, nil, fmt.Errorf("give the scratch tree to the build user: %w", err)
		}
	}
	o.Logger.Info("running build steps", "package", spec.NEVRA(), "steps", len(spec.Build), "log", logPath, "sandbox", sb != nil)
	if err := runSteps(ctx, spec, sc, sb, o.Time, log, o.LogLimit); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrTimeout) {
			fmt.Fprintf(log, "==> %v: the steps' processes were killed\n", cause)
			return nil, nil, fmt.Errorf("%w: %w (log: %s)", cause, err, logPath)
		}
		return nil, nil, fmt.Errorf("%w (log: %s)", err, logPath)
	}
	return destFS(sc.destDir)
}
