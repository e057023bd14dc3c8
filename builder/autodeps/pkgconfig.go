package autodeps

import (
	"bytes"
	"path"
	"strings"
)

// maxPCVars bounds variable expansion work in one .pc file.
const (
	maxPCValue   = 65535
	maxPCExpands = 1 << 12
)

// pcFile is what pkgconf 1.8 reads from a .pc file, for rpm's
// pkgconfigdeps.sh.
type pcFile struct {
	provides []string // pkgconf --print-provides lines
	requires []string // pkgconf --print-requires --print-requires-private lines
}

// parsePC parses a .pc file as pkgconf 1.8 does; ok is false where
// pkgconf refuses the file (Name, Description or Version missing), in
// which case rpm generates no pkgconfig() dependencies for it. name is the
// file's path, which gives the package id.
func parsePC(name string, data []byte) (pc pcFile, ok bool) {
	p := &pcParser{vars: map[string]string{"pcfiledir": path.Dir(name)}}
	for _, line := range pcLines(data) {
		p.line(line)
	}
	if p.name == nil || p.desc == nil || p.version == nil {
		return pcFile{}, false
	}
	id := path.Base(name)
	if i := strings.LastIndexByte(id, '.'); i >= 0 {
		id = id[:i]
	}
	provides := addPCDeps(p.provides, []pcDep{{name: id, op: "=", version: *p.version, versioned: *p.version != ""}}, false)
	for _, d := range provides {
		pc.provides = append(pc.provides, d.String())
	}
	for _, d := range append(p.requires, p.requiresPrivate...) {
		pc.requires = append(pc.requires, d.String())
	}
	return pc, true
}

// pcLines splits data as pkgconf_fgetline does: backslash-newline joins
// lines (eating the next line's leading blanks), '#' starts a comment
// unless escaped, CR and CRLF end lines.
func pcLines(data []byte) []string {
	var lines []string
	var cur []byte
	quoted := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\\' && !quoted:
			quoted = true
			continue
		case c == '#':
			if !quoted {
				for i < len(data) && data[i] != '\n' {
					i++
				}
				lines = append(lines, string(cur))
				cur = cur[:0]
				continue
			}
			cur = append(cur, c)
			quoted = false
			continue
		case c == '\n' || c == '\r':
			if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			if quoted {
				quoted = false
				if c == '\n' {
					for i+1 < len(data) && (data[i+1] == ' ' || data[i+1] == '\t') {
						i++
					}
				}
				continue
			}
			lines = append(lines, string(cur))
			cur = cur[:0]
			continue
		}
		if quoted {
			cur = append(cur, '\\')
			quoted = false
		}
		if len(cur) < maxPCValue {
			cur = append(cur, c)
		}
	}
	if len(cur) > 0 || quoted {
		lines = append(lines, string(cur))
	}
	return lines
}

type pcParser struct {
	vars                                map[string]string
	name, desc, version                 *string
	provides, requires, requiresPrivate []pcDep
	expansions                          int
}

func isCSpace(c byte) bool { return isSpace(c) }

func (p *pcParser) line(line string) {
	i := 0
	for i < len(line) && isCSpace(line[i]) {
		i++
	}
	keyStart := i
	for i < len(line) && (isAlnum(line[i]) || line[i] == '_' || line[i] == '.') {
		i++
	}
	key := line[keyStart:i]
	// pkgconf's check: a key must start with a letter (its digit test
	// looks at the wrong byte, which is a separator here, never a digit).
	if key == "" || !(key[0] >= 'a' && key[0] <= 'z' || key[0] >= 'A' && key[0] <= 'Z') {
		return
	}
	for i < len(line) && isCSpace(line[i]) {
		i++
	}
	if i >= len(line) {
		return
	}
	op := line[i]
	value := strings.TrimRight(strings.TrimLeft(line[i+1:], " \t\n\v\f\r"), " \t\n\v\f\r")
	switch op {
	case '=':
		p.vars[key] = p.expand(dequote(value))
	case ':':
		p.keyword(key, value)
	}
}

func (p *pcParser) keyword(key, value string) {
	v := p.expand(value)
	switch strings.ToLower(key) { // pkgconf looks keywords up ignoring case
	case "name":
		p.name = &v
	case "description":
		p.desc = &v
	case "version":
		if i := strings.IndexAny(v, " \t"); i >= 0 {
			v = v[:i]
		}
		p.version = &v
	case "provides":
		p.provides = addPCDeps(p.provides, parsePCDeps(v), false)
	case "requires":
		p.requires = addPCDeps(p.requires, parsePCDeps(v), false)
	case "requires.private":
		p.requiresPrivate = addPCDeps(p.requiresPrivate, parsePCDeps(v), false)
	case "requires.internal":
		p.requiresPrivate = addPCDeps(p.requiresPrivate, parsePCDeps(v), true)
	}
}

// pcGlobals are the variables pkgconf's client defines (and looks up
// before the file's own).
var pcGlobals = map[string]string{"pc_sysrootdir": "/", "pc_top_builddir": "$(top_builddir)"}

// pcVarNameMax is pkgconf's PKGCONF_ITEM_SIZE - 1 on Linux.
const pcVarNameMax = 4096 + 1024 - 1

// expand is pkgconf_tuple_parse: "${name}" becomes the variable's value
// (a global first, else the file's variable, itself expanded again);
// an unknown variable becomes nothing; "${" without "}" names the rest of
// the value. Depth and total work are bounded where pkgconf would recurse
// without end.
func (p *pcParser) expand(s string) string {
	return p.expandDepth(s, 0)
}

