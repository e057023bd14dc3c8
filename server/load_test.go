package server_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/repo"
	"github.com/acn-project/acn/server"
)

// TestLoadDuringPublication: while publications run back to back (with
// retention removing old versions), 64 clients loop as dnf does:
// repomd.xml, then every metadata file it names, then every package the
// primary names, checking each checksum against the repomd.xml they got.
// No client ever meets a 404 or a wrong checksum. ACN_LOAD_PUBLICATIONS
// and ACN_LOAD_CLIENTS change the size (bench/load.sh runs it larger).
func TestLoadDuringPublication(t *testing.T) {
	pubs, clients := envInt("ACN_LOAD_PUBLICATIONS", 20), envInt("ACN_LOAD_CLIENTS", 64)
	r := gittest.New(t)
	tag := func(i int) {
		v := fmt.Sprintf("1.%d", i)
		r.Commit(v, helloSpec(v, "hello "+v+"\n"))
		r.Git("tag", "hello/v"+v)
	}
	tag(0)
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Repos: []server.RepoConfig{{Name: "acn", Keep: 2}}})
	d.wait("hello/v1.0")

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var (
		requests, loops atomic.Int64
		mu              sync.Mutex
		faults          []string
		latencies       []time.Duration
		stop            = make(chan struct{})
		wg              sync.WaitGroup
	)
	fault := func(format string, args ...any) {
		mu.Lock()
		if len(faults) < 20 {
			faults = append(faults, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	get := func(path string) ([]byte, bool) {
		t0 := time.Now()
		resp, err := client.Get(d.url + path)
		if err != nil {
			fault("GET %s: %v", path, err)
			return nil, false
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(t0)
		requests.Add(1)
		mu.Lock()
		latencies = append(latencies, took)
		mu.Unlock()
		if err != nil || resp.StatusCode != 200 {
			fault("GET %s: %d %v", path, resp.StatusCode, err)
			return nil, false
		}
		return b, true
	}
	pkgRE := regexp.MustCompile(`<checksum type="sha256" pkgid="YES">([0-9a-f]{64})</checksum>[\s\S]*?<location href="([^"]+)"/>`)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, ok := get("/repos/acn/repodata/repomd.xml")
				if !ok {
					continue
				}
				md, err := repo.ParseRepomd(bytes.NewReader(b))
				if err != nil {
					fault("repomd.xml: %v", err)
					continue
				}
				var primary []byte
				for _, data := range md.Data {
					b, ok := get("/repos/acn/" + data.Location.Href)
					if !ok {
						continue
					}
					if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != data.Checksum.Value {
						fault("%s: checksum differs from repomd.xml's", data.Location.Href)
					}
					if data.Type == "primary" {
						zr, err := gzip.NewReader(bytes.NewReader(b))
						if err == nil {
							primary, err = io.ReadAll(zr)
						}
						if err != nil {
							fault("%s: %v", data.Location.Href, err)
						}
					}
				}
				for _, m := range pkgRE.FindAllSubmatch(primary, -1) {
					b, ok := get("/repos/acn/" + string(m[2]))
					if !ok {
						continue
					}
					if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != string(m[1]) {
						fault("%s: checksum differs from primary's", m[2])
					}
				}
				loops.Add(1)
			}
		}()
	}
	// The other publications, one webhook each, while the clients run.
	for i := 1; i < pubs; i++ {
		tag(i)
		d.hook("")
	}
	eventually(t, "every publication done", func() bool {
		jobs := d.builds()
		for _, j := range jobs {
			if j.Status == server.Queued || j.Status == server.Building {
				return false
			}
		}
		return len(jobs) == pubs
	})
	close(stop)
	wg.Wait()
	for _, j := range d.builds() {
		if j.Status != server.Succeeded {
			t.Errorf("build %s: %s %s", j.Ref, j.Status, j.Error)
		}
	}
	for _, f := range faults {
		t.Error(f)
	}
	slices.Sort(latencies)
	p99 := time.Duration(0)
	if n := len(latencies); n > 0 {
		p99 = latencies[n*99/100]
	}
	t.Logf("%d publications, %d clients: %d requests, %d client loops, p99 %v, %d faults",
		pubs, clients, requests.Load(), loops.Load(), p99, len(faults))
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
