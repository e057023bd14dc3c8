package autodeps

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	// rpm's %__python_path and its requires/provides Lua.
	pythonPath     = regexp.MustCompile(`^((/usr/lib(64)?/python[0-9]+\.[0-9]+/.*\.(py[oc]?|so))|(/usr/bin/python[0-9]+\.[0-9]+))$`)
	pythonReqPath  = regexp.MustCompile(`^.*/usr/lib[0-9]*/python([0-9]+\.[0-9]+)/.*$`)
	pythonProvPath = regexp.MustCompile(`^.*/usr/bin/python([0-9]+\.[0-9]+)$`)
	// rpm's %__pythondist_path.
	pythondistPath = regexp.MustCompile(`/lib(64)?/python[0-9]\.[0-9]+/site-packages/[^/]+\.(dist-info|egg-info|egg-link)$`)
	pyVerFromPath  = regexp.MustCompile(`/python([0-9]+\.[0-9]+)/`)
	pyVerFromEgg   = regexp.MustCompile(`-py([0-9]+.[0-9]+)[.-]egg-info$`)
)

// pythonABI gives the python(abi) lines python.attr generates for a path.
func pythonABI(p string, provides bool) []string {
	if !pythonPath.MatchString(p) {
		return nil
	}
	if provides {
		if m := pythonProvPath.FindStringSubmatch(p); m != nil {
			return []string{"python(abi) = " + m[1]}
		}
		return nil
	}
	if m := pythonReqPath.FindStringSubmatch(p); m != nil {
		return []string{"python(abi) = " + m[1]}
	}
	return nil
}

// distMeta is the part of a dist-info or egg-info directory rpm's
// pythondistdeps.py reads.
type distMeta struct {
	metadata    string // METADATA or PKG-INFO content
	requiresTxt string // egg-info requires.txt, if any
	entryPoints string // entry_points.txt, if any
	egg         bool
}

// PythonError is distribution metadata pythondistdeps.py fails on, which
// fails rpmbuild's build.
type PythonError struct {
	Path   string
	Reason string
}

func (e *PythonError) Error() string {
	return "autodeps: python metadata " + quote(e.Path) + ": " + e.Reason
}

// pythonDist computes pythondistdeps.py --provides --majorver-provides and
// --requires for a distribution directory at p.
func pythonDist(p string, m distMeta) (provides, requires []string, err error) {
	pyver := ""
	if v := pyVerFromPath.FindStringSubmatch(p); v != nil {
		pyver = v[1]
	} else if v := pyVerFromEgg.FindStringSubmatch(strings.ToLower(p)); v != nil {
		pyver = v[1]
	}
	if pyver == "" {
		return nil, nil, nil
	}
	hdr := parseRFC822(m.metadata)
	name := first(hdr["name"])
	if name == "" {
		return nil, nil, &PythonError{Path: p, Reason: "metadata are missing or corrupted (no Name)"}
	}
	legacy := strings.ToLower(regexp.MustCompile(`[-_]+`).ReplaceAllString(name, "-"))
	major := strings.SplitN(pyver, ".", 2)[0]

	prov := map[string][]spec{}
	provName := "python" + pyver + "dist(" + legacy + ")"
	majorName := "python" + major + "dist(" + legacy + ")"
	prov[provName], prov[majorName] = nil, nil
	if normalizePEP503(name) == "python" {
		prov["python(abi)"] = []spec{{"==", pyver}}
	}
	if v := first(hdr["version"]); v != "" {
		prov[provName] = append(prov[provName], spec{"==", v})
		prov[majorName] = append(prov[majorName], spec{"==", v})
	}
	if provides, err = renderPyDeps(prov); err != nil {
		return nil, nil, &PythonError{Path: p, Reason: err.Error()}
	}

	req := map[string][]spec{}
	if normalizePEP503(name) != "python" {
		req["python(abi)"] = []spec{{"==", pyver}}
	}
	var reqs []string
	if m.egg {
		reqs = eggRequires(m.requiresTxt)
		if len(reqs) == 0 {
			reqs = hdr["requires-dist"]
		}
		if hasScripts(m.entryPoints) {
			reqs = append([]string{"setuptools"}, reqs...)
		}
	} else {
		reqs = hdr["requires-dist"]
	}
	for _, r := range reqs {
		pr, err := parseRequirement(r)
		if err != nil {
			return nil, nil, &PythonError{Path: p, Reason: err.Error()}
		}
		if pr.marker != "" {
			ok, err := evalMarker(pr.marker, pyver)
			if err != nil {
				return nil, nil, &PythonError{Path: p, Reason: err.Error()}
			}
			if !ok {
				continue
			}
		}
		n := "python" + pyver + "dist(" + strings.ToLower(regexp.MustCompile(`[-_]+`).ReplaceAllString(pr.name, "-")) + ")"
		if _, ok := req[n]; !ok {
			req[n] = nil
		}
		for _, s := range pr.specs {
			if !containsSpec(req[n], s) {
				req[n] = append(req[n], s)
			}
		}
	}
	if requires, err = renderPyDeps(req); err != nil {
		return nil, nil, &PythonError{Path: p, Reason: err.Error()}
	}
	return provides, requires, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func normalizePEP503(n string) string {
	return strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(n, "-"))
}

