package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/acn-project/acn/specs"
)

// The checks rpmbuild makes after %install, made here over $DESTDIR:
//
//   - every file or symbolic link build steps installed is packaged by a
//     files entry or named by the spec's exclude globs (rpmbuild's
//     "Installed (but unpackaged) file(s) found"; like rpmbuild's
//     check-files it looks at files and links, not at directories, so an
//     empty directory nobody packages is no error);
//   - no packaged file from $DESTDIR holds the path of $DESTDIR, and no
//     packaged text holds the path of the build's scratch tree
//     (rpmbuild's check-buildroot): a program or a script that names where
//     it was built or installed from fails on every machine but the build
//     host, the classic case being a #! line. ELF files and static
//     archives are only checked for $DESTDIR: their debugging data names
//     the directory they were compiled in, as rpmbuild's do.
//
// The path check reads nothing twice: it watches the bytes as the payload
// writer streams them.

// Sentinel errors of the checks; test with [errors.Is].
var (
	// ErrUnpackaged is wrapped when build steps installed files that no
	// files entry packages and no exclude glob names.
	ErrUnpackaged = errors.New("builder: installed but unpackaged files")
	// ErrPathLeak is wrapped when a packaged file holds the path of
	// $DESTDIR or of the scratch tree.
	ErrPathLeak = errors.New("builder: packaged file holds a build path")
)

// maxListed bounds the paths one check error names; the rest are counted.
const maxListed = 20

// checkUnpackaged walks $DESTDIR and fails, naming the paths, when a file
// or link in it is neither in ents nor excluded by the spec.
func checkUnpackaged(ctx context.Context, s *specs.Spec, destDir fs.FS, ents []entry) error {
	used := make(map[string]bool, len(ents))
	for i := range ents {
		if ents[i].src != "" {
			used[ents[i].src] = true
		}
	}
	var missing []string // the first maxListed, in walk order
	n, count := 0, 0
	err := fs.WalkDir(destDir, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if n++; n > MaxTreeFiles {
			return fmt.Errorf("%w: $DESTDIR holds more than %d paths", ErrTooLarge, MaxTreeFiles)
		}
		if d.IsDir() || used[p] {
			return nil
		}
		if name := "/" + p; !s.Excluded(name) {
			if count++; len(missing) < maxListed {
				missing = append(missing, name)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check $DESTDIR for unpackaged files: %w", err)
	}
	if count == 0 {
		return nil
	}
	return &specs.Error{File: s.File, Line: s.FilesLine, Field: "files", Err: fmt.Errorf(
		"%w: %d installed in $DESTDIR (%s); package them with a files entry or name them under exclude",
		ErrUnpackaged, count, listSome(missing, count))}
}

// listSome joins names (at most maxListed of total), then says how many
// more there are.
func listSome(names []string, total int) string {
	if len(names) > maxListed {
		names = names[:maxListed]
	}
	if total <= len(names) {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names, ", "), total-len(names))
}

// leakCheck finds build paths in what is packed from $DESTDIR. It is safe
// for concurrent use by the files being packed.
type leakCheck struct {
	dest    [][]byte // $DESTDIR, as the steps and as the host see it
	scratch [][]byte // the scratch tree's other paths
	maxLen  int
	// keys are prefixes every path above starts with: a scan looks for
	// them, the few of them, and compares the paths only where one is.
	keys [][]byte

	mu    sync.Mutex
	leaks []string
}

// newLeakCheck looks for the sandbox's fixed paths and the host's scratch
// paths, whether or not the sandbox was on: a tree built elsewhere (a
// vendored build, a cache) can bring either.
func newLeakCheck(s *specs.Spec, sc *scratch) *leakCheck {
	c := &leakCheck{}
	for _, p := range []string{sandboxDestDir, sc.destDir} {
		c.dest = append(c.dest, []byte(p))
	}
	for _, p := range []string{sandboxTree(s.Name, s.Version), sandboxSrcDir, sandboxHome, sc.root} {
		c.scratch = append(c.scratch, []byte(p))
	}
	keys := [][]byte{[]byte(sandboxBuild + "/"), []byte(sc.root)}
	for _, p := range append(append([][]byte{}, c.dest...), c.scratch...) {
		c.maxLen = max(c.maxLen, len(p))
		if !slices.ContainsFunc(keys, func(k []byte) bool { return bytes.HasPrefix(p, k) }) {
			keys = append(keys, p)
		}
	}
	c.keys = keys
	return c
}

// watch makes every file of ents read from $DESTDIR go through the
// check as it is packed, and checks symbolic links' targets now.
func (c *leakCheck) watch(ents []entry) {
	for i := range ents {
		e := &ents[i]
		if e.src == "" {
			continue
		}
		if e.isSymlink() {
			for _, p := range c.dest {
				if strings.Contains(e.link, string(p)) {
					c.report(fmt.Sprintf("%s (a symbolic link to %s)", e.name, e.link))
					break
				}
			}
			continue
		}
		if open := e.open; open != nil {
			name := e.name
			e.open = func() (io.ReadCloser, error) {
				r, err := open()
				if err != nil {
					return nil, err
				}
				return &leakReader{r: r, c: c, name: name}, nil
			}
		}
	}
}

func (c *leakCheck) report(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leaks = append(c.leaks, what)
}

// err is the check's verdict once every file was packed.
func (c *leakCheck) err(s *specs.Spec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.leaks) == 0 {
		return nil
	}
	// A file the automatic dependency analysis reads again reports again.
	sort.Strings(c.leaks)
	c.leaks = slices.Compact(c.leaks)
	return &specs.Error{File: s.File, Line: s.FilesLine, Field: "files", Err: fmt.Errorf(
		"%w: %s; a program or script must name where it is installed, not $DESTDIR or the build directory",
		ErrPathLeak, listSome(c.leaks, len(c.leaks)))}
}

