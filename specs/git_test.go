package specs_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/specs"
)

func spec(name, version string) string {
	return "name: " + name + "\nversion: " + version + "\nsummary: S\nlicense: MIT\n"
}

func read(t *testing.T, s *specs.Snapshot, name string) string {
	t.Helper()
	b, err := fs.ReadFile(s.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// history makes a repository with two releases of "app", an annotated and
// a lightweight tag, and a branch that moved on.
func history(t *testing.T) (r *gittest.Repo, c1, c2, c3 string) {
	r = gittest.New(t)
	c1 = r.Commit("app 1.0", map[string]string{"specs/app.yaml": spec("app", "1.0"), "src/a.txt": "one\n"})
	r.Git("tag", "-a", "-m", "release", "app/v1.0")
	c2 = r.Commit("app 1.1", map[string]string{"specs/app.yaml": spec("app", "1.1"), "src/a.txt": "two\n"})
	r.Git("tag", "app/v1.1") // lightweight
	r.Git("checkout", "-q", "-b", "next")
	r.Date = "2026-02-03T04:05:06Z"
	c3 = r.Commit("app 2.0", map[string]string{"specs/app.yaml": spec("app", "2.0"), "src/a.txt": "three\n"})
	r.Git("checkout", "-q", "main")
	return r, c1, c2, c3
}

func TestResolveRefs(t *testing.T) {
	r, c1, c2, c3 := history(t)
	// The working repository (loose objects), and a bare clone (packed).
	bare := filepath.Join(t.TempDir(), "specs.git")
	r.Git("clone", "-q", "--bare", "--no-local", r.Dir, bare)
	for _, loc := range []string{r.Dir, bare} {
		t.Run(filepath.Base(loc), func(t *testing.T) { resolveRefs(t, loc, c1, c2, c3) })
	}
	// The user's working tree is never touched.
	if out := r.Git("status", "--porcelain"); out != "" {
		t.Errorf("working tree changed: %s", out)
	}
}

func resolveRefs(t *testing.T, loc, c1, c2, c3 string) {
	repo, err := specs.Open(context.Background(), loc, specs.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ ref, commit, content string }{
		{"app/v1.0", c1, "one\n"},
		{"refs/tags/app/v1.0", c1, "one\n"},
		{"app/v1.1", c2, "two\n"},
		{"main", c2, "two\n"},
		{"HEAD", c2, "two\n"},
		{"", c2, "two\n"},
		{"next", c3, "three\n"},
		{c1, c1, "one\n"},
		{c3[:8], c3, "three\n"},
	} {
		s, err := repo.Resolve(tt.ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.ref, err)
			continue
		}
		if s.Commit.String() != tt.commit {
			t.Errorf("Resolve(%q) = %s, want %s", tt.ref, s.Commit, tt.commit)
		}
		if got := read(t, s, "src/a.txt"); got != tt.content {
			t.Errorf("Resolve(%q): src/a.txt = %q", tt.ref, got)
		}
	}
	s, _ := repo.Resolve("next")
	if want := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC); !s.Time.Equal(want) {
		t.Errorf("commit time %v, want %v", s.Time, want)
	}
	if _, err := repo.Resolve("nope"); !errors.Is(err, specs.ErrRef) {
		t.Errorf("unknown ref: %v", err)
	}
	tags, err := repo.Tags()
	if err != nil || strings.Join(tags, " ") != "app/v1.0 app/v1.1" {
		t.Errorf("Tags() = %v, %v", tags, err)
	}
}

