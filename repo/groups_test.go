package repo_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/acn-project/acn/repo"
)

const goodComps = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<!-- a comment -->
<comps>
  <group>
    <id>tools</id>
    <name>Tools</name>
    <name xml:lang="fr">Outils &amp; co</name>
    <description>Tools.</description>
    <packagelist>
      <packagereq type="mandatory">gamma</packagereq>
      <packagereq type="default">delta</packagereq>
      <packagereq type="optional">beta</packagereq>
      <packagereq type="conditional" requires="gamma">alpha</packagereq>
    </packagelist>
  </group>
  <group><id>empty</id><name>Empty</name></group>
  <category><id>cat</id><grouplist><groupid>tools</groupid></grouplist></category>
  <environment><id>env</id><optionlist><groupid default="true">tools</groupid></optionlist></environment>
  <langpacks><match name="gamma" install="gamma-%s"/></langpacks>
</comps>
`

func TestParseGroups(t *testing.T) {
	c, err := repo.ParseGroups("comps.xml", []byte(goodComps))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Groups) != 2 || c.Groups[0].ID != "tools" || c.Groups[0].Name != "Tools" || len(c.Groups[0].Packages) != 4 ||
		c.Groups[0].Packages[1] != (repo.GroupPackage{Name: "delta", Type: "default"}) {
		t.Errorf("groups: %+v", c.Groups)
	}
	if len(c.Categories) != 1 || len(c.Environments) != 1 {
		t.Errorf("categories %v, environments %v", c.Categories, c.Environments)
	}
	for _, ok := range []string{
		`<comps/>`,
		`<!DOCTYPE comps><comps></comps>`,
		`<!DOCTYPE comps SYSTEM "comps.dtd"><comps></comps>`,
		"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><comps></comps>",
	} {
		if _, err := repo.ParseGroups("comps.xml", []byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestParseGroupsRefuses: what dnf would not read as comps, or what would
// make a client's parser expand entities, fetch a DTD or run out of
// memory, is refused with the line it is on.
func TestParseGroupsRefuses(t *testing.T) {
	laughs := `<?xml version="1.0"?>
