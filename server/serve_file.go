package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acn-project/acn/repo"
)

// repoFile is the one decision, shared by the front and net/http, of what
// a GET or HEAD of /repos/<name>/<path> gets: which file, which status,
// which headers. Only how the bytes are sent differs between the two.
type repoFile struct {
	small *smallFile // held in memory, or
	f     *os.File   // open, closed by close
	size  int64
	mtime time.Time
	// Response headers.
	ctype, cache, etag, lastModified, length string
}

// openRepoFile finds the published file that p, "<name>/<rel>" in
// /repos/<name>/<rel>, names. It says false for anything that is not one:
// a repository that is not configured, a path not in its clean form or
// naming a hidden file (the index cache under .acn), a file that does not
// exist, a directory.
//
// The file is opened beneath the repository's directory (os.Root): a
// symbolic link that leads out of it names nothing either.
//
// client is the client's address and port: with signing on, the
// repomd.xml.asc a client gets is the signature of the repomd.xml it was
// given last (see pairs), not necessarily the newest.
func (s *Server) openRepoFile(p []byte, client string) (repoFile, bool) {
	where, ok := s.small.resolved(p)
	if !ok {
		if where, ok = s.resolve(string(p)); !ok {
			return repoFile{}, false
		}
	}
	if where.asc && len(s.keys) > 0 {
		where.rel = s.pickSignature(where, client)
	}
	if where.hot {
		// The file every client asks for first, and most often: served
		// from memory, checked against the file at each request.
		if c, err := s.small.get(where.root, where.file, where.rel); err == nil {
			s.small.remember(p, where)
			if len(s.keys) > 0 && client != "" {
				s.pairs.saw(where.repo, client, c.generationSignature(), time.Now())
			}
			return repoFile{small: c, size: c.size, mtime: c.mtime, ctype: where.ctype, cache: where.cache,
				etag: c.etag, lastModified: c.lastModified, length: c.length}, true
		}
	}
	f, err := where.root.Open(where.rel)
	if err != nil {
		return repoFile{}, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return repoFile{}, false
	}
	mtime := fi.ModTime()
	return repoFile{f: f, size: fi.Size(), mtime: mtime, ctype: where.ctype, cache: where.cache,
		etag: etag(fi.Size(), mtime), lastModified: mtime.UTC().Format(http.TimeFormat),
		length: strconv.FormatInt(fi.Size(), 10)}, true
}

// repoLocation is where a repository path leads, and what depends only on
// the path.
type repoLocation struct {
	root         *os.Root // the repository's directory
	file         string   // the full path, which keys smallFiles
	rel          string   // beneath root, in the system's form
	ctype, cache string   // Content-Type, Cache-Control
	hot          bool     // repomd.xml, held in memory
	asc          bool     // repodata/repomd.xml.asc
	repo         string   // the repository's name
}

// resolve says where p ("<name>/<rel>") leads, if anywhere.
func (s *Server) resolve(p string) (repoLocation, bool) {
	name, rel, _ := strings.Cut(p, "/")
	if s.repoConfig(name) == nil {
		return repoLocation{}, false
	}
	file, clean, ok := s.repoPath(name, rel)
	if !ok {
		return repoLocation{}, false
	}
	root, err := s.small.root(s.repoDir(name))
	if err != nil {
		return repoLocation{}, false
	}
	return repoLocation{root: root, file: file, rel: filepath.FromSlash(clean), ctype: contentType(clean),
		cache: cacheControl(clean), hot: path.Base(clean) == "repomd.xml",
		asc: clean == "repodata/"+repo.SignatureName, repo: name}, true
}

// pickSignature is the file, beneath the repository, that answers a
// request for repodata/repomd.xml.asc: the signature of the generation
// of repomd.xml that client was last given, else of the current one, if
// that generation's signature is still there; else repomd.xml.asc as it
// is.
func (s *Server) pickSignature(where repoLocation, client string) string {
	rd := filepath.Dir(where.rel)
	sig, ok := s.pairs.signature(where.repo, client, time.Now())
	if !ok {
		md := filepath.Join(rd, "repomd.xml")
		c, err := s.small.get(where.root, filepath.Join(filepath.Dir(where.file), "repomd.xml"), md)
		if err != nil {
			return where.rel
		}
		sig = c.generationSignature()
	}
	rel := filepath.Join(rd, sig)
	if _, err := where.root.Stat(rel); err != nil {
		return where.rel
	}
	return rel
}

