package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/server"
)

// TestProvenanceShown: a package's page and its JSON API entry show the
// commit, the ref and the build log's SHA-256 that its header records; the
// SHA-256 is that of the build log the job's log holds.
func TestProvenanceShown(t *testing.T) {
	r := gittest.New(t)
	commit := strings.TrimSpace(r.Commit("1.0", map[string]string{
		"specs/prov.yaml": "name: prov\nversion: \"1.0\"\nsummary: S\nlicense: MIT\nbuild:\n" +
			"  - echo prov > \"$DESTDIR/prov.txt\"\nfiles:\n  - src: $DESTDIR/prov.txt\n    dst: /usr/share/prov.txt\n",
	}))
	r.Git("tag", "prov/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Repos: []server.RepoConfig{{Name: "testing"}}})
	j := d.wait("prov/v1.0")
	_, log := d.get(fmt.Sprintf("/api/v1/builds/%d/log", j.ID))
	if j.Status != server.Succeeded {
		t.Fatalf("build: %+v\n%s", j, log)
	}
	// The job's log holds the package's build log whole.
	begin := strings.Index(log, "==> prov-1.0-1.noarch from ")
	end := strings.Index(log, "==> step 1 done\n")
	if begin < 0 || end < begin {
		t.Fatalf("no build log in the job's log:\n%s", log)
	}
	sum := sha256.Sum256([]byte(log[begin : end+len("==> step 1 done\n")]))
	wantLog := hex.EncodeToString(sum[:])

	code, body := d.get("/api/v1/repos/testing/packages/prov")
	if code != 200 {
		t.Fatalf("API: %d %s", code, body)
	}
	var versions []struct {
		Provenance struct {
			VCS       string `json:"vcs"`
			Commit    string `json:"commit"`
			Ref       string `json:"ref"`
			LogSHA256 string `json:"log_sha256"`
		} `json:"provenance"`
	}
	if err := json.Unmarshal([]byte(body), &versions); err != nil || len(versions) != 1 {
		t.Fatalf("API: %v: %s", err, body)
	}
	p := versions[0].Provenance
	if p.VCS != "git+file://"+r.Dir+"#"+commit || p.Commit != commit || p.Ref != "prov/v1.0" || p.LogSHA256 != wantLog {
		t.Errorf("API provenance %+v\nwant commit %s, ref prov/v1.0, log sha256 %s", p, commit, wantLog)
	}
	code, page := d.get("/r/testing/p/prov")
	if code != 200 {
		t.Fatalf("page: %d", code)
	}
	for _, want := range []string{commit, "prov/v1.0", wantLog} {
		if !strings.Contains(page, want) {
			t.Errorf("the package page does not show %s", want)
		}
	}

	// A second version: each one shows its own.
	commit2 := strings.TrimSpace(r.Commit("2.0", map[string]string{
		"specs/prov.yaml": "name: prov\nversion: \"2.0\"\nsummary: S\nlicense: MIT\nbuild:\n" +
			"  - echo prov2 > \"$DESTDIR/prov.txt\"\nfiles:\n  - src: $DESTDIR/prov.txt\n    dst: /usr/share/prov.txt\n",
	}))
	r.Git("tag", "prov/v2.0")
	d.hook("")
	if j := d.wait("prov/v2.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}
	_, body = d.get("/api/v1/repos/testing/packages/prov")
	versions = nil
	if err := json.Unmarshal([]byte(body), &versions); err != nil || len(versions) != 2 {
		t.Fatalf("API: %v: %s", err, body)
	}
	refs := map[string]string{}
	for _, v := range versions {
		refs[v.Provenance.Ref] = v.Provenance.Commit
	}
	if refs["prov/v1.0"] != commit || refs["prov/v2.0"] != commit2 {
		t.Errorf("API: commits by ref %v, want %s and %s", refs, commit, commit2)
	}
	for v, want := range map[string]string{"1.0-1.noarch": commit, "2.0-1.noarch": commit2} {
		if _, page := d.get("/r/testing/p/prov?v=" + v); !strings.Contains(page, want) {
			t.Errorf("the page of version %s does not show commit %s", v, want)
		}
	}
}
