//go:build linux

package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// FuzzParseHead holds the front to its promise: a request head it accepts
// is one net/http reads the same way, so the front never answers what
// net/http would refuse or read otherwise.
func FuzzParseHead(f *testing.F) {
	for _, seed := range []string{
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\n",
		"HEAD /repos/acn/x.rpm HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"1-2\"\r\nIf-Modified-Since: Mon, 02 Jan 2026 15:04:05 GMT\r\n\r\n",
		"GET /repos/acn/x.rpm HTTP/1.1\r\nhost: [::1]:80\r\nUser-Agent: libdnf\r\nAccept: */*\r\n\r\n",
		"GET /repos/acn/x.rpm HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
		"GET /repos/a%2fb/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /repos/acn/x HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
		"GET /repos/acn/x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end := bytes.Index(b, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		b = b[:end+4]
		h, ok := parseHead(b)
		if !ok {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("front accepts what net/http refuses (%v): %q", err, b)
		}
		method := http.MethodHead
		if h.get {
			method = http.MethodGet
		}
		if r.Method != method || r.URL.Path != "/repos/"+string(h.path) || r.URL.RawPath != "" ||
			r.URL.RawQuery != "" || r.ProtoMinor != 1 || r.Close != h.close ||
			r.Header.Get("If-None-Match") != h.inm || r.Header.Get("If-Modified-Since") != h.ims ||
			r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			t.Fatalf("read otherwise by net/http: %q\nfront: %+v\nnet/http: %s %q raw %q close %v host %q header %v",
				b, h, r.Method, r.URL.Path, r.URL.RawPath, r.Close, r.Host, r.Header)
		}
		for name := range handedHeaders {
			if _, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				t.Fatalf("front accepts a request with %s: %q", name, b)
			}
		}
	})
}

// FuzzFront sends the same bytes to the front and to net/http alone and
// wants the same bytes back (but for the date). With halfClose it then
// closes its side, so that both answer what they have; without, it keeps
// the connection open, so that a front that waits where net/http answers
// (or the reverse) shows: net/http's answer is what arrives within a
// second, the front must send the same and no more.
func FuzzFront(f *testing.F) {
	for _, seed := range []string{
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\n",
		"HEAD /repos/acn/hello-1.0-1.noarch.rpm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\nGET /repos/acn/repodata/abc-primary.xml.gz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\nGET /repos/acn/x HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\nGET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHo",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\nHost: a\nConnection: close\n\n",
		"GET /repos/acn/repodata/repomd.xml\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\nConnection: close\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	p := newFrontPair(f)
	dial := func(t *testing.T, addr string, b []byte) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write(b)
		return c
	}
	// readUntil reads c until it closes, the deadline passes or max
	// bytes (-1: no limit) came; closed says it closed.
	readUntil := func(t *testing.T, c net.Conn, d time.Duration, max int) (out []byte, closed bool) {
		c.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 64<<10)
		for max < 0 || len(out) < max {
			n, err := c.Read(buf)
			out = append(out, buf[:n]...)
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
				return out, true
			case errors.As(err, &ne) && ne.Timeout():
				return out, false
			case err != nil:
				t.Fatal(err)
			}
		}
		return out, false
	}
	norm := func(b []byte) string { return dateLine.ReplaceAllString(string(b), anyDate) }
	f.Fuzz(func(t *testing.T, b []byte, halfClose bool) {
		if len(b) > 1<<14 {
			return
		}
		if halfClose {
			pc, fc := dial(t, p.plain, b), dial(t, p.front, b)
			pc.(*net.TCPConn).CloseWrite()
			fc.(*net.TCPConn).CloseWrite()
			want, _ := readUntil(t, pc, 10*time.Second, -1)
			got, _ := readUntil(t, fc, 10*time.Second, -1)
			if norm(want) != norm(got) {
				t.Fatalf("sent %q, then closed\nnet/http: %.600q\nfront:    %.600q", b, norm(want), norm(got))
			}
			return
		}
		want, wantClosed := readUntil(t, dial(t, p.plain, b), time.Second, -1)
		fc := dial(t, p.front, b)
		got, closed := readUntil(t, fc, 10*time.Second, len(want))
		if !closed {
			// Nothing more, and the same end: closed, or open.
			wait := 200 * time.Millisecond
			if wantClosed {
				wait = 10 * time.Second
			}
			var more []byte
			more, closed = readUntil(t, fc, wait, -1)
			got = append(got, more...)
		}
		if norm(want) != norm(got) || closed != wantClosed {
			t.Fatalf("sent %q, kept open\nnet/http: %.600q (closed %v)\nfront:    %.600q (closed %v)",
				b, norm(want), wantClosed, norm(got), closed)
		}
	})
}