type spec struct{ op, version string }

func containsSpec(l []spec, s spec) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// renderPyDeps prints deps as pythondistdeps.py does: sorted by name, one
// line each; several specs for one name become a sorted "with" rich dep.
func renderPyDeps(deps map[string][]spec) ([]string, error) {
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		specs := deps[n]
		if len(specs) == 0 {
			out = append(out, n)
			continue
		}
		var conv []string
		for _, s := range specs {
			c, err := convertSpec(n, s.op, s.version)
			if err != nil {
				return nil, err
			}
			conv = append(conv, c)
		}
		if len(conv) == 1 {
			out = append(out, conv[0])
		} else {
			sort.Strings(conv)
			out = append(out, "("+strings.Join(conv, " with ")+")")
		}
	}
	return out, nil
}

// parseRFC822 reads metadata headers (until the first blank line), with
// continuation lines, into lower-cased keys.
func parseRFC822(s string) map[string][]string {
	h := map[string][]string{}
	var last string
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			v := h[last]
			v[len(v)-1] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		h[last] = append(h[last], strings.TrimSpace(v))
	}
	return h
}

// eggRequires reads requires.txt: plain lines are requirements, a
// "[extra:marker]" section's lines get that marker.
func eggRequires(s string) []string {
	var out []string
	section := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		if section == "" {
			out = append(out, line)
			continue
		}
		extra, marker, _ := strings.Cut(section, ":")
		var conds []string
		if extra != "" {
			conds = append(conds, `extra == "`+extra+`"`)
		}
		if marker != "" {
			conds = append(conds, "("+marker+")")
		}
		out = append(out, line+"; "+strings.Join(conds, " and "))
	}
	return out
}

func hasScripts(entryPoints string) bool {
	for _, line := range strings.Split(entryPoints, "\n") {
		switch strings.TrimSpace(line) {
		case "[console_scripts]", "[gui_scripts]":
			return true
		}
	}
	return false
}

type requirement struct {
	name   string
	specs  []spec
	marker string
}

var (
	reqName = regexp.MustCompile(`^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*`)
	reqSpec = regexp.MustCompile(`^\s*(~=|===|==|!=|<=|>=|<|>)\s*([^\s,;)]+)\s*`)
)

// parseRequirement parses a PEP 508 requirement: name, extras, version
// specifiers (bare or in parentheses), "@ url", "; marker".
func parseRequirement(r string) (requirement, error) {
	var pr requirement
	body, marker, _ := strings.Cut(r, ";")
	pr.marker = strings.TrimSpace(marker)
	m := reqName.FindStringSubmatchIndex(body)
	if m == nil {
		return pr, fmt.Errorf("invalid requirement %s", quote(r))
	}
	pr.name = body[m[2]:m[3]]
	rest := strings.TrimSpace(body[m[1]:])
	if strings.HasPrefix(rest, "@") {
		return pr, nil
	}
	rest = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")"))
	for rest != "" {
		sm := reqSpec.FindStringSubmatch(rest)
		if sm == nil {
			return pr, fmt.Errorf("invalid requirement %s", quote(r))
		}
		pr.specs = append(pr.specs, spec{sm[1], sm[2]})
		rest = strings.TrimPrefix(strings.TrimSpace(rest[len(sm[0]):]), ",")
		rest = strings.TrimSpace(rest)
	}
	return pr, nil
}

// pep440 is the PEP 440 version pattern (the one packaging uses).
var pep440 = regexp.MustCompile(`(?i)^\s*v?(?:(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)([-_\.]?(alpha|a|beta|b|preview|pre|c|rc)[-_\.]?([0-9]+)?)?((?:-([0-9]+))|(?:[-_\.]?(post|rev|r)[-_\.]?([0-9]+)?))?([-_\.]?(dev)[-_\.]?([0-9]+)?)?)(?:\+([a-z0-9]+(?:[-_\.][a-z0-9]+)*))?\s*$`)

