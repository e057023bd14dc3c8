package autodeps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
)

// File is one packaged path: absolute in the package ("/usr/bin/x") and
// its mode (type bits, permissions, setuid/setgid/sticky). rpm takes the
// executable bits it tests (for elfdeps, "exeonly" generators and
// libmagic) from the file in the build root and FILECOLORS from the
// packaged mode; autodeps uses this one mode for all, which agrees
// unless a spec's %attr changes a file's mode.
type File struct {
	Path string
	Mode fs.FileMode
}

// Options are the per-spec switches of rpm's generators. The zero value is
// rpmbuild's default: both kinds generated, nothing excluded, the x86_64
// directories.
type Options struct {
	NoAutoReq  bool // autoreq: false (rpm's AutoReq: no)
	NoAutoProv bool // autoprov: false (rpm's AutoProv: no)

	// RequiresExclude and ProvidesExclude drop generated dependencies whose
	// "NAME [OP VERSION]" string they match (%__requires_exclude,
	// %__provides_exclude). Matching is unanchored, as rpm's; compile the
	// spec's pattern with regexp.CompilePOSIX, the nearest Go has to the
	// POSIX extended regexes rpm uses (it lacks back-references).
	RequiresExclude, ProvidesExclude *regexp.Regexp
	// RequiresExcludeFrom and ProvidesExcludeFrom skip the files whose
	// packaged path they match (%__requires_exclude_from,
	// %__provides_exclude_from).
	RequiresExcludeFrom, ProvidesExcludeFrom *regexp.Regexp

	// LibDir, DataDir and BinDir are %{_libdir}, %{_datadir} and
	// %{_bindir}, which say where .pc files are looked for; defaults
	// /usr/lib64, /usr/share and /usr/bin.
	LibDir, DataDir, BinDir string
	// MacroDir is %{_rpmmacrodir}, where macro files provide
	// rpm_macro(NAME); default /usr/lib/rpm/macros.d.
	MacroDir string

	// MaxFileSize caps the size of an ELF object (default 1 GiB); a
	// larger one is an error. Memory for one object stays below its size.
	MaxFileSize int64
}

// maxMagicBytes is how much of a file libmagic 5.44 looks at.
const maxMagicBytes = 7 << 20

// maxMetaBytes caps a Python metadata file.
const maxMetaBytes = 16 << 20

// FileDeps is what rpmbuild records for one file.
type FileDeps struct {
	Path string
	// Provides and Requires are the file's dependencies in the order rpm
	// records them in DEPENDSDICT (versioned before unversioned, then in
	// generator order). Per-file lists may repeat a dependency, as rpm's
	// may.
	Provides, Requires []Dep
	Color              uint32 // FILECOLORS: 1 ELF32, 2 ELF64, 0 otherwise
	Class              string // FILECLASS text ("" for none)

	ordered []Dep // provides and requires in DEPENDSDICT order
}

// Result is the engine's answer for a package.
type Result struct {
	Files []FileDeps // in the order of the files passed to Analyze
	// Provides and Requires are the package's generated dependencies,
	// deduplicated and sorted as rpm sorts a dependency set.
	Provides, Requires []Dep
	HeaderColor        uint32 // HEADERCOLOR: OR of the file colors
	// RichDependencies reports a generated rich dependency ("(a with
	// b)"), for which rpmbuild adds rpmlib(RichDependencies) <= 4.12.0-1
	// to the package's requires.
	RichDependencies bool
}

var (
	elfMagicRe    = regexp.MustCompile(`^(setuid,? )?(setgid,? )?(sticky )?ELF (32|64)-bit.*$`)
	scriptMagicRe = regexp.MustCompile(`^.* script[, ].*$`)
	// perl.attr and perllib.attr.
	perlMagicRe    = regexp.MustCompile(`^.*[Pp]erl .*$`)
	perllibMagicRe = regexp.MustCompile(`^Perl[0-9] module source.*`)
)

type fileInfo struct {
	exec   bool
	head   []byte
	elf    *elfInfo
	magic  string
	dist   *distMeta
	isPC   bool
	pcData []byte
	gen    [][2]genOutput // per attribute: provides, requires
}

type genOutput struct {
	lines []string
	err   error
}

