package repo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
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

const cacheMagic = "acn-index-cache 1\n"

// fileKey identifies one version of a file on disk. Size and mtime alone
// miss a package replaced in place within the same second; inode and
// ctime catch that.
type fileKey struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime"` // nanoseconds
	Ino   uint64 `json:"ino"`
	CTime int64  `json:"ctime"` // nanoseconds
}

type cacheMeta struct {
	fileKey
	PkgID string `json:"pkgid"`
	NEVRA string `json:"nevra"`
}

// cacheEntry is a record of the old cache: where its fragments are.
type cacheEntry struct {
	cacheMeta
	offset int64 // of the primary fragment's length prefix
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

// add appends one record; frags are the primary, filelists and other
// fragments.
func (c *cacheWriter) add(m cacheMeta, frags [3][]byte) error {
	meta, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := c.chunk(meta); err != nil {
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
		e := &cacheEntry{offset: off + 4 + int64(len(meta))}
		if err := json.Unmarshal(meta, &e.cacheMeta); err != nil {
			return nil, err
		}
		off = e.offset
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
		entries[e.Path] = e
	}
}

// readFrags reads one record's three fragments.
func readFrags(f *os.File, e *cacheEntry) ([3][]byte, error) {
	var out [3][]byte
	off := e.offset
	for i := range out {
		var n [4]byte
		if _, err := f.ReadAt(n[:], off); err != nil {
			return out, fmt.Errorf("index cache: %w", err)
		}
		out[i] = make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := f.ReadAt(out[i], off+4); err != nil {
			return out, fmt.Errorf("index cache: %w", err)
		}
		off += 4 + int64(len(out[i]))
	}
	return out, nil
}

// cacheReader streams the records of a freshly written cache in order.
type cacheReader struct {
	r *bufio.Reader
}

func newCacheReader(f *os.File, fingerprint string) (*cacheReader, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	if _, err := r.Discard(len(cacheMagic) + len(fingerprint) + 1); err != nil {
		return nil, err
	}
	return &cacheReader{r: r}, nil
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

// next returns the next record's fragments, reusing bufs; io.EOF at the end.
func (c *cacheReader) next(bufs *[3][]byte) error {
	if _, err := c.chunk(nil); err != nil {
		return err
	}
	for i := range bufs {
		b, err := c.chunk(bufs[i])
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		bufs[i] = b
	}
	return nil
}
