package repo

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/cavaliergopher/rpm"

	"github.com/acn-project/acn/internal/rpmtag"
)

// integrity checks a package's bytes against what its own headers say of
// them, as rpm -K does: the size of header and payload, the payload
// digest (or, in a package without one, the MD5 of header and payload),
// and the SHA256 of the main header. A package whose payload was cut or
// changed after it was built fails here, although its header reads well.
//
// The payload is fed through Write as the file is read for its checksum,
// so the check costs one more hash of the payload, not another read.
type integrity struct {
	size     int64 // of header and payload; 0: the package does not say
	n        int64 // bytes written (payload) plus the main header
	payload  hash.Hash
	wantPay  []byte
	whole    hash.Hash // MD5 of header and payload, when there is no payload digest
	wantMD5  []byte
	header   []byte // the main header, for its SHA256
	wantHead string
}

// Hash algorithms as rpm numbers them (PGPHASHALGO_*).
func digestHash(algo int64, want []byte) hash.Hash {
	switch algo {
	case 2:
		return sha1.New()
	case 8:
		return sha256.New()
	case 9:
		return sha512.New384()
	case 10:
		return sha512.New()
	case 11:
		return sha256.New224()
	case 0: // not recorded: rpm writes SHA256 then
		if len(want) == sha256.Size {
			return sha256.New()
		}
	}
	return nil
}

// newIntegrity takes what pkg's headers say; header is the main header's
// bytes (intro, index and store).
func newIntegrity(pkg *rpm.Package, header []byte) (*integrity, error) {
	c := &integrity{header: header, n: int64(len(header))}
	sig := &pkg.Signature
	if t := sig.GetTag(rpmtag.SigLongSize); t != nil {
		c.size = t.Int64()
	} else if t := sig.GetTag(rpmtag.SigSize); t != nil {
		c.size = t.Int64()
	}
	if t := sig.GetTag(rpmtag.SigSHA256); t != nil {
		c.wantHead = t.String()
	}
	if ds := pkg.Header.GetTag(rpmtag.PayloadDigest).StringSlice(); len(ds) > 0 {
		want, err := hex.DecodeString(ds[0])
		if err != nil {
			return nil, fmt.Errorf("%w: payload digest %q is not hexadecimal", ErrCorrupt, ds[0])
		}
		algo := pkg.Header.GetTag(rpmtag.PayloadDigestAlgo).Int64()
		if c.payload = digestHash(algo, want); c.payload == nil {
			return nil, fmt.Errorf("%w: payload digest of unknown algorithm %d", ErrCorrupt, algo)
		}
		if len(want) != c.payload.Size() {
			return nil, fmt.Errorf("%w: payload digest %q has the wrong length", ErrCorrupt, ds[0])
		}
		c.wantPay = want
	} else if md := sig.GetTag(rpmtag.SigMD5).Bytes(); len(md) == md5.Size {
		c.whole, c.wantMD5 = md5.New(), md
		c.whole.Write(header)
	}
	return c, nil
}

// Write takes the next bytes of the payload.
func (c *integrity) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.payload != nil {
		c.payload.Write(p)
	}
	if c.whole != nil {
		c.whole.Write(p)
	}
	return len(p), nil
}

// check reports the first mismatch once the whole payload was written.
func (c *integrity) check() error {
	if c.wantHead != "" {
		if got := hex.EncodeToString(sha256Sum(c.header)); got != c.wantHead {
			return fmt.Errorf("%w: header SHA256 digest mismatch (the header was changed after it was signed)", ErrCorrupt)
		}
	}
	if c.size != 0 && c.n != c.size {
		return fmt.Errorf("%w: header and payload are %d bytes, the signature says %d (truncated or extended)", ErrCorrupt, c.n, c.size)
	}
	if c.payload != nil && !bytes.Equal(c.payload.Sum(nil), c.wantPay) {
		return fmt.Errorf("%w: payload digest mismatch (the payload was changed or cut)", ErrCorrupt)
	}
	if c.whole != nil && !bytes.Equal(c.whole.Sum(nil), c.wantMD5) {
		return fmt.Errorf("%w: MD5 digest of header and payload mismatch", ErrCorrupt)
	}
	return nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// readHeaders reads the lead, the signature header, its padding and the
// main header from a stream, refusing sizes past the limits checkHeaders
// enforces. It returns all those bytes and where the main header starts.
func readHeaders(r io.Reader) ([]byte, int, error) {
	buf := make([]byte, 96, 96+16)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, 0, fmt.Errorf("%w: truncated lead", ErrCorrupt)
	}
	start := 0
	for h := range 2 {
		off := len(buf)
		buf = append(buf, make([]byte, 16)...)
		if _, err := io.ReadFull(r, buf[off:]); err != nil {
			return nil, 0, fmt.Errorf("%w: truncated before header %d", ErrCorrupt, h)
		}
		if !bytes.Equal(buf[off:off+4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
			return nil, 0, fmt.Errorf("%w: bad header magic", ErrCorrupt)
		}
		n := int64(binary.BigEndian.Uint32(buf[off+8 : off+12]))
		store := int64(binary.BigEndian.Uint32(buf[off+12 : off+16]))
		if n*16 > maxHeaderBytes || store > maxHeaderBytes {
			return nil, 0, fmt.Errorf("%w: header of %d entries and %d bytes is too large", ErrCorrupt, n, store)
		}
		more := n*16 + store
		if h == 0 {
			more += (8 - store%8) % 8
		} else {
			start = off
		}
		// Grow as bytes arrive, so that a header claiming much in a short
		// file costs what the file holds.
		if _, err := io.CopyN(sliceWriter{&buf}, r, more); err != nil {
			return nil, 0, fmt.Errorf("%w: truncated in header %d", ErrCorrupt, h)
		}
	}
	return buf, start, nil
}

type sliceWriter struct{ b *[]byte }

func (w sliceWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}