func (p *pcParser) expandDepth(s string, depth int) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s) && b.Len() < maxPCValue; i++ {
		if s[i] != '$' || i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte(s[i])
			continue
		}
		j := i + 2
		var name []byte
		for ; j < len(s); j++ {
			if s[j] == '}' {
				break
			}
			if len(name) >= pcVarNameMax {
				break
			}
			name = append(name, s[j])
		}
		i = j
		p.expansions++
		if p.expansions > maxPCExpands || depth > 64 {
			continue
		}
		if v, ok := pcGlobals[string(name)]; ok {
			b.WriteString(v)
		} else if v, ok := p.vars[string(name)]; ok {
			b.WriteString(p.expandDepth(v, depth+1))
		}
		if j >= len(s) {
			break // pkgconf stops at the end of an unterminated name
		}
	}
	out := b.String()
	if len(out) > maxPCValue-1 {
		out = out[:maxPCValue-1]
	}
	return out
}

// dequote is pkgconf's: a value starting with a quote loses every
// unescaped instance of that quote.
func dequote(v string) string {
	if v == "" || v[0] != '\'' && v[0] != '"' {
		return v
	}
	q := v[0]
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v) && v[i+1] == q:
			i++
			b.WriteByte(v[i])
		case v[i] != q:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

type pcDep struct {
	name, op, version string
	versioned         bool
	internal          bool
}

// addPCDeps appends as pkgconf's add_or_replace_dependency_node: of two
// dependencies on one name, an internal one gives way to a plain one.
func addPCDeps(list, deps []pcDep, internal bool) []pcDep {
	for _, d := range deps {
		d.internal = internal
		drop := false
		for i, old := range list {
			if old.name != d.name {
				continue
			}
			if d.internal && !old.internal {
				drop = true
			} else if old.internal && !d.internal {
				list = append(list[:i:i], list[i+1:]...)
			}
			break
		}
		if !drop {
			list = append(list, d)
		}
	}
	return list
}

func (d pcDep) String() string {
	if !d.versioned {
		return d.name
	}
	return d.name + " " + d.op + " " + d.version
}

func isPCSep(c byte) bool { return c == ',' || isCSpace(c) }
func isPCOp(c byte) bool  { return c == '<' || c == '>' || c == '!' || c == '=' }

// pcComparators are pkgconf's operator names; an unknown operator is
// "(any)".
var pcComparators = map[string]bool{"!=": true, "<": true, "<=": true, "=": true, ">": true, ">=": true}

// parsePCDeps is pkgconf 1.8's dependency-list state machine, quirks
// included (a version glued to its operator is lost, as in "b <2").
func parsePCDeps(s string) []pcDep {
	const (
		outside = iota
		inName
		beforeOp
		inOp
		afterOp
		inVersion
	)
	if len(s) > maxPCValue-2 {
		s = s[:maxPCValue-2]
	}
	buf := s + " "
	var deps []pcDep
	state := outside
	start := 0
	var pkg string
	var opName []byte
	compare := "(any)"
	vstart := 0
	for i := 0; i < len(buf); i++ {
		c := buf[i]
		switch state {
		case outside:
			if !isPCSep(c) {
				state = inName
			}
		case inName:
			if isCSpace(c) {
				j := i
				for j < len(buf) && isCSpace(buf[j]) {
					j++
				}
				switch {
				case j >= len(buf), isPCSep(buf[j]):
					state = outside
				case isPCOp(buf[j]):
					state = beforeOp
				default:
					state = outside
				}
			} else if isPCSep(c) {
				state = outside
			} else if i+1 == len(buf) {
				i++
				state = outside
			}
			if state != inName && start != i {
				k := start
				for k < i && isPCSep(buf[k]) {
					k++
				}
				pkg = buf[k:i]
				start = i
			}
			if state == outside {
				deps = append(deps, pcDep{name: pkg})
				compare = "(any)"
				pkg = ""
			}
		case beforeOp:
			if isPCOp(c) {
				state = inOp
				if len(opName) < 255 {
					opName = append(opName, c)
				}
			}
		case inOp:
			if !isPCOp(c) {
				state = afterOp
				compare = "(any)"
				if pcComparators[string(opName)] {
					compare = string(opName)
				}
			} else if len(opName) < 255 {
				opName = append(opName, c)
			}
		case afterOp:
			if !isCSpace(c) {
				vstart = i
				state = inVersion
			}
		case inVersion:
			if isPCSep(c) || i+1 == len(buf) {
				deps = append(deps, pcDep{name: pkg, op: compare, version: buf[vstart:i], versioned: true})
				state = outside
				compare = "(any)"
				opName = opName[:0]
				pkg = ""
			}
			if state == outside {
				start = i
			}
		}
	}
	// pkgconf drops dependencies with an empty name (pkgconf_dependency_addraw
	// is called with a zero-length package only from a malformed list).
	out := deps[:0]
	for _, d := range deps {
		if d.name != "" {
			out = append(out, d)
		}
	}
	return out
}

// pcRequires and pcProvides turn pkgconf's lines into pkgconfigdeps.sh's
// output: "pkgconfig(NAME) [OP VERSION]" from the first three words.
func pcDepLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		s := "pkgconfig(" + f[0] + ")"
		if len(f) >= 3 {
			s += " " + f[1] + " " + strings.Join(f[2:], " ")
		}
		out = append(out, s)
	}
	return out
}
