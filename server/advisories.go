package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/acn-project/acn/repo"
)

// Advisories, as the web index and the API show them: read from each
// repository's published updateinfo.xml (whoever wrote it), so that what
// a page says is what dnf sees.

// Advisory is one advisory across the repositories that publish it.
type Advisory struct {
	repo.UpdateInfo
	// Repos maps each repository that publishes it to the packages it
	// lists there.
	Repos map[string][]repo.UpdatePkg `json:"repos"`
}

func (s *Server) advisoryRoutes() {
	s.mux.HandleFunc("GET /advisories", s.pageAdvisories)
	s.mux.HandleFunc("GET /advisories/{id}", s.pageAdvisory)
	s.mux.HandleFunc("GET /api/v1/advisories", s.apiAdvisories)
	s.mux.HandleFunc("GET /api/v1/advisories/{id}", s.apiAdvisory)
}

// updates reads the advisories of one repository; a repository whose
// updateinfo cannot be read shows none, and the reason is logged.
func (s *Server) updates(name string) []repo.Update {
	us, err := s.catalog(name).Updates()
	if err != nil {
		s.log.Warn("read advisories", "repo", name, "err", err)
	}
	return us
}

// advisories merges the advisories of every repository (or of the one
// named), newest first; type filters by type when not empty.
func (s *Server) advisories(only, typ string) []*Advisory {
	byID := map[string]*Advisory{}
	var out []*Advisory
	for _, rc := range s.cfg.Repos {
		if only != "" && rc.Name != only {
			continue
		}
		for _, u := range s.updates(rc.Name) {
			if typ != "" && u.Type != typ {
				continue
			}
			a := byID[u.ID]
			if a == nil {
				a = &Advisory{UpdateInfo: u.UpdateInfo, Repos: map[string][]repo.UpdatePkg{}}
				byID[u.ID] = a
				out = append(out, a)
			}
			a.Repos[rc.Name] = append(a.Repos[rc.Name], u.Packages...)
		}
	}
	slices.SortStableFunc(out, func(a, b *Advisory) int {
		if c := strings.Compare(b.Issued, a.Issued); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

func (s *Server) advisory(id string) *Advisory {
	for _, a := range s.advisories("", "") {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// advisoriesOf maps each package of repository name (by NEVRA) to the
// IDs of the advisories that list it.
func (s *Server) advisoriesOf(name string) map[string][]string {
	m := map[string][]string{}
	for _, u := range s.updates(name) {
		for _, p := range u.Packages {
			k := p.NEVRA()
			if !slices.Contains(m[k], u.ID) {
				m[k] = append(m[k], u.ID)
			}
		}
	}
	return m
}

func (s *Server) pageAdvisories(w http.ResponseWriter, r *http.Request) {
	typ, only := r.URL.Query().Get("type"), r.URL.Query().Get("repo")
	if only != "" && s.repoConfig(only) == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such repository"})
		return
	}
	s.render(w, r, "advisories.html", map[string]any{"Title": "advisories", "Advisories": s.advisories(only, typ), "Type": typ, "Repo": only})
}

func (s *Server) pageAdvisory(w http.ResponseWriter, r *http.Request) {
	a := s.advisory(r.PathValue("id"))
	if a == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such advisory"})
		return
	}
	repos := make([]string, 0, len(a.Repos))
	for name := range a.Repos {
		repos = append(repos, name)
	}
	slices.Sort(repos)
	s.render(w, r, "advisory.html", map[string]any{"Title": a.ID, "Adv": a, "RepoNames": repos})
}

// apiAdvisories is GET /api/v1/advisories[?repo=NAME][&type=security].
func (s *Server) apiAdvisories(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("repo")
	if name != "" && s.repoConfig(name) == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such repository"})
		return
	}
	out := s.advisories(name, r.URL.Query().Get("type"))
	if out == nil {
		out = []*Advisory{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAdvisory(w http.ResponseWriter, r *http.Request) {
	a := s.advisory(r.PathValue("id"))
	if a == nil {
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: "no such advisory"})
		return
	}
	writeJSON(w, http.StatusOK, a)
}
