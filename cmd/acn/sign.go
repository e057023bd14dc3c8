package main

import (
	"context"
	"fmt"
	"time"

	"github.com/acn-project/acn/internal/sign"
)

const signAbout = `
Signs RPM packages in place with the header signature rpmsign writes
(RSA/SHA-256 over the header, which rpm 4.11 and newer check), replacing
any signature they had, by this key or another. Each file is replaced
atomically (a temporary file, fsynced, renamed) and keeps its mode; a
package whose digests do not match is refused and left as it was. Files
are signed on every core at once.

A protected key needs --passphrase-file. An expired key signs nothing.

Examples:
  acn sign --key /etc/acn/keys/0123456789ABCDEF.key /srv/repos/acn/*.rpm
  rpm --import RPM-GPG-KEY-acn && rpm -K appstruct-1.4.0-1.noarch.rpm
`

func runSign(ctx context.Context, e *env, args []string) error {
	fs := flagSet(e, "sign", "sign --key FILE [--passphrase-file F] PKG.rpm...", signAbout)
	keyFile := fs.String("key", "", "private key `file` (acn key generate)")
	passFile := fs.String("passphrase-file", "", "`file` whose first line is the key's passphrase")
	workers := fs.Int("workers", 0, "packages signed at once (default: number of CPUs)")
	pkgs, err := parseMany(e, fs, args)
	if err != nil {
		return err
	}
	if *keyFile == "" {
		return errUsage{"sign: --key is required"}
	}
	if len(pkgs) == 0 {
		return errUsage{"sign: name the packages to sign"}
	}
	k, err := sign.LoadKey(*keyFile, *passFile)
	if err != nil {
		return err
	}
	if !k.Info().Private {
		return fmt.Errorf("sign: %s: %w", *keyFile, sign.ErrNoPrivateKey)
	}
	start := time.Now()
	if err := sign.SignRPMs(ctx, k, pkgs, *workers, start); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "signed %d package(s) with key %s in %s\n", len(pkgs), k.ID(), time.Since(start).Round(time.Millisecond))
	return nil
}
