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

	"github.com/acn-project/acn/internal/atomicfile"
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
	tmp        *os.File
	buf        *bufio.Writer
	z          io.WriteCloser
	open, comp *counter
	w          io.Writer // what fragments are written to
}

func newMDFile(dir, kind, base string, o *Options) (*mdFile, error) {
	tmp, err := os.CreateTemp(dir, "."+kind+".tmp-*")
	if err != nil {
		return nil, err
	}
	h1, _ := newHash(o.Checksum)
	h2, _ := newHash(o.Checksum)
	m := &mdFile{kind: kind, base: base, tmp: tmp, buf: bufio.NewWriterSize(tmp, 256<<10), open: &counter{h: h1}, comp: &counter{h: h2}}
	m.z, err = newCompressor(o.Compress, io.MultiWriter(m.buf, m.comp))
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
	name := sum + "-" + m.base + suffix(o.Compress)
	final := filepath.Join(dir, name)
	if _, err := os.Stat(final); err != nil {
		if err := os.Rename(m.tmp.Name(), final); err != nil {
			return RepomdData{}, err
		}
	}
	return RepomdData{
		Type:         m.kind,
		Checksum:     Checksum{Type: o.Checksum, Value: sum},
		OpenChecksum: Checksum{Type: o.Checksum, Value: hex.EncodeToString(m.open.h.Sum(nil))},
		Location:     Location{Href: "repodata/" + name},
		Timestamp:    now,
		Size:         m.comp.n,
		OpenSize:     m.open.n,
	}, nil
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
	m, err := newMDFile(dir, kind, base, o)
	if err != nil {
		return RepomdData{}, err
	}
	if _, err := io.Copy(m.w, in); err != nil {
		m.abort()
		return RepomdData{}, err
	}
	return m.finish(dir, o, now)
}

// generation is one published repomd.xml and the files it names.
type generation struct {
	Revision   string   `json:"revision"`
	Superseded int64    `json:"superseded,omitempty"` // unix time; 0 while current
	Files      []string `json:"files"`
}

const generationsName = "generations.json"

// publish writes the metadata files from the new cache, then repomd.xml,
// then applies retention.
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
	var mds []*mdFile
	defer func() {
		if err != nil {
			for _, m := range mds {
				m.abort()
			}
		}
	}()
	for i, k := range kinds {
		m, err := newMDFile(rd, k, k+".xml", o)
		if err != nil {
			return err
		}
		mds = append(mds, m)
		fmt.Fprintf(m.w, heads[i], res.Packages)
	}
	// The three files are compressed at once, each from its fragment file.
	now := o.Now().Unix()
	oldMD := readRepomd(filepath.Join(rd, "repomd.xml"))
	if oldMD != nil {
		for _, d := range oldMD.Data {
			now = max(now, d.Timestamp)
		}
	}
	// Each file is compressed, fsynced and named in its own goroutine.
	datas := make([]RepomdData, len(mds))
	errs := make(chan error, len(mds))
	for i, m := range mds {
		go func() {
			_, err := io.Copy(m.w, cache.body(i))
			if err == nil {
				_, err = io.WriteString(m.w, tails[i])
			}
			if err == nil {
				datas[i], err = m.finish(rd, o, now)
			}
			errs <- err
		}()
	}
	for range mds {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	md := &Repomd{Data: datas}
	mds = nil
	if o.SQLite {
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
	if err := writeGroups(rd, md, o, now); err != nil {
		return err
	}
	if d, err := writeUpdateinfo(rd, cache, o, now); err != nil {
		return fmt.Errorf("write updateinfo: %w", err)
	} else if d != nil {
		md.Data = append(md.Data, *d)
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
	removed, keep, err := retain(dir, oldMD, md, o, sigHref)
	res.Removed = removed
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Errorf("retention: %w", err))
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

// sameMetadata reports whether publishing md would tell a client nothing
// new: the same content (open checksums), compression and tags.
func sameMetadata(old, md *Repomd) bool {
	for _, d := range md.Data {
		o := old.Find(d.Type)
		if o == nil || o.OpenChecksum != d.OpenChecksum || filepath.Ext(o.Location.Href) != filepath.Ext(d.Location.Href) {
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

func hrefs(md *Repomd) []string {
	var out []string
	for _, d := range md.Data {
		out = append(out, d.Location.Href)
	}
	return out
}

// retain records the new generation and deletes the files of generations
// that are both older than the RetainOldMD newest superseded ones and
// superseded longer ago than RetainOldMDByAge.
//
// It returns the files of the generations kept, nil if it could not tell.
func retain(dir string, oldMD, md *Repomd, o *Options, extra ...string) ([]string, map[string]bool, error) {
	state := filepath.Join(dir, stateDir, generationsName)
	var gens []generation
	if b, err := os.ReadFile(state); err == nil {
		if err := json.Unmarshal(b, &gens); err != nil {
			gens = nil
		}
	}
	now := o.Now().Unix()
	if oldMD != nil && (len(gens) == 0 || gens[0].Revision != oldMD.Revision) {
		// Metadata this tool did not write (or a lost state file): keep
		// its files through the retention window too.
		gens = append([]generation{{Revision: oldMD.Revision, Files: hrefs(oldMD)}}, gens...)
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
	gens = append([]generation{{Revision: md.Revision, Files: files}}, gens...)

	keep := map[string]bool{}
	var kept []generation
	var dropped []generation
	for i, g := range gens {
		if i <= o.RetainOldMD || now-g.Superseded < int64(o.RetainOldMDByAge.Seconds()) {
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
			if keep[f] || filepath.Base(f) == "repomd.xml" || filepath.IsAbs(f) || !filepath.IsLocal(f) {
				continue
			}
			err := os.Remove(filepath.Join(dir, filepath.FromSlash(f)))
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