func TestSelect(t *testing.T) {
	r, _, _, _ := history(t)
	r.Commit("second package", map[string]string{"specs/web.yaml": spec("web", "3.0")})
	r.Git("tag", "web/v9.9") // a tag whose version the spec does not have
	repo, err := specs.Open(context.Background(), r.Dir, specs.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := func(ref string, want ...string) []*specs.Spec {
		t.Helper()
		s, err := repo.Resolve(ref)
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.Select(want)
		if err != nil {
			t.Fatalf("Select at %s: %v", ref, err)
		}
		return list
	}
	if l := names("main"); len(l) != 2 || l[0].Name != "app" || l[1].Name != "web" {
		t.Errorf("all specs: %v", l)
	}
	if l := names("main", "web"); len(l) != 1 || l[0].Name != "web" {
		t.Errorf("--spec web: %v", l)
	}
	if l := names("app/v1.0"); len(l) != 1 || l[0].Name != "app" || l[0].Version != "1.0" {
		t.Errorf("tag app/v1.0: %v", l)
	}
	s, _ := repo.Resolve("web/v9.9")
	if _, err := s.Select(nil); err == nil || !strings.Contains(err.Error(), "says version 9.9") {
		t.Errorf("mismatched tag: %v", err)
	}
	s, _ = repo.Resolve("app/v1.0")
	if _, err := s.Select([]string{"web"}); err == nil {
		t.Error("--spec web with tag app/v1.0 gave no error")
	}
	s, _ = repo.Resolve("main")
	if _, err := s.Select([]string{"missing"}); err == nil || !strings.Contains(err.Error(), "specs/missing.yaml") {
		t.Errorf("missing spec: %v", err)
	}
}

func TestSpecsReportsEveryBrokenFile(t *testing.T) {
	r := gittest.New(t)
	r.Commit("x", map[string]string{
		"specs/good.yaml": spec("good", "1"),
		"specs/bad1.yaml": "name: bad1\nversion: 1-1\nsummary: S\nlicense: MIT\n",
		"specs/bad2.yaml": spec("bad2", "1") + "colour: red\n",
	})
	repo, _ := specs.Open(context.Background(), r.Dir, specs.OpenOptions{})
	s, _ := repo.Resolve("HEAD")
	list, err := s.Specs()
	if len(list) != 1 || list[0].Name != "good" {
		t.Errorf("good specs: %v", list)
	}
	for _, want := range []string{"specs/bad1.yaml:2: version", "specs/bad2.yaml:5: colour: unknown key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

// TestRemoteMirror clones over file:// into the cache, then fetches only
// what is new.
func TestRemoteMirror(t *testing.T) {
	r, _, c2, _ := history(t)
	cache := t.TempDir()
	url := "file://" + r.Dir
	ctx := context.Background()
	repo, err := specs.Open(ctx, url, specs.OpenOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	s, err := repo.Resolve("app/v1.1")
	if err != nil || s.Commit.String() != c2 {
		t.Fatalf("Resolve in mirror: %v %v", s, err)
	}
	if s, err := repo.Resolve("HEAD"); err != nil || s.Commit.String() != c2 {
		t.Fatalf("mirror HEAD: %v", err)
	}
	mirrors, _ := filepath.Glob(filepath.Join(cache, "*.git"))
	if len(mirrors) != 1 {
		t.Fatalf("mirrors: %v", mirrors)
	}
	objects := countObjects(t, mirrors[0])

	c4 := r.Commit("app 1.2", map[string]string{"specs/app.yaml": spec("app", "1.2")})
	r.Git("tag", "app/v1.2")
	repo, err = specs.Open(ctx, url, specs.OpenOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	s, err = repo.Resolve("app/v1.2")
	if err != nil || s.Commit.String() != c4 {
		t.Fatalf("new tag after fetch: %v %v", s, err)
	}
	if got := countObjects(t, mirrors[0]); got-objects > 10 || got <= objects {
		t.Errorf("second fetch went from %d to %d objects; want only the few new ones", objects, got)
	}
	// Unchanged remote: a third open is a no-op fetch.
	if _, err := specs.Open(ctx, url, specs.OpenOptions{CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
}

// countObjects counts the objects in a bare repository with git itself.
func countObjects(t *testing.T, dir string) int {
	t.Helper()
	out, err := runGit(dir, "count-objects", "-v")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		var v int
		if k, val, ok := strings.Cut(line, ": "); ok && (k == "count" || k == "in-pack") {
			for _, c := range val {
				v = v*10 + int(c-'0')
			}
			n += v
		}
	}
	return n
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := specs.Open(ctx, t.TempDir(), specs.OpenOptions{}); err == nil {
		t.Error("a directory that is no repository opened")
	}
	_, err := specs.Open(ctx, "file:///nonexistent/repo.git", specs.OpenOptions{CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "fetch file:///nonexistent/repo.git") {
		t.Errorf("missing remote: %v", err)
	}
	_, err = specs.Open(ctx, "https://user:secret@git.invalid/x.git", specs.OpenOptions{CacheDir: t.TempDir()})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a password leaked into %v", err)
	}
}

func TestTreeFS(t *testing.T) {
	r := gittest.New(t)
	r.Commit("x", map[string]string{
		"specs/x.yaml":     spec("x", "1"),
		"bin/run":          "#!/bin/sh\necho hi\n",
		"doc/a.txt":        "a\n",
		"doc/link":         "->a.txt",
		"dirlink":          "->doc",
		"up/escape":        "->../../etc/passwd",
		"abs":              "->/etc/passwd",
		"deep/dir/file.md": "deep\n",
	})
	repo, _ := specs.Open(context.Background(), r.Dir, specs.OpenOptions{})
	s, _ := repo.Resolve("HEAD")
	if err := fstest.TestFS(s.FS, "bin/run", "doc/a.txt", "deep/dir/file.md", "specs/x.yaml"); err != nil {
		// fstest follows links with Open, and our escaping links fail.
		if !strings.Contains(err.Error(), "escape") && !strings.Contains(err.Error(), "leaves the repository") {
			t.Error(err)
		}
	}
	fi, err := fs.Stat(s.FS, "bin/run")
	if err != nil || fi.Mode().Perm() != 0o755 || fi.Size() != 18 {
		t.Errorf("bin/run: %v %v", fi, err)
	}
	if got := read(t, s, "doc/link"); got != "a\n" {
		t.Errorf("link inside the tree: %q", got)
	}
	if got := read(t, s, "dirlink/a.txt"); got != "a\n" {
		t.Errorf("through a directory link: %q", got)
	}
	target, err := fs.ReadLink(s.FS, "doc/link")
	if err != nil || target != "a.txt" {
		t.Errorf("ReadLink = %q, %v", target, err)
	}
	li, err := fs.Lstat(s.FS, "doc/link")
	if err != nil || li.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat: %v %v", li, err)
	}
	for _, name := range []string{"up/escape", "abs"} {
		if _, err := fs.ReadFile(s.FS, name); !errors.Is(err, specs.ErrEscapes) {
			t.Errorf("reading %s: %v, want ErrEscapes", name, err)
		}
	}
	if _, err := fs.ReadFile(s.FS, "../x"); err == nil {
		t.Error("../x opened")
	}
}

func TestIsRemote(t *testing.T) {
	for loc, want := range map[string]bool{
		"https://git.example.com/a.git": true,
		"ssh://git@host/a.git":          true,
		"git@github.com:org/a.git":      true,
		"file:///srv/git/a.git":         true,
		".":                             false,
		"/srv/git/a.git":                false,
		"../specs":                      false,
	} {
		if got := specs.IsRemote(loc); got != want {
			t.Errorf("IsRemote(%q) = %v", loc, got)
		}
	}
}

// TestHTTPRemoteWithToken serves a repository with git's own smart-HTTP
// backend behind basic auth, and fetches it with and without the token.
func TestHTTPRemoteWithToken(t *testing.T) {
	r, _, c2, _ := history(t)
	bare := t.TempDir()
	if out, err := runGit(bare, "clone", "-q", "--bare", r.Dir, "repo.git"); err != nil {
		t.Fatal(out)
	}
	backend := &cgi.Handler{
		Path: "/usr/lib/git-core/git-http-backend",
		Env:  []string{"GIT_PROJECT_ROOT=" + bare, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if user, pass, ok := req.BasicAuth(); !ok || user != "deploy" || pass != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	defer srv.Close()
	url := srv.URL + "/repo.git"
	ctx := context.Background()

	_, err := specs.Open(ctx, url, specs.OpenOptions{CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "authentication required") {
		t.Errorf("no token: %v", err)
	}
	_, err = specs.Open(ctx, url, specs.OpenOptions{CacheDir: t.TempDir(), Auth: specs.Auth{Username: "deploy", Token: "wrong"}})
	if err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong token: %v", err)
	}
	repo, err := specs.Open(ctx, url, specs.OpenOptions{CacheDir: t.TempDir(), Auth: specs.Auth{Username: "deploy", Token: "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := repo.Resolve("app/v1.1")
	if err != nil || s.Commit.String() != c2 {
		t.Fatalf("Resolve over http: %v", err)
	}
}

// TestSpecTooLarge: a huge spec pushed to the repository is refused with
// its name and the limit, before it is read whole, loose or packed.
func TestSpecTooLarge(t *testing.T) {
	r := gittest.New(t)
	big := spec("big", "1") + "description: |\n" + strings.Repeat("  "+strings.Repeat("x", 98)+"\n", 500_000) // 50 MB
	r.Commit("big", map[string]string{"specs/big.yaml": big, "specs/small.yaml": spec("small", "1")})
	r.Commit("bigger", map[string]string{"specs/big.yaml": big + "  y\n"})
	for _, packed := range []bool{false, true} {
		if packed {
			r.Git("gc", "-q") // one of the two is now a delta of the other
		}
		repo, err := specs.Open(context.Background(), r.Dir, specs.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"HEAD", "HEAD~1"} {
			snap, err := repo.Resolve(ref)
			if err != nil {
				t.Fatal(err)
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			_, err = snap.Spec("big")
			runtime.ReadMemStats(&m1)
			var pe *specs.Error
			if !errors.As(err, &pe) || !errors.Is(err, specs.ErrTooLarge) || pe.File != "specs/big.yaml" {
				t.Fatalf("packed %v, %s: error %v: want a specs.Error for specs/big.yaml matching ErrTooLarge", packed, ref, err)
			}
			if !strings.Contains(err.Error(), "256 KiB") {
				t.Errorf("error %q does not name the limit", err)
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8<<20 {
				t.Errorf("packed %v, %s: refusing the spec allocated %d MiB", packed, ref, alloc>>20)
			}
			// The other specs still parse; the big one is reported among them.
			list, err := snap.Specs()
			if len(list) != 1 || list[0].Name != "small" || !errors.Is(err, specs.ErrTooLarge) {
				t.Errorf("Specs() = %v, %v", list, err)
			}
		}
	}
}

// TestTreeFSOddNames: every name git can store is readable, as git stores
// it; entries no path can name are left out rather than breaking a walk.
func TestTreeFSOddNames(t *testing.T) {
	r := gittest.New(t)
	odd := []string{"new\nline", "tab\there", "bad\xffutf8", `back\..\slash`, " lead", "-dash", "quote\"'", "ünïcödé", "\x01ctl"}
	files := map[string]string{"specs/x.yaml": spec("x", "1")}
	for i, name := range odd {
		files["odd/"+name] = fmt.Sprint(i)
	}
	r.Commit("odd", files)
	// A tree git itself would not write: "..", ".", "a/b", a NUL-free
	// duplicate, next to a regular file.
	blob := r.GitInput("hi\n", "hash-object", "-w", "--stdin")
	evil := r.GitInput(string(treeBytes(blob, "..", ".", "ok", "ok", "x/y")), "hash-object", "-t", "tree", "-w", "--literally", "--stdin")
	head := r.Git("rev-parse", "HEAD^{tree}")
	root := r.GitInput(r.Git("ls-tree", head)+"\n040000 tree "+evil+"\tevil\n", "mktree")
	commit := r.Git("commit-tree", root, "-p", "HEAD", "-m", "evil")
	r.Git("update-ref", "refs/heads/main", commit)

	repo, err := specs.Open(context.Background(), r.Dir, specs.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := repo.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := fs.ReadDir(s.FS, "odd")
	if err != nil || len(ents) != len(odd) {
		t.Fatalf("ReadDir(odd) = %d entries, %v; want %d", len(ents), err, len(odd))
	}
	for i, name := range odd {
		if got := read(t, s, "odd/"+name); got != fmt.Sprint(i) {
			t.Errorf("%q: %q", name, got)
		}
	}
	ents, err = fs.ReadDir(s.FS, "evil")
	if err != nil || len(ents) != 1 || ents[0].Name() != "ok" {
		t.Errorf("ReadDir(evil) = %v, %v; want only ok", ents, err)
	}
	var walked []string
	err = fs.WalkDir(s.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			walked = append(walked, p)
		}
		return nil
	})
	if err != nil || len(walked) != len(odd)+2 {
		t.Errorf("walked %q, %v", walked, err)
	}
	for _, name := range []string{"evil/..", "evil/x/y", "odd/new\nline/..", "odd/\x00"} {
		if _, err := fs.Stat(s.FS, name); err == nil {
			t.Errorf("%q: no error", name)
		}
	}
}

// treeBytes is a raw tree object listing blob under each name, in order.
func treeBytes(blob string, names ...string) []byte {
	h, _ := hex.DecodeString(blob)
	var b []byte
	for _, n := range names {
		b = append(b, "100644 "+n+"\x00"...)
		b = append(b, h...)
	}
	return b
}

// TestTreeFSLooseObjects reads blobs from loose objects (read by acn
// itself) and from a pack (read by go-git), and refuses loose objects
// that are not a blob or not zlib data. (Like git, it does not hash what
// it reads: a valid blob of other content is read as it is.)
func TestTreeFSLooseObjects(t *testing.T) {
	r := gittest.New(t)
	files := map[string]string{
		"specs/x.yaml": spec("x", "1"),
		"small.txt":    "small\n",
		"large.bin":    strings.Repeat("0123456789abcdef", 5000) + "end",
		"empty":        "",
	}
	r.Commit("x", files)
	bare := filepath.Join(t.TempDir(), "specs.git")
	r.Git("clone", "-q", "--bare", "--no-local", r.Dir, bare)
	// A worktree's objects are in the main repository's directory.
	worktree := filepath.Join(t.TempDir(), "wt")
	r.Git("worktree", "add", "-q", "--detach", worktree)
	for _, loc := range []string{r.Dir, bare, worktree} {
		repo, err := specs.Open(context.Background(), loc, specs.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := repo.Resolve("HEAD")
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range files {
			if got := read(t, s, name); got != want {
				t.Errorf("%s: %s: %d bytes, want %d", loc, name, len(got), len(want))
			}
		}
	}

	// Loose objects that do not hold the blob the tree names.
	object := func(name string) string {
		h := r.Git("rev-parse", "HEAD:"+name)
		return filepath.Join(r.Dir, ".git", "objects", h[:2], h[2:])
	}
	deflate := func(data string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(data))
		w.Close()
		return b.Bytes()
	}
	large := object("large.bin")
	orig, err := os.ReadFile(large)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(orig)
	flipped[len(flipped)-2] ^= 0xff // the zlib checksum
	for what, data := range map[string][]byte{
		"longer":        deflate(fmt.Sprintf("blob %d\x00", len(files["large.bin"])) + files["large.bin"] + "more"),
		"another type":  deflate(fmt.Sprintf("tree %d\x00", len(files["large.bin"])) + files["large.bin"]),
		"no header end": deflate("blob " + strings.Repeat("9", 100)),
		"cut":           orig[:len(orig)/2],
		"checksum":      flipped,
		"not zlib":      []byte("plain bytes, not a zlib stream"),
	} {
		os.Chmod(large, 0o644)
		if err := os.WriteFile(large, data, 0o644); err != nil {
			t.Fatal(err)
		}
		repo, err := specs.Open(context.Background(), r.Dir, specs.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := repo.Resolve("HEAD")
		if err != nil {
			t.Fatal(err)
		}
		if b, err := fs.ReadFile(s.FS, "large.bin"); err == nil {
			t.Errorf("%s: read %d bytes, no error", what, len(b))
		}
	}
}
