package sign

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"
)

// Errors a caller may test for with errors.Is.
var (
	// ErrExpired: the key's expiry time has passed, so it signs nothing
	// (nodes would refuse what it signs).
	ErrExpired = errors.New("sign: key expired")
	// ErrPassphraseNeeded: the private key is passphrase-protected and no
	// passphrase was given.
	ErrPassphraseNeeded = errors.New("sign: private key is passphrase-protected and no passphrase was given")
	// ErrBadPassphrase: the passphrase does not decrypt the private key.
	ErrBadPassphrase = errors.New("sign: wrong passphrase for private key")
	// ErrNoPrivateKey: the key is a public key and cannot sign.
	ErrNoPrivateKey = errors.New("sign: not a private key")
)

// DefaultBits is the RSA modulus size of generated keys: RSA 4096, which
// every rpm since 4.0 checks (EL7's rpm cannot check EdDSA).
const DefaultBits = 4096

// s2kCount is the coded S2K iteration count of protected keys: 0xF0
// hashes 33,554,432 bytes, about a tenth of a second.
const s2kCount = 0xF0

// Key is an OpenPGP RSA primary key with one user ID and its
// self-signature, with or without its private half. Safe for concurrent
// use.
type Key struct {
	priv    *rsa.PrivateKey // nil for a public key
	pub     *rsa.PublicKey
	pubBody []byte // public key packet body
	fpr     []byte
	created time.Time
	expires time.Time // zero: never
	userID  string
	uid     []byte   // user ID packet body
	sigs    [][]byte // self-signature packet bodies
	secret  bool     // read from (or made as) a secret key
}

// Info describes a key, for `acn key list`, /healthz and /metrics.
type Info struct {
	ID          string // 16 hex digits, upper case
	Fingerprint string // 40 hex digits, upper case
	Algorithm   string // "RSA"
	Bits        int
	UserID      string
	Created     time.Time
	Expires     time.Time // zero: never
	Private     bool
}

// Info reports what the key is and when it expires.
func (k *Key) Info() Info {
	return Info{
		ID:          k.ID(),
		Fingerprint: strings.ToUpper(hex.EncodeToString(k.fpr)),
		Algorithm:   "RSA",
		Bits:        k.pub.N.BitLen(),
		UserID:      k.userID,
		Created:     k.created,
		Expires:     k.expires,
		Private:     k.secret || k.priv != nil,
	}
}

// ID is the key ID: the low 64 bits of the fingerprint, in upper-case hex.
func (k *Key) ID() string { return strings.ToUpper(hex.EncodeToString(k.fpr[12:])) }

// Expires is the key's expiry time; zero if it never expires.
func (k *Key) Expires() time.Time { return k.expires }

// Expired reports whether the key has expired at now.
func (k *Key) Expired(now time.Time) bool {
	return !k.expires.IsZero() && !now.Before(k.expires)
}

// GenerateOptions are the parameters of a new key.
type GenerateOptions struct {
	// UserID such as "ACN Packages <packages@example.com>". Required.
	UserID string
	// Bits of the RSA modulus; DefaultBits if 0.
	Bits int
	// Expire is the key's lifetime; 0 for a key that never expires.
	Expire time.Duration
	// Now is the creation time; time.Now() if zero.
	Now time.Time
}

