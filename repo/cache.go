package repo

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The index cache keeps what the last run rendered, so that an update
// costs only the new packages and the compression of the output.
//
// Three fragment files hold the concatenated <package> elements of
// primary, filelists and other, in package order: each one is the body of
// its metadata file, streamed through the compressor at publication. An
// index file lists, for every package, the key of the file it was read
// from and where its fragments are. An update copies runs of unchanged
// packages' fragments from the old files to the new ones (in the kernel,
// with copy_file_range) and appends fragments for new packages; memory
// holds the index only.

const cacheMagic = "acn-index-cache 4\n"

// maxCacheString bounds one string of a cache record.
const maxCacheString = 1 << 16

// fileKey identifies one version of a file on disk. Size and mtime alone
// miss a package replaced in place within the same second; inode and
// ctime catch that.
type fileKey struct {
	Path  string
	Size  int64
	MTime int64 // nanoseconds
	Ino   uint64
	CTime int64 // nanoseconds
}

type cacheMeta struct {
	fileKey
	PkgID string
	NEVRA string
	// Adv is the package's advisory record for updateinfo.xml
	// (updateinfo.go); "" when it has none.
	Adv string
}

// cacheEntry is one package of a cache: its metadata and where its three
// fragments are.
type cacheEntry struct {
	cacheMeta
	off [3]int64
	n   [3]int64
}

func (e *cacheEntry) marshal(b []byte) []byte {
	for _, s := range []string{e.Path, e.PkgID, e.NEVRA, e.Adv} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, v := range []int64{e.Size, e.MTime, e.CTime, e.off[0], e.n[0], e.off[1], e.n[1], e.off[2], e.n[2]} {
		b = binary.AppendVarint(b, v)
	}
	return binary.AppendUvarint(b, e.Ino)
}

var errCacheRecord = errors.New("damaged index cache record")

