package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// What a build step can see and do (the sandbox).
//
// With the sandbox on (the default), every step runs under bubblewrap in
// new mount, pid, network, ipc and uts namespaces, with --die-with-parent
// and a new session. Its filesystem is built from nothing:
//
//   - the system directories (/usr, /etc, and /bin, /sbin, /lib* as the
//     host has them: directories bound read-only, or the same symbolic
//     links), computed by [systemBinds] from an optional root so that a
//     later build root can replace the host's;
//   - the scratch copy of the tree at /build/<name>-<version>, where the
//     step starts; $DESTDIR at /build/destdir; $HOME at /build/home;
//     $SOURCEDIR at /build/sources, read-only; a private /tmp; a new
//     /proc that shows only the sandbox's processes; a minimal /dev.
//
// Nothing else of the host is mounted: not acn's data directory, caches,
// output directory, configuration or keys, nor the host's /tmp, /home,
// /root, /var or /run. Secrets that lie under the system directories
// (/etc/acn, and the files Options.Hide names) are covered. The step's
// environment is [stepEnv]'s alone. Without network: true in the spec the
// step has only its own loopback.
//
// When acn runs as root, no user namespace is made (one would map the
// step's uid back to root outside); setpriv drops the step to the build
// user (default nobody) with no supplementary groups, no capabilities,
// an empty bounding set and no_new_privs, so files only root may read,
// such as /etc/shadow, stay closed. The scratch tree, $DESTDIR, $HOME and
// /tmp are given to that user first; owners in the package come from the
// spec, never from the files. When acn runs as another user, bubblewrap
// makes a user namespace in which the step keeps that user's uid and has
// no capabilities.
//
// When the step's shell exits, or at the timeout, the sandbox's first
// process dies and the kernel kills every process of its pid namespace,
// setsid and double-forked ones included. bwrap reports the shell's exit
// code on a status pipe (--json-status-fd); a step that fails without one
// never ran, and the build fails with [ErrNoSandbox] and what to install
// or allow.

// SandboxMode says whether build steps run in the sandbox.
type SandboxMode int

const (
	// SandboxOn runs every build step under bubblewrap; the default.
	SandboxOn SandboxMode = iota
	// SandboxOff runs build steps as acn's own user in the host's
	// namespaces, with only a clean environment and a scratch tree.
	SandboxOff
)

// ParseSandboxMode reads "on" or "off" ("" is on).
func ParseSandboxMode(s string) (SandboxMode, error) {
	switch s {
	case "", "on", "true":
		return SandboxOn, nil
	case "off", "false":
		return SandboxOff, nil
	}
	return 0, fmt.Errorf("sandbox %q: want on or off", s)
}

func (m SandboxMode) String() string {
	if m == SandboxOff {
		return "off"
	}
	return "on"
}

// ErrNoSandbox is wrapped when build steps cannot be sandboxed here:
// bubblewrap is missing or namespaces are not available.
var ErrNoSandbox = errors.New("builder: no sandbox for build steps")

// sandboxHint says what to do when no sandbox can be made.
const sandboxHint = "install the bubblewrap package and allow namespaces (sysctl user.max_user_namespaces, " +
	"kernel.unprivileged_userns_clone; util-linux's setpriv when acn runs as root; see README for the systemd unit), " +
	"or turn the sandbox off (builds.sandbox: off, acn build --sandbox=off)"

// DefaultBuildUser runs build steps when acn runs as root.
const DefaultBuildUser = "nobody"

// Fixed paths inside the sandbox: the same for every build, so that what
// a build records of its paths (DWARF, scripts) is the same every time.
const (
	sandboxBuild   = "/build"
	sandboxDestDir = "/build/destdir"
	sandboxSrcDir  = "/build/sources"
	sandboxHome    = "/build/home"
	sandboxTmp     = "/tmp"
)

// sandboxTree is where the tree copy appears in the sandbox.
func sandboxTree(name, version string) string {
	return sandboxBuild + "/" + name + "-" + version
}

// buildUser is who runs the steps when acn runs as root.
type buildUser struct {
	name     string
	uid, gid int
}

// lookupBuildUser finds name (or a numeric uid) in the user database.
// Root is refused: the point is to run as someone else.
func lookupBuildUser(name string) (*buildUser, error) {
	if name == "" {
		name = DefaultBuildUser
	}
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: build user %q: %w", ErrNoSandbox, name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: build user %q has no numeric uid and gid", ErrNoSandbox, name)
	}
	if uid == 0 || gid == 0 {
		return nil, fmt.Errorf("%w: build user %q is root; name an unprivileged user", ErrNoSandbox, name)
	}
	return &buildUser{name: name, uid: uid, gid: gid}, nil
}

