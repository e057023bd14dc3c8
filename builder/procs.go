package builder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
)

// What a build leaves behind, and who cleans it.
//
// In the sandbox (sandbox.go) a step is the first process of its own pid
// namespace: when it ends, is killed at the timeout, or acn dies, the
// kernel kills every process of that namespace, and none can leave it.
// What follows is what still holds with the sandbox off, and what
// [CleanStale] does either way.
//
// A build step runs in its own process group, with Pdeathsig set on
// Linux so that its shell dies with acn. When a step ends, for whatever
// reason, its whole group is killed, and so is any process that left the
// group but still works in the build's scratch tree (its working
// directory is there, or its environment still names the build's
// $DESTDIR): no process of a step outlives it.
//
// A scratch directory is named for the acn process that made it:
// acn-build-<pid>-<start time>-<random>. When acn is killed before it can
// clean up, [CleanStale], called by the next acn that takes the lock,
// finds the directories of processes that are gone, kills what still
// runs in them and removes them. A process that leaves its group, its
// directory and its environment is beyond this; under systemd the
// unit's control group is killed as a whole.

// scratchPrefix starts every scratch directory's name.
const scratchPrefix = "acn-build-"

var scratchRE = regexp.MustCompile(`^acn-build-([0-9]+)-([0-9]+)-[^/]+$`)

// self is this process's pid and start time, which name its scratch
// directories.
var self = sync.OnceValue(func() [2]uint64 {
	pid := os.Getpid()
	start, _ := processStart(pid)
	return [2]uint64{uint64(pid), start}
})

// scratchName is a new scratch directory's name. Its length is the same
// for every build (numbers of fixed width): without the sandbox, build
// steps run at the scratch path, which debug information records until
// debugedit rewrites it, and a path of another length gave other bytes.
func scratchName(keep bool) string {
	if keep {
		return fmt.Sprintf("%skept-%010d", scratchPrefix, rand.Uint32())
	}
	s := self()
	return fmt.Sprintf("%s%010d-%020d-%010d", scratchPrefix, s[0], s[1], rand.Uint32())
}

// CleanStale kills the build step processes and removes the scratch
// directories that acn processes no longer running left under scratchDir
// ("" means os.TempDir(), as for Options.ScratchDir). Directories of
// running acn processes, of other users and anything [Build] did not
// make are left alone. The holder of the data directory's lock calls it
// at start; it is safe to call at any time.
func CleanStale(ctx context.Context, scratchDir string, log *slog.Logger) error {
	if scratchDir == "" {
		scratchDir = os.TempDir()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ents, err := os.ReadDir(scratchDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clean stale builds in %s: %w", scratchDir, err)
	}
	var errs []error
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := scratchRE.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		root := filepath.Join(scratchDir, e.Name())
		if !ownedByUs(root) || running(m[1], m[2]) {
			continue
		}
		killed, err := killIn(root)
		if err != nil {
			errs = append(errs, fmt.Errorf("clean stale build %s: %w", root, err))
		}
		if err := removeTree(root); err != nil {
			errs = append(errs, fmt.Errorf("clean stale build %s: %w", root, err))
			continue
		}
		log.Info("removed what a killed build left", "dir", root, "processes_killed", killed)
	}
	return errors.Join(errs...)
}

// running reports whether the process that named a scratch directory
// still runs: the pid exists and started when the name says.
func running(pidText, startText string) bool {
	pid, err1 := strconv.Atoi(pidText)
	start, err2 := strconv.ParseUint(startText, 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return false
	}
	return alive(pid, start)
}

func ownedByUs(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// removeTree deletes a scratch tree; build steps may leave read-only
// directories behind.
func removeTree(root string) error {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(root)
}
