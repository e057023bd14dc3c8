package repo

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The three metadata files are written as createrepo_c writes them
// (through libxml2), so that a byte comparison is possible and a client
// cannot tell them apart: two-space indentation, empty elements as
// <x></x>, non-ASCII raw in text but as character references in
// attributes.

const (
	primaryHead   = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"%d\">\n"
	primaryTail   = "</metadata>"
	filelistsHead = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"%d\">\n"
	filelistsTail = "</filelists>"
	otherHead     = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"%d\">\n"
	otherTail     = "</otherdata>"
)

// text escapes element content as libxml2 does.
func text(b *bytes.Buffer, s string) {
	s = sanitize(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#13;")
		default:
			b.WriteByte(c)
		}
	}
}

// attr escapes an attribute value as libxml2 does: markup characters,
// whitespace controls and every non-ASCII character as references.
func attr(b *bytes.Buffer, s string) {
	s = sanitize(s)
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\n':
			b.WriteString("&#10;")
		case r == '\r':
			b.WriteString("&#13;")
		case r == '\t':
			b.WriteString("&#9;")
		case r >= 0x80:
			fmt.Fprintf(b, "&#x%X;", r)
		default:
			b.WriteRune(r)
		}
	}
}

// sanitize makes s valid UTF-8 without the control characters XML 1.0
// forbids, so that no header can make the metadata unparseable.
func sanitize(s string) string {
	ok := utf8.ValidString(s)
	if ok {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func elem(b *bytes.Buffer, indent, name, value string) {
	b.WriteString(indent)
	b.WriteString("<" + name + ">")
	text(b, value)
	b.WriteString("</" + name + ">\n")
}

func version(b *bytes.Buffer, p *Package) {
	b.WriteString(`  <version epoch="`)
	attr(b, p.Epoch)
	b.WriteString(`" ver="`)
	attr(b, p.Version)
	b.WriteString(`" rel="`)
	attr(b, p.Release)
	b.WriteString("\"/>\n")
}

// primaryFile reports whether a path goes into primary.xml as well as
// filelists.xml: what dependency solvers most often need.
func primaryFile(path string) bool {
	return strings.HasPrefix(path, "/etc/") || strings.Contains(path, "bin/") || path == "/usr/lib/sendmail"
}

type renderOptions struct {
	checksum string // checksum type name for <checksum type=...>
	baseURL  string // xml:base of every location, or ""
}

// renderPrimary appends one package's <package> element of primary.xml.
func renderPrimary(b *bytes.Buffer, p *Package, o renderOptions) {
	b.WriteString("<package type=\"rpm\">\n")
	elem(b, "  ", "name", p.Name)
	elem(b, "  ", "arch", p.Arch)
	version(b, p)
	b.WriteString(`  <checksum type="` + o.checksum + `" pkgid="YES">` + p.PkgID + "</checksum>\n")
	elem(b, "  ", "summary", p.Summary)
	elem(b, "  ", "description", p.Description)
	elem(b, "  ", "packager", p.Packager)
	elem(b, "  ", "url", p.URL)
	fmt.Fprintf(b, "  <time file=\"%d\" build=\"%d\"/>\n", p.FileTime, p.BuildTime)
	fmt.Fprintf(b, "  <size package=\"%d\" installed=\"%d\" archive=\"%d\"/>\n", p.PackageSize, p.InstalledSize, p.ArchiveSize)
	b.WriteString("  <location ")
	if o.baseURL != "" {
		base := o.baseURL
		if strings.HasPrefix(base, "/") {
			base = "file://" + base
		}
		b.WriteString(`xml:base="`)
		attr(b, utf8OrLatin1(base))
		b.WriteString(`" `)
	}
	b.WriteString(`href="`)
	attr(b, utf8OrLatin1(p.Location))
	b.WriteString("\"/>\n  <format>\n")
	elem(b, "    ", "rpm:license", p.License)
	elem(b, "    ", "rpm:vendor", p.Vendor)
	elem(b, "    ", "rpm:group", p.Group)
	elem(b, "    ", "rpm:buildhost", p.BuildHost)
	elem(b, "    ", "rpm:sourcerpm", p.SourceRPM)
	fmt.Fprintf(b, "    <rpm:header-range start=\"%d\" end=\"%d\"/>\n", p.HeaderStart, p.HeaderEnd)
	depList(b, "provides", p.Provides)
	depList(b, "requires", p.Requires)
	depList(b, "conflicts", p.Conflicts)
	depList(b, "obsoletes", p.Obsoletes)
	depList(b, "suggests", p.Suggests)
	depList(b, "enhances", p.Enhances)
	depList(b, "recommends", p.Recommends)
	depList(b, "supplements", p.Supplements)
	for _, f := range p.Files {
		if f.primary {
			file(b, "    ", f)
		}
	}
	b.WriteString("  </format>\n</package>\n")
}

func depList(b *bytes.Buffer, kind string, ds []Dep) {
	if len(ds) == 0 {
		return
	}
	b.WriteString("    <rpm:" + kind + ">\n")
	for _, d := range ds {
		b.WriteString(`      <rpm:entry name="`)
		attr(b, d.Name)
		b.WriteByte('"')
		if d.Flags != "" {
			b.WriteString(` flags="` + d.Flags + `"`)
			for _, a := range [][2]string{{"epoch", d.Epoch}, {"ver", d.Version}, {"rel", d.Release}} {
				if a[1] != "" {
					b.WriteString(" " + a[0] + `="`)
					attr(b, a[1])
					b.WriteByte('"')
				}
			}
		}
		if d.Pre {
			b.WriteString(` pre="1"`)
		}
		b.WriteString("/>\n")
	}
	b.WriteString("    </rpm:" + kind + ">\n")
}

func file(b *bytes.Buffer, indent string, f File) {
	b.WriteString(indent)
	if f.Type != "" {
		b.WriteString(`<file type="` + f.Type + `">`)
	} else {
		b.WriteString("<file>")
	}
	text(b, f.Path)
	b.WriteString("</file>\n")
}

func pkgStart(b *bytes.Buffer, p *Package) {
	b.WriteString(`<package pkgid="` + p.PkgID + `" name="`)
	attr(b, p.Name)
	b.WriteString(`" arch="`)
	attr(b, p.Arch)
	b.WriteString("\">\n")
	version(b, p)
}

// renderFilelists appends one package's element of filelists.xml.
func renderFilelists(b *bytes.Buffer, p *Package) {
	pkgStart(b, p)
	for _, f := range p.Files {
		file(b, "  ", f)
	}
	b.WriteString("</package>\n")
}

// renderOther appends one package's element of other.xml: its changelog,
// oldest entry first.
func renderOther(b *bytes.Buffer, p *Package) {
	pkgStart(b, p)
	for _, c := range p.Changelogs {
		b.WriteString(`  <changelog author="`)
		attr(b, c.Author)
		b.WriteString(`" date="` + strconv.FormatInt(c.Date, 10) + `">`)
		text(b, c.Text)
		b.WriteString("</changelog>\n")
	}
	b.WriteString("</package>\n")
}
