package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cavaliergopher/rpm"

	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/internal/rpmtag"
)

// Advisories: a package acn built for a version whose changelog entry
// announces an advisory carries it in its header (package builder). The
// index keeps each package's advisory with its cached fragments, and a
// publication groups the packages by advisory ID into one <update> each
// (every subpackage and architecture of that version that the repository
// holds) in repodata/updateinfo.xml, in the layout createrepo_c and
// modifyrepo_c write, which dnf (libsolv) and zypper (libzypp) read. A
// repository without advisories has no updateinfo record.

// updateinfo values acn writes.
const (
	updateFrom    = "acn"
	updateStatus  = "stable"
	updateVersion = "2.0"
	collection    = "acn"
)

// maxUpdateinfo bounds the decompressed updateinfo.xml a reader parses,
// and maxUpdates the advisories it keeps.
const (
	maxUpdateinfo = 64 << 20
	maxUpdates    = 100_000
	maxUpdatePkgs = 10_000
)

// headerAdvisory reads acn's advisory tags; nil when the header has none
// or they do not make a valid advisory (such a package is still indexed,
// without an advisory).
func headerAdvisory(h *rpm.Header) *advisory.Advisory {
	id := h.GetTag(advisory.TagID)
	if id == nil {
		return nil
	}
	one := func(tag int) string {
		t := h.GetTag(tag)
		if t == nil || t.Type != rpm.TagTypeString {
			return ""
		}
		return t.String()
	}
	list := func(tag int) []string {
		t := h.GetTag(tag)
		if t == nil || t.Type != rpm.TagTypeStringArray {
			return nil
		}
		return t.StringSlice()
	}
	a := &advisory.Advisory{ID: one(advisory.TagID), Type: one(advisory.TagType), Severity: one(advisory.TagSeverity),
		CVEs: list(advisory.TagCVEs), Bugs: list(advisory.TagBugs), Title: xmlChars(utf8OrLatin1(one(advisory.TagTitle))), Issued: one(advisory.TagIssued)}
	if a.Validate() != nil {
		return nil
	}
	if texts := h.GetTag(rpmtag.ChangelogText).StringSlice(); len(texts) > 0 {
		a.Description = advisory.CutDescription(xmlChars(sanitize(utf8OrLatin1(texts[0]))))
	}
	return a
}

// xmlChars drops what XML does not allow from valid UTF-8 (see
// advisory.NotXML): a title or changelog text of an RPM that acn did not
// build may hold it, and one such character would make the whole
// updateinfo.xml unreadable.
func xmlChars(s string) string {
	if !strings.ContainsFunc(s, advisory.NotXML) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if advisory.NotXML(r) {
			return -1
		}
		return r
	}, s)
}

// updatePkg is one package in an advisory's package list, as the index
// cache keeps it.
type updatePkg struct {
	Adv      *advisory.Advisory `json:"a"`
	Name     string             `json:"n"`
	Epoch    string             `json:"e"`
	Version  string             `json:"v"`
	Release  string             `json:"r"`
	Arch     string             `json:"arch"`
	Src      string             `json:"src,omitempty"`
	Location string             `json:"loc"`
	PkgID    string             `json:"id"`
}

