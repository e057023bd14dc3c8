package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileHTTP sends what an attacker might to a real listener, through
// the front and through net/http alone: each request gets the status and
// headers in its row, both ways give the same bytes (so they never
// disagree on where a request ends), and no response ever carries a byte
// of a file outside the repository, though the secrets lie next to it,
// inside the data directory, in a hidden file of the repository and
// behind a symbolic link in it.
func TestHostileHTTP(t *testing.T) {
	const marker = "SECRET-NOT-TO-BE-SERVED"
	base := t.TempDir()
	data := filepath.Join(base, "data")
	os.WriteFile(filepath.Join(base, "secret"), []byte(marker), 0o644)
	get := func(target string, headers ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: a\r\n" + strings.Join(append(headers, ""), "\r\n") + "\r\n"
	}
	ranges := make([]string, 1000)
	for i := range ranges {
		ranges[i] = fmt.Sprintf("%d-%d", 2*i, 2*i)
	}
	overlapping := strings.Repeat("0-,", 999) + "0-"
	long := strings.Repeat("a", 10<<10)
	huge := strings.Repeat("a", 2<<20)
	pkg := "/repos/acn/hello-1.0-1.noarch.rpm"
	tests := []struct {
		name, raw string
		codes     []int             // of each response, in order
		header    map[string]string // of the first response
	}{
		{"plain", get(pkg), []int{200}, map[string]string{"Content-Type": "application/x-rpm"}},
		{"dot dot", get("/repos/acn/../../secret"), []int{307}, map[string]string{"Location": "/secret"}},
		{"dot dot at the root", get("/../secret"), []int{307}, nil},
		{"dot dot escaped", get("/repos/acn/%2e%2e/%2e%2e/secret"), []int{404}, nil},
		{"escaped slash", get("/repos/acn/..%2f..%2fsecret"), []int{404}, nil},
		{"escaped slash in the name", get("/repos/acn%2f..%2f..%2fsecret/x"), []int{404}, nil},
		{"double escaped", get("/repos/acn/%252e%252e/%252e%252e/secret"), []int{404}, nil},
		{"NUL escaped", get("/repos/acn/hello-1.0-1.noarch.rpm%00"), []int{404}, nil},
		{"NUL", get("/repos/acn/hello-1.0-1.noarch.rpm\x00"), []int{400}, nil},
		{"NUL in a header", get(pkg, "X: a\x00b"), []int{400}, nil},
		{"backslashes", get(`/repos/acn/..\..\secret`), []int{404}, nil},
		{"backslashes escaped", get("/repos/acn/..%5c..%5csecret"), []int{404}, nil},
		{"hidden file", get("/repos/acn/.acn/index-cache"), []int{404}, nil},
		{"link out of the repository", get("/repos/acn/link.rpm"), []int{404}, nil},
		{"link to the data directory", get("/repos/acn/state.rpm"), []int{404}, nil},
		{"link within the repository", get("/repos/acn/inside.rpm"), []int{200}, nil},
		{"absolute", "GET http://a/repos/acn/../../secret HTTP/1.1\r\nHost: a\r\n\r\n", []int{307}, nil},
		{"no slash", "GET repos/acn/x HTTP/1.1\r\nHost: a\r\n\r\n", []int{400}, nil},
		{"long path", get("/repos/acn/" + long), []int{404}, nil},
		{"huge path", get("/repos/acn/" + huge), []int{431}, nil},
		{"long header", get(pkg, "X: "+long), []int{200}, nil},
		{"huge header", get(pkg, "X: "+huge), []int{431}, nil},
		{"bad range", get(pkg, "Range: bytes=x-y"), []int{416}, nil},
		{"range past the end", get(pkg, "Range: bytes=99999999-"), []int{416}, nil},
		{"1000 ranges", get(pkg, "Range: bytes="+strings.Join(ranges, ",")), []int{206}, nil},
		{"1000 overlapping ranges", get(pkg, "Range: bytes="+overlapping), []int{200}, nil},
		{"POST", "POST " + pkg + " HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", []int{405}, map[string]string{"Allow": "GET, HEAD"}},
		{"PUT", "PUT " + pkg + " HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", []int{405}, nil},
		{"DELETE", "DELETE " + pkg + " HTTP/1.1\r\nHost: a\r\n\r\n", []int{405}, nil},
		{"OPTIONS", "OPTIONS " + pkg + " HTTP/1.1\r\nHost: a\r\n\r\n", []int{405}, nil},
		{"lower-case get", "get " + pkg + " HTTP/1.1\r\nHost: a\r\n\r\n", []int{405}, nil},
		{"HTTP/0.9", "GET " + pkg + "\r\n", []int{400}, nil},
		{"HTTP/1.0", "GET " + pkg + " HTTP/1.0\r\n\r\n", []int{200}, nil},
		{"HTTP/1.0 keep-alive", "GET " + pkg + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get(pkg), []int{200, 200}, nil},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", []int{400}, nil},
		{"HTTP/1.2", "GET " + pkg + " HTTP/1.2\r\nHost: a\r\n\r\n", []int{200}, nil},
		{"pipelined", get(pkg) + get("/repos/acn/nope") + get(pkg, "Range: bytes=0-1") + get(pkg), []int{200, 404, 206, 200}, nil},
		// Transfer-Encoding wins, and the connection ends after the
		// response (RFC 9112, 6.1): a proxy that went by the length
		// cannot take the rest for another request.
		{"length and chunked", "GET " + pkg + " HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get("/repos/acn/nope"),
			[]int{200}, map[string]string{"Connection": "close"}},
		{"chunked then a request", "GET " + pkg + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get("/repos/acn/nope"), []int{200}, nil},
		{"two lengths", "GET " + pkg + " HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", []int{400}, nil},
		{"body on a GET", "GET " + pkg + " HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + get("/repos/acn/nope"), []int{200, 404}, nil},
		{"obs-fold", get(pkg, "X: a", " b"), []int{200}, nil},
		{"obs-fold first", "GET " + pkg + " HTTP/1.1\r\n Host: a\r\n\r\n", []int{400}, nil},
		{"bare LF", "GET " + pkg + " HTTP/1.1\nHost: a\n\n", []int{200}, nil},
		{"bare CR", "GET " + pkg + " HTTP/1.1\rHost: a\r\n\r\n", []int{400}, nil},
		{"two hosts", get(pkg, "Host: b"), []int{400}, nil},
		{"no host", "GET " + pkg + " HTTP/1.1\r\n\r\n", []int{400}, nil},
		{"space in a header name", get(pkg, "X Y: z"), []int{400}, nil},
		{"many headers", get(pkg, strings.Repeat("X: y\r\n", 5000)+"Z: z"), []int{200}, nil},
	}
	addrs := map[bool]string{}
	for _, front := range modes() {
		addrs[front] = startHTTP(t, newHostileServer(t, data, marker, front), defaultTimeouts).ln.Addr().String()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first string
			for _, front := range modes() {
				wire := roundTrip(t, addrs[front], tt.raw)
				if bytes.Contains(wire, []byte(marker)) {
					t.Fatalf("%s: a secret was served:\n%.600q", modeName(front), wire)
				}
				resps := readResponses(wire)
				var codes []int
				for _, r := range resps {
					codes = append(codes, r.StatusCode)
				}
				if fmt.Sprint(codes) != fmt.Sprint(tt.codes) {
					t.Errorf("%s: status %v, want %v\n%.600q", modeName(front), codes, tt.codes, wire)
				}
				for k, v := range tt.header {
					if len(resps) > 0 && k == "Connection" && resps[0].Close != (v == "close") {
						t.Errorf("%s: the connection stays open, want Connection: %s", modeName(front), v)
					} else if len(resps) > 0 && k != "Connection" && resps[0].Header.Get(k) != v {
						t.Errorf("%s: %s: %q, want %q", modeName(front), k, resps[0].Header.Get(k), v)
					}
				}
				got := dateLine.ReplaceAllString(string(wire), anyDate)
				if m := boundary.FindStringSubmatch(got); m != nil {
					got = strings.ReplaceAll(got, m[1], "(boundary)")
				}
				if first == "" {
					first = got
				} else if got != first {
					t.Errorf("the front and net/http differ:\nfront:    %.600q\nnet/http: %.600q", first, got)
				}
			}
		})
	}
}

