package builder

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/acn-project/acn/specs"
)

// Debug information, split as rpmbuild's find-debuginfo splits it (with
// rpm 4.18's defaults: _build_id_links compat, _unique_debug_names).
//
// Every packaged regular file with an execute bit that is an ELF
// executable or shared library with a symbol table or debug sections is
// copied out of the tree and stripped with elfutils' eu-strip
// (--remove-comment -f), as find-debuginfo does: the package gets the
// stripped copy, with a .gnu_debuglink to its debug file
// /usr/lib/debug/<path>-<version>-<release>.<arch>.debug. A file with a
// GNU build-id also gets the links rpmbuild writes:
//
//	/usr/lib/.build-id/xx/yyyy -> ../../../../<path>             (its own package)
//	/usr/lib/debug/.build-id/xx/yyyy.debug -> the debug file      (-debuginfo)
//	/usr/lib/debug/.build-id/xx/yyyy -> ../../../.build-id/xx/yyyy (-debuginfo)
//
// and the -debuginfo package provides debuginfo(build-id) = xxyyyy.
// Without stripping (debuginfo: false, a noarch spec, a file without
// symbols) a file with a build-id still gets its /usr/lib/.build-id link,
// as rpmbuild's do.
// Before it is stripped, each file goes through debugedit as
// find-debuginfo runs it (rpm 4.18's defaults: _unique_build_ids,
// _unique_debug_srcs): paths under the build directory in its DWARF are
// rewritten to /usr/src/debug/<name>-<version>-<release>.<arch>, its
// build-id is recomputed with <version>-<release> as seed (so that two
// versions of one binary do not share a build-id), and the sources its
// DWARF names under the build directory are copied from the build tree
// into the -debuginfo package at that path, so that gdb lists them.
// Without debugedit on the host, this step is left out with a warning:
// build-ids stay as the linker wrote them and no sources are collected.
//
// The files stripped are what build steps installed, so hostile: each is
// read with debug/elf (recovering from a panic), eu-strip runs on copies
// in a scratch directory of their own, in the build-step sandbox (unless
// it is off) with a time limit, what it leaves is taken out without
// following links, and a file eu-strip cannot process fails the build,
// naming it.

// StripTimeout bounds eu-strip on all files of one build.
const StripTimeout = 5 * time.Minute

// Paths of the build-id link trees, as rpmbuild writes them.
const (
	buildIDDir      = "/usr/lib/.build-id"
	debugDir        = "/usr/lib/debug"
	debugBuildIDDir = "/usr/lib/debug/.build-id"
)

// maxBuildID bounds the build-id note read (GNU ld writes 20 bytes).
const maxBuildID = 64

// stripJob is one ELF file of a package: the entry, where its copy is,
// and whether it is stripped.
type stripJob struct {
	e         *entry
	pkg       int    // index of the package e is in
	rel       string // directory of the copy under the strip scratch's tmp
	strip     bool
	debugName string
	buildID   string // of the file as packaged
}

