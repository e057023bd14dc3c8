package repo_test

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
)

var (
	corpusOnce sync.Once
	corpusDir  string
	corpusErr  error
)

// TestMain removes the corpus the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []string{corpusDir, exactDir} {
		if d != "" {
			os.RemoveAll(filepath.Dir(d))
		}
	}
	os.Exit(code)
}

// corpus builds testdata/corpus/*.spec with the real rpmbuild, once per
// test binary, and returns the directory holding the RPMs.
func corpus(t *testing.T) string {
	t.Helper()
	corpusOnce.Do(func() {
		dir, err := os.MkdirTemp("", "acn-corpus-*")
		if err != nil {
			corpusErr = err
			return
		}
		corpusDir = filepath.Join(dir, "rpms")
		specs, _ := filepath.Glob("../testdata/corpus/*.spec")
		for _, s := range specs {
			cmd := exec.Command("rpmbuild", "-bb", "--quiet",
				"--define", "_topdir "+filepath.Join(dir, "top"),
				"--define", "_rpmdir "+corpusDir,
				"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
				s)
			if out, err := cmd.CombinedOutput(); err != nil {
				corpusErr = fmt.Errorf("rpmbuild %s: %v\n%s", s, err, out)
				return
			}
		}
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpusDir
}

// repoDir copies the corpus into a new directory, keeping mtimes.
func repoDir(t *testing.T) string {
	t.Helper()
	src := corpus(t)
	dst := t.TempDir()
	rpms, _ := filepath.Glob(filepath.Join(src, "*.rpm"))
	os.Mkdir(filepath.Join(dst, "sub"), 0o755)
	for _, r := range rpms {
		to := dst
		if strings.HasPrefix(filepath.Base(r), "delta-") {
			to = filepath.Join(dst, "sub") // a package in a subdirectory
		}
		tooltest.Run(t, "cp", "-p", r, to)
	}
	return dst
}

// node is a generic XML element, for field-by-field comparison.
type node struct {
	Name     string
	Attrs    []string // name=value, sorted
	Text     string
	Children []*node
}

func parseXML(t *testing.T, r io.Reader) *node {
	t.Helper()
	dec := xml.NewDecoder(r)
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{Name: tok.Name.Local}
			if strings.HasSuffix(tok.Name.Space, "/rpm") {
				n.Name = "rpm:" + n.Name
			}
			for _, a := range tok.Attr {
				n.Attrs = append(n.Attrs, a.Name.Local+"="+a.Value)
			}
			sort.Strings(n.Attrs)
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(n.Text)
			if len(n.Children) > 0 {
				n.Text = ""
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	return root
}

// diffXML reports every difference between two trees, naming where.
func diffXML(path string, a, b *node, out *[]string) {
	if len(*out) > 40 {
		return
	}
	where := path + "/" + a.Name
	if a.Name != b.Name {
		*out = append(*out, fmt.Sprintf("%s: element %s vs %s", path, a.Name, b.Name))
		return
	}
	if strings.Join(a.Attrs, " ") != strings.Join(b.Attrs, " ") {
		*out = append(*out, fmt.Sprintf("%s: attributes\n   acn: %v\n  crc: %v", where, a.Attrs, b.Attrs))
	}
	if a.Text != b.Text {
		*out = append(*out, fmt.Sprintf("%s: text\n   acn: %q\n  crc: %q", where, a.Text, b.Text))
	}
	for i := 0; i < max(len(a.Children), len(b.Children)); i++ {
		switch {
		case i >= len(a.Children):
			*out = append(*out, fmt.Sprintf("%s: createrepo_c has an extra %s %v", where, b.Children[i].Name, b.Children[i].Attrs))
		case i >= len(b.Children):
			*out = append(*out, fmt.Sprintf("%s: acn has an extra %s %v", where, a.Children[i].Name, a.Children[i].Attrs))
		default:
			label := where
			if a.Name == "package" || a.Name == "metadata" || a.Name == "filelists" || a.Name == "otherdata" {
				label = fmt.Sprintf("%s[%d]", where, i)
			}
			diffXML(label, a.Children[i], b.Children[i], out)
		}
	}
}

func gunzip(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameAsCreaterepo compares the primary, filelists and other of two
// indexed directories (acn's, createrepo_c's) field by field and byte by
// byte, and their sqlite databases row by row when both have them.
func sameAsCreaterepo(t *testing.T, dir, crc string) {
	t.Helper()
	ours, theirs := readMD(t, dir), readMD(t, crc)
	for _, kind := range []string{"primary", "filelists", "other"} {
		o, c := ours.Find(kind), theirs.Find(kind)
		if o == nil || c == nil {
			t.Fatalf("%s: acn %v, createrepo_c %v", kind, o, c)
		}
		a := gunzip(t, filepath.Join(dir, o.Location.Href))
		b := gunzip(t, filepath.Join(crc, c.Location.Href))
		var diffs []string
		diffXML("", parseXML(t, bytes.NewReader(a)), parseXML(t, bytes.NewReader(b)), &diffs)
		for _, s := range diffs {
			t.Errorf("%s: %s", kind, s)
		}
		if len(diffs) == 0 && !bytes.Equal(a, b) {
			t.Errorf("%s: same fields but different bytes", kind)
		}
	}
	tmp := t.TempDir()
	for _, kind := range []string{"primary_db", "filelists_db", "other_db"} {
		o, c := ours.Find(kind), theirs.Find(kind)
		if o == nil && c == nil {
			continue
		}
		if o == nil || c == nil {
			t.Fatalf("%s: acn %v, createrepo_c %v", kind, o, c)
		}
		a := dump(t, gunzipTo(t, filepath.Join(dir, o.Location.Href), filepath.Join(tmp, "a-"+kind)))
		b := dump(t, gunzipTo(t, filepath.Join(crc, c.Location.Href), filepath.Join(tmp, "b-"+kind)))
		for table, rows := range b {
			if strings.Join(a[table], "\n") != strings.Join(rows, "\n") {
				t.Errorf("%s table %s differs\nacn:\n%q\ncreaterepo_c:\n%q", kind, table, a[table], rows)
			}
		}
	}
}
