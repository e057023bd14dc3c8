package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// timeouts bound how long a client can hold a connection, in the front
// and in net/http alike.
type timeouts struct {
	idle   time.Duration // waiting for the next request on a connection
	header time.Duration // from a request's first byte to the end of its head
	// read is net/http's bound on a whole request, head and body. When
	// it passes, net/http also cancels the request's context: a handler
	// whose work may take longer must not tie it to r.Context().
	read time.Duration
	// send is the longest a response may go without progress, as nginx's
	// send_timeout: a download over a slow link takes as long as it
	// needs, a client that stops reading is dropped. net/http sends in
	// chunks of sendChunk, each with this deadline, so a link must carry
	// sendChunk per send (4 KiB/s at the defaults).
	send time.Duration
}

var defaultTimeouts = timeouts{idle: 2 * time.Minute, header: 10 * time.Second, read: time.Minute, send: time.Minute}

// sendChunk is the most net/http sends under one write deadline.
const sendChunk = 256 << 10

// frontOn says whether connections go through the front: where it is
// built (Linux), unless the config turns it off.
func (s *Server) frontOn() bool {
	return frontBuilt && (s.cfg.HTTP.Front == nil || *s.cfg.HTTP.Front)
}

// httpServer is the net/http server behind the front, or alone. Its write
// deadlines are set per send by the connections (httpConn), not by
// WriteTimeout, which would bound a whole download.
func (s *Server) httpServer(t timeouts) *http.Server {
	return &http.Server{Handler: closeChunked(s.Handler()), ReadHeaderTimeout: t.header, ReadTimeout: t.read, IdleTimeout: t.idle,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
}

// closeChunked ends the connection after a request with a chunked body.
// net/http lets Transfer-Encoding override a Content-Length beside it and
// hides the latter; RFC 9112 (6.1) asks to close the connection after
// such a request, so that a proxy that went by the length cannot take
// what follows for another request. No client of acn chunks a request.
func closeChunked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// httpService is acn's HTTP side: net/http, behind the front when it is
// on.
type httpService struct {
	ln  net.Listener
	srv *http.Server
	fr  *front // nil without the front
	// err receives the first error that stops serving.
	err chan error
}

// startHTTP serves ln until shutdown.
func (s *Server) startHTTP(ln net.Listener, t timeouts) (*httpService, error) {
	if s.cfg.HTTP.Front != nil && *s.cfg.HTTP.Front && !frontBuilt {
		return nil, errors.New("http.front: the front is built only on Linux; set front: false or leave it out")
	}
	h := &httpService{ln: ln, srv: s.httpServer(t), err: make(chan error, 2)}
	if !s.frontOn() {
		go func() { h.err <- h.srv.Serve(&sendListener{Listener: ln, send: t.send}) }()
		return h, nil
	}
	h.fr = newFront(s, ln, t)
	go func() { h.err <- h.srv.Serve(h.fr.http) }()
	go func() {
		if err := h.fr.serve(); err != nil {
			h.err <- err
		}
	}()
	return h, nil
}

// shutdown stops accepting, closes idle connections, and waits for the
// responses in flight until ctx ends.
func (h *httpService) shutdown(ctx context.Context) error {
	if h.fr == nil {
		return h.srv.Shutdown(ctx)
	}
	frontDone := make(chan struct{})
	go func() { h.fr.shutdown(ctx); close(frontDone) }()
	err := h.srv.Shutdown(ctx)
	<-frontDone
	return err
}

// sendListener gives net/http connections with progress deadlines.
type sendListener struct {
	net.Listener
	send time.Duration
}

func (l *sendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &httpConn{Conn: c, send: l.send}, nil
}

// httpConn is a connection net/http serves: the bytes the front read
// come first, and every send has a deadline for its progress.
type httpConn struct {
	net.Conn
	pre     []byte
	send    time.Duration
	sendSet time.Time // when the write deadline was last set
}

func (c *httpConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// keepFor is how long a deadline of d, once set, is left alone: setting
// it costs a timer update, and one set within the last second (or eighth
// of d) leaves nearly all of d.
func keepFor(d time.Duration) time.Duration { return min(time.Second, d/8) }

// sending sets the deadline for the next send.
func (c *httpConn) sending() {
	if now := time.Now(); now.Sub(c.sendSet) > keepFor(c.send) {
		c.Conn.SetWriteDeadline(now.Add(c.send))
		c.sendSet = now
	}
}

func (c *httpConn) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		c.sending()
		n, err := c.Conn.Write(b[:min(len(b), sendChunk)])
		written += n
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// ReadFrom keeps net/http's sendfile path, a chunk at a time.
func (c *httpConn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{c}, r)
	}
	limit := int64(-1)
	if lr, ok := r.(*io.LimitedReader); ok {
		r, limit = lr.R, lr.N
	}
	var total int64
	for limit != 0 {
		n := int64(sendChunk)
		if limit > 0 {
			n = min(n, limit)
		}
		c.sending()
		got, err := rf.ReadFrom(&io.LimitedReader{R: r, N: n})
		total += got
		if limit > 0 {
			limit -= got
		}
		if err != nil {
			return total, err
		}
		if got < n {
			return total, nil // the end of r
		}
	}
	return total, nil
}

// CloseWrite lets net/http half-close the connection before it closes it,
// so that a client's unread request does not reset the response.
func (c *httpConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
