package builder

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/acn-project/acn/builder/buildroot"
	"github.com/acn-project/acn/specs"
)

// prepareRoot returns the root the spec's steps run in ("" for the
// host's system directories), with its build requirements checked and,
// where base repositories allow, installed into a cached copy. Missing
// requirements fail the build before any step runs, naming them.
func prepareRoot(ctx context.Context, spec *specs.Spec, o Options, log io.Writer) (string, error) {
	root := spec.Root
	if root == "" {
		root = o.Root
	}
	reqs := make([]string, len(spec.BuildRequires))
	for i, d := range spec.BuildRequires {
		reqs[i] = d.String()
	}
	fail := func(err error) error {
		return &specs.Error{File: spec.File, Line: spec.RootLine, Field: "build_requires", Err: err}
	}
	if root == "" {
		if len(reqs) == 0 {
			return "", nil
		}
		// The host: checked when it keeps an rpm database where an EL
		// system does, never installed into.
		if !hostHasRPMDB() {
			fmt.Fprintf(log, "==> build_requires not checked: no build root and no rpm database on this host (%s)\n", strings.Join(reqs, ", "))
			o.Logger.Warn("build requirements not checked: no build root and no rpm database on the host", "package", spec.NEVRA())
			return "", nil
		}
		missing, err := buildroot.Missing(ctx, "/", reqs)
		if err == nil && len(missing) > 0 {
			err = fmt.Errorf("%w on this host: %s (install them, or build in a root: root: DIR)", buildroot.ErrMissing, strings.Join(missing, ", "))
		}
		if err != nil {
			return "", fail(err)
		}
		return "", nil
	}
	fmt.Fprintf(log, "==> build root %s\n", root)
	prepared, err := buildroot.Prepare(ctx, root, reqs, buildroot.Options{
		CacheDir: o.RootCache, Repos: o.BaseRepos, ReleaseVer: o.ReleaseVer, Log: log, Logger: o.Logger,
	})
	if err != nil {
		return "", fail(err)
	}
	if prepared != root {
		fmt.Fprintf(log, "==> build root %s prepared with %s: %s\n", root, strings.Join(reqs, ", "), prepared)
	}
	return prepared, nil
}

func hostHasRPMDB() bool {
	for _, p := range []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"} {
		for _, name := range []string{"rpmdb.sqlite", "Packages", "Packages.db"} {
			if _, err := os.Stat(filepath.Join(p, name)); err == nil {
				return true
			}
		}
	}
	return false
}
