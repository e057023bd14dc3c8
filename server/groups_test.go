package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/server"
	"github.com/acn-project/acn/specs"
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
	return groupSumOf(t, d, "acn")
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

// toolSpec is a spec of package name that installs /usr/share/NAME.
func toolSpec(name, version string) map[string]string {
	return map[string]string{
		"specs/" + name + ".yaml": "name: " + name + "\nversion: \"" + version + "\"\nsummary: Tool " + name + "\nlicense: MIT\nfiles:\n  - src: " + name + ".txt\n    dst: /usr/share/" + name + "\n",
		name + ".txt":             name + " " + version + "\n",
	}
}

// webGroups defines group web-node: tool-a mandatory, tool-b default,
// tool-extra optional; name is the group's name (line 3).
func webGroups(name string) string {
	return `groups:
  - id: web-node
    name: ` + name + `
    description: Everything a web node runs
    default: true
    packages:
      mandatory: [tool-a]
      default: [tool-b]
      optional: [tool-extra]
categories:
  - id: web
    name: Web
    groups: [web-node]
`
}

// specComps is the comps XML acn makes of a groups file.
func specComps(t *testing.T, yaml string) string {
	t.Helper()
	g, err := specs.ParseGroups(specs.GroupsFile, []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return string(g.Comps())
}

// groupSumOf is the checksum of the group file repository name publishes,
// "" if none.
func groupSumOf(t *testing.T, d *daemon, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(d.data, "repos", name, "repodata", "repomd.xml"))
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

// TestGroupsYAML: groups.yaml at the root of the spec repository is
// published, as comps XML, in every repository without a comps file of
// its own (whose own wins); dnf lists the group over HTTP and installs
// its mandatory and default packages, not the optional one. A commit
// that changes only groups.yaml republishes and builds nothing; a broken
// one (unknown key, duplicate id, alias) is reported on /healthz with
// file, line, field and commit, and the groups published before stay,
// also in the publication of a build; fixed, the problem goes; removed,
// the groups are withdrawn.
func TestGroupsYAML(t *testing.T) {
	r := gittest.New(t)
	files := map[string]string{specs.GroupsFile: webGroups("Web node"), "comps/own.xml": helloComps("Own Tools")}
	for _, n := range []string{"tool-a", "tool-b", "tool-extra"} {
		maps.Copy(files, toolSpec(n, "1.0"))
	}
	r.Commit("tools 1.0", files)
	for _, n := range []string{"tool-a", "tool-b", "tool-extra"} {
		r.Git("tag", n+"/v1.0")
	}
	cfg := server.Config{Git: server.GitConfig{URL: r.Dir}, Repos: []server.RepoConfig{{Name: "acn"}, {Name: "own", Groups: "comps/own.xml"}}}
	d := start(t, cfg)
	for _, n := range []string{"tool-a", "tool-b", "tool-extra"} {
		if j := d.wait(n + "/v1.0"); j.Status != server.Succeeded {
			t.Fatalf("build %s: %+v", n, j)
		}
	}
	eventually(t, "the groups of groups.yaml are published", func() bool { return groupSumOf(t, d, "acn") == sha(specComps(t, webGroups("Web node"))) })
	eventually(t, "the repository's own comps file wins", func() bool { return groupSumOf(t, d, "own") == sha(helloComps("Own Tools")) })

	node := func() string {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
		_, repoFile := d.get("/repos/acn.repo")
		os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte(repoFile), 0o644)
		return root
	}
	root := node()
	if out := dnf(t, root, "group", "list", "-v"); !strings.Contains(out, "Web node (web-node)") {
		t.Errorf("dnf group list:\n%s", out)
	}
	dnf(t, root, "group", "install", "web-node")
	out, err := exec.Command("rpm", "--root", filepath.Join(root, "root"), "-qa", "--qf", "%{NAME}\n").CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -qa: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	if !slices.Equal(got, []string{"tool-a", "tool-b"}) {
		t.Errorf("dnf group install web-node installed %v, want tool-a and tool-b (not the optional tool-extra)", got)
	}

	// Only groups.yaml changes: published again, nothing built.
	r.Commit("rename the group", map[string]string{specs.GroupsFile: webGroups("Web nodes")})
	d.hook("")
	eventually(t, "the new groups are published", func() bool { return groupSumOf(t, d, "acn") == sha(specComps(t, webGroups("Web nodes"))) })
	if out := dnf(t, node(), "group", "list", "-v"); !strings.Contains(out, "Web nodes (web-node)") {
		t.Errorf("dnf group list after the change:\n%s", out)
	}
	if n := len(d.builds()); n != 3 {
		t.Errorf("%d builds; a groups.yaml change builds nothing", n)
	}
	if p := d.problems(); p != "<nil>" {
		t.Errorf("problems: %s", p)
	}
	published := groupSumOf(t, d, "acn")

	good := webGroups("Web nodes")
	for _, c := range []struct {
		name, body, want string
	}{
		{"unknown key", strings.Replace(good, "    default: true\n", "    default: true\n    colour: blue\n", 1),
			`groups.yaml:6: groups[0].colour: unknown key: "colour"`},
		{"duplicate id", strings.Replace(good, "categories:\n", "  - id: web-node\n    name: Again\n    packages: {mandatory: [tool-a]}\ncategories:\n", 1),
			`groups.yaml:10: groups[1].id: invalid value: group id "web-node" is also defined on line 2`},
		{"alias", strings.Replace(strings.Replace(good, "[tool-a]", "&m [tool-a]", 1), "optional: [tool-extra]", "optional: *m", 1),
			"groups.yaml:9: groups[0].packages.optional: YAML alias or merge key not allowed"},
		{"link out of the repository", "->../../../etc/passwd", "groups.yaml: path escapes its root"},
		{"too large", good + "#" + strings.Repeat("x", specs.MaxGroupsSize), "more than the 262144 a groups file may have"},
	} {
		t.Run(c.name, func(t *testing.T) {
			commit := r.Commit(c.name, map[string]string{specs.GroupsFile: c.body})
			d.hook("")
			eventually(t, "the problem is reported: "+c.want, func() bool { return strings.Contains(d.problems(), c.want) })
			if p := d.problems(); !strings.Contains(p, "groups of the spec repository: ") || !strings.Contains(p, "(commit "+commit[:12]+"); the groups published before stay") {
				t.Errorf("problem: %s", p)
			}
			if got := groupSumOf(t, d, "acn"); got != published {
				t.Errorf("a refused groups.yaml changed what is published: %s, was %s", got, published)
			}
		})
	}

	// A build publishes the groups published before, with groups.yaml
	// still broken.
	files = toolSpec("tool-a", "1.1")
	files[specs.GroupsFile] = strings.Replace(good, "name: Web\n", "name: Web\n    nme: x\n", 1)
	r.Commit("tool-a 1.1", files)
	r.Git("tag", "tool-a/v1.1")
	d.hook("")
	if j := d.wait("tool-a/v1.1"); j.Status != server.Succeeded {
		t.Fatalf("build tool-a 1.1: %+v", j)
	}
	if got := groupSumOf(t, d, "acn"); got != published {
		t.Errorf("after a build, the groups published are %s, want %s", got, published)
	}
	if out := dnf(t, node(), "group", "list", "-v"); !strings.Contains(out, "Web nodes (web-node)") {
		t.Errorf("dnf group list after refused groups files:\n%s", out)
	}

	// Fixed: published, and the problem is gone.
	r.Commit("fixed", map[string]string{specs.GroupsFile: webGroups("Web again")})
	d.hook("")
	eventually(t, "the fixed groups are published", func() bool { return groupSumOf(t, d, "acn") == sha(specComps(t, webGroups("Web again"))) })
	eventually(t, "the problem is gone", func() bool { return d.problems() == "<nil>" })

	// Removed: withdrawn from the repository that published them; the
	// other keeps its own.
	r.Git("rm", "-q", specs.GroupsFile)
	r.Commit("no groups", nil)
	d.hook("")
	eventually(t, "the groups are withdrawn", func() bool { return groupSumOf(t, d, "acn") == "" })
	if got := groupSumOf(t, d, "own"); got != sha(helloComps("Own Tools")) {
		t.Errorf("the repository with its own comps file publishes %s", got)
	}
	if p := d.problems(); p != "<nil>" {
		t.Errorf("problems: %s", p)
	}
	// dnf fails a group list when no repository has groups.
	root = node()
	out, err = exec.Command("dnf", "-y", "-q", "--releasever=9", "--setopt=reposdir="+filepath.Join(root, "repos.d"),
		"--setopt=cachedir="+filepath.Join(root, "cache"), "--installroot="+filepath.Join(root, "root"),
		"--setopt=metadata_expire=0", "group", "list", "-v").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "No group data available") {
		t.Errorf("dnf group list after groups.yaml was removed (%v):\n%s", err, out)
	}
}
