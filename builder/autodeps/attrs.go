package autodeps

import (
	"path"
	"regexp"
	"strings"
)

// The generators rpm 4.18 writes in Lua inside its fileattrs files.

var (
	debuginfoPath = regexp.MustCompile(`^/usr/lib/debug/\.build-id/[^/]+/[^/]+\.debug$`)
	debuginfoID   = regexp.MustCompile(`/([0-9a-f]+)/([0-9a-f]+)\.debug$`)
)

// debuginfoProvides is debuginfo.attr: a build-id file provides
// debuginfo(build-id) = its id. A path whose id is not lower-case hex
// yields nothing (rpm's Lua would fail on it).
func debuginfoProvides(p string) []string {
	if !debuginfoPath.MatchString(p) {
		return nil
	}
	m := debuginfoID.FindStringSubmatch(p)
	if m == nil {
		return nil
	}
	return []string{"debuginfo(build-id) = " + m[1] + m[2]}
}

var (
	luaDesktopApp  = regexp.MustCompile(`^Type[\t\n\v\f\r ]*=[\t\n\v\f\r ]*Application$`)
	luaDesktopExec = regexp.MustCompile(`^Exec[\t\n\v\f\r ]*=`)
	luaDesktopMime = regexp.MustCompile(`^MimeType[\t\n\v\f\r ]*=`)
	luaAfterEquals = regexp.MustCompile(`=[\t\n\v\f\r ]*(.+)`)
)

// desktopProvides is desktop.attr: an application's .desktop file
// provides application(), application(NAME) and a mimehandler() for each
// MIME type of its last MimeType line.
func desktopProvides(p string, data []byte) []string {
	executable := false
	mimetypes := ""
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // Lua's io.lines has no empty last line
	}
	for _, line := range lines {
		switch {
		case luaDesktopApp.MatchString(line) || luaDesktopExec.MatchString(line):
			executable = true
		case luaDesktopMime.MatchString(line):
			if m := luaAfterEquals.FindStringSubmatch(line); m != nil {
				mimetypes = m[1]
			} else {
				mimetypes = ""
			}
		}
	}
	if !executable {
		return nil
	}
	out := []string{"application()", "application(" + path.Base(p) + ")"}
	for _, mt := range strings.Split(mimetypes, ";") {
		if mt != "" {
			out = append(out, "mimehandler("+mt+")")
		}
	}
	return out
}

// metainfoProvides is metainfo.attr.
func metainfoProvides(p string) []string {
	return []string{"metainfo()", "metainfo(" + path.Base(p) + ")"}
}
