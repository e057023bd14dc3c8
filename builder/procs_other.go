//go:build !linux

package builder

import (
	"errors"
	"os/exec"
	"syscall"
)

// Without Linux's /proc and Pdeathsig, a step's process group is still
// killed when it ends, but nothing finds processes that left the group,
// and a stale scratch directory's owner is known by its pid alone.

func stepAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func waitKillGroup(cmd *exec.Cmd) error {
	err := cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return err
}

func processStart(pid int) (uint64, error) { return 0, errors.New("no process start times") }

// alive reports whether a process pid exists; start times are unknown
// here, so a reused pid keeps a stale directory until it exits.
func alive(pid int, start uint64) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func killIn(root string) (int, error) { return 0, nil }
