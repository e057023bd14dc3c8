package specs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"
	gossh "golang.org/x/crypto/ssh"

	"github.com/acn-project/acn/internal/readlimit"
)

// ErrRef is wrapped when a ref names no commit.
var ErrRef = errors.New("specs: unknown ref")

// Auth holds credentials for a remote. Empty fields are not used; for ssh
// without a key file the ssh agent is tried.
type Auth struct {
	Username      string // https user; default "git" for a token
	Token         string // https password or token
	SSHKeyFile    string // private key for ssh URLs
	SSHPassphrase string
	// KnownHosts lists known_hosts files for ssh; default: $SSH_KNOWN_HOSTS,
	// else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
	KnownHosts []string
}

// OpenOptions configure [Open].
type OpenOptions struct {
	Auth Auth
	// CacheDir holds bare mirrors of remote repositories, one per URL, so a
	// second open fetches only what is new. Required for remote URLs.
	CacheDir string
	// Progress, when set, receives the remote's progress messages.
	Progress io.Writer
}

// Repo is a git repository opened read-only.
type Repo struct {
	Location string // as given to Open
	repo     *git.Repository
}

// IsRemote reports whether loc is a URL (https, http, ssh, git, file, or
// scp-like user@host:path) rather than a local path.
func IsRemote(loc string) bool {
	if strings.Contains(loc, "://") {
		return true
	}
	return scpRE.MatchString(loc)
}

var scpRE = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)

// Open opens a local repository in place (bare or not; never written to),
// or brings a remote one's mirror in CacheDir up to date and opens that.
func Open(ctx context.Context, loc string, opts OpenOptions) (*Repo, error) {
	if !IsRemote(loc) {
		r, err := git.PlainOpenWithOptions(loc, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
		if errors.Is(err, git.ErrRepositoryNotExists) {
			// go-git looks for a .git directory when asked to detect
			// one, and so misses a bare repository.
			r, err = git.PlainOpenWithOptions(loc, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
		}
		if err == nil {
			r, err = streaming(r)
		}
		if err != nil {
			return nil, fmt.Errorf("open git repository %s: %w", loc, err)
		}
		return &Repo{Location: loc, repo: r}, nil
	}
	if opts.CacheDir == "" {
		return nil, fmt.Errorf("open git repository %s: a cache directory is needed for a remote", loc)
	}
	auth, err := authFor(loc, opts.Auth)
	if err != nil {
		return nil, fmt.Errorf("open git repository %s: %w", redact(loc), err)
	}
	dir := filepath.Join(opts.CacheDir, mirrorName(loc))
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("open git repository %s: %w", redact(loc), err)
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return nil, fmt.Errorf("open git repository %s: lock mirror: %w", redact(loc), err)
	}
	defer unlock()

	r, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		r, err = git.PlainInit(dir, true)
		if err == nil {
			_, err = r.CreateRemote(&config.RemoteConfig{
				Name:  "origin",
				URLs:  []string{loc},
				Fetch: []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"},
			})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open mirror %s of %s: %w", dir, redact(loc), err)
	}
	err = r.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, Progress: opts.Progress, Tags: git.AllTags, Force: true, Prune: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetch %s: %w", redact(loc), err)
	}
	// Point the mirror's HEAD at the remote's default branch.
	if rem, err := r.Remote("origin"); err == nil {
		if refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth}); err == nil {
			for _, ref := range refs {
				if ref.Name() == plumbing.HEAD && ref.Type() == plumbing.SymbolicReference {
					_ = r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref.Target()))
				}
			}
		}
	}
	r, err = streaming(r)
	if err != nil {
		return nil, fmt.Errorf("open mirror %s of %s: %w", dir, redact(loc), err)
	}
	return &Repo{Location: loc, repo: r}, nil
}

// largeObject is the size above which a blob is streamed from the object
// store as it is read rather than loaded whole.
const largeObject = 16 << 10

// streaming reopens r's object store so that blobs over largeObject are
// streamed: a huge file in the tree then costs no memory to stat, to refuse
// or to copy. The reopened repository has no worktree; acn never uses one.
func streaming(r *git.Repository) (*git.Repository, error) {
	fss, ok := r.Storer.(*filesystem.Storage)
	if !ok {
		return r, nil
	}
	st := filesystem.NewStorageWithOptions(fss.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{LargeObjectThreshold: largeObject})
	return git.Open(st, nil)
}