// splitDebuginfo adds the build-id links of every package's ELF files and,
// when the spec has debuginfo on and is not noarch, strips them and
// appends the -debuginfo package. The stripped files are in a scratch
// directory that remove, which is never nil, removes once the packages
// are written.
func splitDebuginfo(ctx context.Context, spec *specs.Spec, pkgs []pkg, o Options, ds debugSources) (_ []pkg, remove func(), err error) {
	var sc *scratch
	cleanup := func() {
		if sc != nil && !o.KeepScratch {
			sc.remove()
		}
	}
	defer func() {
		if err != nil {
			cleanup() // remove is nil here
		}
	}()
	split := spec.Debuginfo && spec.Arch != "noarch"
	var jobs, strip []stripJob
	n := 0
	for pi := range pkgs {
		p := &pkgs[pi]
		for i := range p.ents {
			e := &p.ents[i]
			if !elfCandidate(e) {
				continue
			}
			if sc == nil {
				var err error
				if sc, err = newScratch(o.ScratchDir, o.KeepScratch); err != nil {
					return nil, nil, fmt.Errorf("scratch directory: %w", err)
				}
				if err := os.Mkdir(sc.src, 0o755); err != nil { // where eu-strip runs
					return nil, nil, err
				}
			}
			n++
			rel := strconv.Itoa(n)
			fdir := filepath.Join(sc.tmp, rel)
			if err := os.Mkdir(fdir, 0o700); err != nil {
				return nil, nil, err
			}
			bin := filepath.Join(fdir, "file")
			isELF, err := copyIfELF(e, bin)
			if err != nil {
				return nil, nil, err
			}
			if !isELF {
				os.RemoveAll(fdir)
				continue
			}
			j := stripJob{e: e, pkg: pi, rel: rel,
				debugName: path.Base(e.name) + "-" + spec.Version + "-" + spec.Release + "." + spec.Arch + ".debug"}
			if split {
				j.strip, _ = hasDebug(bin)
			}
			if !j.strip {
				// Read before any copy is handed to the build user.
				if j.buildID, err = buildID(bin); err != nil {
					os.RemoveAll(fdir)
					continue // not an ELF file debug/elf reads: no link, as rpmbuild
				}
			}
			jobs = append(jobs, j)
			if j.strip {
				strip = append(strip, j)
			}
		}
	}
	if len(strip) > 0 {
		if err := os.Mkdir(filepath.Join(sc.root, "stripped"), 0o700); err != nil { // the build user cannot write here
			return nil, nil, err
		}
		ds.dest = debugSrcDir + "/" + spec.Name + "-" + spec.Version + "-" + spec.Release + "." + spec.Arch
		ds.seed = spec.Version + "-" + spec.Release
		if ds.debugedit, err = lookTool("debugedit"); err != nil {
			ds.debugedit = ""
			o.Logger.Warn("debugedit not found (install debugedit): build-ids are not made unique and sources are not put into the debuginfo package", "package", spec.Name)
		}
		if err := stripAll(ctx, sc, strip, o, ds); err != nil {
			return nil, nil, err
		}
	}

	var dbg []entry
	dbgDirs := map[string]bool{}
	var provides []specs.Dep
	usedLinks := map[string]bool{}
	links := make([][]entry, len(pkgs))
	for _, j := range jobs {
		e := j.e
		var debugPath string
		if j.strip {
			bin := filepath.Join(sc.root, "stripped", j.rel+".bin")
			debugFile := filepath.Join(sc.root, "stripped", j.rel+".debug")
			if err := takeOut(sc.tmp, filepath.Join(j.rel, "file"), bin); err != nil {
				return nil, nil, fmt.Errorf("strip %s: %w", e.origin, err)
			}
			if err := takeOut(sc.tmp, filepath.Join(j.rel, j.debugName), debugFile); err != nil {
				return nil, nil, fmt.Errorf("strip %s: %w", e.origin, err)
			}
			if err := replaceContent(e, bin); err != nil {
				return nil, nil, err
			}
			debugPath = path.Join(debugDir, path.Dir(e.name), j.debugName)
			de := entry{name: debugPath, mode: modeRegular | 0o444, owner: "root", group: "root", origin: "debug information of " + e.origin}
			if err := replaceContent(&de, debugFile); err != nil {
				return nil, nil, err
			}
			dbg = append(dbg, de)
			for d := path.Dir(debugPath); d != "/usr/lib"; d = path.Dir(d) {
				dbgDirs[d] = true
			}
			id, err := buildID(bin)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: build-id: %w", e.origin, err)
			}
			j.buildID = id
		}
		id := j.buildID
		if id == "" {
			continue
		}
		// Files with the same build-id get .1, .2, ... as rpmbuild's.
		link := id[:2] + "/" + id[2:]
		for k := 1; usedLinks[link]; k++ {
			link = id[:2] + "/" + id[2:] + "." + strconv.Itoa(k)
		}
		usedLinks[link] = true
		xx := id[:2]
		links[j.pkg] = append(links[j.pkg],
			dirEntry(buildIDDir), dirEntry(buildIDDir+"/"+xx),
			linkEntry(buildIDDir+"/"+link, "../../../.."+e.name))
		if !j.strip {
			continue
		}
		dbgDirs[debugBuildIDDir], dbgDirs[debugBuildIDDir+"/"+xx] = true, true
		dbg = append(dbg,
			linkEntry(debugBuildIDDir+"/"+link+".debug", "../../../../.."+debugPath),
			linkEntry(debugBuildIDDir+"/"+link, "../../../.build-id/"+link))
		if !strings.Contains(link, ".") { // one provide per build-id
			provides = append(provides, specs.Dep{Name: "debuginfo(build-id)", Op: "=", Version: id})
		}
	}
	for pi := range pkgs {
		pkgs[pi].ents = mergeEntries(pkgs[pi].ents, links[pi])
	}
	if len(dbg) > 0 && ds.debugedit != "" && ds.tree != "" {
		srcs, err := collectSources(sc, strip, ds)
		if err != nil {
			return nil, nil, err
		}
		dbg = append(dbg, srcs...)
	}
	if len(dbg) == 0 {
		return pkgs, cleanup, nil
	}
	for d := range dbgDirs {
		dbg = append(dbg, dirEntry(d))
	}
	if len(dbg) > MaxPackageFiles {
		return nil, nil, specs.Errorf(ErrTooLarge, "%s%s would have %d paths, more than %d", spec.Name, specs.DebuginfoSuffix, len(dbg), MaxPackageFiles)
	}
	return append(pkgs, pkg{spec: debuginfoSpec(spec, provides), ents: mergeEntries(nil, dbg)}), cleanup, nil
}

