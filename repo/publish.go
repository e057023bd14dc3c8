package repo

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/acn-project/acn/internal/atomicfile"
	"github.com/acn-project/acn/internal/ctxio"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func newCompressor(kind string, w io.Writer) (io.WriteCloser, error) {
	switch kind {
	case "gz":
		if w == nil {
			return nil, nil
		}
		// Level 3 of klauspost/compress: half the time of level 6 for 5%
		// more bytes; publication time is what an update waits for.
		return gzip.NewWriterLevel(w, 3)
	case "xz":
		if w == nil {
			return nil, nil
		}
		return xz.NewWriter(w)
	case "zstd":
		if w == nil {
			return nil, nil
		}
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	}
	return nil, fmt.Errorf("unknown compression %q (want gz, xz or zstd)", kind)
}

func suffix(kind string) string {
	if kind == "zstd" {
		return ".zst"
	}
	return "." + kind
}

// counter hashes and counts what passes through it.
type counter struct {
	h hash.Hash
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// mdFile is one metadata file being written.
type mdFile struct {
	kind       string // repomd type: primary, primary_db, ...
	base       string // file name after the checksum: primary.xml, primary.sqlite
	compress   string // gz, xz, zstd, or "" for none
	tmp        *os.File
	buf        *bufio.Writer
	z          io.WriteCloser
	open, comp *counter
	w          io.Writer // what fragments are written to
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// newMDFile starts a metadata file compressed with compress ("" for an
// uncompressed file).
func newMDFile(dir, kind, base, compress string, o *Options) (*mdFile, error) {
	tmp, err := os.CreateTemp(dir, "."+kind+".tmp-*")
	if err != nil {
		return nil, err
	}
	h1, _ := newHash(o.Checksum)
	h2, _ := newHash(o.Checksum)
	m := &mdFile{kind: kind, base: base, compress: compress, tmp: tmp, buf: bufio.NewWriterSize(tmp, 256<<10), open: &counter{h: h1}, comp: &counter{h: h2}}
	if compress == "" {
		m.z = nopCloser{io.MultiWriter(m.buf, m.comp)}
		m.w = m.z
		return m, nil
	}
	m.z, err = newCompressor(compress, io.MultiWriter(m.buf, m.comp))
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	m.w = io.MultiWriter(m.z, m.open)
	return m, nil
}

// finish closes the file and moves it to its content-addressed name.
func (m *mdFile) finish(dir string, o *Options, now int64) (RepomdData, error) {
	defer os.Remove(m.tmp.Name())
	defer m.tmp.Close()
	if err := m.z.Close(); err != nil {
		return RepomdData{}, err
	}
	if err := m.buf.Flush(); err != nil {
		return RepomdData{}, err
	}
	if err := m.tmp.Chmod(0o644); err != nil {
		return RepomdData{}, err
	}
	if err := m.tmp.Sync(); err != nil {
		return RepomdData{}, err
	}
	sum := hex.EncodeToString(m.comp.h.Sum(nil))
	name := sum + "-" + m.base
	if m.compress != "" {
		name += suffix(m.compress)
	}
	final := filepath.Join(dir, name)
	if _, err := os.Stat(final); err != nil {
		if err := os.Rename(m.tmp.Name(), final); err != nil {
			return RepomdData{}, err
		}
	}
	d := RepomdData{
		Type:      m.kind,
		Checksum:  Checksum{Type: o.Checksum, Value: sum},
		Location:  Location{Href: "repodata/" + name},
		Timestamp: now,
		Size:      m.comp.n,
	}
	if m.compress != "" {
		d.OpenChecksum = Checksum{Type: o.Checksum, Value: hex.EncodeToString(m.open.h.Sum(nil))}
		d.OpenSize = m.open.n
	}
	return d, nil
}

func (m *mdFile) abort() {
	m.tmp.Close()
	os.Remove(m.tmp.Name())
}

// compressFile compresses a finished file into a metadata file.
func compressFile(dir, src, kind, base string, o *Options, now int64) (RepomdData, error) {
	in, err := os.Open(src)
	if err != nil {
		return RepomdData{}, err
	}
	defer in.Close()
	m, err := newMDFile(dir, kind, base, o.Compress, o)
	if err != nil {
		return RepomdData{}, err
	}
	if _, err := io.Copy(m.w, in); err != nil {
		m.abort()
		return RepomdData{}, err
	}
	return m.finish(dir, o, now)
}

// writeRecord makes the record of one metadata file of acn's, kind
// (base: its name after the checksum), whose content body returns (it
// may be called twice; a reader that is an io.Closer is closed after
// use), compressed with compress ("" for none).
//
// The content is compared first: when the old repomd.xml has a record
// of this kind for the same content, compression and checksum type, and
// its file is in place, that record is returned as it is and nothing is
// written. So an unchanged repository gets no new file, even one first
// indexed by another tool.
func writeRecord(ctx context.Context, rd, kind, base, compress string, body func() io.Reader, old *Repomd, o *Options, now int64) (d RepomdData, reused bool, err error) {
	if r := reusableRecord(rd, old, kind, base, compress, o); r != nil {
		h, _ := newHash(o.Checksum)
		in := body()
		_, err := io.Copy(h, ctxio.Reader(ctx, in))
		closeReader(in)
		if err != nil {
			return RepomdData{}, false, fmt.Errorf("%s: %w", kind, err)
		}
		want := r.OpenChecksum.Value
		if compress == "" {
			want = r.Checksum.Value
		}
		if hex.EncodeToString(h.Sum(nil)) == want {
			return *r, true, nil
		}
	}
	m, err := newMDFile(rd, kind, base, compress, o)
	if err != nil {
		return RepomdData{}, false, err
	}
	in := body()
	_, err = io.Copy(m.w, ctxio.Reader(ctx, in))
	closeReader(in)
	if err != nil {
		m.abort()
		return RepomdData{}, false, fmt.Errorf("%s: %w", kind, err)
	}
	d, err = m.finish(rd, o, now)
	if err != nil {
		return RepomdData{}, false, fmt.Errorf("%s: %w", kind, err)
	}
	return d, false, nil
}

// closeReader closes r if it is a Closer (the read end of a pipe, whose
// writer then stops).
func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

// reusableRecord returns old's record of kind if its file could stand
// for a new one of base compressed with compress: same checksum type and
// compression, a local file of the recorded size in place.
func reusableRecord(rd string, old *Repomd, kind, base, compress string, o *Options) *RepomdData {
	if old == nil {
		return nil
	}
	r := old.Find(kind)
	if r == nil || r.Location.Base != "" || r.Checksum.Type != o.Checksum {
		return nil
	}
	name := base
	if compress != "" {
		name += suffix(compress)
		if r.OpenChecksum.Type != o.Checksum {
			return nil
		}
	} else if r.OpenChecksum != (Checksum{}) {
		return nil
	}
	rel, ok := strings.CutPrefix(r.Location.Href, "repodata/")
	if !ok || !strings.HasSuffix(rel, name) || !filepath.IsLocal(rel) || strings.Contains(rel, "/") {
		return nil
	}
	st, err := os.Stat(filepath.Join(rd, rel))
	if err != nil || !st.Mode().IsRegular() || st.Size() != r.Size {
		return nil
	}
	return r
}

// generation is one published repomd.xml and the files it names.
type generation struct {
	Revision   string   `json:"revision"`
	Superseded int64    `json:"superseded,omitempty"` // unix time; 0 while current
	Files      []string `json:"files"`
	// Own are the hrefs of the records acn wrote itself (not carried
	// over from another tool): a record acn wrote once and no longer
	// writes is dropped, never carried as another tool's.
	Own []string `json:"own,omitempty"`
}

const generationsName = "generations.json"

// pendingName records the generation whose repomd.xml is being put in
// place, from just before the rename until retain has recorded it in
// generations.json. A run killed between the two leaves it, and the next
// lock holder can then tell that repomd.xml is acn's (see retainedFiles)
// and clean what killed runs wrote, instead of keeping every unnamed file
// until some run gets through.
const pendingName = "pending.json"

// writePending records g as pending. Bookkeeping, like generations.json:
// without it, cleaning is only more cautious, so no fsync.
func writePending(dir string, g generation) error {
	name := filepath.Join(dir, stateDir, pendingName)
	b, _ := json.Marshal(g)
	if err := os.WriteFile(name+".tmp", b, 0o644); err != nil {
		os.Remove(name + ".tmp")
		return err
	}
	return os.Rename(name+".tmp", name)
}

func loadPending(dir string) *generation {
	b, err := os.ReadFile(filepath.Join(dir, stateDir, pendingName))
	if err != nil {
		return nil
	}
	var g generation
	if json.Unmarshal(b, &g) != nil {
		return nil
	}
	return &g
}

// loadGenerations reads the record of generations, newest first; nil if
// there is none or it is damaged (it is bookkeeping, rebuilt from
// repomd.xml).
func loadGenerations(dir string) []generation {
	b, err := os.ReadFile(filepath.Join(dir, stateDir, generationsName))
	if err != nil {
		return nil
	}
	var gens []generation
	if err := json.Unmarshal(b, &gens); err != nil {
		return nil
	}
	return gens
}

// ownHrefs is every href acn recorded as its own in gens.
func ownHrefs(gens []generation) map[string]bool {
	own := map[string]bool{}
	for _, g := range gens {
		for _, h := range g.Own {
			own[h] = true
		}
	}
	return own
}

// publish writes the metadata files from the new cache, then repomd.xml,
// then applies retention.
//
// Every record of the old repomd.xml that acn did not write (updateinfo,
// comps groups, modules added by modifyrepo_c) is carried into the new
// one unchanged, unless acn writes a record of its type itself (see
// carryForeign).
//
// pl's staged packages move into place just before repomd.xml, and leave
// again if repomd.xml is not replaced: the rename of repomd.xml is the one
// commit point. After it, faults are warnings in res.
func publish(ctx context.Context, dir string, cache *newCache, res *Result, o *Options, pl *plan) (err error) {
	rd := filepath.Join(dir, "repodata")
	if err := os.MkdirAll(rd, 0o755); err != nil {
		return err
	}
	kinds := []string{"primary", "filelists", "other"}
	heads := []string{primaryHead, filelistsHead, otherHead}
	tails := []string{primaryTail, filelistsTail, otherTail}
	now := o.Now().Unix()
	oldMD := readRepomd(filepath.Join(rd, "repomd.xml"))
	if oldMD != nil {
		for _, d := range oldMD.Data {
			now = max(now, d.Timestamp)
		}
	}
	gens := loadGenerations(dir)
	// The three files are compared, compressed, fsynced and named at
	// once, each in its own goroutine, from its fragment file.
	datas := make([]RepomdData, len(kinds))
	reused := make([]bool, len(kinds))
	errs := make(chan error, len(kinds))
	for i, k := range kinds {
		go func() {
			body := func() io.Reader {
				return io.MultiReader(strings.NewReader(fmt.Sprintf(heads[i], res.Packages)), cache.body(i), strings.NewReader(tails[i]))
			}
			var err error
			datas[i], reused[i], err = writeRecord(ctx, rd, k, k+".xml", o.Compress, body, oldMD, o, now)
			errs <- err
		}()
	}
	for range kinds {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	md := &Repomd{Data: datas}
	if o.SQLite {
		if dbs := reusableDBs(rd, oldMD, o, !slices.Contains(reused, false)); dbs != nil {
			md.Data = append(md.Data, dbs...)
		} else {
			dbs, err := writeDBs(ctx, rd, cache, md, o)
			if err != nil {
				return err
			}
			for i, kind := range kinds {
				d, err := compressFile(rd, dbs[i], kind+"_db", kind+".sqlite", o, now)
				os.Remove(dbs[i])
				if err != nil {
					return err
				}
				d.DatabaseVersion = dbVersion
				md.Data = append(md.Data, d)
			}
		}
	}
	// acn's own further records (advisories, groups) are appended to
	// md.Data here, each made with writeRecord so that unchanged content
	// writes nothing; everything in md.Data is acn's own from here on,
	// and replaces a foreign record of its type.
	if err := writeGroups(ctx, rd, md, oldMD, o, now); err != nil {
		return err
	}
	if d, err := writeUpdateinfo(ctx, rd, cache, oldMD, o, now); err != nil {
		return fmt.Errorf("write updateinfo: %w", err)
	} else if d != nil {
		md.Data = append(md.Data, *d)
	}

	own := hrefs(md)
	carried, dropped := carryForeign(dir, oldMD, md, ownHrefs(gens))
	md.Data = append(md.Data, carried...)
	for _, e := range dropped {
		o.Logger.Warn("record of another tool not carried over", "dir", dir, "err", e)
		res.Warnings = append(res.Warnings, e)
	}
	if len(o.Distro) > 0 || len(o.Content) > 0 {
		md.Tags = &RepomdTags{Content: o.Content, Distro: o.Distro}
	}
	if err := atomicfile.SyncDir(rd); err != nil {
		return err
	}

	if oldMD != nil && sameMetadata(oldMD, md) {
		// Nothing new to say, but perhaps by other keys (a rotation).
		if _, err := resign(rd, o); err != nil {
			return err
		}
		res.Revision, res.Repomd = oldMD.Revision, oldMD
		if err := pl.committed(dir, oldMD); err != nil {
			res.Warnings = append(res.Warnings, fmt.Errorf("record pruned packages: %w", err))
		}
		return nil
	}
	md.Revision = o.Revision
	if md.Revision == "" {
		rev := o.Now().Unix()
		if oldMD != nil && oldMD.RevisionNumber() >= rev {
			rev = oldMD.RevisionNumber() + 1
		}
		md.Revision = strconv.FormatInt(rev, 10)
	}
	data := md.marshal()
	// The signature goes first: whoever gets this repomd.xml finds its
	// signature (under its generation's name) already there.
	sigHref, err := writeSignatures(rd, data, o)
	if err != nil {
		return err
	}
	pending := generation{Revision: md.Revision, Files: hrefs(md)}
	if sigHref != "" {
		pending.Files = append(pending.Files, sigHref)
	}
	if err := writePending(dir, pending); err != nil {
		return fmt.Errorf("record the new generation: %w", err)
	}
	if err := pl.place(dir, oldMD, md); err != nil {
		return err
	}
	repomd := filepath.Join(rd, "repomd.xml")
	if err := atomicfile.WriteFile(repomd, data, 0o644); err != nil {
		// The rename is the commit: an error after it (the directory
		// fsync) leaves the new metadata published.
		if now := readRepomd(repomd); now == nil || now.Revision != md.Revision || !sameMetadata(now, md) {
			pl.unplace(dir)
			return err
		}
		res.Warnings = append(res.Warnings, fmt.Errorf("sync %s: %w", rd, err))
	}
	res.Changed, res.Revision, res.Repomd = true, md.Revision, md
	if err := pl.committed(dir, oldMD); err != nil {
		res.Warnings = append(res.Warnings, fmt.Errorf("record pruned packages: %w", err))
	}
	removed, keep, err := retain(dir, gens, oldMD, md, own, o, sigHref)
	res.Removed = removed
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Errorf("retention: %w", err))
	} else {
		os.Remove(filepath.Join(dir, stateDir, pendingName))
	}
	if keep != nil {
		gone, err := expirePruned(dir, keep)
		res.Removed = append(res.Removed, gone...)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Errorf("remove expired packages: %w", err))
		}
		if err := sweepSignatures(rd, keep); err != nil {
			res.Warnings = append(res.Warnings, fmt.Errorf("remove old signatures: %w", err))
		}
	}
	return nil
}

