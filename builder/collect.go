package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/acn-project/acn/internal/rpmtag"
	"github.com/acn-project/acn/specs"
)

// sources are the two roots a files entry may read from.
type sources struct {
	tree    fs.FS // the git tree at the ref
	destDir fs.FS // what build steps installed; nil without build steps
	ref     string
}

// collect turns the spec's files list into package entries, sorted by
// name. Every problem names the spec file, line and key.
func collect(s *specs.Spec, src sources) ([]entry, error) {
	byName := map[string]*entry{}
	from := map[string]string{} // package path -> spec field that added it
	var errs []error
	fail := func(f specs.File, key string, err error) {
		errs = append(errs, &specs.Error{File: s.File, Line: f.Line, Field: f.Field() + "." + key, Err: err})
	}
	put := func(f specs.File, e entry) error {
		if len(byName) >= MaxPackageFiles {
			return specs.Errorf(ErrTooLarge, "more than %d paths in one package", MaxPackageFiles)
		}
		if !packageable(e.name) {
			fail(f, "src", specs.Errorf(specs.ErrInvalid, "%q cannot be packaged: a file name in a package must be UTF-8 without control characters", e.name))
			return nil
		}
		if prev, ok := byName[e.name]; ok {
			switch {
			case prev.isDir() && e.isDir():
				// A directory a tree brought in, named again on its own:
				// the explicit entry's attributes win.
				if f.Type == specs.TypeDir {
					*prev = e
				}
				return nil
			default:
				fail(f, "dst", specs.Errorf(specs.ErrInvalid, "%s is already packaged by %s", e.name, from[e.name]))
				return nil
			}
		}
		byName[e.name] = &e
		from[e.name] = fmt.Sprintf("%s (line %d)", f.Field(), f.Line)
		return nil
	}

files:
	for _, f := range s.Files {
		base := entry{name: f.Dst, owner: f.Owner, group: f.Group, origin: s.File + ": " + f.Field(), field: f.Field(), line: f.Line}
		switch f.Type {
		case specs.TypeDir:
			base.mode = modeDir | perm(f.Mode, 0o755)
			if err := put(f, base); err != nil {
				fail(f, "src", err)
				break files
			}
			continue
		case specs.TypeSymlink:
			base.mode = modeSymlink | 0o777
			base.link = f.Target
			if err := put(f, base); err != nil {
				fail(f, "src", err)
				break files
			}
			continue
		case specs.TypeGhost:
			base.flags = rpmtag.FileGhost
			if f.Tree {
				base.mode = modeDir | perm(f.Mode, 0o755)
			} else {
				base.mode = modeRegular | perm(f.Mode, 0o644)
			}
			if err := put(f, base); err != nil {
				fail(f, "src", err)
				break files
			}
			continue
		case specs.TypeConfig:
			base.flags = rpmtag.FileConfig
		case specs.TypeConfigNoReplace:
			base.flags = rpmtag.FileConfig | rpmtag.FileNoReplace
		case specs.TypeDoc:
			base.flags = rpmtag.FileDoc
		case specs.TypeLicense:
			base.flags = rpmtag.FileLicense
		}

		fsys, rel, where := src.tree, f.Src, "in the git tree at "+src.ref
		if f.FromDestDir() {
			if src.destDir == nil {
				fail(f, "src", specs.Errorf(specs.ErrInvalid, "%s names $DESTDIR but the spec has no build steps", f.Src))
				continue
			}
			fsys, rel, where = src.destDir, strings.TrimPrefix(strings.TrimPrefix(f.Src, "$DESTDIR"), "/"), "in $DESTDIR (did a build step install it?)"
			if rel == "" {
				rel = "."
			}
		}
		var matches []string
		glob := strings.ContainsAny(rel, "*?[")
		if glob {
			m, err := globMax(fsys, rel, MaxPackageFiles)
			if errors.Is(err, ErrTooLarge) {
				fail(f, "src", specs.Errorf(ErrTooLarge, "%s matches more than %d paths", f.Src, MaxPackageFiles))
				break files
			}
			if err != nil {
				fail(f, "src", specs.Errorf(specs.ErrInvalid, "%v", err))
				continue
			}
			if len(m) == 0 {
				fail(f, "src", specs.Errorf(specs.ErrInvalid, "%s matches nothing %s", f.Src, where))
				continue
			}
			matches = m
		} else {
			matches = []string{rel}
		}
		for _, m := range matches {
			dst := f.Dst
			if glob {
				dst = path.Join(f.Dst, path.Base(m))
			}
			if err := addPath(fsys, !f.FromDestDir(), m, dst, f, base, glob, put); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					err = specs.Errorf(specs.ErrInvalid, "%s not found %s", f.Src, where)
				}
				fail(f, "src", err)
				if errors.Is(err, ErrTooLarge) {
					break files
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(byName))
	for n, e := range byName {
		names = append(names, n)
		if e.mode&0o170000 == modeRegular && e.flags&(rpmtag.FileGhost|rpmtag.FileConfig) == 0 && inDocDir(n) {
			e.flags |= rpmtag.FileDoc
		}
	}
	sort.Strings(names)
	out := make([]entry, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out, nil
}

// globMax is fs.Glob that gives up, with ErrTooLarge, past max matches at
// any level, so that a pattern over a huge tree costs bounded memory.
func globMax(fsys fs.FS, pattern string, max int) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	if !hasMeta(pattern) {
		if _, err := fs.Lstat(fsys, pattern); err != nil {
			return nil, nil
		}
		return []string{pattern}, nil
	}
	dir, file := path.Split(pattern)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	dirs := []string{dir}
	if hasMeta(dir) {
		var err error
		if dirs, err = globMax(fsys, dir, max); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, d := range dirs {
		ents, err := fs.ReadDir(fsys, d)
		if err != nil {
			continue // as fs.Glob: what cannot be read matches nothing
		}
		for _, e := range ents {
			if ok, _ := path.Match(file, e.Name()); !ok {
				continue
			}
			if len(out) == max {
				return nil, ErrTooLarge
			}
			out = append(out, path.Join(d, e.Name()))
		}
	}
	return out, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// packageable reports whether name can be a file name in a package:
// rpm's file lists and the repository's XML metadata hold UTF-8 text, one
// name per line or element.
func packageable(name string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func perm(m uint32, def uint32) uint32 {
	if m == 0 {
		return def
	}
	return m & 0o7777
}

// addPath packs one source path at dst: a file, a symbolic link, or a
// whole directory tree. f.Mode applies to the regular files packed.
//
// Links from the git tree must stay inside it (inTree); links that build
// steps installed may point anywhere on the installed system.
func addPath(fsys fs.FS, inTree bool, name, dst string, f specs.File, base entry, glob bool, put func(specs.File, entry) error) error {
	fi, err := fs.Lstat(fsys, name)
	if err != nil {
		return err
	}
	if !fi.IsDir() && f.Tree && !glob {
		dst = path.Join(dst, path.Base(name))
	}
	one := func(p string, fi fs.FileInfo, dst string) error {
		e := base
		e.name = dst
		e.origin = base.origin + " (" + p + ")"
		if !inTree {
			e.src = p
		}
		switch {
		case fi.IsDir():
			e.mode = modeDir | uint32(fi.Mode().Perm())
			e.flags &^= rpmtag.FileConfig | rpmtag.FileNoReplace // rpm ignores %config on directories
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			if inTree && specs.LinkEscapes(p, target) {
				return specs.Errorf(specs.ErrEscapes, "symbolic link %s -> %s points outside the repository", p, target)
			}
			e.mode = modeSymlink | 0o777
			e.link = target
		case fi.Mode().IsRegular():
			e.mode = modeRegular | perm(f.Mode, uint32(fi.Mode().Perm()))
			e.size = fi.Size()
			e.open = func() (io.ReadCloser, error) { return fsys.Open(p) }
		default:
			return specs.Errorf(specs.ErrInvalid, "%s is not a regular file, directory or symbolic link", p)
		}
		return put(f, e)
	}
	if !fi.IsDir() {
		return one(name, fi, dst)
	}
	return fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := fs.Lstat(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, name), "/")
		if name == "." {
			rel = p
			if p == "." {
				rel = ""
			}
		}
		return one(p, fi, path.Join(dst, rel))
	})
}

// docDirs are where rpmbuild marks every file as documentation
// (%__docdir_path); rpm --excludedocs relies on it.
var docDirs = []string{"/usr/share/doc/", "/usr/doc/", "/usr/share/man/", "/usr/man/",
	"/usr/share/info/", "/usr/info/", "/usr/share/gtk-doc/html/", "/usr/X11R6/man/"}

func inDocDir(name string) bool {
	for _, d := range docDirs {
		if strings.HasPrefix(name, d) {
			return true
		}
	}
	return false
}
