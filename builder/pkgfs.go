package builder

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// pkgFS is one package as a read-only file system, exactly as it will be
// installed: its paths (without the leading "/"), their modes and link
// targets, and the content each regular file is packed with (stripped,
// when debuginfo.go stripped it). It is what automatic dependency
// generators (package builder/autodeps) read, one package at a time, so
// that each package's dependencies come from its own files, after
// stripping, as rpmbuild's do. Directories a package does not own but
// needs for its paths are shown too (mode 0755); ghost files are absent.
// Symbolic links are followed by Open inside the package only, at most
// 40 of them per lookup. It implements fs.StatFS and fs.ReadLinkFS.
type pkgFS struct {
	byName   map[string]*entry   // "usr/bin/x" -> entry
	children map[string][]string // "usr/bin" -> sorted base names; "." for the root
}

func newPkgFS(ents []entry) *pkgFS {
	f := &pkgFS{byName: map[string]*entry{}, children: map[string][]string{".": nil}}
	listed := map[string]bool{} // paths already in their directory's children
	for i := range ents {
		e := &ents[i]
		if e.isGhost() {
			continue
		}
		name := strings.TrimPrefix(e.name, "/")
		f.byName[name] = e
		for {
			dir := path.Dir(name)
			kids, seen := f.children[dir]
			if !listed[name] {
				listed[name] = true
				f.children[dir] = append(kids, path.Base(name))
			}
			if seen || dir == "." {
				break
			}
			name = dir
		}
	}
	for d := range f.children {
		slices.Sort(f.children[d])
	}
	return f
}

const maxLinkHops = 40

// resolve follows symbolic links in every element of name and returns
// the path it leads to inside the package.
func (f *pkgFS) resolve(name string, followLast bool) (string, error) {
	hops := 0
	parts := strings.Split(name, "/")
	cur := "."
	for i := 0; i < len(parts); i++ {
		next := path.Join(cur, parts[i])
		e := f.byName[next]
		if e != nil && e.isSymlink() && (followLast || i < len(parts)-1) {
			if hops++; hops > maxLinkHops {
				return "", errors.New("too many levels of symbolic links")
			}
			target := e.link
			if !strings.HasPrefix(target, "/") {
				target = path.Join(cur, target)
			}
			target = strings.TrimPrefix(path.Clean("/"+target), "/")
			if target == "" {
				target = "."
			}
			rest := append(strings.Split(target, "/"), parts[i+1:]...)
			if target == "." {
				rest = parts[i+1:]
			}
			parts, cur, i = rest, ".", -1
			continue
		}
		cur = next
	}
	return cur, nil
}

func (f *pkgFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	real, err := f.resolve(name, true)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	fi, err := f.stat(real)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	fi.name = path.Base(name)
	if fi.IsDir() {
		return &pkgDir{fs: f, info: fi, dir: real}, nil
	}
	e := f.byName[real]
	pf := &pkgFile{info: fi}
	if e.open != nil {
		r, err := e.open()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		pf.r = r
	}
	return pf, nil
}

// Stat follows symbolic links as Open does, without opening the file:
// fs.Stat would open it, reading its content's start from git.
func (f *pkgFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	real, err := f.resolve(name, true)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	fi, err := f.stat(real)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	fi.name = path.Base(name)
	return fi, nil
}

func (f *pkgFS) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	real, err := f.resolve(name, false)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	fi, err := f.stat(real)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	fi.name = path.Base(name)
	return fi, nil
}

func (f *pkgFS) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	real, err := f.resolve(name, false)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	e := f.byName[real]
	if e == nil || !e.isSymlink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.link, nil
}

func (f *pkgFS) stat(real string) (*pkgInfo, error) {
	if e := f.byName[real]; e != nil {
		mode := fs.FileMode(e.mode & 0o777)
		switch {
		case e.isDir():
			mode |= fs.ModeDir
		case e.isSymlink():
			mode |= fs.ModeSymlink
		}
		if e.mode&0o4000 != 0 {
			mode |= fs.ModeSetuid
		}
		if e.mode&0o2000 != 0 {
			mode |= fs.ModeSetgid
		}
		if e.mode&0o1000 != 0 {
			mode |= fs.ModeSticky
		}
		size := e.size
		if e.isSymlink() {
			size = int64(len(e.link))
		}
		return &pkgInfo{name: path.Base(real), size: size, mode: mode}, nil
	}
	if _, ok := f.children[real]; ok {
		return &pkgInfo{name: path.Base(real), mode: fs.ModeDir | 0o755}, nil
	}
	return nil, fs.ErrNotExist
}

type pkgInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i *pkgInfo) Name() string       { return i.name }
func (i *pkgInfo) Size() int64        { return i.size }
func (i *pkgInfo) Mode() fs.FileMode  { return i.mode }
func (i *pkgInfo) ModTime() time.Time { return time.Time{} }
func (i *pkgInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *pkgInfo) Sys() any           { return nil }

type pkgFile struct {
	info *pkgInfo
	r    io.ReadCloser // nil: empty
}

func (p *pkgFile) Stat() (fs.FileInfo, error) { return p.info, nil }
func (p *pkgFile) Read(b []byte) (int, error) {
	if p.r == nil {
		return 0, io.EOF
	}
	return p.r.Read(b)
}
func (p *pkgFile) Close() error {
	if p.r == nil {
		return nil
	}
	return p.r.Close()
}

type pkgDir struct {
	fs   *pkgFS
	info *pkgInfo
	dir  string
	off  int
}

func (d *pkgDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *pkgDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.dir, Err: errors.New("is a directory")}
}
func (d *pkgDir) Close() error { return nil }

func (d *pkgDir) ReadDir(n int) ([]fs.DirEntry, error) {
	kids := d.fs.children[d.dir][d.off:]
	if n > 0 && len(kids) > n {
		kids = kids[:n]
	}
	out := make([]fs.DirEntry, 0, len(kids))
	for _, k := range kids {
		fi, err := d.fs.stat(path.Join(d.dir, k))
		if err != nil {
			return out, err
		}
		out = append(out, fs.FileInfoToDirEntry(fi))
	}
	d.off += len(kids)
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}
