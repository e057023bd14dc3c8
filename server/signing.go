package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/repo"
)

// SigningConfig names the keys acn signs with. The first key signs every
// package a build publishes; every key signs repomd.xml (during a
// rotation, old and new), and every public key is served at
// /keys/RPM-GPG-KEY-<repo>.
type SigningConfig struct {
	Keys []SigningKey `yaml:"keys"`
}

// SigningKey is one private key file (acn key generate) and, if the key
// is protected, the file whose first line is its passphrase. Both are
// hidden from build steps and never served.
type SigningKey struct {
	Key            string `yaml:"key"`
	PassphraseFile string `yaml:"passphrase_file"`
}

// loadSigning reads the configured keys: each must be a private key.
// An expired key is loaded (the daemon starts, /healthz says why builds
// fail); it signs nothing.
func (s *Server) loadSigning() error {
	for i, kc := range s.cfg.Signing.Keys {
		if kc.Key == "" {
			return fmt.Errorf("signing.keys[%d].key: a private key file is required", i)
		}
		k, err := sign.LoadKey(kc.Key, kc.PassphraseFile)
		if err != nil {
			return fmt.Errorf("signing.keys[%d]: %w", i, err)
		}
		if !k.Info().Private {
			return fmt.Errorf("signing.keys[%d]: %s: %w", i, kc.Key, sign.ErrNoPrivateKey)
		}
		for _, o := range s.keys {
			if o.ID() == k.ID() {
				return fmt.Errorf("signing.keys[%d]: key %s appears twice", i, k.ID())
			}
		}
		s.keys = append(s.keys, k)
	}
	return nil
}

// signingFiles are the key and passphrase files: hidden from builds.
func (c *Config) signingFiles() []string {
	var out []string
	for _, k := range c.Signing.Keys {
		out = append(out, k.Key, k.PassphraseFile)
	}
	return out
}

// signBuilt signs a package a build wrote, with the first key, before it
// is published. The signature's time is the commit's (or the key's
// creation, if later), not the clock's: the same commit builds the same
// bytes, signed. A key expired by the clock signs nothing: the job fails
// rather than publish what nodes refuse.
func (s *Server) signBuilt(path string, commitTime time.Time) error {
	if len(s.keys) == 0 {
		return nil
	}
	// Every key signs the metadata this package is published with.
	if err := s.checkSigningKeys(); err != nil {
		return fmt.Errorf("sign %s: %w", filepath.Base(path), err)
	}
	k := s.keys[0]
	t := commitTime
	if created := k.Info().Created; t.Before(created) {
		t = created
	}
	if err := sign.SignRPM(path, k, t); err != nil {
		return fmt.Errorf("sign the built package: %w", err)
	}
	return nil
}

// checkSigningKeys fails when a configured key has expired by the clock.
func (s *Server) checkSigningKeys() error {
	for _, k := range s.keys {
		if k.Expired(s.now()) {
			return fmt.Errorf("signing key %s expired on %s: nothing is published; remove it from signing.keys or add a new key: %w",
				k.ID(), k.Expires().UTC().Format(time.RFC3339), sign.ErrExpired)
		}
	}
	return nil
}

// keyProblems are /healthz's lines about keys that expire within
// sign.WarnBefore or have expired.
func (s *Server) keyProblems() []string {
	var out []string
	for _, st := range sign.Statuses(s.keys, s.now()) {
		if st.Warning != "" {
			out = append(out, st.Warning)
		}
	}
	return out
}

// writeKeyMetrics writes each key's expiry time (0: never).
func (s *Server) writeKeyMetrics(w io.Writer) {
	if len(s.keys) == 0 {
		return
	}
	fmt.Fprintln(w, "# HELP acn_signing_key_expiry_timestamp_seconds When each signing key expires (unix time; 0: never).")
	fmt.Fprintln(w, "# TYPE acn_signing_key_expiry_timestamp_seconds gauge")
	for _, k := range s.keys {
		var t int64
		if !k.Expires().IsZero() {
			t = k.Expires().Unix()
		}
		fmt.Fprintf(w, "acn_signing_key_expiry_timestamp_seconds{key=%q} %d\n", k.ID(), t)
	}
}

