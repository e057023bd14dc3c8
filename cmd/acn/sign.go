package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/internal/sign"
)

const signAbout = `
Signs RPM packages in place with the header signature rpmsign writes
(RSA/SHA-256 over the header, which rpm 4.11 and newer check), replacing
any signature they had, by this key or another. Each file is replaced
atomically (a temporary file, fsynced, renamed) and keeps its mode; a
package whose digests do not match is refused and left as it was. Files
are signed on every core at once.

With --detach, writes FILE.asc next to each FILE instead: an ASCII-armored
detached signature (repomd.xml.asc for repo_gpgcheck=1). --key may then be
given more than once: the .asc holds one signature per key, so during a key
rotation nodes that know either key verify it. Sign repomd.xml after the
last change to the repository: a new repomd.xml needs a new .asc.

A protected key needs --passphrase-file (one for every --key, in the same
order, or one for all). An expired key signs nothing.

Examples:
  acn sign --key /etc/acn/keys/0123456789ABCDEF.key /srv/repos/acn/*.rpm
  acn sign --detach --key old.key --key new.key /srv/repos/acn/repodata/repomd.xml
  rpm --import RPM-GPG-KEY-acn && rpm -K appstruct-1.4.0-1.noarch.rpm
`

func runSign(ctx context.Context, e *env, args []string) error {
	fs := flagSet(e, "sign", "sign --key FILE [--passphrase-file F] PKG.rpm...\n       acn sign --detach --key FILE [--key FILE]... FILE...", signAbout)
	var keyFiles, passFiles stringList
	fs.Var(&keyFiles, "key", "private key `file` (acn key generate); repeatable with --detach")
	fs.Var(&passFiles, "passphrase-file", "`file` whose first line is a key's passphrase")
	detach := fs.Bool("detach", false, "write FILE.asc, a detached signature by every --key, instead of signing packages")
	workers := fs.Int("workers", 0, "packages signed at once (default: number of CPUs)")
	files, err := parseMany(e, fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(keyFiles) == 0:
		return errUsage{"sign: --key is required"}
	case len(keyFiles) > 1 && !*detach:
		return errUsage{"sign: a package carries one signature: give one --key (several only with --detach)"}
	case len(passFiles) > 1 && len(passFiles) != len(keyFiles):
		return errUsage{"sign: give one --passphrase-file for every --key, or one for all"}
	case len(files) == 0:
		return errUsage{"sign: name the files to sign"}
	}
	keys, err := loadSigningKeys("sign", keyFiles, passFiles)
	if err != nil {
		return err
	}
	start := time.Now()
	if *detach {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			asc, err := sign.Detached(data, start, keys...)
			if err != nil {
				return fmt.Errorf("sign %s: %w", f, err)
			}
			if err := atomicfile.WriteFile(f+".asc", asc, 0o644); err != nil {
				return fmt.Errorf("sign %s: %w", f, err)
			}
			fmt.Fprintf(e.stdout, "%s.asc\n", f)
		}
		return nil
	}
	if err := sign.SignRPMs(ctx, keys[0], files, *workers, start); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "signed %d package(s) with key %s in %s\n", len(files), keys[0].ID(), time.Since(start).Round(time.Millisecond))
	return nil
}
