package autodeps

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// systemELF lists up to n ELF objects from each of the host's dirs, in
// name order.
func systemELF(n int, dirs ...string) []string {
	var out []string
	for _, dir := range dirs {
		count := 0
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if !e.Type().IsRegular() {
				continue
			}
			head := make([]byte, 6)
			f, err := os.Open(p)
			if err != nil {
				continue
			}
			_, err = f.Read(head)
			f.Close()
			if err == nil && isELFMagic(head) {
				out = append(out, p)
				count++
			}
			if count >= n {
				break
			}
		}
	}
	return out
}

func elfdeps(t *testing.T, flag, path string) []string {
	cmd := exec.Command("/usr/lib/rpm/elfdeps", flag)
	cmd.Stdin = strings.NewReader(path + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("elfdeps %s %s: %v", flag, path, err)
	}
	return strings.Fields(string(bytes.TrimSpace(out)))
}

// TestELFAgainstElfdeps runs rpm's own elfdeps and autodeps on the host's
// programs and libraries: the same dependencies in the same order, and
// the same description as libmagic's.
func TestELFAgainstElfdeps(t *testing.T) {
	requireTools(t, "/usr/lib/rpm/elfdeps", "file")
	files := systemELF(60, "/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/i386-linux-gnu", "/usr/lib32", "/usr/local/go/bin", "/usr/local/go/pkg/tool/linux_amd64", "/root/go/bin")
	if len(files) < 20 {
		t.Fatalf("only %d ELF objects on this host", len(files))
	}
	args := append([]string{"-b", "-z"}, files...)
	out, err := exec.Command("file", args...).Output()
	must(t, err)
	descs := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, p := range files {
		f, err := os.Open(p)
		must(t, err)
		st, err := f.Stat()
		must(t, err)
		info, err := analyzeELF(f, st.Size(), st.Mode().Perm()&0o111 != 0, filepath.Base(p))
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		// elfdeps prints one dependency per line; none has blanks here.
		if want := elfdeps(t, "--requires", p); !slices.Equal(info.requires, want) && !(len(want) == 0 && len(info.requires) == 0) {
			t.Errorf("%s requires:\n got %q\n elfdeps %q", p, info.requires, want)
		}
		if want := elfdeps(t, "--provides", p); !slices.Equal(info.provides, want) && !(len(want) == 0 && len(info.provides) == 0) {
			t.Errorf("%s provides:\n got %q\n elfdeps %q", p, info.provides, want)
		}
		f, _ = os.Open(p)
		desc := elfMagic(f, st.Size(), st.Mode())
		f.Close()
		if got := magicType(p, st.Mode(), []byte("\x7fELF"), desc); got != descs[i] {
			t.Errorf("%s:\n got  %q\n file %q", p, got, descs[i])
		}
	}
}
