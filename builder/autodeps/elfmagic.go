package autodeps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// libmagic 5.44's limits for ELF files.
const (
	magicPhnumMax  = 2048
	magicShnumMax  = 32768
	magicNotesMax  = 256
	magicShsizeMax = 64 << 20
	magicBufsiz    = 8192
)

// elfMagic describes an ELF file as libmagic 5.44 does (its elf magic
// entries for the header, then its readelf pass over program headers,
// section headers and notes), reading r (size bytes) with the file's
// mode. It reads only what libmagic reads and never trusts a count or
// offset it has not checked.
func elfMagic(r io.ReaderAt, size int64, mode fs.FileMode) string {
	return elfMagicPass(r, size, mode, true)
}

// elfMagicHeader is the description from libmagic's elf magic entries
// alone, as it gives for an object inside compressed data.
func elfMagicHeader(r io.ReaderAt, size int64) string {
	return elfMagicPass(r, size, 0, false)
}

func elfMagicPass(r io.ReaderAt, size int64, mode fs.FileMode, pass bool) string {
	ident := make([]byte, 64)
	n, _ := r.ReadAt(ident, 0)
	ident = ident[:n]
	if len(ident) < 6 || string(ident[:4]) != "\x7fELF" {
		return ""
	}
	m := &elfMagicReader{r: r, size: size, exec: mode.Perm()&0o111 != 0, notes: magicNotesMax}
	var b strings.Builder
	b.WriteString("ELF ")
	switch ident[4] {
	case 1:
		b.WriteString("32-bit ")
		m.is64 = false
	case 2:
		b.WriteString("64-bit ")
		m.is64 = true
	default:
		return "ELF invalid class"
	}
	switch ident[5] {
	case 1:
		b.WriteString("LSB ")
		m.bo = binary.LittleEndian
	case 2:
		b.WriteString("MSB ")
		m.bo = binary.BigEndian
	default:
		return b.String() + "invalid byte order"
	}
	hdrSize := 52
	if m.is64 {
		hdrSize = 64
	}
	// libmagic runs its ELF pass first (which may change what "pie"
	// means) and prints it after the header description.
	var tail string
	if pass && size > int64(hdrSize) && len(ident) >= hdrSize {
		tail = m.tryELF(ident)
	}
	if len(ident) < 24 {
		return strings.TrimSuffix(b.String(), " ")
	}
	etype := m.bo.Uint16(ident[16:])
	switch etype {
	case 0:
		b.WriteString("no file type")
	case 1:
		b.WriteString("relocatable")
	case 2:
		b.WriteString("executable")
	case 3:
		if m.exec {
			b.WriteString("pie executable")
		} else {
			b.WriteString("shared object")
		}
	case 4:
		b.WriteString("core file")
	default:
		b.WriteString("processor-specific")
	}
	mach := m.bo.Uint16(ident[18:])
	if name, ok := machineNames[mach]; ok {
		b.WriteString(", " + name)
	} else {
		fmt.Fprintf(&b, ", *unknown arch %#x*", mach)
	}
	switch m.bo.Uint32(ident[20:]) {
	case 0:
		b.WriteString(", invalid version")
	case 1:
		b.WriteString(", version 1")
	}
	if name, ok := osabiNames[ident[7]]; ok {
		b.WriteString(" (" + name + ")")
	}
	return b.String() + tail
}

var machineNames = map[uint16]string{
	3:   "Intel 80386",
	62:  "x86-64",
	183: "ARM aarch64",
	20:  "PowerPC or cisco 4500",
	21:  "64-bit PowerPC or cisco 7500",
	22:  "IBM S/390",
	243: "UCB RISC-V",
}

var osabiNames = map[byte]string{
	0: "SYSV", 1: "HP-UX", 2: "NetBSD", 3: "GNU/Linux", 6: "Solaris",
	7: "Monterey", 8: "IRIX", 9: "FreeBSD", 10: "Tru64", 11: "Novell Modesto",
	12: "OpenBSD", 97: "ARM", 255: "embedded",
}

type elfMagicReader struct {
	r     io.ReaderAt
	size  int64
	bo    binary.ByteOrder
	is64  bool
	exec  bool // libmagic's idea of the x bits, which DT_FLAGS_1 rewrites
	notes int

	didOS, didBuildID bool
	out               strings.Builder
}

func (m *elfMagicReader) pread(n int, off uint64) []byte {
	if off > uint64(m.size) {
		return nil
	}
	buf := make([]byte, n)
	got, _ := m.r.ReadAt(buf, int64(off))
	return buf[:got]
}

func (m *elfMagicReader) word(b []byte) uint64 {
	if m.is64 {
		return m.bo.Uint64(b)
	}
	return uint64(m.bo.Uint32(b))
}

