package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/server"
)

// advSpecs are two packages: web (with a subpackage) and tool, each at
// an old version, then at a new one whose changelog entry announces an
// advisory (security for web, bugfix for tool); misc never has one.
func advSpecs(webVersion, toolVersion string) map[string]string {
	web := "name: web\nversion: \"" + webVersion + "\"\nsummary: Web front\nlicense: MIT\nfiles:\n  - {src: web.txt, dst: /usr/share/web/web.txt}\n" +
		"packages:\n  - name: web-extras\n    summary: Extras of web\n    files:\n      - {src: extras.txt, dst: /usr/share/web/extras.txt}\nchangelog:\n"
	if webVersion == "1.4.1" {
		web += "  - date: 2026-12-01\n    author: ACN Operations <ops@example.com>\n    version: 1.4.1-1\n    text: |\n      - Fix header injection in redirects.\n" +
			"    advisory:\n      type: security\n      severity: Important\n      cves: [CVE-2026-1234]\n      bugs: [https://tracker.example.com/412]\n"
	}
	web += "  - date: 2026-11-01\n    author: ACN Operations <ops@example.com>\n    version: 1.4.0-1\n    text: \"- First.\"\n"
	tool := "name: tool\nversion: \"" + toolVersion + "\"\nsummary: A tool\nlicense: MIT\nfiles:\n  - {src: tool.txt, dst: /usr/share/tool/tool.txt}\nchangelog:\n"
	if toolVersion == "2.1" {
		tool += "  - date: 2026-12-02\n    author: T <t@example.com>\n    version: \"2.1\"\n    text: \"- Fix a crash on empty input.\"\n" +
			"    advisory:\n      type: bugfix\n      title: tool crashes on empty input\n      bugs: ['https://bugzilla.example.com/show_bug.cgi?id=77']\n"
	}
	tool += "  - date: 2026-11-02\n    author: T <t@example.com>\n    text: \"- First.\"\n"
	return map[string]string{
		"specs/web.yaml":  web,
		"specs/tool.yaml": tool,
		"specs/misc.yaml": "name: misc\nversion: \"1.0\"\nsummary: Misc\nlicense: MIT\nfiles:\n  - {src: misc.txt, dst: /usr/share/misc/misc.txt}\n",
		"web.txt":         "web " + webVersion + "\n",
		"extras.txt":      "extras " + webVersion + "\n",
		"tool.txt":        "tool " + toolVersion + "\n",
		"misc.txt":        "misc\n",
	}
}

