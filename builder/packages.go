package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	feeds := make([]*depsFeed, 0, len(pkgs))
	for _, p := range pkgs {
		sortEntries(p.ents)
		feed, err := newDepsFeed(ctx, p.spec, p.ents)
		if err != nil {
			return nil, err
		}
		feeds = append(feeds, feed)
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
	for i, f := range feeds {
		if autos[i], err = f.result(ctx); err != nil {
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

// depsFeed computes one package's automatic dependencies (deps.go) while
// its payload is written: it sees the first autodeps.HeadSize bytes of
// each regular file as the payload writer reads them, so that the
// analyzer reads a file a second time only when it needs more of it (ELF
// objects, mostly), and memory holds one file's first bytes at a time.
// Files are analysed in the order of the entries (sorted by name, as the
// header lists them); ghost files, which are not packed, get no
// dependencies, color 0 and no class. Not safe for concurrent use: the
// payload writer reads one file at a time.
type depsFeed struct {
	spec *specs.Spec
	ents []entry
	fsys *pkgFS
	a    *autodeps.Analyzer
	next int    // the next entry to analyse
	head []byte // reused for each file's first bytes
}

// newDepsFeed makes the regular files of ents, from now on, show their
// first bytes to the analyzer the first time they are read.
func newDepsFeed(ctx context.Context, s *specs.Spec, ents []entry) (*depsFeed, error) {
	ad := s.AutoDeps
	a, err := autodeps.NewAnalyzer(autodeps.Options{
		NoAutoReq: ad.NoAutoReq, NoAutoProv: ad.NoAutoProv,
		RequiresExclude: ad.RequiresExclude, ProvidesExclude: ad.ProvidesExclude,
		RequiresExcludeFrom: ad.RequiresExcludeFrom, ProvidesExcludeFrom: ad.ProvidesExcludeFrom,
	})
	if err != nil {
		return nil, fmt.Errorf("automatic dependencies of %s: %w", s.Name, err)
	}
	f := &depsFeed{spec: s, ents: ents, fsys: newPkgFS(ents), a: a}
	for i := range ents {
		e := &ents[i]
		if e.open == nil || e.isGhost() || e.isDir() || e.isSymlink() {
			continue
		}
		open, used := e.open, false
		e.open = func() (io.ReadCloser, error) {
			r, err := open()
			if err != nil || used {
				return r, err
			}
			used = true
			f.head = f.head[:0]
			return &headReader{r: r, head: &f.head, done: func(head []byte, n int64) {
				f.packed(ctx, i, head, n)
			}}, nil
		}
	}
	return f, nil
}

// packed analyses the entries up to i, i being a regular file of which n
// bytes were read, the first of them head.
func (f *depsFeed) packed(ctx context.Context, i int, head []byte, n int64) {
	if i < f.next {
		return
	}
	f.upTo(ctx, i)
	e := &f.ents[i]
	if n != e.size || int64(len(head)) != min(e.size, autodeps.HeadSize) {
		return // the payload writer fails; result reads the file again
	}
	f.next = i + 1
	f.a.AddHead(ctx, f.fsys, autodeps.File{Path: e.name, Mode: f.mode(e)}, head, e.size) // its error is kept
}

// upTo analyses the entries before i not yet analysed, reading them
// from the package.
func (f *depsFeed) upTo(ctx context.Context, i int) {
	for ; f.next < i; f.next++ {
		e := &f.ents[f.next]
		if e.isGhost() {
			continue
		}
		f.a.Add(ctx, f.fsys, autodeps.File{Path: e.name, Mode: f.mode(e)}) // its error is kept
	}
}

func (f *depsFeed) mode(e *entry) fs.FileMode {
	fi, err := f.fsys.stat(strings.TrimPrefix(e.name, "/"))
	if err != nil {
		return 0 // not reached: every entry that is not a ghost is in fsys
	}
	return fi.Mode()
}

// result analyses the entries left and returns the package's automatic
// dependencies, with one FileDeps per entry.
func (f *depsFeed) result(ctx context.Context) (*autodeps.Result, error) {
	s, ents := f.spec, f.ents
	f.upTo(ctx, len(ents))
	res, err := f.a.Result()
	if err != nil {
		err = fmt.Errorf("automatic dependencies of %s: %w", s.Name, err)
		if e := entryOf(err, ents); e != nil && e.field != "" {
			return nil, &specs.Error{File: s.File, Line: e.line, Field: e.field, Err: err}
		}
		return nil, err
	}
	if len(res.Files) == len(ents) {
		return res, nil
	}
	all := make([]autodeps.FileDeps, 0, len(ents))
	j := 0
	for i := range ents {
		if ents[i].isGhost() {
			all = append(all, autodeps.FileDeps{Path: ents[i].name})
			continue
		}
		all = append(all, res.Files[j])
		j++
	}
	res.Files = all
	return res, nil
}

// headReader keeps the first autodeps.HeadSize bytes read through it and
// gives them, with the count of bytes read, to done when it is closed.
type headReader struct {
	r    io.ReadCloser
	head *[]byte
	n    int64
	done func(head []byte, n int64)
}

func (h *headReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := autodeps.HeadSize - len(*h.head); room > 0 && n > 0 {
		*h.head = append(*h.head, p[:min(n, room)]...)
	}
	h.n += int64(n)
	return n, err
}

func (h *headReader) Close() error {
	err := h.r.Close()
	if h.done != nil {
		done := h.done
		h.done = nil
		done(*h.head, h.n)
	}
	return err
}
