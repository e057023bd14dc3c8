package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/internal/sign"
	"github.com/acn-project/acn/server"
)

// signingKey makes a key (RSA 2048: the tests' time goes to the tools, not
// to key generation), writes its private key to DIR/<name>.key (0600,
// protected by a passphrase in DIR/<name>.pass) and returns it with its
// config entry.
func signingKey(t *testing.T, dir, name string, opts sign.GenerateOptions) (*sign.Key, server.SigningKey) {
	t.Helper()
	opts.UserID = name + " <" + name + "@example.com>"
	opts.Bits = 2048
	k, err := sign.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	pass := []byte("pass-" + name)
	priv, err := k.PrivateKey(pass)
	if err != nil {
		t.Fatal(err)
	}
	kc := server.SigningKey{Key: filepath.Join(dir, name+".key"), PassphraseFile: filepath.Join(dir, name+".pass")}
	if err := os.WriteFile(kc.Key, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kc.PassphraseFile, append(pass, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return k, kc
}

// gpgVerify runs gpg --verify sig data in a fresh home that knows only
// the public keys pub, and returns gpg's status lines.
func gpgVerify(t *testing.T, pub, sig, data []byte) (string, error) {
	t.Helper()
	home, dir := t.TempDir(), t.TempDir()
	for name, b := range map[string][]byte{"pub.asc": pub, "repomd.xml.asc": sig, "repomd.xml": data} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("gpg", "--homedir", home, "--batch", "--import", filepath.Join(dir, "pub.asc")).CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	var status bytes.Buffer
	cmd := exec.Command("gpg", "--homedir", home, "--batch", "--status-fd", "1", "--verify", filepath.Join(dir, "repomd.xml.asc"), filepath.Join(dir, "repomd.xml"))
	cmd.Stdout = &status
	err := cmd.Run()
	return status.String(), err
}

// fetch GETs url with client and returns the body; any other status
// than 200 is an error.
func fetch(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// TestSignedPublication: with a signing key configured, the daemon
// publishes a signed package and a signed repomd.xml; the .repo file asks
// for gpgcheck=1 and repo_gpgcheck=1 with the key URL it serves; dnf
// installs over HTTP with both checks; rpm -K and gpg --verify pass with
// the served key; the same commit built again is the same bytes; the key
// expiring within 30 days shows in /healthz, /metrics and the web index;
// the private key is served nowhere.
func TestSignedPublication(t *testing.T) {
	keyDir := t.TempDir()
	k, kc := signingKey(t, keyDir, "packages", sign.GenerateOptions{Expire: 20 * 24 * time.Hour})
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello 1.0\n"))
	r.Git("tag", "hello/v1.0")
	cfg := server.Config{Git: server.GitConfig{URL: r.Dir}, Signing: server.SigningConfig{Keys: []server.SigningKey{kc}}}
	d := start(t, cfg)
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}

	code, repoFile := d.get("/repos/acn.repo")
	keyURL := d.url + "/keys/RPM-GPG-KEY-acn"
	for _, want := range []string{"\ngpgcheck=1\n", "\nrepo_gpgcheck=1\n", "\ngpgkey=" + keyURL + "\n"} {
		if code != 200 || !strings.Contains(repoFile, want) {
			t.Errorf(".repo file (%d) lacks %q:\n%s", code, want, repoFile)
		}
	}
	code, pub := d.get("/keys/RPM-GPG-KEY-acn")
	if code != 200 || !strings.Contains(pub, "BEGIN PGP PUBLIC KEY BLOCK") || strings.Contains(pub, "PRIVATE") {
		t.Fatalf("/keys/RPM-GPG-KEY-acn (%d):\n%s", code, pub)
	}
	if keys, err := sign.ParsePublic([]byte(pub)); err != nil || len(keys) != 1 || keys[0].ID() != k.ID() {
		t.Fatalf("served public key: %v %v", keys, err)
	}

	// The private key and its passphrase are served under no name.
	for _, p := range []string{"/keys/packages.key", "/keys/" + kc.Key, "/keys/RPM-GPG-KEY-nosuch", "/keys/..%2fpackages.key",
		"/repos/acn/" + kc.Key, "/repos/acn/../../" + filepath.Base(kc.Key), "/keys/RPM-GPG-KEY-acn/../packages.key"} {
		code, body := d.get(p)
		if code == 200 || strings.Contains(body, "PRIVATE") || strings.Contains(body, "pass-packages") {
			t.Errorf("GET %s: %d:\n%s", p, code, body)
		}
	}

	// gpg --verify repomd.xml.asc repomd.xml with the exported key.
	_, repomd := d.get("/repos/acn/repodata/repomd.xml")
	_, asc := d.get("/repos/acn/repodata/repomd.xml.asc")
	if status, err := gpgVerify(t, []byte(pub), []byte(asc), []byte(repomd)); err != nil || !strings.Contains(status, "GOODSIG "+k.ID()) {
		t.Errorf("gpg --verify repomd.xml.asc: %v\n%s", err, status)
	}

	// rpm -K with the served key.
	rpms := published(t, d.data, "acn")
	if len(rpms) != 1 {
		t.Fatalf("published: %v", rpms)
	}
	db := t.TempDir()
	os.WriteFile(filepath.Join(db, "key.asc"), []byte(pub), 0o644)
	if out, err := exec.Command("rpm", "--dbpath", db, "--import", filepath.Join(db, "key.asc")).CombinedOutput(); err != nil {
		t.Fatalf("rpm --import: %v\n%s", err, out)
	}
	if out, err := exec.Command("rpm", "--dbpath", db, "-K", rpms[0]).CombinedOutput(); err != nil || !strings.Contains(string(out), "digests signatures OK") {
		t.Errorf("rpm -K: %v\n%s", err, out)
	}
	if sig, _, err := sign.HeaderSignature(rpms[0]); err != nil || sig == nil {
		t.Errorf("no header signature: %v", err)
	}

	// dnf, with the .repo file as served: gpgcheck=1, repo_gpgcheck=1,
	// the key from the gpgkey URL.
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "repos.d"), 0o755)
	os.WriteFile(filepath.Join(root, "repos.d", "acn.repo"), []byte(repoFile), 0o644)
	dnf(t, root, "install", "hello")
	if b, _ := os.ReadFile(filepath.Join(root, "root", "usr/share/hello/hello.txt")); string(b) != "hello 1.0\n" {
		t.Fatalf("installed file: %q", b)
	}

	// Expiry within 30 days: /healthz, /metrics, the web index.
	h := d.health()
	if h["status"] != "degraded" || !strings.Contains(fmt.Sprint(h["problems"]), "signing key "+k.ID()+" expires on") {
		t.Errorf("/healthz with a key expiring in 20 days: %v", h)
	}
	_, metrics := d.get("/metrics")
	if want := fmt.Sprintf("acn_signing_key_expiry_timestamp_seconds{key=%q} %d\n", k.ID(), k.Expires().Unix()); !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if _, home := d.get("/"); !strings.Contains(home, k.ID()) || !strings.Contains(home, k.Expires().UTC().Format("2006-01-02")) {
		t.Errorf("web index does not show key %s and its expiry", k.ID())
	}
	if _, page := d.get("/r/acn/p/hello"); !strings.Contains(page, k.ID()) {
		t.Errorf("package page does not show its signing key %s", k.ID())
	}

	// The same commit, built by another daemon with the same key, is the
	// same bytes: the signature's time is the commit's.
	d2 := start(t, cfg)
	if j := d2.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("second build: %+v", j)
	}
	rpms2 := published(t, d2.data, "acn")
	a, _ := os.ReadFile(rpms[0])
	b, _ := os.ReadFile(rpms2[0])
	if len(rpms2) != 1 || !bytes.Equal(a, b) {
		t.Errorf("the same commit signed twice differs: %v %v", rpms, rpms2)
	}
}

