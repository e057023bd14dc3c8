package repo_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// rpmParts is an RPM file split into its parts, so that a test can
// rewrite its headers into what rpmbuild no longer makes (v3 headers,
// tags in the other header) and still have a package rpm reads: the
// writer lays out the index, the data and the region trailer as rpm
// checks them, and puts the digests and sizes of the signature header
// right.
type rpmParts struct {
	lead      []byte
	sig, main *rpmHeader
	payload   []byte
}

// rpmHeader is one header structure: its region tag (62 for the
// signature header, 63 for the main header, 0 for a v3 header without
// one) and its other entries.
type rpmHeader struct {
	region  uint32
	entries []hdrEntry
}

type hdrEntry struct {
	tag, typ, count uint32
	data            []byte
}

// Header data types (rpm's rpmTagType).
const (
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
)

var errRPMShape = errors.New("not an rpm file this test can rewrite")

func parseRPM(b []byte) (*rpmParts, error) {
	if len(b) < 96 {
		return nil, errRPMShape
	}
	p := &rpmParts{lead: b[:96]}
	sig, n, err := parseHeader(b[96:])
	if err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	}
	off := 96 + n
	off += (8 - n%8) % 8
	main, m, err := parseHeader(b[off:])
	if err != nil {
		return nil, fmt.Errorf("main header: %w", err)
	}
	p.sig, p.main, p.payload = sig, main, b[off+m:]
	return p, nil
}

// parseHeader reads one header structure and returns its length.
func parseHeader(b []byte) (*rpmHeader, int, error) {
	if len(b) < 16 || !bytes.Equal(b[:4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return nil, 0, errRPMShape
	}
	il := int(binary.BigEndian.Uint32(b[8:]))
	dl := int(binary.BigEndian.Uint32(b[12:]))
	end := 16 + il*16 + dl
	if il > 1<<16 || dl > 64<<20 || end > len(b) {
		return nil, 0, errRPMShape
	}
	data := b[16+il*16 : end]
	h := &rpmHeader{}
	for i := range il {
		e := b[16+i*16:]
		ent := hdrEntry{tag: binary.BigEndian.Uint32(e), typ: binary.BigEndian.Uint32(e[4:]), count: binary.BigEndian.Uint32(e[12:])}
		o := int(binary.BigEndian.Uint32(e[8:]))
		if i == 0 && (ent.tag == 62 || ent.tag == 63) {
			h.region = ent.tag
			continue
		}
		n, err := dataLen(ent.typ, ent.count, data, o)
		if err != nil {
			return nil, 0, fmt.Errorf("tag %d: %w", ent.tag, err)
		}
		ent.data = slices.Clone(data[o : o+n])
		h.entries = append(h.entries, ent)
	}
	return h, end, nil
}

func dataLen(typ, count uint32, data []byte, o int) (int, error) {
	if o < 0 || o > len(data) {
		return 0, errRPMShape
	}
	switch typ {
	case 1, 2, typeBin:
		return int(count), nil
	case typeInt16:
		return 2 * int(count), nil
	case typeInt32:
		return 4 * int(count), nil
	case typeInt64:
		return 8 * int(count), nil
	case typeString, typeStringArray, 9:
		n := o
		for range count {
			i := bytes.IndexByte(data[n:], 0)
			if i < 0 {
				return 0, errRPMShape
			}
			n += i + 1
		}
		return n - o, nil
	}
	return 0, errRPMShape
}

func (h *rpmHeader) get(tag uint32) *hdrEntry {
	for i := range h.entries {
		if h.entries[i].tag == tag {
			return &h.entries[i]
		}
	}
	return nil
}

func (h *rpmHeader) del(tags ...uint32) {
	h.entries = slices.DeleteFunc(h.entries, func(e hdrEntry) bool { return slices.Contains(tags, e.tag) })
}

func (h *rpmHeader) set(tag, typ, count uint32, data []byte) {
	h.del(tag)
	h.entries = append(h.entries, hdrEntry{tag: tag, typ: typ, count: count, data: data})
}

func (h *rpmHeader) setString(tag uint32, s string) {
	h.set(tag, typeString, 1, append([]byte(s), 0))
}

func (h *rpmHeader) setInt32(tag uint32, v uint32) {
	h.set(tag, typeInt32, 1, binary.BigEndian.AppendUint32(nil, v))
}

func (h *rpmHeader) setInt64(tag uint32, v uint64) {
	h.set(tag, typeInt64, 1, binary.BigEndian.AppendUint64(nil, v))
}

func (h *rpmHeader) setStrings(tag uint32, ss []string) {
	var b []byte
	for _, s := range ss {
		b = append(append(b, s...), 0)
	}
	h.set(tag, typeStringArray, uint32(len(ss)), b)
}

func (h *rpmHeader) setInt32s(tag uint32, vs []uint32) {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	h.set(tag, typeInt32, uint32(len(vs)), b)
}

// bytes lays the header out as rpm writes it: entries in tag order, each
// value aligned to its size, the region trailer last, its entry first.
func (h *rpmHeader) bytes() []byte {
	es := slices.Clone(h.entries)
	slices.SortStableFunc(es, func(a, b hdrEntry) int { return int(a.tag) - int(b.tag) })
	var index, data []byte
	entry := func(tag, typ uint32, off int, count uint32) {
		index = binary.BigEndian.AppendUint32(index, tag)
		index = binary.BigEndian.AppendUint32(index, typ)
		index = binary.BigEndian.AppendUint32(index, uint32(off))
		index = binary.BigEndian.AppendUint32(index, count)
	}
	for _, e := range es {
		align := map[uint32]int{typeInt16: 2, typeInt32: 4, typeInt64: 8}[e.typ]
		for align > 0 && len(data)%align != 0 {
			data = append(data, 0)
		}
		entry(e.tag, e.typ, len(data), e.count)
		data = append(data, e.data...)
	}
	il := len(es)
	if h.region != 0 {
		il++
		trailer := binary.BigEndian.AppendUint32(nil, h.region)
		trailer = binary.BigEndian.AppendUint32(trailer, typeBin)
		trailer = binary.BigEndian.AppendUint32(trailer, uint32(-int32(il*16)))
		trailer = binary.BigEndian.AppendUint32(trailer, 16)
		first := binary.BigEndian.AppendUint32(nil, h.region)
		first = binary.BigEndian.AppendUint32(first, typeBin)
		first = binary.BigEndian.AppendUint32(first, uint32(len(data)))
		first = binary.BigEndian.AppendUint32(first, 16)
		index = append(first, index...)
		data = append(data, trailer...)
	}
	out := []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}
	out = binary.BigEndian.AppendUint32(out, uint32(il))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	return append(append(out, index...), data...)
}

