package autodeps

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
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

// isTroff is libmagic's troff magic: a comment at the start, or a
// two-letter request ("." and two letters or digits, the first a
// letter, then a blank or a newline) in the first 20 lines.
func isTroff(b []byte) bool {
	for _, p := range []string{`.\"`, `'\"`, `'.\"`, `\"`} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	region := regexLines(b, 20)
	for line := region; ; {
		end := bytes.IndexByte(line, '\n')
		if len(line) >= 4 && line[0] == '.' && isASCIILetter(line[1]) && (isASCIILetter(line[2]) || '0' <= line[2] && line[2] <= '9') &&
			(line[3] == ' ' || line[3] == '\t' || line[3] == '\n') {
			return true
		}
		if end < 0 {
			return false
		}
		line = line[end+1:]
	}
}

// regexLines is the part of b a libmagic "regex/Nl" test searches: at
// most N*80 bytes, cut after the Nth line end as libmagic 5.44 counts
// them (a newline right after a line end is not counted, and the last
// byte is left out when it is the Nth line end). Its regular
// expressions' "$" then matches before a newline only.
func regexLines(b []byte, n int) []byte {
	end := min(len(b), n*80)
	last, p := end, 0
	for ; n > 0 && p < end; n-- {
		i := bytes.IndexByte(b[p:end], '\n')
		if i < 0 {
			i = bytes.IndexByte(b[p:end], '\r')
		}
		if i < 0 {
			break
		}
		q := p + i
		if q < end-1 && b[q] == '\r' && b[q+1] == '\n' {
			q++
		}
		if q < end-1 && b[q] == '\n' {
			q++
		}
		last, p = q, q+1
	}
	if n > 0 {
		last = end
	}
	return b[:last]
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
