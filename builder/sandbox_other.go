//go:build !linux

package builder

import "fmt"

// newSandbox fails: the sandbox is made of Linux namespaces.
func newSandbox(userName string, network bool, hide []string, root string) (*sandbox, error) {
	return nil, fmt.Errorf("%w: the build-step sandbox (bubblewrap) needs Linux; turn the sandbox off (builds.sandbox: off, acn build --sandbox=off)", ErrNoSandbox)
}
