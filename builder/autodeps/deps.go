package autodeps

import (
	"cmp"
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

func senseFromOp(op string) (Sense, bool) {
	switch op {
	case "<":
		return SenseLess, true
	case ">":
		return SenseGreater, true
	case "=", "==":
		return SenseEqual, true
	case "<=", "=<":
		return SenseLess | SenseEqual, true
	case ">=", "=>":
		return SenseGreater | SenseEqual, true
	}
	return 0, false
}

// allowedEVR is the set of characters rpm accepts in a version beside
// letters and digits (ALLOWED_CHARS_EVR).
const allowedEVR = ".-_+:%{}~^"

// parseDepLines turns a generator's output into dependencies the way rpm's
// parseRCPOT does: each line is a sequence of whitespace-separated tokens,
// a name optionally followed by an operator and a version; a line starting
// with '(' is one rich dependency. It fails where rpm fails the build.
func parseDepLines(lines []string, sense Sense) ([]Dep, error) {
	var deps []Dep
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "(") {
			deps = append(deps, Dep{Name: line, Flags: sense})
			continue
		}
		toks := strings.Fields(line)
		for i := 0; i < len(toks); i++ {
			n := toks[i]
			c := n[0]
			if c < 0x80 && !(isAlnum(c) || c == '_' || c == '/') {
				return nil, &DepError{Line: line, Reason: "dependency tokens must begin with alpha-numeric, '_' or '/'"}
			}
			d := Dep{Name: n, Flags: sense}
			if i+1 < len(toks) {
				if op, ok := senseFromOp(toks[i+1]); ok {
					if i+2 >= len(toks) {
						return nil, &DepError{Line: line, Reason: "version required"}
					}
					v := toks[i+2]
					if n[0] == '/' {
						return nil, &DepError{Line: line, Reason: "versioned file name not permitted"}
					}
					for j := 0; j < len(v); j++ {
						if !isAlnum(v[j]) && !strings.ContainsRune(allowedEVR, rune(v[j])) {
							return nil, &DepError{Line: line, Reason: "illegal char in version"}
						}
					}
					d.Flags |= op
					d.Version = v
					i += 2
				}
			}
			deps = append(deps, d)
		}
	}
	return deps, nil
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