// published lists the RPM files of a daemon's repository.
func published(t *testing.T, data, name string) []string {
	t.Helper()
	// The release package (see release_test.go) is not a build's.
	isRelease := func(p string) bool { return strings.HasPrefix(filepath.Base(p), name+"-release-") }
	rpms, _ := filepath.Glob(filepath.Join(data, "repos", name, "*.rpm"))
	rpms = slices.DeleteFunc(rpms, isRelease)
	if len(rpms) == 0 {
		rpms, _ = filepath.Glob(filepath.Join(data, "repos", name, "*", "*.rpm"))
		rpms = slices.DeleteFunc(rpms, isRelease)
	}
	return rpms
}

// TestSigningKeyRotation: with an old and a new key configured,
// repomd.xml.asc carries a signature by each, and a node that knows only
// the old key or only the new key verifies it; the package is signed by
// the first key; the served key file holds both.
func TestSigningKeyRotation(t *testing.T) {
	keyDir := t.TempDir()
	oldKey, oldKC := signingKey(t, keyDir, "old", sign.GenerateOptions{})
	newKey, newKC := signingKey(t, keyDir, "new", sign.GenerateOptions{})
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello 1.0\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Signing: server.SigningConfig{Keys: []server.SigningKey{oldKC, newKC}}})
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}
	_, pub := d.get("/keys/RPM-GPG-KEY-acn")
	if keys, err := sign.ParsePublic([]byte(pub)); err != nil || len(keys) != 2 {
		t.Fatalf("served keys: %d, %v", len(keys), err)
	}
	_, repomd := d.get("/repos/acn/repodata/repomd.xml")
	_, asc := d.get("/repos/acn/repodata/repomd.xml.asc")
	if sigs, err := sign.ParseSignatures([]byte(asc)); err != nil || len(sigs) != 2 {
		t.Fatalf("repomd.xml.asc: %d signatures, %v", len(sigs), err)
	}
	for _, k := range []*sign.Key{oldKey, newKey} {
		status, _ := gpgVerify(t, k.PublicKey(), []byte(asc), []byte(repomd))
		if !strings.Contains(status, "GOODSIG "+k.ID()) || strings.Contains(status, "BADSIG") {
			t.Errorf("a node knowing only key %s:\n%s", k.ID(), status)
		}
	}
	rpms := published(t, d.data, "acn")
	sig, _, err := sign.HeaderSignature(rpms[0])
	if err != nil {
		t.Fatal(err)
	}
	if s, err := sign.ParseSignature(sig); err != nil || fmt.Sprintf("%016X", s.IssuerKeyID) != oldKey.ID() {
		t.Errorf("package signed by %v (%v), want the first key %s", s, err, oldKey.ID())
	}
}

