package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

func advSpec(name, version, entry string) string {
	return "name: " + name + "\nversion: \"" + version + "\"\nsummary: S\nlicense: MIT\nfiles:\n  - {src: " + name + ".txt, dst: /usr/share/" + name + "/" + name + ".txt}\n" +
		"packages:\n  - name: " + name + "-extras\n    summary: Extras\n    files:\n      - {src: " + name + ".txt, dst: /usr/share/" + name + "/extras.txt}\n" +
		"changelog:\n" + entry +
		"  - date: 2026-01-01\n    author: A <a@example.com>\n    text: \"- First.\"\n"
}

func updates(t *testing.T, dir string) []repo.Update {
	t.Helper()
	c, err := repo.LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	us, err := c.Updates()
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// TestBuildIndexAdvisories: acn build writes a changelog entry's
// advisory into the packages of that version, with an ID from the
// registry in its output directory, and acn index (of a plain directory,
// and --update from its cache) publishes it as updateinfo.xml, one update
// per ID with every package of the version; the same ref built again is
// the same bytes; without advisories there is no updateinfo record.
func TestBuildIndexAdvisories(t *testing.T) {
	r := gittest.New(t)
	files := map[string]string{"web.txt": "web\n", "tool.txt": "tool\n",
		"specs/web.yaml":  advSpec("web", "1.4.0", ""),
		"specs/tool.yaml": advSpec("tool", "2.0", "")}
	r.Commit("old", files)
	r.Git("tag", "web/v1.4.0")
	r.Git("tag", "tool/v2.0")
	files["specs/web.yaml"] = advSpec("web", "1.4.1", "  - date: 2026-12-01\n    author: A <a@example.com>\n    version: 1.4.1-1\n    text: |\n      - Fix <b> & \"quotes\".\n"+
		"    advisory: {type: security, severity: Critical, cves: [CVE-2026-1234, CVE-2026-5678]}\n")
	files["specs/tool.yaml"] = advSpec("tool", "2.1", "  - date: 2027-01-05\n    author: A <a@example.com>\n    version: \"2.1\"\n    text: \"- Faster.\"\n"+
		"    advisory: {type: enhancement}\n")
	r.Commit("new", files)
	r.Git("tag", "web/v1.4.1")
	r.Git("tag", "tool/v2.1")

	out := t.TempDir()
	env := map[string]string{"ACN_CACHE_DIR": t.TempDir()}
	for _, ref := range []string{"web/v1.4.0", "tool/v2.0", "web/v1.4.1", "tool/v2.1"} {
		if _, stderr, code := acn(t, env, "build", "--git", r.Dir, "--ref", ref, "--out", out); code != 0 {
			t.Fatalf("build %s: exit %d\n%s", ref, code, stderr)
		}
	}
	if _, stderr, code := acn(t, env, "index", out); code != 0 {
		t.Fatalf("index: %d\n%s", code, stderr)
	}
	us := updates(t, out)
	if len(us) != 2 {
		t.Fatalf("%d updates, want 2: %+v", len(us), us)
	}
	web, tool := us[0], us[1]
	if web.ID != "ACN-2026-0001" || web.Type != "security" || web.Severity != "Critical" || !slices.Equal(web.CVEs, []string{"CVE-2026-1234", "CVE-2026-5678"}) ||
		web.Title != `Fix <b> & "quotes".` || web.Issued != "2026-12-01 00:00:00" {
		t.Errorf("web's advisory: %+v", web)
	}
	if tool.ID != "ACN-2027-0001" || tool.Type != "enhancement" || tool.Severity != "" {
		t.Errorf("tool's advisory: %+v", tool)
	}
	var got []string
	for _, p := range web.Packages {
		got = append(got, p.NEVRA()+" "+p.Filename)
	}
	if want := []string{"web-1.4.1-1.noarch web-1.4.1-1.noarch.rpm", "web-extras-1.4.1-1.noarch web-extras-1.4.1-1.noarch.rpm"}; !slices.Equal(got, want) {
		t.Errorf("web's advisory lists %v, want %v", got, want)
	}
	// createrepo_c reads it and writes it back byte for byte: the layout
	// is its own.
	md, err := repo.ParseRepomd(strings.NewReader(readFile(t, filepath.Join(out, "repodata", "repomd.xml"))))
	if err != nil {
		t.Fatal(err)
	}
	ui := md.Find("updateinfo")
	if ui == nil || !strings.HasSuffix(ui.Location.Href, "-updateinfo.xml.gz") {
		t.Fatalf("updateinfo record: %+v", ui)
	}
	plain := filepath.Join(t.TempDir(), "updateinfo.xml")
	os.WriteFile(plain, []byte(tooltest.Run(t, "gzip", "-dc", filepath.Join(out, ui.Location.Href))), 0o644)
	dumped := tooltest.Run(t, "/usr/bin/python3", "-c", "import createrepo_c as cr, sys; sys.stdout.write(cr.UpdateInfo(sys.argv[1]).xml_dump())", plain)
	if ours := readFile(t, plain); dumped != ours {
		t.Errorf("createrepo_c writes acn's updateinfo.xml otherwise:\n%s\n--- acn's:\n%s", dumped, ours)
	}

	// dnf reads it, for the old versions installed.
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
	os.WriteFile(filepath.Join(root, "repos.d", "x.repo"), []byte("[x]\nname=x\nbaseurl=file://"+out+"\ngpgcheck=0\n"), 0o644)
	dnf := func(args ...string) string {
		return tooltest.Run(t, "dnf", append([]string{"-y", "-q", "--releasever=9", "--setopt=reposdir=" + filepath.Join(root, "repos.d"),
			"--setopt=cachedir=" + filepath.Join(root, "cache"), "--installroot=" + filepath.Join(root, "root"), "--setopt=tsflags=noscripts"}, args...)...)
	}
	dnf("install", "web-1.4.0", "tool-extras-2.0")
	info := dnf("updateinfo", "info")
	for _, want := range []string{"Update ID: ACN-2026-0001", "Update ID: ACN-2027-0001", "CVEs: CVE-2026-1234", "Severity: Critical", `Fix <b> & "quotes".`} {
		if !strings.Contains(info, want) {
			t.Errorf("dnf updateinfo info --all lacks %q:\n%s", want, info)
		}
	}

	// The same ref again, with the same registry: the same bytes.
	again := t.TempDir()
	if _, stderr, code := acn(t, env, "build", "--git", r.Dir, "--ref", "web/v1.4.1", "--out", again, "--advisories", filepath.Join(out, "advisories.json")); code != 0 {
		t.Fatalf("rebuild: %d\n%s", code, stderr)
	}
	for _, f := range []string{"web-1.4.1-1.noarch.rpm", "web-extras-1.4.1-1.noarch.rpm"} {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs when built again", f)
		}
	}

	// --update from the cache: nothing changed, the same repomd.xml.
	repomd, _ := os.ReadFile(filepath.Join(out, "repodata", "repomd.xml"))
	if _, stderr, code := acn(t, env, "index", "--update", out); code != 0 {
		t.Fatalf("index --update: %d\n%s", code, stderr)
	}
	if md2, _ := os.ReadFile(filepath.Join(out, "repodata", "repomd.xml")); !bytes.Equal(repomd, md2) {
		t.Errorf("index --update with nothing changed rewrote repomd.xml")
	}
	// The version leaves: its advisory goes; the last one gone, the
	// record goes.
	os.Remove(filepath.Join(out, "tool-2.1-1.noarch.rpm"))
	os.Remove(filepath.Join(out, "tool-extras-2.1-1.noarch.rpm"))
	if _, stderr, code := acn(t, env, "index", "--update", out); code != 0 {
		t.Fatalf("index --update: %d\n%s", code, stderr)
	}
	if us := updates(t, out); len(us) != 1 || us[0].ID != "ACN-2026-0001" || len(us[0].Packages) != 2 {
		t.Errorf("after tool 2.1 left: %+v", us)
	}
	os.Remove(filepath.Join(out, "web-1.4.1-1.noarch.rpm"))
	os.Remove(filepath.Join(out, "web-extras-1.4.1-1.noarch.rpm"))
	if _, stderr, code := acn(t, env, "index", "--update", out); code != 0 {
		t.Fatalf("index --update: %d\n%s", code, stderr)
	}
	if md, _ := os.ReadFile(filepath.Join(out, "repodata", "repomd.xml")); bytes.Contains(md, []byte("updateinfo")) {
		t.Errorf("repomd.xml without advisories names updateinfo:\n%s", md)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
