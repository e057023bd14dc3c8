package repo_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

func index(t *testing.T, dir string, o repo.Options) *repo.Result {
	t.Helper()
	res, err := repo.Index(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readMD(t *testing.T, dir string) *repo.Repomd {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md, err := repo.ParseRepomd(f)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// TestMatchesCreaterepo indexes an rpmbuild-built corpus with acn and with
// the real createrepo_c and compares every element and attribute of
// primary, filelists and other, and the repomd records.
func TestMatchesCreaterepo(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", "--general-compress-type=gz", "-o", crc, dir)
	ours, theirs := readMD(t, dir), readMD(t, crc)
	if len(ours.Data) != len(theirs.Data) {
		t.Fatalf("repomd records: acn %d, createrepo_c %d", len(ours.Data), len(theirs.Data))
	}
	for _, d := range theirs.Data {
		o := ours.Find(d.Type)
		if o == nil {
			t.Errorf("acn has no %s record", d.Type)
			continue
		}
		a := gunzip(t, filepath.Join(dir, o.Location.Href))
		b := gunzip(t, filepath.Join(crc, d.Location.Href))
		var diffs []string
		diffXML("", parseXML(t, bytes.NewReader(a)), parseXML(t, bytes.NewReader(b)), &diffs)
		for _, s := range diffs {
			t.Errorf("%s: %s", d.Type, s)
		}
		if len(diffs) == 0 && !bytes.Equal(a, b) {
			t.Errorf("%s: same fields but different bytes", d.Type)
		}
		if o.OpenChecksum != d.OpenChecksum || o.OpenSize != d.OpenSize {
			t.Errorf("%s: open-checksum/size %v %d, createrepo_c %v %d", d.Type, o.OpenChecksum, o.OpenSize, d.OpenChecksum, d.OpenSize)
		}
		if o.Checksum.Type != "sha256" || !strings.HasPrefix(o.Location.Href, "repodata/"+o.Checksum.Value+"-"+d.Type+".xml.gz") {
			t.Errorf("%s: record %+v", d.Type, o)
		}
	}
	tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", "--general-compress-type=gz", "--changelog-limit", "3",
		"--baseurl", "https://mirror.example.invalid/acn/", "-o", crc, dir)
	index(t, dir, repo.Options{ChangelogLimit: 3, BaseURL: "https://mirror.example.invalid/acn/"})
	for _, kind := range []string{"primary", "other"} {
		a := gunzip(t, filepath.Join(dir, readMD(t, dir).Find(kind).Location.Href))
		b := gunzip(t, filepath.Join(crc, readMD(t, crc).Find(kind).Location.Href))
		if !bytes.Equal(a, b) {
			t.Errorf("%s.xml with --changelog-limit 3 --baseurl differs:\n%s\n---\n%s", kind, a, b)
		}
	}
}

func dnf(t *testing.T, root string, args ...string) string {
	t.Helper()
	base := []string{"-y", "-q", "--releasever=9", "--setopt=reposdir=" + filepath.Join(root, "repos.d"),
		"--setopt=cachedir=" + filepath.Join(root, "cache"), "--installroot=" + filepath.Join(root, "root"),
		"--setopt=install_weak_deps=False", "--setopt=tsflags=noscripts", "--setopt=metadata_expire=0"}
	return tooltest.Run(t, "dnf", append(base, args...)...)
}

func dnfRoot(t *testing.T, baseurl string) string {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
	os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte("[acn]\nname=acn\nbaseurl="+baseurl+"\ngpgcheck=0\n"), 0o644)
	return root
}

// TestDnfInstalls installs every corpus package with the real dnf, from
// file:// and over HTTP.
func TestDnfInstalls(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	for _, url := range []string{"file://" + dir, srv.URL} {
		t.Run(strings.SplitN(url, ":", 2)[0], func(t *testing.T) {
			root := dnfRoot(t, url)
			dnf(t, root, "install", "alpha", "beta", "gamma", "delta")
			got := tooltest.Run(t, "rpm", "--root", filepath.Join(root, "root"), "-qa", "--qf", "%{NEVRA}\n")
			for _, want := range []string{"alpha-2:1.2.3-4.el9.noarch", "beta-2.0-1.x86_64", "gamma-1.0-1.noarch", "delta-0:3.1~rc1-0.1.noarch", "fakebase-1-1.noarch"} {
				if !strings.Contains(got, want) {
					t.Errorf("%s not installed:\n%s", want, got)
				}
			}
		})
	}
}

// TestRepoqueryMatches asks dnf the same questions of acn's and
// createrepo_c's metadata for the same packages.
func TestRepoqueryMatches(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	crc := t.TempDir()
	tooltest.Run(t, "createrepo_c", "--quiet", "--no-database", "-o", crc, dir)
	// createrepo_c's -o writes metadata elsewhere; give it the packages.
	rpms, _ := filepath.Glob(filepath.Join(dir, "*.rpm"))
	for _, r := range rpms {
		os.Link(r, filepath.Join(crc, filepath.Base(r)))
	}
	query := func(repoDir string, args ...string) string {
		root := t.TempDir()
		base := []string{"-q", "--releasever=9", "--setopt=reposdir=" + root, "--setopt=cachedir=" + filepath.Join(root, "cache"),
			"--installroot=" + filepath.Join(root, "root"), "repoquery", "--repofrompath=r,file://" + repoDir, "--repo=r"}
		return tooltest.Run(t, "dnf", append(base, args...)...)
	}
	for _, q := range [][]string{
		{"--qf", "%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{summary}|%{url}|%{license}|%{packager}|%{vendor}|%{buildtime}|%{size}|%{installsize}|%{sourcerpm}|%{location}\n"},
		{"--requires", "--resolve"},
		{"--requires"}, {"--provides"}, {"--conflicts"}, {"--obsoletes"},
		{"--recommends"}, {"--suggests"}, {"--supplements"}, {"--enhances"},
		{"-l"}, {"--changelog"},
		{"--whatprovides", "/usr/bin/alpha-helper"}, {"--whatrequires", "coreutils"},
	} {
		a, b := query(dir, q...), query(crc, q...)
		if a != b {
			t.Errorf("dnf repoquery %v differs\nacn:\n%s\ncreaterepo_c:\n%s", q, a, b)
		}
		if strings.TrimSpace(a) == "" && q[0] != "--obsoletes" && q[0] != "--conflicts" && q[0] != "--requires" {
			t.Errorf("dnf repoquery %v answered nothing", q)
		}
	}
}

func TestUnchangedKeepsRepomdAndUpdateReuses(t *testing.T) {
	dir := repoDir(t)
	first := index(t, dir, repo.Options{})
	if !first.Changed || first.Read != first.Packages || first.Packages != 5 {
		t.Fatalf("first run: %+v", first)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	second := index(t, dir, repo.Options{Update: true, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	after, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if second.Changed || !bytes.Equal(before, after) {
		t.Errorf("nothing changed, but repomd.xml was rewritten: %+v", second)
	}
	if second.Reused != 5 || second.Read != 0 {
		t.Errorf("update read %d and reused %d, want 0 and 5", second.Read, second.Reused)
	}

	// A package replaced in place, same size and mtime: inode and ctime
	// give it away, and its new checksum is published.
	alpha, _ := filepath.Glob(filepath.Join(dir, "alpha-*.rpm"))
	st, _ := os.Stat(alpha[0])
	data, _ := os.ReadFile(alpha[0])
	data[74] ^= 0xff // in the lead's name field, past its NUL: no digest covers it, the checksum changes
	os.Remove(alpha[0])
	os.WriteFile(alpha[0], data, 0o644)
	os.Chtimes(alpha[0], st.ModTime(), st.ModTime())
	third := index(t, dir, repo.Options{Update: true})
	if third.Read != 1 || third.Reused != 4 || !third.Changed {
		t.Errorf("after in-place replacement: %+v", third)
	}
	if third.Revision <= first.Revision {
		t.Errorf("revision went from %s to %s", first.Revision, third.Revision)
	}
	// A clock that went backwards never lowers the revision.
	os.Remove(filepath.Join(dir, "gamma-1.0-1.noarch.rpm"))
	fourth := index(t, dir, repo.Options{Update: true, Now: func() time.Time { return time.Unix(1000, 0) }})
	if fourth.Revision <= third.Revision || fourth.Packages != 4 {
		t.Errorf("backwards clock: revision %s after %s", fourth.Revision, third.Revision)
	}
	for _, d := range readMD(t, dir).Data {
		if d.Timestamp < first.Repomd.Data[0].Timestamp {
			t.Errorf("timestamp of %s went backwards", d.Type)
		}
	}
}

func TestCorruptFilesAreLeftOut(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	good, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	alpha, _ := filepath.Glob(filepath.Join(dir, "alpha-*.rpm"))
	data, _ := os.ReadFile(alpha[0])
	os.WriteFile(filepath.Join(dir, "truncated.rpm"), data[:3000], 0o644)
	os.WriteFile(filepath.Join(dir, "garbage.rpm"), []byte("this is not an rpm at all, just text"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.rpm"), nil, 0o644)

	_, err := repo.Index(context.Background(), dir, repo.Options{Strict: true})
	if !errors.Is(err, repo.ErrSkipped) || !strings.Contains(err.Error(), "nothing published") {
		t.Errorf("strict: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(now, good) {
		t.Error("--strict with a corrupt file changed the published repository")
	}

	res, err := repo.Index(context.Background(), dir, repo.Options{})
	if !errors.Is(err, repo.ErrSkipped) || !errors.Is(err, repo.ErrCorrupt) {
		t.Fatalf("default: %v", err)
	}
	for _, name := range []string{"truncated.rpm", "garbage.rpm", "empty.rpm"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if res.Packages != 5 || len(res.Skipped) != 3 {
		t.Errorf("published %d packages, skipped %d", res.Packages, len(res.Skipped))
	}
	if out, err := exec.Command("dnf", "-q", "--releasever=9", "--setopt=reposdir=/nonexistent", "--setopt=cachedir="+t.TempDir(),
		"--installroot="+t.TempDir(), "repoquery", "--repofrompath=r,file://"+dir, "--repo=r", "--qf", "%{name}\n").CombinedOutput(); err != nil || len(strings.Fields(string(out))) != 5 {
		t.Errorf("dnf on the repository: %v\n%s", err, out)
	}
}

func TestDuplicateNEVRA(t *testing.T) {
	dir := repoDir(t)
	index(t, dir, repo.Options{})
	good, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	tooltest.Run(t, "cp", "-p", filepath.Join(dir, "gamma-1.0-1.noarch.rpm"), filepath.Join(dir, "sub", "copy.rpm"))
	_, err := repo.Index(context.Background(), dir, repo.Options{})
	if !errors.Is(err, repo.ErrDuplicate) || !strings.Contains(err.Error(), "sub/copy.rpm and gamma-1.0-1.noarch.rpm are both gamma-1.0-1.noarch") {
		t.Errorf("duplicate: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml")); !bytes.Equal(now, good) {
		t.Error("a duplicate NEVRA changed the published repository")
	}
}

func TestRetention(t *testing.T) {
	dir := repoDir(t)
	clock := time.Unix(2_000_000_000, 0)
	now := func() time.Time { return clock }
	rpms, _ := filepath.Glob(filepath.Join(dir, "*", "*.rpm"))
	top, _ := filepath.Glob(filepath.Join(dir, "*.rpm"))
	rpms = append(rpms, top...)
	var gens [][]string
	for i := range 5 {
		// Each generation drops one more package, so its metadata differs.
		if i > 0 {
			os.Remove(rpms[i-1])
		}
		res := index(t, dir, repo.Options{Update: true, Now: now})
		var files []string
		for _, d := range res.Repomd.Data {
			files = append(files, d.Location.Href)
		}
		gens = append(gens, files)
		clock = clock.Add(2 * time.Hour)
	}
	exists := func(f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }
	// Default: the current generation, the last 2 superseded, nothing older.
	for g, files := range gens {
		for _, f := range files {
			if want := g >= 2; exists(f) != want {
				t.Errorf("generation %d file %s: exists %v, want %v", g, f, exists(f), want)
			}
		}
	}
	// Anything superseded less than an hour ago stays, whatever the count.
	os.Remove(rpms[4])
	index(t, dir, repo.Options{Update: true, Now: now, RetainOldMD: new(0)})
	for _, f := range gens[4] {
		if !exists(f) {
			t.Errorf("%s was superseded a moment ago but is gone", f)
		}
	}
}

func TestLock(t *testing.T) {
	dir := repoDir(t)
	os.MkdirAll(filepath.Join(dir, ".acn"), 0o755)
	f, err := os.OpenFile(filepath.Join(dir, ".acn", "index.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = repo.Index(context.Background(), dir, repo.Options{LockWait: 200 * time.Millisecond})
	if !errors.Is(err, repo.ErrLocked) {
		t.Errorf("second run while locked: %v", err)
	}
	f.Close() // as a crash would: the kernel drops the lock
	index(t, dir, repo.Options{LockWait: time.Second})
}

// TestOptionsMatchCreaterepo compares repomd tags, checksum types and
// compressions with createrepo_c, and has dnf read each compression.
func TestOptionsMatchCreaterepo(t *testing.T) {
	for _, tt := range []struct {
		name string
		acn  repo.Options
		crc  []string
	}{
		{"sha512", repo.Options{Checksum: "sha512"}, []string{"--checksum", "sha512"}},
		{"sha1", repo.Options{Checksum: "sha1"}, []string{"--checksum", "sha1"}},
		{"xz", repo.Options{Compress: "xz"}, []string{"--general-compress-type=xz"}},
		// createrepo_c 0.17 has no zstd: compare the content with its gzip.
		{"zstd", repo.Options{Compress: "zstd"}, nil},
		{"tags", repo.Options{Content: []string{"binary-x86_64"}, Distro: []repo.DistroTag{{CPEID: "cpe:/o:acn:el:9", Value: "ACN 9"}, {Value: "plain"}}},
			[]string{"--content", "binary-x86_64", "--distro", "cpe:/o:acn:el:9,ACN 9", "--distro", "plain"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := repoDir(t)
			index(t, dir, tt.acn)
			crc := t.TempDir()
			args := append([]string{"--quiet", "--no-database", "-o", crc}, tt.crc...)
			tooltest.Run(t, "createrepo_c", append(args, dir)...)
			ours, theirs := readMD(t, dir), readMD(t, crc)
			if (ours.Tags == nil) != (theirs.Tags == nil) || ours.Tags != nil && fmt.Sprint(*ours.Tags) != fmt.Sprint(*theirs.Tags) {
				t.Errorf("tags: acn %+v, createrepo_c %+v", ours.Tags, theirs.Tags)
			}
			for _, d := range theirs.Data {
				o := ours.Find(d.Type)
				if o == nil {
					t.Fatalf("no %s", d.Type)
				}
				sameExt := tt.crc != nil
				if o.OpenChecksum != d.OpenChecksum || o.Checksum.Type != d.Checksum.Type || sameExt && filepath.Ext(o.Location.Href) != filepath.Ext(d.Location.Href) {
					t.Errorf("%s: acn %+v\ncreaterepo_c %+v", d.Type, o, d)
				}
			}
			if _, err := repo.Verify(context.Background(), dir, nil); err != nil {
				t.Error(err)
			}
			root := dnfRoot(t, "file://"+dir)
			if out := dnf(t, root, "repoquery", "--qf", "%{name}"); len(strings.Fields(out)) != 5 {
				t.Errorf("dnf repoquery:\n%s", out)
			}
		})
	}
}
