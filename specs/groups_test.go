package specs

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/groups")

// TestParseGroupsGolden: the example groups file of the README parses to
// what it says, and its comps XML is the golden file, byte for byte, at
// every run.
func TestParseGroupsGolden(t *testing.T) {
	data, err := os.ReadFile("../testdata/groups/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseGroups("groups.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	web := PackageGroup{ID: "web-node", Name: "Web node", Description: "Everything a web node runs", Default: true, UserVisible: true, Line: 3,
		Packages: GroupPackages{Mandatory: []string{"nginx", "appstruct"}, Default: []string{"acn-runtime"}, Optional: []string{"acn-runtime-devel"},
			Conditional: []CondPackage{{Name: "python3-foo", Requires: "python3"}}}}
	if !reflect.DeepEqual(g.Groups[0], web) {
		t.Errorf("group web-node:\n got %+v\nwant %+v", g.Groups[0], web)
	}
	if tools := g.Groups[1]; tools.Default || tools.UserVisible || tools.Name != "Tools & <helpers>" || !strings.HasSuffix(tools.Description, "日本.") {
		t.Errorf("group tools: %+v", tools)
	}
	if want := []GroupCategory{{ID: "web", Name: "Web", Groups: []string{"web-node", "tools"}, Line: 22}}; !reflect.DeepEqual(g.Categories, want) {
		t.Errorf("categories: %+v", g.Categories)
	}
	got := g.Comps()
	const golden = "../testdata/groups/web.xml"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("comps XML differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	again, err := ParseGroups("groups.yaml", data)
	if err != nil || !bytes.Equal(again.Comps(), got) {
		t.Error("the same file gave other bytes")
	}
	checkComps(t, g, got)
}

// parsedComps is what a client reads of the comps XML.
type parsedComps struct {
	Groups []struct {
		ID          string `xml:"id"`
		Name        string `xml:"name"`
		Description string `xml:"description"`
		Default     bool   `xml:"default"`
		UserVisible bool   `xml:"uservisible"`
		Reqs        []struct {
			Type     string `xml:"type,attr"`
			Requires string `xml:"requires,attr"`
			Name     string `xml:",chardata"`
		} `xml:"packagelist>packagereq"`
	} `xml:"group"`
	Categories []struct {
		ID          string   `xml:"id"`
		Name        string   `xml:"name"`
		Description string   `xml:"description"`
		Groups      []string `xml:"grouplist>groupid"`
	} `xml:"category"`
}

// checkComps decodes data with a strict XML decoder and checks that it
// says what g says, every text as written.
func checkComps(t *testing.T, g *GroupFile, data []byte) {
	t.Helper()
	var c parsedComps
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("the comps XML does not decode: %v\n%s", err, data)
	}
	if len(c.Groups) != len(g.Groups) || len(c.Categories) != len(g.Categories) {
		t.Fatalf("%d groups, %d categories in the XML; want %d, %d", len(c.Groups), len(c.Categories), len(g.Groups), len(g.Categories))
	}
	for i, want := range g.Groups {
		got := c.Groups[i]
		if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description || got.Default != want.Default || got.UserVisible != want.UserVisible {
			t.Errorf("group %d in the XML: %+v, want %+v", i, got, want)
		}
		var reqs []string
		for _, r := range got.Reqs {
			reqs = append(reqs, r.Type+":"+r.Name+":"+r.Requires)
		}
		var wantReqs []string
		for _, l := range []struct {
			kind  string
			names []string
		}{{"mandatory", want.Packages.Mandatory}, {"default", want.Packages.Default}, {"optional", want.Packages.Optional}} {
			for _, n := range l.names {
				wantReqs = append(wantReqs, l.kind+":"+n+":")
			}
		}
		for _, cp := range want.Packages.Conditional {
			wantReqs = append(wantReqs, "conditional:"+cp.Name+":"+cp.Requires)
		}
		if !reflect.DeepEqual(reqs, wantReqs) {
			t.Errorf("group %s packagereqs %v, want %v", want.ID, reqs, wantReqs)
		}
	}
	for i, want := range g.Categories {
		got := c.Categories[i]
		if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description || !reflect.DeepEqual(got.Groups, want.Groups) {
			t.Errorf("category %d in the XML: %+v, want %+v", i, got, want)
		}
	}
}

// TestParseGroupsErrors: every fault is refused with the file, the line
// and the field, and what is wrong.
func TestParseGroupsErrors(t *testing.T) {
	const ok = "groups:\n  - id: a\n    name: A\n    packages:\n      mandatory: [p]\n"
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
		sentinel   error
	}{
		{"unknown key", "groups:\n  - id: a\n    name: A\n    packges:\n      mandatory: [p]\n",
			[]string{`groups.yaml:4: groups[0].packges: unknown key: "packges" (did you mean "packages"?)`}, ErrUnknownKey},
		{"unknown package type", "groups:\n  - id: a\n    name: A\n    packages:\n      required: [p]\n",
			[]string{`groups.yaml:5: groups[0].packages.required: unknown key`}, ErrUnknownKey},
		{"unknown top key", ok + "environments: []\n", []string{`groups.yaml:6: environments: unknown key`}, ErrUnknownKey},
		{"duplicate group id", ok + "  - id: a\n    name: B\n    packages: {default: [q]}\n",
			[]string{`groups.yaml:6: groups[1].id: invalid value: group id "a" is also defined on line 2`}, ErrInvalid},
		{"duplicate category id", ok + "categories:\n  - {id: c, name: C, groups: [a]}\n  - {id: c, name: D, groups: [a]}\n",
			[]string{`groups.yaml:8: categories[1].id: invalid value: category id "c" is also defined on line 7`}, ErrInvalid},
		{"alias", "groups:\n  - id: a\n    name: A\n    packages:\n      mandatory: &m [p]\n  - id: b\n    name: B\n    packages:\n      mandatory: *m\n",
			[]string{`groups.yaml:9: groups[1].packages.mandatory: YAML alias or merge key not allowed: *m: write the value out here`}, ErrAlias},
		{"merge key", "groups:\n  - &g {id: a, name: A, packages: {mandatory: [p]}}\n  - <<: *g\n    id: b\n",
			[]string{"groups.yaml:3: groups[1].<<: YAML alias or merge key not allowed"}, ErrAlias},
		{"bad id", "groups:\n  - id: a b\n    name: A\n    packages: {mandatory: [p]}\n",
			[]string{`groups.yaml:2: groups[0].id: invalid value: "a b": a group id has letters, digits and ._- only`}, ErrInvalid},
		{"missing id and name", "groups:\n  - packages: {mandatory: [p]}\n",
			[]string{"groups.yaml:2: groups[0].id: missing required key", "groups.yaml:2: groups[0].name: missing required key"}, ErrMissingKey},
		{"no packages", "groups:\n  - id: a\n    name: A\n", []string{"groups.yaml:2: groups[0].packages: missing required key: a group lists at least one package"}, ErrMissingKey},
		{"no groups", "categories: []\n", []string{"groups: missing required key: a groups file defines at least one group"}, ErrMissingKey},
		{"empty", "", []string{"groups.yaml: groups: missing required key: empty document"}, ErrMissingKey},
		{"package twice", "groups:\n  - id: a\n    name: A\n    packages:\n      mandatory: [p]\n      optional: [q, p]\n",
			[]string{`groups.yaml:6: groups[0].packages.optional[1]: invalid value: package "p" is already listed in groups[0].packages.mandatory[0] (line 5)`}, ErrInvalid},
		{"bad package name", "groups:\n  - id: a\n    name: A\n    packages:\n      mandatory: [\"p q\"]\n",
			[]string{`groups.yaml:5: groups[0].packages.mandatory[0]: invalid value: "p q" is not a valid package name`}, ErrInvalid},
		{"conditional without requires", "groups:\n  - id: a\n    name: A\n    packages:\n      conditional: {p: }\n",
			[]string{"groups.yaml:5: groups[0].packages.conditional.p: missing required key"}, ErrMissingKey},
		{"conditional list", "groups:\n  - id: a\n    name: A\n    packages:\n      conditional: [p]\n",
			[]string{"groups.yaml:5: groups[0].packages.conditional: invalid value: must be a mapping"}, ErrInvalid},
		{"key twice", "groups:\n  - id: a\n    name: A\n    name: B\n    packages: {mandatory: [p]}\n",
			[]string{"groups.yaml:4: groups[0].name: invalid value: written twice; first on line 3"}, ErrInvalid},
		{"conditional twice", "groups:\n  - id: a\n    name: A\n    packages:\n      conditional:\n        p: q\n        p: r\n",
			[]string{"groups.yaml:7: groups[0].packages.conditional.p: invalid value: written twice; first on line 6"}, ErrInvalid},
		{"category names no group", ok + "categories:\n  - id: c\n    name: C\n    groups: [a, b, a]\n",
			[]string{`groups.yaml:9: categories[0].groups[1]: invalid value: "b" is not the id of a group of this file`,
				`groups.yaml:9: categories[0].groups[2]: invalid value: "a" is listed twice; first on line 9`}, ErrInvalid},
		{"category without groups", ok + "categories:\n  - id: c\n    name: C\n", []string{"groups.yaml:7: categories[0].groups: missing required key"}, ErrMissingKey},
		{"name on two lines", "groups:\n  - id: a\n    name: \"A\\nB\"\n    packages: {mandatory: [p]}\n",
			[]string{"groups.yaml:3: groups[0].name: invalid value: must be one line"}, ErrInvalid},
		{"control character", "groups:\n  - id: a\n    name: A\n    description: \"x\\x01y\"\n    packages: {mandatory: [p]}\n",
			[]string{"groups.yaml:4: groups[0].description: invalid value: character U+0001 cannot be written in XML"}, ErrInvalid},
		{"binary not UTF-8", "groups:\n  - id: a\n    name: !!binary /w==\n    packages: {mandatory: [p]}\n",
			[]string{"groups.yaml:3: groups[0].name: invalid value: not valid UTF-8"}, ErrInvalid},
		{"wrong kind", "groups:\n  - id: a\n    name: [A]\n    default: maybe\n    packages: {mandatory: p}\n",
			[]string{"groups.yaml:3: groups[0].name: invalid value: must be a single value", "groups.yaml:4: groups[0].default: invalid value: must be true or false",
				"groups.yaml:5: groups[0].packages.mandatory: invalid value: must be a list"}, ErrInvalid},
		{"not a mapping", "- a\n", []string{"groups.yaml:1: invalid value: document must be a mapping of keys"}, ErrInvalid},
		{"two documents", ok + "---\n" + ok, []string{"groups.yaml:6: invalid YAML: a groups file is one YAML document"}, ErrSyntax},
		{"syntax", "groups: [\n", []string{"groups.yaml:1: invalid YAML: did not find expected node content"}, ErrSyntax},
		{"too large", ok + "#" + strings.Repeat("x", MaxGroupsSize), []string{"groups.yaml: invalid value: 262210 bytes, more than the 262144 a groups file may have"}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGroups("groups.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", g)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "groups.yaml" {
				t.Errorf("error %v is not an *Error for groups.yaml", err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %v does not match %v", err, tc.sentinel)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
	if _, err := ParseGroups("groups.yaml", []byte(ok)); err != nil {
		t.Errorf("the base file: %v", err)
	}
}

// TestGroupsEscaping: whatever text a groups file may carry comes out of
// the XML decoder as written: markup characters, quotes, newlines, tabs
// and carriage returns, non-ASCII.
func TestGroupsEscaping(t *testing.T) {
	hostile := `]]></name><!ENTITY x "y">&x; &amp; "' <` + "\t\u00fc\u2028\U0001F600"
	g := &GroupFile{
		Groups: []PackageGroup{{ID: "a", Name: hostile, Description: hostile + "\r\nline two\n", UserVisible: true,
			Packages: GroupPackages{Mandatory: []string{"p+q"}, Conditional: []CondPackage{{Name: "c", Requires: "r_s"}}}}},
		Categories: []GroupCategory{{ID: "k", Name: hostile, Description: "x", Groups: []string{"a"}}},
	}
	data := g.Comps()
	if bytes.Contains(data, []byte("<!ENTITY")) || bytes.Count(data, []byte("<!")) != 1 {
		t.Errorf("markup of the text reached the XML:\n%s", data)
	}
	checkComps(t, g, data)

	// Through the parser too: YAML escapes give the same texts.
	y := fmt.Sprintf("groups:\n  - id: a\n    name: %q\n    packages: {mandatory: [p]}\n", strings.ReplaceAll(hostile, "\t", " "))
	pg, err := ParseGroups("groups.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	checkComps(t, pg, pg.Comps())
}

// TestGroupsCompsBound: the comps XML of the largest groups files that
// parse stays far below the 16 MiB a comps file may have, however the
// bytes are spent.
func TestGroupsCompsBound(t *testing.T) {
	const compsLimit = 16 << 20
	fill := func(head string, item func(i int) string, tail string) []byte {
		var b strings.Builder
		b.WriteString(head)
		for i := 0; b.Len() < MaxGroupsSize-200; i++ {
			b.WriteString(item(i))
		}
		b.WriteString(tail)
		return []byte(b.String())
	}
	for name, data := range map[string][]byte{
		"short package names": fill("groups:\n- id: a\n  name: A\n  packages:\n    optional: [", func(i int) string { return fmt.Sprintf("%x,", i) }, "z]\n"),
		"many groups": fill("groups:\n", func(i int) string {
			return fmt.Sprintf("- {id: %x, name: N, packages: {optional: [p]}}\n", i)
		}, ""),
		"conditional":  fill("groups:\n- id: a\n  name: A\n  packages:\n    conditional: {", func(i int) string { return fmt.Sprintf("%x: r,", i) }, "z: r}\n"),
		"escaped text": fill("groups:\n- id: a\n  name: A\n  packages: {optional: [p]}\n  description: \"", func(int) string { return "&\\t" }, "\"\n"),
		"category lists": fill("groups:\n- {id: a, name: A, packages: {optional: [p]}}\ncategories:\n", func(i int) string {
			return fmt.Sprintf("- {id: %x, name: N, groups: [a]}\n", i)
		}, ""),
	} {
		g, err := ParseGroups("groups.yaml", data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := len(g.Comps())
		t.Logf("%s: %d -> %d", name, len(data), n)
		if n > compsLimit/2 {
			t.Errorf("%s: a groups file of %d bytes gives %d bytes of comps XML", name, len(data), n)
		}
	}
}

// FuzzParseGroups: any input is accepted or refused with an *Error, never
// a panic; what is accepted gives comps XML that a strict XML decoder
// reads as the same groups, the same bytes every time.
func FuzzParseGroups(f *testing.F) {
	if data, err := os.ReadFile("../testdata/groups/web.yaml"); err == nil {
		f.Add(data)
	}
	for _, seed := range []string{
		"groups:\n  - id: a\n    name: A\n    packages: {mandatory: [p], conditional: {c: r}}\n",
		"groups:\n  - &g {id: a, name: A, packages: {mandatory: [p]}}\n  - *g\n",
		"groups:\n  - id: a\n    name: \"<&>\\t\\u00fc\"\n    description: \"\\x01\"\n    packages: {optional: [p]}\n",
		"groups: [{id: a, name: A, packages: {default: [p]}}]\ncategories: [{id: c, name: C, groups: [a, a]}]\n",
		"groups:\n  - id: a\n    name: !!binary /w==\n    packages: {mandatory: [p]}\n",
		"groups: [[[[[[[[]]]]]]]]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGroups("groups.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		out := g.Comps()
		if again, err := ParseGroups("groups.yaml", data); err != nil || !bytes.Equal(again.Comps(), out) {
			t.Fatalf("the same file gave other bytes or an error: %v", err)
		}
		ids := map[string]bool{}
		for _, grp := range g.Groups {
			if !compsIDRE.MatchString(grp.ID) || ids[grp.ID] || grp.Name == "" {
				t.Fatalf("group %+v accepted", grp)
			}
			ids[grp.ID] = true
		}
		checkComps(t, g, out)
	})
}
