// Package rpmver is the one definition of how acn names and orders RPM
// package versions: [epoch:]version-release, name-[epoch:]version-release.arch
// (the identity of a package, which the metadata and the immutability rule
// use), the N-V-R.A.rpm file name rpmbuild gives a package (which carries
// no epoch), and rpm's version comparison. Pure functions, safe for
// concurrent use.
package rpmver

import "strings"

// EVR is [epoch:]version-release; an empty or "0" epoch is not written.
func EVR(epoch, version, release string) string {
	evr := version + "-" + release
	if epoch != "" && epoch != "0" {
		evr = epoch + ":" + evr
	}
	return evr
}

// NEVRA is name-[epoch:]version-release.arch, the identity of a package.
func NEVRA(name, epoch, version, release, arch string) string {
	return name + "-" + EVR(epoch, version, release) + "." + arch
}

// FileName is name-version-release.arch.rpm, as rpmbuild names a package:
// the epoch is not part of a file name.
func FileName(name, version, release, arch string) string {
	return name + "-" + version + "-" + release + "." + arch + ".rpm"
}

// Compare compares two epoch-version-release triples as rpm does; an
// empty epoch is 0.
func Compare(e1, v1, r1, e2, v2, r2 string) int {
	if e1 == "" {
		e1 = "0"
	}
	if e2 == "" {
		e2 = "0"
	}
	if c := Vercmp(e1, e2); c != 0 {
		return c
	}
	if c := Vercmp(v1, v2); c != 0 {
		return c
	}
	return Vercmp(r1, r2)
}

// Vercmp is rpm's version comparison (rpmvercmp): -1, 0 or 1.
func Vercmp(a, b string) int {
	if a == b {
		return 0
	}
	isAlnum := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for len(a) > 0 || len(b) > 0 {
		for len(a) > 0 && !isAlnum(a[0]) && a[0] != '~' && a[0] != '^' {
			a = a[1:]
		}
		for len(b) > 0 && !isAlnum(b[0]) && b[0] != '~' && b[0] != '^' {
			b = b[1:]
		}
		// Tilde sorts before everything, even the end.
		if len(a) > 0 && a[0] == '~' || len(b) > 0 && b[0] == '~' {
			if len(a) == 0 || a[0] != '~' {
				return 1
			}
			if len(b) == 0 || b[0] != '~' {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		// Caret sorts after the end but before anything else.
		if len(a) > 0 && a[0] == '^' || len(b) > 0 && b[0] == '^' {
			if len(a) == 0 {
				return -1
			}
			if len(b) == 0 {
				return 1
			}
			if a[0] != '^' {
				return 1
			}
			if b[0] != '^' {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if len(a) == 0 || len(b) == 0 {
			break
		}
		num := isDigit(a[0])
		seg := func(s string) (string, string) {
			i := 0
			for i < len(s) && (num && isDigit(s[i]) || !num && isAlnum(s[i]) && !isDigit(s[i])) {
				i++
			}
			return s[:i], s[i:]
		}
		var sa, sb string
		sa, a = seg(a)
		sb, b = seg(b)
		if sb == "" {
			if num {
				return 1
			}
			return -1
		}
		if num {
			sa = strings.TrimLeft(sa, "0")
			sb = strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return -1
	}
	return 1
}
