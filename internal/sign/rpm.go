package sign

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/internal/rpmtag"
)

// Signature header tags that hold OpenPGP signatures (rpm's rpmtag.h):
// RPMSIGTAG_DSA and RPMSIGTAG_RSA over the header, RPMSIGTAG_PGP and
// RPMSIGTAG_GPG over header and payload, RPMSIGTAG_PGP5 (never used).
const (
	sigTagDSA     = 267
	sigTagRSA     = 268
	sigTagPGP     = 1002
	sigTagGPG     = 1005
	sigTagPGP5    = 1006
	sigTagRegion  = 62 // RPMTAG_HEADERSIGNATURES
	typeBin       = 7
	maxSigEntries = 1024
	// maxRPMSigEntries is the most signature header entries rpm reads
	// (hdrblobRead's limit for RPMTAG_HEADERSIGNATURES).
	maxRPMSigEntries = 32
	maxSigData       = 64 << 20
	maxHdrEntries    = 1 << 20
	maxHdrData       = 256 << 20
)

// ErrNotRPM is wrapped by every error about a file that is not a
// well-formed RPM package.
var ErrNotRPM = errors.New("sign: not a well-formed RPM package")

var (
	leadMagic   = []byte{0xED, 0xAB, 0xEE, 0xDB}
	headerMagic = []byte{0x8E, 0xAD, 0xE8, 0x01, 0, 0, 0, 0}
)

// entry is one header index entry with its data.
type entry struct {
	tag, typ, count uint32
	data            []byte
}

// rpmParts is an RPM file read up to its payload.
type rpmParts struct {
	lead    []byte
	sig     []entry
	header  []byte // the main header as stored: what RPMSIGTAG_RSA signs
	payload int64  // offset of the payload
}

var typeSize = map[uint32]int{0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}

// readRPM reads the lead, the signature header and the main header of
// the RPM file r, checking every offset and length.
func readRPM(r io.Reader) (*rpmParts, error) {
	p := &rpmParts{lead: make([]byte, 96)}
	if _, err := io.ReadFull(r, p.lead); err != nil {
		return nil, fmt.Errorf("%w: lead: %w", ErrNotRPM, err)
	}
	if !bytes.Equal(p.lead[:4], leadMagic) {
		return nil, fmt.Errorf("%w: no lead magic", ErrNotRPM)
	}
	sigIntro, sigStore, err := readHeaderBlob(r, maxSigEntries, maxSigData)
	if err != nil {
		return nil, fmt.Errorf("%w: signature header: %w", ErrNotRPM, err)
	}
	pad := (8 - len(sigStore)%8) % 8
	if _, err := io.ReadFull(r, make([]byte, pad)); err != nil {
		return nil, fmt.Errorf("%w: signature header padding: %w", ErrNotRPM, err)
	}
	if p.sig, err = parseEntries(sigIntro, sigStore); err != nil {
		return nil, fmt.Errorf("%w: signature header: %w", ErrNotRPM, err)
	}
	hIntro, hStore, err := readHeaderBlob(r, maxHdrEntries, maxHdrData)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrNotRPM, err)
	}
	p.header = append(hIntro, hStore...)
	p.payload = int64(96 + len(sigIntro) + len(sigStore) + pad + len(p.header))
	return p, nil
}

// readHeaderBlob reads a header: the 16-byte intro plus index (returned
// together) and the data store.
func readHeaderBlob(r io.Reader, maxEntries, maxData int) (intro, store []byte, err error) {
	head := make([]byte, 16)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(head[:8], headerMagic) {
		return nil, nil, errors.New("no header magic")
	}
	il, dl := binary.BigEndian.Uint32(head[8:]), binary.BigEndian.Uint32(head[12:])
	if il == 0 || il > uint32(maxEntries) || dl > uint32(maxData) {
		return nil, nil, fmt.Errorf("%d entries and %d bytes of data: out of range", il, dl)
	}
	intro = make([]byte, 16+16*int(il))
	copy(intro, head)
	if _, err := io.ReadFull(r, intro[16:]); err != nil {
		return nil, nil, err
	}
	store = make([]byte, dl)
	if _, err := io.ReadFull(r, store); err != nil {
		return nil, nil, err
	}
	return intro, store, nil
}

