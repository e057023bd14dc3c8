package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/internal/sign"
)

// SignatureName is the detached signature a client fetches beside
// repomd.xml (dnf's repo_gpgcheck).
const SignatureName = "repomd.xml.asc"

// GenerationSignature is the name, in repodata/, of the signature of the
// repomd.xml whose bytes are repomd: one per generation, kept as long as
// that generation's files, so that a server can answer a client that
// fetched an older repomd.xml with the signature of exactly those bytes.
func GenerationSignature(repomd []byte) string {
	sum := sha256.Sum256(repomd)
	return hex.EncodeToString(sum[:]) + "-" + SignatureName
}

// writeSignatures signs the repomd.xml bytes data with every key of o and
// writes repodata/<sha256>-repomd.xml.asc, then repodata/repomd.xml.asc,
// each atomically: called before repomd.xml is renamed into place, so
// that the signature of a repomd.xml is on disk before the repomd.xml.
// Without keys, repomd.xml.asc is removed (a stale signature would fail
// a client that checks it). It returns the generation's signature href.
func writeSignatures(rd string, data []byte, o *Options) (string, error) {
	if len(o.SignKeys) == 0 {
		if err := os.Remove(filepath.Join(rd, SignatureName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("remove the signature of unsigned metadata: %w", err)
		}
		return "", nil
	}
	asc, err := sign.Detached(data, o.Now(), o.SignKeys...)
	if err != nil {
		return "", fmt.Errorf("sign repomd.xml: %w", err)
	}
	gen := GenerationSignature(data)
	if err := atomicfile.WriteFile(filepath.Join(rd, gen), asc, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", gen, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(rd, SignatureName), asc, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", SignatureName, err)
	}
	return "repodata/" + gen, nil
}

// resign brings the signature of an unchanged repomd.xml up to date with
// the keys of o: a key added or removed (a rotation) re-signs the same
// bytes; the same keys leave it alone.
func resign(rd string, o *Options) (string, error) {
	data, err := os.ReadFile(filepath.Join(rd, "repomd.xml"))
	if err != nil {
		return "", err
	}
	if len(o.SignKeys) > 0 {
		gen := GenerationSignature(data)
		cur, err1 := os.ReadFile(filepath.Join(rd, SignatureName))
		genb, err2 := os.ReadFile(filepath.Join(rd, gen))
		if err1 == nil && err2 == nil && bytes.Equal(cur, genb) && signedBy(cur, o.SignKeys) {
			return "repodata/" + gen, nil
		}
	}
	return writeSignatures(rd, data, o)
}

// signedBy reports whether the armored signature asc carries exactly one
// signature by each of keys, and no other.
func signedBy(asc []byte, keys []*sign.Key) bool {
	sigs, err := sign.ParseSignatures(asc)
	if err != nil || len(sigs) != len(keys) {
		return false
	}
	var have, want []string
	for _, s := range sigs {
		have = append(have, fmt.Sprintf("%016X", s.IssuerKeyID))
	}
	for _, k := range keys {
		want = append(want, k.ID())
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
}

// sweepSignatures removes the generation signatures in rd that no kept
// generation names: those of generations retention dropped, or left by a
// run that failed before its commit.
func sweepSignatures(rd string, keep map[string]bool) error {
	ents, err := os.ReadDir(rd)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		n := e.Name()
		if n == SignatureName || !strings.HasSuffix(n, "-"+SignatureName) || keep["repodata/"+n] {
			continue
		}
		if err := os.Remove(filepath.Join(rd, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
