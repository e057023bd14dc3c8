package autodeps

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var distSamples = map[string]string{
	"plain-1.0.dist-info":        "Metadata-Version: 2.1\nName: plain\nVersion: 1.0\n",
	"Dots.And_Under-2.dist-info": "Name: Dots.And_Under\nVersion: 2.0.0\n",
	"specs-1.dist-info": "Name: specs\nVersion: 1.0rc1\nRequires-Dist: a (>=1.0,<2)\nRequires-Dist: b==1.*\nRequires-Dist: c!=1.5\n" +
		"Requires-Dist: d~=2.1.3\nRequires-Dist: e>1.0.post2\nRequires-Dist: f<=3.0.dev4\nRequires-Dist: g===7\nRequires-Dist: h!=2.*\n" +
		"Requires-Dist: I_J.K>=1!2.0\nRequires-Dist: l[extra1,Extra2]>=1\nRequires-Dist: m @ https://example.com/m.tar.gz\nRequires-Dist: n>=1a1\n",
	"markers-1.dist-info": "Name: markers\nVersion: 1\nRequires-Dist: a; python_version >= \"3.8\"\nRequires-Dist: b; python_version < \"3\"\n" +
		"Requires-Dist: c; sys_platform == \"win32\"\nRequires-Dist: d; sys_platform == \"linux\" and python_version > \"3.10\"\n" +
		"Requires-Dist: e; extra == \"test\"\nRequires-Dist: f; (os_name == \"nt\" or platform_machine == \"x86_64\")\n" +
		"Requires-Dist: g; python_full_version >= \"3.11.0\"\nRequires-Dist: h; 'linux' in sys_platform\nProvides-Extra: test\n",
	"noversion-1.dist-info": "Name: noversion\n",
	"python-3.dist-info":    "Name: Python\nVersion: 3.11\n",
	"multi-1.dist-info":     "Name: multi\nVersion: 1\nRequires-Dist: a>=1\nRequires-Dist: a<3\nRequires-Dist: a>=1\n",
	"cont-1.dist-info":      "Name: cont\nVersion: 1\nSummary: a\n  continued\nRequires-Dist: x\n\nRequires-Dist: body-not-header\n",
}

var eggSamples = map[string]map[string]string{
	"egg-1.0-py3.11.egg-info": {
		"PKG-INFO":         "Metadata-Version: 1.1\nName: egg\nVersion: 1.0\n",
		"requires.txt":     "a>=1\nb\n\n[test]\npytest\n\n[:python_version < \"3\"]\nold\n\n[:sys_platform == \"linux\"]\nlinuxonly>=2\n",
		"entry_points.txt": "[console_scripts]\negg = egg:main\n",
	},
	"plainegg-2.egg-info": {
		"PKG-INFO": "Name: plain_egg\nVersion: 2.0.post1\n",
	},
	"gui-3.egg-info": {
		"PKG-INFO":         "Name: gui\nVersion: 3\nRequires-Dist: x\n",
		"entry_points.txt": "[gui_scripts]\ng = gui:main\n[other]\n",
	},
}

// TestPythonAgainstPythondistdeps runs rpm's pythondistdeps.py (with the
// arguments rpm's pythondist.attr gives it) and autodeps on dist-info
// directories: the samples above and the host's.
func TestPythonAgainstPythondistdeps(t *testing.T) {
	requireTools(t, "/usr/lib/rpm/pythondistdeps.py", "python3")
	site := filepath.Join(t.TempDir(), "usr/lib/python3.11/site-packages")
	must(t, os.MkdirAll(site, 0o755))
	for name, meta := range distSamples {
		must(t, os.MkdirAll(filepath.Join(site, name), 0o755))
		must(t, os.WriteFile(filepath.Join(site, name, "METADATA"), []byte(meta), 0o644))
	}
	host, _ := filepath.Glob("/usr/lib/python3/dist-packages/*.dist-info")
	for _, h := range host {
		data, err := os.ReadFile(filepath.Join(h, "METADATA"))
		if err != nil {
			continue
		}
		d := filepath.Join(site, filepath.Base(h))
		must(t, os.MkdirAll(d, 0o755))
		must(t, os.WriteFile(filepath.Join(d, "METADATA"), data, 0o644))
	}
	for name, files := range eggSamples {
		must(t, os.MkdirAll(filepath.Join(site, name), 0o755))
		for f, text := range files {
			must(t, os.WriteFile(filepath.Join(site, name, f), []byte(text), 0o644))
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(site, "*.dist-info"))
	eggs, _ := filepath.Glob(filepath.Join(site, "*.egg-info"))
	dirs = append(dirs, eggs...)
	if len(dirs) < len(distSamples) {
		t.Fatalf("only %d dist-info directories", len(dirs))
	}
	compared := 0
	for _, d := range dirs {
		r, err := os.OpenRoot("/")
		must(t, err)
		dm, err := readDist(r.FS(), strings.TrimPrefix(d, "/"), d)
		r.Close()
		must(t, err)
		prov, req, err := pythonDist(d, *dm)
		wantProv, perr := runGenerator(t, d, "/usr/lib/rpm/pythondistdeps.py", "--provides", "--majorver-provides")
		wantReq, rerr := runGenerator(t, d, "/usr/lib/rpm/pythondistdeps.py", "--requires")
		if (err != nil) != (perr != nil || rerr != nil) {
			t.Errorf("%s: error %v, pythondistdeps %v %v", d, err, perr, rerr)
			continue
		}
		if err != nil {
			continue
		}
		if !slices.Equal(prov, wantProv) {
			t.Errorf("%s provides:\n got %q\n rpm %q", filepath.Base(d), prov, wantProv)
		}
		compared++
		if !slices.Equal(req, wantReq) {
			t.Errorf("%s requires:\n got %q\n rpm %q", filepath.Base(d), req, wantReq)
		}
	}
	if compared < len(distSamples)+len(eggSamples)-1 {
		t.Errorf("compared only %d distributions", compared)
	}
}

// TestPythonABI checks python.attr's path rules.
func TestPythonABI(t *testing.T) {
	for _, c := range []struct {
		path           string
		provides, reqs []string
	}{
		{"/usr/lib/python3.11/site-packages/a.py", nil, []string{"python(abi) = 3.11"}},
		{"/usr/lib64/python3.12/x/_c.so", nil, []string{"python(abi) = 3.12"}},
		{"/usr/lib/python3.11/a.pyc", nil, []string{"python(abi) = 3.11"}},
		{"/usr/lib/python3.11/a.txt", nil, nil},
		{"/usr/lib32/python3.11/a.py", nil, nil},
		{"/usr/bin/python3.11", []string{"python(abi) = 3.11"}, nil},
		{"/usr/bin/python3.11-config", nil, nil},
		{"/usr/lib/python3.11/site-packages/x/usr/lib/python2.7/y.py", nil, []string{"python(abi) = 2.7"}},
	} {
		if got := pythonABI(c.path, true); !slices.Equal(got, c.provides) {
			t.Errorf("%s provides %q, want %q", c.path, got, c.provides)
		}
		if got := pythonABI(c.path, false); !slices.Equal(got, c.reqs) {
			t.Errorf("%s requires %q, want %q", c.path, got, c.reqs)
		}
	}
}
