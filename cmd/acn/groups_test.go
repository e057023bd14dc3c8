package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/specs"
)

// testComps defines group acn-tools (two mandatory packages, one
// optional) in the form Fedora's comps files have: DOCTYPE, translated
// names, a category and an environment.
const testComps = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>acn-tools</id>
    <name>ACN Tools</name>
    <name xml:lang="de">ACN-Werkzeuge</name>
    <description>What every node runs.</description>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">tool-a</packagereq>
      <packagereq>tool-b</packagereq>
      <packagereq type="optional">tool-extra</packagereq>
    </packagelist>
  </group>
  <category>
    <id>acn</id>
    <name>ACN</name>
    <grouplist><groupid>acn-tools</groupid></grouplist>
  </category>
  <environment>
    <id>acn-node</id>
    <name>ACN node</name>
    <grouplist><groupid>acn-tools</groupid></grouplist>
  </environment>
</comps>
`

// groupRepo is a directory with three packages and a comps file for
// them, outside the directory.
func groupRepo(t *testing.T) (dir, comps string) {
	t.Helper()
	dir = t.TempDir()
	for _, n := range []string{"tool-a", "tool-b", "tool-extra"} {
		tooltest.Run(t, "cp", tooltest.FilePackage(t, n, "1.0", "/usr/bin/"+n, "#!/bin/sh\n"), dir)
	}
	comps = filepath.Join(t.TempDir(), "comps.xml")
	if err := os.WriteFile(comps, []byte(testComps), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, comps
}

func dnfGroups(t *testing.T, dir string, args ...string) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
	os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte("[acn]\nname=acn\nbaseurl=file://"+dir+"\ngpgcheck=0\n"), 0o644)
	base := []string{"-y", "-q", "--releasever=9", "--setopt=reposdir=" + filepath.Join(root, "repos.d"),
		"--setopt=cachedir=" + filepath.Join(root, "cache"), "--installroot=" + filepath.Join(root, "root"),
		"--setopt=install_weak_deps=False", "--setopt=tsflags=noscripts", "--setopt=metadata_expire=0"}
	out := tooltest.Run(t, "dnf", append(base, args...)...)
	if args[0] == "group" && args[1] == "install" {
		out += "\n--- installed:\n" + tooltest.Run(t, "rpm", "--root", filepath.Join(root, "root"), "-qa", "--qf", "%{NAME}\n")
	}
	return out
}

func readRepomd(t *testing.T, dir string) *repo.Repomd {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := repo.ParseRepomd(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return md
}

func recordTypes(md *repo.Repomd) []string {
	var out []string
	for _, d := range md.Data {
		out = append(out, d.Type)
	}
	slices.Sort(out)
	return out
}

// checkGroupInstall: dnf lists the group acn-tools of the repository dir
// and installs its mandatory and default packages, not the optional one.
func checkGroupInstall(t *testing.T, dir string) {
	t.Helper()
	if out := dnfGroups(t, dir, "group", "list", "-v"); !strings.Contains(out, "ACN Tools (acn-tools)") {
		t.Errorf("dnf group list does not show the group:\n%s", out)
	}
	out := dnfGroups(t, dir, "group", "install", "acn-tools")
	_, installed, _ := strings.Cut(out, "--- installed:\n")
	got := strings.Fields(installed)
	slices.Sort(got)
	if !slices.Equal(got, []string{"tool-a", "tool-b"}) {
		t.Errorf("dnf group install acn-tools installed %v, want tool-a and tool-b:\n%s", got, out)
	}
}

// TestIndexGroupFile: acn index --groupfile publishes a comps file that
// the real dnf lists and installs a group from (its mandatory and
// default packages, not the optional one), with the records createrepo_c
// -g writes for the same directory and file.
func TestIndexGroupFile(t *testing.T) {
	dir, comps := groupRepo(t)
	if out, stderr, code := acn(t, nil, "index", dir, "--groupfile", comps); code != 0 {
		t.Fatalf("acn index --groupfile (%d): %s%s", code, out, stderr)
	}
	checkGroupInstall(t, dir)

	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", "-g", comps, "-o", crc, dir)
	ours, theirs := readRepomd(t, dir), readRepomd(t, crc)
	if a, b := recordTypes(ours), recordTypes(theirs); !slices.Equal(a, b) {
		t.Errorf("repomd records: acn %v, createrepo_c %v", a, b)
	}
	for _, kind := range []string{"group", "group_gz"} {
		o, c := ours.Find(kind), theirs.Find(kind)
		if o == nil || c == nil {
			continue
		}
		if o.OpenChecksum != c.OpenChecksum || o.OpenSize != c.OpenSize {
			t.Errorf("%s: open-checksum %v size %d, createrepo_c %v %d", kind, o.OpenChecksum, o.OpenSize, c.OpenChecksum, c.OpenSize)
		}
		if strings.SplitN(o.Location.Href, "-", 2)[1] != strings.SplitN(c.Location.Href, "-", 2)[1] {
			t.Errorf("%s: href %s, createrepo_c %s", kind, o.Location.Href, c.Location.Href)
		}
	}
	if o, c := ours.Find("group"), theirs.Find("group"); o != nil && c != nil && (o.Checksum != c.Checksum || o.Size != c.Size) {
		t.Errorf("group: checksum %v size %d, createrepo_c %v %d", o.Checksum, o.Size, c.Checksum, c.Size)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	rawC, _ := os.ReadFile(filepath.Join(crc, "repodata", "repomd.xml"))
	if a, b := groupBlock(string(raw)), groupBlock(string(rawC)); a != b {
		t.Errorf("the group record's elements differ:\nacn:\n%s\ncreaterepo_c:\n%s", a, b)
	}

	// Nothing changed: nothing published.
	before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if out, stderr, code := acn(t, nil, "index", dir, "--update", "-g", comps); code != 0 || !strings.Contains(out, "unchanged") {
		t.Errorf("acn index --update -g, nothing changed (%d): %s%s", code, out, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(before, after) {
		t.Error("repomd.xml rewritten although nothing changed")
	}

	// A broken comps file publishes nothing and says where it broke.
	broken := filepath.Join(t.TempDir(), "broken.xml")
	os.WriteFile(broken, []byte(strings.Replace(testComps, "</packagelist>", "</packagelst>", 1)), 0o644)
	if out, stderr, code := acn(t, nil, "index", dir, "--update", "-g", broken); code == 0 || !strings.Contains(stderr, "broken.xml line 15") {
		t.Errorf("acn index -g with a broken file (%d): %s%s", code, out, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(before, after) {
		t.Error("a broken comps file changed repomd.xml")
	}

	// A changed comps file is published; the old one stays for clients
	// holding the old repomd.xml.
	changed := strings.Replace(testComps, `<packagereq type="optional">tool-extra</packagereq>`, `<packagereq type="mandatory">tool-extra</packagereq>`, 1)
	os.WriteFile(comps, []byte(changed), 0o644)
	if out, stderr, code := acn(t, nil, "index", dir, "--update", "-g", comps); code != 0 || strings.Contains(out, "unchanged") {
		t.Errorf("acn index --update -g with a new comps file (%d): %s%s", code, out, stderr)
	}
	for _, d := range ours.Data {
		if _, err := os.Stat(filepath.Join(dir, d.Location.Href)); err != nil {
			t.Errorf("superseded %s removed at once: %v", d.Type, err)
		}
	}
	out := dnfGroups(t, dir, "group", "install", "acn-tools")
	if !strings.Contains(out, "tool-extra") {
		t.Errorf("the new comps file is not what dnf installs from:\n%s", out)
	}
}

// groupBlock is the <data type="group"> record of repomd.xml without the
// values that differ between runs.
func groupBlock(repomd string) string {
	i := strings.Index(repomd, `<data type="group">`)
	if i < 0 {
		return ""
	}
	block, _, _ := strings.Cut(repomd[i:], "</data>")
	var tags []string
	for _, l := range strings.Split(block, "\n") {
		l = strings.TrimSpace(l)
		if j := strings.IndexAny(l, " >"); j > 0 {
			tags = append(tags, l[:j])
		}
	}
	return strings.Join(tags, " ")
}

// TestIndexGroupFileSigned: --groupfile with --sign-key publishes the
// groups under a signed repomd.xml that gpg verifies.
func TestIndexGroupFileSigned(t *testing.T) {
	priv, pub := genKey(t, "Groups <groups@example.com>", "--bits", "2048")
	dir, comps := groupRepo(t)
	if out, stderr, code := acn(t, nil, "index", dir, "-g", comps, "--sign-key", priv); code != 0 {
		t.Fatalf("acn index -g --sign-key (%d): %s%s", code, out, stderr)
	}
	if readRepomd(t, dir).Find("group_gz") == nil {
		t.Error("no group_gz record")
	}
	home := gpgHomeDir(t)
	if out, err := gpgRun(home, "--import", pub); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	rd := filepath.Join(dir, "repodata")
	if out, _ := gpgRun(home, "--verify", filepath.Join(rd, "repomd.xml.asc"), filepath.Join(rd, "repomd.xml")); !strings.Contains(out, "VALIDSIG") || strings.Contains(out, "BADSIG") {
		t.Errorf("gpg --verify:\n%s", out)
	}
}

// TestIndexGroupFileXZ: with --compress xz the compressed record is
// group_xz, as createrepo_c --general-compress-type=xz -g names it, and
// dnf reads it.
func TestIndexGroupFileXZ(t *testing.T) {
	dir, comps := groupRepo(t)
	if out, stderr, code := acn(t, nil, "index", dir, "--compress", "xz", "-g", comps); code != 0 {
		t.Fatalf("acn index --compress xz -g (%d): %s%s", code, out, stderr)
	}
	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", "--general-compress-type=xz", "-g", comps, "-o", crc, dir)
	ours, theirs := readRepomd(t, dir), readRepomd(t, crc)
	if a, b := recordTypes(ours), recordTypes(theirs); !slices.Equal(a, b) || !slices.Contains(a, "group_xz") {
		t.Errorf("repomd records: acn %v, createrepo_c %v", a, b)
	}
	if o, c := ours.Find("group_xz"), theirs.Find("group_xz"); o != nil && c != nil &&
		(o.OpenChecksum != c.OpenChecksum || !strings.HasSuffix(o.Location.Href, "-comps.xml.xz")) {
		t.Errorf("group_xz: %+v, createrepo_c %+v", o, c)
	}
	if out := dnfGroups(t, dir, "group", "list", "-v"); !strings.Contains(out, "ACN Tools (acn-tools)") {
		t.Errorf("dnf group list:\n%s", out)
	}
}

// testGroupsYAML is testComps's group in the form of a spec repository's
// groups.yaml.
const testGroupsYAML = `groups:
  - id: acn-tools
    name: ACN Tools
    description: What every node runs.
    packages:
      mandatory: [tool-a]
      default: [tool-b]
      optional: [tool-extra]
