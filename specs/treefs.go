package specs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
	"github.com/klauspost/compress/zlib"
)

// treeFS is a git tree as an fs.FS. Open follows symbolic links that stay
// inside the tree and refuses, with ErrEscapes, any that leave it; Lstat
// and ReadLink see the links themselves.
//
// Names are the bytes git stores. Unlike [fs.ValidPath], a name need not
// be UTF-8 and may hold any byte but '/' and NUL (a newline, a backslash),
// so that every file of a tree can be read and copied; an entry that no
// path can name ("", ".", "..", a '/' or NUL inside, a repeated name) is
// left out.
//
// Each directory's tree object is decoded and indexed once, so that
// opening every file of a directory of n entries costs O(n), not O(n²).
// Sizes come from object headers, and blobs over largeObject are streamed
// by the object store: a huge file costs no memory to stat or to refuse.
// Safe for concurrent use.
type treeFS struct {
	s       storer.EncodedObjectStorer
	loose   *dotgit.DotGit // the object store's files, when it has them
	objects string         // their directory on disk, when it is one
	root    *dirIndex
	time    time.Time

	zlibs sync.Pool // zlib readers of loose objects, for reuse

	mu    sync.Mutex
	dirs  map[plumbing.Hash]*dirIndex
	sizes map[plumbing.Hash]int64 // a tree may name one blob many times
}

// dirIndex is one decoded tree: its usable entries sorted by name, and
// their positions by name.
type dirIndex struct {
	entries []object.TreeEntry
	byName  map[string]int
}

func newDirIndex(t *object.Tree) *dirIndex {
	d := &dirIndex{byName: make(map[string]int, len(t.Entries))}
	for _, e := range t.Entries {
		if _, dup := d.byName[e.Name]; dup || !validName(e.Name) || e.Mode == filemode.Submodule {
			continue // submodules are not part of this repository's content
		}
		d.byName[e.Name] = len(d.entries)
		d.entries = append(d.entries, e)
	}
	sort.Slice(d.entries, func(i, j int) bool { return d.entries[i].Name < d.entries[j].Name })
	for i, e := range d.entries {
		d.byName[e.Name] = i
	}
	return d
}

func (d *dirIndex) find(name string) *object.TreeEntry {
	if i, ok := d.byName[name]; ok {
		return &d.entries[i]
	}
	return nil
}

func newTreeFS(s storer.EncodedObjectStorer, t *object.Tree, when time.Time) *treeFS {
	root := newDirIndex(t)
	tf := &treeFS{s: s, root: root, time: when, dirs: map[plumbing.Hash]*dirIndex{t.Hash: root}, sizes: map[plumbing.Hash]int64{}}
	if st, ok := s.(*filesystem.Storage); ok {
		tf.loose = dotgit.New(st.Filesystem())
		tf.objects = objectsDir(st.Filesystem().Root())
	}
	return tf
}

// dir decodes and indexes the tree h once.
func (t *treeFS) dir(h plumbing.Hash) (*dirIndex, error) {
	t.mu.Lock()
	d := t.dirs[h]
	t.mu.Unlock()
	if d != nil {
		return d, nil
	}
	tree, err := object.GetTree(t.s, h)
	if err != nil {
		return nil, err
	}
	d = newDirIndex(tree)
	t.mu.Lock()
	t.dirs[h] = d
	t.mu.Unlock()
	return d, nil
}

var (
	_ fs.ReadLinkFS = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
)

type node struct {
	name string
	mode filemode.FileMode
	dir  *dirIndex // for directories
	ent  *object.TreeEntry
}

const (
	maxLinks = 40
	// maxLinkTarget bounds a symbolic link's target, as PATH_MAX does.
	maxLinkTarget = 4096
)

// validName reports whether name can be one element of a path.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// validPath is fs.ValidPath without its UTF-8 rule.
func validPath(name string) bool {
	if name == "." {
		return true
	}
	for _, part := range strings.Split(name, "/") {
		if !validName(part) {
			return false
		}
	}
	return true
}