// reusableDBs returns the old sqlite records when the package metadata
// they were built from is unchanged (xmlReused) and each can stand for a
// new one; nil otherwise.
func reusableDBs(rd string, old *Repomd, o *Options, xmlReused bool) []RepomdData {
	if !xmlReused {
		return nil
	}
	var out []RepomdData
	for _, kind := range []string{"primary", "filelists", "other"} {
		r := reusableRecord(rd, old, kind+"_db", kind+".sqlite", o.Compress, o)
		if r == nil || r.DatabaseVersion != dbVersion {
			return nil
		}
		out = append(out, *r)
	}
	return out
}

// sameMetadata reports whether publishing md would tell a client nothing
// new: the same content (open checksums; checksums of uncompressed
// files), compression, locations' bases and tags.
func sameMetadata(old, md *Repomd) bool {
	for _, d := range md.Data {
		o := old.Find(d.Type)
		if o == nil || o.OpenChecksum != d.OpenChecksum || filepath.Ext(o.Location.Href) != filepath.Ext(d.Location.Href) ||
			o.Location.Base != d.Location.Base || d.OpenChecksum == (Checksum{}) && o.Checksum != d.Checksum {
			return false
		}
	}
	if len(old.Data) != len(md.Data) {
		return false
	}
	oldTags, newTags := old.Tags, md.Tags
	if oldTags == nil {
		oldTags = &RepomdTags{}
	}
	if newTags == nil {
		newTags = &RepomdTags{}
	}
	return slices.Equal(oldTags.Content, newTags.Content) && slices.Equal(oldTags.Distro, newTags.Distro)
}

