package repo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

func TestVerify(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	ctx := context.Background()
	res, err := repo.Verify(ctx, dir, nil)
	if err != nil || res.Packages != 5 || res.Files != 3 {
		t.Fatalf("clean repository: %+v %v", res, err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	if _, err := repo.Verify(ctx, srv.URL, nil); err != nil {
		t.Fatalf("over HTTP: %v", err)
	}

	// createrepo_c's output verifies too.
	crc := repoDir(t)
	tooltest.Run(t, "createrepo_c", "--quiet", crc)
	if _, err := repo.Verify(ctx, crc, nil); err != nil {
		t.Errorf("createrepo_c repository: %v", err)
	}

	// A package changed after indexing.
	gamma := filepath.Join(dir, "gamma-1.0-1.noarch.rpm")
	data, _ := os.ReadFile(gamma)
	data[len(data)-1] ^= 1
	os.WriteFile(gamma, data, 0o644)
	// A metadata file damaged.
	md := readMD(t, dir)
	other := filepath.Join(dir, md.Find("other").Location.Href)
	os.WriteFile(other, []byte("garbage"), 0o644)
	// A package missing.
	os.Remove(filepath.Join(dir, "beta-2.0-1.x86_64.rpm"))

	_, err = repo.Verify(ctx, dir, nil)
	if !errors.Is(err, repo.ErrVerify) {
		t.Fatalf("damaged repository: %v", err)
	}
	for _, want := range []string{"gamma-1.0-1.noarch.rpm: checksum", "other (repodata/", "beta-2.0-1.x86_64.rpm"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := repo.Verify(ctx, t.TempDir(), nil); err == nil {
		t.Error("an empty directory verified")
	}
}
