package repo_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/internal/tooltest"
	"github.com/acn-project/acn/repo"
)

func testKey(t *testing.T, name string) *sign.Key {
	t.Helper()
	k, err := sign.Generate(sign.GenerateOptions{UserID: name + " <" + name + "@example.com>", Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// gpgVerifies runs the real gpg --verify on dir's repomd.xml.asc with a
// home that knows only k, and reports whether k's signature is good.
func gpgVerifies(t *testing.T, dir string, k *sign.Key) bool {
	t.Helper()
	home := t.TempDir()
	pub := filepath.Join(home, "pub.asc")
	os.WriteFile(pub, k.PublicKey(), 0o644)
	if out, err := exec.Command("gpg", "--homedir", home, "--batch", "--import", pub).CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	rd := filepath.Join(dir, "repodata")
	out, _ := exec.Command("gpg", "--homedir", home, "--batch", "--status-fd", "1", "--verify",
		filepath.Join(rd, "repomd.xml.asc"), filepath.Join(rd, "repomd.xml")).Output()
	return strings.Contains(string(out), "GOODSIG "+k.ID()) && !strings.Contains(string(out), "BADSIG")
}

// TestIndexSigns: SignKeys write repomd.xml.asc, which gpg verifies, and
// the generation's own copy; a key added to unchanged metadata re-signs
// it (a rotation needs no new publication); no keys remove the stale
// signature; retention removes the signatures of dropped generations.
func TestIndexSigns(t *testing.T) {
	dir := t.TempDir()
	copyInto := func(name, version string) {
		p := tooltest.FilePackage(t, name, version, "/usr/share/"+name, name+version)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
	}
	copyInto("a", "1.0")
	oldKey, newKey := testKey(t, "old"), testKey(t, "new")
	o := repo.Options{SignKeys: []*sign.Key{oldKey}, RetainOldMD: new(1), RetainOldMDByAge: new(time.Nanosecond)}
	if _, err := repo.Index(context.Background(), dir, o); err != nil {
		t.Fatal(err)
	}
	rd := filepath.Join(dir, "repodata")
	if !gpgVerifies(t, dir, oldKey) {
		t.Fatal("gpg does not verify repomd.xml.asc")
	}
	md, _ := os.ReadFile(filepath.Join(rd, "repomd.xml"))
	first := repo.GenerationSignature(md)
	if _, err := os.Stat(filepath.Join(rd, first)); err != nil {
		t.Fatalf("generation signature: %v", err)
	}

	// Rotation: the same metadata, two keys.
	o.SignKeys = []*sign.Key{oldKey, newKey}
	res, err := repo.Index(context.Background(), dir, o)
	if err != nil || res.Changed {
		t.Fatalf("unchanged metadata: changed %v, %v", res != nil && res.Changed, err)
	}
	if !gpgVerifies(t, dir, oldKey) || !gpgVerifies(t, dir, newKey) {
		t.Error("after adding a key, a node knowing only one of them does not verify")
	}

	// New generations: the old generation's signatures go with it.
	for _, v := range []string{"2.0", "3.0"} {
		copyInto("a", v)
		if _, err := repo.Index(context.Background(), dir, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(rd, first)); !os.IsNotExist(err) {
		t.Errorf("signature of a dropped generation: %v", err)
	}
	sigs, _ := filepath.Glob(filepath.Join(rd, "*-repomd.xml.asc"))
	if len(sigs) != 2 {
		t.Errorf("generation signatures kept: %v, want the current and one retained", sigs)
	}

	// An expired key publishes nothing.
	expired, err := sign.Generate(sign.GenerateOptions{UserID: "x <x@example.com>", Bits: 2048, Now: time.Now().Add(-48 * time.Hour), Expire: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	copyInto("a", "4.0")
	before, _ := os.ReadFile(filepath.Join(rd, "repomd.xml"))
	o.SignKeys = []*sign.Key{expired}
	if _, err := repo.Index(context.Background(), dir, o); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired key: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(rd, "repomd.xml")); string(after) != string(before) {
		t.Error("an expired key published metadata")
	}

	// Unsigned: no stale signature.
	o.SignKeys = nil
	if _, err := repo.Index(context.Background(), dir, o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rd, "repomd.xml.asc")); !os.IsNotExist(err) {
		t.Errorf("repomd.xml.asc of unsigned metadata: %v", err)
	}
}
