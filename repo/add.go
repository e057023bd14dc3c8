package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/internal/rpmver"
)

// Errors wrapped by Add and Promote.
var (
	ErrImmutable = errors.New("repo: package versions are immutable")
	ErrNotFound  = errors.New("repo: no such package")
)

// AddOptions configure [Add], [Prune] and [Promote].
type AddOptions struct {
	Options // how the repository is indexed; Update is implied
	// Keep leaves only the newest Keep versions of a package (name and
	// arch) in the metadata; 0 keeps all. A version left out stays on
	// disk as long as metadata that names it is retained (RetainOldMD,
	// RetainOldMDByAge), so a client holding that metadata still gets it.
	Keep int
}

// AddResult describes one Add, Prune or Promote.
type AddResult struct {
	Result
	Added  []string // files published by this call
	Pruned []string // files retention took out of the metadata
}

// failpoint, set by tests only, is called at the named steps of an Add;
// an error it returns fails the step.
var failpoint = func(step string) error { return nil }

// plan is what an Add changes beyond indexing the directory: packages
// waiting in the staging directory, and files to leave out.
type plan struct {
	stage   []stagedFile
	prune   []prunedFile
	unprune []string // pruned files published again
}

func (pl *plan) empty() bool {
	return pl == nil || len(pl.stage) == 0 && len(pl.prune) == 0 && len(pl.unprune) == 0
}

type stagedFile struct {
	tmp string // in the staging directory
	rel string // where it is published, relative to the repository
}

const (
	stagingDir  = "staging"
	journalName = "journal.json"
	prunedName  = "pruned.json"
	ledgerName  = "published"
)

// Add publishes RPM files in the repository in dir, atomically: each is
// checked whole (header and payload digests), copied into a staging
// directory outside the served tree and only moved into place as part of
// the publication that names it. Until the new repomd.xml is renamed into
// place nothing a client can see changes; if anything fails before that,
// the staged files are removed and the directory is as before, and if the
// process dies, the next run on the directory rolls it back.
//
// A package whose file name or NEVRA is already published with other
// bytes is refused (the error wraps [ErrImmutable]); one already published
// with the same bytes is not added again. A foreign file in the directory
// that is not a valid package is left out and listed in Result.Skipped,
// as [Index] does; it does not fail the Add.
func Add(ctx context.Context, dir string, rpms []string, o AddOptions) (*AddResult, error) {
	return add(ctx, dir, rpms, &o, false)
}

// Prune applies o.Keep to every package of the repository in dir and
// republishes it. The files it leaves out stay on disk for the retention
// window of the metadata that names them.
func Prune(ctx context.Context, dir string, o AddOptions) (*AddResult, error) {
	return add(ctx, dir, nil, &o, true)
}

// Promote publishes in toDir the exact file of a package version published
// in fromDir (no rebuild). version is a version, version-release or
// epoch:version-release; the newest matching build is taken. It returns
// the file name published.
func Promote(ctx context.Context, fromDir, toDir, name, version string, o AddOptions) (string, *AddResult, error) {
	cat, err := LoadCatalog(fromDir)
	if err != nil {
		return "", nil, fmt.Errorf("promote %s %s: read %s: %w", name, version, fromDir, err)
	}
	for _, e := range cat.Entries { // newest first
		if e.Name != name || (e.Version != version && e.Version+"-"+e.Release != version && e.EVR() != version) {
			continue
		}
		rel := filepath.FromSlash(e.Location)
		if !filepath.IsLocal(rel) {
			return "", nil, fmt.Errorf("promote %s %s: %w: location %q leaves %s", name, version, ErrCorrupt, e.Location, fromDir)
		}
		res, err := Add(ctx, toDir, []string{filepath.Join(fromDir, rel)}, o)
		if err != nil {
			return "", nil, fmt.Errorf("promote %s %s: %w", name, version, err)
		}
		return path.Base(e.Location), res, nil
	}
	return "", nil, fmt.Errorf("promote %s %s: %w in %s", name, version, ErrNotFound, fromDir)
}

