package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acn-project/acn/specs"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /repos/{file}", s.repoFile)
	m.HandleFunc("GET /repos/{name}/{path...}", s.serveRepo)
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.write(w)
		s.writeKeyMetrics(w)
	})
	m.HandleFunc("GET /keys/{file}", s.servePublicKeys)
	m.HandleFunc("GET /api/v1/repos", s.apiRepos)
	m.HandleFunc("GET /api/v1/repos/{name}/packages", s.apiPackages)
	m.HandleFunc("GET /api/v1/repos/{name}/packages/{pkg}", s.apiPackage)
	m.HandleFunc("GET /api/v1/builds", s.apiBuilds)
	m.HandleFunc("GET /api/v1/builds/{id}", s.apiBuild)
	m.HandleFunc("GET /api/v1/builds/{id}/log", s.buildLog)
	m.HandleFunc("POST /api/v1/builds", s.authorized(s.apiTrigger))
	m.HandleFunc("POST /api/v1/promote", s.authorized(s.apiPromote))
	m.HandleFunc("POST /api/v1/hooks/git", s.webhook)
	s.webRoutes()
}

// httpError is an error with the status and the message for the client;
// the error itself is logged, not shown.
type httpError struct {
	code int
	msg  string
	err  error
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, e httpError) {
	if e.err != nil {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "code", e.code, "err", e.err)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, e.code, map[string]string{"error": e.msg})
		return
	}
	http.Error(w, e.msg, e.code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// repoFile serves /repos/<name>.repo, the file a node drops into
// /etc/yum.repos.d.
func (s *Server) repoFile(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if name, ok := strings.CutSuffix(file, releaseAlias); ok && s.repoConfig(name) != nil {
		s.serveReleaseAlias(w, r, name)
		return
	}
	name, ok := strings.CutSuffix(file, ".repo")
	if !ok || s.repoConfig(name) == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such repository"})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	io.WriteString(w, s.repoFileContent(s.baseURL(r), name))
}

// repoFileContent is the .repo file of repository name whose server is
// reached at base: what /repos/<name>.repo serves and what the release
// package installs.
func (s *Server) repoFileContent(base, name string) string {
	return fmt.Sprintf("[%s]\nname=%s packages from acn\nbaseurl=%s/repos/%s/\nenabled=1\n%smetadata_expire=5m\n",
		name, name, base, name, s.gpgLines(base, name))
}

// baseURL is where clients reach acn: public_url, else the address the
// client used, if it is a plain host name or address with an optional
// port, else the listen address. A client cannot make acn write anything
// else into a .repo file.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	host := r.Host
	if !hostRE.MatchString(host) || len(host) > 255 {
		host = s.cfg.Listen
	}
	return scheme + "://" + host
}

// hostRE is a DNS name or IPv4 address, or a bracketed IPv6 address,
// with an optional port.
var hostRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// healthz says whether the daemon is ready, and "degraded" with the
// problems when something needs an operator: the spec repository cannot
// be fetched, the state cannot be saved, a built tag moved. It answers 200
// even then: acn still serves what it published.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := s.health()
	st := map[string]any{"status": "ok", "ready": h.Ready}
	if len(h.Problems) > 0 {
		st["status"] = "degraded"
		st["problems"] = h.Problems
	}
	if !h.LastSync.IsZero() {
		st["last_sync"] = h.LastSync.UTC().Format(time.RFC3339)
	}
	if h.SyncErr != "" {
		st["last_sync_error"] = h.SyncErr
	}
	writeJSON(w, http.StatusOK, st)
}

// health is what /healthz and the web index report.
type health struct {
	Ready    bool
	LastSync time.Time
	SyncErr  string
	Problems []string
}

func (s *Server) health() health {
	s.syncMu.Lock()
	h := health{Ready: s.ready, LastSync: s.lastSync}
	if s.syncErr != nil {
		h.SyncErr = s.syncErr.Error()
		h.Problems = append(h.Problems, "cannot fetch the spec repository: "+h.SyncErr)
	}
	h.Problems = append(h.Problems, s.moved...)
	h.Problems = append(h.Problems, s.relErrs...)
	s.syncMu.Unlock()
	if err := s.st.saveErr(); err != nil {
		h.Problems = append(h.Problems, "cannot save the build state: "+err.Error())
	}
	h.Problems = append(h.Problems, s.keyProblems()...)
	h.Problems = append(h.Problems, s.groupProblems()...)
	return h
}

