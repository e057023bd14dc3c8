package builder

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// newSandbox finds bubblewrap and the build user, and checks once per
// process and setting that a sandbox can be made here, so that a host
// without namespaces fails the build with a clear error instead of
// failing its first step.
func newSandbox(ctx context.Context, userName string, network bool, hide []string) (*sandbox, error) {
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
	if sb.system, err = systemBinds(""); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSandbox, err)
	}
	if network {
		sb.system = append(sb.system, resolverArgs()...)
	}
	key := probeKey{bwrap: bwrap, network: network}
	if sb.user != nil {
		key.uid, key.gid = sb.user.uid, sb.user.gid
	}
	if err := probe(ctx, sb, key); err != nil {
		return nil, err
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

type probeKey struct {
	bwrap    string
	uid, gid int
	network  bool
}

// probes holds, per probeKey, the probeResult of a probe that succeeded.
var probes sync.Map

type probeResult struct{ err error }

// probe runs `true` in a sandbox like the steps' and remembers a
// success.
func probe(ctx context.Context, sb *sandbox, key probeKey) error {
	if v, ok := probes.Load(key); ok {
		return v.(probeResult).err
	}
	args := append(sb.namespaceArgs(), sb.system...)
	args = append(args, "--proc", "/proc", "--dev", "/dev", "--")
	args = append(args, sb.dropArgs()...)
	args = append(args, "true")
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sb.bwrap, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var res probeResult
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 500 {
			msg = msg[:500]
		}
		res.err = fmt.Errorf("%w: bubblewrap cannot make a sandbox here (%v: %s): install the bubblewrap package and allow namespaces "+
			"(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone; util-linux's setpriv when acn runs as root), "+
			"or turn the sandbox off (builds.sandbox: off, acn build --sandbox=off)", ErrNoSandbox, err, msg)
	}
	if res.err == nil { // a failure is probed again: the host may be fixed
		probes.Store(key, res)
	}
	return res.err
}
