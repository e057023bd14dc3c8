package autodeps

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"strings"
)

// ELF constants debug/elf does not name or names under other types.
const (
	emFakeAlpha  = 0x9026
	dtGNUHash    = 0x6ffffef5
	dtFlags1     = 0x6ffffffb
	df1PIE       = 0x08000000
	ntGNUABITag  = 1
	ntGNUBuildID = 3

	// maxELFSteps bounds the work of the version-section walks: rpm's
	// elfdeps loops as many times as a hostile header says (up to 2^32).
	maxELFSteps = 1 << 16
	// maxELFDeps bounds the dependencies one object yields.
	maxELFDeps = 1 << 12
	// maxStringLen bounds one string taken from a string table; with
	// maxELFDeps it bounds the memory of one object's dependencies (16 MiB).
	maxStringLen = 1 << 12
	// maxSectionBytes bounds one dynamic, version or string section read.
	maxSectionBytes = 256 << 20
)

// elfInfo is what autodeps reads from one ELF object.
type elfInfo struct {
	class64  bool
	requires []string // elfdeps --requires output, in its order
	provides []string // elfdeps --provides output, in its order
}

// isELFMagic reports whether libmagic would call the data an ELF 32-bit or
// 64-bit object, which is what rpm's elf.attr matches.
func isELFMagic(head []byte) bool {
	return len(head) >= 6 && string(head[:4]) == "\x7fELF" && (head[4] == 1 || head[4] == 2)
}

// analyzeELF reads r (size bytes) as rpm's elfdeps would for a file whose
// permission bits are exec. It never panics: a panic inside debug/elf on a
// hostile file becomes an error.
func analyzeELF(r io.ReaderAt, size int64, exec bool, base string) (info *elfInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			info, err = nil, fmt.Errorf("autodeps: malformed ELF object: %v", p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("autodeps: malformed ELF object: %w", err)
	}
	defer f.Close()
	e := &elfReader{f: f, r: r, size: size, strtabs: map[uint32][]byte{}}
	return e.run(exec, base), nil
}

type elfReader struct {
	f       *elf.File
	r       io.ReaderAt
	size    int64
	strtabs map[uint32][]byte
	steps   int

	isExec, isDSO                 bool
	gotDebug, gotHash, gotGNUHash bool
	soname                        string
	hasSoname, hasInterp          bool
	marker                        string
	requires, provides            []string
}

func (e *elfReader) run(exec bool, base string) *elfInfo {
	f := e.f
	info := &elfInfo{class64: f.Class == elf.ELFCLASS64}
	if f.Type == elf.ET_DYN || f.Type == elf.ET_EXEC {
		if f.Class == elf.ELFCLASS64 && f.Machine != elf.EM_ALPHA && f.Machine != emFakeAlpha {
			e.marker = "(64bit)"
		}
		e.isDSO = f.Type == elf.ET_DYN
		e.isExec = exec
		e.progHeaders()
		e.sections()
	}
	if e.genRequires() && e.gotGNUHash && !e.gotHash {
		e.requires = append(e.requires, "rtld(GNU_HASH)")
	}
	// rpm's elfdeps: a DSO provides its DT_SONAME, or its file name when
	// it has none; DT_DEBUG marks a PIE executable, which provides nothing.
	if e.isDSO && !e.gotDebug {
		if !e.hasSoname {
			e.soname, e.hasSoname = base, true
		}
		e.addDep(&e.provides, e.soname, "", false)
	}
	info.requires, info.provides = e.requires, e.provides
	return info
}

// genRequires is elfdeps' rule: requires come from every object except one
// with an interpreter that is not executable.
func (e *elfReader) genRequires() bool { return !(e.hasInterp && !e.isExec) }

// skipSoname is elfdeps' soname filter: blank names, names without ".so",
// and names that start neither with "lib" nor with the dynamic linker's
// "ld." / "ld-" / "ld64." / "ld64-" are dropped.
func skipSoname(s string) bool {
	if strings.TrimLeft(s, " \t\n\v\f\r") == "" {
		return true
	}
	if !strings.Contains(s, ".so") {
		return true
	}
	for _, p := range []string{"ld.", "ld-", "ld64.", "ld64-"} {
		if strings.HasPrefix(s, p) {
			return false
		}
	}
	return !strings.HasPrefix(s, "lib")
}

func (e *elfReader) addDep(list *[]string, soname, ver string, versioned bool) {
	if skipSoname(soname) || len(*list) >= maxELFDeps {
		return
	}
	if versioned || e.marker != "" {
		*list = append(*list, soname+"("+ver+")"+e.marker)
		return
	}
	*list = append(*list, soname)
}

// progHeaders notes a PT_INTERP within the file, which is all elfdeps
// uses it for (it requires the interpreter only with --require-interp,
// which rpm 4.18's elf.attr does not pass).
func (e *elfReader) progHeaders() {
	for _, p := range e.f.Progs {
		if p.Type == elf.PT_INTERP && p.Off < uint64(e.size) {
			e.hasInterp = true
		}
	}
}

// sectionData returns a section's bytes, or nil when the section claims
// more than the file holds or has no bytes in the file.
func (e *elfReader) sectionData(s *elf.Section) []byte {
	if s.Type == elf.SHT_NOBITS || s.Size == 0 || s.Size > maxSectionBytes || s.Offset > uint64(e.size) || s.Size > uint64(e.size)-s.Offset {
		return nil
	}
	data := make([]byte, s.Size)
	if _, err := e.r.ReadAt(data, int64(s.Offset)); err != nil {
		return nil
	}
	return data
}

