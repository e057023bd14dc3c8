package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/acn-project/acn/builder"
	"github.com/acn-project/acn/builder/buildroot"
)

// Config is everything the daemon needs; it is read from a YAML file
// (strict: unknown keys are errors) and flags override it.
type Config struct {
	Listen    string       `yaml:"listen"`     // default 127.0.0.1:8080
	Data      string       `yaml:"data"`       // state directory; default ./acn-data
	PublicURL string       `yaml:"public_url"` // for .repo files; default: from the request
	Git       GitConfig    `yaml:"git"`
	Repos     []RepoConfig `yaml:"repos"`
	Builds    BuildConfig  `yaml:"builds"`
	HTTP      HTTPConfig   `yaml:"http"`
	// APITokens may call the API's write endpoints (bearer tokens).
	APITokens     []string `yaml:"api_tokens"`
	APITokenFiles []string `yaml:"api_token_files"`
	// Signing: packages and repomd.xml are signed, and .repo files say
	// gpgcheck=1 and repo_gpgcheck=1. None: nothing is signed.
	Signing SigningConfig `yaml:"signing"`
}

// GitConfig says where the specs come from.
type GitConfig struct {
	URL               string   `yaml:"url"` // path or URL; empty: the embedded default specs
	Username          string   `yaml:"username"`
	TokenFile         string   `yaml:"token_file"`
	SSHKey            string   `yaml:"ssh_key"`
	KnownHosts        string   `yaml:"known_hosts"`
	Poll              Duration `yaml:"poll"`                // default 60s
	WebhookSecretFile string   `yaml:"webhook_secret_file"` // HMAC secret for POST /api/v1/hooks/git
	TagPattern        string   `yaml:"tag_pattern"`         // default */v*
	Timeout           Duration `yaml:"timeout"`             // one fetch; default 5m
}

// RepoConfig is one published repository.
type RepoConfig struct {
	Name     string   `yaml:"name"`
	Dist     string   `yaml:"dist"`     // release suffix such as .el9
	Packages []string `yaml:"packages"` // name globs; default: every package
	Compress string   `yaml:"compress"` // gz (default), xz, zstd
	SQLite   bool     `yaml:"sqlite"`
	Keep     int      `yaml:"keep"` // newest versions kept per package; 0: all
	// Promote marks a repository filled only by promotion (acn promote),
	// never by builds.
	Promote bool `yaml:"promote_only"`
	// Root is the build root steps of packages for this repository run
	// in (an absolute path; a spec's own root: wins); default: the host's
	// system directories.
	Root string `yaml:"root"`
	// Groups is the path, in the spec repository, of a comps file
	// (package groups, for dnf group install), read from the default
	// branch at every fetch and published with the repository's metadata.
	Groups string `yaml:"groups"`
}

// BuildConfig bounds builds.
type BuildConfig struct {
	Workers  int      `yaml:"workers"`   // packages built at once; default 2
	Timeout  Duration `yaml:"timeout"`   // per build; default 1h
	LogLimit Size     `yaml:"log_limit"` // step output kept per build; default 64MiB
	// Sandbox is "on" (default) or "off": build steps run under
	// bubblewrap, or, off, as acn's user in the host's namespaces.
	Sandbox string `yaml:"sandbox"`
	// User runs build steps when acn runs as root; default nobody.
	User string `yaml:"user"`
	// BaseRepos are where missing build_requires are installed from into
	// a cached copy of a build root (DATA/roots); ReleaseVer is dnf's
	// $releasever for them (default: the root's VERSION_ID).
	BaseRepos  []buildroot.Repo `yaml:"base_repos"`
	ReleaseVer string           `yaml:"releasever"`

	sandbox builder.SandboxMode
}

// Size is a number of bytes written as 1048576, "512KiB", "64MiB" or
// "1GiB" in YAML.
type Size struct{ Bytes int64 }

