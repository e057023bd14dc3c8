package server

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the daemon's Prometheus metrics, written in the text
// exposition format.
type metrics struct {
	mu         sync.Mutex
	builds     map[string]int64 // by result
	buildSum   float64
	buildCount int64
	pubSum     float64
	pubCount   int64
	packages   map[string]int
	requests   [600]atomic.Int64 // by status code
	handoffs   atomic.Int64      // connections the front gave to net/http
}

func newMetrics() *metrics {
	return &metrics{builds: map[string]int64{"success": 0, "failure": 0}, packages: map[string]int{}}
}

func (m *metrics) build(ok bool, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ok {
		m.builds["success"]++
	} else {
		m.builds["failure"]++
	}
	m.buildSum += took.Seconds()
	m.buildCount++
}

func (m *metrics) publish(took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pubSum += took.Seconds()
	m.pubCount++
}

func (m *metrics) setPackages(repo string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.packages[repo] = n
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for file downloads.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *metrics) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		if sw.code > 0 && sw.code < len(m.requests) {
			m.requests[sw.code].Add(1)
		}
	})
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP acn_builds_total Builds finished, by result.")
	fmt.Fprintln(w, "# TYPE acn_builds_total counter")
	for _, r := range []string{"failure", "success"} {
		fmt.Fprintf(w, "acn_builds_total{result=%q} %d\n", r, m.builds[r])
	}
	fmt.Fprintln(w, "# HELP acn_build_duration_seconds Time from build start to publication.")
	fmt.Fprintln(w, "# TYPE acn_build_duration_seconds summary")
	fmt.Fprintf(w, "acn_build_duration_seconds_sum %g\nacn_build_duration_seconds_count %d\n", m.buildSum, m.buildCount)
	fmt.Fprintln(w, "# HELP acn_publish_duration_seconds Time to index and publish a repository.")
	fmt.Fprintln(w, "# TYPE acn_publish_duration_seconds summary")
	fmt.Fprintf(w, "acn_publish_duration_seconds_sum %g\nacn_publish_duration_seconds_count %d\n", m.pubSum, m.pubCount)
	fmt.Fprintln(w, "# HELP acn_packages Packages in each published repository.")
	fmt.Fprintln(w, "# TYPE acn_packages gauge")
	repos := make([]string, 0, len(m.packages))
	for r := range m.packages {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	for _, r := range repos {
		fmt.Fprintf(w, "acn_packages{repo=%q} %d\n", r, m.packages[r])
	}
	fmt.Fprintln(w, "# HELP acn_http_requests_total HTTP requests, by status code.")
	fmt.Fprintln(w, "# TYPE acn_http_requests_total counter")
	for c := range m.requests {
		if n := m.requests[c].Load(); n > 0 {
			fmt.Fprintf(w, "acn_http_requests_total{code=\"%d\"} %d\n", c, n)
		}
	}
	fmt.Fprintln(w, "# HELP acn_http_handoffs_total Connections the download front end handed to the general HTTP server.")
	fmt.Fprintln(w, "# TYPE acn_http_handoffs_total counter")
	fmt.Fprintf(w, "acn_http_handoffs_total %d\n", m.handoffs.Load())
}
