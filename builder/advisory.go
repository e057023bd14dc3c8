package builder

import (
	"fmt"
	"strings"

	"github.com/google/rpmpack"

	"github.com/acn-project/acn/internal/advisory"
	"github.com/acn-project/acn/specs"
)

// Advisories: a package whose spec's newest changelog entry announces an
// advisory for the version being built carries it in its header (acn's
// tags 21042-21048, see package advisory), every package of the build
// alike, so that any repository the packages reach writes it into
// updateinfo.xml without knowing the spec.
//
// The ID comes from Options.Advisories, keyed by the spec's name and the
// version the entry names: the same version gets the same ID in every
// build, and the packages stay the same bytes. The title is the entry's,
// else the first line of its text; the description is the entry's text
// (the package's newest changelog text, which repo reads from there); the
// issued date is the entry's date.

// specAdvisory returns the advisory the build of spec carries, or nil:
// none when the newest entry has none, names another version, or no
// registry was given.
func specAdvisory(spec *specs.Spec, o Options) (*advisory.Advisory, error) {
	c, ok := spec.NewestAdvisory(o.Dist)
	if c == nil {
		return nil, nil
	}
	if !ok {
		o.Logger.Info("advisory not written: the newest changelog entry is for another version",
			"package", spec.NEVRA(), "entry_version", c.Version)
		return nil, nil
	}
	if o.Advisories == nil {
		o.Logger.Warn("advisory not written: no advisory registry", "package", spec.NEVRA())
		return nil, nil
	}
	// 0:1.4.1-1 and 1.4.1-1 are one version, with one ID.
	id, err := o.Advisories.ID(spec.Name, strings.TrimPrefix(c.Version, "0:"), c.Date.Year())
	if err != nil {
		return nil, fmt.Errorf("advisory ID: %w", err)
	}
	sa := c.Advisory
	a := &advisory.Advisory{ID: id, Type: sa.Type, Severity: sa.Severity, CVEs: sa.CVEs, Bugs: sa.Bugs,
		Title: sa.Title, Issued: c.Date.Format("2006-01-02")}
	if a.Title == "" {
		a.Title = entryTitle(c.Text)
	}
	if a.Title == "" {
		a.Title = advisory.DefaultTitle(spec.Name+"-"+c.Version, a.Type)
	}
	if err := a.Err(); err != nil {
		return nil, fmt.Errorf("advisory of %s: %w", spec.NEVRA(), err)
	}
	return a, nil
}

// entryTitle is the first non-empty line of a changelog text, without its
// list marker, as one bounded line of printable text.
func entryTitle(text string) string {
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(printable(line))
		line = strings.TrimSpace(strings.TrimLeft(line, "-*"))
		if line == "" {
			continue
		}
		if len(line) > advisory.MaxTitleLen {
			line = line[:advisory.MaxTitleLen]
			for len(line) > 0 && line[len(line)-1]&0xC0 == 0x80 {
				line = line[:len(line)-1]
			}
			if len(line) > 0 && line[len(line)-1] >= 0xC0 {
				line = line[:len(line)-1]
			}
		}
		return line
	}
	return ""
}

// addAdvisory writes a's tags; nothing when a is nil.
func addAdvisory(r *rpmpack.RPM, a *advisory.Advisory) {
	if a == nil {
		return
	}
	for _, t := range []struct {
		tag int
		v   string
	}{{advisory.TagID, a.ID}, {advisory.TagType, a.Type}, {advisory.TagSeverity, a.Severity},
		{advisory.TagTitle, a.Title}, {advisory.TagIssued, a.Issued}} {
		if t.v != "" {
			r.AddCustomTag(t.tag, rpmpack.EntryString(t.v))
		}
	}
	if len(a.CVEs) > 0 {
		r.AddCustomTag(advisory.TagCVEs, rpmpack.EntryStringSlice(a.CVEs))
	}
	if len(a.Bugs) > 0 {
		r.AddCustomTag(advisory.TagBugs, rpmpack.EntryStringSlice(a.Bugs))
	}
}
