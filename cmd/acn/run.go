package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// errUsage marks a command line that could not be understood (exit 2).
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

// exitCode is 2 for a command line that could not be understood, 1 for
// any other failure.
func exitCode(err error) int {
	var u errUsage
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// env is the process environment, passed in so that tests set their own.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

var commands = []command{
	{"build", "build RPMs from the spec definitions at a git ref", runBuild},
	{"index", "write yum repository metadata for a directory of RPMs", runIndex},
	{"verify", "check a repository's metadata and packages as dnf would", runVerify},
	{"serve", "run the daemon: build new tags, publish, serve repositories", runServe},
	{"promote", "copy a package version from one repository to another", runPromote},
	{"key", "generate, export and list signing keys", runKey},
	{"sign", "sign RPM packages in place", runSign},
	{"version", "print acn's version", runVersion},
}

const usage = `acn builds RPM packages from spec definitions kept in git, indexes them
into yum repositories and serves them.

Usage:
  acn <command> [flags]

Commands:
%s
Run "acn <command> --help" for a command's flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return errUsage{"no command given"}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, getenv, stdout, stderr)
		}
		printUsage(stdout)
		return nil
	case "-version", "--version":
		return runVersion(ctx, e, nil)
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	printUsage(stderr)
	return errUsage{fmt.Sprintf("unknown command %q", args[0])}
}

func printUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usage, b.String())
}

// flagSet makes a command's flag set; its usage text goes to stdout on
// --help and to stderr with a usage error.
func flagSet(e *env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: acn %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, printing help to stdout when asked for.
func parse(e *env, fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
		if a == "--" {
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		return errUsage{err.Error()}
	}
	return nil
}

// logger makes the structured logger for a command.
func logger(e *env, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, errUsage{fmt.Sprintf("--log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, errUsage{fmt.Sprintf("--log-format %q: want text or json", format)}
}

// cacheDir is $ACN_CACHE_DIR, else $XDG_CACHE_HOME/acn, else ~/.cache/acn.
func cacheDir(e *env) string {
	if d := e.getenv("ACN_CACHE_DIR"); d != "" {
		return d
	}
	if d := e.getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "acn")
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "acn")
	}
	return filepath.Join(os.TempDir(), "acn-cache")
}