// stripAll runs eu-strip on every job's copy, in the sandbox unless it is
// off: the files are what build steps made, and eu-strip parses them.
func stripAll(ctx context.Context, sc *scratch, jobs []stripJob, o Options, ds debugSources) error {
	tool, err := lookTool("eu-strip")
	if err != nil {
		return ErrNoStrip
	}
	ctx, cancel := context.WithTimeout(ctx, StripTimeout)
	defer cancel()
	dir := sc.tmp
	if o.Sandbox != SandboxOff {
		dir = sandboxTmp
	}
	// One shell for all files: the tools and debugedit's arguments, then
	// triples of (file, debug file, debugedit's source list).
	argv := []string{"sh", "-c", `strip=$1 dbe=$2 base=$3 dest=$4 seed=$5; shift 5
while [ $# -gt 0 ]; do
  if [ -n "$dbe" ]; then
    "$dbe" -b "$base" -d "$dest" -i --build-id-seed="$seed" -l "$3" "$1" >/dev/null || { echo "acn: debugedit failed on $1"; exit 1; }
  fi
  "$strip" --remove-comment -f "$2" "$1" || { echo "acn: eu-strip failed on $1"; exit 1; }
  shift 3
done`, "strip", tool, ds.debugedit, ds.base, ds.dest, ds.seed}
	for _, j := range jobs {
		argv = append(argv, path.Join(dir, j.rel, "file"), path.Join(dir, j.rel, j.debugName), path.Join(dir, j.rel, sourceList))
	}
	sandboxed := false
	if o.Sandbox != SandboxOff {
		sb, err := newSandbox(o.User, false, o.Hide, "")
		if err != nil {
			return err
		}
		if err := sb.handOver(sc); err != nil {
			return fmt.Errorf("give the files to strip to the build user: %w", err)
		}
		if sb.user != nil {
			err := filepath.WalkDir(sc.tmp, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, sb.user.uid, sb.user.gid)
			})
			if err != nil {
				return fmt.Errorf("give the files to strip to the build user: %w", err)
			}
		}
		argv = append([]string{sb.bwrap}, sb.command(sc, path.Join(sandboxBuild, "strip"), argv...)...)
		sandboxed = true
	}
	var out bytes.Buffer
	lw := &logCap{w: &out, left: 4 << 10, limit: 4 << 10}
	if err := runStep(ctx, argv, sc, []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}, lw, sandboxed); err != nil {
		msg := strings.TrimSpace(out.String())
		for _, j := range jobs {
			if strings.Contains(msg, " failed on "+path.Join(dir, j.rel, "file")) {
				return fmt.Errorf("strip %s: %w: %s", j.e.origin, err, msg)
			}
		}
		return fmt.Errorf("strip: %w: %s", err, msg)
	}
	return nil
}

// lookTool finds a tool in $PATH by a path the sandbox sees: it has the
// host's /usr (and /bin, /sbin), not a link to them from elsewhere, which
// is followed (a tool in the system directories is called by its name
// there, for multi-call binaries).
func lookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	for _, d := range []string{"/usr/", "/bin/", "/sbin/"} {
		if strings.HasPrefix(p, d) {
			return p, nil
		}
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return p, nil
}

// takeOut copies rel, a regular file under dir (which the build user
// could write), to dst. A symbolic link is refused and os.Root keeps
// every lookup inside dir.
func takeOut(dir, rel, dst string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file after eu-strip", rel)
	}
	in, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, in)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// debuginfoSpec describes the -debuginfo package as rpm's
// %_debuginfo_template does. That template also says AutoReq: 0 and
// AutoProv: 1: automatic dependencies, once computed, give this package
// provides only (rpm's debuginfo.attr then yields the same
// debuginfo(build-id) provides as these).
func debuginfoSpec(spec *specs.Spec, provides []specs.Dep) *specs.Spec {
	s := *spec
	s.Name = spec.Name + specs.DebuginfoSuffix
	s.Summary = "Debug information for package " + spec.Name
	s.Description = "This package provides debug information for package " + spec.Name + ".\n" +
		"Debug information is useful when developing applications that use this\n" +
		"package or when debugging this package."
	s.Group = "Development/Debug"
	s.Requires, s.Conflicts, s.Obsoletes = nil, nil, nil
	s.Recommends, s.Suggests, s.Supplements, s.Enhances = nil, nil, nil, nil
	s.Provides = provides
	s.Files, s.Scripts, s.Packages = nil, specs.Scripts{}, nil
	s.Sources, s.Build, s.BuildRequires, s.Env = nil, nil, nil, nil
	return &s
}