// Analyze computes the automatic dependencies, colors and classes of the
// files of one package. fsys is the package root (DESTDIR); give it an
// [os.Root]'s FS so that a symlink in the tree cannot lead outside it.
// Files are read according to the modes given; a file whose type in fsys
// differs from its given mode is an error. The error names the file.
func Analyze(ctx context.Context, fsys fs.FS, files []File, opts Options) (*Result, error) {
	a, err := NewAnalyzer(opts)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := a.Add(ctx, fsys, f); err != nil {
			return nil, err
		}
	}
	return a.Result()
}

// HeadSize is how many first bytes of a regular file [Analyzer.AddHead]
// takes: libmagic's text tests look no further, so for most files it is
// all the classifier and the generators need.
const HeadSize = encodingMax

// An Analyzer is [Analyze] one file at a time, for a caller that reads
// every file anyway (the builder, as it packs them): given a file's first
// bytes, it reads the file a second time only when it needs more of it.
// Memory holds one file's content at a time and the generators' output.
// An Analyzer is not safe for concurrent use; after an error it only
// returns that error.
type Analyzer struct {
	opts  Options
	pp    paths
	files []File
	res   *Result
	infos []fileInfo
	err   error
}

// NewAnalyzer returns an Analyzer for the files of one package, in the
// order the header lists them.
func NewAnalyzer(opts Options) (*Analyzer, error) {
	if opts.LibDir == "" {
		opts.LibDir = "/usr/lib64"
	}
	if opts.DataDir == "" {
		opts.DataDir = "/usr/share"
	}
	if opts.BinDir == "" {
		opts.BinDir = "/usr/bin"
	}
	if opts.MacroDir == "" {
		opts.MacroDir = "/usr/lib/rpm/macros.d"
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = 1 << 30
	}
	desktopPath, err := regexp.Compile(`^` + regexp.QuoteMeta(opts.DataDir) + `/applications/.*\.desktop$`)
	if err != nil {
		return nil, fmt.Errorf("autodeps: directories: %w", err)
	}
	metainfoPath, err := regexp.Compile(`^` + regexp.QuoteMeta(opts.DataDir) + `/(appdata|metainfo)/.*\.(appdata|metainfo)\.xml$`)
	if err != nil {
		return nil, fmt.Errorf("autodeps: directories: %w", err)
	}
	// %__rpm_macro_path puts %{_rpmmacrodir} into the pattern as it is.
	macroPath, err := regexp.Compile(opts.MacroDir + `/macros\..*`)
	if err != nil {
		return nil, fmt.Errorf("autodeps: macro directory: %w", err)
	}
	pcPath, err := regexp.Compile(`^((` + regexp.QuoteMeta(opts.LibDir) + `|` + regexp.QuoteMeta(opts.DataDir) + `)/pkgconfig/.*\.pc|` + regexp.QuoteMeta(opts.BinDir) + `/pkg-config)$`)
	if err != nil {
		return nil, fmt.Errorf("autodeps: directories: %w", err)
	}
	return &Analyzer{
		opts: opts,
		pp:   paths{desktop: desktopPath, metainfo: metainfoPath, macro: macroPath, pc: pcPath},
		res:  &Result{Files: []FileDeps{}},
	}, nil
}

// Add analyses the next file, reading it from fsys (the package root, as
// for [Analyze]).
func (a *Analyzer) Add(ctx context.Context, fsys fs.FS, f File) error {
	return a.add(ctx, fsys, f, nil, -1)
}

// AddHead analyses the next file, a regular file of size bytes whose
// first min(size, [HeadSize]) bytes are head. It reads the file from fsys
// only when it needs more than head: an ELF object or gzip data, a file
// whose generator reads it whole (Perl, .pc, .desktop, macro and
// egg-info files), or a script whose first line head does not end.
func (a *Analyzer) AddHead(ctx context.Context, fsys fs.FS, f File, head []byte, size int64) error {
	if !f.Mode.IsRegular() || size < 0 || int64(len(head)) != min(size, HeadSize) {
		return a.fail(&FileError{Path: f.Path, Err: fmt.Errorf("%d first bytes given for a file of %d bytes (mode %v)", len(head), size, f.Mode)})
	}
	if head == nil {
		head = []byte{} // an empty file: nil would mean "read it"
	}
	return a.add(ctx, fsys, f, head, size)
}

func (a *Analyzer) fail(err error) error {
	if a.err == nil {
		a.err = err
	}
	return a.err
}

