package autodeps

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, glob string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", glob))
	if len(paths) == 0 {
		f.Fatalf("no seeds for %s", glob)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzELF feeds hostile objects to the elfdeps and libmagic readers.
func FuzzELF(f *testing.F) {
	addSeeds(f, "elf/*")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, exec := range []bool{true, false} {
			info, err := analyzeELF(bytes.NewReader(data), int64(len(data)), exec, "libx.so.1")
			if err == nil {
				if len(info.requires) > maxELFDeps+1 || len(info.provides) > maxELFDeps+1 {
					t.Fatalf("%d requires, %d provides", len(info.requires), len(info.provides))
				}
				if _, err := parseDepLines(info.requires, SenseFindRequires); err != nil {
					_ = err // rpm would fail the build too; Analyze reports it
				}
			}
		}
		desc := elfMagic(bytes.NewReader(data), int64(len(data)), 0o755)
		if len(data) >= 6 && isELFMagic(data) && !strings.HasPrefix(desc, "ELF ") {
			t.Fatalf("description %q", desc)
		}
	})
}

// FuzzPC feeds hostile .pc files to the pkgconf parser.
func FuzzPC(f *testing.F) {
	addSeeds(f, "pc/*.pc")
	for _, s := range pcSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pc, ok := parsePC("/usr/lib64/pkgconfig/f.pc", data)
		if !ok {
			return
		}
		lines := append(pcDepLines(pc.provides), pcDepLines(pc.requires)...)
		for _, l := range lines {
			if len(l) > 3*maxPCValue {
				t.Fatalf("line of %d bytes", len(l))
			}
		}
		parseDepLines(lines, SenseFindRequires)
	})
}

// FuzzText feeds hostile content to the type guesser and script.req.
func FuzzText(f *testing.F) {
	for _, s := range magicSamples() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		contentType(data, "")
		for _, l := range scriptRequires(data) {
			if !strings.HasPrefix(l, "/") {
				t.Fatalf("requires %q", l)
			}
		}
	})
}

// FuzzPythonDist feeds hostile metadata to the pythondistdeps port.
func FuzzPythonDist(f *testing.F) {
	addSeeds(f, "dist/*")
	for _, s := range distSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pythonDist("/usr/lib/python3.11/site-packages/f-1.dist-info", distMeta{metadata: string(data)})
		pythonDist("/usr/lib/python3.11/site-packages/f-1.egg-info", distMeta{metadata: string(data), requiresTxt: string(data), entryPoints: string(data), egg: true})
	})
}

// FuzzPerl feeds hostile Perl to the perl.req and perl.prov ports.
func FuzzPerl(f *testing.F) {
	for _, s := range append(append([]string{}, perlSamples...), pmSamples...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		perlRequires(data)
		perlProvides(data)
	})
}

// FuzzMacros feeds hostile macro files to the rpm macro-file reader.
func FuzzMacros(f *testing.F) {
	for _, s := range macroSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rpmMacroProvides(data)
	})
}
