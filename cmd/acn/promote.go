package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const promoteAbout = `
Copies the exact RPM of PKG-VERSION (no rebuild) from one repository of a
running acn daemon to another, and republishes the target, through the
API (POST /api/v1/promote). VERSION is a version, version-release or
epoch:version-release; the newest matching build is taken. The API token
comes from $ACN_API_TOKEN.

Example:
  acn promote appstruct-1.4.0 --from testing --to stable
`

func runPromote(ctx context.Context, e *env, args []string) error {
	fs := flagSet(e, "promote", "promote PKG-VERSION --from REPO --to REPO [--server URL]", promoteAbout)
	from := fs.String("from", "", "source repository")
	to := fs.String("to", "", "target repository")
	srv := fs.String("server", "http://127.0.0.1:8080", "`URL` of the acn daemon")
	arg, err := parseWithArg(e, fs, args, "PKG-VERSION")
	if err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errUsage{"--from and --to are required"}
	}
	// PKG-VERSION or PKG-VERSION-RELEASE: the package name ends at the
	// first '-' followed by a digit.
	i := -1
	for j := 0; j < len(arg)-1; j++ {
		if arg[j] == '-' && arg[j+1] >= '0' && arg[j+1] <= '9' {
			i = j
			break
		}
	}
	if i <= 0 {
		return errUsage{fmt.Sprintf("%q: want PKG-VERSION, such as appstruct-1.4.0", arg)}
	}
	body, _ := json.Marshal(map[string]string{"package": arg[:i], "version": arg[i+1:], "from": *from, "to": *to})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*srv, "/")+"/api/v1/promote", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.getenv("ACN_API_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]string
	json.Unmarshal(b, &out)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("promote %s: %s: %s", arg, resp.Status, out["error"])
	}
	fmt.Fprintf(e.stdout, "promoted %s\n", out["promoted"])
	return nil
}
