package builder

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// stepAttr puts a step in its own process group and has the kernel kill
// its shell when acn dies. (Pdeathsig follows the thread that forked;
// Go only ends a thread whose goroutine locked it, which acn never does.)
func stepAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitKillGroup waits for the step's shell to exit, kills what is left of
// its process group, then reaps the shell. The shell is reaped last so
// that its pid, which is the group's id, cannot be reused by an unrelated
// process before the kill.
func waitKillGroup(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return cmd.Wait()
}

// processStart is the start time of a process in clock ticks since boot,
// which with its pid names it uniquely.
func processStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("malformed /proc stat")
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22, starttime
}

// alive reports whether process pid runs and started at start. A start
// of 0 is written by an acn that could not read its own: then the pid
// alone decides.
func alive(pid int, start uint64) bool {
	if start == 0 {
		err := syscall.Kill(pid, 0)
		return err == nil || errors.Is(err, syscall.EPERM)
	}
	got, err := processStart(pid)
	return err == nil && got == start
}

// killIn kills every process whose working directory is inside root,
// whose arguments name a path in it, or whose environment names root's
// $DESTDIR, until none is left (a process
// may fork while it is being killed). It returns how many it killed.
func killIn(root string) (int, error) {
	roots := []string{root}
	if r, err := filepath.EvalSymlinks(root); err == nil && r != root {
		roots = append(roots, r)
	}
	var markers [][]byte
	for _, r := range roots {
		markers = append(markers, []byte("DESTDIR="+filepath.Join(r, "destdir")))
	}
	me := os.Getpid()
	killed := 0
	for range 20 {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return killed, err
		}
		n := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == me {
				continue
			}
			if inside(pid, roots, markers) && syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
		killed += n
		if n == 0 {
			return killed, nil
		}
	}
	return killed, errors.New("processes kept appearing in the scratch tree")
}

func inside(pid int, roots []string, markers [][]byte) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	if cwd, err := os.Readlink(dir + "/cwd"); err == nil {
		for _, r := range roots {
			if cwd == r || strings.HasPrefix(cwd, r+"/") {
				return true
			}
		}
	}
	// A sandbox's processes see the tree at /build/...: bubblewrap itself,
	// whose arguments name the scratch tree, is what is found of them.
	// Killing it ends the sandbox's pid namespace, and so everything in it
	// (bubblewrap sets its death signal only once it runs, so a sandbox
	// started just as acn was killed can outlive it).
	if cmdline, err := os.ReadFile(dir + "/cmdline"); err == nil {
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			for _, r := range roots {
				if a := string(arg); a == r || strings.HasPrefix(a, r+"/") {
					return true
				}
			}
		}
	}
	env, err := os.ReadFile(dir + "/environ")
	if err != nil {
		return false
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		for _, m := range markers {
			if bytes.Equal(kv, m) {
				return true
			}
		}
	}
	return false
}
