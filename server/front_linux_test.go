package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// frontPair serves the same data twice: through the front (as acn serve
// does) and through net/http alone.
type frontPair struct {
	front, plain string // host:port
	s            *Server
}

func newFrontPair(t testing.TB) *frontPair {
	t.Helper()
	data := t.TempDir()
	s, err := New(Config{Data: data, Git: GitConfig{URL: data}, Repos: []RepoConfig{{Name: "acn"}, {Name: "big"}}})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		p := filepath.Join(data, "repos", filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("acn/repodata/repomd.xml", []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n<repomd/>\n"))
	write("acn/repodata/abc-primary.xml.gz", bytes.Repeat([]byte("p"), 3000))
	write("acn/hello-1.0-1.noarch.rpm", bytes.Repeat([]byte("0123456789abcdef"), 1<<16)) // 1 MiB
	write("acn/.acn/index-cache", []byte("hidden"))
	write("big/repodata/repomd.xml", bytes.Repeat([]byte("<x/>\n"), 30000)) // over inlineMax
	os.MkdirAll(filepath.Join(data, "repos", "acn", "sub.rpm"), 0o755)

	plain := httptest.NewServer(s.httpServer(defaultTimeouts).Handler)
	t.Cleanup(plain.Close)
	fr := startFront(t, s, defaultTimeouts)
	return &frontPair{front: fr.ln.Addr().String(), plain: plain.Listener.Addr().String(), s: s}
}

// startFront serves s as acn serve does, through a front and net/http
// behind it, on a loopback port until the test ends.
func startFront(t testing.TB, s *Server, tm timeouts) *front {
	t.Helper()
	return startHTTP(t, s, tm).fr
}

// exchange writes raw to addr on one connection and reads the responses to
// the n requests in it, each as the bytes on the wire.
func exchange(t *testing.T, addr, raw string, methods ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &wire))
	var out []string
	consumed := 0
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d to %q: %v", len(out)+1, raw, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		end := wire.Len() - br.Buffered()
		out = append(out, wire.String()[consumed:end])
		consumed = end
	}
	return out
}

