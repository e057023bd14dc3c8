package repo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The index cache keeps, for every package of the last run, the key of the
// file it was read from and its three rendered XML fragments. An update
// reuses the fragments of files whose key is unchanged, so unchanged
// packages cost neither a read nor a parse, and metadata files are written
// by streaming fragments: memory does not grow with the repository.

const cacheMagic = "acn-index-cache 2\n"

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
}

// marshal encodes the metadata compactly: strings length-prefixed,
// numbers as varints.
func (m *cacheMeta) marshal() []byte {
	b := make([]byte, 0, 64+len(m.Path)+len(m.PkgID)+len(m.NEVRA))
	for _, s := range []string{m.Path, m.PkgID, m.NEVRA} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, m.Size)
	b = binary.AppendVarint(b, m.MTime)
	b = binary.AppendUvarint(b, m.Ino)
	return binary.AppendVarint(b, m.CTime)
}

var errCacheRecord = errors.New("damaged index cache record")

func (m *cacheMeta) unmarshal(b []byte) error {
	for _, s := range []*string{&m.Path, &m.PkgID, &m.NEVRA} {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errCacheRecord
		}
		*s = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	for _, v := range []*int64{&m.Size, &m.MTime} {
		x, k := binary.Varint(b)
		if k <= 0 {
			return errCacheRecord
		}
		*v, b = x, b[k:]
	}
	ino, k := binary.Uvarint(b)
	if k <= 0 {
		return errCacheRecord
	}
	m.Ino, b = ino, b[k:]
	ct, k := binary.Varint(b)
	if k <= 0 || k != len(b) {
		return errCacheRecord
	}
	m.CTime = ct
	return nil
}

// cacheEntry is a record of the old cache: where it is.
type cacheEntry struct {
	cacheMeta
	start, length int64 // of the whole record
}

type cacheWriter struct {
	f   *os.File
	w   *bufio.Writer
	off int64
}

func newCacheWriter(f *os.File, fingerprint string) (*cacheWriter, error) {
	c := &cacheWriter{f: f, w: bufio.NewWriterSize(f, 256<<10)}
	return c, c.write([]byte(cacheMagic + fingerprint + "\n"))
}

func (c *cacheWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.off += int64(n)
	return err
}

func (c *cacheWriter) chunk(b []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if err := c.write(n[:]); err != nil {
		return err
	}
	return c.write(b)
}

// addRaw appends a record copied whole from another cache.
func (c *cacheWriter) addRaw(rec []byte) error { return c.write(rec) }

// add appends one record; frags are the primary, filelists and other
// fragments.
func (c *cacheWriter) add(m cacheMeta, frags [3][]byte) error {
	if err := c.chunk(m.marshal()); err != nil {
		return err
	}
	for _, f := range frags {
		if err := c.chunk(f); err != nil {
			return err
		}
	}
	return nil
}

func (c *cacheWriter) flush() error { return c.w.Flush() }

// loadCache indexes an old cache file; a missing, foreign or damaged cache
// is no cache (the caller reads every package again).
func loadCache(path, fingerprint string) (*os.File, map[string]*cacheEntry) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil
	}
	entries, err := indexCache(f, fingerprint)
	if err != nil {
		f.Close()
		return nil, nil
	}
	return f, entries
}

func indexCache(f *os.File, fingerprint string) (map[string]*cacheEntry, error) {
	r := bufio.NewReaderSize(f, 64<<10)
	head := []byte(cacheMagic + fingerprint + "\n")
	got := make([]byte, len(head))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, head) {
		return nil, errors.New("cache from another format or options")
	}
	off := int64(len(head))
	entries := map[string]*cacheEntry{}
	for {
		var n [4]byte
		if _, err := io.ReadFull(r, n[:]); err == io.EOF {
			return entries, nil
		} else if err != nil {
			return nil, err
		}
		meta := make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(r, meta); err != nil {
			return nil, err
		}
		e := &cacheEntry{start: off}
		if err := e.cacheMeta.unmarshal(meta); err != nil {
			return nil, err
		}
		off += 4 + int64(len(meta))
		for range 3 {
			if _, err := io.ReadFull(r, n[:]); err != nil {
				return nil, err
			}
			l := int64(binary.BigEndian.Uint32(n[:]))
			if _, err := r.Discard(int(l)); err != nil {
				return nil, err
			}
			off += 4 + l
		}
		e.length = off - e.start
		entries[e.Path] = e
	}
}

// oldCache reads records of the previous run's cache. Records are asked
// for mostly in file order, so it reads ahead sequentially and seeks only
// when asked for one behind it.
type oldCache struct {
	f   *os.File
	r   *bufio.Reader
	pos int64
	buf []byte
}

func newOldCache(f *os.File) *oldCache {
	return &oldCache{f: f, r: bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 256<<10)}
}

// record returns the record's bytes, valid until the next call.
func (o *oldCache) record(e *cacheEntry) ([]byte, error) {
	if e.start < o.pos || e.start-o.pos > 4<<20 {
		o.r.Reset(io.NewSectionReader(o.f, e.start, 1<<62))
		o.pos = e.start
	}
	if _, err := o.r.Discard(int(e.start - o.pos)); err != nil {
		return nil, fmt.Errorf("index cache: %w", err)
	}
	if int64(cap(o.buf)) < e.length {
		o.buf = make([]byte, e.length)
	}
	o.buf = o.buf[:e.length]
	if _, err := io.ReadFull(o.r, o.buf); err != nil {
		return nil, fmt.Errorf("index cache: %w", err)
	}
	o.pos = e.start + e.length
	return o.buf, nil
}

// cacheReader streams the records of a freshly written cache in order.
// Several may read one file at once.
type cacheReader struct {
	r *bufio.Reader
}

func newCacheReader(f *os.File, fingerprint string) (*cacheReader, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 256<<10)
	if _, err := r.Discard(len(cacheMagic) + len(fingerprint) + 1); err != nil {
		return nil, err
	}
	return &cacheReader{r: r}, nil
}

// skip passes over one chunk.
func (c *cacheReader) skip() error {
	var n [4]byte
	if _, err := io.ReadFull(c.r, n[:]); err != nil {
		return err
	}
	_, err := c.r.Discard(int(binary.BigEndian.Uint32(n[:])))
	return err
}

// nextFrag returns fragment k (0 primary, 1 filelists, 2 other) of the
// next record, reusing buf; io.EOF at the end.
func (c *cacheReader) nextFrag(k int, buf []byte) ([]byte, error) {
	if err := c.skip(); err != nil { // meta
		return nil, err
	}
	var out []byte
	for i := range 3 {
		if i != k {
			if err := c.skip(); err != nil {
				return nil, unexpected(err)
			}
			continue
		}
		b, err := c.chunk(buf)
		if err != nil {
			return nil, unexpected(err)
		}
		out = b
	}
	return out, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (c *cacheReader) chunk(buf []byte) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(c.r, n[:]); err != nil {
		return nil, err
	}
	l := int(binary.BigEndian.Uint32(n[:]))
	if cap(buf) < l {
		buf = make([]byte, l)
	}
	buf = buf[:l]
	_, err := io.ReadFull(c.r, buf)
	return buf, err
}
