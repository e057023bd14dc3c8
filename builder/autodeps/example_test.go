package autodeps_test

import (
	"context"
	"fmt"
	"io/fs"
	"testing/fstest"

	"github.com/acn-project/acn/builder/autodeps"
)

func ExampleAnalyze() {
	tree := fstest.MapFS{
		"usr/bin/hello":                  {Data: []byte("#!/bin/sh\necho hello\n"), Mode: 0o755},
		"usr/lib64/pkgconfig/hello.pc":   {Data: []byte("Name: hello\nDescription: d\nVersion: 1.2\nRequires: zlib >= 1.2\n"), Mode: 0o644},
		"usr/share/doc/hello/README.txt": {Data: []byte("Say hello.\n"), Mode: 0o644},
	}
	files := []autodeps.File{
		{Path: "/usr/bin/hello", Mode: 0o755},
		{Path: "/usr/lib64/pkgconfig/hello.pc", Mode: 0o644},
		{Path: "/usr/share/doc/hello/README.txt", Mode: 0o644},
		{Path: "/usr/share/doc/hello", Mode: fs.ModeDir | 0o755},
	}
	res, err := autodeps.Analyze(context.Background(), tree, files, autodeps.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range res.Requires {
		fmt.Println("Requires:", d)
	}
	for _, d := range res.Provides {
		fmt.Println("Provides:", d)
	}
	for _, f := range res.Files {
		fmt.Printf("%s: %q\n", f.Path, f.Class)
	}
	// Output:
	// Requires: /bin/sh
	// Requires: /usr/bin/pkg-config
	// Requires: pkgconfig(zlib) >= 1.2
	// Provides: pkgconfig(hello) = 1.2
	// /usr/bin/hello: "POSIX shell script, ASCII text executable"
	// /usr/lib64/pkgconfig/hello.pc: "pkgconfig file"
	// /usr/share/doc/hello/README.txt: "ASCII text"
	// /usr/share/doc/hello: "directory"
}
