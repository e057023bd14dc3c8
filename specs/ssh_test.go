package specs_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/specs"
)

// TestSSHRemote fetches over ssh from a real OpenSSH server on loopback,
// with a key file and a known_hosts file.
func TestSSHRemote(t *testing.T) {
	r, _, c2, _ := history(t)
	dir := t.TempDir()
	if out, err := runGit(dir, "clone", "-q", "--bare", r.Dir, "repo.git"); err != nil {
		t.Fatal(out)
	}
	keygen := func(name string) {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	keygen("host")
	keygen("client")
	pub, _ := os.ReadFile(filepath.Join(dir, "client.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host
AuthorizedKeysFile %s/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile %s/sshd.pid
`, port, dir, dir, dir)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(config), 0o600)
	os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	sshd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var log strings.Builder
	sshd.Stderr = &log
	if err := sshd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() { sshd.Process.Kill(); sshd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("sshd did not start: %s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	hostPub, _ := os.ReadFile(filepath.Join(dir, "host.pub"))
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte(fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub)), 0o600)

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s/repo.git", me.Username, port, dir)
	auth := specs.Auth{SSHKeyFile: filepath.Join(dir, "client"), KnownHosts: []string{known}}
	repo, err := specs.Open(context.Background(), url, specs.OpenOptions{CacheDir: t.TempDir(), Auth: auth})
	if err != nil {
		t.Fatalf("open over ssh: %v\nsshd: %s", err, log.String())
	}
	s, err := repo.Resolve("app/v1.1")
	if err != nil || s.Commit.String() != c2 {
		t.Fatalf("Resolve over ssh: %v", err)
	}

	// An unknown host key is refused.
	os.WriteFile(known, []byte(fmt.Sprintf("[127.0.0.1]:%d %s", port, pub)), 0o600)
	if _, err := specs.Open(context.Background(), url, specs.OpenOptions{CacheDir: t.TempDir(), Auth: auth}); err == nil {
		t.Error("a wrong host key was accepted")
	}
}
