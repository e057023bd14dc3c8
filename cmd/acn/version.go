package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time with -ldflags "-X main.version=...".
var version = ""

func versionString() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	return v
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := flagSet(e, "version", "version", "Print acn's version, the Go version it was built with, and the platform.")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "acn %s %s %s/%s\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
