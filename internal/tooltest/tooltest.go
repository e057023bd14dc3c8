// Package tooltest runs the real command-line tools (rpm, createrepo_c,
// dnf, ...) from tests: a failure fails the test with everything the tool
// said, so no test passes by not running the tool.
package tooltest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Run runs name with args and returns its standard output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
