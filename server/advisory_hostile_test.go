package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/server"
)

const hostileUpdateinfo = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="evil" status="stable" type="security" version="2.0">
    <id>EVIL-2026-0001</id>
    <title>&lt;script&gt;alert(1)&lt;/script&gt;</title>
    <issued date="2026-12-01 00:00:00"/>
    <severity>Important</severity>
    <description>&lt;img src=x onerror=alert(2)&gt;</description>
    <references>
      <reference href="javascript:alert(3)" id="1" type="bugzilla" title="b"/>
      <reference href=" JavaScript:alert(4)" id="2" type="bugzilla" title="b"/>
      <reference href="data:text/html,&lt;script&gt;alert(5)&lt;/script&gt;" id="3" type="bugzilla" title="b"/>
      <reference href="x" id="CVE-2026-1&quot;&gt;&lt;script&gt;alert(6)&lt;/script&gt;" type="cve" title="c"/>
    </references>
    <pkglist><collection short="x"><name>x</name>
      <package name="&lt;b&gt;pkg" version="1" release="1" epoch="0" arch="noarch"><filename>p.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="evil" status="stable" type="bugfix" version="2.0">
    <id>../../api/v1/x?&lt;script&gt;</id>
    <title>t</title>
    <issued date="2026-12-01 00:00:00"/>
  </update>
</updates>
`

// TestAdvisoriesHostileUpdateinfo: an updateinfo.xml acn did not write
// (modifyrepo_c's) with markup in its texts and javascript: or data:
// URLs as bug links shows them as text, never as markup or a link that
// runs script.
func TestAdvisoriesHostileUpdateinfo(t *testing.T) {
	r := gittest.New(t)
	r.Commit("empty", map[string]string{"README": "x\n"})
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Repos: []server.RepoConfig{{Name: "acn"}}})
	dir := filepath.Join(d.data, "repos", "acn")
	os.MkdirAll(dir, 0o755)
	tooltest.Run(t, "createrepo_c", "-q", dir)
	f := filepath.Join(t.TempDir(), "updateinfo.xml")
	os.WriteFile(f, []byte(hostileUpdateinfo), 0o644)
	tooltest.Run(t, "modifyrepo_c", f, filepath.Join(dir, "repodata"))
	for _, path := range []string{"/advisories", "/advisories?repo=acn", "/advisories/EVIL-2026-0001", "/r/acn"} {
		code, body := d.get(path)
		if code != 200 {
			t.Errorf("GET %s: %d\n%s", path, code, body)
			continue
		}
		if path == "/advisories" && !strings.Contains(body, "EVIL-2026-0001") {
			t.Errorf("GET %s does not list the advisory:\n%s", path, body)
		}
		low := strings.ToLower(body)
		for _, bad := range []string{"<script>alert", "<img", `href="javascript:`, `href=" javascript:`, `href="data:`, "<b>pkg"} {
			if strings.Contains(low, bad) {
				t.Errorf("GET %s holds %q:\n%s", path, bad, body)
			}
		}
	}
}