// walk resolves name component by component, following links in every
// component but the last unless followLast.
func (t *treeFS) walk(op, name string, followLast bool) (*node, error) {
	if !validPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	hops := 0
	var parts []string
	if name != "." {
		parts = strings.Split(name, "/")
	}
	root := &node{name: ".", mode: filemode.Dir, dir: t.root}
	cur := root
	var done []string // resolved path of cur
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		if cur.dir == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		ent := cur.dir.find(part)
		if ent == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		switch ent.Mode {
		case filemode.Dir:
			sub, err := t.dir(ent.Hash)
			if err != nil {
				return nil, &fs.PathError{Op: op, Path: name, Err: err}
			}
			cur = &node{name: part, mode: ent.Mode, dir: sub, ent: ent}
			done = append(done, part)
		case filemode.Symlink:
			if len(parts) == 0 && !followLast {
				return &node{name: part, mode: ent.Mode, ent: ent}, nil
			}
			if hops++; hops > maxLinks {
				return nil, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
			}
			target, err := t.linkTarget(ent)
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
			cur = root
			done = nil
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			cur = &node{name: part, mode: ent.Mode, ent: ent}
			done = append(done, part)
		default:
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

// linkTarget reads a symbolic link's blob, refusing one longer than any
// path the kernel would follow.
func (t *treeFS) linkTarget(ent *object.TreeEntry) (string, error) {
	size, err := t.size(ent.Hash)
	if err != nil {
		return "", err
	}
	if size > maxLinkTarget {
		return "", &detail{sentinel: ErrInvalid, msg: "symbolic link " + ent.Name + " has a target of more than 4096 bytes"}
	}
	b, err := object.GetBlob(t.s, ent.Hash)
	if err != nil {
		return "", err
	}
	rc, err := b.Reader()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget))
	return string(data), err
}

func (t *treeFS) Open(name string) (fs.File, error) {
	n, err := t.walk("open", name, true)
	if err != nil {
		return nil, err
	}
	fi, err := t.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if n.dir != nil {
		return &treeDir{fs: t, n: n, fi: fi}, nil
	}
	rc, err := t.openBlob(n.ent.Hash, fi.size)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{ReadCloser: rc, fi: fi}, nil
}

// openBlob streams blob h of size bytes. A loose object is read from its
// file here, once: go-git would open and inflate it twice and hash all of
// it with collision-detecting SHA-1, and check the hash against nothing
// (git does not either when it reads an object). zlib's own checksum is
// checked at the end of the stream, as go-git checks it.
func (t *treeFS) openBlob(h plumbing.Hash, size int64) (io.ReadCloser, error) {
	o, err := t.openLoose(h)
	if err != nil {
		return nil, err
	}
	if o == nil {
		b, err := object.GetBlob(t.s, h)
		if err != nil {
			return nil, err
		}
		return b.Reader()
	}
	if o.typ != "blob" || o.size != size {
		o.Close()
		return nil, fmt.Errorf("object %s: a %s of %d bytes, expected a blob of %d", h, o.typ, o.size, size)
	}
	return o, nil
}

// objectsDir is the objects directory of the repository whose git
// directory is gitDir on disk (the common one, for a worktree's), or ""
// when there is none: objects are then found through go-git.
func objectsDir(gitDir string) string {
	if gitDir == "" {
		return ""
	}
	dir := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		dir = common
	}
	objects := filepath.Join(dir, "objects")
	if fi, err := os.Stat(objects); err != nil || !fi.IsDir() {
		return ""
	}
	return objects
}

// maxObjectHeader bounds a loose object's header ("blob 123\x00").
const maxObjectHeader = 32

// looseBuffer is how much of a loose object's file is read at once.
const looseBuffer = 64 << 10

// inflater is a zlib reader and the buffer it reads a file through,
// kept in treeFS.zlibs for the next object.
type inflater struct {
	zr  io.ReadCloser
	buf *bufio.Reader
}

func (z *inflater) Read(p []byte) (int, error) { return z.zr.Read(p) }

// Close lets go of the file; it does not close it.
func (z *inflater) Close() error {
	err := z.zr.Close()
	z.buf.Reset(nil)
	return err
}

// looseObject is a loose object's file, open past its header: its
// content, then io.EOF once the zlib stream ended there, its checksum
// checked.
type looseObject struct {
	t    *treeFS
	f    io.Closer
	z    *inflater // from t.zlibs
	h    plumbing.Hash
	typ  string
	size int64
	left int64
}

