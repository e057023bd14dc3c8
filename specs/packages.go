package specs

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxPackages bounds the subpackages of one spec.
const MaxPackages = 64

// DebuginfoSuffix ends the name of the package that holds the debug
// information split from a spec's ELF files, as rpmbuild names it.
const DebuginfoSuffix = "-debuginfo"

// Package is one subpackage: another RPM built from the same build steps
// and tree as the main package, with its own name, metadata, dependencies,
// files and scriptlets. Version, release, epoch, license, URL, vendor,
// packager, group and changelog are the main package's.
type Package struct {
	Name        string // the full package name, e.g. acn-runtime-devel
	Summary     string
	Description string // default: the summary
	Arch        string // default: the main package's

	Requires    []Dep
	Provides    []Dep
	Conflicts   []Dep
	Obsoletes   []Dep
	Recommends  []Dep
	Suggests    []Dep
	Supplements []Dep
	Enhances    []Dep

	Files   []File // each with Prefix "packages[i]."
	Scripts Scripts
	// AutoDeps are the spec's top-level keys with the subpackage's own
	// over them.
	AutoDeps AutoDeps

	Index int // position in the packages list
	Line  int
}

// Field names the subpackage for errors, e.g. packages[1].
func (p Package) Field() string { return fmt.Sprintf("packages[%d]", p.Index) }

// Subpackage returns the Spec that describes subpackage i as a package
// of its own: the main package's version, release, epoch, license, URL,
// vendor, packager, group and changelog with the subpackage's name,
// metadata, dependencies, files, scriptlets and automatic dependency
// keys. It has no subpackages, sources or build steps of its own.
func (s *Spec) Subpackage(i int) *Spec {
	sp := s.Packages[i]
	c := *s
	c.Name, c.Summary, c.Description, c.Arch = sp.Name, sp.Summary, sp.Description, sp.Arch
	c.Requires, c.Provides, c.Conflicts, c.Obsoletes = sp.Requires, sp.Provides, sp.Conflicts, sp.Obsoletes
	c.Recommends, c.Suggests, c.Supplements, c.Enhances = sp.Recommends, sp.Suggests, sp.Supplements, sp.Enhances
	c.Files, c.Scripts, c.AutoDeps = sp.Files, sp.Scripts, sp.AutoDeps
	c.Packages, c.Sources, c.Build, c.BuildRequires, c.Env = nil, nil, nil, nil, nil
	return &c
}

// SourceRPM is the source package name every RPM of the spec records,
// as rpmbuild writes it: <name>-<version>-<release>.src.rpm.
func (s *Spec) SourceRPM() string { return s.Name + "-" + s.Version + "-" + s.Release + ".src.rpm" }

type rawPackage struct {
	Name        string     `yaml:"name"`
	Summary     string     `yaml:"summary"`
	Description string     `yaml:"description"`
	Arch        string     `yaml:"arch"`
	Requires    []string   `yaml:"requires"`
	Provides    []string   `yaml:"provides"`
	Conflicts   []string   `yaml:"conflicts"`
	Obsoletes   []string   `yaml:"obsoletes"`
	Recommends  []string   `yaml:"recommends"`
	Suggests    []string   `yaml:"suggests"`
	Supplements []string   `yaml:"supplements"`
	Enhances    []string   `yaml:"enhances"`
	Files       []rawFile  `yaml:"files"`
	Scripts     rawScripts `yaml:"scripts"`

	AutoReq      *bool  `yaml:"autoreq"`
	AutoProv     *bool  `yaml:"autoprov"`
	ReqExcl      string `yaml:"requires_exclude"`
	ProvExcl     string `yaml:"provides_exclude"`
	ReqExclFrom  string `yaml:"requires_exclude_from"`
	ProvExclFrom string `yaml:"provides_exclude_from"`
}

