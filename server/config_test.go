package server_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acn-project/acn/internal/gittest"
	"github.com/acn-project/acn/server"
)

func TestSampleConfig(t *testing.T) {
	c, err := server.LoadConfig("../systemd/acn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Git.Poll.Duration != time.Minute || len(c.Repos) != 2 || !c.Repos[0].SQLite || c.Repos[0].Keep != 5 || !c.Repos[1].Promote ||
		c.HTTP.Front == nil || !*c.HTTP.Front || len(c.Signing.Keys) != 1 || c.Signing.Keys[0].PassphraseFile == "" {
		t.Errorf("sample config: %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"listen: x\nlisten_addr: y\n", "field listen_addr not found"},
		{"git:\n  poll: soon\n", `"soon" is not a duration`},
		{"repos:\n  - name: a\n    colour: red\n", "field colour not found"},
		{"repos:\n  - name: a\n    groups: [a, b]\n", "cannot unmarshal"},
		{"signing:\n  keys:\n    - key: k\n      passphrase: p\n", "field passphrase not found"},
	} {
		name := filepath.Join(t.TempDir(), "acn.yaml")
		os.WriteFile(name, []byte(tt.yaml), 0o644)
		_, err := server.LoadConfig(name)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%q: %v", tt.yaml, err)
		}
	}
	for _, c := range []server.Config{
		{Repos: []server.RepoConfig{{Name: "a b"}}},
		{Repos: []server.RepoConfig{{Name: "a"}, {Name: "a"}}},
		{Repos: []server.RepoConfig{{Name: "a", Dist: "-el9"}}},
		{Repos: []server.RepoConfig{{Name: "a", Groups: "../comps.xml"}}},
		{Repos: []server.RepoConfig{{Name: "a", Groups: "/etc/comps.xml"}}},
		{Repos: []server.RepoConfig{{Name: "a", Groups: "comps//a.xml"}}},
		{Repos: []server.RepoConfig{{Name: "a", Groups: "."}}},
		{Git: server.GitConfig{TagPattern: "["}},
		{Builds: server.BuildConfig{Sandbox: "maybe"}},
		{Signing: server.SigningConfig{Keys: []server.SigningKey{{Key: "/nonexistent/acn.key"}}}},
		{Signing: server.SigningConfig{Keys: []server.SigningKey{{}}}},
	} {
		c.Data = t.TempDir()
		if _, err := server.New(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("../systemd/acn.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "StateDirectory=acn", "Restart=on-failure", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "ExecStart=/usr/bin/acn serve"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("acn.service lacks %s", want)
		}
	}
}

// TestSdNotify: under systemd (Type=notify) the daemon says when it is
// ready and when it stops.
func TestSdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	r := gittest.New(t)
	r.Commit("1.0", helloSpec("1.0", "x\n"))
	d := start(t, server.Config{Git: server.GitConfig{URL: r.Dir}})
	read := func() string {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 256)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if got := read(); got != "READY=1" {
		t.Errorf("first notification %q", got)
	}
	d.stop()
	if got := read(); got != "STOPPING=1" {
		t.Errorf("at stop: %q", got)
	}
}
