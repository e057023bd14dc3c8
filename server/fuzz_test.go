package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRepoPaths sends arbitrary paths to the server: nothing outside a
// repository's published files may ever be served.
func FuzzRepoPaths(f *testing.F) {
	for _, seed := range []string{
		"/repos/acn/repodata/repomd.xml", "/repos/acn/../state.json", "/repos/acn/%2e%2e/state.json",
		"/repos/acn/.acn/index-cache", "/repos/acn//x", "/repos/acn/./x.rpm", "/repos/acn.repo",
		"/repos/acn/sub/../../secret", "/api/v1/builds/1/log", "/r/acn/p/..%2f..%2fsecret",
		"/repos/acn/link.rpm", "/repos/acn/dir/secret", `/repos/acn/..\..\secret`,
	} {
		f.Add(seed)
	}
	data := f.TempDir()
	s, err := New(Config{Data: data, Git: GitConfig{URL: data}})
	if err != nil {
		f.Fatal(err)
	}
	const marker = "SECRET-NOT-TO-BE-SERVED"
	os.WriteFile(filepath.Join(data, "secret"), []byte(marker), 0o644)
	os.WriteFile(filepath.Join(data, "state.json"), []byte(`{"jobs":[],"next":1,"x":"`+marker+`"}`), 0o644)
	os.MkdirAll(filepath.Join(data, "repos", "acn", ".acn"), 0o755)
	os.WriteFile(filepath.Join(data, "repos", "acn", ".acn", "index-cache"), []byte(marker), 0o644)
	os.WriteFile(filepath.Join(data, "repos", "acn", "ok.rpm"), []byte("fine"), 0o644)
	// Symbolic links out of the repository: to a file, to a directory.
	os.Symlink("../../secret", filepath.Join(data, "repos", "acn", "link.rpm"))
	os.Symlink("../..", filepath.Join(data, "repos", "acn", "dir"))
	h := s.Handler()
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		req, err := http.NewRequest(http.MethodGet, "http://x"+p, nil)
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if strings.Contains(w.Body.String(), marker) {
			t.Fatalf("%q served a file outside the published repository", p)
		}
	})
}
