package builder

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// newSandbox finds bubblewrap, the build user and the system directories.
// Whether bubblewrap can make its namespaces here shows when the first
// step runs (see runStep): no probe costs a build its time.
//
// root, when not "", is a build root whose system directories the step
// sees instead of the host's; the host's are then not shown at all, so
// nothing of them needs hiding.
func newSandbox(userName string, network bool, hide []string, root string) (*sandbox, error) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, fmt.Errorf("%w: bwrap not found: install the bubblewrap package, or turn the sandbox off (builds.sandbox: off, acn build --sandbox=off)", ErrNoSandbox)
	}
	sb := &sandbox{bwrap: bwrap, network: network, hide: hideArgs(hide)}
	if os.Geteuid() == 0 {
		if sb.user, err = lookupBuildUser(userName); err != nil {
			return nil, err
		}
	}
	if root != "" {
		sb.hide = nil
		if sb.system, err = systemBinds(root); err != nil {
			return nil, fmt.Errorf("build root %s: %w", root, err)
		}
		return sb, nil
	}
	if sb.system, err = systemBinds(""); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSandbox, err)
	}
	if network {
		sb.system = append(sb.system, resolverArgs()...)
	}
	return sb, nil
}

// resolverArgs show a step with the network the file that
// /etc/resolv.conf links to when it lies outside the system directories
// (systemd-resolved's, under /run), so that names resolve.
func resolverArgs() []string {
	t, err := filepath.EvalSymlinks("/etc/resolv.conf")
	if err != nil || t == "/etc/resolv.conf" || underSystemDir(t) {
		return nil
	}
	return []string{"--ro-bind", t, t}
}