// TestExpiredSigningKey: an expired key fails the job with a clear error
// and publishes nothing, not even the release package; /healthz says so.
func TestExpiredSigningKey(t *testing.T) {
	keyDir := t.TempDir()
	past := time.Now().Add(-48 * time.Hour)
	k, kc := signingKey(t, keyDir, "expired", sign.GenerateOptions{Now: past, Expire: 24 * time.Hour})
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello 1.0\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Signing: server.SigningConfig{Keys: []server.SigningKey{kc}}})
	j := d.wait("hello/v1.0")
	if j.Status != server.Failed || !strings.Contains(j.Error, "signing key "+k.ID()+" expired") {
		t.Errorf("job with an expired key: %+v", j)
	}
	for _, p := range []string{"/repos/acn/repodata/repomd.xml", "/repos/acn/repodata/repomd.xml.asc"} {
		if code, _ := d.get(p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404: nothing is published", p, code)
		}
	}
	if rpms := published(t, d.data, "acn"); len(rpms) != 0 {
		t.Errorf("published with an expired key: %v", rpms)
	}
	if h := d.health(); h["status"] != "degraded" || !strings.Contains(fmt.Sprint(h["problems"]), "expired") ||
		!strings.Contains(fmt.Sprint(h["problems"]), "the release package of acn was not published") {
		t.Errorf("/healthz: %v", h)
	}
	if code, _ := d.get("/repos/acn-release.rpm"); code != http.StatusNotFound {
		t.Errorf("GET /repos/acn-release.rpm with an expired key: %d", code)
	}
}

// TestRepomdSignatureAlwaysMatches: 16 clients fetch repomd.xml then
// repomd.xml.asc, again and again, while 20 publications run; every pair
// verifies (in process, and a sample, including pairs fetched across a
// publication, with real gpg). Through the download front and through
// net/http alone.
func TestRepomdSignatureAlwaysMatches(t *testing.T) {
	for _, front := range []bool{true, false} {
		t.Run(map[bool]string{true: "front", false: "net-http"}[front], func(t *testing.T) { testPairs(t, front) })
	}
}

