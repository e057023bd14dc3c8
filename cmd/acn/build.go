package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/builder/buildroot"
	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/internal/humanize"
	"github.com/acn-project/acn/specs"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const buildAbout = `
Reads the spec definitions (specs/<name>.yaml) of a git repository at a ref,
without checking it out, and writes one RPM per package into --out.

--ref <name>/v<version> (a tag) builds just that package, at that version.
Otherwise --spec picks packages by name; with neither, every spec is built.
--git is a local repository (bare or not) or a URL (https://, ssh://,
user@host:path, file://); a URL is mirrored into the cache directory so a
second build fetches only what is new.

Credentials come from flags or the environment: ACN_GIT_USERNAME,
ACN_GIT_TOKEN (or --git-token-file), ACN_SSH_KEY, ACN_SSH_KEY_PASSPHRASE.
ACN_CACHE_DIR overrides the cache directory (default ~/.cache/acn).

Build steps run in a bubblewrap sandbox (the bubblewrap package): no
network unless the spec says network: true, nothing of the host but its
system directories, read-only; as --build-user when acn runs as root.
--sandbox=off runs them as this user in the host's namespaces.

Each package built prints one line: its file, number of files and size.
A package that fails is reported and the others are still built; the exit
status is then 1.

Examples:
  acn build --out out
  acn build --git https://git.example.com/ops/specs.git --ref appstruct/v1.4.0
  acn build --ref main --spec acn-proxy --compress xz
`

