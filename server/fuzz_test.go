package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FuzzRepoPaths sends arbitrary paths to the server: nothing outside a
// repository's published files may ever be served.
func FuzzRepoPaths(f *testing.F) {
	for _, seed := range []string{
		"/repos/acn/repodata/repomd.xml", "/repos/acn/../state.json", "/repos/acn/%2e%2e/state.json",
		"/repos/acn/.acn/index-cache", "/repos/acn//x", "/repos/acn/./x.rpm", "/repos/acn.repo",
		"/repos/acn/sub/../../secret", "/api/v1/builds/1/log", "/r/acn/p/..%2f..%2fsecret",
	} {
		f.Add(seed)
	}
	data := f.TempDir()
	s, err := New(Config{Data: data, Git: GitConfig{URL: data}})
	if err != nil {
		f.Fatal(err)
	}
	const marker = "SECRET-NOT-TO-BE-SERVED"
	os.WriteFile(filepath.Join(data, "secret"), []byte(marker), 0o644)
	os.WriteFile(filepath.Join(data, "state.json"), []byte(`{"jobs":[],"next":1,"x":"`+marker+`"}`), 0o644)
	os.MkdirAll(filepath.Join(data, "repos", "acn", ".acn"), 0o755)
	os.WriteFile(filepath.Join(data, "repos", "acn", ".acn", "index-cache"), []byte(marker), 0o644)
	os.WriteFile(filepath.Join(data, "repos", "acn", "ok.rpm"), []byte("fine"), 0o644)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		req, err := http.NewRequest(http.MethodGet, "http://x"+p, nil)
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if strings.Contains(w.Body.String(), marker) {
			t.Fatalf("%q served a file outside the published repository", p)
		}
	})
}

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
		end := bytes.Index(b, crlfcrlf)
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

// FuzzFront sends the same bytes to the front and to net/http alone, then
// closes its side, and wants the same bytes back (but for the date).
func FuzzFront(f *testing.F) {
	for _, seed := range []string{
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\n",
		"HEAD /repos/acn/hello-1.0-1.noarch.rpm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\nGET /repos/acn/repodata/abc-primary.xml.gz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\nGET /repos/acn/x HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
		"GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\n\r\nGET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHo",
	} {
		f.Add([]byte(seed))
	}
	p := newFrontPair(f)
	talk := func(t *testing.T, addr string, b []byte) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(b)
		c.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("%q: %v", b, err)
		}
		return dateLine.ReplaceAllString(string(out), anyDate)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<14 {
			return
		}
		want, got := talk(t, p.plain, b), talk(t, p.front, b)
		if want != got {
			t.Fatalf("sent %q\nnet/http: %.600q\nfront:    %.600q", b, want, got)
		}
	})
}
