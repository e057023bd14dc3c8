package autodeps

import (
	"bytes"
	"regexp"
	"strings"
)

// shebang describes how libmagic 5.44 (Debian's magic database) names a
// "#!" file: by an interpreter pattern, in one of three shapes.
type shebang struct {
	re     *regexp.Regexp
	desc   string
	shape  int  // shapeText, shapeExecText or shapeLiteral
	binary bool // also matches a file that is not text
}

const (
	shapeText     = iota // "X script, ENC text executable"
	shapeExecText        // "X script executable, ENC text"
	shapeLiteral         // the description alone
)

// magic pattern flags: 'w' lets the blanks in the pattern (and after
// "#!") match any run of blanks including none; 'W' at least one; 'f'
// requires the pattern to end at a blank or at the end; 'p' matches a
// prefix only.
func shebangRe(pattern, flags string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^#!`)
	blank := ` `
	switch {
	case strings.Contains(flags, "w"):
		blank = `[ \t]*`
	case strings.Contains(flags, "W"):
		blank = `[ \t]+`
	}
	if strings.HasPrefix(pattern, " ") {
		b.WriteString(blank)
		pattern = pattern[1:]
	}
	for i, part := range strings.Split(pattern, " ") {
		if i > 0 {
			b.WriteString(blank)
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	if strings.Contains(flags, "f") {
		b.WriteString(`(?:[ \t\r\n\v\f]|$)`)
	}
	return regexp.MustCompile(b.String())
}

var shebangs = func() []shebang {
	var out []shebang
	add := func(desc string, shape int, binary bool, flags string, patterns ...string) {
		for _, p := range patterns {
			out = append(out, shebang{shebangRe(p, flags), desc, shape, binary})
		}
	}
	add("POSIX shell script", shapeText, true, "fw", " /bin/sh")
	add("C shell script", shapeText, false, "fw", " /bin/csh")
	add("Korn shell script", shapeText, true, "fw", " /bin/ksh")
	add("Tenex C shell script", shapeText, false, "fw", " /bin/tcsh", " /usr/bin/tcsh", " /usr/local/tcsh", " /usr/local/bin/tcsh")
	add("Paul Falstad's zsh script", shapeText, false, "fw", " /bin/zsh", " /usr/bin/zsh", " /usr/local/bin/zsh", " /usr/bin/env zsh")
	add("Neil Brown's ash script", shapeText, false, "fw", " /bin/ash", " /usr/bin/ash", " /usr/local/bin/ash")
	add("Neil Brown's ae script", shapeText, false, "fw", " /usr/local/bin/ae")
	add("new awk script", shapeText, false, "fw", " /bin/nawk", " /usr/bin/nawk", " /usr/local/bin/nawk")
	add("GNU awk script", shapeText, false, "fw", " /bin/gawk", " /usr/local/bin/gawk")
	add("GNU awk script", shapeText, false, "w", " /usr/bin/gawk")
	add("awk script", shapeText, false, "fw", " /bin/awk", " /usr/bin/awk")
	add("Plan 9 rc shell script", shapeText, false, "fw", " /bin/rc")
	add("Bourne-Again shell script", shapeText, true, "fw", " /bin/bash", " /usr/bin/bash", " /usr/local/bash", " /usr/local/bin/bash")
	add("Bourne-Again shell script", shapeText, false, "fw", " /usr/bin/env bash")
	add("fish shell script", shapeText, false, "fw", " /usr/local/bin/fish", " /usr/bin/fish", " /usr/bin/env fish")
	add("Tcl/Tk script", shapeText, false, "fw", " /usr/bin/tclsh")
	add("LuaTex script", shapeText, false, "fw", " /usr/bin/texlua", " /usr/bin/luatex")
	add("Systemtap script", shapeText, false, "fw", " /usr/bin/stap")
	add("execline script", shapeText, false, "fw", " /command/execlineb", " /bin/execlineb", " /usr/bin/execlineb", " /usr/bin/env execlineb")
	add("PHP script", shapeText, false, "w", " /usr/local/bin/php", " /usr/bin/php")
	add("Lua script", shapeText, false, "w", " /usr/bin/lua", " /usr/local/bin/lua")
	add("Lua script", shapeText, false, "", "/usr/bin/env lua", " /usr/bin/env lua")
	add("Python script", shapeText, false, "w", " /usr/bin/python", " /usr/local/bin/python", " /usr/bin/env python")
	add("Ruby script", shapeText, false, "w", " /usr/bin/ruby", " /usr/local/bin/ruby")
	add("Ruby script", shapeText, false, "", "/usr/bin/env ruby", " /usr/bin/env ruby")
	add("Tcl script", shapeText, false, "w", " /usr/bin/tcl", " /usr/local/bin/tcl")
	add("Tcl script", shapeText, false, "", "/usr/bin/env tcl", " /usr/bin/env tcl")
	add("Tcl/Tk script", shapeText, false, "w", " /usr/bin/wish", " /usr/local/bin/wish")
	add("Tcl/Tk script", shapeText, false, "", "/usr/bin/env wish", " /usr/bin/env wish")
	add("Clojure script", shapeText, false, "w", " /usr/bin/clj", " /usr/local/bin/clj", " /usr/bin/clojure", " /usr/local/bin/clojure")
	add("Clojure script", shapeText, false, "W", "/usr/bin/env clj", "/usr/bin/env clojure", " /usr/bin/env clj", " /usr/bin/env clojure")
	add("Node.js script executable", shapeExecText, false, "w", "/bin/node", "/usr/bin/node", "/bin/nodejs", "/usr/bin/nodejs")
	add("Node.js script executable", shapeExecText, false, "", "/usr/bin/env node", "/usr/bin/env nodejs")
	add("GHC script executable", shapeExecText, false, "fw", " /usr/bin/env runghc")
	add("Haskell script executable", shapeExecText, false, "fw", " /usr/bin/env runhaskell")
	add("Julia script executable", shapeExecText, false, "fw", " /usr/bin/env julia")
	add("Perl script text executable", shapeLiteral, true, "", "/usr/bin/env perl", " /usr/bin/env perl")
	out = append(out, shebang{regexp.MustCompile(`(?m)^#!.*/bin/perl([\t\v\f\r ].*)?$`), "Perl script text executable", shapeLiteral, true})
	return out
}()

var envShebang = regexp.MustCompile(`^#![ \t]*/usr/bin/env`)

// shebangType describes a file starting with "#!"; enc is its text
// encoding ("" when it is not text).
func shebangType(b []byte, enc string) string {
	line := b
	if i := indexNL(line); i >= 0 {
		line = line[:i]
	}
	for _, s := range shebangs {
		m := b
		if s.shape == shapeLiteral {
			m = b[:min(len(b), 8192)] // the Perl regex looks at every line
		}
		if !s.re.Match(m) || enc == "" && !s.binary {
			continue
		}
		if enc == "" {
			if s.shape == shapeLiteral {
				return s.desc
			}
			return s.desc + " executable (binary data)"
		}
		switch s.shape {
		case shapeText:
			return s.desc + ", " + enc + " executable" + textRemarks(b)
		case shapeExecText:
			return s.desc + ", " + enc + textRemarks(b)
		}
		return s.desc
	}
	// libmagic's catch-all: "a" and the rest of the line (after
	// /usr/bin/env when it is that), trimmed, and "script".
	rest := string(line[2:])
	if loc := envShebang.FindIndex(line); loc != nil {
		rest = string(line[loc[1]:])
		if strings.TrimSpace(rest) == "" {
			if enc == "" {
				return "data"
			}
			return "a, " + enc + textRemarks(b)
		}
	}
	name := "a " + strings.Trim(rest, " \t\r\v\f") + " script"
	if enc == "" {
		return name + " executable (binary data)"
	}
	return name + ", " + enc + " executable" + textRemarks(b)
}

var (
	pyFromImport = regexp.MustCompile(`(?m)^from[ \t]+([A-Za-z0-9_]|\.)+[ \t]+import.*$`)
	pyImportAs   = regexp.MustCompile(`(?m)^import [_A-Za-z]+ as [A-Za-z][\t\n\v\f\r ]*$`)
	pyExcept     = regexp.MustCompile(`(?m)^[\t\n\v\f\r ]*except.*:$`)
	pyClass      = regexp.MustCompile(`(?m)^class [_A-Za-z]+(\(.*\))? *:([ \t]+pass)?$`)
	pyDef        = regexp.MustCompile(`(?m)^[\t\n\v\f\r ]{0,50}def {1,50}[_a-zA-Z]{1,100}`)
	pyDefArgs    = regexp.MustCompile(`(?m)\(([A-Za-z*_, ]){0,255}\):$`)
)

// pythonHeuristic is libmagic's Python detection for text without "#!":
// from-imports, "import x as y", __init__ with self, a __main__ check,
// try/except, class and def lines, each in the window libmagic searches.
func pythonHeuristic(b []byte) bool {
	win := func(from, n int) []byte {
		if from > len(b) {
			return nil
		}
		return b[from:min(len(b), from+n)]
	}
	w8 := win(0, 8192)
	if bytes.Contains(w8, []byte("import")) && (pyFromImport.Match(w8) || pyImportAs.Match(w8)) {
		return true
	}
	if i := bytes.Index(win(0, 4096+len("def __init__")), []byte("def __init__")); i >= 0 {
		end := i + len("def __init__")
		if bytes.Contains(win(end, 64+len("self")), []byte("self")) {
			return true
		}
	}
	if i := bytes.Index(win(0, 4096+len("if __name__")), []byte("if __name__")); i >= 0 {
		after := win(i+len("if __name__"), 64+len("'__main__'"))
		if bytes.Contains(after, []byte("'__main__'")) || bytes.Contains(after, []byte(`"__main__"`)) {
			return true
		}
	}
	if i := bytes.Index(win(0, 4096+len("try:")), []byte("try:")); i >= 0 {
		after := b[i+len("try:"):]
		if pyExcept.Match(after[:min(len(after), 8192)]) || bytes.Contains(win(i+len("try:"), 4096+len("finally:")), []byte("finally:")) {
			return true
		}
	}
	if bytes.Contains(w8, []byte("class")) && pyClass.Match(w8) {
		return true
	}
	if bytes.Contains(w8, []byte("def ")) {
		if loc := pyDef.FindIndex(w8); loc != nil && pyDefArgs.Match(b[loc[1]:min(len(b), loc[1]+8192)]) {
			return true
		}
	}
	return false
}

var (
	xmlSVG     = regexp.MustCompile(`^<\?xml version=['"\t ]*[0-9.]+['"\t ]*`)
	htmlTagRes = []*regexp.Regexp{
		regexp.MustCompile(`(?i)<!doctype[\t\n\v\f\r ]+html`),
		regexp.MustCompile(`(?i)<[\t\n\v\f\r ]*(head|title|html|script|style|table)[\t\n\v\f\r ]*>`),
		regexp.MustCompile(`(?i)<(head|title|html|script|style|table)[\t\n\v\f\r ]+`),
		regexp.MustCompile(`(?i)<[\t\n\v\f\r ]*a[\t\n\v\f\r ]*href=`),
	}
	sgmlRes = []struct {
		re   *regexp.Regexp
		desc string
	}{
		{regexp.MustCompile(`(?i)<[\t\n\v\f\r ]*!doctype`), "exported SGML document"},
		{regexp.MustCompile(`(?i)<[\t\n\v\f\r ]*!subdoc`), "exported SGML subdocument"},
		{regexp.MustCompile(`(?i)<[\t\n\v\f\r ]*!--`), "exported SGML document"},
	}
	xmlLoose = regexp.MustCompile(`(?i)^<[\t\n\v\f\r ]*\?[\t\n\v\f\r ]*xml`)
)

// markupType is libmagic's sgml magic for the common cases: SVG, the XML
// prolog, HTML documents and exported SGML. literal reports a description
// libmagic prints without the text encoding.
func markupType(b []byte) (desc string, literal bool) {
	w := b[:min(len(b), 4096+16)]
	if bytes.HasPrefix(b, []byte("<svg")) {
		return "SVG Scalable Vector Graphics image", true
	}
	if loc := xmlSVG.FindIndex(b); loc != nil && len(b) > 19 && bytes.Contains(b[19:min(len(b), 19+4096+4)], []byte("<svg")) {
		return "SVG Scalable Vector Graphics image", true
	}
	for _, p := range []string{`<?xml version="`, `<?xml version='`, `<?xml version "`} {
		if bytes.HasPrefix(b, []byte(p)) {
			if len(b) > 15 && b[15] != 0 {
				v := b[15:min(len(b), 18)]
				if i := bytes.IndexByte(v, 0); i >= 0 {
					v = v[:i]
				}
				return "XML " + string(v) + " document", false
			}
			return "XML", false
		}
	}
	if xmlLoose.Match(b) {
		return "XML document", false
	}
	for _, re := range htmlTagRes {
		if re.Match(w) {
			return "HTML document", false
		}
	}
	for _, s := range sgmlRes {
		if s.re.Match(w) {
			return s.desc, false
		}
	}
	return "", false
}
