package specs

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/acn-project/acn/internal/advisory"
)

// Advisory is the update advisory a changelog entry announces: the
// builder writes it into the packages of the version the entry names, and
// repositories publish it in updateinfo.xml (see package advisory).
type Advisory struct {
	Type     string   // security, bugfix or enhancement
	Severity string   // Critical, Important, Moderate or Low; security only
	CVEs     []string // CVE-2026-1234
	Bugs     []string // http(s) URLs
	Title    string   // one line; default "<name>-<version>: <type> update"
}

type rawAdvisory struct {
	Type     string   `yaml:"type"`
	Severity string   `yaml:"severity"`
	CVEs     []string `yaml:"cves"`
	Bugs     []string `yaml:"bugs"`
	Title    string   `yaml:"title"`
}

// advisory validates the advisory of changelog entry field (node n) for
// spec s; nil when there is none or it is rejected.
func (p *parser) advisory(n *yaml.Node, field string, c *Change, ra *rawAdvisory) *Advisory {
	if ra == nil {
		return nil
	}
	an := find(n, "advisory")
	field += ".advisory"
	bad := len(p.errs)
	a := &Advisory{Type: canonical(ra.Type, advisory.Security, advisory.Bugfix, advisory.Enhancement),
		Severity: canonical(ra.Severity, advisory.Severities...), Title: strings.TrimSpace(ra.Title)}
	if msg := advisory.CheckType(a.Type); msg != "" {
		sentinel := ErrInvalid
		if a.Type == "" {
			sentinel = ErrMissingKey
		}
		p.add(lineOf(an, "type"), field+".type", sentinel, "%s", msg)
	}
	if msg := advisory.CheckSeverity(a.Type, a.Severity); msg != "" && advisory.CheckType(a.Type) == "" {
		sentinel := ErrInvalid
		if a.Severity == "" {
			sentinel = ErrMissingKey
		}
		p.add(lineOf(an, "severity"), field+".severity", sentinel, "%s", msg)
	}
	list := func(key string, in []string, limit int, check func(string) string) []string {
		ln := find(an, key)
		if len(in) > limit {
			p.add(lineOf(an, key), field+"."+key, ErrInvalid, "%d entries, the limit is %d", len(in), limit)
			return nil
		}
		var out []string
		seen := map[string]bool{}
		for i, v := range in {
			v = strings.TrimSpace(v)
			f := fmt.Sprintf("%s.%s[%d]", field, key, i)
			if msg := check(v); msg != "" {
				p.add(item(ln, i).Line, f, ErrInvalid, "%s", msg)
				continue
			}
			if seen[v] {
				p.add(item(ln, i).Line, f, ErrInvalid, "%q is listed twice", v)
				continue
			}
			seen[v] = true
			out = append(out, v)
		}
		return out
	}
	a.CVEs = list("cves", ra.CVEs, advisory.MaxCVEs, advisory.CheckCVE)
	a.Bugs = list("bugs", ra.Bugs, advisory.MaxBugs, advisory.CheckBug)
	if msg := advisory.CheckTitle(a.Title); msg != "" {
		p.add(lineOf(an, "title"), field+".title", ErrInvalid, "%s", msg)
	}
	// The advisory belongs to the version the entry names: without one
	// it could not say which packages it is for.
	if c.Version == "" {
		p.add(n.Line, strings.TrimSuffix(field, ".advisory")+".version", ErrMissingKey,
			"an entry with an advisory names the version it is for, such as 1.4.1-1")
	} else if !evrRE.MatchString(c.Version) {
		p.add(lineOf(n, "version"), strings.TrimSuffix(field, ".advisory")+".version", ErrInvalid,
			"%q is not a version such as 1.4.1-1 (with an advisory, the entry's version names the packages it is for)", c.Version)
	}
	if len(p.errs) > bad {
		return nil
	}
	return a
}

// NewestAdvisory returns the advisory of the spec's newest changelog
// entry when that entry is for the version being built, with the version
// as the entry writes it (the key of its ID). The entry is for the build
// when its version is the spec's version, or its [epoch:]version-release;
// dist is a suffix the caller appended to the spec's release (the
// daemon's ".el9"), ignored in that comparison. Otherwise, or without an
// advisory, it returns nil: the newest entry speaks of another version.
func (s *Spec) NewestAdvisory(dist string) (*Change, bool) {
	if len(s.Changelog) == 0 || s.Changelog[0].Advisory == nil {
		return nil, false
	}
	c := &s.Changelog[0]
	rel := s.Release
	if dist != "" {
		rel = strings.TrimSuffix(rel, dist)
	}
	want := []string{s.Version, s.Version + "-" + rel}
	if s.Epoch != nil {
		want = append(want, fmt.Sprintf("%d:%s-%s", *s.Epoch, s.Version, rel), fmt.Sprintf("%d:%s", *s.Epoch, s.Version))
	} else {
		want = append(want, "0:"+s.Version+"-"+rel, "0:"+s.Version)
	}
	for _, w := range want {
		if c.Version == w {
			return c, true
		}
	}
	return c, false
}

// canonical is v as the first of names it equals in any case (so that
// "important" is written Important, as dnf and zypper expect), else v.
func canonical(v string, names ...string) string {
	v = strings.TrimSpace(v)
	for _, n := range names {
		if strings.EqualFold(v, n) {
			return n
		}
	}
	return v
}
