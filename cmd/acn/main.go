// Command acn builds RPM packages from spec definitions in git, indexes
// them as yum repositories and serves them, as a command or a daemon.
//
// Run "acn help" for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "acn:", err)
		os.Exit(exitCode(err))
	}
}
