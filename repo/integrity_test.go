package repo_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

// TestPayloadIntegrity damages rpmbuild-built packages after their header
// (cut, one payload byte changed, one header byte changed) and checks that
// acn agrees with rpm -K on each: the damaged ones are left out of the
// index, and acn verify reports them in metadata that createrepo_c (which
// does not check) wrote.
func TestPayloadIntegrity(t *testing.T) {
	src, _ := filepath.Glob(filepath.Join(corpus(t), "alpha-*.rpm"))
	good, err := os.ReadFile(src[0])
	if err != nil {
		t.Fatal(err)
	}
	// Where the payload starts: the header checks already say it is whole.
	p, err := repo.Open(src[0])
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int64) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x55
		return b
	}
	cases := []struct {
		name string
		data []byte
		bad  bool
	}{
		{"good", good, false},
		{"cut-payload", good[:len(good)-200], true},
		{"cut-at-header-end", good[:p.HeaderEnd], true},
		{"flipped-payload", flip((p.HeaderEnd + int64(len(good))) / 2), true},
		{"flipped-last-byte", flip(int64(len(good)) - 1), true},
		{"extended", append(append([]byte(nil), good...), 0), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "pkg.rpm")
			os.WriteFile(name, c.data, 0o644)
			out, kerr := exec.Command("rpm", "-K", "--nosignature", name).CombinedOutput()
			rpmBad := kerr != nil || strings.Contains(string(out), "NOT OK")
			if rpmBad != c.bad {
				t.Fatalf("rpm -K says bad=%v, the test expects %v:\n%s", rpmBad, c.bad, out)
			}
			res, err := repo.Index(context.Background(), dir, repo.Options{})
			if c.bad {
				if !errors.Is(err, repo.ErrCorrupt) || res == nil || res.Packages != 0 {
					t.Errorf("damaged package indexed: %v %+v", err, res)
				}
			} else if err != nil || res.Packages != 1 {
				t.Errorf("good package: %v %+v", err, res)
			}

			// Metadata from a tool that does not check: acn verify does.
			crc := t.TempDir()
			tooltest.Run(t, "cp", name, crc)
			tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", crc)
			_, err = repo.Verify(context.Background(), crc, nil)
			if c.bad && (!errors.Is(err, repo.ErrVerify) || !strings.Contains(err.Error(), "pkg.rpm")) {
				t.Errorf("verify passed a damaged package: %v", err)
			}
			if !c.bad && err != nil {
				t.Errorf("verify of a good package: %v", err)
			}
		})
	}
}
