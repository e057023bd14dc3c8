package repo_test

import (
	"context"
	"os"
	"testing"

	"github.com/acn-project/acn/repo"
)

func TestProfIndex(t *testing.T) {
	dir := os.Getenv("ACN_PROF_DIR")
	if dir == "" {
		t.Skip()
	}
	update := os.Getenv("ACN_PROF_UPDATE") != ""
	if !update {
		os.RemoveAll(dir + "/repodata")
		os.RemoveAll(dir + "/.acn")
	}
	for range 20 {
		if _, err := repo.Index(context.Background(), dir, repo.Options{Workers: 2, Update: update, Revision: "1"}); err != nil {
			t.Fatal(err)
		}
		os.Remove(dir + "/repodata/repomd.xml")
	}
}
