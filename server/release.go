package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/specs"
)

// The release package, like epel-release: <repo>-release (noarch) holds
// /etc/yum.repos.d/<repo>.repo and /etc/pki/rpm-gpg/RPM-GPG-KEY-<repo>,
// so that a node joins a repository with one
//
//	dnf install <public_url>/repos/<repo>-release.rpm
//
// It is built only when signing is configured: without signing, the
// package would itself be unsigned and would teach nodes gpgcheck=0, and
// the .repo file alone (curl /repos/<repo>.repo) is as short a way in.
//
// Its version is always 1; its release is a counter, kept in the state,
// that grows each time the content (the .repo file and the public keys)
// changes, so that dnf upgrade brings a node the new keys. The build
// time is the time the content changed, also kept: the same release is
// always the same bytes, and a restart with the same configuration
// publishes nothing.

// releaseAlias ends the stable URL of a repository's release package:
// /repos/<repo>-release.rpm redirects to the current file.
const releaseAlias = "-release.rpm"

// releaseVersion is the version of every release package.
const releaseVersion = "1"

// releaseRecord is what the state keeps of a repository's release
// package: the digest of its content, its release and the time it was
// built with.
type releaseRecord struct {
	Digest  string    `json:"digest"`
	Release int       `json:"release"`
	Time    time.Time `json:"time"`
	File    string    `json:"file"` // published file name, in the repository
}

// releaseContent is what a repository's release package installs.
type releaseContent struct {
	repoFile []byte
	keys     []byte
}

func (c releaseContent) digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "repo %d\n", len(c.repoFile))
	h.Write(c.repoFile)
	fmt.Fprintf(h, "keys %d\n", len(c.keys))
	h.Write(c.keys)
	return hex.EncodeToString(h.Sum(nil))
}

// releaseBase is the URL nodes reach acn at, for the packaged .repo
// file: public_url, else the address the daemon listens on (an
// unspecified address becomes the host name).
func (s *Server) releaseBase(ln net.Listener) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	addr := s.cfg.Listen
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		addr = ln.Addr().String()
		host, port, err = net.SplitHostPort(addr)
		if err != nil {
			return "http://" + addr
		}
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// publishReleases builds and publishes the release package of every
// repository whose content changed since the last one. A failure (an
// expired key, say) is logged, shown on /healthz until the next start,
// and leaves what was published; the daemon serves on.
func (s *Server) publishReleases(ctx context.Context, base string) {
	if len(s.keys) == 0 {
		return
	}
	var problems []string
	for i := range s.cfg.Repos {
		rc := &s.cfg.Repos[i]
		file, err := s.publishRelease(ctx, rc, base)
		if err != nil {
			s.log.Error("release package", "repo", rc.Name, "err", err)
			problems = append(problems, "the release package of "+rc.Name+" was not published (see the log)")
			continue
		}
		if file != "" {
			s.log.Info("published the release package", "repo", rc.Name, "file", file)
		}
	}
	s.syncMu.Lock()
	s.relErrs = problems
	s.syncMu.Unlock()
}

// publishRelease publishes a new release package of rc if its content
// changed (or none was published), and returns its file name; "" if
// nothing changed.
func (s *Server) publishRelease(ctx context.Context, rc *RepoConfig, base string) (string, error) {
	c := releaseContent{repoFile: []byte(s.repoFileContent(base, rc.Name)), keys: sign.PublicKeys(s.keys...)}
	digest := c.digest()
	name := rc.Name + "-release"

	s.st.mu.Lock()
	prev := s.st.Releases[rc.Name]
	s.st.mu.Unlock()
	if prev.Digest == digest && prev.File != "" && listed(s.catalog(rc.Name), prev.File) {
		return "", nil
	}
	// A release in the repository is never built again with other bytes
	// (after a state lost or restored from a backup, say): a new one goes
	// above every release published.
	highest := 0
	for _, e := range s.catalog(rc.Name).Entries {
		if n, err := strconv.Atoi(e.Release); err == nil && e.Name == name && n > highest {
			highest = n
		}
	}
	rec := prev
	rec.Digest = digest
	if prev.Digest != digest || prev.Time.IsZero() || highest >= prev.Release {
		rec.Release = max(prev.Release, highest) + 1
		rec.Time = s.now().UTC().Truncate(time.Second)
	}

	dir, err := os.MkdirTemp(s.scratchDir(), "release-")
	if err != nil {
		return "", fmt.Errorf("release package of %s: %w", rc.Name, err)
	}
	defer os.RemoveAll(dir)
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		return "", fmt.Errorf("release package of %s: %w", rc.Name, err)
	}
	for f, b := range map[string][]byte{"repo": c.repoFile, "keys": c.keys} {
		if err := os.WriteFile(filepath.Join(tree, f), b, 0o644); err != nil {
			return "", fmt.Errorf("release package of %s: %w", rc.Name, err)
		}
	}
	sp := &specs.Spec{
		File:    "(release package)",
		Name:    name,
		Version: releaseVersion,
		Release: strconv.Itoa(rec.Release),
		Arch:    "noarch",
		Summary: rc.Name + " repository configuration",
		Description: "The dnf configuration of the " + rc.Name + " repository served by acn at " + base +
			", and the public keys its packages and metadata are signed with.",
		License: "MIT",
		Files: []specs.File{
			{Src: "repo", Dst: "/etc/yum.repos.d/" + rc.Name + ".repo", Type: specs.TypeConfigNoReplace, Mode: 0o644, Index: 0},
			{Src: "keys", Dst: "/etc/pki/rpm-gpg/RPM-GPG-KEY-" + rc.Name, Type: specs.TypeFile, Mode: 0o644, Index: 1},
		},
	}
	res, err := builder.Build(ctx, os.DirFS(tree), sp, builder.Options{
		OutDir: filepath.Join(dir, "out"), Time: rec.Time, ScratchDir: s.scratchDir(), Logger: s.log,
		Sandbox: s.cfg.Builds.sandbox, User: s.cfg.Builds.User, Hide: s.hiddenFromBuilds(),
	})
	if err != nil {
		return "", fmt.Errorf("release package of %s: %w", rc.Name, err)
	}
	if err := s.signBuilt(res.Path, rec.Time); err != nil {
		return "", fmt.Errorf("release package of %s: %w", rc.Name, err)
	}
	if err := s.publish(ctx, rc, []string{res.Path}); err != nil {
		return "", fmt.Errorf("release package of %s: publish: %w", rc.Name, err)
	}
	rec.File = filepath.Base(res.Path)
	s.st.mu.Lock()
	if s.st.Releases == nil {
		s.st.Releases = map[string]releaseRecord{}
	}
	s.st.Releases[rc.Name] = rec
	err = s.st.saveLocked()
	s.st.mu.Unlock()
	if err != nil {
		return rec.File, fmt.Errorf("release package of %s: %w", rc.Name, err)
	}
	return rec.File, nil
}

// serveReleaseAlias redirects /repos/<repo>-release.rpm to the current
// release package of the repository.
func (s *Server) serveReleaseAlias(w http.ResponseWriter, r *http.Request, name string) {
	s.st.mu.Lock()
	rec := s.st.Releases[name]
	s.st.mu.Unlock()
	if rec.File == "" {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no release package"})
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.Redirect(w, r, "/repos/"+name+"/"+rec.File, http.StatusFound)
}
