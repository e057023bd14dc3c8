package repo

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// contentAddressed matches the names Index (and createrepo_c) give
// metadata files: the checksum first.
var contentAddressed = regexp.MustCompile(`^[0-9a-f]{32,128}-[^/]+$`)

// cleanLeftovers is run by the lock holder before it changes anything: it
// completes or undoes an Add that was interrupted, and removes what runs
// killed before they finished left behind: temporary files, staged
// packages, cache files no cache names, and metadata files that no
// retained generation names (a killed run wrote them, nobody was told of
// them). What a client may still fetch is never removed.
func cleanLeftovers(dir string, log *slog.Logger) error {
	state := filepath.Join(dir, stateDir)
	rd := filepath.Join(dir, "repodata")
	var removed int
	rm := func(name string) {
		if err := os.RemoveAll(name); err == nil {
			removed++
		}
	}
	if err := finishJournal(dir, log); err != nil {
		return fmt.Errorf("complete the interrupted publication: %w", err)
	}
	if _, err := os.Stat(filepath.Join(state, stagingDir)); err == nil {
		rm(filepath.Join(state, stagingDir))
	}

	cacheFiles := map[string]bool{}
	if f, err := os.Open(filepath.Join(state, cacheName)); err == nil {
		r := bufio.NewReaderSize(f, 4096)
		r.ReadString('\n') // magic
		r.ReadString('\n') // fingerprint
		line, _ := r.ReadString('\n')
		for _, n := range strings.Fields(line) {
			cacheFiles[n] = true
		}
		f.Close()
	}
	if names, err := readNames(state); err == nil {
		for _, n := range names {
			switch {
			case strings.HasPrefix(n, cacheName+".tmp-"),
				strings.HasPrefix(n, "cache-") && !cacheFiles[n],
				n == generationsName+".tmp", n == pendingName+".tmp",
				strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-"):
				rm(filepath.Join(state, n))
			}
		}
	}

	names, err := readNames(rd)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	named, known := retainedFiles(dir)
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-"):
			rm(filepath.Join(rd, n))
		case known && contentAddressed.MatchString(n) && !named["repodata/"+n]:
			rm(filepath.Join(rd, n))
		}
	}
	if removed > 0 {
		log.Info("removed what interrupted runs left", "dir", dir, "files", removed)
	}
	return nil
}

// Recover completes or undoes a publication in dir that a killed run
// interrupted and removes what killed runs left there, under the
// directory's lock, as every change does before it starts. A daemon calls
// it at start for each repository it publishes, so that what a killed run
// left does not wait for the next change (which may never come: a job
// found published after a restart changes nothing). A directory acn never
// published into is left alone.
func Recover(ctx context.Context, dir string, o Options) error {
	if _, err := os.Stat(filepath.Join(dir, stateDir)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := o.defaults(); err != nil {
		return err
	}
	unlock, err := lockDir(ctx, dir, &o)
	if err != nil {
		return fmt.Errorf("recover %s: %w", dir, err)
	}
	unlock()
	return nil
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// retainedFiles returns the files the current repomd.xml and the retained
// generations name; known is false when that cannot be told for sure (no
// or a damaged record of generations beside a repomd.xml), and then
// nothing should be removed on its account.
func retainedFiles(dir string) (map[string]bool, bool) {
	named := map[string]bool{}
	md := readRepomd(filepath.Join(dir, "repodata", "repomd.xml"))
	if md != nil {
		for _, h := range hrefs(md) {
			named[h] = true
		}
	}
	var gens []generation
	b, err := os.ReadFile(filepath.Join(dir, stateDir, generationsName))
	switch {
	case errors.Is(err, os.ErrNotExist): // none yet
	case err != nil:
		return named, false
	default:
		if err := json.Unmarshal(b, &gens); err != nil {
			return named, false
		}
	}
	if md != nil && (len(gens) == 0 || gens[0].Revision != md.Revision) {
		// repomd.xml written by someone else, or by an acn run killed
		// before it recorded the generation (which it marked pending):
		// then the generations before it are all still recorded.
		p := loadPending(dir)
		if p == nil || p.Revision != md.Revision || !names(p.Files, hrefs(md)) {
			return named, false
		}
		gens = append([]generation{*p}, gens...)
	}
	for _, g := range gens {
		for _, f := range g.Files {
			named[f] = true
		}
	}
	return named, true
}

// finishJournal completes a publication whose repomd.xml went live, or
// removes the packages it had moved into place.
func finishJournal(dir string, log *slog.Logger) error {
	name := filepath.Join(dir, stateDir, journalName)
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		// Written atomically, so never torn: someone else's file.
		log.Warn("ignoring a damaged journal", "file", name, "err", err)
		return os.Remove(name)
	}
	if j.Primary != "" && primaryHref(readRepomd(filepath.Join(dir, "repodata", "repomd.xml"))) == j.Primary {
		log.Info("completing an interrupted publication", "dir", dir, "files", j.Files)
		if err := rollForward(dir, j.Prune, j.Unprune, j.Previous); err != nil {
			return err
		}
	} else {
		log.Info("undoing an interrupted publication", "dir", dir, "files", j.Files)
		for _, f := range j.Files {
			rel := filepath.FromSlash(f)
			if !filepath.IsLocal(rel) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, rel)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return os.Remove(name)
}