func mirrorName(loc string) string {
	sum := sha256.Sum256([]byte(loc))
	base := strings.TrimSuffix(path.Base(strings.TrimRight(strings.ReplaceAll(loc, ":", "/"), "/")), ".git")
	base = unsafeChars.ReplaceAllString(base, "_")
	return base + "-" + hex.EncodeToString(sum[:6]) + ".git"
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// redact removes a password from a URL before it is logged.
func redact(loc string) string {
	if i := strings.Index(loc, "://"); i >= 0 {
		if at := strings.LastIndex(loc[i+3:], "@"); at >= 0 {
			cred := loc[i+3 : i+3+at]
			if user, _, ok := strings.Cut(cred, ":"); ok {
				return loc[:i+3] + user + ":***" + loc[i+3+at:]
			}
		}
	}
	return loc
}

func authFor(loc string, a Auth) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(loc)
	if err != nil {
		return nil, err
	}
	switch ep.Protocol {
	case "http", "https":
		if a.Token == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: a.Token}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = "git"
		}
		var hosts gossh.HostKeyCallback
		if len(a.KnownHosts) > 0 {
			cb, err := gitssh.NewKnownHostsCallback(a.KnownHosts...)
			if err != nil {
				return nil, fmt.Errorf("known hosts: %w", err)
			}
			hosts = cb
		}
		if a.SSHKeyFile != "" {
			k, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHPassphrase)
			if err != nil {
				return nil, fmt.Errorf("ssh key %s: %w", a.SSHKeyFile, err)
			}
			k.HostKeyCallback = hosts
			return k, nil
		}
		agent, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("no --ssh-key given and no ssh agent: %w", err)
		}
		agent.HostKeyCallback = hosts
		return agent, nil
	}
	return nil, nil
}

