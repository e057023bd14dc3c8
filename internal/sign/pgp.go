package sign

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// OpenPGP numbers used here (RFC 4880 section 4.3, 5.2, 9).
const (
	tagSignature = 2
	tagSecretKey = 5
	tagPublicKey = 6
	tagSecretSub = 7
	tagUserID    = 13
	tagPublicSub = 14

	algoRSA       = 1
	algoRSASign   = 3
	hashSHA256    = 8
	cipherAES256  = 9
	sigBinary     = 0x00
	sigPositiveID = 0x13

	subCreated      = 2
	subKeyExpires   = 9
	subPrefCipher   = 11
	subIssuer       = 16
	subPrefHash     = 21
	subPrefCompress = 22
	subKeyFlags     = 27
	subFeatures     = 30
	subIssuerFpr    = 33
)

// errMalformed is wrapped by every parse error of an OpenPGP packet.
var errMalformed = errors.New("malformed OpenPGP data")

// packet is one OpenPGP packet: its tag and body.
type packet struct {
	tag  byte
	body []byte
}

// appendPacket appends a new-format packet header and body.
func appendPacket(b []byte, tag byte, body []byte) []byte {
	b = append(b, 0xC0|tag)
	switch n := len(body); {
	case n < 192:
		b = append(b, byte(n))
	case n < 8384:
		n -= 192
		b = append(b, byte(n>>8)+192, byte(n))
	default:
		b = append(b, 0xFF)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	return append(b, body...)
}

// parsePackets splits b into packets, old or new format. Partial body
// lengths (only used for streamed data) are refused.
func parsePackets(b []byte) ([]packet, error) {
	var out []packet
	for len(b) > 0 {
		h := b[0]
		if h&0x80 == 0 {
			return nil, fmt.Errorf("%w: packet header byte %#x", errMalformed, h)
		}
		var tag byte
		var n, hl int
		if h&0x40 != 0 {
			tag = h & 0x3F
			if len(b) < 2 {
				return nil, fmt.Errorf("%w: truncated packet header", errMalformed)
			}
			switch l := b[1]; {
			case l < 192:
				n, hl = int(l), 2
			case l < 224:
				if len(b) < 3 {
					return nil, fmt.Errorf("%w: truncated packet header", errMalformed)
				}
				n, hl = (int(l)-192)<<8+int(b[2])+192, 3
			case l == 255:
				if len(b) < 6 {
					return nil, fmt.Errorf("%w: truncated packet header", errMalformed)
				}
				n, hl = int(binary.BigEndian.Uint32(b[2:6])), 6
			default:
				return nil, fmt.Errorf("%w: partial body length", errMalformed)
			}
		} else {
			tag = (h >> 2) & 0x0F
			switch h & 3 {
			case 0:
				if len(b) < 2 {
					return nil, fmt.Errorf("%w: truncated packet header", errMalformed)
				}
				n, hl = int(b[1]), 2
			case 1:
				if len(b) < 3 {
					return nil, fmt.Errorf("%w: truncated packet header", errMalformed)
				}
				n, hl = int(binary.BigEndian.Uint16(b[1:3])), 3
			case 2:
				if len(b) < 5 {
					return nil, fmt.Errorf("%w: truncated packet header", errMalformed)
				}
				n, hl = int(binary.BigEndian.Uint32(b[1:5])), 5
			default:
				return nil, fmt.Errorf("%w: indeterminate packet length", errMalformed)
			}
		}
		if n < 0 || n > len(b)-hl {
			return nil, fmt.Errorf("%w: packet of %d bytes in %d", errMalformed, n, len(b)-hl)
		}
		out = append(out, packet{tag, b[hl : hl+n]})
		b = b[hl+n:]
	}
	return out, nil
}

// appendMPI appends x as an OpenPGP multiprecision integer.
func appendMPI(b []byte, x *big.Int) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(x.BitLen()))
	return append(b, x.Bytes()...)
}

// readMPI reads one MPI from the front of b.
func readMPI(b []byte) (*big.Int, []byte, error) {
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%w: truncated MPI", errMalformed)
	}
	bits := int(binary.BigEndian.Uint16(b))
	n := (bits + 7) / 8
	if len(b)-2 < n {
		return nil, nil, fmt.Errorf("%w: MPI of %d bits in %d bytes", errMalformed, bits, len(b)-2)
	}
	return new(big.Int).SetBytes(b[2 : 2+n]), b[2+n:], nil
}