// elfCandidate reports whether find-debuginfo and rpmbuild's build-id
// links would look at e: a regular file with content and an execute bit,
// outside /usr/lib/debug.
func elfCandidate(e *entry) bool {
	return e.mode&0o170000 == modeRegular && e.open != nil && !e.isGhost() && e.mode&0o111 != 0 &&
		e.size >= 4 && !strings.HasPrefix(e.name, debugDir+"/")
}

// copyIfELF copies e's content to dst when it starts with the ELF magic.
func copyIfELF(e *entry, dst string) (bool, error) {
	r, err := e.open()
	if err != nil {
		return false, fmt.Errorf("read %s: %w", e.origin, err)
	}
	defer r.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil {
		return false, fmt.Errorf("read %s: %w", e.origin, err)
	}
	if string(magic) != elf.ELFMAG {
		return false, nil
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	n, err := io.Copy(f, io.MultiReader(bytes.NewReader(magic), io.LimitReader(r, e.size-4+1)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("copy %s: %w", e.origin, err)
	}
	if n != e.size {
		return false, fmt.Errorf("read %s: size changed while packing (%d bytes, expected %d)", e.origin, n, e.size)
	}
	return true, nil
}

// hasDebug reports whether the file is an ELF executable or shared
// library with a symbol table or debug sections: what file(1) calls "not
// stripped", the files find-debuginfo processes. A file debug/elf cannot
// read is left alone.
func hasDebug(name string) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("read ELF: %v", r)
		}
	}()
	f, err := elf.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return false, nil
	}
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			return true, nil
		}
	}
	return false, nil
}

// buildID returns the GNU build-id note of an ELF file in hex, or "".
func buildID(name string) (id string, err error) {
	defer func() {
		if r := recover(); r != nil {
			id, err = "", fmt.Errorf("read ELF: %v", r)
		}
	}()
	f, err := elf.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE || s.Size > 1<<16 {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(s.Open(), 1<<16))
		if err != nil {
			return "", err
		}
		if id := gnuBuildID(b, f.ByteOrder); id != "" {
			return id, nil
		}
	}
	return "", nil
}

// gnuBuildID finds an NT_GNU_BUILD_ID note of owner "GNU" in a note
// section's bytes.
func gnuBuildID(b []byte, bo binary.ByteOrder) string {
	const ntGNUBuildID = 3
	align := func(n uint32) uint64 { return (uint64(n) + 3) &^ 3 }
	for len(b) >= 12 {
		namesz, descsz, typ := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		nl, dl := align(namesz), align(descsz)
		if nl > uint64(len(b)) || dl > uint64(len(b))-nl {
			return ""
		}
		name, desc := b[:namesz], b[nl:nl+uint64(descsz)]
		b = b[nl+dl:]
		if typ == ntGNUBuildID && string(bytes.TrimRight(name, "\x00")) == "GNU" && len(desc) >= 2 && len(desc) <= maxBuildID {
			return hex.EncodeToString(desc)
		}
	}
	return ""
}

// ErrNoStrip is wrapped when an ELF file needs stripping and eu-strip
// is not installed.
var ErrNoStrip = errors.New("builder: eu-strip not found (install elfutils, or set debuginfo: false in the spec)")

// replaceContent makes e pack the file at name.
func replaceContent(e *entry, name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	e.size = fi.Size()
	e.open = func() (io.ReadCloser, error) { return os.Open(name) }
	return nil
}

func dirEntry(name string) entry {
	return entry{name: name, mode: modeDir | 0o755, owner: "root", group: "root", origin: name}
}

func linkEntry(name, target string) entry {
	return entry{name: name, mode: modeSymlink | 0o777, owner: "root", group: "root", link: target, origin: name}
}

// mergeEntries adds generated entries to a package's, a directory the
// package already has (or that was added twice) only once, and sorts
// them by name.
func mergeEntries(ents, add []entry) []entry {
	have := make(map[string]bool, len(ents))
	for _, e := range ents {
		have[e.name] = true
	}
	for _, e := range add {
		if have[e.name] {
			continue
		}
		have[e.name] = true
		ents = append(ents, e)
	}
	sortEntries(ents)
	return ents
}