// add analyses f; head is nil and size -1 when f is to be read from fsys.
func (a *Analyzer) add(ctx context.Context, fsys fs.FS, f File, head []byte, size int64) error {
	if a.err != nil {
		return a.err
	}
	if err := ctx.Err(); err != nil {
		return a.fail(fmt.Errorf("autodeps: %w", err))
	}
	opts := a.opts
	info, err := a.readFile(fsys, f, head, size)
	if err != nil {
		return a.fail(&FileError{Path: f.Path, Err: err})
	}
	fd := FileDeps{Path: f.Path, Class: Classify(info.magic)}
	if f.Mode.IsRegular() && info.exec {
		fd.Color = elfColor(info.head)
	}
	a.res.HeaderColor |= fd.Color
	// Run the generators now and keep only their output, so that memory
	// holds one file's content at a time.
	info.gen = make([][2]genOutput, len(attrs))
	for ai, attr := range attrs {
		for si, provides := range []bool{true, false} {
			if provides && opts.NoAutoProv || !provides && opts.NoAutoReq {
				continue
			}
			lines, err := generate(attr, provides, f, &info, a.pp)
			info.gen[ai][si] = genOutput{lines, err}
		}
	}
	info.head, info.pcData, info.elf, info.dist = nil, nil, nil, nil
	a.files = append(a.files, f)
	a.res.Files = append(a.res.Files, fd)
	a.infos = append(a.infos, info)
	return nil
}

// Result is the answer for the files added; call it once, after the last.
func (a *Analyzer) Result() (*Result, error) {
	if a.err != nil {
		return nil, a.err
	}
	opts, files, infos, res := a.opts, a.files, a.infos, a.res
	type fileDep struct {
		ix  int
		dep Dep
	}
	var all []fileDep
	add := func(ix int, lines []string, sense Sense, exclude *regexp.Regexp) error {
		deps, err := parseDepLines(lines, sense)
		if err != nil {
			return &FileError{Path: files[ix].Path, Err: err}
		}
		for _, d := range deps {
			if exclude != nil && exclude.MatchString(d.String()) {
				continue
			}
			all = append(all, fileDep{ix, d})
		}
		return nil
	}
	for _, provides := range []bool{true, false} {
		if provides && opts.NoAutoProv || !provides && opts.NoAutoReq {
			continue
		}
		sense, exclude, excludeFrom := SenseFindRequires, opts.RequiresExclude, opts.RequiresExcludeFrom
		if provides {
			sense, exclude, excludeFrom = SenseFindProvides, opts.ProvidesExclude, opts.ProvidesExcludeFrom
		}
		skip := func(ix int) bool { return excludeFrom != nil && excludeFrom.MatchString(files[ix].Path) }
		// rpm runs the generators attribute by attribute, in the sorted
		// order of their fileattrs files, each over the files in order.
		senseIdx := 1
		if provides {
			senseIdx = 0
		}
		for ai := range attrs {
			for ix, f := range files {
				if skip(ix) {
					continue
				}
				out := infos[ix].gen[ai][senseIdx]
				if out.err != nil {
					return nil, &FileError{Path: f.Path, Err: out.err}
				}
				if err := add(ix, out.lines, sense, exclude); err != nil {
					return nil, err
				}
			}
		}
	}

	// rpm's rpmfcNormalizeFDeps: versioned first; an unversioned requires
	// is dropped when a versioned one of the same name exists on a file of
	// the same color.
	slices.SortStableFunc(all, func(a, b fileDep) int {
		return boolInt(b.dep.versioned()) - boolInt(a.dep.versioned())
	})
	seen := map[string]bool{}
	kept := all[:0]
	for _, fd := range all {
		if fd.dep.Flags&SenseFindRequires != 0 {
			key := fmt.Sprintf("%08x_R_%s", res.Files[fd.ix].Color, fd.dep.Name)
			if fd.dep.versioned() {
				seen[key] = true
			} else if seen[key] {
				continue
			}
		}
		kept = append(kept, fd)
	}
	slices.SortStableFunc(kept, func(a, b fileDep) int { return a.ix - b.ix })
	var reqs, provs []Dep
	for _, fd := range kept {
		f := &res.Files[fd.ix]
		f.ordered = append(f.ordered, fd.dep)
		if fd.dep.Flags&SenseFindProvides != 0 {
			f.Provides = append(f.Provides, fd.dep)
			provs = append(provs, fd.dep)
		} else {
			f.Requires = append(f.Requires, fd.dep)
			reqs = append(reqs, fd.dep)
		}
	}
	res.Provides, res.Requires = mergeDeps(provs), mergeDeps(reqs)
	for _, d := range res.Requires {
		if strings.HasPrefix(d.Name, "(") {
			res.RichDependencies = true
		}
	}
	return res, nil
}