// leakReader scans one file's bytes as they are read, across read
// boundaries, and reports the file once: at once for $DESTDIR's path, at
// Close for the build directory's, once the file's first bytes said
// whether it is an object file, where that path is no fault.
type leakReader struct {
	r          io.ReadCloser
	c          *leakCheck
	name       string
	head       []byte // the file's first bytes, up to 8
	carry      []byte // the last maxLen-1 bytes seen
	join       []byte
	scratchHit string // the first build directory path seen
	flagged    bool
}

func (l *leakReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 && !l.flagged {
		l.scan(p[:n])
	}
	return n, err
}

func (l *leakReader) Close() error {
	if !l.flagged && l.scratchHit != "" && !isObject(l.head) {
		l.flag(l.scratchHit, false)
	}
	return l.r.Close()
}

// isObject reports whether a file starting with head is an ELF file or a
// static archive: their debugging data names the directory they were
// compiled in.
func isObject(head []byte) bool {
	return bytes.HasPrefix(head, []byte("\x7fELF")) || bytes.HasPrefix(head, []byte("!<arch>\n"))
}

func (l *leakReader) scan(b []byte) {
	if len(l.head) < 8 {
		l.head = append(l.head, b[:min(len(b), 8-len(l.head))]...)
	}
	keep := l.c.maxLen - 1
	l.join = append(append(l.join[:0], l.carry...), b[:min(len(b), keep)]...)
	for _, w := range [][]byte{l.join, b} {
		if p := l.find(w); p != "" {
			l.flag(p, true)
			return
		}
	}
	if len(b) >= keep {
		l.carry = append(l.carry[:0], b[len(b)-keep:]...)
	} else {
		l.carry = append(l.carry, b...)
		if len(l.carry) > keep {
			l.carry = l.carry[len(l.carry)-keep:]
		}
	}
}

// find returns a $DESTDIR path in b, and notes the first build directory
// path it sees.
func (l *leakReader) find(b []byte) string {
	for _, k := range l.c.keys {
		for rest := b; ; {
			i := bytes.Index(rest, k)
			if i < 0 {
				break
			}
			rest = rest[i:]
			for _, p := range l.c.dest {
				if bytes.HasPrefix(rest, p) {
					return string(p)
				}
			}
			if l.scratchHit == "" {
				for _, p := range l.c.scratch {
					if bytes.HasPrefix(rest, p) {
						l.scratchHit = string(p)
					}
				}
			}
			rest = rest[1:]
		}
	}
	return ""
}

func (l *leakReader) flag(p string, dest bool) {
	l.flagged = true
	what := "the build directory's path"
	if dest {
		what = "the $DESTDIR path"
	}
	l.c.report(fmt.Sprintf("%s holds %s %s", l.name, what, p))
}
