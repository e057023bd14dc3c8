package autodeps

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// perl.req, rpm's requires generator for Perl scripts and modules, is a
// line-by-line heuristic; perlRequires follows it line for line,
// including how it skips here-documents, quoted blocks and POD.

var (
	plHeredocAssign1 = quoteVariants(`^\s*(?:my\s*)?\$(?:.*)\s*=\s*<<\s*(Q)(.+?)Q`)
	plHeredocAssign2 = regexp.MustCompile(plRe(`^\s*(?:my\s*)?\$(.*)\s*=\s*<<(\w+)\s*;`))
	plQuoteOpen      = regexp.MustCompile(plRe(`^.*\Wq[qxwr]?\s*([{(\[#|/])[^})\]#|/]*\n?$`))
	plUseRequire     = regexp.MustCompile(plRe(`^\s*(require|use)\s`))
	plPodStart       = regexp.MustCompile(`^=(head[1-4]|pod|for|item)`)
	plDataEnd        = regexp.MustCompile(`^__(DATA|END)__\n?$`)
	plRPMRequires    = regexp.MustCompile(plRe(`(?i)^\s*(our\s+)?\$RPM_Requires\s*=\s*["'](.*)['"]`))
	plPrintHeredoc1  = quoteVariants(`print(?:\s+|\s+\S+\s+)<<\s*(Q)(.+?)Q`)
	plPrintHeredoc2  = regexp.MustCompile(plRe(`print(\s+|\s+\S+\s+)<<(\w+)`))
	plReturnHeredoc  = regexp.MustCompile(plRe(`return(\s+)<<(\w+)`))
	plOpenString     = []*regexp.Regexp{
		regexp.MustCompile(plRe(`\$\S+\s*=\s*(")([^"\\]|(\\.))*\n?$`)),
		regexp.MustCompile(plRe(`\$\S+\s*=\s*(')([^'\\]|(\\.))*\n?$`)),
		regexp.MustCompile(plRe(`print\s+(")([^"\\]|(\\.))*\n?$`)),
		regexp.MustCompile(plRe(`print\s+(')([^'\\]|(\\.))*\n?$`)),
	}
	plCloseString = map[string]*regexp.Regexp{
		`"`: regexp.MustCompile(`^([^\\"]|(\\.))*"`),
		`'`: regexp.MustCompile(`^([^\\']|(\\.))*'`),
	}
	plStatement = regexp.MustCompile(plRe(`^(\s*)(require|use)\s+['"]?([\w:./]+?)['"]?[\t; ]\s*([.0-9]+|(qw\s*[(/'"]\s*|['"])[^)/"'$]*?\s*[)/"'])?`))
	plModver    = regexp.MustCompile(`^[.0-9]+$`)
	plPerlVer   = regexp.MustCompile(`^v?([0-9._]+)$`)
	plQwList    = regexp.MustCompile(plRe(`^qw\s*[(/'"]\s*([^)/"']+?)\s*[)/"']`))
	plQuoted    = regexp.MustCompile(`"([^"']+)"|'([^"']+)'`)
	plOpenClose = strings.NewReplacer("{", "}", "(", ")", "[", "]")
	plSpaces    = regexp.MustCompile(`[\t\n\v\f\r ]+`)
	plFiveOO    = regexp.MustCompile(`5.00`)
)

