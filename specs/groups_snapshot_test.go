package specs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/specs"
)

const snapGroups = "groups:\n  - id: a\n    name: A\n    packages: {mandatory: [p]}\n"

// TestSnapshotGroups: a snapshot's groups.yaml, read from the commit
// (never a checkout); none is no groups, and anything but a regular file
// of bounded size inside the repository is refused naming the file.
func TestSnapshotGroups(t *testing.T) {
	r := gittest.New(t)
	r.Commit("no groups", map[string]string{"specs/x.yaml": spec("x", "1")})
	big := "groups:\n" + strings.Repeat("# "+strings.Repeat("x", 98)+"\n", 500_000) // 50 MB
	steps := []struct {
		name  string
		files map[string]string
		rm    string
		want  string // substring of the error; "" for success
		none  bool   // no groups
	}{
		{name: "none", none: true},
		{name: "good", files: map[string]string{"groups.yaml": snapGroups}},
		{name: "broken", files: map[string]string{"groups.yaml": snapGroups + "    packges: []\n"}, want: `groups.yaml:5: groups[0].packges: unknown key`},
		{name: "link out", files: map[string]string{"groups.yaml": "->../../etc/passwd"}, want: "groups.yaml: path escapes its root: symbolic link groups.yaml -> ../../etc/passwd leaves the repository"},
		{name: "link inside", files: map[string]string{"groups.yaml": "->conf/groups.yaml", "conf/groups.yaml": snapGroups}},
		{name: "dangling link", files: map[string]string{"groups.yaml": "->conf/nothing.yaml"}, want: "groups.yaml: invalid value: a symbolic link to nothing"},
		{name: "directory", rm: "groups.yaml", files: map[string]string{"groups.yaml/x": "x"}, want: "groups.yaml: invalid value: not a regular file"},
		{name: "too large", rm: "groups.yaml", files: map[string]string{"groups.yaml": big}, want: "more than the 262144 a groups file may have"},
		{name: "removed", rm: "groups.yaml", none: true},
	}
	for _, st := range steps {
		if st.rm != "" {
			r.Git("rm", "-q", "-r", st.rm)
		}
		if st.files != nil || st.rm != "" {
			r.Commit(st.name, st.files)
		}
		repo, err := specs.Open(context.Background(), r.Dir, specs.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := repo.Resolve("HEAD")
		if err != nil {
			t.Fatal(err)
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		g, err := snap.Groups()
		runtime.ReadMemStats(&m1)
		switch {
		case st.want != "":
			var pe *specs.Error
			if err == nil || !strings.Contains(err.Error(), st.want) || !errors.As(err, &pe) || pe.File != "groups.yaml" {
				t.Errorf("%s: %v, %v; want an *Error: %s", st.name, g, err, st.want)
			}
		case err != nil:
			t.Errorf("%s: %v", st.name, err)
		case st.none != (g == nil):
			t.Errorf("%s: groups %+v", st.name, g)
		case g != nil && (len(g.Groups) != 1 || g.Groups[0].ID != "a"):
			t.Errorf("%s: groups %+v", st.name, g)
		}
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: reading the groups allocated %d MiB", st.name, alloc>>20)
		}
	}
}

// TestReadGroupsFile: a local groups file (acn index --groupfile) is read
// with the same bounds, and errors name it as given.
func TestReadGroupsFile(t *testing.T) {
	dir := t.TempDir()
	good, big := filepath.Join(dir, "groups.yaml"), filepath.Join(dir, "big.yml")
	os.WriteFile(good, []byte(snapGroups), 0o644)
	os.WriteFile(big, []byte(snapGroups+"#"+strings.Repeat("x", specs.MaxGroupsSize)), 0o644)
	if g, err := specs.ReadGroupsFile(good); err != nil || g.File != good || len(g.Groups) != 1 {
		t.Errorf("ReadGroupsFile(%s) = %+v, %v", good, g, err)
	}
	if _, err := specs.ReadGroupsFile(big); err == nil || !strings.HasPrefix(err.Error(), big+": ") || !strings.Contains(err.Error(), "a groups file may have") {
		t.Errorf("ReadGroupsFile(%s): %v", big, err)
	}
	if _, err := specs.ReadGroupsFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadGroupsFile(a directory): %v", err)
	}
	if _, err := specs.ReadGroupsFile(filepath.Join(dir, "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadGroupsFile(missing): %v", err)
	}
}