// attrs are rpm 4.18's file attributes autodeps reproduces, in the
// order rpm applies them (the sorted names of their fileattrs files).
var attrs = []string{"debuginfo", "desktop", "elf", "metainfo", "perl", "perllib", "pkgconfig", "python", "pythondist", "rpm_macro", "script"}

// paths are the path patterns that depend on Options.
type paths struct {
	desktop, metainfo, macro, pc *regexp.Regexp
}

// generate is one generator's output lines for one file.
func generate(attr string, provides bool, f File, info *fileInfo, pp paths) (lines []string, err error) {
	desktopPath, metainfoPath, macroPath, pcPath := pp.desktop, pp.metainfo, pp.macro, pp.pc
	switch attr {
	case "debuginfo":
		if provides {
			lines = debuginfoProvides(f.Path)
		}
	case "desktop":
		if provides && desktopPath.MatchString(f.Path) && f.Mode.IsRegular() {
			lines = desktopProvides(f.Path, info.head)
		}
	case "metainfo":
		if provides && metainfoPath.MatchString(f.Path) {
			lines = metainfoProvides(f.Path)
		}
	case "elf":
		if info.elf == nil {
			return nil, nil
		}
		lines = info.elf.requires
		if provides {
			lines = info.elf.provides
		}
	case "perl":
		if !provides && info.exec && perlMagicRe.MatchString(info.magic) {
			lines = perlRequires(info.head)
		}
	case "perllib":
		if !strings.HasSuffix(f.Path, ".pm") || !perllibMagicRe.MatchString(info.magic) {
			return nil, nil
		}
		if !provides {
			lines = perlRequires(info.head)
			break
		}
		lines = perlProvides(info.head)
	case "pkgconfig":
		if !pcPath.MatchString(f.Path) || !info.isPC {
			return nil, nil
		}
		pc, ok := parsePC(f.Path, info.pcData)
		if provides {
			if ok {
				lines = pcDepLines(pc.provides)
			}
		} else {
			lines = []string{"/usr/bin/pkg-config"}
			if ok {
				lines = append(lines, pcDepLines(pc.requires)...)
			}
		}
	case "python":
		lines = pythonABI(f.Path, provides)
	case "pythondist":
		if info.dist == nil {
			return nil, nil
		}
		prov, req, err := pythonDist(f.Path, *info.dist)
		if err != nil {
			return nil, err
		}
		lines = req
		if provides {
			lines = prov
		}
	case "rpm_macro":
		if provides && f.Mode.IsRegular() && macroPath.MatchString(f.Path) {
			lines = rpmMacroProvides(info.head)
		}
	case "script":
		if provides || !info.exec || !scriptMagicRe.MatchString(info.magic) {
			return nil, nil
		}
		lines = scriptRequires(info.head)
	}
	return lines, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FileError is an error about one packaged path: a file, or the
// directory a Python distribution's metadata are in. Every error of
// Analyze and of an Analyzer about a file is one.
type FileError struct {
	Path string // as packaged, e.g. /usr/bin/x
	Err  error
}

// Error is "autodeps: PATH: " and the error's message, without its own
// "autodeps: " prefix.
func (e *FileError) Error() string {
	if pe, ok := e.Err.(*PythonError); ok && pe.Path == e.Path {
		return "autodeps: " + e.Path + ": python metadata: " + pe.Reason
	}
	return "autodeps: " + e.Path + ": " + strings.TrimPrefix(e.Err.Error(), "autodeps: ")
}

func (e *FileError) Unwrap() error { return e.Err }

// ErrTypeMismatch is a file whose type in the tree is not the one given.
var ErrTypeMismatch = errors.New("autodeps: file type in tree differs from its packaged mode")

// openRegular opens a regular file, checking its type first: opening a
// FIFO a build step left where a file was expected would block.
func openRegular(fsys fs.FS, name string) (fs.File, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, ErrTypeMismatch
	}
	fh, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return fh, nil
}

