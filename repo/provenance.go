package repo

import (
	"fmt"
	"os"
	"strings"

	"github.com/cavaliergopher/rpm"

	"github.com/acn-project/acn/internal/rpmtag"
)

// Provenance is where a package acn built came from, as its header
// records it (see package builder). Packages from elsewhere have none
// of it; every field is then empty.
type Provenance struct {
	VCS       string `json:"vcs,omitempty"`        // rpm's VCS tag: git+URL#COMMIT
	Commit    string `json:"commit,omitempty"`     // the part of VCS after '#'
	Ref       string `json:"ref,omitempty"`        // the git ref built
	LogSHA256 string `json:"log_sha256,omitempty"` // of the build log
}

// ReadProvenance reads the provenance tags of the RPM file at path. It
// reads the headers only; it does not check the payload (the repository
// index does that).
func ReadProvenance(path string) (p Provenance, err error) {
	f, err := os.Open(path)
	if err != nil {
		return p, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return p, err
	}
	if err := checkHeaders(f, fi.Size()); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = Provenance{}, fmt.Errorf("%s: %w: malformed header (%v)", path, ErrCorrupt, r)
		}
	}()
	pkg, err := rpm.Read(fullReader{f})
	if err != nil {
		return p, fmt.Errorf("%s: %w: %v", path, ErrCorrupt, err)
	}
	h := &pkg.Header
	p = Provenance{VCS: str(h, rpmtag.VCS), Ref: str(h, rpmtag.AcnRef), LogSHA256: str(h, rpmtag.AcnLogSHA256)}
	if _, c, ok := strings.Cut(p.VCS, "#"); ok {
		p.Commit = c
	} else if isHex(p.VCS) {
		p.Commit = p.VCS
	}
	return p, nil
}

func isHex(s string) bool {
	if len(s) < 7 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