// lockFile takes an exclusive lock; the kernel drops it if the process
// dies, so a crash never blocks the next run.
func lockFile(name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Snapshot is one commit of a spec repository, read without a checkout.
type Snapshot struct {
	Ref    string        // as asked for
	Commit plumbing.Hash // what it resolved to
	Time   time.Time     // committer time: build time and file mtimes
	FS     fs.FS         // the commit's tree; implements fs.ReadLinkFS
	repo   *Repo
}

// Resolve finds the commit a ref names: a tag (annotated or lightweight), a
// branch, a remote branch, a full or abbreviated commit hash, or "" and
// "HEAD" for the checked-out or default branch.
func (r *Repo) Resolve(ref string) (*Snapshot, error) {
	if ref == "" {
		ref = "HEAD"
	}
	h, err := r.resolve(ref)
	if err != nil {
		return nil, fmt.Errorf("resolve %q in %s: %w", ref, redact(r.Location), err)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("resolve %q in %s: read commit %s: %w", ref, redact(r.Location), h, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("resolve %q in %s: read tree of %s: %w", ref, redact(r.Location), h, err)
	}
	when := c.Committer.When.UTC()
	return &Snapshot{Ref: ref, Commit: c.Hash, Time: when, FS: newTreeFS(r.repo.Storer, t, when), repo: r}, nil
}

func (r *Repo) resolve(ref string) (*plumbing.Hash, error) {
	// A full tag ref first, so that a tag and a branch of one name resolve
	// to the tag, as a release tag is what acn is usually asked to build.
	for _, name := range []string{"refs/tags/" + ref, ref} {
		if h, err := r.repo.ResolveRevision(plumbing.Revision(name)); err == nil {
			return h, nil
		}
	}
	if hexRE.MatchString(ref) {
		if h, err := r.shortHash(ref); err == nil {
			return h, nil
		} else if !errors.Is(err, ErrRef) {
			return nil, err
		}
	}
	return nil, ErrRef
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{4,40}$`)

func (r *Repo) shortHash(prefix string) (*plumbing.Hash, error) {
	iter, err := r.repo.CommitObjects()
	if err != nil {
		return nil, err
	}
	var found []plumbing.Hash
	err = iter.ForEach(func(c *object.Commit) error {
		if strings.HasPrefix(c.Hash.String(), prefix) {
			found = append(found, c.Hash)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, ErrRef
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("abbreviated hash %s is ambiguous (%d commits)", prefix, len(found))
}

// Tags lists the repository's tag names, sorted.
func (r *Repo) Tags() ([]string, error) {
	iter, err := r.repo.Tags()
	if err != nil {
		return nil, err
	}
	var names []string
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		names = append(names, ref.Name().Short())
		return nil
	})
	sort.Strings(names)
	return names, err
}

// PackageTag splits a tag of the form <name>/v<version>.
func PackageTag(ref string) (name, version string, ok bool) {
	ref = strings.TrimPrefix(ref, "refs/tags/")
	name, v, ok := strings.Cut(ref, "/v")
	if !ok || name == "" || v == "" || strings.Contains(name, "/") || !nameRE.MatchString(name) || !versionRE.MatchString(v) {
		return "", "", false
	}
	return name, v, true
}

// SpecDir is where a spec repository keeps its definitions.
const SpecDir = "specs"

// Specs parses every specs/*.yaml of the snapshot, sorted by name. Every
// broken file is reported, joined into one error.
func (s *Snapshot) Specs() ([]*Spec, error) {
	entries, err := fs.ReadDir(s.FS, SpecDir)
	if err != nil {
		return nil, fmt.Errorf("read %s/ at %s: %w", SpecDir, s.Ref, err)
	}
	var out []*Spec
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		sp, err := s.Spec(strings.TrimSuffix(e.Name(), ".yaml"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sp)
	}
	if len(out) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("no %s/*.yaml at %s", SpecDir, s.Ref)
	}
	return out, errors.Join(errs...)
}

// Spec parses specs/<name>.yaml. A file over [MaxSpecSize] is refused
// before it is read.
func (s *Snapshot) Spec(name string) (*Spec, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("no spec for %q at %s: not a package name", name, s.Ref)
	}
	file := path.Join(SpecDir, name+".yaml")
	data, err := readSpec(s.FS, file)
	if err != nil {
		var se *Error
		var pe *fs.PathError
		switch {
		case errors.As(err, &se):
			return nil, err
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("no spec %s at %s", file, s.Ref)
		case errors.Is(err, ErrEscapes) && errors.As(err, &pe):
			return nil, &Error{File: file, Err: pe.Err} // a link that leaves the repository
		}
		return nil, fmt.Errorf("read %s at %s: %w", file, s.Ref, err)
	}
	return Parse(file, data)
}

// readSpec reads a spec file, refusing one over MaxSpecSize before it is
// opened (the object store rebuilds a deltified blob in memory on open).
func readSpec(fsys fs.FS, file string) ([]byte, error) {
	data, err := readlimit.FS(fsys, file, MaxSpecSize)
	return data, limitError(file, err, tooLarge)
}

// limitError is a readlimit error as an error of file: not a regular
// file, or too large (made by tooLarge).
func limitError(file string, err error, tooLarge func(file string, size int64) error) error {
	var tl *readlimit.TooLargeError
	switch {
	case errors.Is(err, readlimit.ErrNotRegular):
		return &Error{File: file, Err: &detail{sentinel: ErrInvalid, msg: "not a regular file"}}
	case errors.As(err, &tl):
		return tooLarge(file, tl.Size)
	}
	return err
}

// Select picks the specs a build of this snapshot means. A package tag
// (<name>/v<version>) selects that package and requires its spec to have
// that version; otherwise names selects by name, and no names means every
// spec.
func (s *Snapshot) Select(names []string) ([]*Spec, error) {
	if tagName, tagVersion, ok := PackageTag(s.Ref); ok && s.isTag() {
		for _, n := range names {
			if n != tagName {
				return nil, fmt.Errorf("ref %s is a tag of package %s, but --spec asks for %s", s.Ref, tagName, n)
			}
		}
		sp, err := s.Spec(tagName)
		if err != nil {
			return nil, err
		}
		if sp.Version != tagVersion {
			return nil, fmt.Errorf("tag %s says version %s, but %s at that tag says %s", s.Ref, tagVersion, sp.File, sp.Version)
		}
		return []*Spec{sp}, nil
	}
	if len(names) == 0 {
		return s.Specs()
	}
	var out []*Spec
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		sp, err := s.Spec(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sp)
	}
	return out, errors.Join(errs...)
}

func (s *Snapshot) isTag() bool {
	_, err := s.repo.repo.Reference(plumbing.NewTagReferenceName(strings.TrimPrefix(s.Ref, "refs/tags/")), false)
	return err == nil
}