func add(ctx context.Context, dir string, rpms []string, o *AddOptions, pruneAll bool) (res *AddResult, err error) {
	o.Update = true
	if err := o.defaults(); err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, dir, &o.Options)
	if err != nil {
		return nil, fmt.Errorf("add to %s: %w", dir, err)
	}
	defer unlock()
	staging := filepath.Join(dir, stateDir, stagingDir)
	defer os.RemoveAll(staging) // whatever happens, nothing stays staged

	var published []*Entry
	if cat, err := LoadCatalog(dir); err == nil {
		published = cat.Entries
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("add to %s: read the published metadata: %w", dir, err)
	}
	prunedList, err := loadPruned(dir)
	if err != nil {
		return nil, fmt.Errorf("add to %s: %w", dir, err)
	}
	ledger, err := syncLedger(dir, published)
	if err != nil {
		return nil, fmt.Errorf("add to %s: %w", dir, err)
	}
	wasPruned := map[string]bool{}
	for _, p := range prunedList {
		wasPruned[p.Path] = true
	}
	pl := &plan{}
	var added []*Package
	for _, src := range rpms {
		p, err := readPackage(src, filepath.Base(src), o.Checksum, 0)
		if err != nil {
			return nil, fmt.Errorf("add %s to %s: %w", src, dir, err)
		}
		rel := filepath.Base(src)
		if !strings.HasSuffix(rel, ".rpm") || strings.HasPrefix(rel, ".") {
			rel = rpmver.FileName(p.Name, p.Version, p.Release, p.Arch)
		}
		fresh, err := checkImmutable(dir, rel, p, published, ledger, o.Checksum)
		if err != nil {
			return nil, fmt.Errorf("add %s to %s: %w", src, dir, err)
		}
		added = append(added, p)
		if !fresh {
			if wasPruned[rel] {
				// Retention took it out of the metadata, its file is
				// still there: published again.
				p.Location = rel
				pl.unprune = append(pl.unprune, rel)
			}
			continue
		}
		if err := os.MkdirAll(staging, 0o755); err != nil {
			return nil, err
		}
		tmp := filepath.Join(staging, rel)
		if err := copySynced(src, tmp); err != nil {
			return nil, fmt.Errorf("add %s to %s: stage: %w", src, dir, err)
		}
		p.Location = rel
		pl.stage = append(pl.stage, stagedFile{tmp: tmp, rel: rel})
	}
	if o.Keep > 0 {
		pl.prune = retention(published, added, o.Keep, pruneAll)
		pl.unprune = slices.DeleteFunc(pl.unprune, func(rel string) bool {
			return slices.ContainsFunc(pl.prune, func(p prunedFile) bool { return p.Path == rel })
		})
	}
	if err := failpoint("staged"); err != nil {
		return nil, err
	}
	ir, err := index(ctx, dir, &o.Options, pl)
	if err != nil && (ir == nil || o.Strict || !errors.Is(err, ErrSkipped)) {
		return nil, fmt.Errorf("add to %s: %w", dir, err)
	}
	res = &AddResult{Result: *ir}
	for _, s := range pl.stage {
		res.Added = append(res.Added, s.rel)
	}
	// Live now: remembered for good, whatever retention does later.
	if err := appendLedger(dir, added, o.Checksum, ledger); err != nil {
		res.Warnings = append(res.Warnings, err)
	}
	res.Added = append(res.Added, pl.unprune...)
	for _, p := range pl.prune {
		res.Pruned = append(res.Pruned, p.Path)
	}
	return res, nil
}

// checkImmutable reports whether p is new to the repository: not there
// under its file name, nor as a published NEVRA. Other bytes under either
// are refused.
func checkImmutable(dir, rel string, p *Package, published []*Entry, ledger map[string]string, checksum string) (bool, error) {
	fresh := true
	if id, ok := ledger[p.NEVRA()]; ok && strings.HasPrefix(id, checksum+":") && id != checksum+":"+p.PkgID {
		return false, fmt.Errorf("%w: %s was published in %s before with other content; bump the release to publish a change", ErrImmutable, p.NEVRA(), dir)
	}
	if q, err := readPackage(filepath.Join(dir, rel), rel, checksum, 0); err == nil {
		if q.PkgID != p.PkgID {
			return false, fmt.Errorf("%w: %s is already in %s with other content; bump the release to publish a change", ErrImmutable, rel, dir)
		}
		fresh = false
	} else if _, serr := os.Lstat(filepath.Join(dir, rel)); serr == nil {
		return false, fmt.Errorf("%w: %s is in %s and is not a valid package (%v); remove it first", ErrImmutable, rel, dir, err)
	}
	nevra := p.NEVRA()
	for _, e := range published {
		if e.NEVRA() == nevra && e.PkgID != p.PkgID {
			return false, fmt.Errorf("%w: %s is already published in %s (%s) with other content; bump the release to publish a change", ErrImmutable, nevra, dir, e.Location)
		}
		if e.NEVRA() == nevra {
			fresh = false
		}
	}
	return fresh, nil
}

