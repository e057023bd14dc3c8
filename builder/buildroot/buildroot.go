// Package buildroot checks and prepares the root file systems that build
// steps can run in instead of the host's system directories: for example
// an EL9 root an operator made once with dnf --installroot from the
// nodes' own base repositories, so that a runtime is compiled against the
// glibc and libraries of the nodes that will run it.
//
// Missing checks a spec's build requirements against a root's rpm
// database; Prepare returns a root that has them all, installing what is
// missing with dnf from base repositories into a cached copy of the root.
// A prepared root is keyed by the root, what is installed in it, the
// requirements and the repositories, and reused by later builds.
package buildroot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/acn-project/acn/internal/rpmver"
	"github.com/acn-project/acn/specs"
)

// Errors; each is wrapped with the details.
var (
	// ErrMissing is wrapped when build requirements are not installed in
	// a root and cannot be installed.
	ErrMissing = errors.New("buildroot: build requirements missing")
	// ErrNoDatabase is wrapped when a root has no rpm database.
	ErrNoDatabase = errors.New("buildroot: no rpm database in the root")
)

// dbPaths are where a root may keep its rpm database, newest layout
// first: /usr/lib/sysimage/rpm (EL9 and Fedora), /var/lib/rpm (EL7, EL8),
// and ~/.rpmdb (what Debian's rpm uses by default).
var dbPaths = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm", "/root/.rpmdb"}