// plLines splits like Perl's <FILE>: each line keeps its "\n".
func plLines(data []byte) []string {
	var out []string
	s := string(data)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func chomp(s string) string { return strings.TrimSuffix(s, "\n") }

// perlRequires is perl.req's output for one file.
func perlRequires(data []byte) []string {
	lines := plLines(data)
	var printed []string
	perlreq := map[string]bool{}
	require := map[string]string{}
	has := map[string]bool{}
	addRequire := func(module, ver string) {
		if has[module] && perlTrue(require[module]) {
			if perlTrue(ver) && perlVersionLess(require[module], ver) {
				require[module] = ver
			}
			return
		}
		has[module] = true
		require[module] = ver
	}
	i := 0
	next := func() (string, bool) {
		if i < len(lines) {
			i++
			return lines[i-1], true
		}
		return "", false
	}
	skipTo := func(tag string) { // while (<FILE>) { chomp; last if $_ eq $tag }
		for {
			l, ok := next()
			if !ok || chomp(l) == tag {
				return
			}
		}
	}
outer:
	for {
		line, ok := next()
		if !ok {
			break
		}
		if m := matchQuoteVariants(plHeredocAssign1, line, true); m != nil {
			skipTo(m[2])
			line, _ = next()
		} else if m := plHeredocAssign2.FindStringSubmatch(line); m != nil {
			skipTo(m[2])
			line, _ = next()
		}
		if m := plQuoteOpen.FindStringSubmatch(line); m != nil && !plUseRequire.MatchString(line) {
			tag := plOpenClose.Replace(m[1])
			for {
				l, ok := next()
				if !ok {
					line = ""
					break
				}
				line = l
				if strings.Contains(l, tag) {
					break
				}
			}
		}
		if plPodStart.MatchString(line) {
			for {
				l, ok := next()
				if !ok {
					line = ""
					break
				}
				if strings.HasPrefix(l, "=cut") {
					continue outer
				}
			}
		}
		if strings.HasPrefix(line, "=over") {
			for {
				l, ok := next()
				if !ok {
					line = ""
					break
				}
				if strings.HasPrefix(l, "=back") {
					continue outer
				}
			}
		}
		if plDataEnd.MatchString(line) {
			break
		}
		if m := plRPMRequires.FindStringSubmatch(line); m != nil {
			for _, f := range plSpaces.Split(m[2], -1) {
				if f != "" {
					printed = append(printed, f)
				}
			}
		}
		if m := matchQuoteVariants(plPrintHeredoc1, line, false); m != nil {
			skipTo(m[2])
			line, _ = next()
		} else if m := plPrintHeredoc2.FindStringSubmatch(line); m != nil {
			skipTo(m[2])
			line, _ = next()
		} else if m := plReturnHeredoc.FindStringSubmatch(line); m != nil {
			skipTo(m[2])
			line, _ = next()
		}
		for _, re := range plOpenString {
			if m := re.FindStringSubmatch(line); m != nil {
				closeRe := plCloseString[m[1]]
				for {
					l, ok := next()
					if !ok || closeRe.MatchString(l) {
						break
					}
				}
				line, _ = next()
				break
			}
		}
		m := plStatement.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ws, statement, module, version := m[1], m[2], m[3], m[4]
		if ws != "" && statement == "require" || module == "of" {
			continue
		}
		if strings.HasPrefix(module, "/") {
			printed = append(printed, module)
			continue
		}
		if j := strings.Index(module, "qw"); j >= 0 {
			module = module[:j]
		}
		if j := strings.IndexByte(module, '('); j >= 0 {
			module = module[:j]
		}
		module = strings.TrimSuffix(module, ".pm")
		module = strings.Replace(module, "/", "::", 1)
		if v := plPerlVer.FindStringSubmatch(module); v != nil {
			ver := v[1]
			if plFiveOO.MatchString(ver) {
				perlreq["0:"+ver] = true
			} else {
				perlreq["1:"+ver] = true
			}
			continue
		}
		if strings.HasSuffix(module, ".ph") {
			continue
		}
		if statement == "use" && (module == "base" || module == "parent") {
			addRequire(module, "")
			if q := plQwList.FindStringSubmatch(version); q != nil {
				for _, f := range strings.Fields(q[1]) {
					addRequire(f, "")
				}
			} else if q := plQuoted.FindStringSubmatch(version); q != nil {
				addRequire(q[1]+q[2], "")
			}
			continue
		}
		if !plModver.MatchString(version) {
			version = ""
		}
		addRequire(module, version)
	}
	out := printed
	vers := make([]string, 0, len(perlreq))
	for v := range perlreq {
		vers = append(vers, v)
	}
	sort.Strings(vers)
	for _, v := range vers {
		out = append(out, "perl >= "+v)
	}
	mods := make([]string, 0, len(require))
	for m := range require {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		if require[m] == "" {
			out = append(out, "perl("+m+")")
		} else {
			out = append(out, "perl("+m+") >= "+require[m])
		}
	}
	return out
}

// quoteVariants compiles a pattern written with a back-reference to its
// opening quote (Q stands for the quote) once per quote character.
func quoteVariants(pattern string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, q := range []string{`"`, `'`, "`"} {
		out = append(out, regexp.MustCompile(plRe(strings.ReplaceAll(pattern, "Q", regexp.QuoteMeta(q)))))
	}
	return out
}

// matchQuoteVariants gives the match Perl's backtracking would: for an
// anchored pattern with a greedy prefix the rightmost tag, otherwise the
// leftmost match.
func matchQuoteVariants(res []*regexp.Regexp, line string, rightmost bool) []string {
	var best []string
	bestPos := -1
	for _, re := range res {
		loc := re.FindStringSubmatchIndex(line)
		if loc == nil {
			continue
		}
		pos := loc[4]
		if !rightmost {
			pos = -loc[0]
		}
		if best == nil || pos > bestPos {
			best, bestPos = []string{line[loc[0]:loc[1]], line[loc[2]:loc[3]], line[loc[4]:loc[5]]}, pos
		}
	}
	return best
}

// plRe turns Perl's \s and \S (which include the vertical tab) into
// classes Go's regexp understands the same way.
func plRe(p string) string {
	p = strings.ReplaceAll(p, `\s`, `[\t\n\v\f\r ]`)
	return strings.ReplaceAll(p, `\S`, `[^\t\n\v\f\r ]`)
}

func perlTrue(s string) bool { return s != "" && s != "0" }

// perlVersionLess is version.pm's a < b for the [.0-9]+ strings perl.req
// compares: two or more dots make a dotted-decimal version, otherwise the
// fraction counts in groups of three digits.
func perlVersionLess(a, b string) bool {
	pa, pb := perlVersionParts(a), perlVersionParts(b)
	n := max(len(pa), len(pb))
	for i := 0; i < n; i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func perlVersionParts(v string) []int {
	if strings.Count(v, ".") >= 2 {
		var out []int
		for _, p := range strings.Split(v, ".") {
			n, _ := strconv.Atoi(p)
			out = append(out, n)
		}
		return out
	}
	whole, frac, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(whole)
	out := []int{n}
	for len(frac) > 0 {
		g := frac[:min(3, len(frac))]
		frac = frac[len(g):]
		g += strings.Repeat("0", 3-len(g))
		x, _ := strconv.Atoi(g)
		out = append(out, x)
	}
	return out
}

var (
	ppPodStart  = regexp.MustCompile(`^=(head[1-4]|pod|for|item)`)
	ppComment   = regexp.MustCompile(plRe(`^\s*#`))
	ppHeredoc   = regexp.MustCompile(plRe(`<<\s*["'](\w+)["']\s*;\s*$`))
	ppPackage   = regexp.MustCompile(plRe(`^\s*package\s+([_:a-zA-Z0-9]+)\s*(?:v?([0-9_.]+)\s*)?[;{]`))
	ppRevision  = regexp.MustCompile(`\$Revision: ([0-9]+[.0-9]+)`)
	ppVersion   = regexp.MustCompile(plRe(`=\s*['"]?([0-9]+[._0-9]+)['"]?`))
	ppProvides  = regexp.MustCompile(plRe(`(?i)^\s*(our\s+)?\$RPM_Provides\s*=\s*["'](.*)['"]`))
	ppTrailingW = regexp.MustCompile(plRe(`^\s*$`))
)

// perlProvides is perl.prov's output for one .pm file. perl.prov dies
// on an unclosed here-document before printing; rpmbuild ignores its exit
// status, so such a module provides nothing.
func perlProvides(data []byte) []string {
	var printed []string
	require := map[string]string{}
	has := map[string]bool{}
	var pkg, version string
	var havePkg, incomment, inover, inHeredoc bool
	var heredoc, versionPkg string
	var versionRe *regexp.Regexp
	for _, line := range plLines(data) {
		if !inHeredoc {
			if ppPodStart.MatchString(line) {
				incomment = true
			}
			if strings.HasPrefix(line, "=cut") {
				incomment, inover = false, false
			}
			if strings.HasPrefix(line, "=over") {
				inover = true
			}
			if strings.HasPrefix(line, "=back") {
				inover = false
			}
			if incomment || inover || ppComment.MatchString(line) {
				continue
			}
			if plDataEnd.MatchString(line) {
				break
			}
			if m := ppHeredoc.FindStringSubmatch(line); m != nil {
				heredoc, inHeredoc = m[1], true
			}
		} else {
			if strings.HasPrefix(line, heredoc) && ppTrailingW.MatchString(line[len(heredoc):]) {
				inHeredoc = false
			}
			continue
		}
		if m := ppPackage.FindStringSubmatch(line); m != nil {
			pkg, version, havePkg = m[1], m[2], true
			if pkg == "main" {
				havePkg = false
			} else if !has[pkg] {
				has[pkg] = true
				require[pkg] = version
			}
		}
		if havePkg && pkg != "" && pkg != "0" {
			if versionRe == nil || versionPkg != pkg {
				versionRe = regexp.MustCompile(plRe(`^\s*(our\s+)?\$(` + regexp.QuoteMeta(pkg) + `::)?VERSION\s*=\s+`))
				versionPkg = pkg
			}
			if versionRe.MatchString(line) {
				if m := ppRevision.FindStringSubmatch(line); m != nil {
					version = m[1]
				} else if m := ppVersion.FindStringSubmatch(line); m != nil {
					version = m[1]
				}
				has[pkg] = true
				require[pkg] = version
			}
		}
		if m := ppProvides.FindStringSubmatch(line); m != nil {
			for _, f := range plSpaces.Split(m[2], -1) {
				if f != "" {
					printed = append(printed, f)
				}
			}
		}
	}
	if inHeredoc {
		return nil
	}
	mods := make([]string, 0, len(require))
	for m := range require {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	out := printed
	for _, m := range mods {
		if require[m] == "" {
			out = append(out, "perl("+m+")")
		} else {
			out = append(out, "perl("+m+") = "+require[m])
		}
	}
	return out
}
