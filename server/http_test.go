package server_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/server"
)

func TestHTTP(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	d.wait("hello/v1.0")
	rpmPath := "/repos/acn/hello-1.0-1.noarch.rpm"
	resp, err := http.Head(d.url + rpmPath)
	if err != nil {
		t.Fatal(err)
	}
	etag := resp.Header.Get("ETag")

	tests := []struct {
		method, path string
		header       map[string]string
		code         int
		wantHeader   map[string]string
		wantBody     string
	}{
		{"GET", "/repos/acn/repodata/repomd.xml", nil, 200, map[string]string{"Cache-Control": "no-cache, max-age=0, must-revalidate", "Content-Type": "application/xml"}, "<repomd"},
		{"HEAD", "/repos/acn/repodata/repomd.xml", nil, 200, map[string]string{"Content-Type": "application/xml"}, ""},
		{"GET", rpmPath, nil, 200, map[string]string{"Content-Type": "application/x-rpm", "Cache-Control": "public, max-age=31536000, immutable", "Accept-Ranges": "bytes"}, ""},
		{"GET", rpmPath, map[string]string{"Range": "bytes=0-95"}, 206, map[string]string{"Content-Length": "96"}, ""},
		{"GET", rpmPath, map[string]string{"If-None-Match": etag}, 304, nil, ""},
		{"GET", "/repos/acn/.acn/index-cache", nil, 404, nil, ""},
		{"GET", "/repos/acn/../state.json", nil, 404, nil, ""},
		{"GET", "/repos/acn/repodata/", nil, 404, nil, ""},
		{"GET", "/repos/nope/repodata/repomd.xml", nil, 404, nil, ""},
		{"GET", "/repos/acn.repo", nil, 200, map[string]string{"Content-Type": "text/plain; charset=utf-8"}, "baseurl="},
		{"GET", "/repos/nope.repo", nil, 404, nil, ""},
		{"GET", "/healthz", nil, 200, nil, `"status": "ok"`},
		{"GET", "/metrics", nil, 200, nil, `acn_builds_total{result="success"} 1`},
		{"GET", "/api/v1/repos", nil, 200, map[string]string{"Content-Type": "application/json"}, `"packages": 1`},
		{"GET", "/api/v1/repos/acn/packages?q=hello", nil, 200, nil, `"name": "hello"`},
		{"GET", "/api/v1/repos/acn/packages?q=%20SAYS%20", nil, 200, nil, `"name": "hello"`},
		{"GET", "/api/v1/repos/acn/packages?q=zzz", nil, 200, nil, "[]"},
		{"GET", "/api/v1/repos/acn/packages/hello", nil, 200, nil, "/usr/share/hello/hello.txt"},
		{"GET", "/api/v1/repos/acn/packages/nope", nil, 404, nil, `"error"`},
		{"POST", "/api/v1/builds", nil, 401, map[string]string{"WWW-Authenticate": `Bearer realm="acn"`}, `"error"`},
		{"POST", "/api/v1/builds", map[string]string{"Authorization": "Bearer wrong"}, 401, nil, ""},
		{"POST", "/api/v1/promote", nil, 401, nil, ""},
		{"POST", "/api/v1/hooks/git", nil, 401, nil, ""},
		{"POST", "/api/v1/hooks/git", map[string]string{"Authorization": "Bearer " + token}, 202, nil, ""},
		{"GET", "/", nil, 200, map[string]string{"Content-Type": "text/html; charset=utf-8"}, "/repos/acn.repo"},
		{"GET", "/r/acn?q=hello", nil, 200, nil, "Says hello"},
		{"GET", "/r/acn?q=zzz", nil, 200, nil, "No package matches"},
		{"GET", "/r/acn?q=%20SAYS%20", nil, 200, nil, "Says hello"},
		{"GET", "/r/acn/p/hello", nil, 200, nil, "/usr/share/hello/hello.txt"},
		{"GET", "/builds", nil, 200, nil, "hello/v1.0"},
		{"GET", "/builds/1", nil, 200, nil, "published acn/hello-1.0-1.noarch.rpm"},
		{"GET", "/builds/999", nil, 404, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, d.url+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.code, body)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body lacks %q:\n%.500s", tt.wantBody, body)
			}
		})
	}
}

// TestRetentionAndPromotion keeps the newest version in testing and
// promotes the exact file to stable.
func TestRetentionAndPromotion(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "1.0\n"))
	r.Git("tag", "hello/v1.0")
	r.Commit("1.1", helloSpec("1.1", "1.1\n"))
	r.Git("tag", "hello/v1.1")
	d := start(t, server.Config{
		Git:    server.GitConfig{URL: r.Dir},
		Repos:  []server.RepoConfig{{Name: "testing", Keep: 1, Dist: ".el9"}, {Name: "stable", Promote: true, Dist: ".el9"}},
		Builds: server.BuildConfig{Workers: 2},
	})
	d.wait("hello/v1.0")
	d.wait("hello/v1.1")
	_, body := d.get("/api/v1/repos/testing/packages")
	if !strings.Contains(body, `"version": "1.1"`) || strings.Contains(body, `"version": "1.0"`) || !strings.Contains(body, `"release": "1.el9"`) {
		t.Errorf("testing keeps only the newest, with the dist suffix:\n%s", body)
	}
	req, _ := http.NewRequest(http.MethodPost, d.url+"/api/v1/promote", strings.NewReader(`{"package":"hello","version":"1.1","from":"testing","to":"stable"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("promote: %v %s", err, b)
	}
	resp.Body.Close()
	a, _ := fileSHA(filepath.Join(d.data, "repos", "testing", "hello-1.1-1.el9.noarch.rpm"))
	b, _ := fileSHA(filepath.Join(d.data, "repos", "stable", "hello-1.1-1.el9.noarch.rpm"))
	if a == "" || a != b {
		t.Errorf("promotion did not copy the exact file: %s vs %s", a, b)
	}
	_, body = d.get("/api/v1/repos/stable/packages")
	if !strings.Contains(body, `"version": "1.1"`) {
		t.Errorf("stable after promotion:\n%s", body)
	}
}
