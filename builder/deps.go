package builder

import (
	"cmp"
	"errors"
	"path"
	"slices"
	"strings"

	"github.com/google/rpmpack"

	"github.com/acn-project/acn/builder/autodeps"
	"github.com/acn-project/acn/internal/rpmtag"
	"github.com/acn-project/acn/specs"
)

// Automatic dependencies. Every package a build writes (main,
// subpackages, -debuginfo) is analyzed on its own final files, those that
// are packed (stripped where debuginfo.go stripped), with package
// builder/autodeps, which computes what rpmbuild 4.18's file classifier
// and dependency generators compute. What it gives is written as rpmbuild
// writes it:
//
//   - the generated requires and provides join the spec's manual ones and
//     the ones the builder adds (self-provides, scriptlet interpreters,
//     rpmlib() features) in one set per kind, sorted by name, version and
//     flags and without duplicates, as rpm's dependency sets are; a
//     generated dependency carries the RPMSENSE_FIND_REQUIRES or
//     RPMSENSE_FIND_PROVIDES bit;
//   - nothing is dropped because a sibling package provides it: rpmbuild
//     keeps libfoo.so.1()(64bit) as a require of -devel although the main
//     package provides it (only repodata tools drop requires a package
//     satisfies itself);
//   - FILECOLORS, FILECLASS and CLASSDICT for every package with files,
//     and FILEDEPENDSX, FILEDEPENDSN and DEPENDSDICT when a file has a
//     dependency (indexes into the requires and provides as rpmbuild
//     computes them, before it adds rpmlib(RichDependencies) and the
//     payload's rpmlib() feature); HEADERCOLOR is not stored, rpm derives
//     it from FILECOLORS;
//   - rpmlib(RichDependencies) when a generated dependency is rich.
//
// The spec's autoreq, autoprov and *_exclude* keys (specs.AutoDeps) apply
// to every package, a subpackage's own keys over them; the -debuginfo
// package has the top-level ones. Its debuginfo(build-id) provides come
// from the generator then, as rpmbuild's do; with autoprov: false they
// are kept as manual provides.

// entryOf finds the entry an error of autodeps names: the file, or the
// directory (a Python dist-info) it is in.
func entryOf(err error, ents []entry) *entry {
	var p string
	var pe *autodeps.PythonError
	var fe *autodeps.FileError
	if errors.As(err, &pe) {
		p = pe.Path
	} else if errors.As(err, &fe) {
		p = fe.Path
	}
	for p != "/" && p != "." && p != "" {
		for i := range ents {
			if ents[i].name == p {
				return &ents[i]
			}
		}
		p = path.Dir(p)
	}
	return nil
}

// forDebuginfo returns the spec of the -debuginfo package as it is
// written: with generated provides on, its debuginfo(build-id) provides
// come from the generator alone.
func forDebuginfo(main, s *specs.Spec) *specs.Spec {
	if s.Name != main.Name+specs.DebuginfoSuffix || main.AutoDeps.NoAutoProv {
		return s
	}
	c := *s
	c.Provides = nil
	return &c
}

func fromAuto(ds []autodeps.Dep) []dep {
	out := make([]dep, 0, len(ds))
	for _, d := range ds {
		out = append(out, dep{name: d.Name, version: d.Version, flags: uint32(d.Flags)})
	}
	return out
}

func toAuto(ds []dep) []autodeps.Dep {
	out := make([]autodeps.Dep, 0, len(ds))
	for _, d := range ds {
		out = append(out, autodeps.Dep{Name: d.name, Version: d.version, Flags: autodeps.Sense(d.flags)})
	}
	return out
}

// compareDep orders a dependency set as rpm does: by name, version and
// flags, byte-wise.
func compareDep(a, b dep) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	if c := strings.Compare(a.version, b.version); c != 0 {
		return c
	}
	return cmp.Compare(a.flags, b.flags)
}

// depSet sorts ds as rpm's dependency sets are sorted and drops
// duplicates.
func depSet(ds []dep) []dep {
	slices.SortStableFunc(ds, compareDep)
	return slices.CompactFunc(ds, func(a, b dep) bool { return compareDep(a, b) == 0 })
}

// addFileTags writes the per-file colors, classes and dependency indexes.
// requires and provides are the package's final sets; lateRequires are
// the rpmlib() requires rpmbuild adds after it computed the indexes.
func addFileTags(r *rpmpack.RPM, auto *autodeps.Result, requires, provides []dep, late map[string]bool) error {
	if auto == nil || len(auto.Files) == 0 {
		return nil
	}
	colors := make([]uint32, len(auto.Files))
	for i, f := range auto.Files {
		colors[i] = f.Color
	}
	dict, class := auto.ClassDict()
	r.AddCustomTag(rpmtag.FileColors, rpmpack.EntryUint32(colors))
	r.AddCustomTag(rpmtag.FileClass, rpmpack.EntryUint32(class))
	r.AddCustomTag(rpmtag.ClassDict, rpmpack.EntryStringSlice(dict))
	early := slices.DeleteFunc(slices.Clone(requires), func(d dep) bool { return late[d.name] })
	dd, x, n, err := auto.DependsDict(toAuto(early), toAuto(provides))
	if err != nil {
		return err
	}
	if dd != nil {
		r.AddCustomTag(rpmtag.FileDependsX, rpmpack.EntryUint32(x))
		r.AddCustomTag(rpmtag.FileDependsN, rpmpack.EntryUint32(n))
		r.AddCustomTag(rpmtag.DependsDict, rpmpack.EntryUint32(dd))
	}
	return nil
}