// subpacket is one signature subpacket.
type subpacket struct {
	typ      byte
	critical bool
	data     []byte
}

func appendSubpacket(b []byte, typ byte, data []byte) []byte {
	n := len(data) + 1 // always < 192 here
	return append(append(b, byte(n), typ), data...)
}

// parseSubpackets splits a subpacket area.
func parseSubpackets(b []byte) ([]subpacket, error) {
	var out []subpacket
	for len(b) > 0 {
		var n, hl int
		switch l := b[0]; {
		case l < 192:
			n, hl = int(l), 1
		case l < 255:
			if len(b) < 2 {
				return nil, fmt.Errorf("%w: truncated subpacket", errMalformed)
			}
			n, hl = (int(l)-192)<<8+int(b[1])+192, 2
		default:
			if len(b) < 5 {
				return nil, fmt.Errorf("%w: truncated subpacket", errMalformed)
			}
			n, hl = int(binary.BigEndian.Uint32(b[1:5])), 5
		}
		if n < 1 || n > len(b)-hl {
			return nil, fmt.Errorf("%w: subpacket of %d bytes in %d", errMalformed, n, len(b)-hl)
		}
		out = append(out, subpacket{typ: b[hl] & 0x7F, critical: b[hl]&0x80 != 0, data: b[hl+1 : hl+n]})
		b = b[hl+n:]
	}
	return out, nil
}

// Signature is a parsed v4 signature packet: what a test or an auditor
// needs to check its shape.
type Signature struct {
	Version    int
	Type       byte
	PubKeyAlgo byte
	HashAlgo   byte
	Created    uint32
	// KeyExpires is seconds after the key's creation (0: never).
	KeyExpires uint32
	// IssuerKeyID is from the issuer subpacket, hashed or not.
	IssuerKeyID uint64
	// IssuerFingerprint is from the issuer fingerprint subpacket (v4).
	IssuerFingerprint []byte
	Hashed            []Subpacket
	Unhashed          []Subpacket
	// HashPrefix is the left 16 bits of the signed hash.
	HashPrefix [2]byte
	// Value is the RSA signature.
	Value *big.Int

	hashedArea []byte
	raw        []byte
}

// Subpacket is one signature subpacket's type and critical bit.
type Subpacket struct {
	Type     byte
	Critical bool
}

// ParseSignature parses one signature packet, framed (as rpm stores it in
// RPMSIGTAG_RSA) or armored. Only v4 signatures are accepted.
func ParseSignature(b []byte) (*Signature, error) {
	sigs, err := ParseSignatures(b)
	if err != nil {
		return nil, err
	}
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%w: want one signature packet, got %d", errMalformed, len(sigs))
	}
	return sigs[0], nil
}

// ParseSignatures parses a sequence of signature packets (such as a
// detached signature by several keys), binary or armored.
func ParseSignatures(b []byte) ([]*Signature, error) {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN PGP")) {
		var err error
		if _, b, err = dearmor(b); err != nil {
			return nil, err
		}
	}
	pkts, err := parsePackets(b)
	if err != nil {
		return nil, err
	}
	var out []*Signature
	for _, p := range pkts {
		if p.tag != tagSignature {
			return nil, fmt.Errorf("%w: packet tag %d where a signature was expected", errMalformed, p.tag)
		}
		s, err := parseSignatureBody(p.body)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSignatureBody(b []byte) (*Signature, error) {
	if len(b) < 6 || b[0] != 4 {
		return nil, fmt.Errorf("%w: not a v4 signature", errMalformed)
	}
	s := &Signature{Version: 4, Type: b[1], PubKeyAlgo: b[2], HashAlgo: b[3], raw: b}
	hl := int(binary.BigEndian.Uint16(b[4:6]))
	if len(b) < 6+hl+2 {
		return nil, fmt.Errorf("%w: truncated hashed subpackets", errMalformed)
	}
	s.hashedArea = b[6 : 6+hl]
	rest := b[6+hl:]
	ul := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+ul+2 {
		return nil, fmt.Errorf("%w: truncated unhashed subpackets", errMalformed)
	}
	unhashed := rest[2 : 2+ul]
	rest = rest[2+ul:]
	copy(s.HashPrefix[:], rest[:2])
	v, rest, err := readMPI(rest[2:])
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the signature", errMalformed, len(rest))
	}
	s.Value = v
	for i, area := range [][]byte{s.hashedArea, unhashed} {
		sps, err := parseSubpackets(area)
		if err != nil {
			return nil, err
		}
		for _, sp := range sps {
			if i == 0 {
				s.Hashed = append(s.Hashed, Subpacket{sp.typ, sp.critical})
			} else {
				s.Unhashed = append(s.Unhashed, Subpacket{sp.typ, sp.critical})
			}
			switch {
			case sp.typ == subCreated && i == 0 && len(sp.data) == 4:
				s.Created = binary.BigEndian.Uint32(sp.data)
			case sp.typ == subKeyExpires && i == 0 && len(sp.data) == 4:
				s.KeyExpires = binary.BigEndian.Uint32(sp.data)
			case sp.typ == subIssuer && len(sp.data) == 8:
				s.IssuerKeyID = binary.BigEndian.Uint64(sp.data)
			case sp.typ == subIssuerFpr && len(sp.data) == 21 && sp.data[0] == 4:
				s.IssuerFingerprint = sp.data[1:]
			}
		}
	}
	return s, nil
}

