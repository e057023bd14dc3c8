//go:build unix

package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"
)

// raiseFileLimit raises the soft limit on open files to the hard limit
// and fails t if that is under need.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			t.Fatal(err)
		}
	}
	if uint64(l.Cur) < need {
		t.Fatalf("open files limited to %d, the test needs %d (ulimit -n)", l.Cur, need)
	}
}

// TestSlowClients: while 500 clients hold connections (half of them
// sending a request head a byte a second, half idle after connecting),
// every request of a normal client succeeds, on new connections and on
// one kept alive. How fast is for bench/slowloris.sh.
func TestSlowClients(t *testing.T) {
	const slow = 500
	raiseFileLimit(t, 2*slow+200)
	for _, front := range modes() {
		t.Run(modeName(front), func(t *testing.T) {
			s := newTestServer(t, front)
			addr := startHTTP(t, s, defaultTimeouts).ln.Addr().String()
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for range slow {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatalf("slow client %d: %v", len(conns)+1, err)
				}
				conns = append(conns, c)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				head := "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nX-Slow: "
				for i := 0; ; i++ {
					for _, c := range conns[:slow/2] {
						c.SetWriteDeadline(time.Now().Add(time.Second))
						c.Write([]byte{head[min(i, len(head)-1)]})
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Second):
					}
				}
			}()
			defer func() { close(stop); wg.Wait() }()

			get := func(c net.Conn, br *bufio.Reader, path string) error {
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
					return err
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK || n != resp.ContentLength {
					t.Errorf("GET %s: %s, %d of %d bytes, %v", path, resp.Status, n, resp.ContentLength, err)
				}
				return nil
			}
			keep, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer keep.Close()
			kbr := bufio.NewReader(keep)
			for i := range 100 {
				path := "/repos/acn/repodata/repomd.xml"
				if i%10 == 0 {
					path = "/repos/acn/big-1.0-1.noarch.rpm"
				}
				if err := get(keep, kbr, path); err != nil {
					t.Fatalf("request %d on a kept connection: %v", i+1, err)
				}
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatalf("connection %d: %v", i+1, err)
				}
				err = get(c, bufio.NewReader(c), path)
				c.Close()
				if err != nil {
					t.Fatalf("request on new connection %d: %v", i+1, err)
				}
			}
		})
	}
}
