package autodeps

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"regexp"
	"strings"
	"time"
)

var gzipOS = map[byte]string{
	0: "from FAT filesystem (MS-DOS, OS/2, NT)", 1: "from Amiga", 2: "from VMS", 3: "from Unix",
	5: "from Atari", 6: "from HPFS filesystem (OS/2, NT)", 7: "from MacOS", 10: "from Tops/20",
	11: "from NTFS filesystem (NT)", 13: "from Acorn RISCOS",
}

// gzipType is what libmagic, asked to look inside compressed files as rpm
// asks it, says of gzip data: the type of the decompressed content (as
// far as libmagic reads), then the gzip header in parentheses. ok is
// false when data is not gzip with deflate.
func gzipType(data []byte) (string, bool) {
	if len(data) < 10 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
		return "", false
	}
	flags := data[3]
	var parts []string
	if flags&0x08 != 0 { // FNAME
		rest := data[10:]
		if flags&0x04 != 0 && len(rest) >= 2 { // FEXTRA comes first
			n := int(binary.LittleEndian.Uint16(rest))
			rest = rest[min(len(rest), 2+n):]
		}
		name := rest
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		parts = append(parts, `was "`+printable(string(name[:min(len(name), 256)]))+`"`)
	}
	if mtime := binary.LittleEndian.Uint32(data[4:]); mtime != 0 {
		parts = append(parts, "last modified: "+time.Unix(int64(mtime), 0).UTC().Format("Mon Jan _2 15:04:05 2006"))
	}
	switch data[8] {
	case 2:
		parts = append(parts, "max compression")
	case 4:
		parts = append(parts, "max speed")
	}
	if os, ok := gzipOS[data[9]]; ok {
		parts = append(parts, os)
	}
	header := "gzip compressed data"
	if len(parts) > 0 {
		header += ", " + strings.Join(parts, ", ")
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return header, true
	}
	zr.Multistream(false)
	inner, err := io.ReadAll(io.LimitReader(zr, maxMagicBytes))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && len(inner) == 0 {
		return header, true
	}
	return innerType(inner) + " (" + header + ")", true
}

// innerType describes decompressed content: as for a file, except that
// libmagic's ELF pass, which needs the file itself, does not run, and
// nothing is decompressed again.
func innerType(b []byte) string {
	switch len(b) {
	case 0:
		return "empty"
	case 1:
		return "very short file (no magic)"
	}
	if isELFMagic(b) {
		return elfMagicHeader(bytes.NewReader(b), int64(len(b)))
	}
	if d := textType(b); d != "" {
		return d
	}
	return "data"
}

var troffLine = regexp.MustCompile(`(?m)^\.[A-Za-z][A-Za-z0-9]([ \t]|$)`)

// isTroff is libmagic's troff magic: a comment at the start, or a
// two-letter request in the first 20 lines.
func isTroff(b []byte) bool {
	for _, p := range []string{`.\"`, `'\"`, `'.\"`, `\"`} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	lines := b
	for i, n := 0, 0; i < len(b); i++ {
		if b[i] == '\n' {
			n++
			if n == 20 {
				lines = b[:i]
				break
			}
		}
	}
	return troffLine.Match(lines)
}
