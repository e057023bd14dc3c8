package server

import (
	"embed"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/humanize"
	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/repo"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"time": func(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02 15:04 UTC") },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"bytes": humanize.Bytes,
	"dep": func(d repo.Dep) string {
		s := d.Name
		if d.Flags != "" {
			op := map[string]string{"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}[d.Flags]
			v := d.Version
			if d.Epoch != "" && d.Epoch != "0" {
				v = d.Epoch + ":" + v
			}
			if d.Release != "" {
				v += "-" + d.Release
			}
			s += " " + op + " " + v
		}
		if d.Pre {
			s += " (pre)"
		}
		return s
	},
}).ParseFS(templateFS, "templates/*.html"))

func (s *Server) webRoutes() {
	s.mux.HandleFunc("GET /{$}", s.pageHome)
	s.mux.HandleFunc("GET /r/{name}", s.pageRepo)
	s.mux.HandleFunc("GET /r/{name}/p/{pkg}", s.pagePackage)
	s.mux.HandleFunc("GET /builds", s.pageBuilds)
	s.mux.HandleFunc("GET /builds/{id}", s.pageBuild)
	s.advisoryRoutes()
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data map[string]any) {
	data["Base"] = s.baseURL(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("render", "page", name, "err", err)
	}
}

type repoRow struct {
	Name     string
	Packages int
	Revision string
}

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) {
	var repos []repoRow
	for _, rc := range s.cfg.Repos {
		c := s.catalog(rc.Name)
		repos = append(repos, repoRow{rc.Name, countNames(c), c.Revision})
	}
	jobs := s.st.snapshot()
	if len(jobs) > 10 {
		jobs = jobs[:10]
	}
	s.render(w, r, "home.html", map[string]any{"Title": "acn", "Repos": repos, "Jobs": jobs, "Live": running(jobs), "Health": s.health(),
		"SandboxOff": s.cfg.Builds.sandbox == builder.SandboxOff, "Keys": sign.Statuses(s.keys, s.now())})
}

func countNames(c *repo.Catalog) int {
	n := 0
	for i, e := range c.Entries {
		if i == 0 || c.Entries[i-1].Name != e.Name {
			n++
		}
	}
	return n
}

func running(jobs []Job) bool {
	for _, j := range jobs {
		if j.Status == Queued || j.Status == Building {
			return true
		}
	}
	return false
}

type pkgRow struct {
	*repo.Entry
	Versions int
}

// matches is the package search of the web index and the API: every
// package whose name, summary or description holds q, in any case.
func matches(e *repo.Entry, q string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	return q == "" || strings.Contains(strings.ToLower(e.Name+" "+e.Summary+" "+e.Description), q)
}

func (s *Server) pageRepo(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.repoConfig(name) == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such repository"})
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	c := s.catalog(name)
	var rows []pkgRow
	for _, e := range c.Entries {
		if n := len(rows); n > 0 && rows[n-1].Name == e.Name {
			rows[n-1].Versions++
			continue
		}
		if !matches(e, q) {
			continue
		}
		rows = append(rows, pkgRow{Entry: e, Versions: 1})
	}
	s.render(w, r, "repo.html", map[string]any{"Title": name, "Repo": name, "Query": q, "Rows": rows, "Revision": c.Revision})
}

func (s *Server) pagePackage(w http.ResponseWriter, r *http.Request) {
	name, pkg := r.PathValue("name"), r.PathValue("pkg")
	c := s.catalog(name)
	var versions []*repo.Entry
	for _, e := range c.Entries {
		if e.Name == pkg {
			versions = append(versions, e)
		}
	}
	if len(versions) == 0 {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such package"})
		return
	}
	cur := versions[0]
	if v := r.URL.Query().Get("v"); v != "" {
		for _, e := range versions {
			if e.EVR()+"."+e.Arch == v || e.EVR() == v {
				cur = e
				break
			}
		}
	}
	d, err := c.Details(cur.PkgID)
	if err != nil {
		s.fail(w, r, httpError{code: http.StatusInternalServerError, msg: "cannot read metadata", err: err})
		return
	}
	var builds []Job
	file := name + "/" + pathBase(cur.Location)
	for _, j := range s.st.snapshot() {
		for _, p := range j.RPMs {
			if p == file {
				builds = append(builds, j)
			}
		}
	}
	s.render(w, r, "package.html", map[string]any{"Title": pkg, "Repo": name, "Pkg": cur, "Versions": versions,
		"Details": d, "Builds": builds, "Download": "/repos/" + name + "/" + cur.Location, "Provenance": s.provenance(name, cur),
		"SignedBy": s.packageSigner(name, cur.Location), "AdvisoryOf": s.advisoriesOf(name)})
}

func pathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (s *Server) pageBuilds(w http.ResponseWriter, r *http.Request) {
	jobs := s.st.snapshot()
	s.render(w, r, "builds.html", map[string]any{"Title": "builds", "Jobs": jobs, "Live": running(jobs)})
}

func (s *Server) pageBuild(w http.ResponseWriter, r *http.Request) {
	j := s.findJob(r.PathValue("id"))
	if j == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such build"})
		return
	}
	log := logTail(j.Log, 1<<20, "... (start cut; the full log is at /api/v1/builds/"+itoa(j.ID)+"/log)\n")
	s.render(w, r, "build.html", map[string]any{"Title": "build " + itoa(j.ID), "Job": j, "Log": string(log),
		"Live": j.Status == Queued || j.Status == Building})
}

// logTail reads the last limit bytes of a log, prefixed by cut when the
// start is left out: a page never reads a whole large log.
func logTail(name string, limit int64, cut string) []byte {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(fi.Size()-limit, 0)
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	if off > 0 {
		return append([]byte(cut), b[:n]...)
	}
	return b[:n]
}

// provenance reads where a published package came from out of its RPM
// header (repodata has no place for it); a package that cannot be read
// shows none, and the reason is logged.
func (s *Server) provenance(repoName string, e *repo.Entry) repo.Provenance {
	rel := filepath.FromSlash(e.Location)
	if !filepath.IsLocal(rel) {
		return repo.Provenance{}
	}
	p, err := repo.ReadProvenance(filepath.Join(s.repoDir(repoName), rel))
	if err != nil {
		s.log.Warn("read package provenance", "repo", repoName, "package", e.Location, "err", err)
	}
	return p
}