// servePublicKeys answers /keys/RPM-GPG-KEY-<repo>: the public keys of
// every configured key, one armored block each. Only public keys: the
// private key files are never opened here.
func (s *Server) servePublicKeys(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.PathValue("file"), "RPM-GPG-KEY-")
	if !ok || s.repoConfig(name) == nil || len(s.keys) == 0 {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such key"})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(sign.PublicKeys(s.keys...))
}

// gpgLines are the .repo file's signature settings.
func (s *Server) gpgLines(base, name string) string {
	if len(s.keys) == 0 {
		return "gpgcheck=0\nrepo_gpgcheck=0\n"
	}
	return fmt.Sprintf("gpgcheck=1\nrepo_gpgcheck=1\ngpgkey=%s/keys/RPM-GPG-KEY-%s\n", base, name)
}

// pairs remembers which repomd.xml each client was last given, so that
// its request for repomd.xml.asc is answered with the signature of those
// bytes even if a publication came in between (a client fetches the two
// one after the other; a signature of another generation fails its
// check). A client is its connection (address and port), else its
// address; one never seen gets the signature of the current repomd.xml.
type pairs struct {
	mu     sync.Mutex
	byConn map[string]pairSeen // "repo\x00ip:port"
	byHost map[string]pairSeen // "repo\x00ip"
}

type pairSeen struct {
	sig  string // generation signature name, in repodata/
	when time.Time
}

const (
	pairsMax = 1 << 14
	pairsTTL = 10 * time.Minute
)

// saw records that client (ip:port) was given the repomd.xml of repoName
// whose generation signature is sig.
func (p *pairs) saw(repoName, client, sig string, now time.Time) {
	host, _, err := net.SplitHostPort(client)
	if err != nil {
		host = client
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byConn == nil || len(p.byConn) >= pairsMax || len(p.byHost) >= pairsMax {
		p.sweep(now)
	}
	p.byConn[repoName+"\x00"+client] = pairSeen{sig, now}
	p.byHost[repoName+"\x00"+host] = pairSeen{sig, now}
}

// sweep drops what is older than pairsTTL, or everything if that is not
// enough room.
func (p *pairs) sweep(now time.Time) {
	for _, m := range []map[string]pairSeen{p.byConn, p.byHost} {
		for k, v := range m {
			if now.Sub(v.when) > pairsTTL {
				delete(m, k)
			}
		}
	}
	if p.byConn == nil || len(p.byConn) >= pairsMax/2 || len(p.byHost) >= pairsMax/2 {
		p.byConn, p.byHost = map[string]pairSeen{}, map[string]pairSeen{}
	}
}

// signature is the generation signature client was given with its last
// repomd.xml of repoName, if it is remembered.
func (p *pairs) signature(repoName, client string, now time.Time) (string, bool) {
	host, _, err := net.SplitHostPort(client)
	if err != nil {
		host = client
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.byConn[repoName+"\x00"+client]; ok && now.Sub(v.when) <= pairsTTL {
		return v.sig, true
	}
	if v, ok := p.byHost[repoName+"\x00"+host]; ok && now.Sub(v.when) <= pairsTTL {
		return v.sig, true
	}
	return "", false
}

// generationSignature is the name of the signature of the repomd.xml
// bytes in f, computed once per version of the file.
func (f *smallFile) generationSignature() string {
	f.sigOnce.Do(func() { f.sig = repo.GenerationSignature(f.data) })
	return f.sig
}

// packageSigner is the ID of the key that signed a published package
// (its header signature's issuer); "" if it is unsigned or unreadable.
func (s *Server) packageSigner(repoName, location string) string {
	file, _, ok := s.repoPath(repoName, location)
	if !ok {
		return ""
	}
	sig, _, err := sign.HeaderSignature(file)
	if err != nil || sig == nil {
		return ""
	}
	p, err := sign.ParseSignature(sig)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%016X", p.IssuerKeyID)
}
