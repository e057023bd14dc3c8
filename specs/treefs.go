package specs

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeFS is a git tree as an fs.FS. Open follows symbolic links that stay
// inside the tree and refuses, with ErrEscapes, any that leave it; Lstat
// and ReadLink see the links themselves.
type treeFS struct {
	root *object.Tree
	time time.Time
}

func newTreeFS(t *object.Tree, when time.Time) *treeFS { return &treeFS{root: t, time: when} }

var (
	_ fs.ReadLinkFS = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
)

type node struct {
	name string
	mode filemode.FileMode
	tree *object.Tree // for directories
	ent  *object.TreeEntry
}

const maxLinks = 40

// walk resolves name component by component, following links in every
// component but the last unless followLast.
func (t *treeFS) walk(op, name string, followLast bool) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	hops := 0
	var parts []string
	if name != "." {
		parts = strings.Split(name, "/")
	}
	cur := &node{name: ".", mode: filemode.Dir, tree: t.root}
	var done []string // resolved path of cur
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		if cur.tree == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		var ent *object.TreeEntry
		for i := range cur.tree.Entries {
			if cur.tree.Entries[i].Name == part {
				ent = &cur.tree.Entries[i]
				break
			}
		}
		if ent == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		switch ent.Mode {
		case filemode.Dir:
			sub, err := cur.tree.Tree(part)
			if err != nil {
				return nil, &fs.PathError{Op: op, Path: name, Err: err}
			}
			cur = &node{name: part, mode: ent.Mode, tree: sub, ent: ent}
			done = append(done, part)
		case filemode.Symlink:
			if len(parts) == 0 && !followLast {
				return &node{name: part, mode: ent.Mode, ent: ent}, nil
			}
			if hops++; hops > maxLinks {
				return nil, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
			}
			target, err := t.readBlob(ent)
			if err != nil {
				return nil, &fs.PathError{Op: op, Path: name, Err: err}
			}
			next, ok := inside(path.Join(done...), target)
			if !ok {
				return nil, &fs.PathError{Op: op, Path: name, Err: &detail{sentinel: ErrEscapes, msg: "symbolic link " + path.Join(append(done, part)...) + " -> " + target + " leaves the repository"}}
			}
			if next != "." {
				parts = append(strings.Split(next, "/"), parts...)
			}
			cur = &node{name: ".", mode: filemode.Dir, tree: t.root}
			done = nil
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			cur = &node{name: part, mode: ent.Mode, ent: ent}
			done = append(done, part)
		default: // submodules are not part of this repository's content
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
	}
	return cur, nil
}

// inside joins a link target to the directory holding the link and
// reports whether the result stays within the tree.
func inside(dir, target string) (string, bool) {
	if strings.HasPrefix(target, "/") || target == "" {
		return "", false
	}
	p := path.Join(dir, target)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// LinkEscapes reports whether a symbolic link at name (slash separated,
// relative to a root) pointing at target leads outside that root.
func LinkEscapes(name, target string) bool {
	_, ok := inside(path.Dir(name), target)
	return !ok
}

func (t *treeFS) readBlob(ent *object.TreeEntry) (string, error) {
	f, err := t.root.TreeEntryFile(ent)
	if err != nil {
		return "", err
	}
	return f.Contents()
}

func (t *treeFS) Open(name string) (fs.File, error) {
	n, err := t.walk("open", name, true)
	if err != nil {
		return nil, err
	}
	fi := t.info(n)
	if n.tree != nil {
		return &treeDir{fs: t, n: n, fi: fi}, nil
	}
	f, err := t.root.TreeEntryFile(n.ent)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	rc, err := f.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{ReadCloser: rc, fi: fi}, nil
}

func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.walk("stat", name, true)
	if err != nil {
		return nil, err
	}
	return t.info(n), nil
}

func (t *treeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := t.walk("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return t.info(n), nil
}

func (t *treeFS) ReadLink(name string) (string, error) {
	n, err := t.walk("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	s, err := t.readBlob(n.ent)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return s, nil
}

func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := t.walk("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if n.tree == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.entries(n.tree)
}

func (t *treeFS) entries(tree *object.Tree) ([]fs.DirEntry, error) {
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for i := range tree.Entries {
		e := &tree.Entries[i]
		if e.Mode == filemode.Submodule {
			continue
		}
		n := &node{name: e.Name, mode: e.Mode, ent: e}
		out = append(out, fs.FileInfoToDirEntry(t.info(n)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (t *treeFS) info(n *node) *treeInfo {
	fi := &treeInfo{name: n.name, time: t.time}
	switch n.mode {
	case filemode.Dir:
		fi.mode = fs.ModeDir | 0o755
	case filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o777
	case filemode.Executable:
		fi.mode = 0o755
	default:
		fi.mode = 0o644
	}
	if n.ent != nil && n.mode != filemode.Dir {
		if f, err := t.root.TreeEntryFile(n.ent); err == nil {
			fi.size = f.Size
		}
	}
	return fi
}

type treeInfo struct {
	name string
	size int64
	mode fs.FileMode
	time time.Time
}

func (i *treeInfo) Name() string       { return i.name }
func (i *treeInfo) Size() int64        { return i.size }
func (i *treeInfo) Mode() fs.FileMode  { return i.mode }
func (i *treeInfo) ModTime() time.Time { return i.time }
func (i *treeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *treeInfo) Sys() any           { return nil }

type treeFile struct {
	io.ReadCloser
	fi fs.FileInfo
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.fi, nil }

type treeDir struct {
	fs   *treeFS
	n    *node
	fi   fs.FileInfo
	list []fs.DirEntry
	read bool
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.fi, nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.name, Err: errors.New("is a directory")}
}
func (d *treeDir) Close() error { return nil }

func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		d.list, _ = d.fs.entries(d.n.tree)
		d.read = true
	}
	if n <= 0 {
		out := d.list
		d.list = nil
		return out, nil
	}
	if len(d.list) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.list))
	out := d.list[:n]
	d.list = d.list[n:]
	return out, nil
}
