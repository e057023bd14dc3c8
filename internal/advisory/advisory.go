// Package advisory is what acn knows of an update advisory (an erratum):
// its fields and their bounds, the RPM header tags that carry it from a
// build to every repository holding the package, and the registry that
// gives each package version one stable ID, ACN-YYYY-NNNN.
//
// It is shared by specs (which validate what a changelog entry says),
// builder (which writes the tags) and repo (which reads them and writes
// updateinfo.xml), and imports none of them.
package advisory

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Header tags acn writes into every package of a build whose newest
// changelog entry carries an advisory. They follow acn's provenance tags
// (21040, 21041), in a range rpm does not use: rpm, rpmlint, createrepo_c
// and dnf carry unknown tags through untouched. Every one is a string or
// a string array (RPM_STRING_TYPE, RPM_STRING_ARRAY_TYPE).
const (
	TagID       = 21042 // string: ACN-2026-0007
	TagType     = 21043 // string: security, bugfix or enhancement
	TagSeverity = 21044 // string: Critical, Important, Moderate or Low; security only
	TagCVEs     = 21045 // string array: CVE-2026-1234
	TagBugs     = 21046 // string array: http(s) URLs of bug reports
	TagTitle    = 21047 // string: one line
	TagIssued   = 21048 // string: the entry's date, 2026-12-01
)

// The advisory types, as updateinfo.xml spells them.
const (
	Security    = "security"
	Bugfix      = "bugfix"
	Enhancement = "enhancement"
)

// Severities of a security advisory, as dnf and zypper show them.
var Severities = []string{"Critical", "Important", "Moderate", "Low"}

// Bounds on what one advisory may say, so that a spec, a header or an
// updateinfo.xml entry stays small whoever wrote it.
const (
	MaxCVEs        = 64
	MaxBugs        = 64
	MaxURLLen      = 256
	MaxTitleLen    = 200
	MaxDescription = 8 << 10 // bytes of description kept; more is cut
)

// Sentinel errors wrapped by [Validate] and the registry.
var (
	ErrInvalid  = errors.New("advisory: invalid value")
	ErrRegistry = errors.New("advisory: registry")
)

// Advisory is one advisory of one package version.
type Advisory struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Severity    string   `json:"severity,omitempty"`
	CVEs        []string `json:"cves,omitempty"`
	Bugs        []string `json:"bugs,omitempty"`
	Title       string   `json:"title"`
	Issued      string   `json:"issued"` // YYYY-MM-DD
	Description string   `json:"description,omitempty"`
}

var (
	cveRE    = regexp.MustCompile(`^CVE-\d{4}-\d{4,19}$`)
	idRE     = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{4,9}$`)
	issuedRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Problem is one field of an advisory that is not valid; Field is the
// key as a spec writes it (cves[2]).
type Problem struct {
	Field string
	Msg   string
}

// CheckType returns a problem with an advisory type, or "".
func CheckType(t string) string {
	switch t {
	case Security, Bugfix, Enhancement:
		return ""
	case "":
		return "want security, bugfix or enhancement"
	}
	return fmt.Sprintf("%q is not one of security, bugfix, enhancement", t)
}

// CheckSeverity returns a problem with a severity for an advisory of type
// t, or "". Only a security advisory has one, and it must.
func CheckSeverity(t, sev string) string {
	if t != Security {
		if sev != "" {
			return "only a security advisory has a severity"
		}
		return ""
	}
	if sev == "" {
		return "a security advisory needs one of Critical, Important, Moderate, Low"
	}
	for _, s := range Severities {
		if s == sev {
			return ""
		}
	}
	return fmt.Sprintf("%q is not one of Critical, Important, Moderate, Low", sev)
}

// CheckCVE returns a problem with a CVE ID, or "".
func CheckCVE(c string) string {
	if !cveRE.MatchString(c) {
		return fmt.Sprintf("%q is not a CVE ID such as CVE-2026-1234", printable(c))
	}
	return ""
}

// CheckBug returns a problem with a bug report URL, or "".
func CheckBug(b string) string {
	if len(b) > MaxURLLen {
		return fmt.Sprintf("URL of %d bytes, the limit is %d", len(b), MaxURLLen)
	}
	u, err := url.Parse(b)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		!utf8.ValidString(b) || strings.ContainsFunc(b, func(r rune) bool { return r <= ' ' || r == 0x7f || NotXML(r) }) {
		return fmt.Sprintf("%q is not an http(s) URL", printable(b))
	}
	return ""
}

// CheckTitle returns a problem with a title, or "".
func CheckTitle(t string) string {
	switch {
	case len(t) > MaxTitleLen:
		return fmt.Sprintf("%d bytes, the limit is %d", len(t), MaxTitleLen)
	case !utf8.ValidString(t):
		return "not UTF-8"
	case strings.ContainsFunc(t, func(r rune) bool { return r < ' ' || r == 0x7f || NotXML(r) }):
		return "must be one line without control characters"
	}
	return ""
}

// Validate checks every field of a; problems name the field.
func (a *Advisory) Validate() []Problem {
	var ps []Problem
	add := func(field, msg string) {
		if msg != "" {
			ps = append(ps, Problem{field, msg})
		}
	}
	if !idRE.MatchString(a.ID) {
		add("id", fmt.Sprintf("%q is not an ID such as ACN-2026-0007", printable(a.ID)))
	}
	add("type", CheckType(a.Type))
	add("severity", CheckSeverity(a.Type, a.Severity))
	if len(a.CVEs) > MaxCVEs {
		add("cves", fmt.Sprintf("%d entries, the limit is %d", len(a.CVEs), MaxCVEs))
	}
	for i, c := range a.CVEs[:min(len(a.CVEs), MaxCVEs)] {
		add(fmt.Sprintf("cves[%d]", i), CheckCVE(c))
	}
	if len(a.Bugs) > MaxBugs {
		add("bugs", fmt.Sprintf("%d entries, the limit is %d", len(a.Bugs), MaxBugs))
	}
	for i, b := range a.Bugs[:min(len(a.Bugs), MaxBugs)] {
		add(fmt.Sprintf("bugs[%d]", i), CheckBug(b))
	}
	add("title", CheckTitle(a.Title))
	if _, err := time.Parse("2006-01-02", a.Issued); err != nil || !issuedRE.MatchString(a.Issued) {
		add("issued", fmt.Sprintf("%q is not a date such as 2026-12-01", printable(a.Issued)))
	}
	return ps
}

// Err joins the problems of a into one error wrapping [ErrInvalid], or
// returns nil.
func (a *Advisory) Err() error {
	ps := a.Validate()
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Field + ": " + p.Msg
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(msgs, "; "))
}

// DefaultTitle is the title of an advisory whose entry gives none:
// "appstruct-1.4.1-1: security update".
func DefaultTitle(nvr, typ string) string {
	t := nvr + ": " + typ + " update"
	if typ == Enhancement {
		t = nvr + ": enhancement update"
	}
	if len(t) > MaxTitleLen {
		t = t[:MaxTitleLen]
	}
	return t
}

// CutDescription bounds a description to [MaxDescription] bytes, cut at
// a character boundary.
func CutDescription(s string) string {
	if len(s) <= MaxDescription {
		return s
	}
	s = s[:MaxDescription]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

// printable shortens and quotes-proofs a value for an error message.
// NotXML reports whether r is valid UTF-8 that XML 1.0 still does not
// allow in a document (U+FFFE, U+FFFF): dnf, zypper and acn's own reader
// refuse a whole updateinfo.xml that holds one.
func NotXML(r rune) bool {
	return r == 0xFFFE || r == 0xFFFF
}

func printable(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