// Armor block types.
const (
	armorPublic    = "PGP PUBLIC KEY BLOCK"
	armorPrivate   = "PGP PRIVATE KEY BLOCK"
	armorSignature = "PGP SIGNATURE"
)

// armor encodes data as an ASCII-armored block (RFC 4880 section 6.2).
func armor(typ string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("-----BEGIN " + typ + "-----\n\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n")
	c := crc24(data)
	b.WriteString("=" + base64.StdEncoding.EncodeToString([]byte{byte(c >> 16), byte(c >> 8), byte(c)}) + "\n")
	b.WriteString("-----END " + typ + "-----\n")
	return b.Bytes()
}

// dearmor decodes the first armored block in b and returns its type.
// The checksum, when present, must match.
func dearmor(b []byte) (string, []byte, error) {
	typ, data, _, err := dearmorNext(b)
	return typ, data, err
}

// dearmorNext decodes the first armored block in b and returns its type,
// its data and what follows it.
func dearmorNext(b []byte) (string, []byte, []byte, error) {
	lines := strings.SplitAfter(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "-----BEGIN ") {
		i++
	}
	if i == len(lines) {
		return "", nil, nil, fmt.Errorf("%w: no armor header", errMalformed)
	}
	begin := strings.TrimSpace(lines[i])
	typ, ok := strings.CutSuffix(strings.TrimPrefix(begin, "-----BEGIN "), "-----")
	if !ok {
		return "", nil, nil, fmt.Errorf("%w: bad armor header line", errMalformed)
	}
	i++
	// Armor headers (Version:, Comment:) up to the blank line.
	for j := i; j < len(lines); j++ {
		l := strings.TrimSpace(lines[j])
		if l == "" {
			i = j + 1
			break
		}
		if !strings.Contains(l, ": ") {
			break // no headers and no blank line
		}
	}
	var body strings.Builder
	var sum string
	end := false
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "-----END "+typ+"-----" {
			end = true
			break
		}
		if strings.HasPrefix(l, "=") && len(l) == 5 {
			sum = l[1:]
			continue
		}
		body.WriteString(l)
	}
	if !end {
		return "", nil, nil, fmt.Errorf("%w: no armor tail for %s", errMalformed, typ)
	}
	data, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil {
		return "", nil, nil, fmt.Errorf("%w: armor: %v", errMalformed, err)
	}
	if sum != "" {
		c, err := base64.StdEncoding.DecodeString(sum)
		want := crc24(data)
		if err != nil || len(c) != 3 || uint32(c[0])<<16|uint32(c[1])<<8|uint32(c[2]) != want {
			return "", nil, nil, fmt.Errorf("%w: armor checksum mismatch", errMalformed)
		}
	}
	rest := []byte(strings.Join(lines[min(i+1, len(lines)):], ""))
	return typ, data, rest, nil
}

func crc24(b []byte) uint32 {
	crc := uint32(0xB704CE)
	for _, c := range b {
		crc ^= uint32(c) << 16
		for range 8 {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= 0x1864CFB
			}
		}
	}
	return crc & 0xFFFFFF
}

// fingerprint is the v4 fingerprint of a public key packet body.
func fingerprint(pub []byte) []byte {
	h := sha1.New()
	h.Write([]byte{0x99, byte(len(pub) >> 8), byte(len(pub))})
	h.Write(pub)
	return h.Sum(nil)
}
