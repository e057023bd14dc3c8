package repo

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Repomd is repodata/repomd.xml: the one file a client fetches first,
// naming every other metadata file with its checksum and size.
type Repomd struct {
	XMLName  xml.Name     `xml:"repomd"`
	Revision string       `xml:"revision"`
	Tags     *RepomdTags  `xml:"tags,omitempty"`
	Data     []RepomdData `xml:"data"`
}

// RepomdTags are the optional distro and content tags.
type RepomdTags struct {
	Content []string    `xml:"content"`
	Distro  []DistroTag `xml:"distro"`
}

// DistroTag is <distro cpeid="...">tag</distro>.
type DistroTag struct {
	CPEID string `xml:"cpeid,attr,omitempty"`
	Value string `xml:",chardata"`
}

// RepomdData describes one metadata file. The optional elements
// (open-checksum and open-size of an uncompressed file, header-checksum
// and header-size of a zchunk file, database_version) are written only
// when set, as createrepo_c writes them, so a record read from another
// tool's repomd.xml is written back unchanged.
type RepomdData struct {
	Type            string   `xml:"type,attr"`
	Checksum        Checksum `xml:"checksum"`
	OpenChecksum    Checksum `xml:"open-checksum"`
	HeaderChecksum  Checksum `xml:"header-checksum"`
	Location        Location `xml:"location"`
	Timestamp       int64    `xml:"timestamp"`
	Size            int64    `xml:"size"`
	OpenSize        int64    `xml:"open-size"`
	HeaderSize      int64    `xml:"header-size"`
	DatabaseVersion int      `xml:"database_version,omitempty"`
}

// Checksum is <checksum type="sha256">hex</checksum>.
type Checksum struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

// Location is <location href="..." xml:base="..."/>.
type Location struct {
	Href string `xml:"href,attr"`
	Base string `xml:"base,attr,omitempty"` // xml:base: where Href is relative to
}

// MaxRepomdSize bounds what ParseRepomd reads: a repomd.xml names a few
// dozen files in a few kilobytes, and one from an untrusted source must
// not make a reader hold more.
const MaxRepomdSize = 4 << 20

// ParseRepomd reads repomd.xml, at most MaxRepomdSize bytes of it.
func ParseRepomd(r io.Reader) (*Repomd, error) {
	var m Repomd
	lr := &io.LimitedReader{R: r, N: MaxRepomdSize + 1}
	if err := xml.NewDecoder(lr).Decode(&m); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("parse repomd.xml: larger than %d bytes", MaxRepomdSize)
		}
		return nil, fmt.Errorf("parse repomd.xml: %w", err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("parse repomd.xml: larger than %d bytes", MaxRepomdSize)
	}
	return &m, nil
}

// Find returns the data entry of a type, or nil.
func (m *Repomd) Find(kind string) *RepomdData {
	for i := range m.Data {
		if m.Data[i].Type == kind {
			return &m.Data[i]
		}
	}
	return nil
}

// RevisionNumber is the revision as a number, or 0 if it is not one.
func (m *Repomd) RevisionNumber() int64 {
	n, _ := strconv.ParseInt(m.Revision, 10, 64)
	return n
}

// marshal writes repomd.xml in createrepo_c's layout.
func (m *Repomd) marshal() []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	b.WriteString("<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n")
	elem(&b, "  ", "revision", m.Revision)
	if m.Tags != nil && (len(m.Tags.Content) > 0 || len(m.Tags.Distro) > 0) {
		b.WriteString("  <tags>\n")
		for _, c := range m.Tags.Content {
			elem(&b, "    ", "content", c)
		}
		for _, d := range m.Tags.Distro {
			b.WriteString("    <distro")
			if d.CPEID != "" {
				b.WriteString(` cpeid="`)
				attr(&b, d.CPEID)
				b.WriteString(`"`)
			}
			b.WriteString(">")
			text(&b, d.Value)
			b.WriteString("</distro>\n")
		}
		b.WriteString("  </tags>\n")
	}
	for _, d := range m.Data {
		b.WriteString("  <data type=\"")
		attr(&b, d.Type)
		b.WriteString("\">\n")
		checksumElem(&b, "checksum", d.Checksum)
		if d.OpenChecksum != (Checksum{}) {
			checksumElem(&b, "open-checksum", d.OpenChecksum)
		}
		if d.HeaderChecksum != (Checksum{}) {
			checksumElem(&b, "header-checksum", d.HeaderChecksum)
		}
		b.WriteString("    <location href=\"")
		attr(&b, d.Location.Href)
		if d.Location.Base != "" {
			b.WriteString("\" xml:base=\"")
			attr(&b, d.Location.Base)
		}
		b.WriteString("\"/>\n")
		fmt.Fprintf(&b, "    <timestamp>%d</timestamp>\n", d.Timestamp)
		fmt.Fprintf(&b, "    <size>%d</size>\n", d.Size)
		if d.OpenSize != 0 || d.OpenChecksum != (Checksum{}) {
			fmt.Fprintf(&b, "    <open-size>%d</open-size>\n", d.OpenSize)
		}
		if d.HeaderSize != 0 || d.HeaderChecksum != (Checksum{}) {
			fmt.Fprintf(&b, "    <header-size>%d</header-size>\n", d.HeaderSize)
		}
		if d.DatabaseVersion != 0 || strings.HasSuffix(d.Type, "_db") {
			fmt.Fprintf(&b, "    <database_version>%d</database_version>\n", d.DatabaseVersion)
		}
		b.WriteString("  </data>\n")
	}
	b.WriteString("</repomd>\n")
	return b.Bytes()
}

func checksumElem(b *bytes.Buffer, name string, c Checksum) {
	b.WriteString("    <" + name + " type=\"")
	attr(b, c.Type)
	b.WriteString("\">")
	text(b, c.Value)
	b.WriteString("</" + name + ">\n")
}