// Generate makes a new RSA key with a self-signed user ID.
func Generate(opts GenerateOptions) (*Key, error) {
	if strings.TrimSpace(opts.UserID) == "" || strings.ContainsAny(opts.UserID, "\n\r\x00") || len(opts.UserID) > 1024 {
		return nil, fmt.Errorf("generate key: user ID %q: want a name and address on one line", opts.UserID)
	}
	bits := opts.Bits
	if bits == 0 {
		bits = DefaultBits
	}
	if bits < 2048 || bits > 8192 {
		return nil, fmt.Errorf("generate key: %d bits: want 2048 to 8192", bits)
	}
	if opts.Expire < 0 || opts.Expire.Seconds() >= 1<<32 {
		return nil, fmt.Errorf("generate key: expiry %v out of range", opts.Expire)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.Truncate(time.Second)
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	// OpenPGP stores u = p^-1 mod q, with p < q.
	if priv.Primes[0].Cmp(priv.Primes[1]) > 0 {
		priv.Primes[0], priv.Primes[1] = priv.Primes[1], priv.Primes[0]
		priv.Precomputed = rsa.PrecomputedValues{}
		priv.Precompute()
	}
	k := &Key{priv: priv, pub: &priv.PublicKey, created: now, userID: opts.UserID, uid: []byte(opts.UserID)}
	k.pubBody = publicBody(&priv.PublicKey, now)
	k.fpr = fingerprint(k.pubBody)
	var hashed []byte
	hashed = appendSubpacket(hashed, subCreated, binary.BigEndian.AppendUint32(nil, uint32(now.Unix())))
	hashed = appendSubpacket(hashed, subKeyFlags, []byte{0x03}) // certify, sign
	if opts.Expire > 0 {
		secs := uint32(opts.Expire / time.Second)
		hashed = appendSubpacket(hashed, subKeyExpires, binary.BigEndian.AppendUint32(nil, secs))
		k.expires = now.Add(time.Duration(secs) * time.Second)
	}
	hashed = appendSubpacket(hashed, subPrefCipher, []byte{cipherAES256, 8, 7})
	hashed = appendSubpacket(hashed, subPrefHash, []byte{hashSHA256, 10, 9})
	hashed = appendSubpacket(hashed, subPrefCompress, []byte{2, 3, 1})
	hashed = appendSubpacket(hashed, subFeatures, []byte{0x01})
	hashed = appendSubpacket(hashed, subIssuerFpr, append([]byte{4}, k.fpr...))
	sig, err := k.signRaw(sigPositiveID, hashed, func(h io.Writer) { k.hashUserID(h) })
	if err != nil {
		return nil, fmt.Errorf("generate key: self-signature: %w", err)
	}
	k.sigs = [][]byte{sig}
	return k, nil
}

func publicBody(pub *rsa.PublicKey, created time.Time) []byte {
	b := []byte{4}
	b = binary.BigEndian.AppendUint32(b, uint32(created.Unix()))
	b = append(b, algoRSA)
	b = appendMPI(b, pub.N)
	return appendMPI(b, big.NewInt(int64(pub.E)))
}

// hashUserID writes what a certification over the key's user ID covers.
func (k *Key) hashUserID(h io.Writer) {
	h.Write([]byte{0x99, byte(len(k.pubBody) >> 8), byte(len(k.pubBody))})
	h.Write(k.pubBody)
	h.Write(binary.BigEndian.AppendUint32([]byte{0xB4}, uint32(len(k.uid))))
	h.Write(k.uid)
}

// signRaw makes a v4 RSA SHA-256 signature packet body of type typ with
// the given hashed subpackets over what data writes, with the issuer key
// ID unhashed.
func (k *Key) signRaw(typ byte, hashed []byte, data func(io.Writer)) ([]byte, error) {
	if k.priv == nil {
		return nil, ErrNoPrivateKey
	}
	head := []byte{4, typ, algoRSA, hashSHA256, byte(len(hashed) >> 8), byte(len(hashed))}
	head = append(head, hashed...)
	h := sha256.New()
	data(h)
	h.Write(head)
	h.Write(binary.BigEndian.AppendUint32([]byte{4, 0xFF}, uint32(len(head))))
	digest := h.Sum(nil)
	s, err := rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, digest)
	if err != nil {
		return nil, err
	}
	unhashed := appendSubpacket(nil, subIssuer, k.fpr[12:])
	body := append(head, byte(len(unhashed)>>8), byte(len(unhashed)))
	body = append(body, unhashed...)
	body = append(body, digest[0], digest[1])
	return appendMPI(body, new(big.Int).SetBytes(s)), nil
}

