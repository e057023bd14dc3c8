package specs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const advBase = "name: x\nversion: 1.4.1\nsummary: S\nlicense: MIT\nchangelog:\n  - date: 2026-12-01\n    author: A <a@example.com>\n    text: |\n      - Fix it.\n"

func TestAdvisoryParse(t *testing.T) {
	s, err := Parse("specs/x.yaml", []byte(advBase+"    version: 1.4.1-1\n    advisory:\n      type: Security\n      severity: important\n      cves: [CVE-2026-1234, CVE-2026-12345]\n      bugs: ['https://tracker.example.com/412']\n      title: Header injection\n"+
		"  - date: 2026-11-01\n    author: A\n    version: 1.4.0-1\n    text: old\n    advisory: {type: bugfix}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Advisory{Type: "security", Severity: "Important", CVEs: []string{"CVE-2026-1234", "CVE-2026-12345"},
		Bugs: []string{"https://tracker.example.com/412"}, Title: "Header injection"}
	if !reflect.DeepEqual(s.Changelog[0].Advisory, want) {
		t.Errorf("advisory = %+v", s.Changelog[0].Advisory)
	}
	if s.Changelog[1].Advisory == nil || s.Changelog[1].Advisory.Type != "bugfix" {
		t.Errorf("second advisory = %+v", s.Changelog[1].Advisory)
	}
	for _, tt := range []struct {
		release, epoch, version, dist string
		ok                            bool
	}{
		{"1", "", "1.4.1-1", "", true},
		{"1", "", "1.4.1", "", true},
		{"1.el9", "", "1.4.1-1", ".el9", true},
		{"1.el9", "", "1.4.1-1", "", false},
		{"2", "", "1.4.1-1", "", false},
		{"1", "2", "2:1.4.1-1", "", true},
		{"1", "", "0:1.4.1-1", "", true},
		{"1", "2", "1:1.4.1-1", "", false},
		{"1", "", "1.4.0-1", "", false},
	} {
		y := strings.Replace(advBase, "version: 1.4.1\n", "version: 1.4.1\nrelease: '"+strings.TrimSuffix(tt.release, tt.dist)+"'\n", 1)
		if tt.epoch != "" {
			y = strings.Replace(y, "version: 1.4.1\n", "version: 1.4.1\nepoch: "+tt.epoch+"\n", 1)
		}
		y += "    version: '" + tt.version + "'\n    advisory: {type: enhancement}\n"
		s, err := Parse("specs/x.yaml", []byte(y))
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		s.Release = tt.release
		if _, ok := s.NewestAdvisory(tt.dist); ok != tt.ok {
			t.Errorf("%+v: NewestAdvisory = %v", tt, ok)
		}
	}
}

func TestAdvisoryErrors(t *testing.T) {
	adv := advBase + "    version: 1.4.1-1\n    advisory:\n"
	tests := []struct {
		name, yaml string
		line       int
		field      string
		is         error
		msg        string
	}{
		{"no type", adv + "      severity: Low\n", 12, "changelog[0].advisory.type", ErrMissingKey, "security, bugfix or enhancement"},
		{"bad type", adv + "      type: securty\n", 12, "changelog[0].advisory.type", ErrInvalid, "not one of"},
		{"no severity", adv + "      type: security\n", 12, "changelog[0].advisory.severity", ErrMissingKey, ""},
		{"bad severity", adv + "      type: security\n      severity: high\n", 13, "changelog[0].advisory.severity", ErrInvalid, "Critical"},
		{"severity on bugfix", adv + "      type: bugfix\n      severity: Low\n", 13, "changelog[0].advisory.severity", ErrInvalid, "only a security"},
		{"bad cve", adv + "      type: bugfix\n      cves:\n        - CVE-2026-1\n", 14, "changelog[0].advisory.cves[0]", ErrInvalid, "CVE ID"},
		{"duplicate cve", adv + "      type: bugfix\n      cves:\n        - CVE-2026-1234\n        - CVE-2026-1234\n", 15, "changelog[0].advisory.cves[1]", ErrInvalid, "twice"},
		{"too many cves", adv + "      type: bugfix\n      cves: [" + strings.Repeat("CVE-2026-1234,", 65) + "]\n", 13, "changelog[0].advisory.cves", ErrInvalid, "limit"},
		{"bad bug", adv + "      type: bugfix\n      bugs:\n        - ftp://x/1\n", 14, "changelog[0].advisory.bugs[0]", ErrInvalid, "http(s)"},
		{"bug with user", adv + "      type: bugfix\n      bugs:\n        - https://u:p@x/1\n", 14, "changelog[0].advisory.bugs[0]", ErrInvalid, "http(s)"},
		{"long bug", adv + "      type: bugfix\n      bugs:\n        - https://x/" + strings.Repeat("a", 300) + "\n", 14, "changelog[0].advisory.bugs[0]", ErrInvalid, "limit"},
		{"long title", adv + "      type: bugfix\n      title: " + strings.Repeat("t", 201) + "\n", 13, "changelog[0].advisory.title", ErrInvalid, "limit"},
		{"unknown key", adv + "      type: bugfix\n      cve: [CVE-2026-1234]\n", 13, "changelog[0].advisory.cve", ErrUnknownKey, "cves"},
		{"no version", strings.Replace(adv, "    version: 1.4.1-1\n", "", 1) + "      type: bugfix\n", 6, "changelog[0].version", ErrMissingKey, "names the version"},
		{"bad version", strings.Replace(adv, "1.4.1-1", "'1.4 1'", 1) + "      type: bugfix\n", 10, "changelog[0].version", ErrInvalid, ""},
		{"not a mapping", adv[:len(adv)-1] + " security\n", 11, "changelog[0].advisory", ErrInvalid, "mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("specs/x.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *specs.Error", err)
			}
			if pe.Line != tt.line || pe.Field != tt.field || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got line %d field %q (%v), want line %d field %q %v %q", pe.Line, pe.Field, err, tt.line, tt.field, tt.is, tt.msg)
			}
		})
	}
}
