// Command acn builds RPM packages from spec definitions in git and (in
// later releases) indexes and serves them as a yum repository.
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