// Sign returns a binary-document signature packet (framed, as rpm stores
// it in RPMSIGTAG_RSA and gpg reads it) over data, made now. An expired
// key returns ErrExpired.
func (k *Key) Sign(data []byte, now time.Time) ([]byte, error) {
	body, err := k.signDocument(data, now)
	if err != nil {
		return nil, err
	}
	return appendPacket(nil, tagSignature, body), nil
}

func (k *Key) signDocument(data []byte, now time.Time) ([]byte, error) {
	if k.priv == nil {
		return nil, fmt.Errorf("sign with key %s: %w", k.ID(), ErrNoPrivateKey)
	}
	if k.Expired(now) {
		return nil, fmt.Errorf("sign with key %s: expired %s: %w", k.ID(), k.expires.UTC().Format(time.RFC3339), ErrExpired)
	}
	if now.Before(k.created) {
		// A signature older than its key is invalid; this clock is wrong.
		return nil, fmt.Errorf("sign with key %s: the clock (%s) is before the key's creation (%s)", k.ID(), now.UTC().Format(time.RFC3339), k.created.UTC().Format(time.RFC3339))
	}
	var hashed []byte
	hashed = appendSubpacket(hashed, subCreated, binary.BigEndian.AppendUint32(nil, uint32(now.Unix())))
	hashed = appendSubpacket(hashed, subIssuerFpr, append([]byte{4}, k.fpr...))
	body, err := k.signRaw(sigBinary, hashed, func(h io.Writer) { h.Write(data) })
	if err != nil {
		return nil, fmt.Errorf("sign with key %s: %w", k.ID(), err)
	}
	return body, nil
}

// HeaderSigner returns the function the builder calls while writing an
// RPM: it takes the header's bytes (the immutable region, as stored) and
// returns the signature packet for RPMSIGTAG_RSA.
func (k *Key) HeaderSigner() func(header []byte) ([]byte, error) {
	return func(header []byte) ([]byte, error) { return k.Sign(header, time.Now()) }
}

// Detached returns an ASCII-armored detached signature over data by every
// key, one signature packet per key in one armored block (as gpg writes
// for several --local-user), so that a node holding any one of the keys
// verifies it: repomd.xml.asc during a key rotation. Any key that cannot
// sign (expired, public only) fails the whole signature.
func Detached(data []byte, now time.Time, keys ...*Key) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("sign: detached signature: no keys")
	}
	var out []byte
	for _, k := range keys {
		body, err := k.signDocument(data, now)
		if err != nil {
			return nil, fmt.Errorf("detached signature: %w", err)
		}
		out = appendPacket(out, tagSignature, body)
	}
	return armor(armorSignature, out), nil
}

// PublicKey returns the transferable public key (key, user ID,
// self-signature), ASCII armored, as `rpm --import` and `gpg --import`
// read it.
func (k *Key) PublicKey() []byte {
	return armor(armorPublic, k.appendPublic(nil))
}

func (k *Key) appendPublic(b []byte) []byte {
	b = appendPacket(b, tagPublicKey, k.pubBody)
	b = appendPacket(b, tagUserID, k.uid)
	for _, s := range k.sigs {
		b = appendPacket(b, tagSignature, s)
	}
	return b
}

// PublicKeys returns the public keys of every key, one armored block
// each, one after the other, as RHEL's RPM-GPG-KEY-redhat-release lists
// several keys: a RPM-GPG-KEY file with both keys during a rotation, which
// yum, dnf and rpm --import read key by key.
func PublicKeys(keys ...*Key) []byte {
	var b []byte
	for _, k := range keys {
		b = append(b, k.PublicKey()...)
	}
	return b
}

