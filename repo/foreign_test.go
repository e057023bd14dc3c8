package repo

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFormerOwnRecordNotCarried: a record acn wrote in an earlier run (a
// group file given then, not now) is dropped, not carried as another
// tool's; the same record written by another tool is carried.
func TestFormerOwnRecordNotCarried(t *testing.T) {
	ctx := context.Background()
	for _, acnWroteIt := range []bool{true, false} {
		dir := t.TempDir()
		if _, err := Index(ctx, dir, Options{}); err != nil {
			t.Fatal(err)
		}
		rd := filepath.Join(dir, "repodata")
		md := readRepomd(filepath.Join(rd, "repomd.xml"))
		o := Options{}
		if err := o.defaults(); err != nil {
			t.Fatal(err)
		}
		body := func() io.Reader { return strings.NewReader("<comps/>\n") }
		d, reused, err := writeRecord(ctx, rd, "group", "comps.xml", "", body, nil, &o, 1)
		if err != nil || reused || d.OpenChecksum != (Checksum{}) {
			t.Fatalf("writeRecord: %+v %v %v", d, reused, err)
		}
		md.Data = append(md.Data, d)
		md.Revision = "2"
		os.WriteFile(filepath.Join(rd, "repomd.xml"), md.marshal(), 0o644)
		if acnWroteIt {
			g := generation{Revision: md.Revision, Files: hrefs(md), Own: hrefs(md)}
			b, _ := json.Marshal(append([]generation{g}, loadGenerations(dir)...))
			os.WriteFile(filepath.Join(dir, stateDir, generationsName), b, 0o644)
		}
		res, err := Index(ctx, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if carried := res.Repomd.Find("group") != nil; carried == acnWroteIt {
			t.Errorf("acn wrote it %v: carried %v", acnWroteIt, carried)
		}
	}
}

func TestPackageType(t *testing.T) {
	for kind, want := range map[string]bool{
		"primary": true, "filelists_db": true, "other_zck": true, "filelists-ext": true, "filelists-ext_db": true, "primary_zck": true,
		"updateinfo": false, "group": false, "group_gz": false, "modules": false, "updateinfo_zck": false, "prestodelta": false,
	} {
		if packageType(kind) != want {
			t.Errorf("packageType(%q) = %v", kind, !want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"debug", "debug", true},
		{"debug", "debuginfo", false},
		{"debug/*", "debug/x/a.rpm", true}, // '*' crosses '/', as in glib
		{"*.rpm", "a/b/c.rpm", true},
		{"?eta*", "beta-2.0.rpm", true},
		{"?eta*", "eta", false},
		{"[ab]*", "a.rpm", false}, // no classes in glib
		{"[ab]*", "[ab]x", true},
		{"*a*b*c*", "xaybzc", true},
		{"*a*b*c*", "xaybz", false},
		{"é?", "éü", true},
		{"", "", true},
		{"*", "", true},
	} {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

// TestRepomdRecordsRoundTrip: a record acn did not write comes out of
// marshal with the elements it went in with: no open-checksum or
// open-size for an uncompressed file, zchunk's header-checksum and
// header-size, an xml:base.
func TestRepomdRecordsRoundTrip(t *testing.T) {
	const in = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>7</revision>
  <data type="modules">
    <checksum type="sha256">aa</checksum>
    <location href="repodata/aa-modules.yaml"/>
    <timestamp>5</timestamp>
    <size>12</size>
  </data>
  <data type="updateinfo_zck">
    <checksum type="sha256">bb</checksum>
    <open-checksum type="sha256">cc</open-checksum>
    <header-checksum type="sha256">dd</header-checksum>
    <location href="repodata/bb-updateinfo.xml.zck"/>
    <timestamp>6</timestamp>
    <size>30</size>
    <open-size>40</open-size>
    <header-size>10</header-size>
  </data>
  <data type="a&amp;b">
    <checksum type="sha512">ee</checksum>
    <open-checksum type="sha512">ff</open-checksum>
    <location href="x &amp; y.gz" xml:base="http://mirror.example/r/"/>
    <timestamp>7</timestamp>
    <size>1</size>
    <open-size>0</open-size>
  </data>
  <data type="primary_db">
    <checksum type="sha256">11</checksum>
    <open-checksum type="sha256">22</open-checksum>
    <location href="repodata/11-primary.sqlite.bz2"/>
    <timestamp>8</timestamp>
    <size>3</size>
    <open-size>4</open-size>
    <database_version>10</database_version>
  </data>
</repomd>
`
	md, err := ParseRepomd(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if out := string(md.marshal()); out != in {
		t.Errorf("marshal changed the records:\n%s\nwant\n%s", out, in)
	}
	if _, err := ParseRepomd(io.MultiReader(strings.NewReader("<repomd>"), strings.NewReader(strings.Repeat(" ", MaxRepomdSize)), strings.NewReader("</repomd>"))); err == nil {
		t.Error("a repomd.xml larger than MaxRepomdSize was read")
	}
}

func TestTokenBound(t *testing.T) {
	doc := "<metadata packages=\"1\"><package><name>" + strings.Repeat("x", maxTokenBytes+1<<20) + "</name></package></metadata>"
	if _, err := scanPackages(strings.NewReader(doc), map[string]int{}, &[]pkgRef{}); err == nil || !strings.Contains(err.Error(), "without a tag") {
		t.Errorf("a huge text: %v", err)
	}
	doc = "<metadata packages=\"1\"><package><name>" + strings.Repeat("x<y/>", 1<<16) + "</name></package></metadata>"
	if _, err := scanPackages(strings.NewReader(doc), map[string]int{}, &[]pkgRef{}); err != nil {
		t.Errorf("many small tokens: %v", err)
	}
}