categories:
  - id: acn
    name: ACN
    groups: [acn-tools]
`

// TestIndexGroupFileYAML: acn index --groupfile takes a groups.yaml (or
// .yml) too: it publishes the comps XML made of it, under the file's name
// with .xml, the same bytes at every run (--update finds nothing
// changed), and dnf installs the group's mandatory and default packages,
// not the optional one. A broken file publishes nothing and says where
// it broke.
func TestIndexGroupFileYAML(t *testing.T) {
	dir, _ := groupRepo(t)
	groups := filepath.Join(t.TempDir(), "groups.yaml")
	os.WriteFile(groups, []byte(testGroupsYAML), 0o644)
	if out, stderr, code := acn(t, nil, "index", dir, "--groupfile", groups); code != 0 {
		t.Fatalf("acn index --groupfile groups.yaml (%d): %s%s", code, out, stderr)
	}
	md := readRepomd(t, dir)
	g := md.Find("group")
	if g == nil || !strings.HasSuffix(g.Location.Href, "-groups.xml") || md.Find("group_gz") == nil {
		t.Fatalf("group records: %+v", md.Data)
	}
	parsed, err := specs.ParseGroups("groups.yaml", []byte(testGroupsYAML))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, g.Location.Href)); !bytes.Equal(b, parsed.Comps()) {
		t.Errorf("the group file is not the comps XML of groups.yaml:\n%s", b)
	}
	checkGroupInstall(t, dir)

	// The same file: the same bytes, nothing published.
	before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if out, stderr, code := acn(t, nil, "index", dir, "--update", "-g", groups); code != 0 || !strings.Contains(out, "unchanged") {
		t.Errorf("acn index --update -g groups.yaml, nothing changed (%d): %s%s", code, out, stderr)
	}

	// Broken: nothing published, the file, line and field named.
	for name, body := range map[string]string{
		"unknown.yaml": strings.Replace(testGroupsYAML, "    description:", "    descripton:", 1),
		"dup.yml":      strings.Replace(testGroupsYAML, "categories:\n", "  - {id: acn-tools, name: Again, packages: {mandatory: [tool-a]}}\ncategories:\n", 1),
	} {
		broken := filepath.Join(t.TempDir(), name)
		os.WriteFile(broken, []byte(body), 0o644)
		want := broken + `:4: groups[0].descripton: unknown key: "descripton" (did you mean "description"?)`
		if name == "dup.yml" {
			want = broken + `:9: groups[1].id: invalid value: group id "acn-tools" is also defined on line 2`
		}
		if out, stderr, code := acn(t, nil, "index", dir, "--update", "-g", broken); code == 0 || !strings.Contains(stderr, want) {
			t.Errorf("acn index -g %s (%d): %s%s\nwant: %s", name, code, out, stderr, want)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(before, after) {
			t.Errorf("a broken %s changed repomd.xml", name)
		}
	}

	// A .yml file changed: published under its own name.
	yml := filepath.Join(t.TempDir(), "node-groups.yml")
	os.WriteFile(yml, []byte(strings.Replace(strings.Replace(testGroupsYAML, "      optional: [tool-extra]\n", "", 1), "[tool-a]", "[tool-a, tool-extra]", 1)), 0o644)
	if out, stderr, code := acn(t, nil, "index", dir, "--update", "-g", yml); code != 0 || strings.Contains(out, "unchanged") {
		t.Errorf("acn index --update -g node-groups.yml (%d): %s%s", code, out, stderr)
	}
	if g := readRepomd(t, dir).Find("group"); g == nil || !strings.HasSuffix(g.Location.Href, "-node-groups.xml") {
		t.Errorf("group record %+v", g)
	}
	if out := dnfGroups(t, dir, "group", "install", "acn-tools"); !strings.Contains(out, "tool-extra") {
		t.Errorf("the new groups file is not what dnf installs from:\n%s", out)
	}
}
