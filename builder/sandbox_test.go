package builder_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/internal/gittest"
)

// loopback opens a TCP listener on 127.0.0.1 that accepts and counts
// connections, as a service on the build host would.
func loopback(t *testing.T) (port int, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

// TestSandboxEscapes: each step tries one way out of the sandbox and
// exits 0 only if it got out. In the sandbox every one must fail the
// build; with the sandbox off, the same step must succeed (as root),
// which shows that the attempt is real and the sandbox is what stops it.
func TestSandboxEscapes(t *testing.T) {
	root := os.Geteuid() == 0
	base := t.TempDir() // stands for acn's data directory
	dirs := builder.Options{OutDir: filepath.Join(base, "out"), CacheDir: filepath.Join(base, "cache"), ScratchDir: filepath.Join(base, "scratch")}
	for _, d := range []string{dirs.OutDir, dirs.CacheDir, dirs.ScratchDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "webhook-secret"), []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port, accepted := loopback(t)
	tests := []struct {
		name    string
		step    string
		control bool // also run with the sandbox off, where it must succeed
	}{
		{"read /etc/shadow", "cat /etc/shadow", root},
		{"run as root", `test "$(id -u)" = 0`, root},
		{"list the data directory", "ls " + base, true},
		{"read a secret in the data directory", "cat " + filepath.Join(base, "webhook-secret"), true},
		{"list the cache", "ls " + dirs.CacheDir, true},
		{"list the out directory", "ls " + dirs.OutDir, true},
		{"write the out directory", "echo planted > " + filepath.Join(dirs.OutDir, "planted.rpm"), true},
		{"write the scratch parent", "echo planted > " + filepath.Join(dirs.ScratchDir, "planted"), true},
		{"list /root", "ls -a /root | grep -q .", true},
		{"write /usr", "touch /usr/acn-escape-7771100", false},
		{"write /etc", "touch /etc/acn-escape-7771100", false},
		{"signal acn", "kill -0 " + strconv.Itoa(os.Getpid()), true},
		{"see acn's processes", "ps -e -o pid= | grep -qx ' *" + strconv.Itoa(os.Getpid()) + "'", true},
		{"connect to a loopback listener", "exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(port), true},
		{"mount", "mount -t tmpfs none /usr", false},
		{"get capabilities back", "setpriv --reuid=0 true", root},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gittest.New(t)
			r.Commit("x", map[string]string{"specs/x.yaml": fmt.Sprintf("name: x\nversion: %d\nsummary: S\nlicense: MIT\nbuild:\n  - %q\n", i+1, tt.step)})
			before := accepted.Load()
			res, err := build(t, r, "HEAD", "x", dirs)
			if err == nil {
				t.Fatalf("the step got out of the sandbox: %q succeeded", tt.step)
			}
			if !strings.Contains(err.Error(), "run step 1") || errors.Is(err, builder.ErrNoSandbox) {
				t.Fatalf("the build failed before its step ran: %v", err)
			}
			if log, _ := os.ReadFile(res.LogPath); !bytes.Contains(log, []byte("==> sandbox: steps run as")) {
				t.Errorf("the log does not say the step ran in the sandbox:\n%s", log)
			}
			if accepted.Load() != before {
				t.Errorf("the listener accepted a connection from the sandbox")
			}
			if tt.control {
				off := dirs
				off.Sandbox = builder.SandboxOff
				if _, err := build(t, r, "HEAD", "x", off); err != nil {
					t.Errorf("with the sandbox off the same step fails too, so the test proves nothing: %v", err)
				}
			}
		})
	}
	for _, p := range []string{"/usr/acn-escape-7771100", "/etc/acn-escape-7771100"} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("a step created %s", p)
		}
	}
	os.Remove(filepath.Join(dirs.OutDir, "planted.rpm"))
}