// PrivateKey returns the transferable secret key, ASCII armored, as
// `gpg --import` reads it. With a passphrase the secret part is
// encrypted with AES-256 under an iterated and salted SHA-256 S2K.
func (k *Key) PrivateKey(passphrase []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, fmt.Errorf("export private key %s: %w", k.ID(), ErrNoPrivateKey)
	}
	p, q := k.priv.Primes[0], k.priv.Primes[1]
	u := new(big.Int).ModInverse(p, q)
	var mpis []byte
	mpis = appendMPI(mpis, k.priv.D)
	mpis = appendMPI(mpis, p)
	mpis = appendMPI(mpis, q)
	mpis = appendMPI(mpis, u)
	body := append([]byte(nil), k.pubBody...)
	if len(passphrase) == 0 {
		body = append(body, 0)
		body = append(body, mpis...)
		body = binary.BigEndian.AppendUint16(body, checksum16(mpis))
	} else {
		salt := make([]byte, 8)
		iv := make([]byte, aes.BlockSize)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		if _, err := rand.Read(iv); err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(s2k(passphrase, salt, s2kCount))
		if err != nil {
			return nil, err
		}
		sum := sha1.Sum(mpis)
		plain := append(mpis, sum[:]...)
		cfb(block, iv, plain, false)
		body = append(body, 254, cipherAES256, 3, hashSHA256)
		body = append(body, salt...)
		body = append(body, s2kCount)
		body = append(body, iv...)
		body = append(body, plain...)
	}
	var b []byte
	b = appendPacket(b, tagSecretKey, body)
	b = appendPacket(b, tagUserID, k.uid)
	for _, s := range k.sigs {
		b = appendPacket(b, tagSignature, s)
	}
	return armor(armorPrivate, b), nil
}

func checksum16(b []byte) uint16 {
	var s uint16
	for _, c := range b {
		s += uint16(c)
	}
	return s
}

// s2k derives a 32-byte key from passphrase with the iterated and salted
// SHA-256 S2K (RFC 4880 section 3.7.1.3).
func s2k(passphrase, salt []byte, coded byte) []byte {
	count := (16 + int(coded&15)) << (int(coded>>4) + 6)
	data := append(append([]byte(nil), salt...), passphrase...)
	if count < len(data) {
		count = len(data)
	}
	h := sha256.New()
	for count > 0 {
		n := min(count, len(data))
		h.Write(data[:n])
		count -= n
	}
	return h.Sum(nil)
}

// cfb en- or decrypts data in place in OpenPGP's plain CFB mode (as v4
// secret keys use it, no resynchronisation).
func cfb(block cipher.Block, iv, data []byte, decrypt bool) {
	bs := block.BlockSize()
	reg := append([]byte(nil), iv...)
	ks := make([]byte, bs)
	for i := 0; i < len(data); i += bs {
		block.Encrypt(ks, reg)
		n := min(bs, len(data)-i)
		for j := range n {
			c := data[i+j]
			data[i+j] ^= ks[j]
			if decrypt {
				reg[j] = c
			} else {
				reg[j] = data[i+j]
			}
		}
	}
}

// LoadKey reads a key file (armored or binary; a private key, or for
// listing, a public key). passphraseFile, if not empty, names a file
// whose first line is the passphrase of a protected key.
func LoadKey(path, passphraseFile string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	var pass []byte
	if passphraseFile != "" {
		p, err := os.ReadFile(passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("load key %s: passphrase: %w", path, err)
		}
		if i := bytes.IndexAny(p, "\r\n"); i >= 0 {
			p = p[:i]
		}
		pass = p
	}
	keys, err := ParseKeys(data, pass)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("load key %s: holds %d keys, want one", path, len(keys))
	}
	return keys[0], nil
}

// ParseKeys reads the keys in data: armored or binary, transferable
// public or secret keys, one or several. Only the RSA primary key, its
// first user ID and that user ID's self-signatures are kept; subkeys are
// ignored. Every self-signature is checked. A protected secret key is
// decrypted with passphrase.
func ParseKeys(data, passphrase []byte) ([]*Key, error) {
	return parseKeys(data, passphrase, false)
}

