package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/rpmpack"

	"github.com/acn-project/acn/internal/rpmtag"
)

// Provenance: every package records where it came from, in its header.
//
//   - VCS (rpm's tag 5034, %{VCS} in rpm -q --qf): "git+URL#COMMIT", the
//     form rpm tooling uses for %{vcs}. The URL never holds credentials:
//     user, password, token, query and fragment are dropped.
//   - the ref that was asked for (acn's tag 21040), and
//   - the SHA-256 of the build log (acn's tag 21041), when the spec has
//     build steps.
//
// acn's build log holds no time or duration, so that the log, and with it
// the package, stays the same from one build of a ref to the next when
// the steps' own output does.

// maxVCSLen bounds the VCS tag: a URL is not a place for megabytes.
const maxVCSLen = 4096

// provenance is what [header] writes of it; empty fields are left out.
type provenance struct {
	vcs, ref, logSHA256 string
}

func (p provenance) addTo(r *rpmpack.RPM) {
	for _, t := range []struct {
		tag int
		v   string
	}{{rpmtag.VCS, p.vcs}, {rpmtag.AcnRef, printable(p.ref)}, {rpmtag.AcnLogSHA256, p.logSHA256}} {
		if t.v != "" {
			r.AddCustomTag(t.tag, rpmpack.EntryString(t.v))
		}
	}
}

// VCS is the value of a package's VCS tag for a commit of the repository
// at loc (a URL, an scp-like user@host:path, or a local path): "git+" and
// the location without credentials, then "#" and the commit. It is ""
// without a commit, and the commit alone without a location.
func VCS(loc, commit string) string {
	if commit == "" {
		return ""
	}
	if loc == "" {
		return commit // a tree of unknown origin (acn's embedded specs)
	}
	s := printable("git+" + cleanLocation(loc) + "#" + commit)
	if len(s) > maxVCSLen {
		s = "git+#" + commit
	}
	return s
}

// printable drops control characters: a header string is one line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// cleanLocation turns a repository location into a URL without
// credentials.
func cleanLocation(loc string) string {
	if i := strings.Index(loc, "://"); i >= 0 {
		u, err := url.Parse(loc)
		if err != nil {
			// Unparsable: keep the scheme and what follows the last "@"
			// of the authority, never what precedes it.
			rest := loc[i+3:]
			auth, p, _ := strings.Cut(rest, "/")
			if at := strings.LastIndex(auth, "@"); at >= 0 {
				auth = auth[at+1:]
			}
			p, _, _ = strings.Cut(p, "?")
			p, _, _ = strings.Cut(p, "#")
			return loc[:i+3] + auth + "/" + p
		}
		u.User = nil
		u.RawQuery, u.ForceQuery = "", false
		u.Fragment, u.RawFragment = "", ""
		return strings.TrimPrefix(u.String(), "git+")
	}
	if m := scpLike(loc); m != "" {
		return m
	}
	if abs, err := filepath.Abs(loc); err == nil {
		loc = abs
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(loc)}).String()
}

// scpLike rewrites user@host:path as ssh://host/path; "" if loc is not
// of that form.
func scpLike(loc string) string {
	at := strings.Index(loc, "@")
	colon := strings.Index(loc, ":")
	if at <= 0 || colon < at || strings.ContainsAny(loc[:colon], "/\\") {
		return ""
	}
	u := url.URL{Scheme: "ssh", Host: loc[at+1 : colon], Path: "/" + strings.TrimPrefix(loc[colon+1:], "/")}
	return u.String()
}

// fileSHA256 is the hex SHA-256 of a file's content.
func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