// retention returns the published packages that fall past the newest
// keep versions of a name and arch: of the added packages' names, or of
// every name.
func retention(published []*Entry, added []*Package, keep int, all bool) []prunedFile {
	type key struct{ name, arch string }
	type ver struct{ e, v, r, loc string }
	groups := map[key][]ver{}
	want := map[key]bool{}
	for _, p := range added {
		k := key{p.Name, p.Arch}
		want[k] = true
		// Location is set when the file is already in the directory.
		groups[k] = append(groups[k], ver{p.Epoch, p.Version, p.Release, p.Location})
	}
	for _, e := range published {
		k := key{e.Name, e.Arch}
		if all || want[k] {
			groups[k] = append(groups[k], ver{e.Epoch, e.Version, e.Release, e.Location})
		}
	}
	var out []prunedFile
	for _, vs := range groups {
		sort.SliceStable(vs, func(i, j int) bool { return rpmver.Compare(vs[i].e, vs[i].v, vs[i].r, vs[j].e, vs[j].v, vs[j].r) > 0 })
		// One version added and published is one version.
		vs = slices.CompactFunc(vs, func(a, b ver) bool { return rpmver.Compare(a.e, a.v, a.r, b.e, b.v, b.r) == 0 })
		for _, v := range vs[min(keep, len(vs)):] {
			if v.loc != "" && filepath.IsLocal(filepath.FromSlash(v.loc)) {
				out = append(out, prunedFile{Path: v.loc})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// copySynced copies src to a new file dst and fsyncs it.
func copySynced(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

// apply takes the pruned files out of the scanned files and adds the
// staged ones under their final names.
func (pl *plan) apply(files []rpmFile, pruned []prunedFile) ([]rpmFile, error) {
	if len(pruned) > 0 {
		out := make(map[string]bool, len(pruned))
		for _, p := range pruned {
			out[p.Path] = true
		}
		files = slices.DeleteFunc(files, func(f rpmFile) bool { return out[f.key.Path] })
	}
	if pl == nil || len(pl.stage) == 0 {
		return files, nil
	}
	for _, s := range pl.stage {
		var st unix.Stat_t
		if err := unix.Stat(s.tmp, &st); err != nil {
			return nil, fmt.Errorf("stat %s: %w", s.tmp, err)
		}
		files = append(files, rpmFile{path: s.tmp, key: unixKey(s.rel, &st)})
	}
	sortFiles(files)
	return files, nil
}

func (pl *plan) staged(f rpmFile) bool {
	if pl == nil {
		return false
	}
	for _, s := range pl.stage {
		if s.tmp == f.path {
			return true
		}
	}
	return false
}

// journal records a publication in progress: the files moved into the
// repository for it and the files it leaves out. Whether it happened is
// told by repomd.xml naming its primary: the next lock holder then
// completes it, or else removes the files (see cleanLeftovers).
type journal struct {
	Primary  string       `json:"primary"`
	Previous string       `json:"previous,omitempty"` // primary of the metadata it replaces
	Files    []string     `json:"files"`
	Prune    []prunedFile `json:"prune,omitempty"`
	Unprune  []string     `json:"unprune,omitempty"`
}

// place moves the staged files into the repository, after the journal
// that lets a crash be undone.
// On error, nothing of it stays.
func (pl *plan) place(dir string, oldMD, md *Repomd) error {
	if pl.empty() {
		return nil
	}
	j := journal{Primary: md.Find("primary").Location.Href, Previous: primaryHref(oldMD), Prune: pl.prune, Unprune: pl.unprune}
	for _, s := range pl.stage {
		j.Files = append(j.Files, s.rel)
	}
	b, _ := json.Marshal(j)
	if err := atomicfile.WriteFile(filepath.Join(dir, stateDir, journalName), b, 0o644); err != nil {
		return fmt.Errorf("write the journal: %w", err)
	}
	for i, s := range pl.stage {
		// A link never replaces a file that appeared meanwhile.
		if err := os.Link(s.tmp, filepath.Join(dir, filepath.FromSlash(s.rel))); err != nil {
			(&plan{stage: pl.stage[:i]}).unplace(dir)
			return fmt.Errorf("publish %s: %w", s.rel, err)
		}
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		pl.unplace(dir)
		return err
	}
	if err := failpoint("placed"); err != nil {
		pl.unplace(dir)
		return err
	}
	return nil
}

func primaryHref(md *Repomd) string {
	if md == nil {
		return ""
	}
	if d := md.Find("primary"); d != nil {
		return d.Location.Href
	}
	return ""
}

// unplace undoes place after a failure before the commit.
func (pl *plan) unplace(dir string) {
	if pl == nil {
		return
	}
	for _, s := range pl.stage {
		os.Remove(filepath.Join(dir, filepath.FromSlash(s.rel)))
	}
	os.Remove(filepath.Join(dir, stateDir, journalName))
}

// committed records the publication's prunes and drops the journal.
func (pl *plan) committed(dir string, oldMD *Repomd) error {
	if pl.empty() {
		return nil
	}
	if err := failpoint("committed"); err != nil {
		return err
	}
	if err := rollForward(dir, pl.prune, pl.unprune, primaryHref(oldMD)); err != nil {
		return err // the journal stays: the next run completes it
	}
	return os.Remove(filepath.Join(dir, stateDir, journalName))
}

// prunedFile is a file left out of the metadata but kept on disk while
// metadata that names it is retained: until no retained generation has
// Until, the primary of the metadata current when it was left out.
type prunedFile struct {
	Path  string `json:"path"`
	Until string `json:"until,omitempty"`
}

func loadPruned(dir string) ([]prunedFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateDir, prunedName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []prunedFile
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", prunedName, err)
	}
	return out, nil
}

func savePruned(dir string, list []prunedFile) error {
	b, _ := json.MarshalIndent(list, "", "  ")
	return atomicfile.WriteFile(filepath.Join(dir, stateDir, prunedName), b, 0o644)
}

// rollForward adds a publication's prunes to the list, each kept until
// the generation before it (whose primary is until) expires.
func rollForward(dir string, prune []prunedFile, unprune []string, until string) error {
	if len(prune) == 0 && len(unprune) == 0 {
		return nil
	}
	list, err := loadPruned(dir)
	if err != nil {
		list = nil // damaged: start over rather than never recover
	}
	list = slices.DeleteFunc(list, func(p prunedFile) bool { return slices.Contains(unprune, p.Path) })
	have := map[string]bool{}
	for _, p := range list {
		have[p.Path] = true
	}
	for _, p := range prune {
		if !have[p.Path] {
			list = append(list, prunedFile{Path: p.Path, Until: until})
		}
	}
	return savePruned(dir, list)
}

// expirePruned deletes the pruned files no retained metadata names any
// more (keep holds the files of the retained generations).
func expirePruned(dir string, keep map[string]bool) ([]string, error) {
	list, err := loadPruned(dir)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	var removed []string
	var errs []error
	kept := list[:0]
	for _, p := range list {
		if p.Until != "" && keep[p.Until] {
			kept = append(kept, p)
			continue
		}
		rel := filepath.FromSlash(p.Path)
		if !filepath.IsLocal(rel) {
			continue // never ours: dropped from the list, nothing deleted
		}
		if err := os.Remove(filepath.Join(dir, rel)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			kept = append(kept, p)
			continue
		}
		removed = append(removed, p.Path)
	}
	if len(removed) > 0 {
		if err := savePruned(dir, kept); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// The ledger (.acn/published) remembers every package version an Add saw
// published in the directory, as lines "CHECKSUMTYPE:CHECKSUM NEVRA", so
// that a NEVRA stays immutable after retention removed its file. It only
// grows; Add backfills it from the current metadata, so it heals after a
// crash between a publication and its record.

func loadLedger(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateDir, ledgerName))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if id, nevra, ok := strings.Cut(line, " "); ok && nevra != "" {
			out[nevra] = id // a torn last line from a crash has no NEVRA
		}
	}
	return out, nil
}

// syncLedger loads the ledger and adds what the published metadata names
// and the ledger lacks.
func syncLedger(dir string, published []*Entry) (map[string]string, error) {
	ledger, err := loadLedger(dir)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, e := range published {
		if _, ok := ledger[e.NEVRA()]; !ok && e.PkgID != "" {
			id := checksumKind(e.PkgID) + ":" + e.PkgID
			ledger[e.NEVRA()] = id
			lines = append(lines, id+" "+e.NEVRA())
		}
	}
	return ledger, writeLedger(dir, lines)
}

// appendLedger records packages just published.
func appendLedger(dir string, added []*Package, checksum string, ledger map[string]string) error {
	var lines []string
	for _, p := range added {
		if _, ok := ledger[p.NEVRA()]; !ok {
			id := checksum + ":" + p.PkgID
			ledger[p.NEVRA()] = id
			lines = append(lines, id+" "+p.NEVRA())
		}
	}
	return writeLedger(dir, lines)
}

func writeLedger(dir string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, stateDir), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, stateDir, ledgerName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("write the ledger: %w", err)
	}
	_, err = f.WriteString("\n" + strings.Join(lines, "\n") + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the ledger: %w", err)
	}
	return nil
}

// checksumKind names the checksum type of a package's hex checksum by its
// length, as the ledger records it.
func checksumKind(hexsum string) string {
	switch len(hexsum) {
	case 40:
		return "sha1"
	case 128:
		return "sha512"
	}
	return "sha256"
}
