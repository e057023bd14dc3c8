package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The front is acn's own HTTP/1.1 reader for the requests that are nearly
// all of its traffic: the plain GET or HEAD of a repository file. It
// answers those with one write of the headers and, for a package, one
// sendfile, the way nginx does; net/http's general machinery costs about
// a third of the throughput on them (bench/serve.sh).
//
// The front only ever answers what it fully understands: a request line
// and headers in a strict subset of HTTP/1.1, for a file that exists. On
// the first request that is anything else (a Range, a query, a 404, a
// POST, HTTP/1.0, a header it does not parse, a head over 8 KiB), it hands
// the connection, with every byte read so far, to net/http for the rest of
// its life. So net/http decides every error and every unusual case, and
// the front cannot accept a request that net/http would refuse.
type front struct {
	s       *Server
	ln      net.Listener
	http    *chanListener // where connections are handed to net/http
	closing atomic.Bool

	mu    sync.Mutex
	conns map[*frontConn]struct{}
	wg    sync.WaitGroup

	// Which file each repomd.xml path names, so that the hottest request
	// skips path cleaning.
	mdMu sync.RWMutex
	md   map[string]string

	idleTimeout   time.Duration // between requests on a connection
	headerTimeout time.Duration // from a request's first byte to its last
	sendTimeout   time.Duration // without progress while sending a response
}

const (
	headMax   = 8 << 10  // a longer request head goes to net/http
	inlineMax = 16 << 10 // a file in memory longer than this is sent with writev, not copied
)

func newFront(s *Server, ln net.Listener) *front {
	return &front{s: s, ln: ln, conns: map[*frontConn]struct{}{}, md: map[string]string{},
		http:        &chanListener{addr: ln.Addr(), c: make(chan net.Conn), done: make(chan struct{})},
		idleTimeout: 2 * time.Minute, headerTimeout: 10 * time.Second, sendTimeout: time.Minute}
}

// serve accepts connections until the listener is closed.
func (f *front) serve() error {
	var delay time.Duration
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if f.closing.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			f.s.log.Warn("accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		tc, ok := c.(*net.TCPConn)
		if !ok {
			go f.handoff(c, nil, nil)
			continue
		}
		fc := &frontConn{f: f, c: tc}
		f.mu.Lock()
		f.conns[fc] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go fc.serve()
	}
}

// shutdown stops accepting, closes connections that wait for a request,
// and waits until the responses in flight are sent or ctx ends, when it
// closes the rest.
func (f *front) shutdown(ctx context.Context) {
	f.closing.Store(true)
	f.ln.Close()
	f.mu.Lock()
	for fc := range f.conns {
		fc.mu.Lock()
		if !fc.busy {
			fc.c.SetReadDeadline(time.Now())
		}
		fc.mu.Unlock()
	}
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		f.mu.Lock()
		for fc := range f.conns {
			fc.c.Close()
		}
		f.mu.Unlock()
		<-done
	}
}

// handoff gives c to net/http, which reads pre before the rest of c.
func (f *front) handoff(c net.Conn, tc *net.TCPConn, pre []byte) {
	f.s.metrics.handoffs.Add(1)
	// net/http sets the deadlines it wants, but not before its first
	// response: the front's must not linger into it.
	c.SetDeadline(time.Time{})
	hc := &handedConn{Conn: c, tc: tc, pre: pre}
	select {
	case f.http.c <- hc:
	case <-f.http.done:
		c.Close()
	}
}

type frontConn struct {
	f   *front
	c   *net.TCPConn
	out []byte // response head

	// When the read deadline was last set for waiting between requests,
	// and when the write deadline was last set: a deadline set within the
	// last second is left alone, which saves a timer update per request.
	idleSet, writeSet time.Time

	mu   sync.Mutex
	busy bool // between a request's last byte and its response's
}

