package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/internal/sign"
)

const keyAbout = `
Manages the OpenPGP keys acn signs packages and repository metadata with.

  acn key generate --name NAME --out DIR [--expire 3y] [--bits 4096] [--passphrase-file F]
      makes an RSA key (4096 bits unless --bits) with a self-signed user ID
      and writes DIR/<ID>.key (the private key, ASCII armored, mode 0600,
      encrypted with AES-256 when --passphrase-file names a passphrase;
      gpg --import reads it, for a backup) and DIR/<ID>.pub (the public
      key, ASCII armored, for rpm --import and gpg --import).
      --expire: Nd, Nw, Nm (30 days), Ny (365 days), or never.
  acn key export --key FILE...
      prints the public key of each key file, in one armored block.
  acn key list [--key] FILE...
      prints each key's ID, algorithm, bits, creation and expiry.

Examples:
  acn key generate --name "ACN Packages <packages@example.com>" --out /etc/acn/keys --expire 3y
  acn key export --key /etc/acn/keys/0123456789ABCDEF.key > RPM-GPG-KEY-acn
  acn key list /etc/acn/keys/*.key
`

func runKey(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fs := flagSet(e, "key", "key generate|export|list [flags]", keyAbout)
		fs.Usage()
		return errUsage{"key: want generate, export or list"}
	}
	switch args[0] {
	case "generate":
		return runKeyGenerate(e, args[1:])
	case "export":
		return runKeyExport(e, args[1:])
	case "list":
		return runKeyList(e, args[1:])
	case "-h", "-help", "--help":
		fs := flagSet(e, "key", "key generate|export|list [flags]", keyAbout)
		return parse(e, fs, args)
	}
	return errUsage{fmt.Sprintf("key: unknown subcommand %q: want generate, export or list", args[0])}
}

func runKeyGenerate(e *env, args []string) error {
	fs := flagSet(e, "key generate", "key generate --name NAME --out DIR [--expire 3y] [--bits 4096] [--passphrase-file F]", keyAbout)
	name := fs.String("name", "", `user ID, such as "ACN Packages <packages@example.com>"`)
	out := fs.String("out", "", "`directory` for the key files (made 0700 if missing)")
	expire := fs.String("expire", "3y", "lifetime: Nd, Nw, Nm, Ny or never")
	bits := fs.Int("bits", sign.DefaultBits, "RSA modulus size")
	passFile := fs.String("passphrase-file", "", "`file` whose first line protects the private key")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errUsage{fmt.Sprintf("key generate: unexpected argument %q", fs.Arg(0))}
	}
	if *name == "" || *out == "" {
		return errUsage{"key generate: --name and --out are required"}
	}
	life, err := parseExpire(*expire)
	if err != nil {
		return errUsage{"key generate: --expire: " + err.Error()}
	}
	var pass []byte
	if *passFile != "" {
		p, err := readPassphrase(*passFile)
		if err != nil {
			return err
		}
		pass = p
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("key generate: %w", err)
	}
	k, err := sign.Generate(sign.GenerateOptions{UserID: *name, Bits: *bits, Expire: life})
	if err != nil {
		return err
	}
	priv, err := k.PrivateKey(pass)
	if err != nil {
		return err
	}
	privPath := filepath.Join(*out, k.ID()+".key")
	pubPath := filepath.Join(*out, k.ID()+".pub")
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("key generate: %s exists", p)
		}
	}
	if err := atomicfile.WriteFile(privPath, priv, 0o600); err != nil {
		return fmt.Errorf("key generate: write private key: %w", err)
	}
	if err := atomicfile.WriteFile(pubPath, k.PublicKey(), 0o644); err != nil {
		return fmt.Errorf("key generate: write public key: %w", err)
	}
	i := k.Info()
	fmt.Fprintf(e.stdout, "key %s (RSA %d) %q, expires %s\n  fingerprint %s\n  private key %s (back it up: gpg --import reads it)\n  public key  %s\n",
		i.ID, i.Bits, i.UserID, expiry(i.Expires, time.Now()), i.Fingerprint, privPath, pubPath)
	return nil
}

func runKeyExport(e *env, args []string) error {
	fs := flagSet(e, "key export", "key export --key FILE... [--passphrase-file F]", keyAbout)
	var files stringList
	fs.Var(&files, "key", "key `file` (repeatable: one block with every key)")
	rest, err := parseMany(e, fs, args)
	if err != nil {
		return err
	}
	files = append(files, rest...)
	if len(files) == 0 {
		return errUsage{"key export: --key is required"}
	}
	keys, err := loadPublic(files)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(sign.PublicKeys(keys...))
	return err
}

func runKeyList(e *env, args []string) error {
	fs := flagSet(e, "key list", "key list [--key] FILE...", keyAbout)
	var files stringList
	fs.Var(&files, "key", "key `file` (repeatable)")
	rest, err := parseMany(e, fs, args)
	if err != nil {
		return err
	}
	files = append(files, rest...)
	if len(files) == 0 {
		return errUsage{"key list: name key files"}
	}
	keys, err := loadPublic(files)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tALGORITHM\tBITS\tCREATED\tEXPIRES\tPRIVATE\tUSER ID")
	for _, k := range keys {
		i := k.Info()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%v\t%s\n", i.ID, i.Algorithm, i.Bits, i.Created.UTC().Format(time.DateOnly), expiry(i.Expires, now), i.Private, i.UserID)
	}
	return tw.Flush()
}

// loadPublic reads every key in the files, private or public, without
// decrypting anything (the public half is in the clear).
func loadPublic(files []string) ([]*sign.Key, error) {
	var keys []*sign.Key
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ks, err := sign.ParsePublic(data)
		if err != nil {
			return nil, fmt.Errorf("read key %s: %w", f, err)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}

func expiry(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "never"
	case !now.Before(t):
		return t.UTC().Format(time.DateOnly) + " (expired)"
	}
	return t.UTC().Format(time.DateOnly) + fmt.Sprintf(" (in %d days)", int(t.Sub(now).Hours()/24))
}

// parseExpire reads a key lifetime as gpg writes one: Nd, Nw, Nm, Ny,
// or never (or 0).
func parseExpire(s string) (time.Duration, error) {
	if s == "never" || s == "0" {
		return 0, nil
	}
	if len(s) < 2 {
		return 0, fmt.Errorf("%q: want Nd, Nw, Nm, Ny or never", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	days := map[byte]int{'d': 1, 'w': 7, 'm': 30, 'y': 365}[s[len(s)-1]]
	if err != nil || n <= 0 || days == 0 || n*days > 100*365 {
		return 0, fmt.Errorf("%q: want Nd, Nw, Nm, Ny (up to 100 years) or never", s)
	}
	return time.Duration(n*days) * 24 * time.Hour, nil
}

// readPassphrase reads the first line of a passphrase file; its content
// never appears in an error.
func readPassphrase(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase: %w", err)
	}
	if i := strings.IndexAny(string(b), "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return nil, errors.New("passphrase: " + path + " is empty")
	}
	return b, nil
}

// parseMany parses flags that may come before, between or after
// positional arguments, and returns the positional arguments.
func parseMany(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parse(e, fs, args); err != nil {
		return nil, err
	}
	var out []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		out = append(out, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, errUsage{err.Error()}
		}
	}
	return out, nil
}
