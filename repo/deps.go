package repo

import (
	"github.com/acn-project/acn/internal/rpmver"

	"strings"

	"github.com/cavaliergopher/rpm"

	"github.com/acn-project/acn/internal/rpmtag"
)

// rawDep is a header dependency before createrepo_c's rules apply.
type rawDep struct {
	name, version string // version as in the header: [E:]V[-R]
	flags         int64
}

// rawDeps reads one dependency list as createrepo_c does: only when the
// header has all three tags, as many entries as each of them has.
func rawDeps(h *rpm.Header, nameTag, versionTag, flagsTag int) []rawDep {
	nt, vt, ft := h.GetTag(nameTag), h.GetTag(versionTag), h.GetTag(flagsTag)
	if nt == nil || vt == nil || ft == nil {
		return nil
	}
	return zipDeps(nt.StringSlice(), vt.StringSlice(), ft.Int64Slice())
}

func zipDeps(names, versions []string, flags []int64) []rawDep {
	n := min(len(names), len(versions), len(flags))
	out := make([]rawDep, n)
	for i := range n {
		out[i] = rawDep{name: names[i], version: versions[i], flags: flags[i]}
	}
	return out
}

// toDep converts a header dependency as createrepo_c does; ok is false for
// one it drops (no name, or an epoch that is not a number).
func toDep(r rawDep) (Dep, bool) {
	if r.name == "" {
		return Dep{}, false
	}
	d := Dep{Name: r.name, Flags: flagName(r.flags)}
	if r.version != "" {
		var ok bool
		d.Epoch, d.Version, d.Release, ok = splitEVR(r.version)
		if !ok {
			return Dep{}, false
		}
	}
	return d, true
}

func flagName(f int64) string {
	switch f & 0xf {
	case rpmtag.SenseLess:
		return "LT"
	case rpmtag.SenseGreater:
		return "GT"
	case rpmtag.SenseEqual:
		return "EQ"
	case rpmtag.SenseLess | rpmtag.SenseEqual:
		return "LE"
	case rpmtag.SenseGreater | rpmtag.SenseEqual:
		return "GE"
	}
	return ""
}

// splitEVR splits [epoch:]version[-release] as createrepo_c does: the
// epoch is "0" when absent or empty, the version ends at the first '-'.
// ok is false when the epoch is not a number.
func splitEVR(s string) (epoch, version, release string, ok bool) {
	epoch = "0"
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e := s[:i]
		if e != "" && !strtolWhole(e) {
			return "", "", "", false
		}
		if e != "" {
			epoch = e
		}
		s = s[i+1:]
	}
	version, release, _ = strings.Cut(s, "-")
	return epoch, version, release, true
}