func (fc *frontConn) serve() {
	f := fc.f
	handed := false
	defer func() {
		if !handed {
			fc.c.Close()
		}
		f.mu.Lock()
		delete(f.conns, fc)
		f.mu.Unlock()
		f.wg.Done()
	}()
	buf := make([]byte, 0, headMax)
	served := 0 // responses sent
	for {
		end := bytes.Index(buf, crlfcrlf) + 4
		if end < 4 {
			if !fc.wait(len(buf) == 0) {
				return
			}
			for end < 4 {
				if len(buf) == cap(buf) {
					f.handoff(fc.c, fc.c, buf)
					handed = true
					return
				}
				n, err := fc.c.Read(buf[len(buf):cap(buf)])
				from := max(len(buf)-3, 0)
				first := len(buf) == 0
				buf = buf[:len(buf)+n]
				if err == io.EOF && len(buf) > 0 && (served == 0 || len(buf) >= 4) {
					// Part of a request, then the client's end: net/http
					// answers 400, except to under 4 bytes after a
					// response, which it drops.
					f.handoff(fc.c, fc.c, buf)
					handed = true
					return
				}
				if err != nil {
					return // closed, reset, timed out or shut down
				}
				if i := bytes.Index(buf[from:], crlfcrlf); i >= 0 {
					end = from + i + 4
				} else if first && n > 0 && !fc.wait(false) {
					return
				}
			}
		}
		fc.mu.Lock()
		fc.busy = true
		fc.mu.Unlock()
		h, ok := parseHead(buf[:end])
		var err error
		if ok {
			ok, err = fc.respond(&h)
		}
		if !ok {
			f.handoff(fc.c, fc.c, buf)
			handed = true
			return
		}
		if err != nil || h.close {
			fc.c.CloseWrite()
			return
		}
		buf = buf[:copy(buf, buf[end:])]
		served++
		fc.mu.Lock()
		fc.busy = false
		fc.mu.Unlock()
	}
}

// wait sets the deadline for the next read: the idle timeout for a new
// request, or the header timeout for the rest of one. It says false if
// the front is shutting down.
func (fc *frontConn) wait(idle bool) bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.f.closing.Load() {
		return false
	}
	now := time.Now()
	switch {
	case !idle:
		fc.c.SetReadDeadline(now.Add(fc.f.headerTimeout))
		fc.idleSet = time.Time{}
	case now.Sub(fc.idleSet) > time.Second:
		fc.c.SetReadDeadline(now.Add(fc.f.idleTimeout))
		fc.idleSet = now
	}
	return true
}

// writing sets the deadline for the progress of a write.
func (fc *frontConn) writing() {
	if now := time.Now(); now.Sub(fc.writeSet) > time.Second {
		fc.c.SetWriteDeadline(now.Add(fc.f.sendTimeout))
		fc.writeSet = now
	}
}

var crlfcrlf = []byte("\r\n\r\n")

// head is a request the front can answer.
type head struct {
	get      bool   // or HEAD
	path     []byte // <repo>/<file> in /repos/<repo>/<file>
	close    bool   // Connection: close
	inm, ims string // If-None-Match, If-Modified-Since
}

// parseHead reads a request head (ending in an empty line) in the subset
// of HTTP/1.1 the front answers, and says false for anything else.
func parseHead(b []byte) (head, bool) {
	var h head
	line, rest, _ := bytes.Cut(b, crlf)
	if m, ok := bytes.CutPrefix(line, []byte("GET ")); ok {
		h.get, line = true, m
	} else if m, ok := bytes.CutPrefix(line, []byte("HEAD ")); ok {
		line = m
	} else {
		return h, false
	}
	target, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok {
		return h, false
	}
	p, ok := bytes.CutPrefix(target, []byte("/repos/"))
	if !ok {
		return h, false
	}
	for _, c := range p {
		if !pathByte[c] {
			return h, false
		}
	}
	if i := bytes.IndexByte(p, '/'); i <= 0 {
		return h, false
	}
	h.path = p
	hosts := 0
	for {
		line, rest, _ = bytes.Cut(rest, crlf)
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 {
			return h, false
		}
		for _, c := range name {
			if !tokenByte[c] {
				return h, false
			}
		}
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return h, false
			}
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Host")):
			hosts++
			for _, c := range value {
				if !hostByte[c] {
					return h, false
				}
			}
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				h.close = true
			} else if !bytes.EqualFold(value, []byte("keep-alive")) {
				return h, false
			}
		case bytes.EqualFold(name, []byte("If-None-Match")):
			if h.inm != "" || !(bytes.Equal(value, []byte("*")) || isETag(value)) {
				return h, false
			}
			h.inm = string(value)
		case bytes.EqualFold(name, []byte("If-Modified-Since")):
			if h.ims != "" || len(value) == 0 {
				return h, false
			}
			h.ims = string(value)
		default:
			if handedHeaders[string(bytes.ToLower(name))] {
				return h, false
			}
		}
	}
	return h, hosts == 1
}

