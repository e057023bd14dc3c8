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
		var n nesting
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
					if p+1 < len(line) && (n.opens(line[p+1]) || line[p+1] == '%') {
						p++
					}
				default:
					n.inner(line[p])
				}
			}
			buf.WriteString(line)
			if (line == "" || line[len(line)-1] != '\\') && !n.open() {
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
		var n nesting
		var b strings.Builder
		i := 0
		for i < len(s) && (n.brace > 0 || n.paren > 0 || !(s[i] == '\n' || s[i] == '\r')) {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
				}
			case '%':
				if i+1 < len(s) && (n.opens(s[i+1]) || s[i+1] == '%') {
					b.WriteByte(s[i])
					i++
				}
			default:
				n.inner(s[i])
			}
			if i < len(s) {
				b.WriteByte(s[i])
			}
			i++
		}
		if n.open() {
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

// nesting counts the %{...}, %(...) and %[...] a macro body has open, as
// rpm's macro loader counts them: a bracket nests only inside an open one
// of its own kind.
type nesting struct{ brace, paren, bracket int }

// opens records a '%' followed by c, and reports whether c opened one.
func (n *nesting) opens(c byte) bool {
	switch c {
	case '{':
		n.brace++
	case '(':
		n.paren++
	case '[':
		n.bracket++
	default:
		return false
	}
	return true
}

// inner records a bracket met inside the body.
func (n *nesting) inner(c byte) {
	step := func(depth *int, d int) {
		if *depth > 0 {
			*depth += d
		}
	}
	switch c {
	case '{':
		step(&n.brace, 1)
	case '}':
		step(&n.brace, -1)
	case '(':
		step(&n.paren, 1)
	case ')':
		step(&n.paren, -1)
	case '[':
		step(&n.bracket, 1)
	case ']':
		step(&n.bracket, -1)
	}
}

func (n *nesting) open() bool { return n.brace > 0 || n.paren > 0 || n.bracket > 0 }
