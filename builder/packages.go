package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/acn-project/acn/builder/autodeps"
	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/specs"
)

// A spec makes several RPMs: the main package, one per subpackage
// (specs.Package) and, when ELF files had debug information, the
// -debuginfo package (debuginfo.go). Build steps run once; every package
// is packed from the same tree and $DESTDIR, and every RPM of one build
// names the same source package, as rpmbuild's do. A path is packaged by
// one package only.

// RPM is one package file a build wrote.
type RPM struct {
	Name  string // package name, e.g. acn-runtime-devel
	Path  string // the .rpm file
	Files int
	Size  int64 // bytes of the .rpm file
}

// pkg is one package to write: its spec (the main one, or one made for a
// subpackage or the debuginfo package) and its entries, sorted by name.
// Each package's entries are what automatic dependency generators get.
type pkg struct {
	spec *specs.Spec
	ents []entry
}

// collectPackages collects the main package and every subpackage, and
// refuses a path packaged by two of them (directories aside: as with
// rpmbuild, packages may share a directory).
func collectPackages(spec *specs.Spec, src sources) ([]pkg, error) {
	all := []*specs.Spec{spec}
	for i := range spec.Packages {
		all = append(all, spec.Subpackage(i))
	}
	out := make([]pkg, 0, len(all))
	var errs []error
	for _, s := range all {
		ents, err := collect(s, src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, pkg{spec: s, ents: ents})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	type owner struct {
		pkg string
		e   *entry
	}
	owners := map[string]owner{}
	for i := range out {
		for j := range out[i].ents {
			e := &out[i].ents[j]
			if e.isDir() {
				continue
			}
			if prev, ok := owners[e.name]; ok {
				errs = append(errs, &specs.Error{File: spec.File, Line: e.line, Field: e.field + ".src",
					Err: specs.Errorf(specs.ErrInvalid, "%s would be in %s and in %s: %s (line %d) already packages it",
						e.name, out[i].spec.Name, prev.pkg, prev.e.field, prev.e.line)})
				if len(errs) >= 20 {
					return nil, errors.Join(errs...)
				}
				continue
			}
			owners[e.name] = owner{out[i].spec.Name, e}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// writePackages writes one RPM per package into o.OutDir, each with the
// header fields of base that all packages of a build share (build time
// and host, compression, source package, provenance) and its own spec.
// check, when not nil, runs once every payload is written and before any
// RPM is: the checks that watch file contents as they are packed. On
// failure writePackages removes the RPMs it wrote, so that a build leaves
// all of its packages or none.
func writePackages(ctx context.Context, base header, pkgs []pkg, o Options, check func() error) (_ []RPM, err error) {
	var out []RPM
	defer func() {
		if err != nil {
			for _, r := range out {
				os.Remove(r.Path)
			}
			out = nil
		}
	}()
	payloads := make([]*payload, 0, len(pkgs))
	defer func() {
		for _, pl := range payloads {
			pl.file.Close()
		}
	}()
	for _, p := range pkgs {
		sortEntries(p.ents)
		pl, err := writePayload(ctx, o.OutDir, p.ents, o.Time, o.Compression, o.Progress)
		if err != nil {
			return nil, fmt.Errorf("%s: write payload: %w", p.spec.Name, err)
		}
		payloads = append(payloads, pl)
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	autos := make([]*autodeps.Result, len(pkgs))
	for i, p := range pkgs {
		if autos[i], err = analyze(ctx, p.spec, p.ents); err != nil {
			return nil, err
		}
	}
	for i, p := range pkgs {
		r := RPM{Name: p.spec.Name, Path: filepath.Join(o.OutDir, FileName(p.spec)), Files: len(p.ents)}
		h := base
		h.spec = forDebuginfo(pkgs[0].spec, p.spec)
		h.auto = autos[i]
		err := atomicfile.Write(r.Path, 0o644, func(f *os.File) error { return writeRPM(f, &h, p.ents, payloads[i]) })
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", r.Path, err)
		}
		if fi, err := os.Stat(r.Path); err == nil {
			r.Size = fi.Size()
		}
		out = append(out, r)
	}
	return out, nil
}

func sortEntries(ents []entry) {
	sort.SliceStable(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
}