var crlf = []byte("\r\n")

// handedHeaders are the request headers that send a request to net/http.
var handedHeaders = map[string]bool{
	"content-length": true, "transfer-encoding": true, "expect": true, "upgrade": true,
	"range": true, "if-range": true, "if-match": true, "if-unmodified-since": true,
}

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

var pathByte, tokenByte, hostByte [256]bool

func init() {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		pathByte[c] = alnum || bytes.IndexByte([]byte("-._~+/"), byte(c)) >= 0
		tokenByte[c] = alnum || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), byte(c)) >= 0
		hostByte[c] = alnum || bytes.IndexByte([]byte("-._:[]"), byte(c)) >= 0
	}
}

// respond answers h and says true, or says false having written nothing
// when the request is one for net/http.
func (fc *frontConn) respond(h *head) (bool, error) {
	f := fc.f
	s := f.s
	if bytes.HasSuffix(h.path, []byte("/repomd.xml")) {
		f.mdMu.RLock()
		file, ok := f.md[string(h.path)]
		f.mdMu.RUnlock()
		if !ok {
			if file, ok = f.resolve(h.path); !ok {
				return false, nil
			}
			f.mdMu.Lock()
			if len(f.md) < 1000 {
				f.md[string(h.path)] = file
			}
			f.mdMu.Unlock()
		}
		if c, err := s.small.get(file); err == nil {
			return true, fc.small(h, c)
		}
	}
	if h.inm != "" || h.ims != "" {
		return false, nil // conditional requests for other files are rare
	}
	file, ok := f.resolve(h.path)
	if !ok {
		return false, nil
	}
	clean := string(h.path[bytes.IndexByte(h.path, '/')+1:])
	fd, err := syscall.Open(file, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false, nil
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return false, nil
	}
	mtime := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	b := fc.head(h, "200 OK", contentType(clean), cacheControl(clean), etag(st.Size, mtime),
		mtime.UTC().Format(http.TimeFormat), strconv.FormatInt(st.Size, 10))
	s.metrics.requests[http.StatusOK].Add(1)
	if !h.get {
		return true, fc.write(b)
	}
	return true, fc.sendfile(b, fd, st.Size)
}

// resolve says which file p (<repo>/<file>) names, if any.
func (f *front) resolve(p []byte) (string, bool) {
	repo, rel, _ := bytes.Cut(p, []byte("/"))
	if f.s.repoConfig(string(repo)) == nil {
		return "", false
	}
	file, _, ok := f.s.repoPath(string(repo), string(rel))
	return file, ok
}

// small answers from a file held in memory, with 304 for a matching
// If-None-Match or, without one, If-Modified-Since.
func (fc *frontConn) small(h *head, c *smallFile) error {
	code := http.StatusOK
	if h.inm != "" {
		if h.inm == c.etag[0] || h.inm == "*" {
			code = http.StatusNotModified
		}
	} else if h.ims != "" {
		if t, err := http.ParseTime(h.ims); err == nil && !c.mtime.Truncate(time.Second).After(t) {
			code = http.StatusNotModified
		}
	}
	fc.f.s.metrics.requests[code].Add(1)
	if code == http.StatusNotModified {
		return fc.write(fc.head(h, "304 Not Modified", "", revalidate[0], c.etag[0], c.lastModified[0], ""))
	}
	b := fc.head(h, "200 OK", xmlType[0], revalidate[0], c.etag[0], c.lastModified[0], c.length[0])
	if !h.get {
		return fc.write(b)
	}
	if len(c.data) <= inlineMax {
		fc.out = append(b, c.data...)
		return fc.write(fc.out)
	}
	fc.writing()
	bufs := net.Buffers{b, c.data}
	_, err := bufs.WriteTo(fc.c)
	return err
}