func testPairs(t *testing.T, front bool) {
	keyDir := t.TempDir()
	k, kc := signingKey(t, keyDir, "packages", sign.GenerateOptions{})
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "hello 1.0\n"))
	r.Git("tag", "hello/v1.0")
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}, Signing: server.SigningConfig{Keys: []server.SigningKey{kc}},
		HTTP: server.HTTPConfig{Front: &front}})
	if j := d.wait("hello/v1.0"); j.Status != server.Succeeded {
		t.Fatalf("build: %+v", j)
	}
	const publications, clients = 20, 16
	for i := 1; i <= publications; i++ {
		v := fmt.Sprintf("1.%d", i)
		r.Commit(v, helloSpec(v, "hello "+v+"\n"))
		r.Git("tag", "hello/v"+v)
	}

	var (
		stop              atomic.Bool
		pairs, failures   atomic.Int64
		mu                sync.Mutex
		sample            [][2][]byte // repomd, asc
		revisions         = map[string]bool{}
		revRE             = regexp.MustCompile(`<revision>([0-9]+)</revision>`)
		wg                sync.WaitGroup
		errOnce           sync.Once
		firstErr          error
		acrossPublication atomic.Int64
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One client, one connection at a time, as dnf's libcurl.
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for n := 0; !stop.Load(); n++ {
				repomd, err := fetch(client, d.url+"/repos/acn/repodata/repomd.xml")
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					failures.Add(1)
					continue
				}
				asc, err := fetch(client, d.url+"/repos/acn/repodata/repomd.xml.asc")
				if err == nil {
					err = k.Verify(asc, repomd)
				}
				pairs.Add(1)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("client %d: %w", c, err) })
					failures.Add(1)
					continue
				}
				now, _ := fetch(client, d.url+"/repos/acn/repodata/repomd.xml")
				changed := now != nil && !bytes.Equal(now, repomd)
				if changed {
					acrossPublication.Add(1)
				}
				mu.Lock()
				if m := revRE.FindSubmatch(repomd); m != nil {
					revisions[string(m[1])] = true
				}
				if changed || n%40 == 0 && len(sample) < 40 {
					sample = append(sample, [2][]byte{repomd, asc})
				}
				mu.Unlock()
			}
		}()
	}
	d.hook("")
	for i := 1; i <= publications; i++ {
		if j := d.wait(fmt.Sprintf("hello/v1.%d", i)); j.Status != server.Succeeded {
			t.Errorf("publication %d: %+v", i, j)
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d pairs failed; first: %v", n, pairs.Load(), firstErr)
	}
	if len(revisions) < publications/2 {
		t.Errorf("clients saw %d revisions of %d publications: the test did not overlap them", len(revisions), publications)
	}
	t.Logf("%d pairs verified, %d revisions seen, %d pairs fetched while repomd.xml changed; %d checked with gpg",
		pairs.Load(), len(revisions), acrossPublication.Load(), min(len(sample), 60))
	for i, p := range sample {
		if i >= 60 {
			break
		}
		if status, err := gpgVerify(t, k.PublicKey(), p[1], p[0]); err != nil || !strings.Contains(status, "GOODSIG") {
			t.Errorf("gpg --verify, sample %d: %v\n%s", i, err, status)
		}
	}
}

// TestSigningFilesHiddenFromBuilds: the key and passphrase files are in
// what build steps never see; a public key alone is refused.
func TestSigningFilesHiddenFromBuilds(t *testing.T) {
	keyDir := t.TempDir()
	k, kc := signingKey(t, keyDir, "packages", sign.GenerateOptions{})
	s, err := server.New(server.Config{Data: t.TempDir(), Signing: server.SigningConfig{Keys: []server.SigningKey{kc}}})
	if err != nil {
		t.Fatal(err)
	}
	hidden := s.HiddenFromBuilds()
	for _, f := range []string{kc.Key, kc.PassphraseFile} {
		if !slices.Contains(hidden, f) {
			t.Errorf("%s is not hidden from builds: %v", f, hidden)
		}
	}
	pub := filepath.Join(keyDir, "public.asc")
	os.WriteFile(pub, k.PublicKey(), 0o644)
	if _, err := server.New(server.Config{Data: t.TempDir(), Signing: server.SigningConfig{Keys: []server.SigningKey{{Key: pub}}}}); err == nil || !strings.Contains(err.Error(), "signing.keys[0]") {
		t.Errorf("a public key as a signing key: %v", err)
	}
}