// advisoryRecord is what the index cache keeps of p's advisory: "" when
// it has none.
func advisoryRecord(p *Package) string {
	if p.Advisory == nil {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(updatePkg{Adv: p.Advisory, Name: p.Name, Epoch: p.Epoch, Version: p.Version, Release: p.Release,
		Arch: p.Arch, Src: p.SourceRPM, Location: p.Location, PkgID: p.PkgID}); err != nil || b.Len() > maxCacheString {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// writeUpdateinfo writes repodata/updateinfo.xml from the advisory
// records of the packages published; nil without any.
func writeUpdateinfo(ctx context.Context, rd string, cache *newCache, old *Repomd, o *Options, now int64) (*RepomdData, error) {
	groups := groupAdvisories(cache.advs)
	for _, g := range groups {
		for _, p := range g.pkgs {
			if a := p.Adv; a.Type != g.adv.Type || a.Title != g.adv.Title || a.Issued != g.adv.Issued {
				o.Logger.Warn("one advisory ID on two advisories: were the packages built with different registries?",
					"id", a.ID, "package", p.Location, "title", a.Title, "other_title", g.adv.Title)
				break
			}
		}
	}
	if len(groups) == 0 {
		return nil, nil
	}
	// Rendered as it is read, 256 KiB at a time, through a pipe (read
	// twice when the old repomd.xml has an updateinfo to compare with).
	body := func() io.Reader {
		pr, pw := io.Pipe()
		go func() {
			var b bytes.Buffer
			b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n")
			for _, g := range groups {
				renderUpdate(&b, g, o.Checksum)
				if b.Len() > 256<<10 {
					if _, err := pw.Write(b.Bytes()); err != nil {
						return // the reader is closed
					}
					b.Reset()
				}
			}
			b.WriteString("</updates>\n")
			pw.Write(b.Bytes())
			pw.Close()
		}()
		return pr
	}
	d, _, err := writeRecord(ctx, rd, "updateinfo", "updateinfo.xml", o.Compress, body, old, o, now)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

type updateGroup struct {
	adv  *advisory.Advisory
	pkgs []updatePkg
}

// groupAdvisories decodes the records and groups them by ID, in ID order,
// each group's packages by name, architecture and version.
func groupAdvisories(records []string) []*updateGroup {
	byID := map[string]*updateGroup{}
	for _, r := range records {
		var p updatePkg
		if err := json.Unmarshal([]byte(r), &p); err != nil || p.Adv == nil || p.Adv.Validate() != nil {
			continue
		}
		g := byID[p.Adv.ID]
		if g == nil {
			g = &updateGroup{}
			byID[p.Adv.ID] = g
		}
		g.pkgs = append(g.pkgs, p)
	}
	out := make([]*updateGroup, 0, len(byID))
	for _, g := range byID {
		slices.SortFunc(g.pkgs, func(a, b updatePkg) int {
			if c := strings.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			if c := strings.Compare(a.Arch, b.Arch); c != 0 {
				return c
			}
			if c := CompareEVR(a.Epoch, a.Version, a.Release, b.Epoch, b.Version, b.Release); c != 0 {
				return c
			}
			return strings.Compare(a.Location, b.Location)
		})
		// The advisory's text is the main package's when it is there
		// (the spec's name is the shortest of its packages' names).
		g.adv = g.pkgs[0].Adv
		for _, p := range g.pkgs {
			if len(p.Name) < len(g.pkgs[0].Name) || (p.Src != "" && strings.HasPrefix(p.Src, p.Name+"-"+p.Version+"-")) {
				g.adv = p.Adv
				break
			}
		}
		g.pkgs = slices.CompactFunc(g.pkgs, func(a, b updatePkg) bool {
			return a.Name == b.Name && a.Arch == b.Arch && a.Epoch == b.Epoch && a.Version == b.Version && a.Release == b.Release
		})
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *updateGroup) int { return strings.Compare(a.adv.ID, b.adv.ID) })
	return out
}

// renderUpdate writes one <update> as createrepo_c's dump does (libxml2,
// two spaces per level).
func renderUpdate(b *bytes.Buffer, g *updateGroup, checksum string) {
	a := g.adv
	b.WriteString("  <update from=\"")
	attr(b, updateFrom)
	b.WriteString("\" status=\"" + updateStatus + "\" type=\"")
	attr(b, a.Type)
	b.WriteString("\" version=\"" + updateVersion + "\">\n")
	elem(b, "    ", "id", a.ID)
	elem(b, "    ", "title", a.Title)
	b.WriteString("    <issued date=\"")
	attr(b, a.Issued+" 00:00:00")
	b.WriteString("\"/>\n")
	if a.Severity != "" {
		elem(b, "    ", "severity", a.Severity)
	}
	elem(b, "    ", "summary", a.Title)
	if a.Description != "" {
		elem(b, "    ", "description", a.Description)
	}
	if len(a.Bugs)+len(a.CVEs) == 0 {
		b.WriteString("    <references/>\n")
	} else {
		b.WriteString("    <references>\n")
		for _, u := range a.Bugs {
			reference(b, u, bugID(u), "bugzilla", u)
		}
		for _, c := range a.CVEs {
			reference(b, "https://www.cve.org/CVERecord?id="+c, c, "cve", c)
		}
		b.WriteString("    </references>\n")
	}
	b.WriteString("    <pkglist>\n      <collection short=\"" + collection + "\">\n")
	elem(b, "        ", "name", collection)
	for _, p := range g.pkgs {
		b.WriteString("        <package name=\"")
		attr(b, p.Name)
		b.WriteString("\" version=\"")
		attr(b, p.Version)
		b.WriteString("\" release=\"")
		attr(b, p.Release)
		b.WriteString("\" epoch=\"")
		attr(b, p.Epoch)
		b.WriteString("\" arch=\"")
		attr(b, p.Arch)
		if p.Src != "" {
			b.WriteString("\" src=\"")
			attr(b, p.Src)
		}
		b.WriteString("\">\n")
		elem(b, "          ", "filename", path.Base(p.Location))
		if p.PkgID != "" {
			b.WriteString("          <sum type=\"")
			attr(b, checksum)
			b.WriteString("\">")
			text(b, p.PkgID)
			b.WriteString("</sum>\n")
		}
		b.WriteString("        </package>\n")
	}
	b.WriteString("      </collection>\n    </pkglist>\n  </update>\n")
}

func reference(b *bytes.Buffer, href, id, typ, title string) {
	b.WriteString("      <reference href=\"")
	attr(b, href)
	b.WriteString("\" id=\"")
	attr(b, id)
	b.WriteString("\" type=\"" + typ + "\" title=\"")
	attr(b, title)
	b.WriteString("\"/>\n")
}

// bugID is what a bug tracker calls the bug at u: its id query value
// (Bugzilla's show_bug.cgi?id=412), else the last segment of its path.
func bugID(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	if id := p.Query().Get("id"); id != "" {
		return id
	}
	if base := path.Base(strings.TrimRight(p.Path, "/")); base != "." && base != "/" && base != "" {
		return base
	}
	return u
}

// catalogUpdates holds a catalog's advisories, read once.
type catalogUpdates struct {
	once sync.Once
	list []Update
	err  error
}

// UpdateInfo is what an advisory says, apart from its packages.
type UpdateInfo struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Severity    string   `json:"severity,omitempty"`
	Title       string   `json:"title"`
	Issued      string   `json:"issued"`
	Description string   `json:"description,omitempty"`
	CVEs        []string `json:"cves,omitempty"`
	Bugs        []string `json:"bugs,omitempty"`
}

// Update is one advisory of a published repository, as its
// updateinfo.xml says it.
type Update struct {
	UpdateInfo
	Packages []UpdatePkg `json:"packages"`
}

// UpdatePkg is one package an advisory updates to.
type UpdatePkg struct {
	Name     string `json:"name"`
	Epoch    string `json:"epoch"`
	Version  string `json:"version"`
	Release  string `json:"release"`
	Arch     string `json:"arch"`
	Filename string `json:"filename"`
}

// NEVRA names the package.
func (p *UpdatePkg) NEVRA() string {
	return (&Entry{Name: p.Name, Epoch: p.Epoch, Version: p.Version, Release: p.Release, Arch: p.Arch}).NEVRA()
}

type xUpdate struct {
	Type     string `xml:"type,attr"`
	ID       string `xml:"id"`
	Title    string `xml:"title"`
	Severity string `xml:"severity"`
	Issued   struct {
		Date string `xml:"date,attr"`
	} `xml:"issued"`
	Description string `xml:"description"`
	References  []struct {
		Href string `xml:"href,attr"`
		ID   string `xml:"id,attr"`
		Type string `xml:"type,attr"`
	} `xml:"references>reference"`
	Packages []struct {
		Name     string `xml:"name,attr"`
		Epoch    string `xml:"epoch,attr"`
		Version  string `xml:"version,attr"`
		Release  string `xml:"release,attr"`
		Arch     string `xml:"arch,attr"`
		Filename string `xml:"filename"`
	} `xml:"pkglist>collection>package"`
}

// ErrTooManyUpdates is wrapped when an updateinfo.xml is past the bounds
// a reader keeps.
var ErrTooManyUpdates = errors.New("repo: updateinfo too large")

// Updates reads the advisories of the published repository (its
// updateinfo.xml, whoever wrote it), in ID order; none without one. It
// reads at most 64 MiB of XML and 100,000 advisories.
func (c *Catalog) Updates() ([]Update, error) {
	c.updates.once.Do(func() { c.updates.list, c.updates.err = c.readUpdates() })
	return c.updates.list, c.updates.err
}

func (c *Catalog) readUpdates() ([]Update, error) {
	if c.md == nil || c.md.Find("updateinfo") == nil {
		return nil, nil
	}
	var out []Update
	err := c.each("updateinfo", func(r io.Reader) error {
		lr := &io.LimitedReader{R: r, N: maxUpdateinfo + 1}
		err := eachElement(lr, "update", func(x *xUpdate) error {
			if len(out) >= maxUpdates || len(x.Packages) > maxUpdatePkgs {
				return ErrTooManyUpdates
			}
			u := Update{UpdateInfo: UpdateInfo{ID: x.ID, Type: x.Type, Severity: x.Severity, Title: x.Title, Issued: x.Issued.Date, Description: x.Description}}
			for _, ref := range x.References {
				switch ref.Type {
				case "cve":
					u.CVEs = append(u.CVEs, ref.ID)
				case "bugzilla":
					u.Bugs = append(u.Bugs, ref.Href)
				}
			}
			for _, p := range x.Packages {
				u.Packages = append(u.Packages, UpdatePkg{Name: p.Name, Epoch: p.Epoch, Version: p.Version,
					Release: p.Release, Arch: p.Arch, Filename: p.Filename})
			}
			out = append(out, u)
			return nil
		})
		if lr.N <= 0 {
			return fmt.Errorf("%w: more than %d MiB", ErrTooManyUpdates, maxUpdateinfo>>20)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read updateinfo of %s: %w", filepath.Base(c.dir), err)
	}
	slices.SortStableFunc(out, func(a, b Update) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