// DBPath returns the path, inside root, of its rpm database.
func DBPath(root string) (string, error) {
	for _, p := range dbPaths {
		for _, name := range []string{"rpmdb.sqlite", "Packages", "Packages.db"} {
			if fi, err := os.Stat(filepath.Join(root, p, name)); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w: %s (looked in %s); make the root with dnf --installroot=%s", ErrNoDatabase, root, strings.Join(dbPaths, ", "), root)
}

// Missing returns the requirements (names, "name >= version" or file
// paths, as rpm -q --whatprovides takes them) that no package installed
// in root provides, in the order given.
func Missing(ctx context.Context, root string, reqs []string) ([]string, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	db, err := DBPath(root)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, r := range reqs {
		ok, err := provided(ctx, root, db, r)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// provided reports whether a package in root provides a requirement: a
// name or file path, with an optional operator and version compared as
// rpm compares ranges.
func provided(ctx context.Context, root, db, req string) (bool, error) {
	d, err := specs.ParseDep(req)
	if err != nil {
		return false, fmt.Errorf("build requirement %q: %w", req, err)
	}
	if d.Rich() {
		return false, fmt.Errorf("build requirement %q: rich dependencies are not supported here", req)
	}
	// One query each: rpm's answers for several do not say which line
	// belongs to which.
	cmd := exec.CommandContext(ctx, "rpm", "--root", root, "--dbpath", db, "-q", "--whatprovides",
		"--qf", "[%{PROVIDENAME}\t%{PROVIDEFLAGS}\t%{PROVIDEVERSION}\n]", "--", d.Name)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && (bytes.Contains(out, []byte("no package provides")) ||
		bytes.Contains(out, []byte("No such file or directory")) || bytes.Contains(out, []byte("is not owned by any package"))):
		return false, nil
	default:
		return false, fmt.Errorf("query %s in %s: %w: %s", req, root, err, bytes.TrimSpace(out))
	}
	if d.Op == "" || strings.HasPrefix(d.Name, "/") {
		return true, nil // a package provides the name, or owns the file
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, rest, _ := strings.Cut(line, "\t")
		flags, version, _ := strings.Cut(rest, "\t")
		if name != d.Name {
			continue
		}
		var f int
		fmt.Sscan(flags, &f)
		if overlap(f&(less|greater|equal), version, opFlags(d.Op), d.Version) {
			return true, nil
		}
	}
	return false, nil
}

// rpm's sense flags.
const (
	less    = 2
	greater = 4
	equal   = 8
)

func opFlags(op string) int {
	return map[string]int{"<": less, "<=": less | equal, "=": equal, ">=": greater | equal, ">": greater}[op]
}

// overlap reports whether a provide's range (flags, version) meets a
// requirement's, as rpm's rpmdsCompare decides it. A release missing
// from either side is not compared.
func overlap(pf int, pv string, rf int, rv string) bool {
	if pf == 0 || rf == 0 || pv == "" {
		return true
	}
	pe, pver, prel := splitEVR(pv)
	re, rver, rrel := splitEVR(rv)
	if prel == "" || rrel == "" {
		prel, rrel = "", ""
	}
	c := rpmver.Compare(pe, pver, prel, re, rver, rrel)
	switch {
	case c < 0:
		return pf&greater != 0 || rf&less != 0
	case c > 0:
		return pf&less != 0 || rf&greater != 0
	}
	return pf&rf&(less|greater|equal) != 0
}

func splitEVR(s string) (epoch, version, release string) {
	if e, rest, ok := strings.Cut(s, ":"); ok {
		epoch, s = e, rest
	}
	version, release, _ = strings.Cut(s, "-")
	return epoch, version, release
}

// Repo is a base repository dnf installs build requirements from.
type Repo struct {
	Name    string `yaml:"name"`
	BaseURL string `yaml:"baseurl"`
	// GPGKey is the URL or path of the key its packages are signed with;
	// empty: packages are not checked.
	GPGKey string `yaml:"gpgkey"`
}

// Options configures Prepare.
type Options struct {
	CacheDir string // where prepared roots are kept
	Repos    []Repo // where missing requirements come from
	// ReleaseVer is dnf's $releasever; default: VERSION_ID of the root's
	// /etc/os-release, up to the first dot.
	ReleaseVer string
	Log        io.Writer    // dnf's output (the build log); may be nil
	Logger     *slog.Logger // default: discard
}

// Prepare returns a root in which every requirement is installed: root
// itself when nothing is missing, else a copy in o.CacheDir with the
// missing requirements installed by dnf from o.Repos. A copy is made once
// for one root (and what is installed in it), set of requirements and
// set of repositories, and reused.
func Prepare(ctx context.Context, root string, reqs []string, o Options) (string, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	missing, err := Missing(ctx, root, reqs)
	if err != nil {
		return "", err
	}
	if len(missing) == 0 {
		return root, nil
	}
	if len(o.Repos) == 0 || o.CacheDir == "" {
		return "", fmt.Errorf("%w in %s: %s (no base repositories are configured to install them from)", ErrMissing, root, strings.Join(missing, ", "))
	}
	key, err := cacheKey(ctx, root, reqs, o.Repos)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(o.CacheDir, key)
	unlock, err := lock(dst + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		o.Logger.Debug("reusing a prepared build root", "root", root, "prepared", dst)
		return dst, nil
	}
	tmp := dst + ".tmp"
	if err := removeAll(tmp); err != nil {
		return "", err
	}
	fmt.Fprintf(o.Log, "==> preparing a copy of build root %s with %s\n", root, strings.Join(missing, ", "))
	o.Logger.Info("preparing a build root", "root", root, "install", missing, "into", dst)
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", root, tmp).CombinedOutput(); err != nil {
		removeAll(tmp)
		return "", fmt.Errorf("copy build root %s: %w: %s", root, err, bytes.TrimSpace(out))
	}
	if err := install(ctx, tmp, missing, o); err != nil {
		removeAll(tmp)
		return "", err
	}
	still, err := Missing(ctx, tmp, missing)
	if err == nil && len(still) > 0 {
		err = fmt.Errorf("%w after dnf install: %s", ErrMissing, strings.Join(still, ", "))
	}
	if err != nil {
		removeAll(tmp)
		return "", fmt.Errorf("prepare build root %s: %w", root, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		removeAll(tmp)
		return "", err
	}
	return dst, nil
}

// install runs dnf --installroot for the requirements, with the root's
// own rpm database path and a private repository configuration.
func install(ctx context.Context, root string, reqs []string, o Options) error {
	db, err := DBPath(root)
	if err != nil {
		return err
	}
	rel := o.ReleaseVer
	if rel == "" {
		if rel, err = releaseVer(root); err != nil {
			return err
		}
	}
	conf, err := os.MkdirTemp("", "acn-dnf-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(conf)
	var repos strings.Builder
	for _, r := range o.Repos {
		fmt.Fprintf(&repos, "[%s]\nname=%s\nbaseurl=%s\nenabled=1\n", r.Name, r.Name, r.BaseURL)
		if r.GPGKey != "" {
			fmt.Fprintf(&repos, "gpgcheck=1\ngpgkey=%s\n", r.GPGKey)
		} else {
			repos.WriteString("gpgcheck=0\n")
		}
	}
	reposDir := filepath.Join(conf, "repos.d")
	os.Mkdir(reposDir, 0o755)
	if err := os.WriteFile(filepath.Join(reposDir, "base.repo"), []byte(repos.String()), 0o644); err != nil {
		return err
	}
	// rpm takes its database path from a macro; HOME's .rpmmacros sets it
	// to where this root keeps it (the host's default may differ).
	if err := os.WriteFile(filepath.Join(conf, ".rpmmacros"), []byte("%_dbpath "+db+"\n"), 0o644); err != nil {
		return err
	}
	args := []string{"-y", "--installroot=" + root, "--releasever=" + rel,
		"--setopt=reposdir=" + reposDir, "--setopt=cachedir=" + filepath.Join(conf, "cache"),
		"--setopt=install_weak_deps=False", "--setopt=keepcache=False", "--disableplugin=*",
		"install", "--"}
	cmd := exec.CommandContext(ctx, "dnf", append(args, reqs...)...)
	cmd.Env = append(os.Environ(), "HOME="+conf)
	var tail bytes.Buffer
	cmd.Stdout = io.MultiWriter(o.Log, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: dnf install %s into %s: %w: %s", ErrMissing, strings.Join(reqs, " "), root, err, lastLines(tail.Bytes(), 3))
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "; ")
}

// releaseVer reads VERSION_ID from the root's os-release, up to the dot.
func releaseVer(root string) (string, error) {
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			continue
		}
		defer f.Close()
		sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VERSION_ID="); ok {
				v = strings.Trim(v, `"'`)
				v, _, _ = strings.Cut(v, ".")
				if v != "" {
					return v, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s: no VERSION_ID in etc/os-release: set the release version for dnf", root)
}

// cacheKey identifies a prepared root: the root's path and installed
// packages, the requirements and the repositories.
func cacheKey(ctx context.Context, root string, reqs []string, repos []Repo) (string, error) {
	db, err := DBPath(root)
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "rpm", "--root", root, "--dbpath", db, "-qa", "--qf", "%{NEVRA}\n").Output()
	if err != nil {
		return "", fmt.Errorf("list packages in %s: %w", root, err)
	}
	pkgs := strings.Fields(string(out))
	slices.Sort(pkgs)
	rs := slices.Clone(reqs)
	slices.Sort(rs)
	h := sha256.New()
	fmt.Fprintf(h, "root %s\npackages %s\nrequires %s\n", root, strings.Join(pkgs, " "), strings.Join(rs, "\x00"))
	for _, r := range repos {
		fmt.Fprintf(h, "repo %s %s %s\n", r.Name, r.BaseURL, r.GPGKey)
	}
	return "root-" + hex.EncodeToString(h.Sum(nil))[:32], nil
}

// lock takes an exclusive kernel lock on name, waiting for it.
func lock(name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}

// removeAll removes a tree, also one with read-only directories.
func removeAll(dir string) error {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
