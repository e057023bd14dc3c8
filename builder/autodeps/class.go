package autodeps

import (
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// skippedSuffixes are the file name endings for which rpm 4.18 skips
// libmagic and uses a fixed type (rpmfc.c skipped_extensions).
var skippedSuffixes = []struct{ suffix, magic string }{
	{".pm", "Perl5 module source text"},
	{".c", "C Code"},
	{".h", "C Header"},
	{".la", "libtool library file"},
	{".pc", "pkgconfig file"},
}

// classTokens are rpm's rpmfcTokens: a type containing none of them is
// stored as the empty class.
var classTokens = []string{
	"directory", "ELF 32-bit", "ELF 64-bit", "troff or preprocessor input",
	"GNU Info", "perl ", "Perl5 module source text", "python ",
	"libtool library ", "pkgconfig ", "Objective caml ", "Mono/.Net assembly",
	"current ar archive", "Zip archive data", "tar archive", "cpio archive",
	"RPM v3", "RPM v4", " image", " font", " Font", " commands", " script",
	"empty", "HTML", "SGML", "XML", " source", "GLS_BINARY_LSB_FIRST", " DB ",
	" text",
}

// Classify returns the FILECLASS string rpm stores for a file whose type
// (libmagic's description, or rpm's fixed one) is magic: the type itself
// when it contains one of rpm's class tokens, "" otherwise.
//
// The types autodeps produces are libmagic 5.44's (Debian 12's database,
// with the flags rpm passes) for: directories and special files; ELF
// objects (its readelf pass: type, pie, machine, OS ABI, linking,
// interpreter, GNU and Go build ids, ABI tag, debug_info, stripped, its
// limits); "#!" scripts (its interpreter table and catch-all); text
// (ASCII, UTF-8, ISO-8859, line terminators, long lines, escapes) with
// its troff, XML, SVG, HTML, SGML and Python recognisers; gzip data
// (described by its contents); PNG and GIF images; empty and one-byte
// files; setuid, setgid and sticky prefixes; and rpm's fixed types for
// .pm, .c, .h, .la and .pc. Other content libmagic recognises (JPEG,
// archives, xz or bzip2 data, PDF, C source and other language
// heuristics) is described here as text or "data", so its class differs
// from rpmbuild's; on a sample of 748 files of a Debian host, 9 differed.
func Classify(magic string) string {
	for _, t := range classTokens {
		if strings.Contains(magic, t) {
			return magic
		}
	}
	return ""
}

// magicType is the type string rpm matches file attributes against.
// head is the start of a regular file's content (up to maxMagicBytes).
func magicType(p string, mode fs.FileMode, head []byte, elfDesc string) string {
	switch {
	case mode.IsDir():
		return "directory"
	case mode&fs.ModeCharDevice != 0:
		return "character special"
	case mode&fs.ModeDevice != 0:
		return "block special"
	case mode&fs.ModeNamedPipe != 0:
		return "fifo (named pipe)"
	case mode&fs.ModeSocket != 0:
		return "socket"
	}
	for _, s := range skippedSuffixes {
		if strings.HasSuffix(p, s.suffix) {
			return s.magic
		}
	}
	if strings.HasPrefix(p, "/dev/") {
		return ""
	}
	if mode&fs.ModeSymlink != 0 {
		return "symbolic link"
	}
	desc := contentType(head, elfDesc)
	var flags []string
	for _, f := range []struct {
		bit  fs.FileMode
		name string
	}{{fs.ModeSetuid, "setuid"}, {fs.ModeSetgid, "setgid"}, {fs.ModeSticky, "sticky"}} {
		if mode&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	if len(flags) == 0 {
		return desc
	}
	// libmagic's separators after the mode words differ by which of its
	// tests named the file.
	prefix := strings.Join(flags, ", ")
	switch {
	case desc == "empty":
		return prefix + ", empty"
	case strings.HasPrefix(desc, "ASCII text") || strings.HasPrefix(desc, "Unicode text") || strings.HasPrefix(desc, "ISO-8859 text"):
		return prefix + " , " + desc
	}
	return prefix + " " + desc
}

func contentType(head []byte, elfDesc string) string {
	if len(head) == 0 {
		return "empty"
	}
	if len(head) == 1 {
		return "very short file (no magic)"
	}
	if elfDesc != "" {
		return elfDesc
	}
	if d, ok := gzipType(head); ok {
		return d
	}
	if d := imageType(head); d != "" {
		return d
	}
	desc := textType(head)
	if bad := zlibDictError(head); bad != "" && desc != "" {
		return "ERROR:[" + bad + "] (" + desc + ")"
	}
	if desc == "" {
		return "data"
	}
	return desc
}

// zlibDictError mimics libmagic's decompression attempt (rpm asks for
// MAGIC_COMPRESS): text starting with two bytes that form a valid zlib
// header with a preset dictionary, such as "x = 1", makes it report an
// error around the type.
func zlibDictError(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	cmf, flg := b[0], b[1]
	if cmf&0x0f == 8 && cmf>>4 <= 7 && (uint(cmf)<<8|uint(flg))%31 == 0 && flg&0x20 != 0 {
		return "zlib: need dictionary"
	}
	return ""
}

// encodingMax is libmagic's FILE_ENCODING_MAX: its text tests look at
// the first 64 KiB.
const encodingMax = 64 << 10

func textType(b []byte) string {
	b = b[:min(len(b), encodingMax)]
	enc := textEncoding(b)
	if len(b) > 2 && b[0] == '#' && b[1] == '!' {
		return shebangType(b, enc)
	}
	if enc == "" {
		return ""
	}
	if isTroff(b) {
		return "troff or preprocessor input, " + enc + textRemarks(b)
	}
	if desc, literal := markupType(b); desc != "" {
		if literal {
			return desc
		}
		return desc + ", " + enc + textRemarks(b)
	}
	if pythonHeuristic(b) {
		return "Python script, " + enc + " executable" + textRemarks(b)
	}
	return enc + textRemarks(b)
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func isTextByte(c byte) bool {
	return c >= 0x07 && c <= 0x0d || c == 0x1b || c >= 0x20 && c <= 0x7e
}

func isASCIIText(b []byte) bool {
	for _, c := range b {
		if !isTextByte(c) {
			return false
		}
	}
	return true
}

func textEncoding(b []byte) string {
	ascii := true
	for _, c := range b {
		if !isTextByte(c) {
			ascii = false
			break
		}
	}
	if ascii {
		return "ASCII text"
	}
	if utf8.Valid(b) || utf8.Valid(trimPartialRune(b)) {
		ok := true
		for _, c := range b {
			if c < 0x80 && !isTextByte(c) {
				ok = false
				break
			}
		}
		if ok {
			if len(b) >= 3 && string(b[:3]) == "\xef\xbb\xbf" {
				return "Unicode text, UTF-8 (with BOM) text"
			}
			return "Unicode text, UTF-8 text"
		}
	}
	for _, c := range b {
		if !isTextByte(c) && c < 0xa0 {
			return ""
		}
	}
	return "ISO-8859 text"
}

// trimPartialRune drops a rune cut by the read cap.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			return b[:len(b)-i]
		}
	}
	return b
}

