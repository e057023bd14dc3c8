package builder

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/acn-project/acn/internal/readlimit"
)

// debugSrcDir is where find-debuginfo puts the sources of debug
// information, one directory per build.
const debugSrcDir = "/usr/src/debug"

// sourceList is the name of debugedit's list of sources (-l), beside each
// file it edits.
const sourceList = "sources"

// maxSourceList bounds one list of sources read back from debugedit (which
// writes what the file's DWARF says, so hostile).
const maxSourceList = 16 << 20

// debugSources says how debugedit is run and where the sources its lists
// name are.
type debugSources struct {
	debugedit string // the tool; "" when it is not installed
	base      string // the build directory as the compiler saw it
	dest      string // what base becomes: /usr/src/debug/<n>-<v>-<r>.<arch>
	seed      string // the build-id seed: <version>-<release>
	tree      string // the build directory on disk; "" without build steps
}

// newDebugSources: build steps run in the tree at its sandbox path, or at
// its scratch path when the sandbox is off. Without build steps there is
// no build directory: debugedit still makes build-ids unique, and no
// source is collected.
func newDebugSources(name, version string, sc *scratch, o Options) debugSources {
	ds := debugSources{base: sandboxTree(name, version)}
	if sc != nil {
		ds.tree = sc.src
		if o.Sandbox == SandboxOff {
			ds.base = sc.src
		}
	}
	return ds
}

// generatedSource matches what compilers name as a source that is none,
// as find-debuginfo filters them: <built-in>, <internal>, ...
var generatedSource = regexp.MustCompile(`(^|/)<[a-z _-]+>$`)

// collectSources reads the lists debugedit wrote for the stripped files and
// returns the entries of the -debuginfo package for the sources they name,
// as find-debuginfo copies them (cpio -pdL from the build directory):
// regular files, links followed inside the build directory only, with
// their permission bits, in directories of mode 0755 under ds.dest. A
// named source that is gone, outside the tree, not a regular file or not
// a name a package can hold is left out, as cpio leaves out what it
// cannot copy. The files are copied into the strip scratch, so what is
// packed is what was collected.
func collectSources(sc *scratch, jobs []stripJob, ds debugSources) ([]entry, error) {
	names := map[string]bool{}
	for _, j := range jobs {
		b, err := readSourceList(sc.tmp, filepath.Join(j.rel, sourceList))
		if err != nil {
			return nil, fmt.Errorf("sources of %s: %w", j.e.origin, err)
		}
		for _, n := range bytes.Split(b, []byte{0}) {
			name := string(n)
			if name == "" || generatedSource.MatchString(name) {
				continue
			}
			rel := path.Clean(name)
			if !filepath.IsLocal(rel) || !packageable(ds.dest+"/"+rel) {
				continue
			}
			if len(names) >= MaxPackageFiles {
				return nil, fmt.Errorf("%w: debug information names more than %d sources", ErrTooLarge, MaxPackageFiles)
			}
			names[rel] = true
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	rels := make([]string, 0, len(names))
	for n := range names {
		rels = append(rels, n)
	}
	sort.Strings(rels)

	root, err := os.OpenRoot(ds.tree)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := filepath.Join(sc.root, "debug-sources")
	if err := os.Mkdir(out, 0o700); err != nil {
		return nil, err
	}
	dirs := map[string]bool{ds.dest: true}
	var ents []entry
	for i, rel := range rels {
		copyName := filepath.Join(out, strconv.Itoa(i))
		perm, ok, err := copySource(root, rel, copyName)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		e := entry{name: ds.dest + "/" + rel, mode: modeRegular | perm, owner: "root", group: "root",
			origin: "source " + rel + " named by debug information"}
		if err := replaceContent(&e, copyName); err != nil {
			return nil, err
		}
		ents = append(ents, e)
		for d := path.Dir(e.name); d != ds.dest && strings.HasPrefix(d, ds.dest+"/"); d = path.Dir(d) {
			dirs[d] = true
		}
	}
	if len(ents) == 0 {
		return nil, nil
	}
	for d := range dirs {
		ents = append(ents, dirEntry(d))
	}
	return ents, nil
}

// readSourceList reads debugedit's list rel under dir, which the build
// user could write: a regular file, not through a link, bounded.
func readSourceList(dir, rel string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Not through a link; O_NONBLOCK: a named pipe must not hang the build.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing under the build directory
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readlimit.File(f, maxSourceList)
	var tl *readlimit.TooLargeError
	switch {
	case errors.Is(err, readlimit.ErrNotRegular):
		return nil, fmt.Errorf("debugedit's list of sources is not a regular file")
	case errors.As(err, &tl):
		return nil, fmt.Errorf("%w: debugedit's list of sources is over %d bytes", ErrTooLarge, maxSourceList)
	}
	return b, err
}

// copySource copies the regular file rel of the build tree (links
// followed inside it) to dst and returns its permission bits; ok is false
// when there is no such file to copy.
func copySource(root *os.Root, rel, dst string) (perm uint32, ok bool, err error) {
	// O_NONBLOCK: a named pipe must not hang the build.
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, false, nil // gone, or outside the tree
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false, nil
	}
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(w, f)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, false, fmt.Errorf("copy the source %s: %w", rel, err)
	}
	return uint32(fi.Mode().Perm()), true, nil
}
