package autodeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runGenerator feeds path to one of rpm's generator scripts as rpmbuild
// does and returns its output lines.
func runGenerator(t *testing.T, path string, args ...string) ([]string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(path + "\n")
	out, err := cmd.Output()
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines, err
}

var pcSamples = map[string]string{
	"plain":     "Name: p\nDescription: d\nVersion: 1.0\n",
	"requires":  "Name: p\nDescription: d\nVersion: 1.0\nRequires: a >= 1, b, c < 2\nRequires.private: d > 3 e\n",
	"glued":     "Name: p\nDescription: d\nVersion: 1.0\nRequires: a>=1 b <2,c=3 d = 4\n",
	"vars":      "prefix=/usr\nmaj=2\nv=${maj}.${min}\nmin=7\nName: p\nDescription: d\nVersion: ${v}\nRequires: ${missing}x >= ${maj}\n",
	"provides":  "Name: p\nDescription: d\nVersion: 1.0\nProvides: alias = 1.0, other, third >= 2\n",
	"nodesc":    "Name: p\nVersion: 1.0\nRequires: a\n",
	"noversion": "Name: p\nDescription: d\nRequires: a\n",
	"comments":  "# head\nName: p # trailing\nDescription: d\\#x\nVersion: 1.0 # c\nRequires: a \\\n   b\n",
	"crlf":      "Name: p\r\nDescription: d\r\nVersion: 1.0\r\nRequires: a >= 1\r\n",
	"spaces":    "  Name  :   p  \nDescription:d\nVersion :  1.0   extra words\nRequires:   ,, a ,, b >=   2 ,\n",
	"internal":  "Name: p\nDescription: d\nVersion: 1\nRequires.internal: i = 1\nRequires: a\nRequires: b\n",
	"ops":       "Name: p\nDescription: d\nVersion: 1\nRequires: a <= 1 b => 2 c =< 3 d == 4 e <> 5\n",
	"keys":      "Name: p\nDescription: d\nVersion: 1\n1Requires: x\n_Requires: y\nrequires: z\nRequires= w\n",
	"empty":     "",
	"dupname":   "Name: p\nName: q\nDescription: d\nVersion: 1\nVersion: 2\n",
	"weirdver":  "Name: p\nDescription: d\nVersion: 1:2-3~rc\nRequires: a >= 1:2-3\n",
	"trailing":  "Name: p\nDescription: d\nVersion: 1\nRequires: a >=\n",
	"dotname":   "Name: p\nDescription: d\nVersion: 1\n",
	"recursive": "a=${a}x\nb=${b\nName: p\nDescription: d\nVersion: ${a}${b}\nRequires: q >= ${a}\n",
	"dollar":    "Name: p\nDescription: d\nVersion: $$1$x\nRequires: q = $${x}\n",
	"prefix":    "prefix=/opt/p\nName: p\nDescription: d\nVersion: ${prefix}\n",
	"pcfiledir": "Name: p\nDescription: d\nVersion: 1\nRequires: q = ${pcfiledir}\n",
	"tabs":      "Name:\tp\t\nDescription:\td\nVersion:\t1\t2\nRequires:\ta\t>=\t1\n",
	"bang":      "Name: p\nDescription: d\nVersion: 1\nRequires: a !== 1 b ! 2\n",
	"nonascii":  "Name: p\nDescription: d\nVersion: 1\xc3\xa9\nRequires: \xc3\xa9 >= 1\n",
	"novalue":   "Name:\nDescription:\nVersion:\n",
	"quoted":    "v=\"1.\\\"2\"\nw='3'x\nName: p\nDescription: d\nVersion: ${v}${w}\nRequires: q >= ${pc_sysrootdir}${pc_top_builddir}\n",
	"collide":   "Name: p\nDescription: d\nVersion: 1\nRequires.internal: a = 1 b = 2\nRequires.private: a = 3\nRequires.internal: a = 4\nRequires: c c\nProvides: p = 9\n",
	"chain":     "a=$\nb={x}\nc=${a}${b}\nx=X\nName: p\nDescription: d\nVersion: ${c}\n",
}

// TestPkgConfigAgainstPkgconfigdeps runs rpm's pkgconfigdeps.sh (over the
// real pkgconf) and autodeps on the same .pc files, from the samples
// above and from the host.
func TestPkgConfigAgainstPkgconfigdeps(t *testing.T) {
	requireTools(t, "/usr/lib/rpm/pkgconfigdeps.sh", "pkg-config")
	dir := filepath.Join(t.TempDir(), "usr/lib64/pkgconfig")
	must(t, os.MkdirAll(dir, 0o755))
	var files []string
	for name, text := range pcSamples {
		p := filepath.Join(dir, name+".pc")
		if name == "dotname" {
			p = filepath.Join(dir, "lib.with.dots-1.0.pc")
		}
		must(t, os.WriteFile(p, []byte(text), 0o644))
		files = append(files, p)
	}
	for _, d := range []string{"/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/share/pkgconfig", "/usr/lib/pkgconfig"} {
		host, _ := filepath.Glob(filepath.Join(d, "*.pc"))
		files = append(files, host...)
	}
	slices.Sort(files)
	for _, p := range files {
		data, err := os.ReadFile(p)
		must(t, err)
		pc, ok := parsePC(p, data)
		var prov, req []string
		if ok {
			prov = pcDepLines(pc.provides)
			req = pcDepLines(pc.requires)
		}
		req = append([]string{"/usr/bin/pkg-config"}, req...)
		wantProv, _ := runGenerator(t, p, "/usr/lib/rpm/pkgconfigdeps.sh", "--provides")
		wantReq, _ := runGenerator(t, p, "/usr/lib/rpm/pkgconfigdeps.sh", "--requires")
		if !slices.Equal(trimAll(prov), trimAll(wantProv)) {
			t.Errorf("%s provides:\n got %q\n rpm %q", p, prov, wantProv)
		}
		if !slices.Equal(trimAll(req), trimAll(wantReq)) {
			t.Errorf("%s requires:\n got %q\n rpm %q", p, req, wantReq)
		}
	}
}

func trimAll(s []string) []string {
	var out []string
	for _, x := range s {
		out = append(out, strings.TrimSpace(x))
	}
	return out
}

// TestScriptAgainstScriptReq runs rpm's script.req and autodeps on the
// same first lines.
func TestScriptAgainstScriptReq(t *testing.T) {
	requireTools(t, "/usr/lib/rpm/script.req")
	dir := t.TempDir()
	for i, s := range []string{
		"#!/bin/sh\n", "#! /bin/sh -e\n", "#!\t/usr/bin/python3\n", "#!/usr/bin/env bash\n",
		"#!/usr/bin/env /usr/bin/perl -w\n", "#!/usr/bin/env  /opt/x\n", "#!/bin/env /bin/sh\n",
		"#!/usr/local/bin/env /bin/sh x y\n", "#!relative\n", "#!/\n", "#!//\n", "#!\n", "#!/bin/sh\r\n",
		"no shebang\n", "#!/usr/bin/env\n", "#!/usr/bin/env -S /bin/sh\n", "#!/bin/sh\n#!/bin/bash\n",
		"#!/a\x00b\n", "#!/usr/bin/envy /bin/sh\n", "#!/usr/bin/env\t/bin/sh\n",
	} {
		p := filepath.Join(dir, "s"+string(rune('a'+i)))
		must(t, os.WriteFile(p, []byte(s), 0o755))
		want, err := runGenerator(t, p, "/usr/lib/rpm/script.req")
		must(t, err)
		if got := scriptRequires([]byte(s)); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\n script.req %q", s, got, want)
		}
	}
}