// textRemarks is libmagic's tail for text: very long lines, line
// terminators other than LF, escapes and overstriking.
func textRemarks(b []byte) string {
	utf8Text := !isASCIIText(b) && utf8.Valid(trimPartialRune(b))
	var crlf, cr, lf int
	var longest, cur int
	esc, bs := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				crlf++
				i++
			} else {
				cr++
			}
			cur = 0
			continue
		case '\n':
			lf++
			cur = 0
			continue
		case 0x1b:
			esc = true
		case '\b':
			bs = true
		}
		if c&0xc0 != 0x80 || !utf8Text { // count characters in UTF-8 text
			cur++
		}
		longest = max(longest, cur)
	}
	var s strings.Builder
	if longest > 300 {
		fmt.Fprintf(&s, ", with very long lines (%d)", longest)
	}
	if crlf+cr+lf == 0 {
		s.WriteString(", with no line terminators")
	} else if crlf != 0 || cr != 0 {
		var kinds []string
		if crlf != 0 {
			kinds = append(kinds, "CRLF")
		}
		if cr != 0 {
			kinds = append(kinds, "CR")
		}
		if lf != 0 {
			kinds = append(kinds, "LF")
		}
		s.WriteString(", with " + strings.Join(kinds, ", ") + " line terminators")
	}
	if esc {
		s.WriteString(", with escape sequences")
	}
	if bs {
		s.WriteString(", with overstriking")
	}
	return s.String()
}
