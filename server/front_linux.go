//go:build linux

package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The front is acn's own HTTP/1.1 reader for the requests that are nearly
// all of its traffic: the plain or conditional GET or HEAD of a repository
// file. It
// answers those with one write of the headers and, for a package, one
// sendfile, the way nginx does; net/http's general machinery costs about
// a third of the throughput on them (bench/serve.sh).
//
// The front only ever answers what it fully understands: a request line
// and headers in a strict subset of HTTP/1.1, for a file that exists. As
// soon as a line shows a request to be anything else (a Range, a query, a
// 404, a POST, HTTP/1.0 or 0.9, a bare LF, a header it does not parse, a
// head over 8 KiB), it hands the connection, with every byte read so far,
// to net/http for the rest of its life. So net/http decides every error
// and every unusual case, the front cannot accept a request that net/http
// would refuse, and it never waits where net/http would answer. What it
// answers, it answers as net/http would: both take the same decision
// (openRepoFile, serve_file.go).
//
// This file is built on Linux only (sendfile with MSG_MORE); elsewhere,
// and with http.front off, net/http serves every connection.
type front struct {
	s       *Server
	ln      net.Listener
	http    *chanListener // where connections are handed to net/http
	closing atomic.Bool

	mu    sync.Mutex
	conns map[*frontConn]struct{}
	wg    sync.WaitGroup

	t timeouts // idle, header and send; net/http's after a handoff
}

const (
	headMax   = 8 << 10  // a longer request head goes to net/http
	inlineMax = 16 << 10 // a file in memory longer than this is sent with writev, not copied
)

// frontBuilt says the front is built on this system.
const frontBuilt = true