// parseEntries reads the index of a header into entries with their data.
func parseEntries(intro, store []byte) ([]entry, error) {
	il := (len(intro) - 16) / 16
	out := make([]entry, 0, il)
	for i := range il {
		e := intro[16+16*i:]
		tag, typ := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])
		off, count := binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
		if off > uint32(len(store)) || count == 0 || count > uint32(len(store)) {
			return nil, fmt.Errorf("tag %d: offset %d, count %d out of range", tag, off, count)
		}
		var n int
		switch typ {
		case 6, 8, 9: // STRING, STRING_ARRAY, I18NSTRING
			if typ == 6 && count != 1 {
				return nil, fmt.Errorf("tag %d: string count %d", tag, count)
			}
			rest := store[off:]
			for range count {
				j := bytes.IndexByte(rest[n:], 0)
				if j < 0 {
					return nil, fmt.Errorf("tag %d: unterminated string", tag)
				}
				n += j + 1
			}
		default:
			size, ok := typeSize[typ]
			if !ok {
				return nil, fmt.Errorf("tag %d: type %d", tag, typ)
			}
			n = size * int(count)
			if size > 1 && int(off)%size != 0 {
				return nil, fmt.Errorf("tag %d: misaligned", tag)
			}
		}
		if int(off)+n > len(store) {
			return nil, fmt.Errorf("tag %d: data past the end of the store", tag)
		}
		out = append(out, entry{tag, typ, count, store[off : int(off)+n]})
	}
	return out, nil
}

// marshalSigHeader lays out a signature header as rpm writes one: the
// region tag first, the other entries by tag, data in index order with
// each type's alignment, the region trailer last, then padding to 8.
func marshalSigHeader(entries []entry) []byte {
	slices.SortStableFunc(entries, func(a, b entry) int { return int(a.tag) - int(b.tag) })
	il := len(entries) + 1
	var store []byte
	index := make([]byte, 0, 16*il)
	for _, e := range entries {
		if size := typeSize[e.typ]; size > 1 {
			for len(store)%size != 0 {
				store = append(store, 0)
			}
		}
		index = binary.BigEndian.AppendUint32(index, e.tag)
		index = binary.BigEndian.AppendUint32(index, e.typ)
		index = binary.BigEndian.AppendUint32(index, uint32(len(store)))
		index = binary.BigEndian.AppendUint32(index, e.count)
		store = append(store, e.data...)
	}
	trailer := len(store)
	store = binary.BigEndian.AppendUint32(store, sigTagRegion)
	store = binary.BigEndian.AppendUint32(store, typeBin)
	store = binary.BigEndian.AppendUint32(store, uint32(-int32(16*il)))
	store = binary.BigEndian.AppendUint32(store, 16)
	var b []byte
	b = append(b, headerMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(il))
	b = binary.BigEndian.AppendUint32(b, uint32(len(store)))
	b = binary.BigEndian.AppendUint32(b, sigTagRegion)
	b = binary.BigEndian.AppendUint32(b, typeBin)
	b = binary.BigEndian.AppendUint32(b, uint32(trailer))
	b = binary.BigEndian.AppendUint32(b, 16)
	b = append(b, index...)
	b = append(b, store...)
	for len(store)%8 != 0 {
		store = append(store, 0)
		b = append(b, 0)
	}
	return b
}

// checkHeaderDigests checks the signature header's header digests
// (SHA-256 and SHA-1), so that a damaged header is never signed.
func (p *rpmParts) checkHeaderDigests() error {
	for _, e := range p.sig {
		var want, got string
		switch e.tag {
		case rpmtag.SigSHA256:
			sum := sha256.Sum256(p.header)
			want, got = string(bytes.TrimRight(e.data, "\x00")), hex.EncodeToString(sum[:])
		case rpmtag.SigSHA1:
			sum := sha1.Sum(p.header)
			want, got = string(bytes.TrimRight(e.data, "\x00")), hex.EncodeToString(sum[:])
		default:
			continue
		}
		if want != got {
			return fmt.Errorf("%w: header digest (signature tag %d) does not match: the package is damaged", ErrNotRPM, e.tag)
		}
	}
	return nil
}

