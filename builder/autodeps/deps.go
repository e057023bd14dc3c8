package autodeps

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Sense is rpm's dependency flags word (RPMSENSE_*), as written to
// REQUIREFLAGS and PROVIDEFLAGS.
type Sense uint32

// The rpm sense bits autodeps produces.
const (
	SenseLess         Sense = 1 << 1
	SenseGreater      Sense = 1 << 2
	SenseEqual        Sense = 1 << 3
	SenseFindRequires Sense = 1 << 14 // set on every generated requires
	SenseFindProvides Sense = 1 << 15 // set on every generated provides

	senseMask = SenseLess | SenseGreater | SenseEqual
)

// Dep is one dependency: a name, an rpm sense and an EVR ("" when the
// dependency is unversioned). Rich dependencies ("(a with b)") are a Name
// with no version, as rpm stores them.
type Dep struct {
	Name    string
	Flags   Sense
	Version string
}

// String gives the dependency as rpm -q --requires prints it.
func (d Dep) String() string {
	op := d.op()
	if op == "" || d.Version == "" {
		return d.Name
	}
	return d.Name + " " + op + " " + d.Version
}

func (d Dep) op() string {
	switch d.Flags & senseMask {
	case SenseLess:
		return "<"
	case SenseGreater:
		return ">"
	case SenseEqual:
		return "="
	case SenseLess | SenseEqual:
		return "<="
	case SenseGreater | SenseEqual:
		return ">="
	}
	return ""
}

func (d Dep) versioned() bool { return d.Flags&senseMask != 0 }

// compareDeps orders dependencies as rpm orders a package's dependency set:
// by name, then version, then flags, all byte-wise.
func compareDeps(a, b Dep) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	return cmp.Compare(a.Flags, b.Flags)
}

// mergeDeps returns deps sorted as rpm sorts them, without duplicates.
func mergeDeps(deps []Dep) []Dep {
	out := slices.Clone(deps)
	slices.SortFunc(out, compareDeps)
	return slices.CompactFunc(out, func(a, b Dep) bool { return compareDeps(a, b) == 0 })
}

// rpmOps are the comparison tokens rpm's parser knows (rpmds.c
// ReqComparisons); anything else after a name is the next name.
var rpmOps = map[string]Sense{
	"<=": SenseLess | SenseEqual, "=<": SenseLess | SenseEqual, "<": SenseLess,
	"==": SenseEqual, "=": SenseEqual,
	">=": SenseGreater | SenseEqual, "=>": SenseGreater | SenseEqual, ">": SenseGreater,
}

// allowedEVR is the set of characters rpm accepts in a version beside
// ASCII letters and digits (ALLOWED_CHARS_EVR).
const allowedEVR = "._+%{}~^-:"

func isRPMSep(c byte) bool { return isSpace(c) || c == ',' }

// parseDepLines turns a generator's output into dependencies the way
// rpm 4.18's parseRCPOT does: blanks and commas separate tokens; a token
// is a name, optionally followed by an operator token and a version; a
// token starting with '(' is a rich dependency up to its closing
// parenthesis (allowed in requires only). It fails where rpmbuild fails
// the build.
func parseDepLines(lines []string, sense Sense) ([]Dep, error) {
	var deps []Dep
	for _, line := range lines {
		i := 0
		for {
			for i < len(line) && isRPMSep(line[i]) {
				i++
			}
			if i >= len(line) {
				break
			}
			if line[i] == '(' {
				if sense&SenseFindProvides != 0 {
					return nil, &DepError{Line: line, Reason: "no rich dependencies allowed for this type"}
				}
				end, ok := richEnd(line[i:])
				if !ok {
					return nil, &DepError{Line: line, Reason: "unterminated rich dependency"}
				}
				deps = append(deps, Dep{Name: line[i : i+end], Flags: sense})
				i += end
				continue
			}
			j := i
			for j < len(line) && !isRPMSep(line[j]) {
				j++
			}
			d := Dep{Name: line[i:j], Flags: sense}
			v := j
			for v < len(line) && isRPMSep(line[v]) {
				v++
			}
			ve := v
			for ve < len(line) && !isRPMSep(line[ve]) {
				ve++
			}
			i = v
			if op, ok := rpmOps[line[v:ve]]; ok && ve > v {
				e := ve
				for e < len(line) && isRPMSep(line[e]) {
					e++
				}
				ee := e
				for ee < len(line) && !isRPMSep(line[ee]) {
					ee++
				}
				if ee == e {
					return nil, &DepError{Line: line, Reason: "version required"}
				}
				d.Flags |= op
				d.Version = line[e:ee]
				i = ee
			}
			if err := checkDep(d); err != "" {
				return nil, &DepError{Line: line, Reason: err}
			}
			deps = append(deps, d)
		}
	}
	return deps, nil
}

// richEnd returns the length of the parenthesized group s starts with.
func richEnd(s string) (int, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// checkDep is rpm's checkDep and rpmCharCheck for a generated dependency.
func checkDep(d Dep) string {
	if c := d.Name[0]; c < 0x80 && !(isAlnum(c) || c == '_' || c == '/') {
		return "dependency tokens must begin with alpha-numeric, '_' or '/'"
	}
	if d.Version == "" && !d.versioned() {
		return ""
	}
	if d.Name[0] == '/' {
		return "versioned file name not permitted"
	}
	for i := 0; i < len(d.Version); i++ {
		if c := d.Version[i]; !isAlnum(c) && !strings.ContainsRune(allowedEVR, rune(c)) {
			return fmt.Sprintf("illegal char 0x%x in version", c)
		}
	}
	if strings.Contains(d.Version, "..") {
		return "illegal sequence \"..\" in version"
	}
	for _, sep := range []string{"-", ":"} {
		if strings.Count(d.Version, sep) > 1 {
			return "invalid version (double separator '" + sep + "')"
		}
	}
	if epoch, _, ok := strings.Cut(d.Version, ":"); ok {
		for i := 0; i < len(epoch); i++ {
			if epoch[i] < '0' || epoch[i] > '9' {
				return "invalid version (epoch must be unsigned integer)"
			}
		}
	}
	return ""
}

// DepError is a generator output line rpmbuild would refuse, failing the
// build.
type DepError struct {
	Line   string
	Reason string
}

func (e *DepError) Error() string {
	return "autodeps: bad dependency " + quote(e.Line) + ": " + e.Reason
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return "\"" + strings.ToValidUTF8(s, "\uFFFD") + "\""
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