// ParsePublic reads the keys in data as ParseKeys does, but only their
// public halves: a protected secret key needs no passphrase, and the
// keys cannot sign.
func ParsePublic(data []byte) ([]*Key, error) {
	return parseKeys(data, nil, true)
}

func parseKeys(data, passphrase []byte, publicOnly bool) ([]*Key, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP")) {
		return parseKeyPackets(data, passphrase, publicOnly)
	}
	// One or more armored blocks, one after the other.
	var keys []*Key
	for len(bytes.TrimSpace(data)) > 0 {
		typ, b, rest, err := dearmorNext(data)
		if err != nil {
			return nil, err
		}
		if typ != armorPublic && typ != armorPrivate {
			return nil, fmt.Errorf("%w: armored %s, not a key", errMalformed, typ)
		}
		ks, err := parseKeyPackets(b, passphrase, publicOnly)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
		data = rest
	}
	return keys, nil
}

func parseKeyPackets(data, passphrase []byte, publicOnly bool) ([]*Key, error) {
	pkts, err := parsePackets(data)
	if err != nil {
		return nil, err
	}
	var keys []*Key
	var k *Key
	var curUID []byte
	inSub := false
	for _, p := range pkts {
		switch p.tag {
		case tagSecretKey, tagPublicKey:
			if k != nil {
				if err := k.finish(); err != nil {
					return nil, err
				}
				keys = append(keys, k)
			}
			inSub, curUID = false, nil
			if k, err = parseKeyPacket(p, passphrase, publicOnly); err != nil {
				return nil, err
			}
		case tagSecretSub, tagPublicSub:
			inSub, curUID = true, nil
		case tagUserID:
			if k == nil {
				return nil, fmt.Errorf("%w: user ID before a key", errMalformed)
			}
			curUID = p.body
			if k.uid == nil && !inSub {
				k.uid = p.body
			}
		case tagSignature:
			if k == nil {
				return nil, fmt.Errorf("%w: signature before a key", errMalformed)
			}
			if !inSub && k.uid != nil && curUID != nil && bytes.Equal(k.uid, curUID) {
				k.sigs = append(k.sigs, p.body)
			}
		}
	}
	if k == nil {
		return nil, fmt.Errorf("%w: no key", errMalformed)
	}
	if err := k.finish(); err != nil {
		return nil, err
	}
	return append(keys, k), nil
}

// finish checks the self-signatures and takes the key's expiry from the
// newest valid one.
func (k *Key) finish() error {
	if k.uid == nil {
		return fmt.Errorf("%w: key %s has no user ID", errMalformed, k.ID())
	}
	k.userID = string(k.uid)
	var valid [][]byte
	var newest *Signature
	for _, body := range k.sigs {
		s, err := parseSignatureBody(body)
		if err != nil {
			continue
		}
		if s.Type < 0x10 || s.Type > 0x13 || s.PubKeyAlgo != algoRSA && s.PubKeyAlgo != algoRSASign {
			continue
		}
		if err := k.verify(s, body, k.hashUserID); err != nil {
			continue
		}
		valid = append(valid, body)
		if newest == nil || s.Created >= newest.Created {
			newest = s
		}
	}
	if newest == nil {
		return fmt.Errorf("%w: key %s has no valid self-signature on %q", errMalformed, k.ID(), k.userID)
	}
	k.sigs = valid
	if newest.KeyExpires != 0 {
		k.expires = k.created.Add(time.Duration(newest.KeyExpires) * time.Second)
	}
	return nil
}

var hashes = map[byte]crypto.Hash{2: crypto.SHA1, 8: crypto.SHA256, 9: crypto.SHA384, 10: crypto.SHA512, 11: crypto.SHA224}

