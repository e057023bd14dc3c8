package specs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const subSpec = `name: rt
version: "1.0"
arch: x86_64
summary: A runtime
license: MIT
build: ["make"]
requires: [glibc]
files:
  - {src: $DESTDIR/usr/bin/rt, dst: /usr/bin/rt}
packages:
  - name: rt-devel
    summary: Headers for rt
    requires: ["rt = 1.0-1"]
    files:
      - {src: $DESTDIR/usr/include/, dst: /usr/include/}
    scripts:
      post: "echo devel"
  - name: rt-doc
    summary: Docs for rt
    arch: noarch
    description: |
      Long text.
    files:
      - {src: README, dst: /usr/share/doc/rt/README}
`

func TestParsePackages(t *testing.T) {
	s, err := Parse("specs/rt.yaml", []byte(subSpec))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Packages) != 2 || !s.Debuginfo {
		t.Fatalf("packages %+v, debuginfo %v", s.Packages, s.Debuginfo)
	}
	dev := s.Subpackage(0)
	if dev.Name != "rt-devel" || dev.Arch != "x86_64" || dev.Version != "1.0" || dev.Release != "1" || dev.License != "MIT" || dev.Description != "Headers for rt" {
		t.Errorf("devel: %+v", dev)
	}
	if !reflect.DeepEqual(dev.Requires, []Dep{{"rt", "=", "1.0-1"}}) || dev.Scripts.Post != "echo devel" || len(dev.Build) != 0 || dev.Packages != nil {
		t.Errorf("devel deps/scripts/build: %+v", dev)
	}
	if f := dev.Files[0]; f.Field() != "packages[0].files[0]" || !f.Tree || f.Line != 15 {
		t.Errorf("devel file %+v field %s", f, f.Field())
	}
	doc := s.Subpackage(1)
	if doc.Arch != "noarch" || doc.Description != "Long text." {
		t.Errorf("doc: %+v", doc)
	}
	if s.Name != "rt" || len(s.Files) != 1 || s.Requires[0].Name != "glibc" || s.SourceRPM() != "rt-1.0-1.src.rpm" {
		t.Errorf("main changed: %+v", s)
	}
	s2, err := Parse("specs/rt.yaml", []byte(subSpec+"debuginfo: false\n"))
	if err != nil || s2.Debuginfo {
		t.Fatalf("debuginfo: false: %v %v", err, s2)
	}
}

func TestParsePackagesErrors(t *testing.T) {
	base := "name: rt\nversion: \"1\"\narch: x86_64\nsummary: s\nlicense: MIT\nfiles:\n  - {src: a, dst: /usr/bin/a}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"missing name", "packages:\n  - summary: x\n", "specs/rt.yaml:9: packages[0].name: missing required key"},
		{"same as main", "packages:\n  - {name: rt, summary: x}\n", `packages[0].name: invalid value: "rt" is already the name of name`},
		{"debuginfo name", "packages:\n  - {name: rt-debuginfo, summary: x}\n", `"rt-debuginfo" is already the name of the debuginfo package`},
		{"twice", "packages:\n  - {name: rt-a, summary: x}\n  - {name: rt-a, summary: y}\n", `packages[1].name: invalid value: "rt-a" is already the name of packages[0]`},
		{"no summary", "packages:\n  - {name: rt-a}\n", "packages[0].summary: missing required key"},
		{"bad dep", "packages:\n  - {name: rt-a, summary: x, requires: [\"a >=\"]}\n", "packages[0].requires[0]: invalid value"},
		{"unknown key", "packages:\n  - {name: rt-a, summary: x, version: 2}\n", `packages[0].version: unknown key`},
		{"file in two packages", "packages:\n  - name: rt-a\n    summary: x\n    files:\n      - {src: b, dst: /usr/bin/a}\n", "specs/rt.yaml:12: packages[0].files[0].dst: invalid value: /usr/bin/a is already packaged by files[0] (line 7)"},
		{"file twice in subpackages", "packages:\n  - name: rt-a\n    summary: x\n    files: [{src: b, dst: /b}]\n  - name: rt-b\n    summary: x\n    files: [{src: c, dst: /b}]\n", "packages[1].files[0].dst: invalid value: /b is already packaged by packages[0].files[0] (line 11)"},
		{"bad file", "packages:\n  - name: rt-a\n    summary: x\n    files: [{src: ../b, dst: /b}]\n", "packages[0].files[0].src: path escapes its root"},
		{"too many", "packages:\n" + strings.Repeat("  - {name: rt-a, summary: x}\n", MaxPackages+1), "packages: invalid value: 65 subpackages"},
		{"debuginfo not bool", "debuginfo: maybe\n", "debuginfo: invalid value: must be true or false"},
	}
	for _, tt := range tests {
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