func (m *elfMagicReader) tryELF(h []byte) string {
	etype := m.bo.Uint16(h[16:])
	var phoff, shoff uint64
	var phentsize, phnum, shentsize, shnum, shstrndx uint16
	if m.is64 {
		phoff, shoff = m.bo.Uint64(h[32:]), m.bo.Uint64(h[40:])
		phentsize, phnum = m.bo.Uint16(h[54:]), m.bo.Uint16(h[56:])
		shentsize, shnum, shstrndx = m.bo.Uint16(h[58:]), m.bo.Uint16(h[60:]), m.bo.Uint16(h[62:])
	} else {
		phoff, shoff = uint64(m.bo.Uint32(h[28:])), uint64(m.bo.Uint32(h[32:]))
		phentsize, phnum = m.bo.Uint16(h[42:]), m.bo.Uint16(h[44:])
		shentsize, shnum, shstrndx = m.bo.Uint16(h[46:]), m.bo.Uint16(h[48:]), m.bo.Uint16(h[50:])
	}
	switch etype {
	case 2, 3:
		if phnum > magicPhnumMax {
			fmt.Fprintf(&m.out, ", too many program (%d)", phnum)
			return m.out.String()
		}
		if shnum > magicShnumMax {
			fmt.Fprintf(&m.out, ", too many section (%d)", shnum)
			return m.out.String()
		}
		m.programHeaders(phoff, int(phnum), int(phentsize), shnum)
		fallthrough
	case 1:
		if shnum > magicShnumMax {
			fmt.Fprintf(&m.out, ", too many section headers (%d)", shnum)
			return m.out.String()
		}
		m.sectionHeaders(shoff, int(shnum), int(shentsize), int(shstrndx))
	}
	if m.notes == 0 {
		fmt.Fprintf(&m.out, ", too many notes (%d)", magicNotesMax)
	}
	return m.out.String()
}

func (m *elfMagicReader) programHeaders(off uint64, num, size int, shnum uint16) {
	if num == 0 {
		m.out.WriteString(", no program header")
		return
	}
	want := 32
	if m.is64 {
		want = 56
	}
	if size != want {
		m.out.WriteString(", corrupted program header size")
		return
	}
	dynamic, pie := false, false
	need := 0
	interp := ""
	for ; num > 0; num-- {
		ph := m.pread(size, off)
		if len(ph) < size {
			fmt.Fprintf(&m.out, ", can't read elf program headers at %d", int64(off))
			return
		}
		off += uint64(size)
		typ := m.bo.Uint32(ph)
		var offset, filesz, align uint64
		if m.is64 {
			offset, filesz, align = m.bo.Uint64(ph[8:]), m.bo.Uint64(ph[32:]), m.bo.Uint64(ph[48:])
		} else {
			offset, filesz, align = uint64(m.bo.Uint32(ph[4:])), uint64(m.bo.Uint32(ph[16:])), uint64(m.bo.Uint32(ph[28:]))
		}
		switch typ {
		case 2, 3, 4: // PT_DYNAMIC, PT_INTERP, PT_NOTE
		default:
			continue
		}
		if typ == 4 {
			if shnum != 0 {
				continue // libmagic reads notes from the sections then
			}
			if align&0x80000000 != 0 || align < 4 {
				fmt.Fprintf(&m.out, ", invalid note alignment %#x", align)
				align = 4
			}
		}
		data := m.pread(int(min(filesz, magicBufsiz)), offset)
		switch typ {
		case 2:
			dynamic = true
			m.exec = false
			entry := 8
			if m.is64 {
				entry = 16
			}
			for o := 0; o+entry <= len(data); o += entry {
				tag := m.word(data[o:])
				val := m.word(data[o+entry/2:])
				switch tag {
				case dtFlags1:
					pie = true
					m.exec = val&df1PIE != 0
				case 1: // DT_NEEDED
					need++
				}
			}
		case 3:
			need++
			if len(data) > 0 && data[0] != 0 {
				s := data[:len(data)-1]
				if i := bytes.IndexByte(s, 0); i >= 0 {
					s = s[:i]
				}
				interp = string(s)
			} else {
				interp = "*empty*"
			}
		case 4:
			m.noteLoop(data, int(align))
		}
	}
	switch {
	case dynamic && pie && need == 0:
		m.out.WriteString(", static-pie linked")
	case dynamic:
		m.out.WriteString(", dynamically linked")
	default:
		m.out.WriteString(", statically linked")
	}
	if interp != "" {
		m.out.WriteString(", interpreter " + printable(interp))
	}
}

