package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/server"
)

func helloComps(name string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>hello-tools</id>
    <name>` + name + `</name>
    <description>Says hello.</description>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">hello</packagereq>
    </packagelist>
  </group>
</comps>
`
}

// groupSum is the checksum of the group file the daemon's repository
// publishes, "" if none.
func groupSum(t *testing.T, d *daemon) string {
	t.Helper()
	f, err := os.Open(filepath.Join(d.data, "repos", "acn", "repodata", "repomd.xml"))
	if err != nil {
		return ""
	}
	defer f.Close()
	md, err := repo.ParseRepomd(f)
	if err != nil {
		t.Fatal(err)
	}
	if g := md.Find("group"); g != nil {
		return g.Checksum.Value
	}
	return ""
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (d *daemon) problems() string {
	d.t.Helper()
	return fmt.Sprint(d.health()["problems"])
}

// TestGroups: repos[].groups names a comps file in the spec repository;
// the daemon publishes it and dnf installs the group over HTTP. A commit
// that changes only the comps file republishes it (and builds nothing);
// a broken, hostile or missing one is reported on /healthz with its file
// and line, and the groups published before stay; fixed, the problem
// goes away.
func TestGroups(t *testing.T) {
	r := gittest.New(t)
	files := helloSpec("1.0", "hello 1.0\n")
	files["comps/acn.xml"] = helloComps("Hello Tools")
	r.Commit("1.0", files)
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Repos: []server.RepoConfig{{Name: "acn", Groups: "comps/acn.xml"}}})
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}
	eventually(t, "the groups are published", func() bool { return groupSum(t, d) == sha(helloComps("Hello Tools")) })

	// A new node each time: what dnf shows is what acn serves now.
	node := func() string {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
		_, repoFile := d.get("/repos/acn.repo")
		os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte(repoFile), 0o644)
		return root
	}
	root := node()
	if out := dnf(t, root, "group", "list", "-v"); !strings.Contains(out, "Hello Tools (hello-tools)") {
		t.Errorf("dnf group list:\n%s", out)
	}
	dnf(t, root, "group", "install", "hello-tools")
	if _, err := os.Stat(filepath.Join(root, "root", "usr", "share", "hello", "hello.txt")); err != nil {
		t.Errorf("dnf group install hello-tools did not install hello: %v", err)
	}

	// Only the comps file changes: published again, nothing built.
	r.Commit("rename the group", map[string]string{"comps/acn.xml": helloComps("Hello Utilities")})
	d.hook("")
	eventually(t, "the new groups are published", func() bool { return groupSum(t, d) == sha(helloComps("Hello Utilities")) })
	if out := dnf(t, node(), "group", "list", "-v"); !strings.Contains(out, "Hello Utilities (hello-tools)") {
		t.Errorf("dnf group list after the change:\n%s", out)
	}
	if n := len(d.builds()); n != 1 {
		t.Errorf("%d builds; a comps change builds nothing", n)
	}
	if p := d.problems(); p != "<nil>" {
		t.Errorf("problems: %s", p)
	}
	published := groupSum(t, d)

	laughs := `<?xml version="1.0"?>
<!DOCTYPE comps [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<comps><group><id>&lol2;</id></group></comps>`
	for _, c := range []struct {
		name, body, want string
	}{
		{"broken", strings.Replace(helloComps("Broken"), "</packagelist>", "</packagelst>", 1), "comps/acn.xml line 11: </packagelst> closes <packagelist>"},
		{"billion laughs", laughs, "comps/acn.xml line 5: a DOCTYPE with an internal subset"},
		{"deep", "<comps>\n" + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + "</comps>", "comps/acn.xml line 2: elements nested more than 16 deep"},
		{"huge", "<comps>" + strings.Repeat(" ", repo.MaxGroupFileSize) + "</comps>", "more than the 16777216 a comps file may have"},
		{"link out of the repository", "->../../../etc/passwd", "leaves the repository"},
		{"directory", "", "not a regular file"},
		{"missing", "", "comps/acn.xml: file does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			switch c.name {
			case "missing":
				r.Git("rm", "-q", "-r", "comps/acn.xml")
				r.Commit(c.name, nil)
			case "directory":
				r.Git("rm", "-q", "comps/acn.xml")
				r.Commit(c.name, map[string]string{"comps/acn.xml/x": "x"})
			default:
				r.Commit(c.name, map[string]string{"comps/acn.xml": c.body})
			}
			d.hook("")
			eventually(t, "the problem is reported: "+c.want, func() bool { return strings.Contains(d.problems(), c.want) })
			if p := d.problems(); !strings.Contains(p, "groups of repository acn") || !strings.Contains(p, "the groups published before stay") {
				t.Errorf("problem: %s", p)
			}
			if got := groupSum(t, d); got != published {
				t.Errorf("a refused comps file changed what is published: %s, was %s", got, published)
			}
		})
	}
	if out := dnf(t, node(), "group", "list", "-v"); !strings.Contains(out, "Hello Utilities (hello-tools)") {
		t.Errorf("dnf group list after refused comps files:\n%s", out)
	}

	// Fixed: published, and the problem is gone.
	r.Commit("fixed", map[string]string{"comps/acn.xml": helloComps("Hello Again")})
	d.hook("")
	eventually(t, "the fixed groups are published", func() bool { return groupSum(t, d) == sha(helloComps("Hello Again")) })
	eventually(t, "the problem is gone", func() bool { return d.problems() == "<nil>" })

	// A build publishes the groups too; after a restart as well.
	d.stop()
	r.Commit("1.1", helloSpec("1.1", "hello 1.1\n"))
	r.Git("tag", "hello/v1.1")
	d = start(t, server.Config{Data: d.data, Git: server.GitConfig{URL: r.Dir}, Repos: []server.RepoConfig{{Name: "acn", Groups: "comps/acn.xml"}}})
	if j := d.wait("hello/v1.1"); j.Status != server.Succeeded {
		t.Fatalf("build 1.1: %+v", j)
	}
	if got := groupSum(t, d); got != sha(helloComps("Hello Again")) {
		t.Errorf("after a build, the groups published are %s", got)
	}
}