// strptr is libelf's elf_strptr: the NUL-terminated string at off in
// string-table section idx, or false.
func (e *elfReader) strptr(idx uint32, off uint64) (string, bool) {
	if int(idx) >= len(e.f.Sections) || idx == 0 {
		return "", false
	}
	data, ok := e.strtabs[idx]
	if !ok {
		s := e.f.Sections[idx]
		if s.Type == elf.SHT_STRTAB {
			data = e.sectionData(s)
		}
		e.strtabs[idx] = data
	}
	if off >= uint64(len(data)) {
		return "", false
	}
	rest := data[off:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", false
	}
	if i > maxStringLen {
		i = maxStringLen
	}
	return string(rest[:i]), true
}

func (e *elfReader) sections() {
	for _, s := range e.f.Sections {
		switch s.Type {
		case elf.SHT_GNU_VERDEF:
			e.verdef(s)
		case elf.SHT_GNU_VERNEED:
			e.verneed(s)
		case elf.SHT_DYNAMIC:
			e.dynamic(s)
		}
	}
}

func (e *elfReader) step() bool {
	e.steps++
	return e.steps <= maxELFSteps
}

// verdef walks version definitions as elfdeps does, including its habit of
// reading a non-base definition's first auxiliary entry vd_cnt times.
func (e *elfReader) verdef(s *elf.Section) {
	data := e.sectionData(s)
	bo := e.f.ByteOrder
	var offset uint32
	soname, haveSoname := "", false
	for i := int64(s.Info); i > 0 && e.step(); i-- {
		if uint64(offset)+20 > uint64(len(data)) {
			break
		}
		d := data[offset:]
		flags := bo.Uint16(d[2:])
		cnt := bo.Uint16(d[6:])
		aux := offset + bo.Uint32(d[12:])
		offset += bo.Uint32(d[16:])
		for j := int(cnt); j > 0 && e.step(); j-- {
			if uint64(aux)+8 > uint64(len(data)) {
				break
			}
			a := data[aux:]
			name, ok := e.strptr(s.Link, uint64(bo.Uint32(a[0:])))
			if !ok {
				break
			}
			if flags&1 != 0 { // VER_FLG_BASE
				soname, haveSoname = name, true
				aux += bo.Uint32(a[4:])
				continue
			}
			if haveSoname {
				e.addDep(&e.provides, soname, name, true)
			}
		}
	}
}

func (e *elfReader) verneed(s *elf.Section) {
	data := e.sectionData(s)
	bo := e.f.ByteOrder
	var offset uint32
	for i := int64(s.Info); i > 0 && e.step(); i-- {
		if uint64(offset)+16 > uint64(len(data)) {
			break
		}
		d := data[offset:]
		cnt := bo.Uint16(d[2:])
		file, ok := e.strptr(s.Link, uint64(bo.Uint32(d[4:])))
		if !ok {
			break
		}
		aux := offset + bo.Uint32(d[8:])
		for j := int(cnt); j > 0 && e.step(); j-- {
			if uint64(aux)+16 > uint64(len(data)) {
				break
			}
			a := data[aux:]
			name, ok := e.strptr(s.Link, uint64(bo.Uint32(a[8:])))
			if !ok {
				break
			}
			if e.genRequires() {
				e.addDep(&e.requires, file, name, true)
			}
			aux += bo.Uint32(a[12:])
		}
		offset += bo.Uint32(d[12:])
	}
}

// dynamic reads every entry the section header counts, past DT_NULL too,
// as elfdeps does.
func (e *elfReader) dynamic(s *elf.Section) {
	if s.Entsize == 0 {
		return
	}
	data := e.sectionData(s)
	bo := e.f.ByteOrder
	entry := 8
	if e.f.Class == elf.ELFCLASS64 {
		entry = 16
	}
	n := s.Size / s.Entsize
	for i := uint64(0); i < n && e.step(); i++ {
		if (i+1)*uint64(entry) > uint64(len(data)) {
			break
		}
		d := data[i*uint64(entry):]
		var tag int64
		var val uint64
		if entry == 16 {
			tag, val = int64(bo.Uint64(d)), bo.Uint64(d[8:])
		} else {
			tag, val = int64(int32(bo.Uint32(d))), uint64(bo.Uint32(d[4:]))
		}
		switch tag {
		case int64(elf.DT_HASH):
			e.gotHash = true
		case dtGNUHash:
			e.gotGNUHash = true
		case int64(elf.DT_DEBUG):
			e.gotDebug = true
		case int64(elf.DT_SONAME):
			if name, ok := e.strptr(s.Link, val); ok {
				e.soname, e.hasSoname = name, true
			}
		case int64(elf.DT_NEEDED):
			if e.genRequires() {
				if name, ok := e.strptr(s.Link, val); ok {
					e.addDep(&e.requires, name, "", false)
				}
			}
		}
	}
}

// printable escapes bytes libmagic would not print as they are.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// elfColor is rpm's getElfColor: 1 for ELFCLASS32, 2 for ELFCLASS64, from
// the identification bytes alone.
func elfColor(head []byte) uint32 {
	if len(head) < 5 || string(head[:4]) != "\x7fELF" {
		return 0
	}
	switch head[4] {
	case 1:
		return 1
	case 2:
		return 2
	}
	return 0
}