// verify checks signature s (whose packet body is body) by k over what
// data writes.
func (k *Key) verify(s *Signature, body []byte, data func(io.Writer)) error {
	hf, ok := hashes[s.HashAlgo]
	if !ok || !hf.Available() {
		return fmt.Errorf("sign: hash algorithm %d not supported", s.HashAlgo)
	}
	h := hf.New()
	data(h)
	head := body[:6+len(s.hashedArea)]
	h.Write(head)
	h.Write(binary.BigEndian.AppendUint32([]byte{4, 0xFF}, uint32(len(head))))
	digest := h.Sum(nil)
	if subtle.ConstantTimeCompare(digest[:2], s.HashPrefix[:]) != 1 {
		return errors.New("sign: signature hash prefix mismatch")
	}
	if s.Value == nil || s.Value.BitLen() > k.pub.N.BitLen() {
		return errors.New("sign: signature value larger than the modulus")
	}
	return rsa.VerifyPKCS1v15(k.pub, hf, digest, s.Value.FillBytes(make([]byte, (k.pub.N.BitLen()+7)/8)))
}

// Verify checks a signature packet (framed, or armored with one or more
// packets, any of which may be by k) by k over data.
func (k *Key) Verify(sig, data []byte) error {
	sigs, err := ParseSignatures(sig)
	if err != nil {
		return err
	}
	for _, s := range sigs {
		if s.IssuerKeyID != binary.BigEndian.Uint64(k.fpr[12:]) || s.PubKeyAlgo != algoRSA {
			continue
		}
		// Re-frame: verify needs the packet body.
		if err := k.verify(s, s.raw, func(h io.Writer) { h.Write(data) }); err == nil {
			return nil
		}
	}
	return fmt.Errorf("sign: no valid signature by key %s", k.ID())
}

func parseKeyPacket(p packet, passphrase []byte, publicOnly bool) (*Key, error) {
	b := p.body
	if len(b) < 6 || b[0] != 4 {
		return nil, fmt.Errorf("%w: not a v4 key", errMalformed)
	}
	if b[5] != algoRSA && b[5] != algoRSASign {
		return nil, fmt.Errorf("%w: key algorithm %d: acn uses RSA keys", errMalformed, b[5])
	}
	created := time.Unix(int64(binary.BigEndian.Uint32(b[1:5])), 0)
	n, rest, err := readMPI(b[6:])
	if err != nil {
		return nil, err
	}
	e, rest, err := readMPI(rest)
	if err != nil {
		return nil, err
	}
	if n.BitLen() < 1024 || n.BitLen() > 16384 || n.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: RSA modulus of %d bits", errMalformed, n.BitLen())
	}
	if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: RSA exponent %v", errMalformed, e)
	}
	pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
	pubBody := b[:len(b)-len(rest)]
	k := &Key{pub: pub, pubBody: pubBody, fpr: fingerprint(pubBody), created: created}
	if p.tag == tagPublicKey {
		if len(rest) != 0 {
			return nil, fmt.Errorf("%w: %d bytes after the public key", errMalformed, len(rest))
		}
		return k, nil
	}
	k.secret = true
	if publicOnly {
		return k, nil
	}
	mpis, err := secretMPIs(k, rest, passphrase)
	if err != nil {
		return nil, err
	}
	var d, pp, q *big.Int
	if d, mpis, err = readMPI(mpis); err == nil {
		if pp, mpis, err = readMPI(mpis); err == nil {
			q, _, err = readMPI(mpis)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: secret part: %w", k.ID(), err)
	}
	priv := &rsa.PrivateKey{PublicKey: *pub, D: d, Primes: []*big.Int{pp, q}}
	if err := priv.Validate(); err != nil {
		return nil, fmt.Errorf("%w: key %s: secret part does not match: %v", errMalformed, k.ID(), err)
	}
	priv.Precompute()
	k.priv, k.pub = priv, &priv.PublicKey
	return k, nil
}