// openLoose opens object h when it is a loose object, and returns nil
// when it is not.
func (t *treeFS) openLoose(h plumbing.Hash) (_ *looseObject, err error) {
	if t.loose == nil {
		return nil, nil
	}
	var f io.ReadCloser
	if t.objects != "" {
		// Straight to the file: go-billy's chroot would first Lstat
		// every directory on the way.
		name := h.String()
		f, err = os.Open(filepath.Join(t.objects, name[:2], name[2:]))
	} else {
		f, err = t.loose.Object(h)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &looseObject{t: t, f: f, h: h}
	defer func() {
		if err != nil {
			o.Close()
		}
	}()
	// zlib reads through a bufio.Reader of 4 KiB unless given one:
	// read the file in larger pieces.
	if z, ok := t.zlibs.Get().(*inflater); ok {
		o.z = z
		z.buf.Reset(f)
		err = z.zr.(zlib.Resetter).Reset(z.buf, nil)
	} else {
		z := &inflater{buf: bufio.NewReaderSize(f, looseBuffer)}
		if z.zr, err = zlib.NewReader(z.buf); err == nil {
			o.z = z
		}
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	var hdr [maxObjectHeader]byte
	n := 0
	for ; ; n++ {
		if n == len(hdr) {
			return nil, fmt.Errorf("object %s: header longer than %d bytes", h, len(hdr))
		}
		if _, err := io.ReadFull(o.z, hdr[n:n+1]); err != nil {
			return nil, fmt.Errorf("object %s: header: %w", h, err)
		}
		if hdr[n] == 0 {
			break
		}
	}
	typ, num, ok := strings.Cut(string(hdr[:n]), " ")
	size, perr := strconv.ParseInt(num, 10, 64)
	if !ok || perr != nil || size < 0 || num != strconv.FormatInt(size, 10) {
		return nil, fmt.Errorf("object %s: header %q", h, hdr[:n])
	}
	o.typ, o.size, o.left = typ, size, size
	return o, nil
}

func (o *looseObject) Read(p []byte) (int, error) {
	if o.left == 0 {
		var one [1]byte
		if n, err := io.ReadFull(o.z, one[:]); n > 0 {
			return 0, fmt.Errorf("object %s: more data than its header says", o.h)
		} else if err != io.EOF {
			return 0, fmt.Errorf("object %s: %w", o.h, err)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > o.left {
		p = p[:o.left]
	}
	n, err := o.z.Read(p)
	o.left -= int64(n)
	if err == io.EOF {
		if o.left > 0 {
			return n, fmt.Errorf("object %s: %w", o.h, io.ErrUnexpectedEOF)
		}
		err = nil // EOF once the end is checked
	} else if err != nil {
		err = fmt.Errorf("object %s: %w", o.h, err)
	}
	return n, err
}

// Close closes the file and gives the zlib reader back for another.
func (o *looseObject) Close() error {
	var zerr error
	if o.z != nil {
		zerr = o.z.Close()
		o.t.zlibs.Put(o.z)
		o.z = nil
	}
	return errors.Join(zerr, o.f.Close())
}

func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.walk("stat", name, true)
	if err != nil {
		return nil, err
	}
	fi, err := t.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return fi, nil
}

func (t *treeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := t.walk("lstat", name, false)
	if err != nil {
		return nil, err
	}
	fi, err := t.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return fi, nil
}

func (t *treeFS) ReadLink(name string) (string, error) {
	n, err := t.walk("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	s, err := t.linkTarget(n.ent)
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
	if n.dir == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.entries(n.dir), nil
}

func (t *treeFS) entries(d *dirIndex) []fs.DirEntry {
	out := make([]fs.DirEntry, len(d.entries))
	for i := range d.entries {
		out[i] = &dirEntry{fs: t, ent: &d.entries[i]}
	}
	return out
}

// dirEntry reads the object header for its size only when Info is called.
type dirEntry struct {
	fs  *treeFS
	ent *object.TreeEntry
}

func (e *dirEntry) Name() string      { return e.ent.Name }
func (e *dirEntry) IsDir() bool       { return e.ent.Mode == filemode.Dir }
func (e *dirEntry) Type() fs.FileMode { return modeOf(e.ent.Mode).Type() }
func (e *dirEntry) Info() (fs.FileInfo, error) {
	return e.fs.info(&node{name: e.ent.Name, mode: e.ent.Mode, ent: e.ent})
}
func (e *dirEntry) String() string { return fs.FormatDirEntry(e) }

func modeOf(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir:
		return fs.ModeDir | 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Executable:
		return 0o755
	}
	return 0o644
}

func (t *treeFS) info(n *node) (*treeInfo, error) {
	fi := &treeInfo{name: n.name, mode: modeOf(n.mode), time: t.time}
	if n.ent != nil && n.mode != filemode.Dir {
		size, err := t.size(n.ent.Hash)
		if err != nil {
			return nil, err
		}
		fi.size = size
	}
	return fi, nil
}

// size reads a blob's size from its object header, once per blob.
func (t *treeFS) size(h plumbing.Hash) (int64, error) {
	t.mu.Lock()
	size, ok := t.sizes[h]
	t.mu.Unlock()
	if ok {
		return size, nil
	}
	o, err := t.openLoose(h)
	if err != nil {
		return 0, err
	}
	if o != nil {
		size = o.size
		o.Close()
	} else if size, err = t.s.EncodedObjectSize(h); err != nil {
		return 0, err
	}
	t.mu.Lock()
	t.sizes[h] = size
	t.mu.Unlock()
	return size, nil
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
		d.list = d.fs.entries(d.n.dir)
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