type repoJSON struct {
	Name     string `json:"name"`
	Packages int    `json:"packages"`
	Revision string `json:"revision"`
	BaseURL  string `json:"baseurl"`
	RepoFile string `json:"repo_file"`
}

func (s *Server) apiRepos(w http.ResponseWriter, r *http.Request) {
	var out []repoJSON
	for _, rc := range s.cfg.Repos {
		c := s.catalog(rc.Name)
		out = append(out, repoJSON{Name: rc.Name, Packages: len(c.Entries), Revision: c.Revision,
			BaseURL: s.baseURL(r) + "/repos/" + rc.Name + "/", RepoFile: s.baseURL(r) + "/repos/" + rc.Name + ".repo"})
	}
	writeJSON(w, http.StatusOK, out)
}

type pkgJSON struct {
	Name      string `json:"name"`
	Epoch     string `json:"epoch"`
	Version   string `json:"version"`
	Release   string `json:"release"`
	Arch      string `json:"arch"`
	Summary   string `json:"summary"`
	BuildTime int64  `json:"buildtime"`
	Size      int64  `json:"size"`
	Checksum  string `json:"sha256"`
	URL       string `json:"download"`
}

func (s *Server) apiPackages(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.repoConfig(name) == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such repository"})
		return
	}
	q := r.URL.Query().Get("q")
	out := []pkgJSON{}
	for _, e := range s.catalog(name).Entries {
		if !matches(e, q) {
			continue
		}
		out = append(out, pkgJSON{e.Name, e.Epoch, e.Version, e.Release, e.Arch, e.Summary, e.BuildTime, e.Size, e.PkgID,
			s.baseURL(r) + "/repos/" + name + "/" + e.Location})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiPackage(w http.ResponseWriter, r *http.Request) {
	name, pkg := r.PathValue("name"), r.PathValue("pkg")
	var out []map[string]any
	cat := s.catalog(name)
	advs := s.advisoriesOf(name)
	for _, e := range cat.Entries {
		if e.Name != pkg {
			continue
		}
		d, err := cat.Details(e.PkgID)
		if err != nil {
			s.fail(w, r, httpError{code: http.StatusInternalServerError, msg: "cannot read metadata", err: err})
			return
		}
		out = append(out, map[string]any{"package": e, "files": d.Files, "changelog": d.Changelogs,
			"provenance": s.provenance(name, e), "advisories": advs[e.NEVRA()],
			"download": s.baseURL(r) + "/repos/" + name + "/" + e.Location})
	}
	if out == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such package"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiBuilds(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.st.snapshot())
}

func (s *Server) findJob(id string) *Job {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil
	}
	j, ok := s.st.job(n)
	if !ok {
		return nil
	}
	return &j
}

func (s *Server) apiBuild(w http.ResponseWriter, r *http.Request) {
	j := s.findJob(r.PathValue("id"))
	if j == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such build"})
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) buildLog(w http.ResponseWriter, r *http.Request) {
	j := s.findJob(r.PathValue("id"))
	if j == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such build"})
		return
	}
	f, err := os.Open(j.Log)
	if err != nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no log yet"})
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.Copy(w, f)
}

