package specs

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAutoDeps(t *testing.T) {
	base := "name: rt\nversion: \"1\"\narch: x86_64\nsummary: s\nlicense: MIT\nfiles:\n  - {src: a, dst: /usr/bin/a}\n"
	s, err := Parse("specs/rt.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if a := s.AutoDeps; a.NoAutoReq || a.NoAutoProv || a.RequiresExclude != nil || a.ProvidesExcludeFrom != nil {
		t.Errorf("defaults: %+v", a)
	}
	s, err = Parse("specs/rt.yaml", []byte(base+"autoreq: false\nautoprov: false\nrequires_exclude: ^libfoo\\.so\nprovides_exclude: ^perl\\(\n"+
		"requires_exclude_from: ^/usr/share/doc/\nprovides_exclude_from: ^/usr/lib64/plugins/\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := s.AutoDeps
	if !a.NoAutoReq || !a.NoAutoProv || !a.RequiresExclude.MatchString("libfoo.so.1()(64bit)") || !a.ProvidesExclude.MatchString("perl(X)") ||
		!a.RequiresExcludeFrom.MatchString("/usr/share/doc/x") || a.ProvidesExcludeFrom.MatchString("/usr/lib64/x") {
		t.Errorf("parsed: %+v", a)
	}
	// Subpackages share the switches.
	s, err = Parse("specs/rt.yaml", []byte(base+"autoreq: false\npackages:\n  - {name: rt-a, summary: x}\n"))
	if err != nil || !s.Subpackage(0).AutoDeps.NoAutoReq {
		t.Errorf("subpackage: %v", err)
	}
	// A subpackage sets them again for itself; what it leaves out is the
	// top level's.
	s, err = Parse("specs/rt.yaml", []byte(base+"autoreq: false\nrequires_exclude: ^top\nprovides_exclude: ^ptop\npackages:\n"+
		"  - {name: rt-a, summary: x, autoreq: true, autoprov: false, requires_exclude: ^mine, provides_exclude_from: ^/opt/}\n"+
		"  - {name: rt-b, summary: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := s.AutoDeps; !a.NoAutoReq || a.NoAutoProv || a.RequiresExclude.String() != "^top" || a.ProvidesExcludeFrom != nil {
		t.Errorf("main: %+v", a)
	}
	if a := s.Subpackage(0).AutoDeps; a.NoAutoReq || !a.NoAutoProv || a.RequiresExclude.String() != "^mine" ||
		a.ProvidesExclude.String() != "^ptop" || a.ProvidesExcludeFrom.String() != "^/opt/" || a.RequiresExcludeFrom != nil {
		t.Errorf("rt-a: %+v", a)
	}
	if a := s.Subpackage(1).AutoDeps; !a.NoAutoReq || a.NoAutoProv || a.RequiresExclude.String() != "^top" || a.ProvidesExcludeFrom != nil {
		t.Errorf("rt-b: %+v", a)
	}

	for _, tt := range []struct{ name, yaml, want string }{
		{"bad regex", "requires_exclude: \"(a\"\n", `specs/rt.yaml:8: requires_exclude: invalid value: "(a" is not a regular expression`},
		{"empty", "provides_exclude_from: \"\"\n", "specs/rt.yaml:8: provides_exclude_from: invalid value: empty pattern"},
		{"long", "provides_exclude: " + strings.Repeat("a", maxPattern+1) + "\n", "provides_exclude: invalid value: pattern of 4097 bytes"},
		{"not bool", "autoreq: maybe\n", "autoreq: invalid value: must be true or false"},
		{"list", "requires_exclude: [a]\n", "requires_exclude"},
		{"sub bad regex", "packages:\n  - name: rt-a\n    summary: x\n    provides_exclude: \"a)\"\n", `specs/rt.yaml:11: packages[0].provides_exclude: invalid value: "a)" is not a regular expression`},
		{"sub empty", "packages:\n  - name: rt-a\n    summary: x\n    requires_exclude_from: \"\"\n", "specs/rt.yaml:11: packages[0].requires_exclude_from: invalid value: empty pattern (leave the key out to keep the top-level one)"},
		{"sub long", "packages:\n  - {name: rt-a, summary: x, requires_exclude: " + strings.Repeat("a", maxPattern+1) + "}\n", "packages[0].requires_exclude: invalid value: pattern of 4097 bytes"},
		{"sub not bool", "packages:\n  - {name: rt-a, summary: x, autoprov: maybe}\n", "specs/rt.yaml:9: packages[0].autoprov: invalid value: must be true or false"},
		{"sub list", "packages:\n  - {name: rt-a, summary: x, provides_exclude: [a]}\n", "packages[0].provides_exclude: invalid value: must be a single value"},
		{"sub misspelt", "packages:\n  - {name: rt-a, summary: x, auto_req: false}\n", `packages[0].auto_req: unknown key: "auto_req" (did you mean "autoreq"?)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("specs/rt.yaml", []byte(base+tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, tt.want)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Errorf("not a *specs.Error: %T", err)
			}
		})
	}
}