// zypper runs zypper on the installroot.
func zypper(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, err := exec.Command("zypper", append([]string{"--non-interactive", "--root", root}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("zypper %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func installed(t *testing.T, root string) []string {
	t.Helper()
	out := tooltest.Run(t, "rpm", "--root", filepath.Join(root, "root"), "-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n")
	got := strings.Fields(out)
	slices.Sort(got)
	return got
}

var advLine = regexp.MustCompile(`(?m)^\s*(ACN-\d{4}-\d{4,})\s+(\S+)\s+(\S+)\s*$`)

// TestAdvisories: a changelog entry's advisory reaches updateinfo.xml in
// every repository that holds the version, and the real dnf and zypper
// act on it: updateinfo list shows exactly the advisories, upgrade
// --security and --advisory upgrade exactly their packages. The ID stays
// the same through a rebuild (the same bytes) and a restart; the web
// index and the API show the advisories.
func TestAdvisories(t *testing.T) {
	r := gittest.New(t)
	r.Commit("old", advSpecs("1.4.0", "2.0"))
	r.Git("tag", "web/v1.4.0")
	r.Git("tag", "tool/v2.0")
	r.Git("tag", "misc/v1.0")
	cfg := server.Config{Git: server.GitConfig{URL: r.Dir}, Repos: []server.RepoConfig{{Name: "acn", Dist: ".el9"}, {Name: "plain"}}}
	d := start(t, cfg)
	for _, ref := range []string{"web/v1.4.0", "tool/v2.0", "misc/v1.0"} {
		if j := d.wait(ref); j.Status != server.Succeeded {
			t.Fatalf("%s: %+v", ref, j)
		}
	}
	// No advisory yet: no updateinfo record.
	for _, name := range []string{"acn", "plain"} {
		if _, md := d.get("/repos/" + name + "/repodata/repomd.xml"); strings.Contains(md, "updateinfo") {
			t.Errorf("%s: repomd.xml without advisories names updateinfo:\n%s", name, md)
		}
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
	_, repoFile := d.get("/repos/acn.repo")
	os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte(repoFile), 0o644)
	dnf(t, root, "install", "web", "web-extras", "tool", "misc")

	r.Commit("new", advSpecs("1.4.1", "2.1"))
	r.Git("tag", "web/v1.4.1")
	r.Git("tag", "tool/v2.1")
	d.hook("")
	for _, ref := range []string{"web/v1.4.1", "tool/v2.1"} {
		if j := d.wait(ref); j.Status != server.Succeeded {
			t.Fatalf("%s: %+v", ref, j)
		}
	}

	// The API: two advisories, each in both repositories, with their
	// packages there (the dist suffix in one, not in the other).
	code, body := d.get("/api/v1/advisories")
	var advs []server.Advisory
	if err := json.Unmarshal([]byte(body), &advs); err != nil || code != 200 {
		t.Fatalf("GET /api/v1/advisories: %d %v\n%s", code, err, body)
	}
	if len(advs) != 2 {
		t.Fatalf("%d advisories, want 2:\n%s", len(advs), body)
	}
	ids := map[string]server.Advisory{}
	for _, a := range advs {
		ids[a.Type] = a
		if !regexp.MustCompile(`^ACN-2026-000[12]$`).MatchString(a.ID) {
			t.Errorf("advisory ID %q", a.ID)
		}
	}
	sec, fix := ids["security"], ids["bugfix"]
	if sec.ID == "" || fix.ID == "" || sec.ID == fix.ID {
		t.Fatalf("advisories: %s", body)
	}
	if sec.Severity != "Important" || !slices.Equal(sec.CVEs, []string{"CVE-2026-1234"}) || !slices.Equal(sec.Bugs, []string{"https://tracker.example.com/412"}) ||
		sec.Issued != "2026-12-01 00:00:00" || sec.Title != "Fix header injection in redirects." || !strings.Contains(sec.Description, "header injection") {
		t.Errorf("security advisory: %+v", sec)
	}
	if fix.Severity != "" || fix.Title != "tool crashes on empty input" {
		t.Errorf("bugfix advisory: %+v", fix)
	}
	pkgs := func(a server.Advisory, name string) []string {
		var out []string
		for _, p := range a.Repos[name] {
			out = append(out, p.NEVRA())
		}
		return out
	}
	for name, want := range map[string][]string{
		"acn":   {"web-1.4.1-1.el9.noarch", "web-extras-1.4.1-1.el9.noarch"},
		"plain": {"web-1.4.1-1.noarch", "web-extras-1.4.1-1.noarch"},
	} {
		if got := pkgs(sec, name); !slices.Equal(got, want) {
			t.Errorf("%s in %s lists %v, want %v", sec.ID, name, got, want)
		}
	}
	if got := pkgs(fix, "acn"); !slices.Equal(got, []string{"tool-2.1-1.el9.noarch"}) {
		t.Errorf("%s in acn lists %v", fix.ID, got)
	}

	// dnf and zypper see exactly those advisories for what is installed.
	zroot := filepath.Join(root, "root")
	zypper(t, zroot, "addrepo", "--no-gpgcheck", "file://"+filepath.Join(d.data, "repos", "acn"), "acn")
	zypper(t, zroot, "--gpg-auto-import-keys", "refresh")
	patches := zypper(t, zroot, "list-patches")
	for _, want := range []string{
		"acn | " + sec.ID + " | security | important | --- | needed | Fix header injection in redirects.",
		"acn | " + fix.ID + " | bugfix | | --- | needed | tool crashes on empty input",
	} {
		if !strings.Contains(regexp.MustCompile(` +`).ReplaceAllString(patches, " "), want) {
			t.Errorf("zypper list-patches lacks %q:\n%s", want, patches)
		}
	}
	if !strings.Contains(patches, "2 patches needed") {
		t.Errorf("zypper list-patches: want 2 patches needed:\n%s", patches)
	}
	list := func() []string {
		var got []string
		for _, m := range advLine.FindAllStringSubmatch(dnf(t, root, "updateinfo", "list", "--refresh"), -1) {
			got = append(got, m[1]+" "+m[2]+" "+m[3])
		}
		slices.Sort(got)
		return got
	}
	want := []string{sec.ID + " Important/Sec. web-1.4.1-1.el9.noarch", sec.ID + " Important/Sec. web-extras-1.4.1-1.el9.noarch", fix.ID + " bugfix tool-2.1-1.el9.noarch"}
	slices.Sort(want)
	if got := list(); !slices.Equal(got, want) {
		t.Errorf("dnf updateinfo list:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	dnf(t, root, "upgrade", "--security")
	if got, want := installed(t, root), []string{"misc-1.0-1.el9", "tool-2.0-1.el9", "web-1.4.1-1.el9", "web-extras-1.4.1-1.el9"}; !slices.Equal(got, want) {
		t.Errorf("after dnf upgrade --security: %v, want %v", got, want)
	}
	if got := list(); !slices.Equal(got, []string{fix.ID + " bugfix tool-2.1-1.el9.noarch"}) {
		t.Errorf("dnf updateinfo list after the security upgrade: %v", got)
	}
	dnf(t, root, "upgrade", "--advisory", fix.ID)
	if got, want := installed(t, root), []string{"misc-1.0-1.el9", "tool-2.1-1.el9", "web-1.4.1-1.el9", "web-extras-1.4.1-1.el9"}; !slices.Equal(got, want) {
		t.Errorf("after dnf upgrade --advisory %s: %v, want %v", fix.ID, got, want)
	}

	// The web index lists them, an advisory has its page, and a
	// package version links to its advisory.
	if code, page := d.get("/advisories"); code != 200 || !strings.Contains(page, `href="/advisories/`+sec.ID+`"`) || !strings.Contains(page, `href="/advisories/`+fix.ID+`"`) {
		t.Errorf("/advisories (%d):\n%s", code, page)
	}
	if code, page := d.get("/advisories?type=bugfix"); code != 200 || strings.Contains(page, sec.ID) || !strings.Contains(page, fix.ID) {
		t.Errorf("/advisories?type=bugfix (%d):\n%s", code, page)
	}
	if code, page := d.get("/advisories/" + sec.ID); code != 200 || !strings.Contains(page, "CVE-2026-1234") ||
		!strings.Contains(page, "web-extras-1.4.1-1.el9.noarch") || !strings.Contains(page, "https://tracker.example.com/412") {
		t.Errorf("/advisories/%s (%d):\n%s", sec.ID, code, page)
	}
	if code, page := d.get("/advisories?repo=plain&type=security"); code != 200 || !strings.Contains(page, sec.ID) || strings.Contains(page, fix.ID) {
		t.Errorf("/advisories?repo=plain&type=security (%d):\n%s", code, page)
	}
	if code, page := d.get("/r/plain"); code != 200 || !strings.Contains(page, `href="/advisories?repo=plain"`) {
		t.Errorf("/r/plain (%d) has no link to its advisories:\n%s", code, page)
	}
	if code, _ := d.get("/advisories/ACN-2026-9999"); code != 404 {
		t.Errorf("unknown advisory page: %d", code)
	}
	if code, page := d.get("/r/acn/p/web"); code != 200 || !strings.Contains(page, `href="/advisories/`+sec.ID+`"`) {
		t.Errorf("/r/acn/p/web (%d) has no link to %s:\n%s", code, sec.ID, page)
	}
	if _, page := d.get("/r/acn/p/web?v=1.4.0-1.el9.noarch"); strings.Count(page, `href="/advisories/`+sec.ID+`"`) != 1 {
		t.Errorf("the page of web 1.4.0 links %s other than from version 1.4.1:\n%s", sec.ID, page)
	}
	if _, page := d.get("/r/acn/p/misc"); strings.Contains(page, `href="/advisories/ACN`) {
		t.Errorf("misc links an advisory:\n%s", page)
	}
	if code, body := d.get("/api/v1/advisories/" + fix.ID); code != 200 || !strings.Contains(body, `"type": "bugfix"`) {
		t.Errorf("GET /api/v1/advisories/%s: %d\n%s", fix.ID, code, body)
	}
	if code, body := d.get("/api/v1/advisories/NOPE"); code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("GET /api/v1/advisories/NOPE: %d %s", code, body)
	}
	if code, body := d.get("/api/v1/advisories?type=security&repo=plain"); code != 200 || strings.Count(body, `"id"`) != 1 || !strings.Contains(body, sec.ID) {
		t.Errorf("GET /api/v1/advisories?type=security&repo=plain: %d\n%s", code, body)
	}
	if code, body := d.get("/api/v1/repos/acn/packages/tool"); code != 200 || !strings.Contains(body, `"advisories": [`+"\n"+`      "`+fix.ID+`"`) {
		t.Errorf("GET /api/v1/repos/acn/packages/tool: %d\n%s", code, body)
	}

	// A restart, then a rebuild of the tag: the same ID, so the same
	// bytes (a published NEVRA with other bytes would be refused).
	registry, err := os.ReadFile(filepath.Join(d.data, "advisories.json"))
	if err != nil {
		t.Fatal(err)
	}
	rpmBefore, _ := os.ReadFile(filepath.Join(d.data, "repos", "acn", "web-1.4.1-1.el9.noarch.rpm"))
	d.stop()
	d2 := start(t, server.Config{Git: cfg.Git, Repos: cfg.Repos, Data: d.data})
	code, body = d2.post("/api/v1/builds", `{"ref":"web/v1.4.1"}`)
	var j server.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil || code != 202 {
		t.Fatalf("rebuild: %d %s", code, body)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		_, body := d2.get(fmt.Sprintf("/api/v1/builds/%d", j.ID))
		json.Unmarshal([]byte(body), &j)
		if j.Status == server.Succeeded || j.Status == server.Failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild did not finish: %+v", j)
		}
	}
	if j.Status != server.Succeeded {
		t.Fatalf("rebuild after a restart: %+v", j)
	}
	if after, _ := os.ReadFile(filepath.Join(d.data, "advisories.json")); string(after) != string(registry) {
		t.Errorf("the registry changed in a rebuild:\n%s\nwas\n%s", after, registry)
	}
	if rpmAfter, _ := os.ReadFile(filepath.Join(d.data, "repos", "acn", "web-1.4.1-1.el9.noarch.rpm")); len(rpmBefore) == 0 || string(rpmAfter) != string(rpmBefore) {
		t.Errorf("web-1.4.1-1.el9 changed in a rebuild")
	}
	if _, body := d2.get("/api/v1/advisories/" + sec.ID); !strings.Contains(body, `"web-extras"`) {
		t.Errorf("after the restart, %s:\n%s", sec.ID, body)
	}
}