func (rf *repoFile) close() {
	if rf.f != nil {
		rf.f.Close()
	}
}

// status answers a plain or conditional GET or HEAD: 304 for an
// If-None-Match that is the file's tag or "*", or, without one, for an
// If-Modified-Since not before the file's time (as http.ServeContent
// decides); 200 otherwise. inm is "", "*" or one strong tag (conditional
// forms beyond these, and ranges, are for http.ServeContent).
func (rf *repoFile) status(inm, ims string) int {
	if inm != "" {
		if inm == rf.etag || inm == "*" {
			return http.StatusNotModified
		}
	} else if ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !rf.mtime.Truncate(time.Second).After(t) {
			return http.StatusNotModified
		}
	}
	return http.StatusOK
}

// body is the file's content from its start.
func (rf *repoFile) body() io.ReadSeeker {
	if rf.small != nil {
		return bytes.NewReader(rf.small.data)
	}
	return rf.f
}

// isETag says whether v is one strong entity tag.
func isETag(v []byte) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '"' || c == ',' || c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// serveRepo serves a repository's files to yum and dnf through net/http:
// HEAD, Range, conditional requests, and caching that keeps packages and
// checksum-named metadata forever but makes clients revalidate
// repomd.xml. The front answers the same requests the same way, from the
// same decision (openRepoFile, status).
func (s *Server) serveRepo(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rf, ok := s.openRepoFile([]byte(name+"/"+r.PathValue("path")), r.RemoteAddr)
	if !ok {
		msg := "not found"
		if s.repoConfig(name) == nil {
			msg = "no such repository"
		}
		s.fail(w, r, httpError{code: http.StatusNotFound, msg: msg})
		return
	}
	defer rf.close()
	wh := w.Header()
	wh["Accept-Ranges"] = bytesUnit
	wh["Cache-Control"] = []string{rf.cache}
	wh["Content-Type"] = []string{rf.ctype}
	wh["Etag"] = []string{rf.etag}
	h := r.Header
	inm, ims := h["If-None-Match"], h["If-Modified-Since"]
	if len(h["Range"]) > 0 || len(h["If-Match"]) > 0 || len(h["If-Unmodified-Since"]) > 0 || len(h["If-Range"]) > 0 ||
		len(inm) > 1 || len(inm) == 1 && inm[0] != "*" && !isETag([]byte(inm[0])) || len(ims) > 1 {
		http.ServeContent(w, r, "", rf.mtime, rf.body())
		return
	}
	code := rf.status(first(inm), first(ims))
	if code == http.StatusNotModified {
		// As http.ServeContent: no representation headers, and no
		// Last-Modified beside an ETag (RFC 9110, 15.4.5).
		delete(wh, "Content-Type")
		w.WriteHeader(code)
		return
	}
	wh["Last-Modified"] = []string{rf.lastModified}
	wh["Content-Length"] = []string{rf.length}
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	if rf.small != nil {
		w.Write(rf.small.data)
		return
	}
	io.Copy(w, rf.f) // sendfile, through the connection's ReadFrom
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// repoPath maps a path under /repos/<name>/ to the file it names. Paths
// that are not in their clean form, that name a hidden file (the index
// cache under .acn), that hold a backslash or a NUL, or that are not local
// names on this system (filepath.IsLocal: Windows' reserved names and
// drive letters) name nothing: whatever the OS, a path never leaves the
// repository's directory.
func (s *Server) repoPath(name, rel string) (file, clean string, ok bool) {
	clean = path.Clean("/" + rel)[1:]
	if clean == "" || clean != rel || strings.HasPrefix(clean, ".") || strings.Contains(clean, "/.") ||
		strings.ContainsAny(clean, "\\\x00") || !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", "", false
	}
	return filepath.Join(s.repoDir(name), filepath.FromSlash(clean)), clean, true
}

var contentTypes = map[string]string{
	".rpm": "application/x-rpm", ".xml": "application/xml", ".gz": "application/gzip",
	".xz": "application/x-xz", ".zst": "application/zstd", ".bz2": "application/x-bzip2",
	".asc": "text/plain; charset=utf-8", ".sqlite": "application/vnd.sqlite3",
}