// head writes a response head with the headers net/http would write, in
// its order; length "" for none.
func (fc *frontConn) head(h *head, status, ctype, cache, tag, modified, length string) []byte {
	b := append(fc.out[:0], "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, "\r\nAccept-Ranges: bytes\r\nCache-Control: "...)
	b = append(b, cache...)
	if length != "" {
		b = append(b, "\r\nContent-Length: "...)
		b = append(b, length...)
	}
	if status[0] == '2' {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, ctype...)
	}
	b = append(b, "\r\nEtag: "...)
	b = append(b, tag...)
	b = append(b, "\r\nLast-Modified: "...)
	b = append(b, modified...)
	b = append(b, "\r\nDate: "...)
	b = appendDate(b)
	if h.close {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	fc.out = b
	return b
}

func (fc *frontConn) write(b []byte) error {
	fc.writing()
	_, err := fc.c.Write(b)
	return err
}

// sendfile sends the response head, then size bytes of fd: the head with
// MSG_MORE, so that it leaves in the same segment as the file's first
// bytes. The deadline is for progress, not for the whole file.
func (fc *frontConn) sendfile(head []byte, fd int, size int64) error {
	rc, err := fc.c.SyscallConn()
	if err != nil {
		return err
	}
	var off int64
	for {
		fc.writing()
		progress := false
		var serr error
		err := rc.Write(func(s uintptr) bool {
			for len(head) > 0 {
				n, err := syscall.SendmsgN(int(s), head, nil, nil, syscall.MSG_MORE|syscall.MSG_NOSIGNAL)
				if err == syscall.EAGAIN {
					return progress
				} else if err != nil {
					serr = err
					return true
				}
				head, progress = head[n:], true
			}
			for off < size {
				n, err := syscall.Sendfile(int(s), fd, &off, int(min(size-off, 1<<30)))
				if err == syscall.EAGAIN {
					return progress
				} else if err != nil {
					serr = err
					return true
				} else if n == 0 {
					serr = io.ErrUnexpectedEOF // the file shrank
					return true
				}
				progress = true
			}
			return true
		})
		if err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		if len(head) == 0 && off >= size {
			return nil
		}
	}
}

// appendDate appends the current time in HTTP's format, formatted once a
// second.
func appendDate(b []byte) []byte {
	now := time.Now()
	d := dateNow.Load()
	if d == nil || d.sec != now.Unix() {
		d = &dateStamp{sec: now.Unix(), text: now.UTC().AppendFormat(nil, http.TimeFormat)}
		dateNow.Store(d)
	}
	return append(b, d.text...)
}

type dateStamp struct {
	sec  int64
	text []byte
}

var dateNow atomic.Pointer[dateStamp]

// chanListener is the listener net/http serves: the connections the front
// hands over.
type chanListener struct {
	addr net.Addr
	c    chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// handedConn is a connection given to net/http: the bytes the front read
// come first.
type handedConn struct {
	net.Conn
	tc  *net.TCPConn
	pre []byte
}

func (c *handedConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// CloseWrite lets net/http half-close the connection before it closes it,
// so that a client's unread request does not reset the response.
func (c *handedConn) CloseWrite() error {
	if c.tc != nil {
		return c.tc.CloseWrite()
	}
	return nil
}

// ReadFrom keeps net/http's sendfile path.
func (c *handedConn) ReadFrom(r io.Reader) (int64, error) {
	if c.tc != nil {
		return c.tc.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