func newFront(s *Server, ln net.Listener, t timeouts) *front {
	return &front{s: s, ln: ln, conns: map[*frontConn]struct{}{}, t: t,
		http: &chanListener{addr: ln.Addr(), c: make(chan net.Conn), done: make(chan struct{})}}
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
			go f.handoff(c, nil)
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
func (f *front) handoff(c net.Conn, pre []byte) {
	f.s.metrics.handoffs.Add(1)
	// net/http sets the read deadlines it wants, and httpConn the write
	// deadlines: the front's must not linger into them.
	c.SetDeadline(time.Time{})
	hc := &httpConn{Conn: c, pre: pre, send: f.t.send}
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
	// remote is the client's address and port, once known.
	remote string

	// When the read deadline was last set for waiting between requests,
	// and when the write deadline was last set: a deadline set recently
	// (keepFor) is left alone, which saves a timer update per request.
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
	handoff := func(buf []byte) {
		f.handoff(fc.c, buf)
		handed = true
	}
	buf := make([]byte, 0, headMax)
	served := 0 // responses sent
	for {
		// Each line is judged as soon as it is complete: a head the
		// front does not answer (HTTP/0.9, a bare LF, a header it does
		// not parse) goes to net/http at once, never after a wait for an
		// end that net/http would not wait for.
		var p headParser
		scanned, end := 0, 0 // bytes of buf read as lines; the head's length
		waited := false
		for end == 0 {
			i := bytes.IndexByte(buf[scanned:], '\n')
			if i >= 0 {
				eol := scanned + i
				if eol == 0 || buf[eol-1] != '\r' {
					handoff(buf)
					return
				}
				done, ok := p.line(buf[scanned : eol-1])
				if !ok {
					handoff(buf)
					return
				}
				scanned = eol + 1
				if done {
					end = scanned
				}
				continue
			}
			if len(buf) == cap(buf) {
				handoff(buf)
				return
			}
			if !waited {
				if !fc.wait(len(buf) == 0) {
					return
				}
				waited = true
			}
			first := len(buf) == 0
			n, err := fc.c.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF && len(buf) > 0 && (served == 0 || len(buf) >= 4) {
				// Part of a request, then the client's end: net/http
				// answers 400, except to under 4 bytes after a
				// response, which it drops.
				handoff(buf)
				return
			}
			if err != nil {
				return // closed, reset, timed out or shut down
			}
			if first && n > 0 && !fc.wait(false) {
				return
			}
		}
		fc.mu.Lock()
		fc.busy = true
		fc.mu.Unlock()
		ok, err := fc.respond(&p.h)
		if !ok {
			handoff(buf)
			return
		}
		if err != nil || p.h.close {
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
		fc.c.SetReadDeadline(now.Add(fc.f.t.header))
		fc.idleSet = time.Time{}
	case now.Sub(fc.idleSet) > keepFor(fc.f.t.idle):
		fc.c.SetReadDeadline(now.Add(fc.f.t.idle))
		fc.idleSet = now
	}
	return true
}

// writing sets the deadline for the progress of a write.
func (fc *frontConn) writing() {
	if now := time.Now(); now.Sub(fc.writeSet) > keepFor(fc.f.t.send) {
		fc.c.SetWriteDeadline(now.Add(fc.f.t.send))
		fc.writeSet = now
	}
}

// head is a request the front can answer.
type head struct {
	get      bool   // or HEAD
	path     []byte // <repo>/<file> in /repos/<repo>/<file>
	close    bool   // Connection: close
	inm, ims string // If-None-Match, If-Modified-Since
}

// headParser reads a request head a line at a time, in the subset of
// HTTP/1.1 the front answers.
type headParser struct {
	h     head
	lines int
	hosts int
}

// line reads the next line of the head, without its CRLF. It says done at
// the empty line that ends the head, and not ok at the first sign of a
// request the front does not answer.
func (p *headParser) line(line []byte) (done, ok bool) {
	p.lines++
	if p.lines == 1 {
		return false, p.requestLine(line)
	}
	if len(line) == 0 {
		return true, p.hosts == 1
	}
	h := &p.h
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 {
		return false, false
	}
	for _, c := range name {
		if !tokenByte[c] {
			return false, false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false, false
		}
	}
	value = bytes.Trim(value, " \t")
	switch {
	case bytes.EqualFold(name, []byte("Host")):
		p.hosts++
		for _, c := range value {
			if !hostByte[c] {
				return false, false
			}
		}
	case bytes.EqualFold(name, []byte("Connection")):
		if bytes.EqualFold(value, []byte("close")) {
			h.close = true
		} else if !bytes.EqualFold(value, []byte("keep-alive")) {
			return false, false
		}
	case bytes.EqualFold(name, []byte("If-None-Match")):
		if h.inm != "" || !(bytes.Equal(value, []byte("*")) || isETag(value)) {
			return false, false
		}
		h.inm = string(value)
	case bytes.EqualFold(name, []byte("If-Modified-Since")):
		if h.ims != "" || len(value) == 0 {
			return false, false
		}
		h.ims = string(value)
	default:
		if handedHeaders[string(bytes.ToLower(name))] {
			return false, false
		}
	}
	return false, true
}

func (p *headParser) requestLine(line []byte) bool {
	h := &p.h
	if m, ok := bytes.CutPrefix(line, []byte("GET ")); ok {
		h.get, line = true, m
	} else if m, ok := bytes.CutPrefix(line, []byte("HEAD ")); ok {
		line = m
	} else {
		return false
	}
	target, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok {
		return false
	}
	path, ok := bytes.CutPrefix(target, []byte("/repos/"))
	if !ok {
		return false
	}
	for _, c := range path {
		if !pathByte[c] {
			return false
		}
	}
	if i := bytes.IndexByte(path, '/'); i <= 0 {
		return false
	}
	h.path = path
	return true
}

// parseHead reads a whole request head, which ends in an empty line, and
// says false for one the front does not answer.
func parseHead(b []byte) (head, bool) {
	var p headParser
	for {
		line, rest, found := bytes.Cut(b, crlf)
		if !found {
			return p.h, false
		}
		done, ok := p.line(line)
		if !ok || done {
			return p.h, ok
		}
		b = rest
	}
}

var crlf = []byte("\r\n")

// handedHeaders are the request headers that send a request to net/http.
var handedHeaders = map[string]bool{
	"content-length": true, "transfer-encoding": true, "expect": true, "upgrade": true,
	"range": true, "if-range": true, "if-match": true, "if-unmodified-since": true,
}

// The bytes the front accepts in a request's path, in a header's name and
// in the Host header.
var (
	pathByte  = byteSet("-._~+/")
	tokenByte = byteSet("!#$%&'*+-.^_`|~")
	hostByte  = byteSet("-._:[]")
)

// byteSet is letters, digits and extra.
func byteSet(extra string) (set [256]bool) {
	for c := range 256 {
		set[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			bytes.IndexByte([]byte(extra), byte(c)) >= 0
	}
	return set
}

// respond answers h and says true, or says false having written nothing
// when the request is one for net/http. What it answers is what net/http
// would (openRepoFile and status decide for both).
func (fc *frontConn) respond(h *head) (bool, error) {
	if fc.remote == "" {
		fc.remote = fc.c.RemoteAddr().String()
	}
	rf, ok := fc.f.s.openRepoFile(h.path, fc.remote)
	if !ok {
		return false, nil
	}
	defer rf.close()
	code := rf.status(h.inm, h.ims)
	fc.f.s.metrics.requests[code].Add(1)
	if code == http.StatusNotModified {
		return true, fc.write(fc.head(h, &rf, false))
	}
	b := fc.head(h, &rf, true)
	switch {
	case !h.get:
		return true, fc.write(b)
	case rf.small == nil:
		return true, fc.sendfile(b, int(rf.f.Fd()), rf.size)
	case len(rf.small.data) <= inlineMax:
		fc.out = append(b, rf.small.data...)
		return true, fc.write(fc.out)
	}
	fc.writing()
	bufs := net.Buffers{b, rf.small.data}
	_, err := bufs.WriteTo(fc.c)
	return true, err
}

// head writes a response head with the headers net/http would write, in
// its order: a 200 with the representation's headers, or a 304 without
// them (as http.ServeContent).
func (fc *frontConn) head(h *head, rf *repoFile, ok bool) []byte {
	b := append(fc.out[:0], "HTTP/1.1 "...)
	if ok {
		b = append(b, "200 OK"...)
	} else {
		b = append(b, "304 Not Modified"...)
	}
	b = append(b, "\r\nAccept-Ranges: bytes\r\nCache-Control: "...)
	b = append(b, rf.cache...)
	if ok {
		b = append(b, "\r\nContent-Length: "...)
		b = append(b, rf.length...)
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, rf.ctype...)
	}
	b = append(b, "\r\nEtag: "...)
	b = append(b, rf.etag...)
	if ok {
		b = append(b, "\r\nLast-Modified: "...)
		b = append(b, rf.lastModified...)
	}
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