// systemDirs are the directories of a root filesystem a step sees.
var systemDirs = []string{"usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// systemBinds returns the bubblewrap arguments that show a step the
// system directories of root ("" or "/": the host's), read-only: each
// directory bound, each symbolic link (a merged /usr) recreated as the
// same link, each missing one left out. /usr and /etc must exist.
func systemBinds(root string) ([]string, error) {
	if root == "" {
		root = "/"
	}
	var args []string
	for _, d := range systemDirs {
		p := filepath.Join(root, d)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && d != "usr" && d != "etc":
			continue
		case err != nil:
			return nil, fmt.Errorf("system directory: %w", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, fmt.Errorf("system directory: %w", err)
			}
			args = append(args, "--symlink", target, "/"+d)
		case fi.IsDir():
			args = append(args, "--ro-bind", p, "/"+d)
		default:
			return nil, fmt.Errorf("system directory %s is neither a directory nor a link", p)
		}
	}
	return args, nil
}

// DefaultHidden are paths under the system directories a step never
// sees, whatever Options.Hide says: acn's conventional configuration
// directory, which holds its config, tokens and keys.
var DefaultHidden = []string{"/etc/acn"}

// hideArgs returns the bubblewrap arguments that cover each path of hide
// that exists and that a step would otherwise see through the system
// directories of the host: an empty read-only directory over a directory,
// /dev/null over anything else. Other paths are not mounted at all.
func hideArgs(hide []string) []string {
	var args []string
	seen := map[string]bool{}
	for _, h := range append(append([]string{}, DefaultHidden...), hide...) {
		if !filepath.IsAbs(h) {
			continue
		}
		p, err := filepath.EvalSymlinks(h)
		if err != nil || seen[p] || !underSystemDir(p) {
			continue
		}
		seen[p] = true
		fi, err := os.Stat(p)
		switch {
		case err != nil:
		case fi.IsDir():
			args = append(args, "--tmpfs", p, "--remount-ro", p)
		default:
			args = append(args, "--ro-bind", "/dev/null", p)
		}
	}
	return args
}

// underSystemDir reports whether the resolved path p is in a system
// directory a step sees.
func underSystemDir(p string) bool {
	for _, d := range systemDirs {
		if strings.HasPrefix(p, "/"+d+"/") {
			return true
		}
	}
	return false
}

// sandbox is how one build's steps are run under bubblewrap.
type sandbox struct {
	bwrap   string     // path of bwrap
	user    *buildUser // when acn runs as root; nil: a user namespace
	network bool       // share the host's network namespace
	system  []string   // from systemBinds
	hide    []string   // from hideArgs
}

// namespaceArgs are the isolation options, without any mount.
func (sb *sandbox) namespaceArgs() []string {
	args := []string{"--die-with-parent", "--new-session",
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--hostname", "acn-build"}
	if !sb.network {
		args = append(args, "--unshare-net")
	}
	if sb.user == nil {
		args = append(args, "--unshare-user", "--cap-drop", "ALL")
	}
	return args
}

// dropArgs start the command that runs the step's shell: as root, setpriv
// becomes the build user and drops every capability; otherwise nothing.
func (sb *sandbox) dropArgs() []string {
	if sb.user == nil {
		return nil
	}
	return []string{"setpriv", "--reuid=" + strconv.Itoa(sb.user.uid), "--regid=" + strconv.Itoa(sb.user.gid),
		"--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"}
}

// command is the argument list (after bwrap) that runs argv in the
// sandbox of one build's scratch tree.
func (sb *sandbox) command(sc *scratch, treePath string, argv ...string) []string {
	args := sb.namespaceArgs()
	args = append(args, sb.system...)
	args = append(args, sb.hide...)
	args = append(args,
		"--json-status-fd", "3",
		"--proc", "/proc", "--dev", "/dev",
		"--dir", sandboxBuild,
		"--bind", sc.src, treePath,
		"--bind", sc.destDir, sandboxDestDir,
		"--bind", sc.home, sandboxHome,
		"--ro-bind", sc.srcDir, sandboxSrcDir,
		"--bind", sc.tmp, sandboxTmp,
		"--chdir", treePath,
		"--")
	args = append(args, sb.dropArgs()...)
	return append(args, argv...)
}

// handOver gives the parts of the scratch tree a step writes to the build
// user; the sources stay root's and read-only.
func (sb *sandbox) handOver(sc *scratch) error {
	if sb.user == nil {
		return nil
	}
	for _, d := range []string{sc.destDir, sc.home, sc.tmp} {
		if err := os.Lchown(d, sb.user.uid, sb.user.gid); err != nil {
			return err
		}
	}
	return filepath.WalkDir(sc.src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, sb.user.uid, sb.user.gid)
	})
}
