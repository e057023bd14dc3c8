package repo

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/acn-project/acn/internal/rpmver"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Entry is one package as the published metadata describes it, for
// browsing: what a web index or an API shows.
type Entry struct {
	PkgID       string
	Name        string
	Arch        string
	Epoch       string
	Version     string
	Release     string
	Summary     string
	Description string
	URL         string
	License     string
	Vendor      string
	Group       string
	Packager    string
	BuildHost   string
	SourceRPM   string
	BuildTime   int64
	FileTime    int64
	Size        int64 // of the .rpm
	Installed   int64
	Location    string
	Provides    []Dep
	Requires    []Dep
	Conflicts   []Dep
	Obsoletes   []Dep
	Recommends  []Dep
	Suggests    []Dep
	Supplements []Dep
	Enhances    []Dep
}

// EVR is [epoch:]version-release.
func (e *Entry) EVR() string { return rpmver.EVR(e.Epoch, e.Version, e.Release) }

// NEVRA names the package with its version and architecture.
func (e *Entry) NEVRA() string { return rpmver.NEVRA(e.Name, e.Epoch, e.Version, e.Release, e.Arch) }

// Catalog is a published repository's package list, newest version of
// each name first.
type Catalog struct {
	Revision string
	Entries  []*Entry
	dir      string
	md       *Repomd
	updates  catalogUpdates // updateinfo.go
}

// LoadCatalog reads the published metadata of the repository in dir.
func LoadCatalog(dir string) (*Catalog, error) {
	f, err := os.Open(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		return nil, err
	}
	md, err := ParseRepomd(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	c := &Catalog{Revision: md.Revision, dir: dir, md: md}
	err = c.each("primary", func(r io.Reader) error {
		return eachPackage(r, func(p *xPrimary) error {
			fm := &p.Format
			c.Entries = append(c.Entries, &Entry{
				PkgID: p.Checksum.Value, Name: p.Name, Arch: p.Arch, Epoch: p.Version.Epoch, Version: p.Version.Ver,
				Release: p.Version.Rel, Summary: p.Summary, Description: p.Description, URL: p.URL,
				License: fm.License, Vendor: fm.Vendor, Group: fm.Group, Packager: p.Packager, BuildHost: fm.BuildHost,
				SourceRPM: fm.SourceRPM, BuildTime: p.Time.Build, FileTime: p.Time.File, Size: p.Size.Package,
				Installed: p.Size.Installed, Location: p.Location.Href,
				Provides: deps2(fm.Provides), Requires: deps2(fm.Requires), Conflicts: deps2(fm.Conflicts),
				Obsoletes: deps2(fm.Obsoletes), Recommends: deps2(fm.Recommends), Suggests: deps2(fm.Suggests),
				Supplements: deps2(fm.Supplements), Enhances: deps2(fm.Enhances),
			})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(c.Entries, func(i, j int) bool {
		a, b := c.Entries[i], c.Entries[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return CompareEVR(a.Epoch, a.Version, a.Release, b.Epoch, b.Version, b.Release) > 0
	})
	return c, nil
}

func deps2(xs []xEntry) []Dep {
	out := make([]Dep, len(xs))
	for i, x := range xs {
		out[i] = Dep{Name: x.Name, Flags: x.Flags, Epoch: x.Epoch, Version: x.Ver, Release: x.Rel, Pre: x.Pre == "1"}
	}
	return out
}

// each opens the decompressed stream of one metadata file.
func (c *Catalog) each(kind string, fn func(io.Reader) error) error {
	d := c.md.Find(kind)
	if d == nil {
		return fmt.Errorf("repomd.xml has no %s", kind)
	}
	rel := filepath.FromSlash(d.Location.Href)
	if !filepath.IsLocal(rel) {
		return fmt.Errorf("repomd.xml: %s location %q leaves the repository", kind, d.Location.Href)
	}
	// Beneath the repository, and only a regular file: a link out of it
	// or a named pipe (which would block the open) is refused.
	root, err := os.OpenRoot(c.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if st, err := root.Lstat(rel); err != nil {
		return err
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("repomd.xml: %s location %q is not a regular file", kind, d.Location.Href)
	}
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	switch path.Ext(d.Location.Href) {
	case ".gz":
		z, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		r = z
	case ".xz":
		z, err := xz.NewReader(f)
		if err != nil {
			return err
		}
		r = z
	case ".zst":
		z, err := zstd.NewReader(f)
		if err != nil {
			return err
		}
		defer z.Close()
		r = z
	}
	return fn(r)
}

// Details are the parts of a package's metadata kept out of primary.
type Details struct {
	Files      []File
	Changelogs []Changelog // newest first
}

// Details reads the file list and changelog of one package.
func (c *Catalog) Details(pkgid string) (*Details, error) {
	d := &Details{}
	err := c.each("filelists", func(r io.Reader) error {
		return eachPackage(r, func(p *xFilelists) error {
			if p.PkgID == pkgid {
				for _, f := range p.Files {
					d.Files = append(d.Files, File{Path: f.Path, Type: f.Type})
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	err = c.each("other", func(r io.Reader) error {
		return eachPackage(r, func(p *xOther) error {
			if p.PkgID == pkgid {
				for i := len(p.Changelogs) - 1; i >= 0; i-- {
					ch := p.Changelogs[i]
					d.Changelogs = append(d.Changelogs, Changelog{Author: ch.Author, Date: ch.Date, Text: ch.Text})
				}
			}
			return nil
		})
	})
	return d, err
}

// CompareEVR compares two epoch-version-release triples as rpm does.
func CompareEVR(e1, v1, r1, e2, v2, r2 string) int { return rpmver.Compare(e1, v1, r1, e2, v2, r2) }

// Open reads the header of one RPM file, for a caller that needs what
// the metadata would say of it (its NEVRA, before publishing).
func Open(path string) (*Package, error) {
	return readPackage(path, filepath.Base(path), "sha256", 0)
}