// payloadSHA256 is the payload digest the main header carries (hex), if
// it is a SHA-256 one (rpm 4.14 and rpmpack write it); "" if none.
func (p *rpmParts) payloadSHA256() (string, error) {
	il := int(binary.BigEndian.Uint32(p.header[8:12]))
	entries, err := parseEntries(p.header[:16+16*il], p.header[16+16*il:])
	if err != nil {
		return "", fmt.Errorf("%w: header: %w", ErrNotRPM, err)
	}
	var digest string
	algo := uint32(0)
	for _, e := range entries {
		switch {
		case e.tag == rpmtag.PayloadDigest && (e.typ == 8 || e.typ == 6):
			digest, _, _ = strings.Cut(string(e.data), "\x00")
		case e.tag == rpmtag.PayloadDigestAlgo && e.typ == 4 && len(e.data) >= 4:
			algo = binary.BigEndian.Uint32(e.data)
		}
	}
	if algo != 8 { // PGPHASHALGO_SHA256
		return "", nil
	}
	return digest, nil
}

// SignRPM signs the RPM file at path in place with k: the header
// signature rpmsign writes (RPMSIGTAG_RSA over the main header),
// replacing any OpenPGP signature the package had, keeping the other
// signature tags. The file is replaced atomically and keeps its mode; a
// package whose header or payload does not match its digests (header
// SHA-256 and SHA-1, MD5, payload SHA-256) is refused and left as it was.
func SignRPM(path string, k *Key, now time.Time) error {
	// The file itself is replaced: a symbolic link would become a file.
	if st, err := os.Lstat(path); err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("sign %s: not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("sign %s: not a regular file", path)
	}
	p, err := readRPM(&io.LimitedReader{R: f, N: st.Size()})
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	if err := p.checkHeaderDigests(); err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	payloadWant, err := p.payloadSHA256()
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	sig, err := k.Sign(p.header, now)
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	var md5want []byte
	entries := []entry{{tag: sigTagRSA, typ: typeBin, count: uint32(len(sig)), data: sig}}
	for _, e := range p.sig {
		switch e.tag {
		case sigTagRegion, sigTagDSA, sigTagRSA, sigTagPGP, sigTagGPG, sigTagPGP5:
			continue
		case rpmtag.SigMD5:
			md5want = e.data
		}
		entries = append(entries, e)
	}
	if len(entries)+1 > maxRPMSigEntries {
		return fmt.Errorf("sign %s: %w: %d signature tags, rpm reads at most %d", path, ErrNotRPM, len(entries)+1, maxRPMSigEntries)
	}
	sigHeader := marshalSigHeader(entries)
	err = atomicfile.Write(path, st.Mode().Perm(), func(out *os.File) error {
		for _, b := range [][]byte{p.lead, sigHeader, p.header} {
			if _, err := out.Write(b); err != nil {
				return err
			}
		}
		h := md5.New()
		h.Write(p.header)
		ph := sha256.New()
		if _, err := io.Copy(io.MultiWriter(out, h, ph), f); err != nil {
			return err
		}
		if md5want != nil && !bytes.Equal(h.Sum(nil), md5want) {
			return fmt.Errorf("%w: header and payload do not match their MD5 digest: the package is damaged", ErrNotRPM)
		}
		if payloadWant != "" && hex.EncodeToString(ph.Sum(nil)) != payloadWant {
			return fmt.Errorf("%w: the payload does not match its SHA-256 digest: the package is damaged", ErrNotRPM)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	return nil
}

// SignRPMs signs every file with k, on as many workers as there are
// cores (workers <= 0) or the given number, and returns the errors of
// the files that failed, joined; the others are signed. It stops taking
// new files when ctx is done.
func SignRPMs(ctx context.Context, k *Key, paths []string, workers int, now time.Time) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(paths) {
		workers = len(paths)
	}
	ch := make(chan string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range ch {
				if err := SignRPM(path, k, now); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	var err error
loop:
	for _, path := range paths {
		select {
		case ch <- path:
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(ch)
	wg.Wait()
	return errors.Join(append(errs, err)...)
}

// HeaderSignature returns the RPMSIGTAG_RSA signature packet of the RPM
// file at path, and the header it signs; nil if the package has none.
func HeaderSignature(path string) (sig, header []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	p, err := readRPM(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	for _, e := range p.sig {
		if e.tag == sigTagRSA {
			return e.data, p.header, nil
		}
	}
	return nil, p.header, nil
}