// packages validates the packages list. seen holds the main package's
// files by destination: a path may be packaged by one entry only, across
// all packages.
func (p *parser) packages(root *yaml.Node, r *raw, s *Spec, seen map[string]*File) {
	list := find(root, "packages")
	if len(r.Packages) > MaxPackages {
		p.add(lineOf(root, "packages"), "packages", ErrInvalid, "%d subpackages, the limit is %d", len(r.Packages), MaxPackages)
		return
	}
	names := map[string]string{s.Name: "name"}
	if s.Debuginfo && s.Arch != "noarch" {
		names[s.Name+DebuginfoSuffix] = "the debuginfo package (debuginfo: false turns it off)"
	}
	for i, rp := range r.Packages {
		n := item(list, i)
		pk := Package{Index: i, Line: n.Line,
			Name: strings.TrimSpace(rp.Name), Summary: strings.TrimSpace(rp.Summary),
			Description: strings.TrimRight(rp.Description, "\n"), Arch: strings.TrimSpace(rp.Arch)}
		field := pk.Field()
		switch {
		case pk.Name == "":
			p.add(n.Line, field+".name", ErrMissingKey, "the full name of the subpackage, e.g. %s-devel", s.Name)
		case !nameRE.MatchString(pk.Name):
			p.add(lineOf(n, "name"), field+".name", ErrInvalid, "%q is not a valid package name (letters, digits and ._+- only)", pk.Name)
		default:
			if prev, ok := names[pk.Name]; ok {
				p.add(lineOf(n, "name"), field+".name", ErrInvalid, "%q is already the name of %s", pk.Name, prev)
			} else {
				names[pk.Name] = field
			}
		}
		if pk.Summary == "" {
			p.add(n.Line, field+".summary", ErrMissingKey, "")
		} else if strings.Contains(pk.Summary, "\n") {
			p.add(lineOf(n, "summary"), field+".summary", ErrInvalid, "must be one line")
		}
		if pk.Description == "" {
			pk.Description = pk.Summary
		}
		if pk.Arch == "" {
			pk.Arch = s.Arch
		} else if !archRE.MatchString(pk.Arch) {
			p.add(lineOf(n, "arch"), field+".arch", ErrInvalid, "%q is not an architecture name", pk.Arch)
		}
		deps := []struct {
			key string
			in  []string
			out *[]Dep
		}{
			{"requires", rp.Requires, &pk.Requires},
			{"provides", rp.Provides, &pk.Provides},
			{"conflicts", rp.Conflicts, &pk.Conflicts},
			{"obsoletes", rp.Obsoletes, &pk.Obsoletes},
			{"recommends", rp.Recommends, &pk.Recommends},
			{"suggests", rp.Suggests, &pk.Suggests},
			{"supplements", rp.Supplements, &pk.Supplements},
			{"enhances", rp.Enhances, &pk.Enhances},
		}
		for _, d := range deps {
			p.depList(n, field+".", d.key, d.in, d.out)
		}
		files := find(n, "files")
		for j, rf := range rp.Files {
			f := p.file1(item(files, j), j, field+".", rf)
			if f == nil {
				continue
			}
			if prev, ok := seen[f.Dst]; ok && !f.Tree && !prev.Tree {
				p.add(f.Line, f.Field()+".dst", ErrInvalid, "%s is already packaged by %s (line %d)", f.Dst, prev.Field(), prev.Line)
			}
			if _, ok := seen[f.Dst]; !ok {
				seen[f.Dst] = f
			}
			pk.Files = append(pk.Files, *f)
		}
		pk.AutoDeps = p.autoDepsKeys(n, field+".", rawAutoDeps{rp.AutoReq, rp.AutoProv, rp.ReqExcl, rp.ProvExcl, rp.ReqExclFrom, rp.ProvExclFrom}, s.AutoDeps)
		pk.Scripts = Scripts{Pre: rp.Scripts.Pre, Post: rp.Scripts.Post, PreUn: rp.Scripts.PreUn,
			PostUn: rp.Scripts.PostUn, PreTrans: rp.Scripts.PreTrans, PostTrans: rp.Scripts.PostTrans}
		s.Packages = append(s.Packages, pk)
	}
}
