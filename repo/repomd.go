package repo

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
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

// RepomdData describes one metadata file.
type RepomdData struct {
	Type            string   `xml:"type,attr"`
	Checksum        Checksum `xml:"checksum"`
	OpenChecksum    Checksum `xml:"open-checksum"`
	Location        Location `xml:"location"`
	Timestamp       int64    `xml:"timestamp"`
	Size            int64    `xml:"size"`
	OpenSize        int64    `xml:"open-size"`
	DatabaseVersion int      `xml:"database_version,omitempty"`
}

// Checksum is <checksum type="sha256">hex</checksum>.
type Checksum struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

// Location is <location href="..."/>.
type Location struct {
	Href string `xml:"href,attr"`
}

// ParseRepomd reads repomd.xml.
func ParseRepomd(r io.Reader) (*Repomd, error) {
	var m Repomd
	if err := xml.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("parse repomd.xml: %w", err)
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
		fmt.Fprintf(&b, "  <data type=\"%s\">\n", d.Type)
		fmt.Fprintf(&b, "    <checksum type=\"%s\">%s</checksum>\n", d.Checksum.Type, d.Checksum.Value)
		if d.OpenChecksum.Value != "" { // none for an uncompressed file (group)
			fmt.Fprintf(&b, "    <open-checksum type=\"%s\">%s</open-checksum>\n", d.OpenChecksum.Type, d.OpenChecksum.Value)
		}
		b.WriteString("    <location href=\"")
		attr(&b, d.Location.Href)
		b.WriteString("\"/>\n")
		fmt.Fprintf(&b, "    <timestamp>%d</timestamp>\n", d.Timestamp)
		fmt.Fprintf(&b, "    <size>%d</size>\n", d.Size)
		if d.OpenChecksum.Value != "" {
			fmt.Fprintf(&b, "    <open-size>%d</open-size>\n", d.OpenSize)
		}
		if d.DatabaseVersion != 0 {
			fmt.Fprintf(&b, "    <database_version>%d</database_version>\n", d.DatabaseVersion)
		}
		b.WriteString("  </data>\n")
	}
	b.WriteString("</repomd>\n")
	return b.Bytes()
}