// readFile reads what the classifier and the generators need of f: a
// regular file's first HeadSize bytes (head, when not nil, of a file of
// size bytes) and, for the files that need more (needsAll), up to
// maxMagicBytes, and all of an ELF object.
func (a *Analyzer) readFile(fsys fs.FS, f File, head []byte, size int64) (fileInfo, error) {
	var info fileInfo
	opts := a.opts
	rel := strings.TrimPrefix(f.Path, "/")
	if rel == "" {
		rel = "."
	}
	info.exec = f.Mode.IsRegular() && f.Mode.Perm()&0o111 != 0
	if f.Mode.IsDir() && pythondistPath.MatchString(f.Path) {
		d, err := readDist(fsys, rel, f.Path)
		if err != nil {
			return info, err
		}
		info.dist = d
	}
	if !f.Mode.IsRegular() {
		info.magic = magicType(f.Path, f.Mode, nil, "")
		return info, nil
	}
	var fh fs.File // open when the file was read here, past head
	open := func() error {
		h, err := openRegular(fsys, rel)
		if err != nil {
			return err
		}
		st, err := h.Stat()
		if err != nil {
			h.Close()
			return fmt.Errorf("stat: %w", err)
		}
		if !st.Mode().IsRegular() {
			h.Close()
			return ErrTypeMismatch
		}
		fh, size = h, st.Size()
		return nil
	}
	defer func() {
		if fh != nil {
			fh.Close()
		}
	}()
	if head == nil {
		if err := open(); err != nil {
			return info, err
		}
		b, err := io.ReadAll(io.LimitReader(fh, HeadSize))
		if err != nil {
			return info, fmt.Errorf("read: %w", err)
		}
		head = b
	}
	if int64(len(head)) < size && a.needsAll(f, info.exec, head) {
		if fh == nil {
			if err := open(); err != nil {
				return info, err
			}
			head = head[:0:0]
		}
		rest, err := io.ReadAll(io.LimitReader(fh, maxMagicBytes-int64(len(head))))
		if err != nil {
			return info, fmt.Errorf("read: %w", err)
		}
		head = append(head[:len(head):len(head)], rest...)
	}
	info.head = head
	if strings.HasSuffix(f.Path, ".egg-info") && pythondistPath.MatchString(f.Path) {
		info.dist = &distMeta{metadata: string(head), egg: true}
	}
	if a.pp.pc.MatchString(f.Path) && strings.HasSuffix(f.Path, ".pc") {
		info.isPC, info.pcData = true, head
	}
	elfDesc := ""
	if isELFMagic(head) {
		if size > opts.MaxFileSize {
			return info, fmt.Errorf("ELF object of %d bytes exceeds the %d-byte cap", size, opts.MaxFileSize)
		}
		var r io.ReaderAt
		if ra, ok := fh.(io.ReaderAt); ok {
			r = ra
		} else {
			all := head
			if fh != nil {
				rest, err := io.ReadAll(io.LimitReader(fh, opts.MaxFileSize-int64(len(head))))
				if err != nil {
					return info, fmt.Errorf("read: %w", err)
				}
				all = append(head[:len(head):len(head)], rest...)
			}
			r, size = bytes.NewReader(all), int64(len(all))
		}
		base := f.Path[strings.LastIndexByte(f.Path, '/')+1:]
		if ei, err := analyzeELF(r, size, info.exec, base); err == nil {
			info.elf = ei
		}
		elfDesc = elfMagic(r, size, f.Mode)
	}
	info.magic = magicType(f.Path, f.Mode, head, elfDesc)
	if info.elf != nil && !elfMagicRe.MatchString(info.magic) {
		info.elf = nil
	}
	return info, nil
}

// needsAll reports whether a regular file whose first HeadSize bytes are
// head needs more of its content read than that: its type comes from
// more (ELF objects, gzip data) or a generator reads it whole. What needs
// only head is what libmagic's text tests look at, the type's start, and
// a script's first line.
func (a *Analyzer) needsAll(f File, exec bool, head []byte) bool {
	if isELFMagic(head) || len(head) >= 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8 {
		return true
	}
	p := f.Path
	switch {
	case strings.HasSuffix(p, ".pm"),
		strings.HasSuffix(p, ".egg-info") && pythondistPath.MatchString(p),
		strings.HasSuffix(p, ".pc") && a.pp.pc.MatchString(p),
		a.pp.desktop.MatchString(p),
		a.pp.macro.MatchString(p):
		return true
	case !exec:
		return false
	}
	magic := magicType(p, f.Mode, head, "")
	return perlMagicRe.MatchString(magic) || scriptMagicRe.MatchString(magic) && indexNL(head) < 0
}