// TestSandboxPrivateTmp: a step's /tmp is its own: what it writes there
// is not on the host, and it sees nothing of the host's /tmp.
func TestSandboxPrivateTmp(t *testing.T) {
	host, err := os.CreateTemp("", "acn-host-file-*")
	if err != nil {
		t.Fatal(err)
	}
	host.Close()
	defer os.Remove(host.Name())
	const planted = "/tmp/acn-escape-7771101"
	defer os.Remove(planted)
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n" +
		"  - echo x > " + planted + " && test -e " + planted + "\n" +
		"  - test ! -e " + host.Name() + "\n" +
		"  - ls -A /tmp > \"$DESTDIR/tmp.txt\"\n" +
		"  - echo \"$TMPDIR $HOME $DESTDIR $SOURCEDIR $PWD\" | tr / '|' > \"$DESTDIR/paths.txt\"\n" +
		"  - id -u > \"$DESTDIR/uid.txt\"\n" +
		"files:\n  - src: $DESTDIR/\n    dst: /opt/x/\n"})
	rpm := mustBuild(t, r, "x", builder.Options{})
	if _, err := os.Lstat(planted); err == nil {
		t.Errorf("a step wrote the host's /tmp")
	}
	if got := shell(t, "rpm2cpio "+rpm+" | cpio -i --quiet --to-stdout ./opt/x/tmp.txt"); got != "acn-escape-7771101\n" {
		t.Errorf("the step's /tmp holds %q, want only what it wrote", got)
	}
	if got := shell(t, "rpm2cpio "+rpm+" | cpio -i --quiet --to-stdout ./opt/x/paths.txt"); got != "|tmp |build|home |build|destdir |build|sources |build|x-1\n" {
		t.Errorf("step paths %q", got)
	}
	if os.Geteuid() == 0 {
		if got := shell(t, "rpm2cpio "+rpm+" | cpio -i --quiet --to-stdout ./opt/x/uid.txt"); got != "65534\n" {
			t.Errorf("the step ran as uid %q, want nobody's", got)
		}
		// Installed by nobody, packed as the spec says.
		if got := qf(t, rpm, "[%{FILEUSERNAME}:%{FILEGROUPNAME} ]"); strings.TrimSpace(strings.ReplaceAll(got, "root:root", "")) != "" {
			t.Errorf("owners %q, want root:root from the spec", got)
		}
	}
}

// TestSandboxHidesEnvironment: a secret in acn's own environment (as
// ACN_GIT_TOKEN is for acn build) is not visible to a step, neither in
// its environment nor through /proc. acn runs as a child process so that
// the secret is in its real environment block, which /proc shows.
func TestSandboxHidesEnvironment(t *testing.T) {
	const token = "tok-7771102-secret"
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n" +
		"  - env; cat /proc/$PPID/environ /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -a ACN_GIT_TOKEN || true; echo environ-checked\n"})
	for _, mode := range []string{"on", "off"} {
		base := t.TempDir()
		scratch := filepath.Join(base, "scratch")
		if err := os.Mkdir(scratch, 0o755); err != nil {
			t.Fatal(err)
		}
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), childEnv+"="+r.Dir+"|"+scratch+"|"+mode, "ACN_GIT_TOKEN="+token)
		if out, err := child.CombinedOutput(); err != nil {
			t.Fatalf("sandbox %s: the building child failed: %v\n%s", mode, err, out)
		}
		log, err := os.ReadFile(filepath.Join(base, "out", "x-1-1.noarch.build.log"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(log, []byte("\nenviron-checked\n")) {
			t.Fatalf("sandbox %s: the step did not run:\n%s", mode, log)
		}
		leaked := bytes.Contains(log, []byte(token))
		switch {
		case mode == "on" && leaked:
			t.Errorf("a sandboxed step read acn's token:\n%s", log)
		case mode == "off" && !leaked:
			t.Errorf("without the sandbox the step did not find the token either, so the test proves nothing:\n%s", log)
		}
	}
}

// TestNetworkTrue: a spec with network: true shares the host's network,
// and the log says so.
func TestNetworkTrue(t *testing.T) {
	port, accepted := loopback(t)
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nnetwork: true\nbuild:\n  - exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(port) + "\n"})
	res, err := build(t, r, "HEAD", "x", builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if accepted.Load() != 1 {
		t.Errorf("%d connections accepted, want 1", accepted.Load())
	}
	if log, _ := os.ReadFile(res.LogPath); !bytes.Contains(log, []byte("network: true")) {
		t.Errorf("the log does not say the steps had the network:\n%s", log)
	}
}

// TestTimeoutKillsSandbox: at the timeout every process of the sandbox
// dies, those that made their own session and double-forked ones too.
func TestTimeoutKillsSandbox(t *testing.T) {
	const pattern = "^sleep 77711(03|04|05)$"
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\ntimeout: 2s\nbuild:\n" +
		"  - setsid sleep 7771103 > /dev/null 2>&1 < /dev/null &\n" +
		"  - (setsid sh -c 'sleep 7771104 > /dev/null 2>&1 < /dev/null &' &); setsid sleep 7771105 < /dev/null\n"})
	_, err := build(t, r, "HEAD", "x", builder.Options{})
	if !errors.Is(err, builder.ErrTimeout) {
		t.Fatalf("error %v, want the timeout", err)
	}
	if p := waitGone(t, pattern); p != "" {
		t.Errorf("processes outlived the timeout: %s", p)
	}
}

// TestNoBubblewrap: without bwrap a build with steps fails and names the
// package to install; with the sandbox off it builds.
func TestNoBubblewrap(t *testing.T) {
	r := r0(t)
	t.Setenv("PATH", t.TempDir())
	_, err := build(t, r, "HEAD", "x", builder.Options{})
	if !errors.Is(err, builder.ErrNoSandbox) || !strings.Contains(err.Error(), "install the bubblewrap package") {
		t.Errorf("error %v, want one that names bubblewrap", err)
	}
	t.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	if _, err := build(t, r, "HEAD", "x", builder.Options{Sandbox: builder.SandboxOff}); err != nil {
		t.Error(err)
	}
}