func (m *elfMagicReader) sectionHeaders(off uint64, num, size, strtab int) {
	if num == 0 {
		m.out.WriteString(", no section header")
		return
	}
	want := 40
	if m.is64 {
		want = 64
	}
	if size != want {
		m.out.WriteString(", corrupted section header size")
		return
	}
	field := func(sh []byte) (name uint32, typ uint32, offset, sz uint64) {
		name, typ = m.bo.Uint32(sh), m.bo.Uint32(sh[4:])
		if m.is64 {
			return name, typ, m.bo.Uint64(sh[24:]), m.bo.Uint64(sh[32:])
		}
		return name, typ, uint64(m.bo.Uint32(sh[16:])), uint64(m.bo.Uint32(sh[20:]))
	}
	strOff := off + uint64(size)*uint64(strtab)
	sh := m.pread(size, strOff)
	if len(sh) < size {
		fmt.Fprintf(&m.out, ", missing section headers at %d", int64(strOff))
		return
	}
	_, _, nameOff, _ := field(sh)
	if nameOff > uint64(m.size) {
		fmt.Fprintf(&m.out, ", too large section header offset %d", int64(nameOff))
		return
	}
	stripped, debugInfo := true, false
	for ; num > 0; num-- {
		sh := m.pread(size, off)
		if len(sh) < size {
			// libmagic reads the name first, from the entry it then
			// fails to read; the name cannot matter here.
			fmt.Fprintf(&m.out, ", can't read elf section at %d", int64(off))
			return
		}
		name, typ, offset, sz := field(sh)
		nm := m.pread(49, nameOff+uint64(name))
		if i := bytes.IndexByte(nm, 0); i >= 0 {
			nm = nm[:i]
		}
		if string(nm) == ".debug_info" {
			debugInfo, stripped = true, false
		}
		off += uint64(size)
		if typ == 2 { // SHT_SYMTAB
			stripped = false
			continue
		}
		if offset > uint64(m.size) {
			continue
		}
		if typ == 7 { // SHT_NOTE
			if sz+offset > uint64(m.size) || sz+offset < sz {
				fmt.Fprintf(&m.out, ", note offset/size %#x+%#x exceeds file size %#x", offset, sz, m.size)
				return
			}
			if sz > magicShsizeMax {
				return
			}
			data := m.pread(int(sz), offset)
			if uint64(len(data)) < sz {
				fmt.Fprintf(&m.out, ", can't read elf note at %d", int64(offset))
				return
			}
			m.noteLoop(data, 4)
		}
	}
	if debugInfo {
		m.out.WriteString(", with debug_info")
	}
	if stripped {
		m.out.WriteString(", stripped")
	} else {
		m.out.WriteString(", not stripped")
	}
}

func (m *elfMagicReader) noteLoop(data []byte, align int) {
	for off := 0; off < len(data); {
		next := m.note(data, off, align)
		if next == 0 {
			return
		}
		off = next
	}
}

// note is libmagic's donote for the notes autodeps knows: GNU ABI tag,
// GNU and Go build ids. It returns the next offset, or 0 to stop.
func (m *elfMagicReader) note(data []byte, off, align int) int {
	if m.notes == 0 {
		return 0
	}
	m.notes--
	if off+12 > len(data) {
		return off + 12
	}
	namesz, descsz, typ := m.bo.Uint32(data[off:]), m.bo.Uint32(data[off+4:]), m.bo.Uint32(data[off+8:])
	off += 12
	if namesz == 0 && descsz == 0 {
		return max(off, len(data))
	}
	if namesz&0x80000000 != 0 {
		fmt.Fprintf(&m.out, ", bad note name size %#x", namesz)
		return 0
	}
	if descsz&0x80000000 != 0 {
		fmt.Fprintf(&m.out, ", bad note description size %#x", descsz)
		return 0
	}
	alignUp := func(x int) int {
		if align == 8 {
			return (x + 7) &^ 7
		}
		return (x + 3) &^ 3
	}
	noff := off
	doff := alignUp(off + int(namesz))
	if off+int(namesz) > len(data) {
		return doff
	}
	next := alignUp(doff + int(descsz))
	if doff+int(descsz) > len(data) {
		return max(next, len(data))
	}
	name := data[noff:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	desc := data[doff : doff+int(descsz)]
	if !m.didOS && namesz == 4 && string(name) == "GNU" && typ == ntGNUABITag && descsz == 16 {
		m.didOS = true
		os := "<unknown>"
		if v := m.bo.Uint32(desc); int(v) < len(abiOS) {
			os = abiOS[v]
		}
		fmt.Fprintf(&m.out, ", for GNU/%s %d.%d.%d", os, int32(m.bo.Uint32(desc[4:])), int32(m.bo.Uint32(desc[8:])), int32(m.bo.Uint32(desc[12:])))
		return next
	}
	if !m.didBuildID {
		if namesz == 4 && string(name) == "GNU" && typ == ntGNUBuildID && descsz >= 4 && descsz <= 20 {
			m.didBuildID = true
			kind := map[uint32]string{8: "xxHash", 16: "md5/uuid", 20: "sha1"}[descsz]
			if kind == "" {
				kind = "unknown"
			}
			fmt.Fprintf(&m.out, ", BuildID[%s]=%x", kind, desc)
			return next
		}
		if namesz == 4 && string(name) == "Go" && typ == 4 && descsz < 128 {
			s := desc
			if i := bytes.IndexByte(s, 0); i >= 0 {
				s = s[:i]
			}
			fmt.Fprintf(&m.out, ", Go BuildID=%s", printable(string(s)))
			return next
		}
	}
	return next
}

var abiOS = []string{"Linux", "Hurd", "Solaris", "kFreeBSD", "kNetBSD"}
