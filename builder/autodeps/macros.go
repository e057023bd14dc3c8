package autodeps

import (
	"sort"
	"strings"
)

// rpm_macro.attr runs rpm_macros_provides.sh, which loads a macro file
// into rpm and lists the macros it defined. rpmMacroProvides reads the
// file as rpm 4.18's loader does (rdcl and doDefine in rpmio/macro.c).

// rpmBuiltinMacros cannot be redefined.
var rpmBuiltinMacros = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields("P S basename define dirname dnl dump echo error exists expand expr getconfdir getenv getncpus global load lua macrobody quote shrink suffix trace u2p shescape uncompress undefine url2path verbose warn") {
		m[n] = true
	}
	return m
}()

// maxMacroLine is rpm's MACROBUFSIZ: one logical line it reads.
const maxMacroLine = 16384

// rpmMacroLines joins a macro file's lines as rdcl does: a line starting
// (after blanks) with '%' continues while it ends in a backslash or has an
// unclosed %{, %( or %[.
func rpmMacroLines(data []byte) []string {
	lines := plLines(data)
	var out []string
	for i := 0; i < len(lines); {
		var buf strings.Builder
		first := true
		bc, pc, xc := 0, 0, 0
		for i < len(lines) {
			raw := lines[i]
			i++
			line := strings.TrimRight(raw, "\r\n")
			if !strings.HasSuffix(raw, "\n") && !strings.HasSuffix(raw, "\r") {
				// No newline: end of file.
				buf.WriteString(line)
				break
			}
			if first {
				first = false
				if !strings.HasPrefix(strings.TrimLeft(line, " \t"), "%") {
					buf.WriteString(line)
					break
				}
			}
			for p := 0; p < len(line); p++ {
				switch line[p] {
				case '\\':
					if p+1 < len(line) {
						p++
					}
				case '%':
					if p+1 < len(line) {
						switch line[p+1] {
						case '{':
							p++
							bc++
						case '(':
							p++
							pc++
						case '[':
							p++
							xc++
						case '%':
							p++
						}
					}
				case '{':
					if bc > 0 {
						bc++
					}
				case '}':
					if bc > 0 {
						bc--
					}
				case '(':
					if pc > 0 {
						pc++
					}
				case ')':
					if pc > 0 {
						pc--
					}
				case '[':
					if xc > 0 {
						xc++
					}
				case ']':
					if xc > 0 {
						xc--
					}
				}
			}
			buf.WriteString(line)
			if (line == "" || line[len(line)-1] != '\\') && bc == 0 && pc == 0 && xc == 0 {
				break
			}
			buf.WriteByte('\n')
			if buf.Len() > maxMacroLine {
				break
			}
		}
		out = append(out, buf.String())
	}
	return out
}

// rpmMacroName returns the name a definition line defines, or "" when
// rpm refuses it (bad name, built-in, unterminated options or body,
// empty body).
func rpmMacroName(def string) string {
	s := strings.TrimLeft(def, " \t")
	if !strings.HasPrefix(s, "%") {
		return ""
	}
	s = strings.TrimLeft(s[1:], " \t") // COPYNAME skips blanks first
	n := 0
	for n < len(s) && (isAlnum(s[n]) || s[n] == '_') {
		n++
	}
	name := s[:n]
	s = s[n:]
	if strings.HasPrefix(s, "(") {
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return ""
		}
		s = s[end+1:]
	}
	s = strings.TrimLeft(s, " \t")
	var body string
	if strings.HasPrefix(s, "{") {
		end, ok := matchBrace(s)
		if !ok {
			return ""
		}
		body = s[1 : end-1]
	} else {
		bc, pc, xc := 0, 0, 0
		var b strings.Builder
		i := 0
		for i < len(s) && (bc > 0 || pc > 0 || !(s[i] == '\n' || s[i] == '\r')) {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
				}
			case '%':
				if i+1 < len(s) {
					switch s[i+1] {
					case '{':
						b.WriteByte(s[i])
						i++
						bc++
					case '(':
						b.WriteByte(s[i])
						i++
						pc++
					case '[':
						b.WriteByte(s[i])
						i++
						xc++
					case '%':
						b.WriteByte(s[i])
						i++
					}
				}
			case '{':
				if bc > 0 {
					bc++
				}
			case '}':
				if bc > 0 {
					bc--
				}
			case '(':
				if pc > 0 {
					pc++
				}
			case ')':
				if pc > 0 {
					pc--
				}
			case '[':
				if xc > 0 {
					xc++
				}
			case ']':
				if xc > 0 {
					xc--
				}
			}
			if i < len(s) {
				b.WriteByte(s[i])
			}
			i++
		}
		if bc > 0 || pc > 0 || xc > 0 {
			return ""
		}
		body = strings.TrimRight(b.String(), " \t\r\n")
	}
	if name == "" || !(isAlpha(name[0]) || name[0] == '_' && len(name) > 1) || rpmBuiltinMacros[name] {
		return ""
	}
	if body == "" {
		return ""
	}
	return name
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// matchBrace is rpm's matchchar for '{' '}': the index just past the
// brace closing the one s starts with, skipping escaped characters.
func matchBrace(s string) (int, bool) {
	lvl := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '}':
			lvl--
			if lvl <= 0 {
				return i + 1, true
			}
		case '{':
			lvl++
		}
	}
	return 0, false
}

// rpmMacroProvides is rpm_macros_provides.sh for one macro file: an
// rpm_macro(NAME) for each macro it defines, in name order, except
// names starting with "__".
func rpmMacroProvides(data []byte) []string {
	seen := map[string]bool{}
	var names []string
	for _, l := range rpmMacroLines(data) {
		n := rpmMacroName(l)
		if n == "" || strings.HasPrefix(n, "__") || seen[n] {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "rpm_macro(" + n + ")"
	}
	return out
}