// UnmarshalYAML parses a size.
func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	v := strings.TrimSpace(n.Value)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	b, err := strconv.ParseInt(v, 10, 64)
	if err != nil || b <= 0 || b > (1<<62)/mult {
		return fmt.Errorf("line %d: %q is not a size such as 64MiB", n.Line, n.Value)
	}
	z.Bytes = b * mult
	return nil
}

// HTTPConfig is how the daemon serves HTTP.
type HTTPConfig struct {
	// Front answers plain downloads with acn's own HTTP/1.1 reader and
	// sendfile, ahead of net/http. Default: on where it is built (Linux);
	// false serves everything with net/http alone.
	Front *bool `yaml:"front"`
}

// Duration is a time.Duration written as "60s" in YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML parses "90s", "5m", "1h".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 60s", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// LoadConfig reads a config file strictly.
func LoadConfig(name string) (Config, error) {
	var c Config
	b, err := os.ReadFile(name)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

var repoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// withDefaults fills what the config leaves out and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Data == "" {
		c.Data = "acn-data"
	}
	// Build steps change directory: every path handed to them is absolute.
	abs, err := filepath.Abs(c.Data)
	if err != nil {
		return c, fmt.Errorf("data %q: %w", c.Data, err)
	}
	c.Data = abs
	if c.Git.Poll.Duration == 0 {
		c.Git.Poll.Duration = 60 * time.Second
	}
	if c.Git.Timeout.Duration == 0 {
		c.Git.Timeout.Duration = 5 * time.Minute
	}
	if c.Git.TagPattern == "" {
		c.Git.TagPattern = "*/v*"
	}
	if _, err := path.Match(c.Git.TagPattern, ""); err != nil {
		return c, fmt.Errorf("git.tag_pattern %q: %w", c.Git.TagPattern, err)
	}
	if c.Builds.Workers <= 0 {
		c.Builds.Workers = 2
	}
	if c.Builds.Timeout.Duration == 0 {
		c.Builds.Timeout.Duration = time.Hour
	}
	mode, err := builder.ParseSandboxMode(c.Builds.Sandbox)
	if err != nil {
		return c, fmt.Errorf("builds.sandbox: %w", err)
	}
	c.Builds.sandbox = mode
	if len(c.Repos) == 0 {
		c.Repos = []RepoConfig{{Name: "acn"}}
	}
	seen := map[string]bool{}
	for i := range c.Repos {
		r := &c.Repos[i]
		if !repoNameRE.MatchString(r.Name) {
			return c, fmt.Errorf("repos[%d].name %q: letters, digits and ._- only", i, r.Name)
		}
		if seen[r.Name] {
			return c, fmt.Errorf("repos[%d].name %q appears twice", i, r.Name)
		}
		seen[r.Name] = true
		if r.Compress == "" {
			r.Compress = "gz"
		}
		if r.Root != "" && (!filepath.IsAbs(r.Root) || filepath.Clean(r.Root) != r.Root || r.Root == "/") {
			return c, fmt.Errorf("repos[%d].root %q: want the absolute, clean path of a root file system", i, r.Root)
		}
		if strings.ContainsAny(r.Dist, "-/ ") {
			return c, fmt.Errorf("repos[%d].dist %q: no '-', '/' or spaces", i, r.Dist)
		}
		if r.Groups != "" && !fs.ValidPath(r.Groups) || r.Groups == "." {
			return c, fmt.Errorf("repos[%d].groups %q: want a relative path in the spec repository, such as comps/%s.xml", i, r.Groups, r.Name)
		}
		for _, g := range r.Packages {
			if _, err := path.Match(g, ""); err != nil {
				return c, fmt.Errorf("repos[%d].packages %q: %w", i, g, err)
			}
		}
	}
	for _, f := range c.APITokenFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return c, fmt.Errorf("api_token_files: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			c.APITokens = append(c.APITokens, t)
		}
	}
	return c, nil
}

func (r *RepoConfig) wants(pkg string) bool {
	if r.Promote {
		return false
	}
	if len(r.Packages) == 0 {
		return true
	}
	for _, g := range r.Packages {
		if ok, _ := path.Match(g, pkg); ok {
			return true
		}
	}
	return false
}
