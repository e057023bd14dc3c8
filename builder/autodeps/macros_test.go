package autodeps

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var macroSamples = []string{
	"%foo bar\n%baz(a:b) %{-a:x} %1\n%__private x\n",
	"%multi %{lua:\nprint(1)\n}\n%cont a \\\n  b\n%after 1\n",
	"# comment\n  %indented yes\n%empty\n%  spaced 1\n%1bad x\n%_ x\n%_ok x\n%define x\n%dump x\n",
	"%grouped {\n body\n}\n%braced {one}\n%unterminated %{foo\n%next 1\n",
	"%opts(x no close\n%dup 1\n%dup 2\n%%notmacro 1\n%q \\%{x}\n%crlf 1\r\n%last 1",
}

// TestMacrosAgainstRPM runs rpm's rpm_macros_provides.sh (which loads the
// file into rpm itself) and autodeps on macro files.
func TestMacrosAgainstRPM(t *testing.T) {
	requireTools(t, "/usr/lib/rpm/rpm_macros_provides.sh", "rpm")
	dir := t.TempDir()
	var files []string
	for i, s := range macroSamples {
		p := filepath.Join(dir, "macros.s"+string(rune('a'+i)))
		must(t, os.WriteFile(p, []byte(s), 0o644))
		files = append(files, p)
	}
	host, _ := filepath.Glob("/usr/lib/rpm/macros.d/macros.*")
	files = append(files, host...)
	for _, p := range files {
		data, err := os.ReadFile(p)
		must(t, err)
		want, err := runGenerator(t, p, "/usr/lib/rpm/rpm_macros_provides.sh")
		must(t, err)
		if got := rpmMacroProvides(data); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\n rpm %q", p, got, want)
		}
	}
}