func readDist(fsys fs.FS, rel, p string) (*distMeta, error) {
	read := func(name string) (string, error) {
		fh, err := openRegular(fsys, rel+"/"+name)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		defer fh.Close()
		b, err := io.ReadAll(io.LimitReader(fh, maxMetaBytes))
		if err != nil {
			return "", fmt.Errorf("read %s: %w", name, err)
		}
		return string(b), nil
	}
	var d distMeta
	var err error
	switch {
	case strings.HasSuffix(p, ".dist-info"):
		d.metadata, err = read("METADATA")
	case strings.HasSuffix(p, ".egg-info"):
		d.egg = true
		if d.metadata, err = read("PKG-INFO"); err == nil {
			if d.requiresTxt, err = read("requires.txt"); err == nil {
				d.entryPoints, err = read("entry_points.txt")
			}
		}
	default:
		return nil, nil // egg-link: not handled
	}
	if err != nil {
		return nil, err
	}
	if d.metadata == "" {
		return nil, &PythonError{Path: p, Reason: "metadata are missing or corrupted"}
	}
	return &d, nil
}

// ClassDict gives rpm's CLASSDICT (distinct classes in order of first
// use) and FILECLASS (each file's index into it). It follows the order of
// the files given to Analyze, which must be the header's (rpm sorts the
// paths) for the dictionary to be rpmbuild's.
func (r *Result) ClassDict() (dict []string, index []uint32) {
	pos := map[string]uint32{}
	for _, f := range r.Files {
		i, ok := pos[f.Class]
		if !ok {
			i = uint32(len(dict))
			pos[f.Class] = i
			dict = append(dict, f.Class)
		}
		index = append(index, i)
	}
	return dict, index
}

// DependsDict gives rpm's DEPENDSDICT, FILEDEPENDSX and FILEDEPENDSN for
// the package whose final REQUIRE* and PROVIDE* arrays are requires and
// provides (which must contain the generated dependencies; manual ones
// may be mixed in). rpmbuild 4.18 computes these indexes before it adds
// rpmlib(RichDependencies), so to write the bytes it writes, pass the
// requires without that entry; its own --filerequire output is then off by
// one for names sorting after it. When no file has a dependency all three are nil, and
// rpm writes none of the tags. Each DEPENDSDICT entry is 'R' or 'P' in the top byte
// and the index into that array below.
func (r *Result) DependsDict(requires, provides []Dep) (dict, x, n []uint32, err error) {
	type key struct {
		name, version string
		sense         Sense
	}
	index := func(list []Dep) map[key]int {
		m := make(map[key]int, len(list))
		for i := len(list) - 1; i >= 0; i-- {
			d := list[i]
			m[key{d.Name, d.Version, d.Flags & senseMask}] = i
		}
		return m
	}
	reqIndex, provIndex := index(requires), index(provides)
	find := func(m map[key]int, d Dep) int {
		if i, ok := m[key{d.Name, d.Version, d.Flags & senseMask}]; ok {
			return i
		}
		return -1
	}
	for _, f := range r.Files {
		start := uint32(len(dict))
		for _, d := range f.ordered {
			list, tag := reqIndex, uint32('R')
			if d.Flags&SenseFindProvides != 0 {
				list, tag = provIndex, 'P'
			}
			i := find(list, d)
			if i < 0 {
				return nil, nil, nil, &FileError{Path: f.Path, Err: fmt.Errorf("dependency %s is not in the package's list", quote(d.String()))}
			}
			dict = append(dict, tag<<24|uint32(i)&0xffffff)
		}
		cnt := uint32(len(dict)) - start
		if cnt == 0 {
			start = 0
		}
		x, n = append(x, start), append(n, cnt)
	}
	if len(dict) == 0 {
		return nil, nil, nil, nil // rpm then writes none of the three tags
	}
	return dict, x, n, nil
}