func (e *cacheEntry) unmarshal(r *bufio.Reader) error {
	for _, s := range []*string{&e.Path, &e.PkgID, &e.NEVRA, &e.Adv} {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		if n > maxCacheString {
			return errCacheRecord
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return unexpected(err)
		}
		*s = string(b)
	}
	for _, v := range []*int64{&e.Size, &e.MTime, &e.CTime, &e.off[0], &e.n[0], &e.off[1], &e.n[1], &e.off[2], &e.n[2]} {
		x, err := binary.ReadVarint(r)
		if err != nil {
			return unexpected(err)
		}
		*v = x
	}
	ino, err := binary.ReadUvarint(r)
	if err != nil {
		return unexpected(err)
	}
	e.Ino = ino
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// oldCache is the cache of the last run, opened for reuse.
type oldCache struct {
	frags   [3]*os.File
	names   [3]string
	entries map[string]*cacheEntry
}

// loadCache opens the last run's cache; a missing, foreign or damaged
// cache is no cache (every package is read again).
func loadCache(dir, fingerprint string) *oldCache {
	f, err := os.Open(filepath.Join(dir, cacheName))
	if err != nil {
		return nil
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	head := cacheMagic + fingerprint + "\n"
	got := make([]byte, len(head))
	if _, err := io.ReadFull(r, got); err != nil || string(got) != head {
		return nil
	}
	line, err := r.ReadString('\n')
	names := strings.Fields(line)
	if err != nil || len(names) != 3 {
		return nil
	}
	c := &oldCache{entries: map[string]*cacheEntry{}}
	for i, n := range names {
		if !filepath.IsLocal(n) || strings.ContainsRune(n, '/') {
			c.close()
			return nil
		}
		fr, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			c.close()
			return nil
		}
		c.frags[i], c.names[i] = fr, n
	}
	var sizes [3]int64
	for i, fr := range c.frags {
		fi, err := fr.Stat()
		if err != nil {
			c.close()
			return nil
		}
		sizes[i] = fi.Size()
	}
	for {
		e := &cacheEntry{}
		err := e.unmarshal(r)
		if err == io.EOF {
			return c
		}
		if err != nil {
			c.close()
			return nil
		}
		for i := range 3 {
			if e.off[i] < 0 || e.n[i] < 0 || e.off[i]+e.n[i] > sizes[i] {
				c.close()
				return nil
			}
		}
		c.entries[e.Path] = e
	}
}

func (c *oldCache) close() {
	if c == nil {
		return
	}
	for _, f := range c.frags {
		if f != nil {
			f.Close()
		}
	}
}

// newCache is the cache being written by this run.
type newCache struct {
	dir     string
	frags   [3]*os.File
	bufs    [3]*bufio.Writer
	size    [3]int64
	index   *os.File
	idx     *bufio.Writer
	scratch []byte
	// advs are the advisory records of the packages in the cache, for
	// updateinfo.xml.
	advs []string
	// run is a stretch of consecutive fragments of the old cache not yet
	// copied.
	run struct {
		from       *oldCache
		off, n     [3]int64
		pending    bool
		nextOffset [3]int64
	}
}

func createCache(dir, fingerprint string) (*newCache, error) {
	c := &newCache{dir: dir}
	var err error
	for i, kind := range []string{"primary", "filelists", "other"} {
		if c.frags[i], err = os.CreateTemp(dir, "cache-*."+kind); err != nil {
			c.abort()
			return nil, err
		}
		c.bufs[i] = bufio.NewWriterSize(c.frags[i], 256<<10)
	}
	if c.index, err = os.CreateTemp(dir, cacheName+".tmp-*"); err != nil {
		c.abort()
		return nil, err
	}
	c.idx = bufio.NewWriterSize(c.index, 64<<10)
	fmt.Fprintf(c.idx, "%s%s\n%s %s %s\n", cacheMagic, fingerprint,
		filepath.Base(c.frags[0].Name()), filepath.Base(c.frags[1].Name()), filepath.Base(c.frags[2].Name()))
	return c, nil
}

func (c *newCache) entry(m cacheMeta, n [3]int64) error {
	e := cacheEntry{cacheMeta: m, n: n, off: c.size}
	if m.Adv != "" {
		c.advs = append(c.advs, m.Adv)
	}
	for i := range 3 {
		c.size[i] += n[i]
	}
	c.scratch = e.marshal(c.scratch[:0])
	_, err := c.idx.Write(c.scratch)
	return err
}

// add appends a package rendered by this run.
func (c *newCache) add(m cacheMeta, frags [3][]byte) error {
	if err := c.flushRun(); err != nil {
		return err
	}
	var n [3]int64
	for i, f := range frags {
		if _, err := c.bufs[i].Write(f); err != nil {
			return err
		}
		n[i] = int64(len(f))
	}
	return c.entry(m, n)
}

// reuse takes a package's fragments from the old cache, extending the run
// of fragments to copy when it follows the previous one.
func (c *newCache) reuse(old *oldCache, e *cacheEntry) error {
	r := &c.run
	if r.pending && (r.from != old || r.nextOffset != e.off) {
		if err := c.flushRun(); err != nil {
			return err
		}
	}
	if !r.pending {
		r.from, r.off, r.n, r.pending = old, e.off, [3]int64{}, true
	}
	for i := range 3 {
		r.n[i] += e.n[i]
		r.nextOffset[i] = e.off[i] + e.n[i]
	}
	return c.entry(e.cacheMeta, e.n)
}

func (c *newCache) flushRun() error {
	r := &c.run
	if !r.pending {
		return nil
	}
	r.pending = false
	for i := range 3 {
		if err := c.bufs[i].Flush(); err != nil {
			return err
		}
		if _, err := r.from.frags[i].Seek(r.off[i], io.SeekStart); err != nil {
			return err
		}
		// A LimitedReader over an *os.File lets ReadFrom use
		// copy_file_range: the bytes never pass through this process.
		n, err := c.frags[i].ReadFrom(&io.LimitedReader{R: r.from.frags[i], N: r.n[i]})
		if err == nil && n != r.n[i] {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("index cache: %w", err)
		}
	}
	return nil
}

// finish flushes everything; the fragment files stay open for reading.
func (c *newCache) finish() error {
	if err := c.flushRun(); err != nil {
		return err
	}
	for _, b := range c.bufs {
		if err := b.Flush(); err != nil {
			return err
		}
	}
	return c.idx.Flush()
}

// body returns a reader of fragment file k.
func (c *newCache) body(k int) io.Reader { return io.NewSectionReader(c.frags[k], 0, c.size[k]) }

// commit makes this the cache the next run finds and removes the old
// one's files (and any left by a crashed run).
func (c *newCache) commit(old *oldCache) error {
	for _, f := range c.frags {
		if err := f.Chmod(0o644); err != nil {
			return err
		}
	}
	if err := c.index.Chmod(0o644); err != nil {
		return err
	}
	if err := os.Rename(c.index.Name(), filepath.Join(c.dir, cacheName)); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, f := range c.frags {
		keep[filepath.Base(f.Name())] = true
	}
	stale, _ := filepath.Glob(filepath.Join(c.dir, "cache-*"))
	for _, s := range stale {
		if !keep[filepath.Base(s)] {
			os.Remove(s)
		}
	}
	c.close()
	return nil
}

func (c *newCache) close() {
	for _, f := range c.frags {
		if f != nil {
			f.Close()
		}
	}
	if c.index != nil {
		c.index.Close()
	}
}

// abort removes everything this run wrote to the cache directory.
func (c *newCache) abort() {
	c.close()
	for _, f := range c.frags {
		if f != nil {
			os.Remove(f.Name())
		}
	}
	if c.index != nil {
		os.Remove(c.index.Name())
	}
}