type pyVersion struct {
	epoch   int
	release []int
	pre     string // "rc1"
	post    string // "1"
	dev     string // "dev0"
	hasPre  bool
	hasPost bool
	hasDev  bool
}

func parsePyVersion(v string) (*pyVersion, error) {
	m := pep440.FindStringSubmatch(v)
	if m == nil {
		return nil, fmt.Errorf("invalid version %s", quote(v))
	}
	var pv pyVersion
	if m[1] != "" {
		pv.epoch, _ = strconv.Atoi(m[1])
	}
	for _, part := range strings.Split(m[2], ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("invalid version %s", quote(v))
		}
		pv.release = append(pv.release, n)
	}
	if m[4] != "" {
		l := strings.ToLower(m[4])
		switch l {
		case "alpha":
			l = "a"
		case "beta":
			l = "b"
		case "c", "pre", "preview":
			l = "rc"
		}
		n := m[5]
		if n == "" {
			n = "0"
		}
		pv.pre, pv.hasPre = l+strconv.Itoa(atoi(n)), true
	}
	if m[7] != "" {
		pv.post, pv.hasPost = strconv.Itoa(atoi(m[7])), true
	} else if m[8] != "" {
		n := m[9]
		if n == "" {
			n = "0"
		}
		pv.post, pv.hasPost = strconv.Itoa(atoi(n)), true
	}
	if m[11] != "" {
		n := m[12]
		if n == "" {
			n = "0"
		}
		pv.dev, pv.hasDev = "dev"+strconv.Itoa(atoi(n)), true
	}
	return &pv, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// rpm renders a version as pythondistdeps.py's RpmVersion does.
func (v *pyVersion) rpm() string {
	rel := append([]int(nil), v.release...)
	for len(rel) > 1 && rel[len(rel)-1] == 0 {
		rel = rel[:len(rel)-1]
	}
	parts := make([]string, len(rel))
	for i, n := range rel {
		parts[i] = strconv.Itoa(n)
	}
	s := strings.Join(parts, ".")
	if v.epoch != 0 {
		s = strconv.Itoa(v.epoch) + ":" + s
	}
	switch {
	case v.hasPre:
		s += "~" + v.pre
	case v.hasDev:
		s += "~~" + v.dev
	case v.hasPost:
		s += "^post" + v.post
	}
	return s
}

func (v *pyVersion) increment() *pyVersion {
	c := *v
	c.release = append([]int(nil), v.release...)
	c.release[len(c.release)-1]++
	c.hasPre, c.hasDev, c.hasPost = false, false, false
	return &c
}

// convertSpec is pythondistdeps.py's convert().
func convertSpec(name, op, version string) (string, error) {
	bad := fmt.Errorf("invalid requirement %s %s %s", name, op, version)
	star := strings.HasSuffix(version, ".*")
	switch op {
	case "~=", "==", "===":
		if op == "==" && star {
			return convertSpec(name, "~=", strings.TrimSuffix(version, ".*")+".0")
		}
		if star {
			return "", bad
		}
		v, err := parsePyVersion(version)
		if err != nil {
			return "", err
		}
		if op != "~=" {
			return name + " = " + v.rpm(), nil
		}
		if len(v.release) == 1 {
			return "", bad
		}
		up := &pyVersion{release: v.release[:len(v.release)-1], epoch: v.epoch}
		up = up.increment()
		return fmt.Sprintf("(%s >= %s with %s < %s)", name, v.rpm(), name, up.rpm()), nil
	case "!=":
		vs := strings.TrimSuffix(version, ".*")
		v, err := parsePyVersion(vs)
		if err != nil {
			return "", err
		}
		lower := v
		if star {
			lower = v.increment()
		}
		return fmt.Sprintf("(%s < %s or %s > %s)", name, v.rpm(), name, lower.rpm()), nil
	case "<", "<=", ">", ">=":
		vs := version
		if star {
			vs = strings.TrimSuffix(version, ".*")
			if op == ">" {
				op = ">="
			}
			if op == "<=" {
				op = "<"
			}
		}
		v, err := parsePyVersion(vs)
		if err != nil {
			return "", err
		}
		return name + " " + op + " " + v.rpm(), nil
	}
	return "", bad
}