// TestFrontMatchesNetHTTP sends the same bytes to the front and to
// net/http and wants the same bytes back (but for the date): the front
// changes how a response is sent, never what.
func TestFrontMatchesNetHTTP(t *testing.T) {
	p := newFrontPair(t)
	info, _ := os.Stat(filepath.Join(p.s.repoDir("acn"), "repodata", "repomd.xml"))
	tag := etag(info.Size(), info.ModTime())
	past := info.ModTime().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := info.ModTime().Add(time.Hour).UTC().Format(http.TimeFormat)
	pkg, _ := os.Stat(filepath.Join(p.s.repoDir("acn"), "hello-1.0-1.noarch.rpm"))
	pkgTag := etag(pkg.Size(), pkg.ModTime())
	get := func(path string, headers ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: acn.example\r\n" + strings.Join(append(headers, ""), "\r\n") + "\r\n"
	}
	tests := []struct {
		name, raw string
		methods   []string
		handed    bool // the front gives the connection to net/http
	}{
		{"repomd", get("/repos/acn/repodata/repomd.xml"), []string{"GET"}, false},
		{"repomd HEAD", strings.Replace(get("/repos/acn/repodata/repomd.xml"), "GET", "HEAD", 1), []string{"HEAD"}, false},
		{"repomd etag", get("/repos/acn/repodata/repomd.xml", "If-None-Match: "+tag), []string{"GET"}, false},
		{"repomd etag *", get("/repos/acn/repodata/repomd.xml", "If-None-Match: *"), []string{"GET"}, false},
		{"repomd other etag", get("/repos/acn/repodata/repomd.xml", "If-None-Match: \"1-2\""), []string{"GET"}, false},
		{"repomd not modified", get("/repos/acn/repodata/repomd.xml", "If-Modified-Since: "+future), []string{"GET"}, false},
		{"repomd modified", get("/repos/acn/repodata/repomd.xml", "If-Modified-Since: "+past), []string{"GET"}, false},
		{"repomd bad date", get("/repos/acn/repodata/repomd.xml", "If-Modified-Since: yesterday"), []string{"GET"}, false},
		{"big repomd", get("/repos/big/repodata/repomd.xml"), []string{"GET"}, false},
		{"package", get("/repos/acn/hello-1.0-1.noarch.rpm", "User-Agent: libdnf (Debian)", "Accept: */*"), []string{"GET"}, false},
		{"package HEAD", strings.Replace(get("/repos/acn/hello-1.0-1.noarch.rpm"), "GET", "HEAD", 1), []string{"HEAD"}, false},
		{"metadata", get("/repos/acn/repodata/abc-primary.xml.gz"), []string{"GET"}, false},
		{"close", get("/repos/acn/repodata/abc-primary.xml.gz", "Connection: close"), []string{"GET"}, false},
		{"keep-alive, odd case and space", get("/repos/acn/repodata/repomd.xml", "connection:\tKeep-Alive  ", "x-y:"), []string{"GET"}, false},
		{"pipelined", get("/repos/acn/repodata/repomd.xml") + get("/repos/acn/hello-1.0-1.noarch.rpm") +
			get("/repos/acn/repodata/repomd.xml", "Range: bytes=0-9") + get("/repos/acn/repodata/abc-primary.xml.gz"),
			[]string{"GET", "GET", "GET", "GET"}, true},
		// What the front hands to net/http.
		{"range", get("/repos/acn/hello-1.0-1.noarch.rpm", "Range: bytes=100-199"), []string{"GET"}, true},
		{"conditional package", get("/repos/acn/hello-1.0-1.noarch.rpm", "If-None-Match: \"x\""), []string{"GET"}, false},
		{"package etag", get("/repos/acn/hello-1.0-1.noarch.rpm", "If-None-Match: "+pkgTag), []string{"GET"}, false},
		{"package not modified", get("/repos/acn/hello-1.0-1.noarch.rpm", "If-Modified-Since: "+future), []string{"GET"}, false},
		{"package HEAD etag", strings.Replace(get("/repos/acn/hello-1.0-1.noarch.rpm", "If-None-Match: "+pkgTag), "GET", "HEAD", 1), []string{"HEAD"}, false},
		{"two If-None-Match", get("/repos/acn/repodata/repomd.xml", "If-None-Match: "+tag, "If-None-Match: "+tag), []string{"GET"}, true},
		{"weak etag", get("/repos/acn/repodata/repomd.xml", "If-None-Match: W/"+tag), []string{"GET"}, true},
		{"two etags", get("/repos/acn/repodata/repomd.xml", "If-None-Match: \"a\", "+tag), []string{"GET"}, true},
		{"missing", get("/repos/acn/nope.rpm"), []string{"GET"}, true},
		{"directory", get("/repos/acn/sub.rpm"), []string{"GET"}, true},
		{"hidden", get("/repos/acn/.acn/index-cache"), []string{"GET"}, true},
		{"dot dot", get("/repos/acn/../state.json"), []string{"GET"}, true},
		{"escaped", get("/repos/acn/%2e%2e/state.json"), []string{"GET"}, true},
		{"query", get("/repos/acn/repodata/repomd.xml?x=1"), []string{"GET"}, true},
		{"no repo", get("/repos/nope/repodata/repomd.xml"), []string{"GET"}, true},
		{".repo file", get("/repos/acn.repo"), []string{"GET"}, true},
		{"healthz", get("/healthz"), []string{"GET"}, true},
		{"no host", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\n\r\n", []string{"GET"}, true},
		{"two hosts", get("/repos/acn/repodata/repomd.xml", "Host: b"), []string{"GET"}, true},
		{"bad host", get("/repos/acn/repodata/repomd.xml", "Host: a b"), []string{"GET"}, true},
		{"HTTP/1.0", "GET /repos/acn/repodata/repomd.xml HTTP/1.0\r\n\r\n", []string{"GET"}, true},
		{"space before colon", get("/repos/acn/repodata/repomd.xml", "Accept : */*"), []string{"GET"}, true},
		{"folded", get("/repos/acn/repodata/repomd.xml", "Accept: a", " b"), []string{"GET"}, true},
		{"folded first header", get("/repos/acn/repodata/repomd.xml", " Accept: a"), []string{"GET"}, true},
		{"bare LF", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\nHost: a\n\n", []string{"GET"}, true},
		{"bare LF in the headers", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\nAccept: */*\r\n\r\n", []string{"GET"}, true},
		{"bare LF ends the head", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\n", []string{"GET"}, true},
		{"HTTP/0.9", "GET /repos/acn/repodata/repomd.xml\r\n", []string{"GET"}, true},
		{"HTTP/0.9 bare LF", "GET /repos/acn/repodata/repomd.xml\n", []string{"GET"}, true},
		{"empty line first", "\r\n" + get("/repos/acn/repodata/repomd.xml"), []string{"GET"}, true},
		{"CR alone", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\rHost: a\r\n\r\n", []string{"GET"}, true},
		{"length and chunked", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
			get("/repos/acn/repodata/abc-primary.xml.gz"), []string{"GET"}, true},
		{"chunked body then a request", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
			get("/repos/acn/repodata/abc-primary.xml.gz"), []string{"GET"}, true},
		{"two lengths", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", []string{"GET"}, true},
		{"body", "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab", []string{"GET"}, true},
		{"POST", "POST /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", []string{"POST"}, true},
		{"fast then handed", get("/repos/acn/repodata/repomd.xml") + get("/repos/acn/nope.rpm") + get("/repos/acn/repodata/repomd.xml"),
			[]string{"GET", "GET", "GET"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := exchange(t, p.plain, tt.raw, tt.methods...)
			before := p.s.metrics.handoffs.Load()
			got := exchange(t, p.front, tt.raw, tt.methods...)
			if handed := p.s.metrics.handoffs.Load() > before; handed != tt.handed {
				t.Errorf("handed to net/http: %v, want %v", handed, tt.handed)
			}
			for i := range want {
				w, g := dateLine.ReplaceAllString(want[i], anyDate), dateLine.ReplaceAllString(got[i], anyDate)
				if w != g {
					t.Errorf("response %d differs\nnet/http: %.400q\nfront:    %.400q", i+1, w, g)
				}
			}
		})
	}
}

// TestFrontMetrics: the answers the front gives itself count in /metrics.
func TestFrontMetrics(t *testing.T) {
	p := newFrontPair(t)
	info, _ := os.Stat(filepath.Join(p.s.repoDir("acn"), "repodata", "repomd.xml"))
	raw := "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\n" +
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: " + etag(info.Size(), info.ModTime()) + "\r\n\r\n" +
		"GET /repos/acn/hello-1.0-1.noarch.rpm HTTP/1.1\r\nHost: a\r\n\r\n" +
		"HEAD /repos/acn/hello-1.0-1.noarch.rpm HTTP/1.1\r\nHost: a\r\n\r\n" +
		"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
	out := exchange(t, p.front, raw, "GET", "GET", "GET", "HEAD", "GET")
	for _, want := range []string{`acn_http_requests_total{code="200"} 3`, `acn_http_requests_total{code="304"} 1`, "acn_http_handoffs_total 1"} {
		if !strings.Contains(out[4], want) {
			t.Errorf("/metrics lacks %s:\n%s", want, out[4])
		}
	}
}

// TestFrontSlowClient sends a request a byte at a time, as a slow link
// might deliver it.
func TestFrontSlowClient(t *testing.T) {
	p := newFrontPair(t)
	c, err := net.Dial("tcp", p.front)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	raw := "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\n"
	for i := range raw {
		c.Write([]byte{raw[i]})
		time.Sleep(time.Millisecond)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
}

// TestFrontShutdown: at shutdown a connection waiting for its next request
// is closed, and a download in flight completes.
func TestFrontShutdown(t *testing.T) {
	p := newFrontPair(t)
	// The pair's front is shut down by its cleanup; this test makes its own.
	f := startFront(t, p.s, defaultTimeouts)
	ln := f.ln
	// Larger than the socket buffers, so that it is still being sent.
	big := filepath.Join(p.s.repoDir("acn"), "big-1-1.noarch.rpm")
	if err := os.WriteFile(big, make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	exchangeOn := func(c net.Conn, file string) *http.Response {
		io.WriteString(c, "GET /repos/acn/"+file+" HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := exchangeOn(idle, "hello-1.0-1.noarch.rpm")
	io.Copy(io.Discard, resp.Body)

	busy, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// A small receive buffer keeps most of the file in flight.
	busy.(*net.TCPConn).SetReadBuffer(64 << 10)
	resp = exchangeOn(busy, "big-1-1.noarch.rpm")
	first := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		f.shutdown(ctx)
		close(done)
	}()
	idle.SetReadDeadline(time.Now().Add(15 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection at shutdown: read %d, %v; want EOF", n, err)
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case <-done:
		t.Error("shutdown did not wait for the download in flight")
	default:
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || int64(len(first)+len(rest)) != resp.ContentLength {
		t.Errorf("download cut by shutdown: %v, %d of %d bytes", err, len(first)+len(rest), resp.ContentLength)
	}
	<-done
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("still accepting after shutdown")
	}
}

// TestFrontTimeouts: a connection idle between requests, a request head
// that stops halfway, and a client that stops reading a download are all
// closed by the front.
func TestFrontTimeouts(t *testing.T) {
	p := newFrontPair(t)
	f := startFront(t, p.s, timeouts{idle: 2 * time.Second, header: 200 * time.Millisecond, read: time.Minute, send: 200 * time.Millisecond})
	ln := f.ln
	big := filepath.Join(p.s.repoDir("acn"), "big-1-1.noarch.rpm")
	if err := os.WriteFile(big, make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	closed := func(name string, c net.Conn) {
		t.Helper()
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Errorf("%s: %v, want the server to close the connection", name, err)
		}
	}

	idle := dial()
	io.WriteString(idle, "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	closed("idle", idle)

	// A connection handed to net/http carries none of the front's
	// deadlines: net/http answers on it long after they passed.
	later := dial()
	br := bufio.NewReader(later)
	for i, h := range []string{"", "Range: bytes=0-9\r\n"} {
		if i == 1 {
			time.Sleep(400 * time.Millisecond) // past the send timeout, under the idle timeout
		}
		io.WriteString(later, "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n"+h+"\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("request %d: %v %v", i+1, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
	}

	half := dial()
	io.WriteString(half, "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHo")
	closed("half a request", half)

	stalled := dial()
	stalled.(*net.TCPConn).SetReadBuffer(64 << 10)
	io.WriteString(stalled, "GET /repos/acn/big-1-1.noarch.rpm HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(time.Second) // not reading: the server's sends stall
	n, err := io.Copy(io.Discard, stalled)
	if err != nil || n >= 16<<20 {
		t.Errorf("stalled download: %d bytes, %v; want the server to give up", n, err)
	}
}
