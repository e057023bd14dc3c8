package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// startHTTP serves s as acn serve does, with the front if s's config
// has it on, on a loopback port until the test ends.
func startHTTP(t testing.TB, s *Server, tm timeouts) *httpService {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.startHTTP(ln, tm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.shutdown(ctx)
	})
	return h
}

// dateLine is the Date header, which differs between two responses that
// are otherwise the same.
var dateLine = regexp.MustCompile(`\r\nDate: [^\r]*`)

const anyDate = "\r\nDate: (any)"

// newTestServer is a Server with one repository, acn, holding a
// repomd.xml and an 8 MiB package; front says whether connections go
// through the front.
func newTestServer(t testing.TB, front bool) *Server {
	t.Helper()
	data := t.TempDir()
	s, err := New(Config{Data: data, Git: GitConfig{URL: data}, HTTP: HTTPConfig{Front: &front}})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"repodata/repomd.xml":  []byte("<repomd/>\n"),
		"big-1.0-1.noarch.rpm": make([]byte, 8<<20),
	} {
		p := filepath.Join(s.repoDir("acn"), filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// modes are the two ways acn serves: through the front (where it is
// built) and with net/http alone.
func modes() []bool {
	if frontBuilt {
		return []bool{true, false}
	}
	return []bool{false}
}

func modeName(front bool) string {
	if front {
		return "front"
	}
	return "net/http"
}

func dialTest(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer wants the server to close c; the bound is generous, the
// point is that it happens at all.
func closedByServer(t *testing.T, what string, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("%s: %v, want the server to close the connection", what, err)
	}
}

// TestNetHTTPTimeouts: net/http, behind the front or alone, closes a
// connection idle between requests, one whose request head stops
// halfway, and one whose client stops reading a download; a download that
// makes progress completes however long it takes.
func TestNetHTTPTimeouts(t *testing.T) {
	tm := timeouts{idle: 300 * time.Millisecond, header: 300 * time.Millisecond, read: time.Minute, send: time.Second}
	for _, front := range modes() {
		t.Run(modeName(front), func(t *testing.T) {
			s := newTestServer(t, front)
			addr := startHTTP(t, s, tm).ln.Addr().String()

			// A 404 goes to net/http (with the front, for good).
			idle := dialTest(t, addr)
			io.WriteString(idle, "GET /repos/acn/nope.rpm HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
			if err != nil || resp.StatusCode != http.StatusNotFound {
				t.Fatalf("%v %v", resp, err)
			}
			closedByServer(t, "idle after a 404", idle)

			half := dialTest(t, addr)
			io.WriteString(half, "GET /repos/acn/nope.rpm HTTP/1.1\r\nHost: a\r\n\r\nGET /repos/acn/nope.rpm HTTP/1.1\r\nHo")
			closedByServer(t, "half a request after a 404", half)

			// A Range goes to net/http too.
			stalled := dialTest(t, addr)
			stalled.(*net.TCPConn).SetReadBuffer(64 << 10)
			io.WriteString(stalled, "GET /repos/acn/big-1.0-1.noarch.rpm HTTP/1.1\r\nHost: a\r\nRange: bytes=1-\r\n\r\n")
			time.Sleep(2 * tm.send) // not reading: the server's sends stall
			stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
			if n, err := io.Copy(io.Discard, stalled); err != nil || n >= 8<<20 {
				t.Errorf("stalled download: %d bytes, %v; want the server to give up", n, err)
			}

			// Slower than the send timeout as a whole (8 MiB at 64 KiB
			// every 20 ms), never without progress for that long.
			slow := dialTest(t, addr)
			io.WriteString(slow, "GET /repos/acn/big-1.0-1.noarch.rpm HTTP/1.1\r\nHost: a\r\nRange: bytes=1-\r\n\r\n")
			br := bufio.NewReader(slow)
			resp, err = http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusPartialContent {
				t.Fatalf("%v %v", resp, err)
			}
			start := time.Now()
			var got int64
			for {
				n, err := io.CopyN(io.Discard, resp.Body, 64<<10)
				got += n
				if err != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if got != 8<<20-1 {
				t.Errorf("slow download: %d of %d bytes in %v", got, 8<<20-1, time.Since(start))
			}
		})
	}
}

// TestFrontSwitch: with http.front off, net/http serves everything and
// nothing is handed over; a file is the same either way.
func TestFrontSwitch(t *testing.T) {
	var bodies []string
	for _, front := range modes() {
		s := newTestServer(t, front)
		h := startHTTP(t, s, defaultTimeouts)
		if (h.fr != nil) != front {
			t.Errorf("front %v: front running %v", front, h.fr != nil)
		}
		resp, err := http.Get("http://" + h.ln.Addr().String() + "/repos/acn/repodata/repomd.xml")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, resp.Status+" "+resp.Header.Get("Cache-Control")+" "+string(b))
		if n := s.metrics.handoffs.Load(); n != 0 {
			t.Errorf("front %v: %d connections handed to net/http", front, n)
		}
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Errorf("front on and off differ: %q", bodies)
		}
	}
}
