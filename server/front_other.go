//go:build !linux

package server

import (
	"context"
	"net"
)

// The front is built only on Linux (it uses sendfile with MSG_MORE);
// elsewhere net/http serves everything (http.front is off).
const frontBuilt = false

type front struct{ http net.Listener }

func newFront(*Server, net.Listener, timeouts) *front {
	panic("server: the HTTP front is built only on Linux")
}

func (*front) serve() error             { return nil }
func (*front) shutdown(context.Context) {}
