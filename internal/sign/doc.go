// Package sign is acn's signing room: OpenPGP keys (RSA, generated,
// stored as armored transferable secret keys, optionally protected by a
// passphrase), RPM header signatures and detached signatures over
// repository metadata. It sits below builder and repo, which call it; it
// imports neither.
//
// acn writes its OpenPGP packets itself (RFC 4880) rather than through an
// OpenPGP library, so that their shape is fixed whatever library versions
// the module graph holds: v4 signatures, RSA, SHA-256, hashed subpackets
// signature creation time and issuer fingerprint, unhashed issuer key ID,
// and no critical subpacket, which rpm 4.11 to 4.16 accept.
//
// A Key is safe for concurrent use. Files are replaced atomically; a
// private key file is written with mode 0600 and its contents never
// appear in an error or a log.
package sign
