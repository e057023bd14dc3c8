package autodeps

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// markerEnv is the environment pythondistdeps.py evaluates markers in: the
// distribution's Python version for python_version and
// python_full_version, no extra, and a Linux CPython x86_64 host for the
// rest (packaging takes those from the Python running the generator).
func markerEnv(pyver string) map[string]string {
	return map[string]string{
		"python_version":                 pyver,
		"python_full_version":            pyver,
		"extra":                          "",
		"os_name":                        "posix",
		"sys_platform":                   "linux",
		"platform_system":                "Linux",
		"platform_machine":               "x86_64",
		"platform_python_implementation": "CPython",
		"implementation_name":            "cpython",
		"implementation_version":         pyver,
	}
}

type markerParser struct {
	toks []string
	pos  int
	env  map[string]string
}

// evalMarker evaluates a PEP 508 environment marker.
func evalMarker(m string, pyver string) (bool, error) {
	toks, err := markerTokens(m)
	if err != nil {
		return false, err
	}
	p := &markerParser{toks: toks, env: markerEnv(pyver)}
	v, err := p.or(0)
	if err != nil {
		return false, err
	}
	if p.pos != len(p.toks) {
		return false, fmt.Errorf("invalid marker %s", quote(m))
	}
	return v, nil
}

func markerTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("invalid marker %s", quote(s))
			}
			toks = append(toks, s[i:i+2+j])
			i += 2 + j
		case strings.ContainsRune("<>=!~", rune(c)):
			j := i
			for j < len(s) && strings.ContainsRune("<>=!~", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_' || s[j] == '.') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("invalid marker %s", quote(s))
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *markerParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *markerParser) or(depth int) (bool, error) {
	if depth > 64 {
		return false, fmt.Errorf("marker nested too deep")
	}
	v, err := p.and(depth)
	for err == nil && p.peek() == "or" {
		p.pos++
		var w bool
		w, err = p.and(depth)
		v = v || w
	}
	return v, err
}

func (p *markerParser) and(depth int) (bool, error) {
	v, err := p.atom(depth)
	for err == nil && p.peek() == "and" {
		p.pos++
		var w bool
		w, err = p.atom(depth)
		v = v && w
	}
	return v, err
}

func (p *markerParser) atom(depth int) (bool, error) {
	if p.peek() == "(" {
		p.pos++
		v, err := p.or(depth + 1)
		if err != nil {
			return false, err
		}
		if p.peek() != ")" {
			return false, fmt.Errorf("invalid marker: missing )")
		}
		p.pos++
		return v, nil
	}
	lhs, lvar, err := p.value()
	if err != nil {
		return false, err
	}
	op := p.peek()
	p.pos++
	if op == "not" {
		if p.peek() != "in" {
			return false, fmt.Errorf("invalid marker operator not")
		}
		p.pos++
		op = "not in"
	}
	rhs, rvar, err := p.value()
	if err != nil {
		return false, err
	}
	if lvar == "extra" || rvar == "extra" {
		lhs, rhs = strings.ToLower(lhs), strings.ToLower(rhs)
	}
	return compareMarker(lhs, op, rhs)
}

func (p *markerParser) value() (string, string, error) {
	t := p.peek()
	p.pos++
	if t == "" {
		return "", "", fmt.Errorf("invalid marker: value expected")
	}
	if t[0] == '"' || t[0] == '\'' {
		return t[1 : len(t)-1], "", nil
	}
	v, ok := p.env[t]
	if !ok {
		return "", "", fmt.Errorf("invalid marker variable %s", quote(t))
	}
	return v, t, nil
}

func compareMarker(l, op, r string) (bool, error) {
	switch op {
	case "in":
		return strings.Contains(r, l), nil
	case "not in":
		return !strings.Contains(r, l), nil
	}
	lv, lerr := parsePyVersion(l)
	rv, rerr := parsePyVersion(r)
	if lerr == nil && rerr == nil {
		c := compareRelease(lv, rv)
		switch op {
		case "==", "===":
			return c == 0, nil
		case "!=":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		case ">=":
			return c >= 0, nil
		case "~=":
			if len(rv.release) < 2 {
				return false, fmt.Errorf("invalid marker ~= %s", quote(r))
			}
			prefix := rv.release[:len(rv.release)-1]
			return c >= 0 && len(lv.release) >= len(prefix) && slices.Equal(padRelease(lv.release, len(prefix))[:len(prefix)], prefix), nil
		}
		return false, fmt.Errorf("invalid marker operator %s", quote(op))
	}
	switch op {
	case "==", "===":
		return l == r, nil
	case "!=":
		return l != r, nil
	}
	return false, fmt.Errorf("invalid marker comparison %s %s %s", quote(l), op, quote(r))
}

func padRelease(r []int, n int) []int {
	for len(r) < n {
		r = append(r, 0)
	}
	return r
}

// compareRelease orders versions by epoch and release; pre-, post- and
// dev-releases order as PEP 440 says for the common cases.
func compareRelease(a, b *pyVersion) int {
	if c := cmp.Compare(a.epoch, b.epoch); c != 0 {
		return c
	}
	n := max(len(a.release), len(b.release))
	if c := slices.Compare(padRelease(slices.Clone(a.release), n), padRelease(slices.Clone(b.release), n)); c != 0 {
		return c
	}
	rank := func(v *pyVersion) int {
		switch {
		case v.hasDev && !v.hasPre && !v.hasPost:
			return 0
		case v.hasPre:
			return 1
		case v.hasPost:
			return 3
		}
		return 2
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	return cmp.Compare(a.pre+a.post, b.pre+b.post)
}
