// Package acn holds what the acn binary carries with it: its own spec
// repository (the specs of the AppStruct framework, the acn-proxy nginx
// front end and the acn-runtime), which "acn serve" builds and serves when
// it is given no other.
//
// The code lives in the packages below: specs, builder, repo and server.
package acn

import (
	"embed"
	"io/fs"
)

//go:embed specs/*.yaml pkgsrc
var defaultSpecs embed.FS

// DefaultSpecs is the embedded spec repository tree: specs/*.yaml and the
// package sources under pkgsrc/.
func DefaultSpecs() fs.FS { return defaultSpecs }
