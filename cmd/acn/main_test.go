package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	embedded "github.com/acn-project/acn"
	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/server"
)

func acn(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, getenv, &out, &errb)
	if err != nil {
		code = exitCode(err)
		errb.WriteString("acn: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

func TestHelp(t *testing.T) {
	out, _, code := acn(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "build") || !strings.Contains(out, "version") {
		t.Errorf("acn --help (%d):\n%s", code, out)
	}
	for _, cmd := range []string{"build", "index", "verify", "serve", "promote", "key", "sign", "version"} {
		out, _, code := acn(t, nil, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Usage: acn "+cmd) {
			t.Errorf("acn %s --help (%d):\n%s", cmd, code, out)
		}
		out2, _, _ := acn(t, nil, "help", cmd)
		if out2 != out {
			t.Errorf("acn help %s differs from acn %s --help", cmd, cmd)
		}
	}
	out, _, _ = acn(t, nil, "build", "--help")
	for _, flag := range []string{"-git", "-ref", "-spec", "-out", "-compress", "-cache", "-timeout", "-ssh-key", "-git-token-file", "Examples:"} {
		if !strings.Contains(out, flag) {
			t.Errorf("build --help lacks %s", flag)
		}
	}
	if _, errOut, code := acn(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %s", code, errOut)
	}
	if _, errOut, code := acn(t, nil, "build", "--nope"); code != 2 || !strings.Contains(errOut, "flag provided but not defined: -nope") {
		t.Errorf("unknown flag: %d %s", code, errOut)
	}
	if _, errOut, code := acn(t, nil, "build", "--sandbox", "maybe"); code != 2 || !strings.Contains(errOut, "--sandbox: sandbox \"maybe\": want on or off") {
		t.Errorf("bad --sandbox: %d %s", code, errOut)
	}
	if _, _, code := acn(t, nil); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
	if out, _, code := acn(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "acn ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func ownRepo(t *testing.T) *gittest.Repo {
	r := gittest.New(t)
	r.CopyDir("../../specs", "specs")
	r.CopyDir("../../pkgsrc", "pkgsrc")
	r.Commit("own specs", nil)
	return r
}

func TestBuildCommand(t *testing.T) {
	r := ownRepo(t)
	out := t.TempDir()
	env := map[string]string{"ACN_CACHE_DIR": t.TempDir()}
	stdout, stderr, code := acn(t, env, "build", "--git", r.Dir, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 5 {
		t.Fatalf("want one line per RPM, got:\n%s", stdout)
	}
	for i, name := range []string{"acn-proxy-1.0.0-1.noarch.rpm", "acn-runtime-0.3.1-1.x86_64.rpm", "acn-runtime-devel-0.3.1-1.x86_64.rpm", "acn-runtime-debuginfo-0.3.1-1.x86_64.rpm", "appstruct-1.4.0-1.noarch.rpm"} {
		if !strings.HasPrefix(lines[i], filepath.Join(out, name)+"\t") {
			t.Errorf("line %d = %q, want %s", i, lines[i], name)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "acn-runtime-0.3.1-1.x86_64.build.log")); err != nil {
		t.Errorf("build log: %v", err)
	}

	// A package tag builds just that package.
	r.Git("tag", "appstruct/v1.4.0")
	out2 := t.TempDir()
	stdout, stderr, code = acn(t, env, "build", "--git", r.Dir, "--ref", "appstruct/v1.4.0", "--out", out2)
	if code != 0 || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, "appstruct-1.4.0-1.noarch.rpm") {
		t.Errorf("tag build (%d): %s %s", code, stdout, stderr)
	}
	// The package records the ref it was built from: the tag and HEAD
	// (the same commit) give the same payload and VCS, and two builds of
	// the tag the same bytes.
	head, tag := filepath.Join(out, "appstruct-1.4.0-1.noarch.rpm"), filepath.Join(out2, "appstruct-1.4.0-1.noarch.rpm")
	pa, erra := repo.ReadProvenance(head)
	pb, errb := repo.ReadProvenance(tag)
	commit := strings.TrimSpace(r.Git("rev-parse", "HEAD"))
	if erra != nil || errb != nil || pa.Ref != "HEAD" || pb.Ref != "appstruct/v1.4.0" || pa.Commit != commit || pa.VCS != pb.VCS || pa.VCS != "git+file://"+r.Dir+"#"+commit {
		t.Errorf("provenance of HEAD %+v (%v), of the tag %+v (%v)", pa, erra, pb, errb)
	}
	digest := func(name string) string {
		out, err := exec.Command("rpm", "-qp", "--qf", "%{PAYLOADDIGEST}", name).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if digest(head) != digest(tag) {
		t.Error("the tag and HEAD (the same commit) gave different payloads")
	}
	out4 := t.TempDir()
	if _, stderr, code := acn(t, env, "build", "--git", r.Dir, "--ref", "appstruct/v1.4.0", "--out", out4); code != 0 {
		t.Fatalf("second tag build (%d): %s", code, stderr)
	}
	a, _ := os.ReadFile(tag)
	b, _ := os.ReadFile(filepath.Join(out4, "appstruct-1.4.0-1.noarch.rpm"))
	if !bytes.Equal(a, b) {
		t.Error("two builds of the tag gave different bytes")
	}

	// Over file://, through the mirror cache.
	out3 := t.TempDir()
	stdout, stderr, code = acn(t, env, "build", "--git", "file://"+r.Dir, "--spec", "acn-proxy", "--out", out3, "--compress", "xz")
	if code != 0 || !strings.Contains(stdout, "acn-proxy-1.0.0-1.noarch.rpm") {
		t.Errorf("remote build (%d): %s %s", code, stdout, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(env["ACN_CACHE_DIR"], "git", "*.git")); len(m) != 1 {
		t.Errorf("mirror cache: %v", m)
	}
}

func TestBuildCommandBrokenSpec(t *testing.T) {
	r := ownRepo(t)
	r.Commit("break one", map[string]string{"specs/broken.yaml": "name: broken\nversion: 1.0\nsummary: S\nlicence: MIT\n"})
	out := t.TempDir()
	stdout, stderr, code := acn(t, map[string]string{"ACN_CACHE_DIR": t.TempDir()}, "build", "--git", r.Dir, "--out", out)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, `specs/broken.yaml:4: licence: unknown key: "licence" (did you mean "license"?)`) {
		t.Errorf("stderr does not name file, line and key:\n%s", stderr)
	}
	if strings.Count(stdout, ".rpm") != 5 { // acn-runtime-devel and -debuginfo too
		t.Errorf("the good packages were not built:\n%s", stdout)
	}
	if !strings.Contains(stderr, "3 package(s) built, 1 failed") {
		t.Errorf("no summary:\n%s", stderr)
	}
}

// TestLayout keeps data flowing one way: a lower room never imports a
// higher one, and every package says what it is.
func TestLayout(t *testing.T) {
	order := []string{"specs", "builder", "repo", "server"}
	mod := "github.com/acn-project/acn/"
	for i, pkg := range order {
		if _, err := os.Stat("../../" + pkg); err != nil {
			continue
		}
		out, err := exec.Command("go", "list", "-deps", "../../"+pkg).Output()
		if err != nil {
			t.Fatal(err)
		}
		deps := "\n" + string(out)
		for _, higher := range order[i+1:] {
			if strings.Contains(deps, "\n"+mod+higher+"\n") {
				t.Errorf("%s imports %s: data flows git -> specs -> builder -> repo -> server", pkg, higher)
			}
		}
	}
	// Repository logic (what goes into a repository, when a file moves,
	// what is indexed) lives in repo: the daemon only calls repo.Add,
	// repo.Promote and the readers.
	forbidden := map[string]bool{"repo.Index": true, "repo.Open": true, "repo.Prune": true, "os.Rename": true, "os.Link": true, "os.Symlink": true}
	files, _ := filepath.Glob("../../server/*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && forbidden[id.Name+"."+sel.Sel.Name] {
					t.Errorf("%s: server calls %s.%s: repository logic belongs in repo", fset.Position(sel.Pos()), id.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}

	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Doc}}", "../../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.Contains(line, " ") {
			t.Errorf("package %s has no doc comment", line)
		}
	}
}

// TestIndexAndVerifyCommands builds our own packages, indexes them, and
// installs one with the real dnf; then breaks the repository and checks
// that verify says so.
func TestIndexAndVerifyCommands(t *testing.T) {
	r := ownRepo(t)
	// An empty root has no shell: a stand-in provides it to dnf.
	r.Commit("sh", map[string]string{"specs/fake-sh.yaml": "name: fake-sh\nversion: \"1\"\nsummary: Provides /bin/sh in tests\nlicense: MIT\nprovides: [\"/bin/sh\"]\n"})
	dir := t.TempDir()
	env := map[string]string{"ACN_CACHE_DIR": t.TempDir()}
	if _, stderr, code := acn(t, env, "build", "--git", r.Dir, "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	stdout, stderr, code := acn(t, env, "index", dir, "--changelog-limit", "1")
	if code != 0 || !strings.Contains(stdout, "6 packages (6 read, 0 reused), published revision") {
		t.Fatalf("index (%d): %s %s", code, stdout, stderr)
	}
	stdout, _, code = acn(t, env, "index", "--update", dir, "--changelog-limit", "1")
	if code != 0 || !strings.Contains(stdout, "(0 read, 6 reused), unchanged") {
		t.Errorf("index --update: %s", stdout)
	}
	root := t.TempDir()
	// and another one what the host's libc would provide.
	built, _ := filepath.Glob(filepath.Join(dir, "*.rpm"))
	os.WriteFile(filepath.Join(root, "acn.repo"), []byte("[acn]\nname=acn\nbaseurl=file://"+dir+"\ngpgcheck=0\n"+tooltest.StandInRepo(t, built...)), 0o644)
	out, err := exec.Command("dnf", "-y", "-q", "--releasever=9", "--setopt=reposdir="+root, "--setopt=cachedir="+filepath.Join(root, "cache"),
		"--installroot="+filepath.Join(root, "root"), "--setopt=tsflags=noscripts", "install", "acn-runtime").CombinedOutput()
	if err != nil {
		t.Fatalf("dnf install acn-runtime: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "root", "usr", "bin", "acn-runtime")); err != nil {
		t.Errorf("dnf did not install acn-runtime: %v", err)
	}
	stdout, stderr, code = acn(t, env, "verify", dir)
	if code != 0 || !strings.Contains(stdout, "OK, 3 metadata files and 6 packages verified") {
		t.Errorf("verify (%d): %s %s", code, stdout, stderr)
	}
	other, _ := filepath.Glob(filepath.Join(dir, "repodata", "*-other.xml.gz"))
	out, err = exec.Command("bash", "-c", "zcat "+other[0]+" | grep -c '<changelog '").Output()
	if err != nil || strings.TrimSpace(string(out)) != "5" {
		t.Errorf("--changelog-limit 1 kept %s changelog entries for our 5 packages with one (acn-runtime-devel and -debuginfo have acn-runtime's)", out)
	}

	os.WriteFile(filepath.Join(dir, "broken.rpm"), []byte("not an rpm"), 0o644)
	_, stderr, code = acn(t, env, "index", dir)
	if code != 1 || !strings.Contains(stderr, "broken.rpm") {
		t.Errorf("corrupt file: exit %d: %s", code, stderr)
	}
	rpms, _ := filepath.Glob(filepath.Join(dir, "appstruct-*.rpm"))
	os.WriteFile(rpms[0], []byte("replaced"), 0o644)
	_, stderr, code = acn(t, env, "verify", dir)
	if code != 1 || !strings.Contains(stderr, "appstruct-1.4.0-1.noarch.rpm") {
		t.Errorf("verify of a damaged repository: exit %d: %s", code, stderr)
	}
	if _, stderr, code := acn(t, env, "index"); code != 2 || !strings.Contains(stderr, "DIR is required") {
		t.Errorf("index without DIR: %d %s", code, stderr)
	}
}

// TestPromoteCommand promotes through a running daemon's API.
func TestPromoteCommand(t *testing.T) {
	r := gittest.New(t)
	r.Commit("1.0", map[string]string{"specs/hello.yaml": "name: hello\nversion: \"1.0\"\nsummary: S\nlicense: MIT\n"})
	r.Git("tag", "hello/v1.0")
	s, err := server.New(server.Config{Data: t.TempDir(), Git: server.GitConfig{URL: r.Dir}, APITokens: []string{"tok"},
		Repos: []server.RepoConfig{{Name: "testing"}, {Name: "stable", Promote: true}}})
	if err != nil {
		t.Fatal(err)
	}
	url := runServer(t, s)
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/api/v1/repos/testing/packages")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"hello"`) {
				break
			}
		}
		if i > 200 {
			t.Fatal("hello was never published")
		}
		time.Sleep(50 * time.Millisecond)
	}
	env := map[string]string{"ACN_API_TOKEN": "tok"}
	stdout, stderr, code := acn(t, env, "promote", "hello-1.0", "--from", "testing", "--to", "stable", "--server", url)
	if code != 0 || !strings.Contains(stdout, "promoted stable/hello-1.0-1.noarch.rpm") {
		t.Errorf("promote (%d): %s %s", code, stdout, stderr)
	}
	if _, stderr, code := acn(t, env, "promote", "hello-9.9", "--from", "testing", "--to", "stable", "--server", url); code != 1 || !strings.Contains(stderr, "not in testing") {
		t.Errorf("promote of a missing version (%d): %s", code, stderr)
	}
	if _, stderr, code := acn(t, map[string]string{}, "promote", "hello-1.0", "--from", "testing", "--to", "stable", "--server", url); code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("promote without a token (%d): %s", code, stderr)
	}
}

// TestServeEmbeddedDefault runs what the README's run command runs: the
// daemon on its embedded specs, which go through git, tags, build and
// index like a real remote.
func TestServeEmbeddedDefault(t *testing.T) {
	// As the README's command runs it: the default, relative data
	// directory (build steps that change directory must still find
	// $DESTDIR).
	t.Chdir(t.TempDir())
	s, err := server.New(server.Config{}, server.WithDefaultSpecs(embedded.DefaultSpecs()))
	if err != nil {
		t.Fatal(err)
	}
	url := runServer(t, s)
	var body string
	for i := 0; i < 600; i++ {
		resp, err := http.Get(url + "/api/v1/repos/acn/packages")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Count(body, `"name"`) == 3 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{`"name": "appstruct"`, `"name": "acn-proxy"`, `"name": "acn-runtime"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the embedded default did not publish %s:\n%s", want, body)
		}
	}
	if _, err := repo.Verify(context.Background(), url+"/repos/acn", nil); err != nil {
		t.Error(err)
	}
}

// runServer runs s on a free loopback port until the test ends.
func runServer(t *testing.T, s *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}