// authorized lets through requests with one of the configured API tokens.
func (s *Server) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="acn"`)
			s.fail(w, r, httpError{code: http.StatusUnauthorized, msg: "a valid API token is required"})
			return
		}
		h(w, r)
	}
}

func (s *Server) tokenOK(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	for _, t := range s.cfg.APITokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			return true
		}
	}
	return false
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (s *Server) apiTrigger(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ref string `json:"ref"`
	}
	if err := decodeBody(r, &req); err != nil || req.Ref == "" {
		s.fail(w, r, httpError{code: http.StatusBadRequest, msg: `want {"ref": "<tag, branch or commit>"}`})
		return
	}
	// The fetch is bounded by git.timeout, not by the request: net/http
	// cancels a request's context when its read deadline passes.
	j, err := s.Build(context.WithoutCancel(r.Context()), req.Ref)
	switch {
	case errors.Is(err, specs.ErrRef):
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such ref: " + req.Ref, err: err})
		return
	case errors.Is(err, ErrUpstream):
		s.fail(w, r, httpError{code: http.StatusBadGateway, msg: "cannot fetch the spec repository", err: err})
		return
	case err != nil:
		s.fail(w, r, httpError{code: http.StatusInternalServerError, msg: "cannot queue the build", err: err})
		return
	}
	writeJSON(w, http.StatusAccepted, j)
}

func (s *Server) apiPromote(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Package string `json:"package"`
		Version string `json:"version"`
		From    string `json:"from"`
		To      string `json:"to"`
	}
	if err := decodeBody(r, &req); err != nil || req.Package == "" || req.Version == "" || req.From == "" || req.To == "" {
		s.fail(w, r, httpError{code: http.StatusBadRequest, msg: `want {"package", "version", "from", "to"}`})
		return
	}
	got, err := s.Promote(context.WithoutCancel(r.Context()), req.Package, req.Version, req.From, req.To)
	switch {
	case errors.Is(err, ErrNotFound):
		msg := fmt.Sprintf("%s %s is not in %s", req.Package, req.Version, req.From)
		for _, name := range []string{req.From, req.To} {
			if s.repoConfig(name) == nil {
				msg = fmt.Sprintf("no repository %q", name)
			}
		}
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: msg, err: err})
		return
	case errors.Is(err, ErrImmutable):
		s.fail(w, r, httpError{code: http.StatusConflict, msg: fmt.Sprintf("%s %s is already in %s with different content", req.Package, req.Version, req.To), err: err})
		return
	case err != nil:
		s.fail(w, r, httpError{code: http.StatusInternalServerError, msg: "promotion failed; the server log has the details", err: err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"promoted": got})
}

// webhookMax bounds a webhook's body (GitHub sends at most 25 MB). The
// body is hashed as it arrives, never held in memory.
const webhookMax = 25 << 20

// webhook accepts a push notification signed the GitHub way
// (X-Hub-Signature-256: sha256=HMAC) or the Gitea way (X-Gitea-Signature:
// HMAC), or carrying an API token, and makes the loop fetch now. A signed
// delivery is accepted once: its signature and delivery ID are remembered
// (see deliveries), so a captured delivery cannot be replayed.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if s.tokenOK(r) {
		s.Trigger()
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "fetching"})
		return
	}
	sig := s.signature(r)
	if sig == nil {
		s.fail(w, r, httpError{code: http.StatusUnauthorized, msg: "signature or token required"})
		return
	}
	mac := hmac.New(sha256.New, s.secret)
	n, err := io.Copy(mac, io.LimitReader(r.Body, webhookMax+1))
	if err != nil {
		s.fail(w, r, httpError{code: http.StatusBadRequest, msg: "cannot read body"})
		return
	}
	if n > webhookMax {
		w.Header().Set("Connection", "close")
		s.fail(w, r, httpError{code: http.StatusRequestEntityTooLarge, msg: "body too large"})
		return
	}
	sum := mac.Sum(nil)
	if !hmac.Equal(sig, sum) {
		s.fail(w, r, httpError{code: http.StatusUnauthorized, msg: "signature or token required"})
		return
	}
	id := r.Header.Get("X-GitHub-Delivery")
	for _, h := range []string{"X-Gitea-Delivery", "X-Gogs-Delivery"} {
		if id == "" {
			id = r.Header.Get(h)
		}
	}
	if !s.deliveries.first(hex.EncodeToString(sum), id, s.now()) {
		s.fail(w, r, httpError{code: http.StatusConflict, msg: "delivery already received",
			err: fmt.Errorf("webhook: replayed delivery %q", id)})
		return
	}
	s.Trigger()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "fetching"})
}

// signature is the HMAC a request claims, or nil.
func (s *Server) signature(r *http.Request) []byte {
	if len(s.secret) == 0 {
		return nil
	}
	for _, got := range []string{strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="), r.Header.Get("X-Gitea-Signature")} {
		if b, err := hex.DecodeString(got); err == nil && len(b) == sha256.Size {
			return b
		}
	}
	return nil
}

// deliveries remembers the webhook deliveries accepted in the last
// deliveryWindow, by signature and by delivery ID, up to deliveryMax.
type deliveries struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	order []string
}

const (
	deliveryWindow = 24 * time.Hour
	deliveryMax    = 10000
)

// first reports whether neither key was seen in the window, and records
// both.
func (d *deliveries) first(sig, id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[string]time.Time{}
	}
	// Forget what is past the window, or beyond the bound.
	for len(d.order) > 0 {
		k := d.order[0]
		if t, ok := d.seen[k]; ok && now.Sub(t) < deliveryWindow && len(d.order) < deliveryMax {
			break
		}
		delete(d.seen, k)
		d.order = d.order[1:]
	}
	keys := []string{"sig:" + sig}
	if id != "" {
		keys = append(keys, "id:"+id)
	}
	for _, k := range keys {
		if _, ok := d.seen[k]; ok {
			return false
		}
	}
	for _, k := range keys {
		d.seen[k] = now
		d.order = append(d.order, k)
	}
	return true
}
