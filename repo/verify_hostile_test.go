package repo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acn-project/acn/repo"
)

// endlessPrimary serves a repository whose repomd.xml gives primary no
// size and whose primary repeats chunk until stop bytes went out (the
// test's own end: past it, the bound under test is missing). It returns
// the server's URL and how many bytes of primary it served.
func endlessPrimary(t *testing.T, chunk []byte, stop int64) (string, *atomic.Int64) {
	const repomd = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>
<data type="primary"><checksum type="sha256">00</checksum><location href="repodata/primary.xml"/></data>
</repomd>
`
	served := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/repodata/repomd.xml":
			w.Write([]byte(repomd))
		case "/repodata/primary.xml":
			w.Write([]byte(`<metadata xmlns="http://linux.duke.edu/metadata/common">`))
			for served.Load() < stop {
				n, err := w.Write(chunk)
				if err != nil {
					return
				}
				served.Add(int64(n))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, served
}

// TestVerifyEndlessPrimary: a remote repository whose repomd.xml gives
// primary no size and whose primary lists packages without end is
// refused after a bounded number of them, not read until memory runs out.
func TestVerifyEndlessPrimary(t *testing.T) {
	const stop = 128 << 20
	url, served := endlessPrimary(t, []byte(strings.Repeat(`<package/>`, 1000)), stop)
	_, err := repo.Verify(context.Background(), url, nil)
	if err == nil || !errors.Is(err, repo.ErrVerify) || !strings.Contains(err.Error(), "packages") {
		t.Errorf("verify: %v", err)
	}
	if served.Load() >= stop {
		t.Errorf("verify read all %d bytes of an endless primary", served.Load())
	}
}

// TestVerifyEndlessUnsized: a metadata file with no recorded size that
// never ends (here: one without packages, which no package bound stops)
// is cut at the bound and reported.
func TestVerifyEndlessUnsized(t *testing.T) {
	defer repo.SetMaxUnsized(1 << 20)()
	const stop = 64 << 20
	url, served := endlessPrimary(t, []byte("<!--"+strings.Repeat("x", 4000)+"-->"), stop)
	_, err := repo.Verify(context.Background(), url, nil)
	if err == nil || !strings.Contains(err.Error(), "no size in repomd.xml") {
		t.Errorf("verify: %v", err)
	}
	if served.Load() >= stop {
		t.Errorf("verify read all %d bytes of an endless primary", served.Load())
	}
}