// bytes writes the package, with the signature header's sizes and
// digests made for the main header and payload as they are now, and its
// signatures (which no longer hold) removed.
func (p *rpmParts) bytes() []byte {
	main := p.main.bytes()
	sig := p.sig
	sig.del(267, 268, 1002, 1005) // DSA, RSA, PGP, GPG
	size := len(main) + len(p.payload)
	if sig.get(1000) != nil {
		sig.setInt32(1000, uint32(size))
	}
	if sig.get(270) != nil {
		sig.setInt64(270, uint64(size))
	}
	if sig.get(1004) != nil {
		m := md5.New()
		m.Write(main)
		m.Write(p.payload)
		sig.set(1004, typeBin, 16, m.Sum(nil))
	}
	if sig.get(269) != nil {
		s := sha1.Sum(main)
		sig.setString(269, hex.EncodeToString(s[:]))
	}
	if sig.get(273) != nil {
		s := sha256.Sum256(main)
		sig.setString(273, hex.EncodeToString(s[:]))
	}
	out := slices.Clone(p.lead)
	sb := sig.bytes()
	out = append(out, sb...)
	out = append(out, make([]byte, (8-len(sb)%8)%8)...)
	out = append(out, main...)
	return append(out, p.payload...)
}

// stringsOf reads a string array entry.
func (e *hdrEntry) stringsOf() []string {
	if e == nil {
		return nil
	}
	s := string(bytes.TrimSuffix(e.data, []byte{0}))
	return bytes2strings(s, e.count)
}

func bytes2strings(s string, n uint32) []string {
	out := make([]string, 0, n)
	for range n {
		i := 0
		for i < len(s) && s[i] != 0 {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			s = s[i+1:]
		} else {
			s = ""
		}
	}
	return out
}

// int32s reads an int32 array entry.
func (e *hdrEntry) int32s() []uint32 {
	if e == nil || e.typ != typeInt32 {
		return nil
	}
	out := make([]uint32, e.count)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(e.data[4*i:])
	}
	return out
}