// secretMPIs returns the plaintext secret MPIs of a secret key packet,
// whose public part k has been read; rest follows it.
func secretMPIs(k *Key, rest, passphrase []byte) ([]byte, error) {
	if len(rest) < 1 {
		return nil, fmt.Errorf("%w: truncated secret key", errMalformed)
	}
	switch usage := rest[0]; usage {
	case 0:
		mpis := rest[1:]
		if len(mpis) < 2 {
			return nil, fmt.Errorf("%w: truncated secret key", errMalformed)
		}
		sum := binary.BigEndian.Uint16(mpis[len(mpis)-2:])
		mpis = mpis[:len(mpis)-2]
		if checksum16(mpis) != sum {
			return nil, fmt.Errorf("%w: key %s: secret key checksum mismatch", errMalformed, k.ID())
		}
		return mpis, nil
	case 254, 255:
		r := rest[1:]
		if len(r) < 3 {
			return nil, fmt.Errorf("%w: truncated secret key", errMalformed)
		}
		algo, typ, hash := r[0], r[1], r[2]
		var keyLen int
		switch algo {
		case 7:
			keyLen = 16
		case 8:
			keyLen = 24
		case 9:
			keyLen = 32
		default:
			return nil, fmt.Errorf("key %s: secret key cipher %d: acn reads AES-protected keys", k.ID(), algo)
		}
		hf, ok := hashes[hash]
		if !ok {
			return nil, fmt.Errorf("key %s: S2K hash %d not supported", k.ID(), hash)
		}
		r = r[3:]
		var salt []byte
		var coded byte
		switch typ {
		case 3:
			if len(r) < 9 {
				return nil, fmt.Errorf("%w: truncated S2K", errMalformed)
			}
			salt, coded, r = r[:8], r[8], r[9:]
		case 101:
			return nil, fmt.Errorf("key %s: the secret key is not in this file (a gpg stub: export it with gpg --export-secret-keys)", k.ID())
		default:
			return nil, fmt.Errorf("key %s: S2K type %d: acn reads iterated and salted S2K", k.ID(), typ)
		}
		if len(r) < aes.BlockSize {
			return nil, fmt.Errorf("%w: truncated IV", errMalformed)
		}
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("key %s: %w", k.ID(), ErrPassphraseNeeded)
		}
		iv, enc := r[:aes.BlockSize], append([]byte(nil), r[aes.BlockSize:]...)
		block, err := aes.NewCipher(s2kHash(hf, passphrase, salt, coded, keyLen))
		if err != nil {
			return nil, err
		}
		cfb(block, iv, enc, true)
		if usage == 254 {
			if len(enc) < sha1.Size {
				return nil, fmt.Errorf("key %s: %w", k.ID(), ErrBadPassphrase)
			}
			mpis := enc[:len(enc)-sha1.Size]
			sum := sha1.Sum(mpis)
			if subtle.ConstantTimeCompare(sum[:], enc[len(enc)-sha1.Size:]) != 1 {
				return nil, fmt.Errorf("key %s: %w", k.ID(), ErrBadPassphrase)
			}
			return mpis, nil
		}
		if len(enc) < 2 || checksum16(enc[:len(enc)-2]) != binary.BigEndian.Uint16(enc[len(enc)-2:]) {
			return nil, fmt.Errorf("key %s: %w", k.ID(), ErrBadPassphrase)
		}
		return enc[:len(enc)-2], nil
	default:
		return nil, fmt.Errorf("key %s: secret key protection %d not supported", k.ID(), usage)
	}
}

// s2kHash is s2k for any hash and key length (for keys gpg protected).
func s2kHash(hf crypto.Hash, passphrase, salt []byte, coded byte, keyLen int) []byte {
	if hf == crypto.SHA256 && keyLen == 32 {
		return s2k(passphrase, salt, coded)
	}
	count := (16 + int(coded&15)) << (int(coded>>4) + 6)
	data := append(append([]byte(nil), salt...), passphrase...)
	if count < len(data) {
		count = len(data)
	}
	var out []byte
	for pre := 0; len(out) < keyLen; pre++ {
		h := hf.New()
		h.Write(make([]byte, pre))
		for c := count; c > 0; {
			n := min(c, len(data))
			h.Write(data[:n])
			c -= n
		}
		out = h.Sum(out)
	}
	return out[:keyLen]
}