func contentType(clean string) string {
	if ct, ok := contentTypes[path.Ext(clean)]; ok {
		return ct
	} else if ct := mime.TypeByExtension(path.Ext(clean)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func etag(size int64, mtime time.Time) string {
	return `"` + strconv.FormatInt(size, 16) + "-" + strconv.FormatInt(mtime.UnixNano(), 16) + `"`
}

// cacheControl lets caches keep package files and checksum-named metadata
// forever, and makes them revalidate repomd.xml.
func cacheControl(clean string) string {
	if path.Base(clean) == "repomd.xml" || strings.HasSuffix(clean, "repomd.xml.asc") {
		return "no-cache, max-age=0, must-revalidate"
	}
	return "public, max-age=31536000, immutable"
}

// smallFiles keeps small, hot files in memory, keyed by path and checked
// by size, mtime and identity (device and inode). A file is checked at
// most every recheck: one that another process replaces may be served up
// to that much late (the old generation's files stay published, so a
// client is never broken), and the server's own publications forget it at
// once. It also holds each repository directory open as an os.Root, which
// files are opened beneath.
type smallFiles struct {
	mu    sync.Mutex
	files map[string]*smallFile
	roots map[string]*os.Root // by directory

	// Where the paths of the hot files lead, so that the most frequent
	// request skips resolving its path.
	whereMu sync.RWMutex
	where   map[string]repoLocation
}

func (c *smallFiles) resolved(p []byte) (repoLocation, bool) {
	c.whereMu.RLock()
	defer c.whereMu.RUnlock()
	l, ok := c.where[string(p)]
	return l, ok
}

// remember keeps where p leads, for a path that named a hot file.
func (c *smallFiles) remember(p []byte, l repoLocation) {
	c.whereMu.RLock()
	_, ok := c.where[string(p)]
	c.whereMu.RUnlock()
	if ok {
		return
	}
	c.whereMu.Lock()
	defer c.whereMu.Unlock()
	if c.where == nil {
		c.where = map[string]repoLocation{}
	}
	if len(c.where) < 1000 {
		c.where[string(p)] = l
	}
}

// root is dir, opened once for the life of the server.
func (c *smallFiles) root(dir string) (*os.Root, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.roots[dir]; r != nil {
		return r, nil
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if c.roots == nil {
		c.roots = map[string]*os.Root{}
	}
	c.roots[dir] = r
	return r, nil
}

const recheck = 50 * time.Millisecond

func (c *smallFiles) forget(name string) {
	c.mu.Lock()
	delete(c.files, name)
	c.mu.Unlock()
}

type smallFile struct {
	data  []byte
	size  int64
	mtime time.Time
	info  os.FileInfo // for os.SameFile
	// Response headers, computed once per version of the file.
	etag, lastModified, length string
	checked                    atomic.Int64 // unix nanoseconds of the last stat

	sigOnce sync.Once
	sig     string // repo.GenerationSignature(data), for repomd.xml
}

var bytesUnit = []string{"bytes"}

// get returns the file rel beneath root, whose path is name.
func (c *smallFiles) get(root *os.Root, name, rel string) (*smallFile, error) {
	now := time.Now()
	c.mu.Lock()
	f := c.files[name]
	c.mu.Unlock()
	if f != nil && now.Sub(time.Unix(0, f.checked.Load())) < recheck {
		return f, nil
	}
	fi, err := root.Stat(rel)
	if err != nil {
		return nil, err
	}
	mtime := fi.ModTime()
	if f != nil && f.size == fi.Size() && f.mtime.Equal(mtime) && os.SameFile(f.info, fi) {
		f.checked.Store(now.UnixNano())
		return f, nil
	}
	if fi.Size() > 1<<20 || !fi.Mode().IsRegular() {
		return nil, errors.New("server: not a small regular file")
	}
	data, err := root.ReadFile(rel)
	if err != nil || int64(len(data)) != fi.Size() {
		return nil, errors.New("server: file changed while reading")
	}
	f = &smallFile{data: data, size: fi.Size(), mtime: mtime, info: fi,
		etag:         etag(fi.Size(), mtime),
		lastModified: mtime.UTC().Format(http.TimeFormat),
		length:       strconv.FormatInt(fi.Size(), 10),
	}
	f.checked.Store(now.UnixNano())
	c.mu.Lock()
	if c.files == nil {
		c.files = map[string]*smallFile{}
	}
	c.files[name] = f
	c.mu.Unlock()
	return f, nil
}
