package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime/debug"
	"time"

	embedded "github.com/acn-project/acn"
	"github.com/acn-project/acn/server"
)

const serveAbout = `
Runs the acn daemon: fetches the spec repository every --poll and when
POST /api/v1/hooks/git is called, builds every new tag that matches the tag
pattern (default */v*), adds the packages to the repositories, publishes
them atomically, and serves them over HTTP to yum and dnf, with a web index
at /, a JSON API under /api/v1/, /healthz and /metrics.

Flags override the config file (YAML, strict; see systemd/acn.yaml). With
no --git and no config, acn serves its own embedded specs (appstruct,
acn-proxy, acn-runtime) from ./acn-data on 127.0.0.1:8080.

Examples:
  acn serve
  acn serve --config /etc/acn/acn.yaml
  acn serve --git https://git.example.com/ops/specs.git --data /var/lib/acn --listen :8080
`

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flagSet(e, "serve", "serve [flags]", serveAbout)
	var (
		config    = fs.String("config", "", "config `file` (YAML)")
		listen    = fs.String("listen", "", "listen `address` (default 127.0.0.1:8080)")
		data      = fs.String("data", "", "data `dir`ectory (default ./acn-data)")
		gitLoc    = fs.String("git", "", "spec repository: path or URL (default: the embedded specs)")
		poll      = fs.Duration("poll", 0, "how often to fetch the spec repository (default 60s)")
		repoName  = fs.String("repo", "", "name of the repository to publish into (default acn)")
		logLevel  = fs.String("log-level", "info", "log level: debug, info, warn or error")
		logFormat = fs.String("log-format", "text", "log format: text or json")
		cpuProf   = fs.String("cpuprofile", "", "write a CPU profile to `file` until exit (for debugging)")
	)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errUsage{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	log, err := logger(e, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	var cfg server.Config
	if *config != "" {
		if cfg, err = server.LoadConfig(*config); err != nil {
			return err
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *data != "" {
		cfg.Data = *data
	}
	if *gitLoc != "" {
		cfg.Git.URL = *gitLoc
	}
	if *poll != 0 {
		cfg.Git.Poll = server.Duration{Duration: *poll}
	}
	if *repoName != "" {
		cfg.Repos = []server.RepoConfig{{Name: *repoName}}
	}
	if e.getenv("GOGC") == "" {
		// Serving allocates a little per request and keeps little: fewer
		// collections measured ~10% more requests per second.
		debug.SetGCPercent(400)
	}
	opts := []server.Option{server.WithLogger(log), server.WithDefaultSpecs(embedded.DefaultSpecs())}
	if *config != "" {
		if abs, err := filepath.Abs(*config); err == nil {
			opts = append(opts, server.WithHidden(abs))
		}
	}
	srv, err := server.New(cfg, opts...)
	if err != nil {
		return err
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	stopProfile, err := cpuProfile(*cpuProf)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	err = srv.Run(ctx, ln)
	log.Info("stopped", "uptime", time.Since(start).Round(time.Second))
	return err
}