func runBuild(ctx context.Context, e *env, args []string) error {
	fs := flagSet(e, "build", "build [flags]", buildAbout)
	var (
		gitLoc      = fs.String("git", ".", "spec `repository`: local path or URL")
		ref         = fs.String("ref", "HEAD", "tag, branch or commit to build")
		out         = fs.String("out", "out", "output `dir`ectory for RPMs and build logs")
		compress    = fs.String("compress", "gzip", "payload compression: gzip, xz or zstd, with an optional :level (gzip for EL7)")
		cache       = fs.String("cache", "", "cache `dir`ectory for git mirrors and sources (default ~/.cache/acn)")
		timeout     = fs.Duration("timeout", builder.DefaultTimeout, "limit for a package's build steps, unless its spec sets one")
		buildHost   = fs.String("buildhost", "acn", "build host recorded in the packages")
		gitUser     = fs.String("git-user", "", "user for https remotes (default $ACN_GIT_USERNAME)")
		tokenFile   = fs.String("git-token-file", "", "`file` holding the https token (default $ACN_GIT_TOKEN)")
		sshKey      = fs.String("ssh-key", "", "private key `file` for ssh remotes (default $ACN_SSH_KEY, then ssh-agent)")
		knownHosts  = fs.String("ssh-known-hosts", "", "known_hosts `file` for ssh remotes (default $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts)")
		keepScratch = fs.Bool("keep-scratch", false, "keep the build steps' scratch directory for inspection")
		scratchDir  = fs.String("scratch", "", "`dir`ectory for build steps' scratch trees (default $TMPDIR)")
		cpuProf     = fs.String("cpuprofile", "", "write a CPU profile to `file` (for debugging)")
		sandbox     = fs.String("sandbox", "on", "run build steps in a bubblewrap sandbox: on or off")
		buildUser   = fs.String("build-user", builder.DefaultBuildUser, "`user` that runs build steps in the sandbox when acn runs as root")
		logLevel    = fs.String("log-level", "warn", "log level: debug, info, warn or error")
		logFormat   = fs.String("log-format", "text", "log format: text or json")
		names       stringList
		baseRepos   stringList
		root        = fs.String("root", "", "build root `dir`: steps run in its system directories instead of the host's (a spec's root: wins)")
		releasever  = fs.String("releasever", "", "dnf's $releasever for --base-repo (default: the root's VERSION_ID)")
		advisories  = fs.String("advisories", "", "advisory ID registry `file` (default OUT/advisories.json)")
	)
	fs.Var(&names, "spec", "build only this package (repeatable)")
	fs.Var(&baseRepos, "base-repo", "`URL` of a repository that missing build_requires are installed from into a cached copy of the build root (repeatable)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	stopProfile, err := cpuProfile(*cpuProf)
	if err != nil {
		return err
	}
	defer stopProfile()
	if fs.NArg() > 0 {
		return errUsage{fmt.Sprintf("unexpected argument %q (flags come as --name value)", fs.Arg(0))}
	}
	log, err := logger(e, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	comp, err := builder.ParseCompression(*compress)
	if err != nil {
		return errUsage{"--compress: " + err.Error()}
	}
	sandboxMode, err := builder.ParseSandboxMode(*sandbox)
	if err != nil {
		return errUsage{"--sandbox: " + err.Error()}
	}
	if sandboxMode == builder.SandboxOff {
		log.Warn("--sandbox=off: build steps run as this user in the host's namespaces and can read what it can read")
	}
	if *cache == "" {
		*cache = cacheDir(e)
	}
	auth := specs.Auth{
		Username:      firstNonEmpty(*gitUser, e.getenv("ACN_GIT_USERNAME")),
		Token:         e.getenv("ACN_GIT_TOKEN"),
		SSHKeyFile:    firstNonEmpty(*sshKey, e.getenv("ACN_SSH_KEY")),
		SSHPassphrase: e.getenv("ACN_SSH_KEY_PASSPHRASE"),
	}
	if *knownHosts != "" {
		auth.KnownHosts = []string{*knownHosts}
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("--git-token-file: %w", err)
		}
		auth.Token = strings.TrimSpace(string(b))
	}

	repo, err := specs.Open(ctx, *gitLoc, specs.OpenOptions{Auth: auth, CacheDir: filepath.Join(*cache, "git")})
	if err != nil {
		return err
	}
	snap, err := repo.Resolve(*ref)
	if err != nil {
		return err
	}
	log.Info("resolved", "ref", *ref, "commit", snap.Commit.String(), "time", snap.Time)
	list, err := snap.Select(names)
	if len(list) == 0 && err != nil {
		return err
	}
	// What an earlier acn build that was killed left (its step processes,
	// its scratch trees) goes now; running builds are left alone.
	if cerr := builder.CleanStale(ctx, *scratchDir, log); cerr != nil {
		log.Warn("clean up after earlier builds", "err", cerr)
	}
	// What build steps must not see, should it lie under /usr or /etc.
	var hidden []string
	for _, p := range []string{*cache, *tokenFile, auth.SSHKeyFile} {
		if a, err := filepath.Abs(p); err == nil && p != "" {
			hidden = append(hidden, a)
		}
	}
	var repos []buildroot.Repo
	for i, u := range baseRepos {
		repos = append(repos, buildroot.Repo{Name: fmt.Sprintf("base%d", i+1), BaseURL: u})
	}
	if *root != "" {
		if *root, err = filepath.Abs(*root); err != nil {
			return err
		}
	}
	failed, built := 0, 0
	if err != nil { // some specs are broken; build the rest
		fmt.Fprintln(e.stderr, err)
		failed++
	}
	tty := isTerminal(e.stderr)
	for i, sp := range list {
		var progress func(done, total int64)
		var pb *bar
		if tty {
			pb = &bar{w: e.stderr, label: fmt.Sprintf("[%d/%d] %s", i+1, len(list), sp.Name)}
			progress = pb.update
		}
		res, err := builder.Build(ctx, snap.FS, sp, builder.Options{
			Progress: progress,
			OutDir:   *out, Compression: comp, Time: snap.Time, BuildHost: *buildHost,
			Ref: *ref, GitURL: *gitLoc, Commit: snap.Commit.String(), CacheDir: filepath.Join(*cache, "sources"), Timeout: *timeout,
			KeepScratch: *keepScratch, ScratchDir: *scratchDir, Logger: log,
			Sandbox: sandboxMode, User: *buildUser, Hide: hidden,
			Root: *root, RootCache: filepath.Join(*cache, "roots"), BaseRepos: repos, ReleaseVer: *releasever,
			Advisories: advisory.OpenRegistry(cmp.Or(*advisories, filepath.Join(*out, "advisories.json"))),
		})
		if pb != nil {
			pb.clear()
		}
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "FAILED %s: %v\n", sp.NEVRA(), err)
			if errors.Is(err, context.Canceled) {
				return err
			}
			continue
		}
		built++
		for _, r := range res.RPMs {
			fmt.Fprintf(e.stdout, "%s\t%d files\t%s\t%s\n", r.Path, r.Files, humanize.Bytes(r.Size), res.Duration.Round(time.Millisecond))
		}
	}
	if failed > 0 {
		return fmt.Errorf("build failed: %d package(s) built, %d failed (see above)", built, failed)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