func readRepomd(name string) *Repomd {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	md, err := ParseRepomd(f)
	if err != nil {
		return nil
	}
	return md
}

// hrefs are the files of the repository that md names; a record with
// an xml:base names a file elsewhere.
func hrefs(md *Repomd) []string {
	var out []string
	for _, d := range md.Data {
		if d.Location.Base == "" {
			out = append(out, d.Location.Href)
		}
	}
	return out
}

// retain records the new generation and deletes the files of generations
// that are both older than the RetainOldMD newest superseded ones and
// superseded longer ago than RetainOldMDByAge. The current generation is
// always kept. own are the hrefs of md acn wrote itself.
//
// It returns the files of the generations kept, nil if it could not tell.
func retain(dir string, gens []generation, oldMD, md *Repomd, own []string, o *Options, extra ...string) ([]string, map[string]bool, error) {
	state := filepath.Join(dir, stateDir, generationsName)
	now := o.Now().Unix()
	if oldMD != nil && (len(gens) == 0 || gens[0].Revision != oldMD.Revision || !names(gens[0].Files, hrefs(oldMD))) {
		// Metadata this tool did not write, or changed since (by
		// modifyrepo_c, which keeps the revision), or a lost state file:
		// keep its files through the retention window too, and remember
		// which of its records were acn's.
		ours := ownHrefs(gens)
		g := generation{Revision: oldMD.Revision, Files: hrefs(oldMD)}
		for _, h := range g.Files {
			if ours[h] {
				g.Own = append(g.Own, h)
			}
		}
		gens = append([]generation{g}, gens...)
	}
	for i := range gens {
		if gens[i].Superseded == 0 {
			gens[i].Superseded = now
		}
	}
	files := hrefs(md)
	for _, f := range extra {
		if f != "" {
			files = append(files, f)
		}
	}
	gens = append([]generation{{Revision: md.Revision, Files: files, Own: own}}, gens...)

	keep := map[string]bool{}
	var kept []generation
	var dropped []generation
	for i, g := range gens {
		if i <= *o.RetainOldMD || now-g.Superseded < int64(o.RetainOldMDByAge.Seconds()) {
			kept = append(kept, g)
			for _, f := range g.Files {
				keep[f] = true
			}
		} else {
			dropped = append(dropped, g)
		}
	}
	retained := maps.Clone(keep)
	var removed []string
	var errs []error
	for _, g := range dropped {
		for _, f := range g.Files {
			rel, ok := metadataFile(f)
			if keep[f] || !ok {
				continue
			}
			// Only a regular file: a link or directory in repodata/ is
			// not something acn or another tool's record wrote.
			if st, err := os.Lstat(filepath.Join(dir, rel)); err != nil || !st.Mode().IsRegular() {
				continue
			}
			err := os.Remove(filepath.Join(dir, rel))
			if err == nil {
				removed = append(removed, f)
				keep[f] = true // once
			} else if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	// Bookkeeping only (lost, it is rebuilt from repomd.xml): a rename
	// without fsync is enough.
	b, _ := json.MarshalIndent(kept, "", "  ")
	if err := os.WriteFile(state+".tmp", b, 0o644); err == nil {
		err = os.Rename(state+".tmp", state)
		if err != nil {
			errs = append(errs, err)
		}
	} else {
		os.Remove(state + ".tmp")
		errs = append(errs, err)
	}
	return removed, retained, errors.Join(errs...)
}

// names reports whether list holds every one of want.
func names(list, want []string) bool {
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}
