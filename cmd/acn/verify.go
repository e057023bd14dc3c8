package main

import (
	"context"
	"fmt"

	"github.com/acn-project/acn/repo"
)

const verifyAbout = `
Checks a repository as dnf would before trusting it: every file repomd.xml
names is fetched and its checksum and size (compressed and open) compared;
the packages of primary, filelists and other must be the same; and every
package file must have the checksum and size primary gives, and the header
SHA-256, size and payload digest its own header carries (as rpm -K
checks). SOURCE is a directory or an http(s) URL of the repository root.

Locations with an xml:base (index --baseurl, mergerepo_c) are followed:
a base that is the repository itself (file:// of the same directory, or
the URL given) is checked there, an http(s) base is fetched from it, and a
file:// base elsewhere is read from that directory when SOURCE is one. A
location never leaves its base.

Every fault is listed; the exit status is 1 if there is any. The same
package at two locations is a warning (dnf and zypper accept it): listed,
exit status 0.

Examples:
  acn verify /srv/repos/acn
  acn verify http://127.0.0.1:8080/repos/acn
`

func runVerify(ctx context.Context, e *env, args []string) error {
	fs := flagSet(e, "verify", "verify DIR|URL", verifyAbout)
	src, err := parseWithArg(e, fs, args, "DIR or URL")
	if err != nil {
		return err
	}
	res, err := repo.Verify(ctx, src, nil)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintf(e.stderr, "acn: warning: %s: %s\n", src, w)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: OK, %d metadata files and %d packages verified\n", src, res.Files, res.Packages)
	return nil
}