<!DOCTYPE comps [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<comps><group><id>&lol3;</id></group></comps>`
	for _, c := range []struct{ name, data, want string }{
		{"billion laughs", laughs, "line 6: a DOCTYPE with an internal subset"},
		{"entity without DOCTYPE", "<comps><group><id>&lol;</id></group></comps>", "line 1: invalid character entity &lol;"},
		{"external entity", `<!DOCTYPE comps SYSTEM "file:///etc/passwd"><comps/>`, "only a file name next to the comps file"},
		{"DTD up a directory", `<!DOCTYPE comps SYSTEM "../../etc/comps.dtd"><comps/>`, "only a file name next to the comps file"},
		{"entity declaration", `<!ENTITY x "y"><comps/>`, "only a DOCTYPE is accepted"},
		{"two DOCTYPEs", `<!DOCTYPE comps><!DOCTYPE comps><comps/>`, "only one DOCTYPE"},
		{"not comps", "<?xml version=\"1.0\"?>\n<repomd/>", "line 2: the root element is <repomd>, not <comps>"},
		{"two roots", "<comps/>\n<comps/>", "line 2: <comps> after the root element"},
		{"text after", "<comps/>\ntext", "line 2: text outside the root element"},
		{"unclosed", "<comps>\n<group>\n<id>a</id>\n", "the file ends inside <group>"},
		{"mismatched", "<comps>\n<group><id>a</id>\n</grop></comps>", "line 3: </grop> closes <group>"},
		{"no id", "<comps>\n<group>\n<name>A</name></group></comps>", "line 2: a group without an <id>"},
		{"empty id", "<comps><group><id> </id></group></comps>", "an empty group <id>"},
		{"duplicate id", "<comps>\n<group><id>a</id></group>\n<group><id>a</id></group></comps>", `line 3: group id "a" is also defined on line 2`},
		{"bad type", "<comps><group><id>a</id><packagelist>\n<packagereq type=\"mandatroy\">x</packagereq></packagelist></group></comps>", `line 2: packagereq type "mandatroy"`},
		{"empty packagereq", "<comps><group><id>a</id><packagelist><packagereq/></packagelist></group></comps>", "a packagereq without a package name"},
		{"latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><comps/>", `encoding "ISO-8859-1"`},
		{"invalid UTF-8", "<comps><group><id>\xe9</id></group></comps>", "invalid UTF-8"},
		{"NUL", "<comps>\x00</comps>", "illegal character"},
		{"deep", "<comps>" + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + "</comps>", "nested more than 16 deep"},
		{"attributes", "<comps>\n<group " + strings.Repeat(`a="1" `, 1_000_000) + "/></comps>", "line 2: an element with more than 64 attributes"},
		{"tokens", "<comps>" + strings.Repeat("<a/>", 3_000_000) + "</comps>", "more than 4194304 XML tokens"},
		{"empty", "", "no <comps> element"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := repo.ParseGroups("comps.xml", []byte(c.data))
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if !errors.Is(err, repo.ErrGroups) || !strings.Contains(err.Error(), "comps.xml") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error saying %q", err, c.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20+24*uint64(len(c.data)) {
				t.Errorf("checking %d bytes allocated %d", len(c.data), grew)
			}
		})
	}
}

// TestGroupFileRefusedPublishesNothing: a comps file over the size limit
// is refused before it is read, and a broken one publishes nothing: the
// published repomd.xml and its group records stay as they were.
func TestGroupFileRefusedPublishesNothing(t *testing.T) {
	dir := repoDir(t)
	good := filepath.Join(t.TempDir(), "comps.xml")
	os.WriteFile(good, []byte(goodComps), 0o644)
	index(t, dir, repo.Options{GroupFile: good})
	before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	names, _ := os.ReadDir(filepath.Join(dir, "repodata"))

	huge := filepath.Join(t.TempDir(), "huge.xml")
	f, _ := os.Create(huge)
	f.Truncate(repo.MaxGroupFileSize + 1) // sparse: nothing to read
	f.Close()
	broken := filepath.Join(t.TempDir(), "broken.xml")
	os.WriteFile(broken, []byte("<comps>\n<group>\n</comps>"), 0o644)
	for _, c := range []struct{ file, want string }{
		{huge, "huge.xml: 16777217 bytes, more than the 16777216"},
		{broken, "broken.xml line 3: </comps> closes <group>"},
		{filepath.Join(dir, "missing.xml"), "no such file"},
	} {
		for _, update := range []bool{false, true} {
			_, err := repo.Index(context.Background(), dir, repo.Options{GroupFile: c.file, Update: update})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v, want %q", c.file, err, c.want)
			}
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(before, after) {
		t.Error("a refused comps file changed repomd.xml")
	}
	if now, _ := os.ReadDir(filepath.Join(dir, "repodata")); len(now) != len(names) {
		t.Errorf("a refused comps file left files: %d, were %d", len(now), len(names))
	}
}

// TestGroupFileCompression: the compressed record is named after the
// compression, as createrepo_c names it (group_gz, group_xz, group_zst),
// and its open checksum is the plain record's checksum.
func TestGroupFileCompression(t *testing.T) {
	comps := filepath.Join(t.TempDir(), "my-groups.xml")
	os.WriteFile(comps, []byte(goodComps), 0o644)
	for _, c := range []struct{ compress, kind, ext string }{{"gz", "group_gz", ".xml.gz"}, {"xz", "group_xz", ".xml.xz"}, {"zstd", "group_zst", ".xml.zst"}} {
		dir := repoDir(t)
		index(t, dir, repo.Options{GroupFile: comps, Compress: c.compress, SQLite: true})
		md := readMD(t, dir)
		plain, comp := md.Find("group"), md.Find(c.kind)
		if plain == nil || comp == nil {
			t.Fatalf("%s: records %+v", c.compress, md.Data)
		}
		if comp.OpenChecksum != plain.Checksum || comp.OpenSize != int64(len(goodComps)) || plain.Size != int64(len(goodComps)) ||
			!strings.HasSuffix(plain.Location.Href, "-my-groups.xml") || !strings.HasSuffix(comp.Location.Href, "-my-groups"+c.ext) {
			t.Errorf("%s: group %+v, %s %+v", c.compress, plain, c.kind, comp)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, plain.Location.Href)); string(b) != goodComps {
			t.Errorf("%s: the group file is not the comps file as given", c.compress)
		}
	}
}

// FuzzParseGroups: any input is accepted or refused with a GroupError,
// never a panic, within the bounds.
func FuzzParseGroups(f *testing.F) {
	f.Add([]byte(goodComps))
	f.Add([]byte(`<!DOCTYPE comps [<!ENTITY a "b">]><comps>&a;</comps>`))
	f.Add([]byte("<comps><group><id>a</id><packagelist><packagereq type='x'>p</packagereq></packagelist></group></comps>"))
	f.Add([]byte("\xef\xbb\xbf<comps/>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := repo.ParseGroups("fuzz.xml", data)
		if err != nil {
			var ge *repo.GroupError
			if !errors.As(err, &ge) || ge.File != "fuzz.xml" {
				t.Fatalf("error %v is not a GroupError", err)
			}
			return
		}
		for _, g := range c.Groups {
			if g.ID == "" {
				t.Fatalf("accepted a group without an id: %q", data)
			}
		}
	})
}