// TestSourceCacheCannotBePoisoned: a step cannot write its sources, and
// neither that step nor a corrupted cache entry changes what the next
// build gets: each use hashes the cached file again.
func TestSourceCacheCannotBePoisoned(t *testing.T) {
	const good = "the real source\n"
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, good)
	}))
	defer srv.Close()
	sum := sha256hex(good)
	specText := func(version, step string) string {
		return "name: x\nversion: " + version + "\nsummary: S\nlicense: MIT\nsources:\n  - url: " + srv.URL + "/x.tar.gz\n    sha256: " + sum +
			"\nbuild:\n  - " + step + "\nfiles:\n  - src: $DESTDIR/\n    dst: /opt/x/\n"
	}
	const poison = `chmod u+w "$SOURCEDIR/x.tar.gz" || true; echo poison > "$SOURCEDIR/x.tar.gz"; mkdir -p "$DESTDIR/d"`
	const use = `cp "$SOURCEDIR/x.tar.gz" "$DESTDIR/"`
	cache := t.TempDir()
	check := func(version string) {
		t.Helper()
		r := gittest.New(t)
		r.Commit("use", map[string]string{"specs/x.yaml": specText(version, use)})
		rpm := mustBuild(t, r, "x", builder.Options{CacheDir: cache})
		if got := shell(t, "rpm2cpio "+rpm+" | cpio -i --quiet --to-stdout ./opt/x/x.tar.gz"); got != good {
			t.Errorf("the build got %q, want the source the checksum names", got)
		}
	}

	r := gittest.New(t)
	r.Commit("poison", map[string]string{"specs/x.yaml": specText("1", poison)})
	if _, err := build(t, r, "HEAD", "x", builder.Options{CacheDir: cache}); err == nil || !strings.Contains(err.Error(), "run step 1") {
		t.Errorf("a sandboxed step wrote $SOURCEDIR: %v", err)
	}
	check("2")
	// Without the sandbox the step may write its own copy, not the cache.
	if _, err := build(t, r, "HEAD", "x", builder.Options{CacheDir: cache, Sandbox: builder.SandboxOff}); err != nil {
		t.Fatal(err)
	}
	check("3")
	if hits.Load() != 1 {
		t.Errorf("%d downloads, want 1", hits.Load())
	}
	cached := filepath.Join(cache, "sources", sum)
	fi, err := os.Stat(cached)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("cached source has mode %v, want read-only", fi.Mode())
	}
	// A cache entry changed behind acn's back is found and replaced.
	if err := os.Chmod(cached, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cached, []byte("poison\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("4")
	if hits.Load() != 2 {
		t.Errorf("%d downloads, want 2 (the corrupted entry downloaded again)", hits.Load())
	}
}

// TestReproducibleC: a C program and a shared library built with gcc -g
// give byte-identical RPMs from two builds in different scratch
// directories: the sandbox's fixed paths are what DWARF records. Without
// the sandbox the scratch path is recorded, and debugedit rewrites it to
// /usr/src/debug/...: scratch paths of one length give identical packages
// too. Without the sandbox and without debuginfo (no debugedit, no strip)
// the scratch path stays in the binaries and the packages differ, which
// shows the test can see the difference.
func TestReproducibleC(t *testing.T) {
	arch := strings.TrimSpace(shell(t, "uname -m"))
	r := gittest.New(t)
	spec := func(name, extra string) string {
		return "name: " + name + "\nversion: 1.0\narch: " + arch + "\nsummary: S\nlicense: MIT\n" + extra + "build:\n" +
			"  - gcc -g -O2 -fPIC -shared -Wl,-soname,libgreet.so.1 -o libgreet.so.1 greet.c\n" +
			"  - gcc -g -O2 -o hello hello.c ./libgreet.so.1\n" +
			"  - install -D -m 0755 hello \"$DESTDIR/usr/bin/hello\"\n" +
			"  - install -D -m 0755 libgreet.so.1 \"$DESTDIR/usr/lib64/libgreet.so.1\"\n" +
			"files:\n  - src: $DESTDIR/usr/bin/hello\n    dst: /usr/bin/hello\n  - src: $DESTDIR/usr/lib64/libgreet.so.1\n    dst: /usr/lib64/libgreet.so.1\n"
	}
	r.Commit("c", map[string]string{
		"specs/hello.yaml": spec("hello", ""),
		"specs/raw.yaml":   spec("raw", "debuginfo: false\n"),
		"greet.c":          "#include <stdio.h>\nvoid greet(const char *who) { printf(\"hello, %s\\n\", who); }\n",
		"hello.c":          "void greet(const char *);\nint main(void) { greet(\"world\"); return 0; }\n",
	})
	digest := func(opts builder.Options, name ...string) []byte {
		t.Helper()
		res, err := build(t, r, "HEAD", append(name, "hello")[0], opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(res.Path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := digest(builder.Options{}), digest(builder.Options{})
	if !bytes.Equal(a, b) {
		t.Errorf("two sandboxed builds of one ref differ (%d and %d bytes)", len(a), len(b))
	}
	off := builder.Options{Sandbox: builder.SandboxOff}
	if !bytes.Equal(digest(off), digest(off)) {
		t.Errorf("two builds without the sandbox differ: the scratch path stayed in the binaries")
	}
	if bytes.Equal(digest(off, "raw"), digest(off, "raw")) {
		t.Errorf("without the sandbox and debuginfo two builds are identical too: the test does not see the scratch path")
	}
}

// TestSandboxHidesSecretsInSystemDirs: a world-readable secret file and
// directory under /etc (where a config and its token files may live) are
// covered in the sandbox when Options.Hide names them; the same step
// reads them when they are not named, which shows the test is real.
func TestSandboxHidesSecretsInSystemDirs(t *testing.T) {
	dir, err := os.MkdirTemp("/etc", "acn-hide-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("tok-7771106\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := dir + ".yaml"
	if err := os.WriteFile(file, []byte("secret: tok-7771107\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(file) })
	for i, step := range []string{"cat " + filepath.Join(dir, "token"), "ls " + dir + " | grep -q token", "grep -q tok-7771107 " + file} {
		r := gittest.New(t)
		r.Commit("x", map[string]string{"specs/x.yaml": fmt.Sprintf("name: x\nversion: %d\nsummary: S\nlicense: MIT\nbuild:\n  - %q\n", i+1, step)})
		if _, err := build(t, r, "HEAD", "x", builder.Options{Hide: []string{dir, file}}); err == nil || !strings.Contains(err.Error(), "run step 1") {
			t.Errorf("%q: a hidden secret was visible: %v", step, err)
		}
		if _, err := build(t, r, "HEAD", "x", builder.Options{}); err != nil {
			t.Errorf("%q: not hidden, the step still fails, so the test proves nothing: %v", step, err)
		}
	}
}

// TestSandboxAsUnprivilegedUser runs acn as an unprivileged user (nobody),
// as the systemd unit does: bubblewrap makes a user namespace and the
// build succeeds. Then the same acn runs where the mount namespace has
// /proc/sys mounted over read-only, as systemd's ProtectKernelTunables=
// does, so that the user namespace may not mount its own /proc: the build
// fails with an error that names the bubblewrap package and says what to
// allow, not with a step's exit status.
func TestSandboxAsUnprivilegedUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs acn as nobody and needs root to do so (CI runs as root)")
	}
	// Everything nobody needs: the test binary, the repository, and a
	// directory of its own for scratch, out and cache.
	base := t.TempDir()
	bin := filepath.Join(base, "builder.test")
	shell(t, "cp "+os.Args[0]+" "+bin)
	r := gittest.New(t)
	r.Commit("x", map[string]string{"specs/x.yaml": "name: x\nversion: 1\nsummary: S\nlicense: MIT\nbuild:\n  - id -u > \"$DESTDIR/uid\"\nfiles:\n  - src: $DESTDIR/uid\n    dst: /uid\n"})
	work := filepath.Join(base, "work")
	scratch := filepath.Join(work, "scratch")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	shell(t, "chmod -R a+rX "+base+" "+r.Dir+" && chmod a+x "+filepath.Dir(base)+" "+filepath.Dir(r.Dir)+" && chown -R nobody "+work)
	run := func(prepare string) (string, error) {
		os.RemoveAll(filepath.Join(work, "out"))
		script := prepare + "exec setpriv --reuid=65534 --regid=65534 --clear-groups -- " + bin + " -test.run='^$'"
		cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
		cmd.Env = append(os.Environ(), childEnv+"="+r.Dir+"|"+scratch)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(""); err != nil {
		t.Fatalf("as nobody in a user namespace the build failed: %v\n%s", err, out)
	}
	if got := shell(t, "rpm2cpio "+filepath.Join(work, "out", "x-1-1.noarch.rpm")+" | cpio -i --quiet --to-stdout ./uid"); got != "65534\n" {
		t.Errorf("the step ran as uid %q, want nobody's", got)
	}
	out, err := run("mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && ")
	if err == nil {
		t.Fatalf("the build succeeded where bubblewrap cannot mount /proc:\n%s", out)
	}
	for _, want := range []string{"no sandbox for build steps", "install the bubblewrap package", "builds.sandbox: off"} {
		if !strings.Contains(out, want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
}