var boundary = regexp.MustCompile(`boundary=([0-9a-f]+)`)

// newHostileServer serves data, with a repository acn holding a package, a
// hidden file and symbolic links, and secrets around it.
func newHostileServer(t *testing.T, data, marker string, front bool) *Server {
	t.Helper()
	s, err := New(Config{Data: data, Git: GitConfig{URL: data}, HTTP: HTTPConfig{Front: &front}})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.repoDir("acn")
	os.WriteFile(filepath.Join(data, "secret-data"), []byte(marker), 0o644)
	os.MkdirAll(filepath.Join(dir, ".acn"), 0o755)
	os.WriteFile(filepath.Join(dir, ".acn", "index-cache"), []byte(marker), 0o644)
	os.WriteFile(filepath.Join(dir, "hello-1.0-1.noarch.rpm"), bytes.Repeat([]byte("0123456789abcdef"), 4<<10), 0o644)
	os.Symlink("../../../secret", filepath.Join(dir, "link.rpm"))
	os.Symlink("../../secret-data", filepath.Join(dir, "state.rpm"))
	os.Symlink("hello-1.0-1.noarch.rpm", filepath.Join(dir, "inside.rpm"))
	return s
}

// roundTrip sends raw on a new connection, closes its side, and returns
// every byte the server sends until it closes.
func roundTrip(t *testing.T, addr, raw string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		// The server may answer and close before it read everything.
		io.WriteString(c, raw)
		c.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("%v after %d bytes", err, len(out))
	}
	return out
}

// readResponses reads the responses (to GETs) in wire.
func readResponses(wire []byte) []*http.Response {
	br := bufio.NewReader(bytes.NewReader(wire))
	var out []*http.Response
	for {
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		io.Copy(io.Discard, r.Body)
		out = append(out, r)
	}
}