// strtolWhole reports whether C's strtol reads all of s as a number:
// leading white space, a sign, then digits only.
func strtolWhole(s string) bool {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func convert(raws []rawDep) []Dep {
	out := make([]Dep, 0, len(raws))
	for _, r := range raws {
		if d, ok := toDep(r); ok {
			out = append(out, d)
		}
	}
	return out
}

// readDeps fills every dependency list the way createrepo_c 0.17 does.
func readDeps(r *header, p *Package) {
	h := r.h
	var provides []rawDep
	if r.hasProvNames && r.hasProvVers && r.hasProvFlags {
		provides = zipDeps(r.provNames, r.provVers, r.provFlags)
	}
	p.Provides = convert(provides)
	p.Conflicts = convert(rawDeps(h, rpmtag.ConflictName, rpmtag.ConflictVersion, rpmtag.ConflictFlags))
	p.Obsoletes = convert(rawDeps(h, rpmtag.ObsoleteName, rpmtag.ObsoleteVersion, rpmtag.ObsoleteFlags))
	var missingOK []Dep
	p.Requires, missingOK = requires(p, provides, rawDeps(h, rpmtag.RequireName, rpmtag.RequireVersion, rpmtag.RequireFlags))
	p.Suggests = convert(rawDeps(h, rpmtag.SuggestName, rpmtag.SuggestName+1, rpmtag.SuggestName+2))
	p.Enhances = convert(rawDeps(h, rpmtag.EnhanceName, rpmtag.EnhanceName+1, rpmtag.EnhanceName+2))
	p.Recommends = append(convert(rawDeps(h, rpmtag.RecommendName, rpmtag.RecommendName+1, rpmtag.RecommendName+2)), missingOK...)
	p.Supplements = convert(rawDeps(h, rpmtag.SupplementName, rpmtag.SupplementName+1, rpmtag.SupplementName+2))
	// Weak dependencies as rpm < 4.12 stored them: one tag for both
	// strengths, told apart by a flag.
	oldWeak(rawDeps(h, rpmtag.OldSuggestName, rpmtag.OldSuggestName+1, rpmtag.OldSuggestName+2), &p.Recommends, &p.Suggests)
	oldWeak(rawDeps(h, rpmtag.OldEnhanceName, rpmtag.OldEnhanceName+1, rpmtag.OldEnhanceName+2), &p.Supplements, &p.Enhances)
}

// oldWeak appends the strong entries of raws to strong, the rest to weak.
func oldWeak(raws []rawDep, strong, weak *[]Dep) {
	for _, r := range raws {
		if d, ok := toDep(r); ok {
			if r.flags&rpmtag.SenseStrong != 0 {
				*strong = append(*strong, d)
			} else {
				*weak = append(*weak, d)
			}
		}
	}
}

// requires applies createrepo_c's filters: rpmlib() features; files the
// package ships, when they are primary files; requires one of its own
// provides satisfies to the letter (config(N) = EVR); a repeat of the
// last entry of the same name; and every libc.so.6 entry but the highest,
// which goes last. MISSINGOK entries are returned apart (recommends).
func requires(p *Package, provides, raws []rawDep) (out, missingOK []Dep) {
	own := make(map[string]bool, len(p.Files))
	for _, f := range p.Files {
		own[f.Path] = true
	}
	provided := make(map[string]bool, len(provides))
	for _, r := range provides {
		provided[r.name+flagName(r.flags)+r.version] = true
	}
	type last struct {
		flags, version string
		pre            bool
	}
	emitted := map[string]last{}
	var libc *Dep
	for _, r := range raws {
		if strings.HasPrefix(r.name, "rpmlib(") || (own[r.name] && primaryFile(r.name)) {
			continue
		}
		if provided[r.name+flagName(r.flags)+r.version] {
			continue
		}
		pre := r.flags&(rpmtag.SensePrereq|rpmtag.SenseScriptPre|rpmtag.SenseScriptPost) != 0
		if l, ok := emitted[r.name]; ok && l.flags == flagName(r.flags) && l.version == r.version && l.pre == pre {
			continue
		}
		d, ok := toDep(r)
		if !ok {
			continue
		}
		d.Pre = pre
		if r.flags&rpmtag.SenseMissingOK != 0 {
			missingOK = append(missingOK, d)
			continue
		}
		if strings.HasPrefix(d.Name, "libc.so.6") {
			if libc == nil || libcHigher(libc.Name, d.Name) {
				dd := d
				libc = &dd
			}
			continue
		}
		out = append(out, d)
		emitted[r.name] = last{flagName(r.flags), r.version, pre}
	}
	if libc != nil {
		out = append(out, *libc)
	}
	return out, missingOK
}

// libcHigher reports whether createrepo_c takes the libc.so.6 require
// next over cur, the highest so far: it compares the version in the first
// parentheses, ranking no parentheses < no closing ')' < "()" < a version,
// where a version runs from the first digit after '(' to the ')' (none
// before it: below every version), compared as rpm versions; two names
// without ')' keep the first.
func libcHigher(cur, next string) bool {
	type rank struct {
		kind    int // 0: no '(', 1: no ')', 2: "()", 3: no digit, 4: version
		version string
	}
	rankOf := func(s string) rank {
		i := strings.IndexByte(s, '(')
		if i < 0 {
			return rank{kind: 0}
		}
		j := strings.IndexByte(s[i:], ')')
		switch {
		case j < 0:
			return rank{kind: 1}
		case j == 1:
			return rank{kind: 2}
		}
		inner := s[i+1 : i+j]
		d := strings.IndexAny(inner, "0123456789")
		if d < 0 {
			return rank{kind: 3}
		}
		return rank{kind: 4, version: inner[d:]}
	}
	a, b := rankOf(cur), rankOf(next)
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.kind == 4 && rpmver.Vercmp(a.version, b.version) < 0
}
