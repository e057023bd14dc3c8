// Command slowloris measures what slow clients cost the others: a normal
// client's request latency to a running acn serve, first alone, then while
// N slow clients hold connections (half sending a request head a byte a
// second, half idle after connecting). bench/slowloris.sh runs it against
// a fresh acn serve.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "acn serve's `address`")
	path := flag.String("path", "/repos/acn/repodata/repomd.xml", "`path` the normal client gets")
	slow := flag.Int("slow", 500, "slow clients")
	n := flag.Int("n", 2000, "requests of the normal client in each phase")
	flag.Parse()
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	if err := run(*addr, *path, *slow, *n); err != nil {
		fmt.Fprintln(os.Stderr, "slowloris:", err)
		os.Exit(1)
	}
}

func run(addr, path string, slow, n int) error {
	for _, phase := range []struct {
		name string
		slow int
	}{{"alone", 0}, {fmt.Sprintf("with %d slow clients", slow), slow}} {
		stop, err := slowClients(addr, phase.slow)
		if err != nil {
			return err
		}
		for _, reuse := range []bool{true, false} {
			lat, err := measure(addr, path, n, reuse)
			if err != nil {
				stop()
				return err
			}
			conn := "new connection each"
			if reuse {
				conn = "one kept-alive connection"
			}
			fmt.Printf("%-26s %-26s %5d requests  p50 %8v  p99 %8v  max %8v\n", phase.name, conn, len(lat),
				pct(lat, 50), pct(lat, 99), lat[len(lat)-1])
		}
		stop()
	}
	return nil
}

// slowClients connects n clients, half of which send a request head a
// byte a second; stop closes them.
func slowClients(addr string, n int) (stop func(), err error) {
	var conns []net.Conn
	done := make(chan struct{})
	var wg sync.WaitGroup
	stop = func() {
		close(done)
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	}
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			stop()
			return nil, fmt.Errorf("slow client %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		head := "GET /repos/acn/repodata/repomd.xml HTTP/1.1\r\nHost: a\r\nX-Slow: "
		for i := 0; ; i++ {
			for _, c := range conns[:n/2] {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write([]byte{head[min(i, len(head)-1)]})
			}
			select {
			case <-done:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	time.Sleep(2 * time.Second) // all accepted, some bytes sent
	return stop, nil
}

// measure times n GETs of path, sorted.
func measure(addr, path string, n int, reuse bool) ([]time.Duration, error) {
	var c net.Conn
	var br *bufio.Reader
	var lat []time.Duration
	for i := range n {
		start := time.Now()
		if c == nil {
			var err error
			if c, err = net.Dial("tcp", addr); err != nil {
				return nil, err
			}
			br = bufio.NewReader(c)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("request %d: %s %v", i+1, resp.Status, err)
		}
		lat = append(lat, time.Since(start))
		if !reuse {
			c.Close()
			c = nil
		}
	}
	if c != nil {
		c.Close()
	}
	slices.Sort(lat)
	return lat, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(time.Microsecond)
}
